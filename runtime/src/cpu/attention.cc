//===- attention.cc - scaled dot-product attention, dense and paged -------===//
//
// `attention` reads keys and values from tensors; `paged_attention` first
// writes the new tokens' keys and values into the session's paged KV cache
// (kv_cache.h) and then reads every visible position back from it, so a
// decode step sees exactly what earlier steps stored, quantization
// included. Both compute in f32 flash style: queries in small blocks, keys
// in tiles, a running maximum and sum per query row rescaling the
// accumulator, so no score matrix larger than a tile is ever held and the
// work per (batch, kv head) is independent. Query head h reads kv head
// h / (heads / kv_heads) (grouped-query attention); the heads sharing a kv
// head are attended together, their rows interleaved by query, so each key
// tile is read, and decoded from a quantized cache, once for the group
// rather than once per head.
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <limits>

namespace azr::cpu {
namespace {

/// Query rows that share each key tile: every tile is read (and, from a
/// quantized cache, decoded) once per block of queries, not once per query.
constexpr int64_t kQueryBlock = 8;
/// Keys scored at once: the largest run of scores held per query.
constexpr int64_t kKeyTile = 64;

/// Eight independent partial sums: the loop vectorizes without the
/// reassociation a single running sum would need.
float dot(const float *a, const float *b, int64_t n) {
  float partial[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j)
      partial[j] += a[i + j] * b[i + j];
  for (int j = 0; i + j < n; ++j)
    partial[j] += a[i + j] * b[i + j];
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

/// Scratch of one (batch, kv head) task, reused by the tasks of a chunk.
struct Scratch {
  std::vector<float> keys, values; ///< a decoded tile, kKeyTile rows
  std::vector<float> accumulator;  ///< kQueryBlock rows
  std::vector<float> scores;       ///< one query's tile
  std::vector<float> queries, out; ///< a group's rows, interleaved

  explicit Scratch(int64_t headDim)
      : keys(size_t(kKeyTile * headDim)), values(size_t(kKeyTile * headDim)),
        accumulator(size_t(kQueryBlock * headDim)), scores(size_t(kKeyTile)) {}
};

/// Attention of one head's `queries` rows (each headDim floats) over
/// `keyCount` positions, query i seeing positions below visibleEnd(i).
/// `tile(j0, j1, scratch, keys, values)` points `keys` and `values` at the
/// f32 rows of positions [j0, j1), in the scratch or in place.
template <class VisibleEnd, class Tile>
void attendHead(const float *q, float *out, int64_t queries, int64_t headDim,
                float scale, VisibleEnd visibleEnd, Tile tile,
                Scratch &scratch) {
  const VectorMath &math = vectorMath();
  for (int64_t i0 = 0; i0 < queries; i0 += kQueryBlock) {
    const int64_t i1 = std::min(queries, i0 + kQueryBlock);
    float runningMax[kQueryBlock], runningSum[kQueryBlock];
    std::fill(runningMax, runningMax + kQueryBlock,
              -std::numeric_limits<float>::infinity());
    std::fill(runningSum, runningSum + kQueryBlock, 0.0f);
    std::fill(scratch.accumulator.begin(), scratch.accumulator.end(), 0.0f);
    // visibleEnd grows with i: the block's last row sees the most.
    const int64_t blockEnd = visibleEnd(i1 - 1);
    for (int64_t j0 = 0; j0 < blockEnd; j0 += kKeyTile) {
      const int64_t j1 = std::min(blockEnd, j0 + kKeyTile);
      const float *keys = nullptr, *values = nullptr;
      tile(j0, j1, scratch, keys, values);
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n = std::min(j1, visibleEnd(i)) - j0;
        if (n <= 0)
          continue;
        const float *queryRow = q + i * headDim;
        float *scores = scratch.scores.data();
        float tileMax = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < n; ++j) {
          scores[j] = scale * dot(queryRow, keys + j * headDim, headDim);
          tileMax = std::max(tileMax, scores[j]);
        }
        const int64_t r = i - i0;
        const float newMax = std::max(runningMax[r], tileMax);
        // exp(-inf) is 0: the first tile drops the empty accumulator.
        const float rescale = std::exp(runningMax[r] - newMax);
        const float tileSum = math.expShiftSum(scores, newMax, scores, n);
        float *acc = scratch.accumulator.data() + r * headDim;
        if (rescale != 1.0f)
          for (int64_t c = 0; c < headDim; ++c)
            acc[c] *= rescale;
        for (int64_t j = 0; j < n; ++j) {
          const float weight = scores[j];
          const float *valueRow = values + j * headDim;
          for (int64_t c = 0; c < headDim; ++c)
            acc[c] += weight * valueRow[c];
        }
        runningSum[r] = runningSum[r] * rescale + tileSum;
        runningMax[r] = newMax;
      }
    }
    for (int64_t i = i0; i < i1; ++i) {
      const float *acc = scratch.accumulator.data() + (i - i0) * headDim;
      // A row that sees no position (causal with fewer keys than queries)
      // has no distribution to average over: it outputs zeros.
      const float inverse =
          runningSum[i - i0] > 0.0f ? 1.0f / runningSum[i - i0] : 0.0f;
      for (int64_t c = 0; c < headDim; ++c)
        out[i * headDim + c] = acc[c] * inverse;
    }
  }
}

/// Attention of the `count` query heads from `firstHead` (all reading one
/// kv head) of batch row `b`: their rows are gathered as row
/// i * count + g (query i of head firstHead + g), so visibility still grows
/// with the row and one pass over the keys serves the whole group.
template <class VisibleEnd, class Tile>
void attendGroup(const float *q, float *out, int64_t b, int64_t heads,
                 int64_t firstHead, int64_t count, int64_t queries,
                 int64_t headDim, float scale, VisibleEnd visibleEnd, Tile tile,
                 Scratch &scratch) {
  const size_t rowBytes = size_t(headDim) * sizeof(float);
  auto rowOf = [&](int64_t g, int64_t i) {
    return ((b * heads + firstHead + g) * queries + i) * headDim;
  };
  if (count == 1) {
    attendHead(q + rowOf(0, 0), out + rowOf(0, 0), queries, headDim, scale,
               visibleEnd, tile, scratch);
    return;
  }
  scratch.queries.resize(size_t(count * queries * headDim));
  scratch.out.resize(scratch.queries.size());
  for (int64_t i = 0; i < queries; ++i)
    for (int64_t g = 0; g < count; ++g)
      std::memcpy(scratch.queries.data() + (i * count + g) * headDim,
                  q + rowOf(g, i), rowBytes);
  attendHead(
      scratch.queries.data(), scratch.out.data(), count * queries, headDim,
      scale, [&](int64_t row) { return visibleEnd(row / count); }, tile,
      scratch);
  for (int64_t i = 0; i < queries; ++i)
    for (int64_t g = 0; g < count; ++g)
      std::memcpy(out + rowOf(g, i),
                  scratch.out.data() + (i * count + g) * headDim, rowBytes);
}

/// Query heads per task: the whole group of a kv head, unless there are
/// fewer (batch, kv head) pairs than threads to keep busy.
int64_t headsPerTask(const ThreadPool &pool, int64_t pairs, int64_t group) {
  return pairs >= pool.numThreads() ? group : 1;
}

/// Runs fn(b, firstHead, scratch) on the pool for every batch row and
/// every run of `perTask` query heads, each chunk of tasks with a scratch.
template <class Fn>
void forEachHeadGroup(ThreadPool &pool, int64_t batch, int64_t heads,
                      int64_t perTask, int64_t headDim, Fn fn) {
  const int64_t tasksPerRow = heads / perTask;
  pool.parallelFor(batch * tasksPerRow, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch(headDim);
    for (int64_t task = begin; task < end; ++task)
      fn(task / tasksPerRow, (task % tasksPerRow) * perTask, scratch);
  });
}

bool sameDims(const Tensor &a, std::initializer_list<int64_t> dims) {
  if (a.rank != int(dims.size()))
    return false;
  int d = 0;
  for (int64_t size : dims)
    if (a.dims[d++] != size)
      return false;
  return true;
}

/// The `scale` attribute, 1 / sqrt(head_dim) when absent.
float scaleOf(const Attrs &attrs, int64_t headDim) {
  return float(attrs.getFloat(
      "scale", 1.0 / std::sqrt(double(std::max<int64_t>(1, headDim)))));
}

azr_status_t attentionKernel(const KernelContext &context) {
  const char *op = "attention";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 3, 1));
  const Tensor &q = context.input(0), &k = context.input(1),
               &v = context.input(2);
  Tensor &out = context.output(0);
  for (const Tensor *t : {&q, &k, &v, static_cast<const Tensor *>(&out)})
    if (t->dtype != DType::f32)
      return unsupportedDtype(op, t->dtype);
  if (q.rank != 4 || k.rank != 4)
    return AZR_INVALID("%s: q and k must be 4-D [batch, heads, seq, "
                       "head_dim], got %s and %s",
                       op, shapeString(q).c_str(), shapeString(k).c_str());
  const int64_t batch = q.dims[0], heads = q.dims[1], queries = q.dims[2],
                headDim = q.dims[3];
  const int64_t kvHeads = k.dims[1], keyCount = k.dims[2];
  if (!sameDims(k, {batch, kvHeads, keyCount, headDim}) ||
      !sameDims(v, {batch, kvHeads, keyCount, headDim}) ||
      !sameDims(out, {batch, heads, queries, headDim}))
    return AZR_INVALID("%s: q %s, k %s, v %s and result %s disagree", op,
                       shapeString(q).c_str(), shapeString(k).c_str(),
                       shapeString(v).c_str(), shapeString(out).c_str());
  if (kvHeads <= 0 ? heads != 0 : heads % kvHeads != 0)
    return AZR_INVALID("%s: %lld query heads are not a multiple of %lld kv "
                       "heads",
                       op, (long long)heads, (long long)kvHeads);
  const bool causal = context.attrs->getInt("causal", 0) != 0;
  const float scale = scaleOf(*context.attrs, headDim);
  if (out.numel() == 0)
    return nullptr;
  const int64_t group = heads / kvHeads;
  // Query i sits at position keyCount - queries + i: the chunk ends the
  // sequence, as in a prefill after cached tokens.
  auto visibleEnd = [&](int64_t i) {
    return causal ? std::clamp<int64_t>(keyCount - queries + i + 1, 0, keyCount)
                  : keyCount;
  };
  const float *qData = q.as<const float>(), *kData = k.as<const float>(),
              *vData = v.as<const float>();
  float *outData = out.as<float>();
  const int64_t perTask = headsPerTask(*context.pool, batch * kvHeads, group);
  forEachHeadGroup(*context.pool, batch, heads, perTask, headDim,
                   [&](int64_t b, int64_t firstHead, Scratch &scratch) {
                     const int64_t kvOffset =
                         (b * kvHeads + firstHead / group) * keyCount * headDim;
                     auto tile = [&](int64_t j0, int64_t, Scratch &,
                                     const float *&keys, const float *&values) {
                       keys = kData + kvOffset + j0 * headDim;
                       values = vData + kvOffset + j0 * headDim;
                     };
                     attendGroup(qData, outData, b, heads, firstHead, perTask,
                                 queries, headDim, scale, visibleEnd, tile,
                                 scratch);
                   });
  return nullptr;
}

//===----------------------------------------------------------------------===//
// The paged KV cache's storage
//===----------------------------------------------------------------------===//

/// Stores one head row of `headDim` floats as `dtype` at element `element`
/// of `pool`; returns the scale that decodes it (1 for unscaled types).
float storeRow(const float *row, int64_t headDim, KvDType dtype, void *pool,
               int64_t element) {
  switch (dtype) {
  case KvDType::f32:
    std::memcpy(static_cast<float *>(pool) + element, row,
                size_t(headDim) * sizeof(float));
    return 1.0f;
  case KvDType::f16: {
    uint16_t *dst = static_cast<uint16_t *>(pool) + element;
    for (int64_t c = 0; c < headDim; ++c)
      dst[c] = floatToHalf(row[c]);
    return 1.0f;
  }
  case KvDType::bf16: {
    uint16_t *dst = static_cast<uint16_t *>(pool) + element;
    for (int64_t c = 0; c < headDim; ++c)
      dst[c] = floatToBf16(row[c]);
    return 1.0f;
  }
  case KvDType::i8:
  case KvDType::fp8_e4m3: {
    float amax = 0.0f;
    for (int64_t c = 0; c < headDim; ++c)
      amax = std::max(amax, std::fabs(row[c]));
    const bool isInt = dtype == KvDType::i8;
    // The scale maps the row's largest magnitude onto the format's largest
    // value; an all-zero row keeps scale 1 so decoding never divides.
    const float limit = isInt ? 127.0f : 448.0f;
    const float rowScale = amax > 0.0f ? amax / limit : 1.0f;
    uint8_t *dst = static_cast<uint8_t *>(pool) + element;
    for (int64_t c = 0; c < headDim; ++c) {
      const float scaled = row[c] / rowScale;
      if (isInt) {
        const float q = std::clamp(std::nearbyint(scaled), -127.0f, 127.0f);
        dst[c] = uint8_t(int8_t(q));
      } else {
        dst[c] = floatToE4M3(scaled);
      }
    }
    return rowScale;
  }
  }
  return 1.0f;
}

/// Decodes one stored head row back to floats.
void loadRow(const void *pool, int64_t element, KvDType dtype, float scale,
             int64_t headDim, float *row) {
  switch (dtype) {
  case KvDType::f32:
    std::memcpy(row, static_cast<const float *>(pool) + element,
                size_t(headDim) * sizeof(float));
    return;
  case KvDType::f16: {
    const uint16_t *src = static_cast<const uint16_t *>(pool) + element;
    for (int64_t c = 0; c < headDim; ++c)
      row[c] = halfToFloat(src[c]);
    return;
  }
  case KvDType::bf16: {
    const uint16_t *src = static_cast<const uint16_t *>(pool) + element;
    for (int64_t c = 0; c < headDim; ++c)
      row[c] = bf16ToFloat(src[c]);
    return;
  }
  case KvDType::i8: {
    const int8_t *src = static_cast<const int8_t *>(pool) + element;
    for (int64_t c = 0; c < headDim; ++c)
      row[c] = float(src[c]) * scale;
    return;
  }
  case KvDType::fp8_e4m3: {
    const uint8_t *src = static_cast<const uint8_t *>(pool) + element;
    const float *codes = e4m3Values();
    for (int64_t c = 0; c < headDim; ++c)
      row[c] = codes[src[c]] * scale;
    return;
  }
  }
}

azr_status_t pagedAttentionKernel(const KernelContext &context) {
  const char *op = "paged_attention";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 5, 5, 1));
  const Tensor &q = context.input(0), &kNew = context.input(1),
               &vNew = context.input(2), &blockTable = context.input(3),
               &pastLengths = context.input(4);
  Tensor &out = context.output(0);
  const KvCacheView *cache = context.kvCache;
  if (!cache)
    return AZR_INVALID("%s: no paged KV cache is bound to the session "
                       "(azr_session_set_kv_sequences)",
                       op);
  for (const Tensor *t : {&q, &kNew, &vNew, static_cast<const Tensor *>(&out)})
    if (t->dtype != DType::f32)
      return unsupportedDtype(op, t->dtype);
  if (blockTable.dtype != DType::i32 || pastLengths.dtype != DType::i32)
    return AZR_INVALID("%s: the block table and past lengths must be i32", op);
  const int64_t layer = context.attrs->getInt("layer", -1);
  if (layer < 0 || layer >= cache->layers)
    return AZR_INVALID("%s: layer %lld is outside the cache's %lld layers", op,
                       (long long)layer, (long long)cache->layers);
  if (q.rank != 4)
    return AZR_INVALID("%s: q must be 4-D [batch, heads, seq, head_dim], got "
                       "%s",
                       op, shapeString(q).c_str());
  const int64_t batch = q.dims[0], heads = q.dims[1], queries = q.dims[2],
                headDim = q.dims[3];
  const int64_t kvHeads = cache->kvHeads;
  if (headDim != cache->headDim ||
      !sameDims(kNew, {batch, kvHeads, queries, headDim}) ||
      !sameDims(vNew, {batch, kvHeads, queries, headDim}))
    return AZR_INVALID("%s: q %s, k %s and v %s disagree with the cache's "
                       "%lld kv heads of %lld elements",
                       op, shapeString(q).c_str(), shapeString(kNew).c_str(),
                       shapeString(vNew).c_str(), (long long)kvHeads,
                       (long long)cache->headDim);
  if (!sameDims(out, {batch, heads, queries, headDim}))
    return AZR_INVALID("%s: result %s does not match q %s", op,
                       shapeString(out).c_str(), shapeString(q).c_str());
  if (kvHeads <= 0 || heads % kvHeads != 0)
    return AZR_INVALID("%s: %lld query heads are not a multiple of %lld kv "
                       "heads",
                       op, (long long)heads, (long long)kvHeads);
  if (blockTable.rank != 2 || blockTable.dims[0] != batch ||
      !sameDims(pastLengths, {batch}))
    return AZR_INVALID("%s: block table %s and past lengths %s must be "
                       "[%lld, blocks] and [%lld]",
                       op, shapeString(blockTable).c_str(),
                       shapeString(pastLengths).c_str(), (long long)batch,
                       (long long)batch);
  const int64_t tokensPerBlock = cache->tokensPerBlock;
  const int64_t maxBlocks = blockTable.dims[1];
  const int32_t *table = blockTable.as<const int32_t>();
  const int32_t *past = pastLengths.as<const int32_t>();
  // Every position a row writes or reads must have a block before anything
  // is written: a refused run leaves the cache as it was.
  for (int64_t b = 0; b < batch; ++b) {
    if (past[b] < 0)
      return azr_status_make(AZR_STATUS_OUT_OF_RANGE,
                             "%s: batch row %lld has past length %d", op,
                             (long long)b, past[b]);
    const int64_t length = int64_t(past[b]) + queries;
    if (length > maxBlocks * tokensPerBlock)
      return azr_status_make(
          AZR_STATUS_OUT_OF_RANGE,
          "%s: batch row %lld: %lld past and %lld new tokens exceed the "
          "%lld positions of %lld blocks of %lld",
          op, (long long)b, (long long)past[b], (long long)queries,
          (long long)(maxBlocks * tokensPerBlock), (long long)maxBlocks,
          (long long)tokensPerBlock);
    for (int64_t entry = 0; entry * tokensPerBlock < length; ++entry) {
      const int32_t block = table[b * maxBlocks + entry];
      if (block < 0 || block >= cache->numBlocks)
        return azr_status_make(
            AZR_STATUS_OUT_OF_RANGE,
            "%s: batch row %lld: position %lld has no block (block table "
            "entry %lld is %d, the cache has %lld blocks); reserve tokens "
            "before the run",
            op, (long long)b, (long long)(entry * tokensPerBlock),
            (long long)entry, block, (long long)cache->numBlocks);
    }
  }
  if (out.numel() == 0 && kNew.numel() == 0)
    return nullptr;

  const bool scaled = kvDtypeIsScaled(cache->dtype);
  void *keyPool = cache->keys[layer], *valuePool = cache->values[layer];
  float *keyScales = scaled ? cache->keyScales[layer] : nullptr;
  float *valueScales = scaled ? cache->valueScales[layer] : nullptr;
  // Slot index of position p of kv head h in row b: scales are per slot,
  // elements headDim per slot.
  auto slotOf = [&](int64_t b, int64_t h, int64_t p) {
    const int64_t block = table[b * maxBlocks + p / tokensPerBlock];
    return (block * kvHeads + h) * tokensPerBlock + p % tokensPerBlock;
  };
  const float *kData = kNew.as<const float>(), *vData = vNew.as<const float>();
  // Stores the chunk's rows of kv head h of row b (pair = b * kvHeads + h).
  auto storePair = [&](int64_t pair) {
    const int64_t b = pair / kvHeads, h = pair % kvHeads;
    for (int64_t i = 0; i < queries; ++i) {
      const int64_t slot = slotOf(b, h, past[b] + i);
      const int64_t source = (pair * queries + i) * headDim;
      const float keyScale = storeRow(kData + source, headDim, cache->dtype,
                                      keyPool, slot * headDim);
      const float valueScale = storeRow(vData + source, headDim, cache->dtype,
                                        valuePool, slot * headDim);
      if (scaled) {
        keyScales[slot] = keyScale;
        valueScales[slot] = valueScale;
      }
    }
  };
  const int64_t group = heads / kvHeads;
  const int64_t perTask = headsPerTask(*context.pool, batch * kvHeads, group);
  // A task that owns a whole group stores its kv head's rows itself (one
  // pool dispatch per step, which decode steps notice); split groups store
  // first, in a pass of their own.
  if (perTask != group || out.numel() == 0)
    context.pool->parallelFor(batch * kvHeads, 1,
                              [&](int64_t begin, int64_t end) {
                                for (int64_t pair = begin; pair < end; ++pair)
                                  storePair(pair);
                              });

  if (out.numel() == 0)
    return nullptr;
  const float scale = scaleOf(*context.attrs, headDim);
  const float *qData = q.as<const float>();
  float *outData = out.as<float>();
  forEachHeadGroup(
      *context.pool, batch, heads, perTask, headDim,
      [&](int64_t b, int64_t firstHead, Scratch &scratch) {
        const int64_t h = firstHead / group;
        if (perTask == group)
          storePair(b * kvHeads + h);
        const int64_t rowPast = past[b];
        auto visibleEnd = [&](int64_t i) { return rowPast + i + 1; };
        auto tile = [&](int64_t j0, int64_t j1, Scratch &s, const float *&keys,
                        const float *&values) {
          for (int64_t j = j0; j < j1; ++j) {
            const int64_t slot = slotOf(b, h, j);
            float *keyRow = s.keys.data() + (j - j0) * headDim;
            float *valueRow = s.values.data() + (j - j0) * headDim;
            loadRow(keyPool, slot * headDim, cache->dtype,
                    scaled ? keyScales[slot] : 1.0f, headDim, keyRow);
            loadRow(valuePool, slot * headDim, cache->dtype,
                    scaled ? valueScales[slot] : 1.0f, headDim, valueRow);
          }
          keys = s.keys.data();
          values = s.values.data();
        };
        attendGroup(qData, outData, b, heads, firstHead, perTask, queries,
                    headDim, scale, visibleEnd, tile, scratch);
      });
  return nullptr;
}

} // namespace

void addAttentionKernels(KernelTable &table) {
  table.push_back({"attention", guarded<attentionKernel>});
  table.push_back({"paged_attention", guarded<pagedAttentionKernel>});
}

} // namespace azr::cpu
