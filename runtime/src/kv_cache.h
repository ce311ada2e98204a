//===- kv_cache.h - the paged KV cache and its block allocator --*- C++ -*-===//
//
// A paged KV cache keeps every sequence's keys and values in fixed-size
// blocks of tokens drawn from shared pools, as vLLM's PagedAttention does:
// a sequence holds a list of block ids, so sequences grow without copying
// and without reserving their longest length up front. Blocks are
// reference counted: a fork shares its parent's blocks, a shared prompt is
// stored once, and a block is copied only when a sequence is about to write
// into it while another still reads it (copy on write). The class is usable
// without an engine (unit tests); the C API in azr.h is a thin wrapper.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_KV_CACHE_H
#define AZR_KV_CACHE_H

#include "azr/azr.h"
#include "cpu/kernels.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace azr {

/// The shape of a cache: the engine's KvCacheLayout, in runtime types.
struct KvLayout {
  cpu::KvDType dtype = cpu::KvDType::f32;
  int64_t layers = 0, kvHeads = 0, headDim = 0, tokensPerBlock = 0;
  int64_t maxBlocksPerSequence = 0;
  int64_t defaultBlocks = 0; ///< blocks of a cache created with 0 blocks

  /// Whether a cache of `this` layout can serve an engine of `other`'s:
  /// every field but the default block count agrees.
  bool compatibleWith(const KvLayout &other) const;
  /// "f16, 2 layers, 4 kv heads of 64, 16 tokens per block, 32 blocks per
  /// sequence", for messages.
  std::string describe() const;
};

/// Blocks, sequences and the pools; not thread-safe (a session uses it
/// from one thread, between runs).
class KvCache {
public:
  /// A cache of `blocks` blocks (0: layout.defaultBlocks) whose pools come
  /// from `allocator` (nullptr: aligned malloc). INVALID_ARGUMENT for a bad
  /// layout or count, RESOURCE_EXHAUSTED when allocation fails.
  static azr_status_t create(const KvLayout &layout, size_t blocks,
                             const azr_allocator_t *allocator,
                             std::unique_ptr<KvCache> &out);
  ~KvCache();
  KvCache(const KvCache &) = delete;
  KvCache &operator=(const KvCache &) = delete;

  const KvLayout &layout() const { return layout_; }
  /// The pools as the paged_attention kernel reads them.
  const cpu::KvCacheView &view() const { return view_; }
  size_t blockCount() const { return referenceCounts_.size(); }
  size_t freeBlockCount() const { return freeBlocks_.size(); }

  azr_status_t addSequence(int64_t &id);
  /// A sequence sharing the blocks that hold `parent`'s committed tokens.
  azr_status_t fork(int64_t parent, int64_t &id);
  azr_status_t removeSequence(int64_t id);
  /// Committed tokens, -1 for an unknown id.
  int64_t length(int64_t id) const;
  /// Room for `tokens` more tokens after the committed ones; all or
  /// nothing (see azr_kv_cache_reserve).
  azr_status_t reserve(int64_t id, size_t tokens);
  azr_status_t commit(int64_t id, size_t tokens);
  /// The block ids of sequence `id` in token order, nullptr if unknown.
  const std::vector<int32_t> *blocksOf(int64_t id) const;
  /// How many sequences hold `block`.
  int referenceCount(int32_t block) const {
    return referenceCounts_[size_t(block)];
  }

private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int64_t length = 0;   ///< committed tokens
    int64_t reserved = 0; ///< tokens the blocks may hold after a reserve
  };

  KvCache() = default;
  Sequence *find(int64_t id);
  azr_status_t unknown(int64_t id) const;
  int32_t takeFreeBlock();
  /// Copies every pool's bytes (and scales) of block `from` into `to`.
  void copyBlock(int32_t from, int32_t to);

  KvLayout layout_;
  azr_allocator_t allocator_ = {};
  cpu::KvCacheView view_;
  std::vector<void *> keys_, values_;
  std::vector<float *> keyScales_, valueScales_;
  size_t blockBytes_ = 0;  ///< one block of one layer's keys (or values)
  size_t blockScales_ = 0; ///< scales per block and layer

  std::vector<int> referenceCounts_;
  std::vector<int32_t> freeBlocks_; ///< a stack: recently freed first
  std::unordered_map<int64_t, Sequence> sequences_;
  int64_t nextId_ = 0;
};

} // namespace azr

/// The C handle: the cache behind azr.h's functions.
struct azr_kv_cache_s {
  std::unique_ptr<azr::KvCache> cache;
};

#endif // AZR_KV_CACHE_H
