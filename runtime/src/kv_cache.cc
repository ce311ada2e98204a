//===- kv_cache.cc - blocks, sequences and copy on write ------------------===//
//
// The allocator is a stack of free block ids and a reference count per
// block. Every operation that may fail checks everything first and only
// then changes state, so a refused reserve (out of blocks, too long) leaves
// the cache exactly as it was and the caller may evict and retry.
//
//===----------------------------------------------------------------------===//

#include "kv_cache.h"

#include "azr/engine_format.h"
#include "engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace azr {

bool KvLayout::compatibleWith(const KvLayout &other) const {
  return dtype == other.dtype && layers == other.layers &&
         kvHeads == other.kvHeads && headDim == other.headDim &&
         tokensPerBlock == other.tokensPerBlock &&
         maxBlocksPerSequence == other.maxBlocksPerSequence;
}

std::string KvLayout::describe() const {
  return std::string(cpu::kvDtypeName(dtype)) + ", " + std::to_string(layers) +
         " layers, " + std::to_string(kvHeads) + " kv heads of " +
         std::to_string(headDim) + ", " + std::to_string(tokensPerBlock) +
         " tokens per block, " + std::to_string(maxBlocksPerSequence) +
         " blocks per sequence";
}

namespace {

void *defaultAllocate(void *, size_t size, size_t alignment) {
  if (size > SIZE_MAX - alignment)
    return nullptr;
  return aligned_alloc(alignment,
                       (size + alignment - 1) / alignment * alignment);
}
void defaultRelease(void *, void *pointer) { free(pointer); }

} // namespace

azr_status_t KvCache::create(const KvLayout &layout, size_t blocks,
                             const azr_allocator_t *allocator,
                             std::unique_ptr<KvCache> &out) {
  if (layout.layers <= 0 || layout.kvHeads <= 0 || layout.headDim <= 0 ||
      layout.tokensPerBlock <= 0 || layout.maxBlocksPerSequence <= 0 ||
      cpu::kvDtypeSize(layout.dtype) == 0)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "bad paged KV cache layout: %s",
                           layout.describe().c_str());
  if (blocks == 0)
    blocks = size_t(std::max<int64_t>(0, layout.defaultBlocks));
  // Block ids travel in the engine's i32 block table.
  if (blocks == 0 || blocks > size_t(INT32_MAX))
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "a paged KV cache needs 1 to %d blocks, got %zu",
                           INT32_MAX, blocks);
  if (allocator && (!allocator->allocate || !allocator->release))
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "allocator hooks must both be set");
  std::unique_ptr<KvCache> cache(new KvCache());
  cache->layout_ = layout;
  cache->allocator_ =
      allocator ? *allocator
                : azr_allocator_t{defaultAllocate, defaultRelease, nullptr};
  size_t slots = 0, bytes = 0, poolBytes = 0, scaleBytes = 0;
  const size_t elementSize = cpu::kvDtypeSize(layout.dtype);
  const bool scaled = cpu::kvDtypeIsScaled(layout.dtype);
  if (__builtin_mul_overflow(size_t(layout.kvHeads),
                             size_t(layout.tokensPerBlock), &slots) ||
      __builtin_mul_overflow(slots, size_t(layout.headDim) * elementSize,
                             &bytes) ||
      __builtin_mul_overflow(bytes, blocks, &poolBytes) ||
      __builtin_mul_overflow(slots * sizeof(float), blocks, &scaleBytes))
    return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED,
                           "a paged KV cache of %zu blocks (%s) does not fit "
                           "in memory",
                           blocks, layout.describe().c_str());
  cache->blockBytes_ = bytes;
  cache->blockScales_ = scaled ? slots : 0;
  auto allocate = [&](size_t size) {
    return cache->allocator_.allocate(cache->allocator_.user, size,
                                      AZR_ENGINE_ALIGNMENT);
  };
  for (int64_t l = 0; l < layout.layers; ++l) {
    // Pushed before checking, so the destructor releases what did succeed.
    cache->keys_.push_back(allocate(poolBytes));
    cache->values_.push_back(allocate(poolBytes));
    if (scaled) {
      cache->keyScales_.push_back(static_cast<float *>(allocate(scaleBytes)));
      cache->valueScales_.push_back(static_cast<float *>(allocate(scaleBytes)));
    }
    if (!cache->keys_.back() || !cache->values_.back() ||
        (scaled && (!cache->keyScales_.back() || !cache->valueScales_.back())))
      return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED,
                             "cannot allocate a paged KV cache of %zu blocks "
                             "(%s): %zu bytes per pool",
                             blocks, layout.describe().c_str(), poolBytes);
  }
  cpu::KvCacheView &view = cache->view_;
  view.dtype = layout.dtype;
  view.layers = layout.layers;
  view.kvHeads = layout.kvHeads;
  view.headDim = layout.headDim;
  view.tokensPerBlock = layout.tokensPerBlock;
  view.numBlocks = int64_t(blocks);
  view.keys = cache->keys_.data();
  view.values = cache->values_.data();
  view.keyScales = scaled ? cache->keyScales_.data() : nullptr;
  view.valueScales = scaled ? cache->valueScales_.data() : nullptr;
  cache->referenceCounts_.assign(blocks, 0);
  // Reversed, so blocks are handed out from id 0 up.
  cache->freeBlocks_.resize(blocks);
  for (size_t i = 0; i < blocks; ++i)
    cache->freeBlocks_[i] = int32_t(blocks - 1 - i);
  out = std::move(cache);
  return nullptr;
}

KvCache::~KvCache() {
  auto release = [&](void *pointer) {
    if (pointer)
      allocator_.release(allocator_.user, pointer);
  };
  for (void *p : keys_)
    release(p);
  for (void *p : values_)
    release(p);
  for (float *p : keyScales_)
    release(p);
  for (float *p : valueScales_)
    release(p);
}

KvCache::Sequence *KvCache::find(int64_t id) {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : &it->second;
}

const std::vector<int32_t> *KvCache::blocksOf(int64_t id) const {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : &it->second.blocks;
}

azr_status_t KvCache::unknown(int64_t id) const {
  return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                         "the KV cache has no sequence %lld", (long long)id);
}

int64_t KvCache::length(int64_t id) const {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? -1 : it->second.length;
}

int32_t KvCache::takeFreeBlock() {
  const int32_t block = freeBlocks_.back();
  freeBlocks_.pop_back();
  referenceCounts_[size_t(block)] = 1;
  return block;
}

void KvCache::copyBlock(int32_t from, int32_t to) {
  for (int64_t l = 0; l < layout_.layers; ++l) {
    for (void *pool : {keys_[size_t(l)], values_[size_t(l)]}) {
      uint8_t *bytes = static_cast<uint8_t *>(pool);
      std::memcpy(bytes + size_t(to) * blockBytes_,
                  bytes + size_t(from) * blockBytes_, blockBytes_);
    }
    if (blockScales_)
      for (float *scales : {keyScales_[size_t(l)], valueScales_[size_t(l)]})
        std::memcpy(scales + size_t(to) * blockScales_,
                    scales + size_t(from) * blockScales_,
                    blockScales_ * sizeof(float));
  }
}

azr_status_t KvCache::addSequence(int64_t &id) {
  id = nextId_++;
  sequences_[id] = Sequence();
  return nullptr;
}

azr_status_t KvCache::fork(int64_t parent, int64_t &id) {
  const Sequence *source = find(parent);
  if (!source)
    return unknown(parent);
  Sequence child;
  // Blocks past the committed tokens hold nothing the child may read.
  const size_t shared = size_t((source->length + layout_.tokensPerBlock - 1) /
                               layout_.tokensPerBlock);
  child.blocks.assign(source->blocks.begin(), source->blocks.begin() + shared);
  child.length = child.reserved = source->length;
  for (int32_t block : child.blocks)
    ++referenceCounts_[size_t(block)];
  id = nextId_++;
  sequences_[id] = std::move(child);
  return nullptr;
}

azr_status_t KvCache::removeSequence(int64_t id) {
  auto it = sequences_.find(id);
  if (it == sequences_.end())
    return unknown(id);
  for (int32_t block : it->second.blocks)
    if (--referenceCounts_[size_t(block)] == 0)
      freeBlocks_.push_back(block);
  sequences_.erase(it);
  return nullptr;
}

azr_status_t KvCache::reserve(int64_t id, size_t tokens) {
  Sequence *sequence = find(id);
  if (!sequence)
    return unknown(id);
  if (tokens == 0)
    return nullptr;
  const int64_t perBlock = layout_.tokensPerBlock;
  const int64_t limit = layout_.maxBlocksPerSequence * perBlock;
  if (tokens > size_t(limit - sequence->length))
    return azr_status_make(
        AZR_STATUS_OUT_OF_RANGE,
        "sequence %lld: %lld tokens and %zu more exceed the %lld a sequence "
        "may hold (%lld blocks of %lld)",
        (long long)id, (long long)sequence->length, tokens, (long long)limit,
        (long long)layout_.maxBlocksPerSequence, (long long)perBlock);
  const int64_t end = sequence->length + int64_t(tokens);
  const size_t needed = size_t((end + perBlock - 1) / perBlock);
  const size_t held = sequence->blocks.size();
  // Blocks the new tokens land in that another sequence also reads.
  std::vector<size_t> shared;
  for (size_t b = size_t(sequence->length / perBlock);
       b < std::min(held, needed); ++b)
    if (referenceCounts_[size_t(sequence->blocks[b])] > 1)
      shared.push_back(b);
  const size_t fresh = needed > held ? needed - held : 0;
  sequence->blocks.reserve(needed); // the last allocation, before any change
  if (fresh + shared.size() > freeBlocks_.size())
    return azr_status_make(
        AZR_STATUS_RESOURCE_EXHAUSTED,
        "sequence %lld: %zu more tokens need %zu free blocks (%zu new, %zu "
        "copied on write), but %zu of %zu are free",
        (long long)id, tokens, fresh + shared.size(), fresh, shared.size(),
        freeBlocks_.size(), blockCount());
  for (size_t b : shared) {
    const int32_t from = sequence->blocks[b], to = takeFreeBlock();
    copyBlock(from, to);
    --referenceCounts_[size_t(from)];
    sequence->blocks[b] = to;
  }
  for (size_t i = 0; i < fresh; ++i)
    sequence->blocks.push_back(takeFreeBlock());
  sequence->reserved = std::max(sequence->reserved, end);
  return nullptr;
}

azr_status_t KvCache::commit(int64_t id, size_t tokens) {
  Sequence *sequence = find(id);
  if (!sequence)
    return unknown(id);
  if (tokens > size_t(sequence->reserved - sequence->length))
    return azr_status_make(
        AZR_STATUS_INVALID_ARGUMENT,
        "sequence %lld: cannot commit %zu tokens, only %lld were reserved "
        "after its %lld (azr_kv_cache_reserve first)",
        (long long)id, tokens,
        (long long)(sequence->reserved - sequence->length),
        (long long)sequence->length);
  sequence->length += int64_t(tokens);
  return nullptr;
}

} // namespace azr

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

namespace {

azr_status_t nullArgument(const char *function) {
  return azr_status_make(AZR_STATUS_INVALID_ARGUMENT, "%s: null argument",
                         function);
}

/// Bookkeeping allocates (sequence table, block lists): running out of
/// memory there must be a status, not an exception crossing the C API.
template <class F> azr_status_t guarded(const char *function, F &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return azr_status_make(AZR_STATUS_RESOURCE_EXHAUSTED, "%s: out of memory",
                           function);
  }
}

} // namespace

azr_status_t azr_kv_cache_create(const azr_engine_t *engine, size_t num_blocks,
                                 const azr_allocator_t *allocator,
                                 azr_kv_cache_t **out_cache) {
  if (!engine || !out_cache)
    return nullArgument("azr_kv_cache_create");
  *out_cache = nullptr;
  if (!engine->hasKvCache)
    return azr_status_make(AZR_STATUS_INVALID_ARGUMENT,
                           "%s: the engine has no paged KV cache (build it "
                           "with --paged_kv_cache)",
                           engine->path.c_str());
  return guarded("azr_kv_cache_create", [&]() -> azr_status_t {
    auto handle = std::make_unique<azr_kv_cache_s>();
    if (azr_status_t status = azr::KvCache::create(engine->kvLayout, num_blocks,
                                                   allocator, handle->cache))
      return status;
    *out_cache = handle.release();
    return nullptr;
  });
}

void azr_kv_cache_release(azr_kv_cache_t *cache) { delete cache; }

size_t azr_kv_cache_block_count(const azr_kv_cache_t *cache) {
  return cache ? cache->cache->blockCount() : 0;
}

size_t azr_kv_cache_free_block_count(const azr_kv_cache_t *cache) {
  return cache ? cache->cache->freeBlockCount() : 0;
}

size_t azr_kv_cache_tokens_per_block(const azr_kv_cache_t *cache) {
  return cache ? size_t(cache->cache->layout().tokensPerBlock) : 0;
}

azr_status_t azr_kv_cache_add_sequence(azr_kv_cache_t *cache, int64_t *out_id) {
  if (!cache || !out_id)
    return nullArgument("azr_kv_cache_add_sequence");
  return guarded("azr_kv_cache_add_sequence",
                 [&] { return cache->cache->addSequence(*out_id); });
}

azr_status_t azr_kv_cache_fork(azr_kv_cache_t *cache, int64_t parent,
                               int64_t *out_id) {
  if (!cache || !out_id)
    return nullArgument("azr_kv_cache_fork");
  return guarded("azr_kv_cache_fork",
                 [&] { return cache->cache->fork(parent, *out_id); });
}

azr_status_t azr_kv_cache_remove_sequence(azr_kv_cache_t *cache, int64_t id) {
  if (!cache)
    return nullArgument("azr_kv_cache_remove_sequence");
  return guarded("azr_kv_cache_remove_sequence",
                 [&] { return cache->cache->removeSequence(id); });
}

int64_t azr_kv_cache_length(const azr_kv_cache_t *cache, int64_t id) {
  return cache ? cache->cache->length(id) : -1;
}

azr_status_t azr_kv_cache_reserve(azr_kv_cache_t *cache, int64_t id,
                                  size_t tokens) {
  if (!cache)
    return nullArgument("azr_kv_cache_reserve");
  return guarded("azr_kv_cache_reserve",
                 [&] { return cache->cache->reserve(id, tokens); });
}

azr_status_t azr_kv_cache_commit(azr_kv_cache_t *cache, int64_t id,
                                 size_t tokens) {
  if (!cache)
    return nullArgument("azr_kv_cache_commit");
  return guarded("azr_kv_cache_commit",
                 [&] { return cache->cache->commit(id, tokens); });
}
