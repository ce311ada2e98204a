// The paged KV cache's block allocator without an engine: blocks come off
// the free list as sequences grow across block boundaries, forks share
// blocks by reference count, a write into a shared block copies it first,
// and every refusal (out of blocks, too long, over-commit, unknown id) is a
// status that leaves the cache as it was.

#include "kv_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using azr::KvCache;
using azr::KvLayout;
using azr::cpu::KvDType;

/// "" on success, else "CODE: message"; frees the status.
std::string text(azr_status_t status) {
  if (!status)
    return "";
  std::string result =
      std::string(azr_status_code_name(azr_status_code(status))) + ": " +
      azr_status_message(status);
  azr_status_free(status);
  return result;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

KvLayout smallLayout(KvDType dtype = KvDType::f32) {
  KvLayout layout;
  layout.dtype = dtype;
  layout.layers = 2;
  layout.kvHeads = 2;
  layout.headDim = 3;
  layout.tokensPerBlock = 4;
  layout.maxBlocksPerSequence = 8;
  layout.defaultBlocks = 6;
  return layout;
}

std::unique_ptr<KvCache> makeCache(size_t blocks,
                                   KvDType dtype = KvDType::f32) {
  std::unique_ptr<KvCache> cache;
  EXPECT_EQ(text(KvCache::create(smallLayout(dtype), blocks, nullptr, cache)),
            "");
  return cache;
}

int64_t addSequence(KvCache &cache) {
  int64_t id = -1;
  EXPECT_EQ(text(cache.addSequence(id)), "");
  return id;
}

/// Reserves and commits `tokens`, as a run of that many tokens would.
void grow(KvCache &cache, int64_t id, size_t tokens) {
  ASSERT_EQ(text(cache.reserve(id, tokens)), "");
  ASSERT_EQ(text(cache.commit(id, tokens)), "");
}

TEST(KvCache, HandsOutBlocksFromTheFreeList) {
  auto cache = makeCache(0); // the layout's default: 6
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->blockCount(), 6u);
  EXPECT_EQ(cache->freeBlockCount(), 6u);
  const int64_t a = addSequence(*cache), b = addSequence(*cache);
  EXPECT_NE(a, b);
  EXPECT_EQ(cache->length(a), 0);
  EXPECT_EQ(cache->freeBlockCount(), 6u) << "an empty sequence holds nothing";
  ASSERT_EQ(text(cache->reserve(a, 1)), "");
  EXPECT_EQ(cache->freeBlockCount(), 5u);
  // A larger reserve within the same block takes nothing more.
  ASSERT_EQ(text(cache->reserve(a, 4)), "");
  EXPECT_EQ(cache->freeBlockCount(), 5u);
  ASSERT_EQ(text(cache->commit(a, 4)), "");
  EXPECT_EQ(cache->length(a), 4);
  grow(*cache, b, 2);
  EXPECT_EQ(*cache->blocksOf(a), std::vector<int32_t>({0}));
  EXPECT_EQ(*cache->blocksOf(b), std::vector<int32_t>({1}));
  ASSERT_EQ(text(cache->removeSequence(a)), "");
  EXPECT_EQ(cache->freeBlockCount(), 5u);
  // The freed block is the next handed out.
  const int64_t c = addSequence(*cache);
  grow(*cache, c, 1);
  EXPECT_EQ(*cache->blocksOf(c), std::vector<int32_t>({0}));
}

TEST(KvCache, ReservesAcrossBlockBoundaries) {
  auto cache = makeCache(10);
  const int64_t a = addSequence(*cache);
  grow(*cache, a, 3);
  EXPECT_EQ(cache->blocksOf(a)->size(), 1u);
  // Tokens 3..8: the rest of block 0, all of block 1, one of block 2.
  ASSERT_EQ(text(cache->reserve(a, 6)), "");
  EXPECT_EQ(cache->blocksOf(a)->size(), 3u);
  EXPECT_EQ(cache->freeBlockCount(), 7u);
  ASSERT_EQ(text(cache->commit(a, 6)), "");
  EXPECT_EQ(cache->length(a), 9);
  // Exactly filling block 2 needs no new block; one more token does.
  ASSERT_EQ(text(cache->reserve(a, 3)), "");
  EXPECT_EQ(cache->freeBlockCount(), 7u);
  ASSERT_EQ(text(cache->reserve(a, 4)), "");
  EXPECT_EQ(cache->freeBlockCount(), 6u);
}

TEST(KvCache, ExhaustionLeavesTheCacheUnchanged) {
  auto cache = makeCache(4);
  const int64_t a = addSequence(*cache), b = addSequence(*cache);
  grow(*cache, a, 10); // blocks 0..2, the last one half full
  ASSERT_EQ(cache->freeBlockCount(), 1u);
  std::string error = text(cache->reserve(b, 8));
  EXPECT_TRUE(contains(error, "RESOURCE_EXHAUSTED")) << error;
  EXPECT_TRUE(contains(error, "need 2 free blocks")) << error;
  EXPECT_TRUE(contains(error, "1 of 4 are free")) << error;
  EXPECT_EQ(cache->freeBlockCount(), 1u);
  EXPECT_TRUE(cache->blocksOf(b)->empty());
  EXPECT_EQ(cache->length(b), 0);
  // Nothing was reserved: committing is refused.
  EXPECT_TRUE(contains(text(cache->commit(b, 1)), "INVALID_ARGUMENT"));

  // A fork appending into the shared half-full block needs a copy of it
  // and a fresh block: two, with one free.
  int64_t child = -1;
  ASSERT_EQ(text(cache->fork(a, child)), "");
  error = text(cache->reserve(child, 3));
  EXPECT_TRUE(contains(error, "RESOURCE_EXHAUSTED")) << error;
  EXPECT_TRUE(contains(error, "1 copied on write")) << error;
  EXPECT_EQ(*cache->blocksOf(child), *cache->blocksOf(a));
  EXPECT_EQ(cache->referenceCount((*cache->blocksOf(a))[2]), 2);
  EXPECT_EQ(cache->freeBlockCount(), 1u);
  // What fits still works afterwards.
  ASSERT_EQ(text(cache->reserve(child, 2)), "");
  EXPECT_EQ(cache->freeBlockCount(), 0u);
}

TEST(KvCache, ForksShareBlocksUntilBothAreRemoved) {
  auto cache = makeCache(6);
  const int64_t parent = addSequence(*cache);
  grow(*cache, parent, 8); // two full blocks
  ASSERT_EQ(cache->freeBlockCount(), 4u);
  int64_t child = -1;
  ASSERT_EQ(text(cache->fork(parent, child)), "");
  EXPECT_EQ(cache->freeBlockCount(), 4u) << "a fork copies nothing";
  EXPECT_EQ(cache->length(child), 8);
  EXPECT_EQ(*cache->blocksOf(child), *cache->blocksOf(parent));
  for (int32_t block : *cache->blocksOf(parent))
    EXPECT_EQ(cache->referenceCount(block), 2);
  // Appending after full blocks writes no shared block: no copy.
  ASSERT_EQ(text(cache->reserve(child, 1)), "");
  EXPECT_EQ(cache->freeBlockCount(), 3u);
  ASSERT_EQ(text(cache->removeSequence(parent)), "");
  EXPECT_EQ(cache->freeBlockCount(), 3u) << "the child still holds them";
  for (int32_t block : *cache->blocksOf(child))
    EXPECT_EQ(cache->referenceCount(block), 1);
  ASSERT_EQ(text(cache->removeSequence(child)), "");
  EXPECT_EQ(cache->freeBlockCount(), 6u);
}

TEST(KvCache, CopiesASharedBlockBeforeItIsWritten) {
  // i8, so the scales must be copied too.
  auto cache = makeCache(6, KvDType::i8);
  const azr::cpu::KvCacheView &view = cache->view();
  const size_t blockBytes = size_t(view.kvHeads * view.tokensPerBlock *
                                   view.headDim); // one byte per element
  const size_t blockScales = size_t(view.kvHeads * view.tokensPerBlock);
  const int64_t parent = addSequence(*cache);
  grow(*cache, parent, 6); // block 0 full, block 1 holding 2 of 4
  const std::vector<int32_t> parentBlocks = *cache->blocksOf(parent);
  // Recognizable contents for every layer's pools.
  for (int64_t l = 0; l < view.layers; ++l)
    for (int32_t block : parentBlocks) {
      uint8_t *keys = static_cast<uint8_t *>(view.keys[l]);
      uint8_t *values = static_cast<uint8_t *>(view.values[l]);
      for (size_t i = 0; i < blockBytes; ++i) {
        keys[block * blockBytes + i] = uint8_t(block * 31 + l * 7 + i);
        values[block * blockBytes + i] = uint8_t(block * 17 + l * 5 + i + 1);
      }
      for (size_t i = 0; i < blockScales; ++i) {
        view.keyScales[l][block * blockScales + i] = float(block + l + i);
        view.valueScales[l][block * blockScales + i] = -float(block + l + i);
      }
    }
  auto snapshot = [&](int32_t block) {
    std::vector<uint8_t> bytes;
    for (int64_t l = 0; l < view.layers; ++l) {
      for (void *pool : {view.keys[l], view.values[l]}) {
        const uint8_t *p = static_cast<const uint8_t *>(pool);
        bytes.insert(bytes.end(), p + block * blockBytes,
                     p + (block + 1) * blockBytes);
      }
      for (float *scales : {view.keyScales[l], view.valueScales[l]}) {
        const uint8_t *p =
            reinterpret_cast<const uint8_t *>(scales + block * blockScales);
        bytes.insert(bytes.end(), p, p + blockScales * sizeof(float));
      }
    }
    return bytes;
  };
  const std::vector<uint8_t> parentTail = snapshot(parentBlocks[1]);

  int64_t child = -1;
  ASSERT_EQ(text(cache->fork(parent, child)), "");
  const size_t freeBefore = cache->freeBlockCount();
  ASSERT_EQ(text(cache->reserve(child, 1)), "");
  const std::vector<int32_t> &childBlocks = *cache->blocksOf(child);
  EXPECT_EQ(cache->freeBlockCount(), freeBefore - 1);
  EXPECT_EQ(childBlocks[0], parentBlocks[0]) << "the full block stays shared";
  EXPECT_NE(childBlocks[1], parentBlocks[1]) << "the written block is copied";
  EXPECT_EQ(cache->referenceCount(parentBlocks[1]), 1);
  EXPECT_EQ(snapshot(childBlocks[1]), parentTail);

  // The child writes its token (slot 2 of its copy, every layer and head):
  // the parent's block is untouched.
  for (int64_t l = 0; l < view.layers; ++l)
    for (int64_t h = 0; h < view.kvHeads; ++h) {
      const int64_t slot =
          (childBlocks[1] * view.kvHeads + h) * view.tokensPerBlock + 2;
      std::memset(static_cast<uint8_t *>(view.keys[l]) + slot * view.headDim,
                  0x7F, size_t(view.headDim));
      view.keyScales[l][slot] = 1000.0f;
    }
  ASSERT_EQ(text(cache->commit(child, 1)), "");
  EXPECT_EQ(snapshot(parentBlocks[1]), parentTail);
  EXPECT_NE(snapshot(childBlocks[1]), parentTail);

  // The parent's block is its own again: appending copies nothing.
  const size_t freeNow = cache->freeBlockCount();
  ASSERT_EQ(text(cache->reserve(parent, 2)), "");
  EXPECT_EQ(*cache->blocksOf(parent), parentBlocks);
  EXPECT_EQ(cache->freeBlockCount(), freeNow);
}

TEST(KvCache, RefusesCommitsBeyondTheReservation) {
  auto cache = makeCache(6);
  const int64_t a = addSequence(*cache);
  ASSERT_EQ(text(cache->reserve(a, 3)), "");
  std::string error = text(cache->commit(a, 4));
  EXPECT_TRUE(contains(error, "INVALID_ARGUMENT")) << error;
  EXPECT_EQ(cache->length(a), 0);
  ASSERT_EQ(text(cache->commit(a, 2)), "");
  ASSERT_EQ(text(cache->commit(a, 1)), "");
  EXPECT_TRUE(contains(text(cache->commit(a, 1)), "INVALID_ARGUMENT"));
  EXPECT_EQ(cache->length(a), 3);
}

TEST(KvCache, RefusesSequencesLongerThanTheEngineTakes) {
  auto cache = makeCache(12); // 8 blocks of 4 per sequence: 32 tokens
  const int64_t a = addSequence(*cache);
  std::string error = text(cache->reserve(a, 33));
  EXPECT_TRUE(contains(error, "OUT_OF_RANGE")) << error;
  EXPECT_EQ(cache->freeBlockCount(), 12u);
  grow(*cache, a, 32);
  EXPECT_EQ(cache->blocksOf(a)->size(), 8u);
  error = text(cache->reserve(a, 1));
  EXPECT_TRUE(contains(error, "OUT_OF_RANGE")) << error;
  EXPECT_EQ(cache->freeBlockCount(), 4u);
}

TEST(KvCache, RefusesUnknownSequences) {
  auto cache = makeCache(6);
  const int64_t a = addSequence(*cache);
  int64_t child = -1;
  for (std::string error :
       {text(cache->reserve(a + 100, 1)), text(cache->commit(a + 100, 0)),
        text(cache->removeSequence(a + 100)),
        text(cache->fork(a + 100, child))}) {
    EXPECT_TRUE(contains(error, "INVALID_ARGUMENT")) << error;
    EXPECT_TRUE(contains(error, "no sequence")) << error;
  }
  EXPECT_EQ(cache->length(a + 100), -1);
  EXPECT_EQ(cache->blocksOf(a + 100), nullptr);
  ASSERT_EQ(text(cache->removeSequence(a)), "");
  EXPECT_TRUE(contains(text(cache->removeSequence(a)), "no sequence"));
}

TEST(KvCache, RefusesBadLayoutsAndCounts) {
  std::unique_ptr<KvCache> cache;
  KvLayout layout = smallLayout();
  layout.headDim = 0;
  EXPECT_TRUE(contains(text(KvCache::create(layout, 4, nullptr, cache)),
                       "INVALID_ARGUMENT"));
  layout = smallLayout();
  layout.defaultBlocks = 0;
  EXPECT_TRUE(contains(text(KvCache::create(layout, 0, nullptr, cache)),
                       "INVALID_ARGUMENT"));
  EXPECT_FALSE(cache);
  // A failing allocator is a status, and what was allocated is released.
  struct Counter {
    int live = 0, calls = 0;
  } counter;
  azr_allocator_t failing = {
      [](void *user, size_t size, size_t alignment) -> void * {
        auto *c = static_cast<Counter *>(user);
        if (++c->calls > 3)
          return nullptr;
        ++c->live;
        return aligned_alloc(alignment,
                             (size + alignment - 1) / alignment * alignment);
      },
      [](void *user, void *pointer) {
        --static_cast<Counter *>(user)->live;
        free(pointer);
      },
      &counter};
  EXPECT_TRUE(contains(text(KvCache::create(smallLayout(), 4, &failing, cache)),
                       "RESOURCE_EXHAUSTED"));
  EXPECT_EQ(counter.live, 0);
}

TEST(KvCacheCApi, RefusesNullArguments) {
  azr_kv_cache_t *cache = nullptr;
  EXPECT_TRUE(contains(text(azr_kv_cache_create(nullptr, 0, nullptr, &cache)),
                       "INVALID_ARGUMENT"));
  EXPECT_EQ(cache, nullptr);
  int64_t id;
  EXPECT_TRUE(contains(text(azr_kv_cache_add_sequence(nullptr, &id)),
                       "INVALID_ARGUMENT"));
  EXPECT_EQ(azr_kv_cache_length(nullptr, 0), -1);
  EXPECT_EQ(azr_kv_cache_free_block_count(nullptr), 0u);
  azr_kv_cache_release(nullptr);
}

} // namespace
