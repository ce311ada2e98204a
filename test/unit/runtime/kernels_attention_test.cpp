// attention against a naive double-precision reference with a materialized
// softmax, on awkward shapes; paged_attention against attention over the
// whole history, its past written by earlier paged_attention calls through
// shuffled block tables, for every cache storage type; the stored bytes of
// a hand-computed row; and the refusals that must be statuses.

#include "kernel_test_util.h"

#include "cpu/cast.h"

#include <cmath>
#include <cstring>
#include <numeric>

using namespace azr_test;
using azr::cpu::KvCacheView;
using azr::cpu::KvDType;

namespace {

struct Shape {
  int64_t batch, heads, kvHeads, queries, keys, headDim;
};

/// Softmax(scale * q k^T) v per (batch, head) in double, the scores matrix
/// materialized; query i sits at position keys - queries + i when causal.
std::vector<double> reference(const Shape &c, const std::vector<float> &q,
                              const std::vector<float> &k,
                              const std::vector<float> &v, double scale,
                              bool causal) {
  const int64_t d = c.headDim, group = c.heads / c.kvHeads;
  std::vector<double> out(size_t(c.batch * c.heads * c.queries * d), 0.0);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.queries; ++i) {
        const int64_t visible =
            causal ? std::clamp<int64_t>(c.keys - c.queries + i + 1, 0, c.keys)
                   : c.keys;
        if (visible == 0)
          continue;
        const float *qRow = &q[size_t(((b * c.heads + h) * c.queries + i) * d)];
        const int64_t kv = (b * c.kvHeads + h / group) * c.keys;
        std::vector<double> scores(static_cast<size_t>(visible));
        for (int64_t j = 0; j < visible; ++j) {
          double sum = 0;
          for (int64_t e = 0; e < d; ++e)
            sum += double(qRow[e]) * k[size_t((kv + j) * d + e)];
          scores[size_t(j)] = scale * sum;
        }
        const double top = *std::max_element(scores.begin(), scores.end());
        double total = 0;
        for (double &s : scores)
          total += (s = std::exp(s - top));
        double *o = &out[size_t(((b * c.heads + h) * c.queries + i) * d)];
        for (int64_t j = 0; j < visible; ++j)
          for (int64_t e = 0; e < d; ++e)
            o[e] += scores[size_t(j)] / total * v[size_t((kv + j) * d + e)];
      }
  return out;
}

MapAttrs attentionAttrs(double scale, bool causal) {
  MapAttrs attrs;
  attrs.floats["scale"] = scale;
  attrs.ints["causal"] = causal;
  return attrs;
}

// Outputs are convex combinations of values in [-1, 1], accumulated in f32
// over at most a few hundred keys, each weight within a few ulp (fast exp):
// the error stays within a few hundred ulp of 1, far below 1e-5.
constexpr double kAttentionTolerance = 1e-5;

TEST(CpuAttention, MatchesNaiveReference) {
  const Shape shapes[] = {
      {1, 1, 1, 1, 1, 1},    {1, 2, 2, 1, 9, 7},    {3, 4, 2, 5, 5, 7},
      {1, 4, 1, 3, 17, 64},  {3, 8, 2, 1, 100, 7},  {2, 4, 4, 70, 70, 64},
      {2, 2, 1, 7, 3, 7},    {1, 8, 2, 9, 130, 16}, {3, 2, 1, 1, 1, 64},
      {1, 4, 2, 20, 200, 1}, {2, 6, 3, 65, 65, 5},
  };
  unsigned seed = 1;
  for (const Shape &c : shapes)
    for (bool causal : {false, true}) {
      const Dims qDims = {c.batch, c.heads, c.queries, c.headDim};
      const Dims kDims = {c.batch, c.kvHeads, c.keys, c.headDim};
      std::vector<float> q = randomValues(numel(qDims), seed++, -2, 2);
      std::vector<float> k = randomValues(numel(kDims), seed++, -2, 2);
      std::vector<float> v = randomValues(numel(kDims), seed++);
      std::vector<float> y(q.size(), 99.0f);
      const double scale = 1.0 / std::sqrt(double(c.headDim));
      ASSERT_OK(run("attention", {f32(q, qDims), f32(k, kDims), f32(v, kDims)},
                    {f32(y, qDims)}, attentionAttrs(scale, causal)));
      const std::vector<double> want = reference(c, q, k, v, scale, causal);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], want[i],
                    kAttentionTolerance * std::max(1.0, std::fabs(want[i])))
            << "batch " << c.batch << " heads " << c.heads << "/" << c.kvHeads
            << " s " << c.queries << " t " << c.keys << " d " << c.headDim
            << " causal " << causal << " at " << i;
    }
}

TEST(CpuAttention, CausalRowsWithoutKeysAreZero) {
  const Shape c = {1, 1, 1, 4, 2, 3};
  std::vector<float> q = randomValues(12, 1), k = randomValues(6, 2),
                     v = randomValues(6, 3), y(12, 5.0f);
  ASSERT_OK(
      run("attention",
          {f32(q, {1, 1, 4, 3}), f32(k, {1, 1, 2, 3}), f32(v, {1, 1, 2, 3})},
          {f32(y, {1, 1, 4, 3})}, attentionAttrs(0.5, true)));
  // Queries 0 and 1 sit at positions -2 and -1: nothing to attend.
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(y[size_t(i)], 0.0f) << i;
  const std::vector<double> want = reference(c, q, k, v, 0.5, true);
  for (int i = 6; i < 12; ++i)
    EXPECT_NEAR(y[size_t(i)], want[size_t(i)], kAttentionTolerance);
}

TEST(CpuAttention, RefusesHeadsNotAMultipleOfKvHeads) {
  std::vector<float> q(3 * 2 * 4), k(2 * 2 * 4), v(2 * 2 * 4), y(3 * 2 * 4);
  std::string error =
      run("attention",
          {f32(q, {1, 3, 2, 4}), f32(k, {1, 2, 2, 4}), f32(v, {1, 2, 2, 4})},
          {f32(y, {1, 3, 2, 4})}, attentionAttrs(1.0, false));
  EXPECT_TRUE(contains(error, "INVALID_ARGUMENT")) << error;
  EXPECT_TRUE(contains(error, "not a multiple")) << error;
}

//===----------------------------------------------------------------------===//
// paged_attention
//===----------------------------------------------------------------------===//

/// Pools for a KvCacheView, held in vectors.
struct TestCache {
  KvCacheView view;
  std::vector<std::vector<uint8_t>> keyBytes, valueBytes;
  std::vector<std::vector<float>> keyScaleRows, valueScaleRows;
  std::vector<void *> keys, values;
  std::vector<float *> keyScales, valueScales;

  TestCache(KvDType dtype, int64_t layers, int64_t kvHeads, int64_t headDim,
            int64_t tokensPerBlock, int64_t blocks) {
    view.dtype = dtype;
    view.layers = layers;
    view.kvHeads = kvHeads;
    view.headDim = headDim;
    view.tokensPerBlock = tokensPerBlock;
    view.numBlocks = blocks;
    const int64_t slots = blocks * kvHeads * tokensPerBlock;
    const size_t bytes = size_t(slots * headDim) * azr::cpu::kvDtypeSize(dtype);
    for (int64_t l = 0; l < layers; ++l) {
      // A recognizable fill: a run must not depend on it.
      keyBytes.emplace_back(bytes, uint8_t(0x5A));
      valueBytes.emplace_back(bytes, uint8_t(0xA5));
      keyScaleRows.emplace_back(size_t(slots), 3.0f);
      valueScaleRows.emplace_back(size_t(slots), 3.0f);
    }
    for (int64_t l = 0; l < layers; ++l) {
      keys.push_back(keyBytes[size_t(l)].data());
      values.push_back(valueBytes[size_t(l)].data());
      keyScales.push_back(keyScaleRows[size_t(l)].data());
      valueScales.push_back(valueScaleRows[size_t(l)].data());
    }
    view.keys = keys.data();
    view.values = values.data();
    if (azr::cpu::kvDtypeIsScaled(dtype)) {
      view.keyScales = keyScales.data();
      view.valueScales = valueScales.data();
    }
  }

  int64_t slot(int32_t block, int64_t head, int64_t p) const {
    return (int64_t(block) * view.kvHeads + head) * view.tokensPerBlock +
           p % view.tokensPerBlock;
  }

  /// Element e of the stored row at `slot`, decoded as the kernel does.
  double decoded(bool key, int64_t layer, int64_t slot, int64_t e) const {
    const std::vector<uint8_t> &pool =
        (key ? keyBytes : valueBytes)[size_t(layer)];
    const size_t element = size_t(slot * view.headDim + e);
    const float scale =
        (key ? keyScaleRows : valueScaleRows)[size_t(layer)][size_t(slot)];
    uint16_t half;
    switch (view.dtype) {
    case KvDType::f32: {
      float f;
      std::memcpy(&f, &pool[element * 4], 4);
      return f;
    }
    case KvDType::f16:
      std::memcpy(&half, &pool[element * 2], 2);
      return azr::cpu::halfToFloat(half);
    case KvDType::bf16:
      std::memcpy(&half, &pool[element * 2], 2);
      return azr::cpu::bf16ToFloat(half);
    case KvDType::i8:
      return double(int8_t(pool[element])) * scale;
    case KvDType::fp8_e4m3:
      return double(azr::cpu::e4m3ToFloat(pool[element])) * scale;
    }
    return 0;
  }
};

/// A bound on |decoded - x| for an element x of a row whose largest
/// magnitude is `amax`, from each storage's rounding: half an ulp relative
/// (f16 2^-11, bf16 2^-8, E4M3 2^-4) plus half the smallest subnormal step
/// for values below the normal range; i8 rounds to a multiple of its scale
/// amax / 127, so within half of it.
double storageBound(KvDType dtype, double x, double amax) {
  const double a = std::fabs(x);
  switch (dtype) {
  case KvDType::f32:
    return 0;
  case KvDType::f16:
    return a * 0x1p-11 + 0x1p-25;
  case KvDType::bf16:
    return a * 0x1p-8 + 0x1p-134;
  // The f32 arithmetic of scaling and decoding adds a few ulp of amax.
  case KvDType::i8:
    return amax / 127.0 / 2.0 + amax * 0x1p-21;
  case KvDType::fp8_e4m3:
    return a * 0x1p-4 + amax / 448.0 * 0x1p-10 + amax * 0x1p-21;
  }
  return 0;
}

MapAttrs pagedAttrs(int64_t layer, double scale) {
  MapAttrs attrs;
  attrs.ints["layer"] = layer;
  attrs.floats["scale"] = scale;
  return attrs;
}

/// Sequences of different lengths written into a TestCache step by step,
/// each step checked against attention over the history so far.
struct PagedScenario {
  KvDType dtype;
  int64_t tokensPerBlock;
  static constexpr int64_t kLayers = 2, kHeads = 4, kKvHeads = 2, kHeadDim = 8;

  void runAll() {
    const int64_t rows = 3;
    const std::vector<int64_t> prefill = {5, 1, 12};
    const std::vector<int64_t> steps = {1, 1, 3, 1}; // batched, after prefill
    const int64_t total =
        *std::max_element(prefill.begin(), prefill.end()) +
        std::accumulate(steps.begin(), steps.end(), int64_t(0));
    const int64_t maxBlocks = (total + tokensPerBlock - 1) / tokensPerBlock + 1;
    TestCache cache(dtype, kLayers, kKvHeads, kHeadDim, tokensPerBlock,
                    rows * maxBlocks + 2);
    // Non-contiguous tables: a shuffled permutation of the block ids, the
    // entries past what a row needs left at -1.
    std::vector<int32_t> ids(size_t(cache.view.numBlocks));
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(),
                 std::mt19937(unsigned(7 + tokensPerBlock)));
    std::vector<int32_t> table(size_t(rows * maxBlocks), -1);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t length =
          prefill[size_t(r)] +
          std::accumulate(steps.begin(), steps.end(), int64_t(0));
      for (int64_t e = 0; e * tokensPerBlock < length; ++e)
        table[size_t(r * maxBlocks + e)] = ids[size_t(r * maxBlocks + e)];
    }
    // Each row's full history per layer, [kv heads, position, head dim].
    using History = std::vector<std::vector<std::vector<float>>>;
    History keys(static_cast<size_t>(rows),
                 std::vector<std::vector<float>>(kLayers));
    History values = keys;
    std::vector<int32_t> past(size_t(rows), 0);
    unsigned seed = 100;
    auto step = [&](const std::vector<int64_t> &batchRows, int64_t s) {
      const int64_t batch = int64_t(batchRows.size());
      std::vector<int32_t> stepTable, stepPast;
      for (int64_t r : batchRows) {
        stepTable.insert(stepTable.end(), table.begin() + r * maxBlocks,
                         table.begin() + (r + 1) * maxBlocks);
        stepPast.push_back(past[size_t(r)]);
      }
      for (int64_t layer = 0; layer < kLayers; ++layer) {
        const Dims qDims = {batch, kHeads, s, kHeadDim};
        const Dims kvDims = {batch, kKvHeads, s, kHeadDim};
        std::vector<float> q = randomValues(numel(qDims), seed++, -2, 2);
        std::vector<float> k = randomValues(numel(kvDims), seed++, -2, 2);
        std::vector<float> v = randomValues(numel(kvDims), seed++);
        std::vector<float> y(q.size(), 99.0f);
        const double scale = 1.0 / std::sqrt(double(kHeadDim));
        ASSERT_OK(run("paged_attention",
                      {f32(q, qDims), f32(k, kvDims), f32(v, kvDims),
                       view(stepTable, DType::i32, {batch, maxBlocks}),
                       view(stepPast, DType::i32, {batch})},
                      {f32(y, qDims)}, pagedAttrs(layer, scale), nullptr,
                      &cache.view));
        for (int64_t bi = 0; bi < batch; ++bi) {
          const int64_t r = batchRows[size_t(bi)];
          const int64_t t = past[size_t(r)] + s;
          // Append the new tokens to the row's history.
          auto append = [&](std::vector<float> &history,
                            const std::vector<float> &fresh) {
            std::vector<float> grown(size_t(kKvHeads * t * kHeadDim));
            for (int64_t h = 0; h < kKvHeads; ++h)
              for (int64_t p = 0; p < t; ++p)
                for (int64_t e = 0; e < kHeadDim; ++e)
                  grown[size_t((h * t + p) * kHeadDim + e)] =
                      p < t - s
                          ? history[size_t((h * (t - s) + p) * kHeadDim + e)]
                          : fresh[size_t(
                                ((bi * kKvHeads + h) * s + p - (t - s)) *
                                    kHeadDim +
                                e)];
            history = std::move(grown);
          };
          append(keys[size_t(r)][size_t(layer)], k);
          append(values[size_t(r)][size_t(layer)], v);
          check(cache, table, maxBlocks, r, layer, bi, s, t, q, y, scale,
                keys[size_t(r)][size_t(layer)],
                values[size_t(r)][size_t(layer)]);
          if (::testing::Test::HasFatalFailure())
            return;
        }
      }
      for (int64_t r : batchRows)
        past[size_t(r)] += int32_t(s);
    };
    for (int64_t r = 0; r < rows; ++r) {
      step({r}, prefill[size_t(r)]);
      if (::testing::Test::HasFatalFailure())
        return;
    }
    for (int64_t s : steps) {
      step({0, 1, 2}, s);
      if (::testing::Test::HasFatalFailure())
        return;
    }
  }

  /// Row `bi` of a step's output against (a) a double reference over the
  /// history as the cache stores it, read back from the pools: the kernel
  /// must compute attention over exactly what it stored; (b) the history
  /// itself, within the error the storage type's rounding allows.
  void check(const TestCache &cache, const std::vector<int32_t> &table,
             int64_t maxBlocks, int64_t r, int64_t layer, int64_t bi, int64_t s,
             int64_t t, const std::vector<float> &q,
             const std::vector<float> &y, double scale,
             const std::vector<float> &keys, const std::vector<float> &values) {
    const Shape one = {1, kHeads, kKvHeads, s, t, kHeadDim};
    std::vector<float> storedKeys(keys.size()), storedValues(values.size());
    std::vector<double> keyError(keys.size()), valueError(values.size());
    for (int64_t h = 0; h < kKvHeads; ++h)
      for (int64_t p = 0; p < t; ++p) {
        const int32_t block = table[size_t(r * maxBlocks + p / tokensPerBlock)];
        const int64_t slot = cache.slot(block, h, p);
        double keyMax = 0, valueMax = 0;
        for (int64_t e = 0; e < kHeadDim; ++e) {
          const size_t at = size_t((h * t + p) * kHeadDim + e);
          keyMax = std::max(keyMax, std::fabs(double(keys[at])));
          valueMax = std::max(valueMax, std::fabs(double(values[at])));
        }
        for (int64_t e = 0; e < kHeadDim; ++e) {
          const size_t at = size_t((h * t + p) * kHeadDim + e);
          storedKeys[at] = float(cache.decoded(true, layer, slot, e));
          storedValues[at] = float(cache.decoded(false, layer, slot, e));
          keyError[at] = storageBound(dtype, keys[at], keyMax);
          valueError[at] = storageBound(dtype, values[at], valueMax);
          ASSERT_LE(std::fabs(storedKeys[at] - keys[at]), keyError[at])
              << "row " << r << " position " << p << " element " << e;
          ASSERT_LE(std::fabs(storedValues[at] - values[at]), valueError[at])
              << "row " << r << " position " << p << " element " << e;
        }
      }
    std::vector<float> rowQ(q.begin() + bi * kHeads * s * kHeadDim,
                            q.begin() + (bi + 1) * kHeads * s * kHeadDim);
    const std::vector<double> exact =
        reference(one, rowQ, storedKeys, storedValues, scale, true);
    const std::vector<double> ideal =
        reference(one, rowQ, keys, values, scale, true);
    for (int64_t h = 0; h < kHeads; ++h)
      for (int64_t i = 0; i < s; ++i) {
        // Scores move by at most delta = scale * max_j sum_e |q_e| * keyError
        // and values by valueError: the softmax weights then move by at
        // most exp(2 delta) - 1 in L1 norm, and the output by that times
        // max |v| (1) plus the largest value error.
        const int64_t kvh = h / (kHeads / kKvHeads);
        double delta = 0, worstValue = 0;
        for (int64_t p = 0; p <= t - s + i; ++p) {
          double shift = 0;
          for (int64_t e = 0; e < kHeadDim; ++e) {
            const size_t at = size_t((kvh * t + p) * kHeadDim + e);
            shift += std::fabs(rowQ[size_t((h * s + i) * kHeadDim + e)]) *
                     keyError[at];
            worstValue = std::max(worstValue, valueError[at]);
          }
          delta = std::max(delta, scale * shift);
        }
        const double bound = std::expm1(2 * delta) + worstValue;
        for (int64_t e = 0; e < kHeadDim; ++e) {
          const size_t at = size_t((h * s + i) * kHeadDim + e);
          const float got = y[size_t(bi * kHeads * s * kHeadDim) + at];
          ASSERT_NEAR(got, exact[at], kAttentionTolerance)
              << azr::cpu::kvDtypeName(dtype) << " tokens/block "
              << tokensPerBlock << " row " << r << " layer " << layer
              << " head " << h << " query " << i << " of " << s << " past "
              << t - s;
          ASSERT_NEAR(got, ideal[at], bound + kAttentionTolerance)
              << azr::cpu::kvDtypeName(dtype) << " row " << r;
        }
      }
  }
};

TEST(CpuPagedAttention, F32CacheMatchesAttentionOverTheHistory) {
  for (int64_t tokensPerBlock : {1, 3, 16})
    PagedScenario{KvDType::f32, tokensPerBlock}.runAll();
}

TEST(CpuPagedAttention, HalfCachesStayWithinTheirRounding) {
  for (KvDType dtype : {KvDType::f16, KvDType::bf16})
    for (int64_t tokensPerBlock : {1, 3, 16})
      PagedScenario{dtype, tokensPerBlock}.runAll();
}

TEST(CpuPagedAttention, ScaledCachesStayWithinTheirRounding) {
  for (KvDType dtype : {KvDType::i8, KvDType::fp8_e4m3})
    for (int64_t tokensPerBlock : {1, 3, 16})
      PagedScenario{dtype, tokensPerBlock}.runAll();
}

TEST(CpuPagedAttention, F32CacheEqualsTheAttentionKernel) {
  // One prefill of 7 then one decode step, compared with `attention` on the
  // concatenated keys: the same tiles in the same order, so equal results.
  const int64_t heads = 2, kvHeads = 1, d = 5, tpb = 4, maxBlocks = 2;
  TestCache cache(KvDType::f32, 1, kvHeads, d, tpb, 4);
  std::vector<int32_t> table = {3, 1}, past = {0};
  std::vector<float> kAll = randomValues(8 * d, 1),
                     vAll = randomValues(8 * d, 2);
  std::vector<float> q1 = randomValues(heads * 7 * d, 3), y1(q1.size());
  std::vector<float> k1(kAll.begin(), kAll.begin() + 7 * d),
      v1(vAll.begin(), vAll.begin() + 7 * d);
  ASSERT_OK(run(
      "paged_attention",
      {f32(q1, {1, heads, 7, d}), f32(k1, {1, kvHeads, 7, d}),
       f32(v1, {1, kvHeads, 7, d}), view(table, DType::i32, {1, maxBlocks}),
       view(past, DType::i32, {1})},
      {f32(y1, {1, heads, 7, d})}, pagedAttrs(0, 0.4), nullptr, &cache.view));
  past[0] = 7;
  std::vector<float> q2 = randomValues(heads * d, 4), y2(q2.size());
  std::vector<float> k2(kAll.begin() + 7 * d, kAll.end()),
      v2(vAll.begin() + 7 * d, vAll.end());
  ASSERT_OK(run(
      "paged_attention",
      {f32(q2, {1, heads, 1, d}), f32(k2, {1, kvHeads, 1, d}),
       f32(v2, {1, kvHeads, 1, d}), view(table, DType::i32, {1, maxBlocks}),
       view(past, DType::i32, {1})},
      {f32(y2, {1, heads, 1, d})}, pagedAttrs(0, 0.4), nullptr, &cache.view));
  std::vector<float> want1(y1.size()), want2(y2.size());
  ASSERT_OK(run("attention",
                {f32(q1, {1, heads, 7, d}), f32(k1, {1, kvHeads, 7, d}),
                 f32(v1, {1, kvHeads, 7, d})},
                {f32(want1, {1, heads, 7, d})}, attentionAttrs(0.4, true)));
  ASSERT_OK(run("attention",
                {f32(q2, {1, heads, 1, d}), f32(kAll, {1, kvHeads, 8, d}),
                 f32(vAll, {1, kvHeads, 8, d})},
                {f32(want2, {1, heads, 1, d})}, attentionAttrs(0.4, true)));
  EXPECT_EQ(y1, want1);
  EXPECT_EQ(y2, want2);
}

TEST(CpuPagedAttention, StoresHandComputedBytes) {
  // One token, one kv head of 3 elements, into block 1 slot 0. Keys and
  // values both [0.9, -2, 0.5]: amax 2.
  const std::vector<float> row = {0.9f, -2.0f, 0.5f};
  std::vector<int32_t> table = {1}, past = {0};
  {
    // i8: scale 2/127; 0.9 * 63.5 = 57.15 -> 57, -2 -> -127, 31.75 -> 32.
    TestCache cache(KvDType::i8, 1, 1, 3, 2, 2);
    std::vector<float> q = {1, 0, 0}, k = row, v = row, y(3);
    ASSERT_OK(
        run("paged_attention",
            {f32(q, {1, 1, 1, 3}), f32(k, {1, 1, 1, 3}), f32(v, {1, 1, 1, 3}),
             view(table, DType::i32, {1, 1}), view(past, DType::i32, {1})},
            {f32(y, {1, 1, 1, 3})}, pagedAttrs(0, 1.0), nullptr, &cache.view));
    const int8_t want[3] = {57, -127, 32};
    const int64_t slot = cache.slot(1, 0, 0);
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(int8_t(cache.keyBytes[0][size_t(slot * 3 + e)]), want[e]);
      EXPECT_EQ(int8_t(cache.valueBytes[0][size_t(slot * 3 + e)]), want[e]);
    }
    EXPECT_EQ(cache.keyScaleRows[0][size_t(slot)], 2.0f / 127.0f);
    EXPECT_EQ(cache.valueScaleRows[0][size_t(slot)], 2.0f / 127.0f);
    // One visible token: the output is its value as stored.
    for (int e = 0; e < 3; ++e)
      EXPECT_FLOAT_EQ(y[size_t(e)], float(want[e]) * (2.0f / 127.0f));
    // Block 0 was not written.
    EXPECT_EQ(cache.keyBytes[0][0], uint8_t(0x5A));
  }
  {
    // fp8: [0.5, -3, 1.25], scale 3/448. 0.5 / scale = 74.67 -> 72
    // (exponent 6, mantissa 1: 0x69); -3 -> -448 (0xFE); 186.67 -> 192
    // (exponent 7, mantissa 4: 0x74).
    TestCache cache(KvDType::fp8_e4m3, 1, 1, 3, 2, 2);
    std::vector<float> q = {1, 0, 0}, k = {0.5f, -3.0f, 1.25f}, v = k, y(3);
    ASSERT_OK(
        run("paged_attention",
            {f32(q, {1, 1, 1, 3}), f32(k, {1, 1, 1, 3}), f32(v, {1, 1, 1, 3}),
             view(table, DType::i32, {1, 1}), view(past, DType::i32, {1})},
            {f32(y, {1, 1, 1, 3})}, pagedAttrs(0, 1.0), nullptr, &cache.view));
    const uint8_t want[3] = {0x69, 0xFE, 0x74};
    const int64_t slot = cache.slot(1, 0, 0);
    for (int e = 0; e < 3; ++e)
      EXPECT_EQ(cache.keyBytes[0][size_t(slot * 3 + e)], want[e]) << e;
    EXPECT_EQ(cache.keyScaleRows[0][size_t(slot)], 3.0f / 448.0f);
    EXPECT_FLOAT_EQ(y[0], 72.0f * (3.0f / 448.0f));
  }
}

/// Runs one paged_attention step of `s` tokens for batch rows with
/// `past` lengths through `table`; returns run()'s text.
std::string pagedStep(const KvCacheView *cache, std::vector<int32_t> table,
                      std::vector<int32_t> past, int64_t s, int64_t layer = 0) {
  const int64_t batch = int64_t(past.size()), d = 4;
  const int64_t maxBlocks = int64_t(table.size()) / batch;
  std::vector<float> q(size_t(batch * 2 * s * d), 0.5f),
      k(size_t(batch * s * d), 0.25f), v = k, y(q.size());
  return run(
      "paged_attention",
      {f32(q, {batch, 2, s, d}), f32(k, {batch, 1, s, d}),
       f32(v, {batch, 1, s, d}), view(table, DType::i32, {batch, maxBlocks}),
       view(past, DType::i32, {batch})},
      {f32(y, {batch, 2, s, d})}, pagedAttrs(layer, 1.0), nullptr, cache);
}

TEST(CpuPagedAttention, RefusesWithStatuses) {
  TestCache cache(KvDType::f32, 1, 1, 4, 4, 8);
  std::string error = pagedStep(nullptr, {0, 1}, {0}, 2);
  EXPECT_TRUE(contains(error, "INVALID_ARGUMENT")) << error;
  EXPECT_TRUE(contains(error, "azr_session_set_kv_sequences")) << error;

  const std::vector<uint8_t> before = cache.keyBytes[0];
  // Row 1 has one block; positions 4.. of its 6 need a second.
  error = pagedStep(&cache.view, {0, 1, 2, -1}, {3, 5}, 1);
  EXPECT_TRUE(contains(error, "OUT_OF_RANGE")) << error;
  EXPECT_TRUE(contains(error, "batch row 1: position 4 has no block (block "
                              "table entry 1 is -1"))
      << error;
  EXPECT_EQ(cache.keyBytes[0], before) << "a refused run wrote the cache";

  error = pagedStep(&cache.view, {0, 9}, {3}, 2);
  EXPECT_TRUE(contains(error, "entry 1 is 9")) << error;

  error = pagedStep(&cache.view, {0, 1}, {7}, 2);
  EXPECT_TRUE(contains(error, "OUT_OF_RANGE")) << error;
  EXPECT_TRUE(contains(error, "exceed")) << error;

  error = pagedStep(&cache.view, {0, 1}, {-1}, 1);
  EXPECT_TRUE(contains(error, "OUT_OF_RANGE")) << error;

  error = pagedStep(&cache.view, {0, 1}, {0}, 1, /*layer=*/1);
  EXPECT_TRUE(contains(error, "layer 1")) << error;

  TestCache wide(KvDType::f32, 1, 1, 8, 4, 8); // head_dim 8, not 4
  error = pagedStep(&wide.view, {0, 1}, {0}, 1);
  EXPECT_TRUE(contains(error, "INVALID_ARGUMENT")) << error;
}

TEST(CastE4M3, EncodesEveryCodeAndRoundsLikeTheGrid) {
  for (int code = 0; code < 256; ++code) {
    if ((code & 0x7F) == 0x7F)
      continue; // NaN
    const float value = azr::cpu::e4m3ToFloat(uint8_t(code));
    if (code == 0x80)
      continue; // -0 encodes as itself but compares equal to 0
    EXPECT_EQ(azr::cpu::floatToE4M3(value), code) << value;
  }
  EXPECT_EQ(azr::cpu::floatToE4M3(1e6f), 0x7E);
  EXPECT_EQ(azr::cpu::floatToE4M3(-500.0f), 0xFE);
  EXPECT_EQ(azr::cpu::floatToE4M3(NAN) & 0x7F, 0x7F);
  // Ties go to the even code: 1 + 1/16 lies between 1 (0x38) and 1.125.
  EXPECT_EQ(azr::cpu::floatToE4M3(1.0625f), 0x38);
  EXPECT_EQ(azr::cpu::floatToE4M3(1.1875f), 0x3A);
  // Subnormal tie: 2^-10 lies between 0 and 2^-9.
  EXPECT_EQ(azr::cpu::floatToE4M3(0x1p-10f), 0x00);
  EXPECT_EQ(azr::cpu::floatToE4M3(0x1.8p-9f), 0x02);
  // Every float in a range lands on the nearest code.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-460.0f, 460.0f);
  const float *values = azr::cpu::e4m3Values();
  for (int n = 0; n < 20000; ++n) {
    const float x = dist(rng) * (n % 2 ? 1.0f : 1e-3f);
    const float got = values[azr::cpu::floatToE4M3(x)];
    const float clamped = std::clamp(x, -448.0f, 448.0f);
    for (int code = 0; code < 256; ++code)
      if (!std::isnan(values[code]))
        ASSERT_LE(std::fabs(got - clamped), std::fabs(values[code] - clamped))
            << x;
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// linear_attention
//===----------------------------------------------------------------------===//

namespace {

/// Linear attention written as attention instead of a recurrence: with a
/// per-head decay g, out_t = scale * sum_{s <= t} exp(g_{s+1} + ... + g_t)
/// (q_t . k_s) v_s, summed in double. The kernel never forms these
/// pairwise products, so the two share no arithmetic.
std::vector<double> linearAttentionAsAttention(
    const std::vector<float> &q, const std::vector<float> &k,
    const std::vector<float> &v, const std::vector<float> *decay, int64_t B,
    int64_t T, int64_t Hq, int64_t Hkv, int64_t dk, int64_t dv, double scale) {
  std::vector<double> out(size_t(B * T * Hq * dv), 0.0);
  const int64_t group = Hq / Hkv;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t s = 0; s <= t; ++s) {
          const int64_t kv = h / group;
          double weight = 0.0, logDecay = 0.0;
          for (int64_t d = 0; d < dk; ++d)
            weight += double(q[((b * T + t) * Hq + h) * dk + d]) *
                      k[((b * T + s) * Hkv + kv) * dk + d];
          for (int64_t r = s + 1; decay && r <= t; ++r)
            logDecay += (*decay)[(b * T + r) * Hkv + kv];
          weight *= scale * std::exp(logDecay);
          for (int64_t m = 0; m < dv; ++m)
            out[((b * T + t) * Hq + h) * dv + m] +=
                weight * v[((b * T + s) * Hkv + kv) * dv + m];
        }
  return out;
}

} // namespace

TEST(CpuLinearAttention, RecurrenceEqualsAttentionFormWithGroupsAndDecay) {
  const int64_t B = 2, T = 5, Hq = 4, Hkv = 2, dk = 3, dv = 4;
  std::vector<float> q(B * T * Hq * dk), k(B * T * Hkv * dk),
      v(B * T * Hkv * dv), decay(B * T * Hkv);
  q = randomValues<float>(int64_t(q.size()), 1);
  k = randomValues<float>(int64_t(k.size()), 2);
  v = randomValues<float>(int64_t(v.size()), 3);
  decay = randomValues<float>(int64_t(decay.size()), 4);
  for (float &g : decay)
    g = -std::fabs(g); // a decay factor exp(g) in (0, 1]
  for (bool gated : {false, true}) {
    SCOPED_TRACE(gated ? "gated" : "linear");
    std::vector<float> out(B * T * Hq * dv), state(B * Hkv * dk * dv);
    MapAttrs attrs;
    attrs.ints["q_num_heads"] = Hq;
    attrs.ints["kv_num_heads"] = Hkv;
    attrs.floats["scale"] = 0.5;
    std::vector<float> none;
    std::vector<Tensor> inputs = {f32(q, {B, T, Hq * dk}),
                                  f32(k, {B, T, Hkv * dk}),
                                  f32(v, {B, T, Hkv * dv}),
                                  f32(none, {0}),
                                  gated ? f32(decay, {B, T, Hkv})
                                        : f32(none, {0}),
                                  f32(none, {0})};
    ASSERT_OK(run("linear_attention", inputs,
                  {f32(out, {B, T, Hq * dv}), f32(state, {B, Hkv, dk, dv})},
                  attrs));
    std::vector<double> want = linearAttentionAsAttention(
        q, k, v, gated ? &decay : nullptr, B, T, Hq, Hkv, dk, dv, 0.5);
    // f32 sums of at most T * dk = 15 products of values in [-1, 1]: a few
    // f32 ulps of the magnitudes involved.
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], want[i], 1e-5) << i;
  }
}

TEST(CpuLinearAttention, StateCarriesAcrossCallsAndDeltaRuleRecallsValues) {
  // Prefill of T tokens equals T one-token decode steps through the state.
  const int64_t B = 1, T = 4, H = 2, dk = 4, dv = 2;
  std::vector<float> q(B * T * H * dk), k(B * T * H * dk), v(B * T * H * dv),
      beta(B * T * H, 0.75f);
  q = randomValues<float>(int64_t(q.size()), 5);
  k = randomValues<float>(int64_t(k.size()), 6);
  v = randomValues<float>(int64_t(v.size()), 7);
  MapAttrs attrs;
  attrs.ints["q_num_heads"] = H;
  attrs.ints["kv_num_heads"] = H;
  attrs.floats["scale"] = 1.0;
  std::vector<float> none, whole(B * T * H * dv), state(B * H * dk * dv);
  ASSERT_OK(run(
      "linear_attention",
      {f32(q, {B, T, H * dk}), f32(k, {B, T, H * dk}), f32(v, {B, T, H * dv}),
       f32(none, {0}), f32(none, {0}), f32(beta, {B, T, H})},
      {f32(whole, {B, T, H * dv}), f32(state, {B, H, dk, dv})}, attrs));
  std::vector<float> carried(B * H * dk * dv, 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    auto row = [&](std::vector<float> &x, int64_t width) {
      return std::vector<float>(x.begin() + t * width,
                                x.begin() + (t + 1) * width);
    };
    std::vector<float> qt = row(q, H * dk), kt = row(k, H * dk),
                       vt = row(v, H * dv), bt = row(beta, H);
    std::vector<float> out(H * dv), next(carried.size());
    ASSERT_OK(run("linear_attention",
                  {f32(qt, {1, 1, H * dk}), f32(kt, {1, 1, H * dk}),
                   f32(vt, {1, 1, H * dv}), f32(carried, {B, H, dk, dv}),
                   f32(none, {0}), f32(bt, {1, 1, H})},
                  {f32(out, {1, 1, H * dv}), f32(next, {B, H, dk, dv})},
                  attrs));
    for (int64_t i = 0; i < H * dv; ++i)
      EXPECT_FLOAT_EQ(out[i], whole[t * H * dv + i]); // same operations
    carried = next;
  }
  EXPECT_EQ(carried, state);
  // The delta rule with beta = 1 stores v exactly for a unit key: reading
  // the state back with that key returns v.
  std::vector<float> unit = {1, 0, 0, 0}, value = {0.25f, -2.0f}, one = {1.0f};
  std::vector<float> out(2), fresh(dk * dv);
  attrs.ints["q_num_heads"] = 1;
  attrs.ints["kv_num_heads"] = 1;
  ASSERT_OK(
      run("linear_attention",
          {f32(unit, {1, 1, dk}), f32(unit, {1, 1, dk}), f32(value, {1, 1, dv}),
           f32(none, {0}), f32(none, {0}), f32(one, {1, 1, 1})},
          {f32(out, {1, 1, dv}), f32(fresh, {1, 1, dk, dv})}, attrs));
  EXPECT_EQ(out, value);
}

TEST(CpuLinearAttention, RefusesShapesThatDoNotAgree) {
  std::vector<float> q(24), k(24), v(24), out(24), state(36), none;
  MapAttrs attrs;
  attrs.ints["q_num_heads"] = 2;
  attrs.ints["kv_num_heads"] = 2;
  // key's heads are 4 wide, the state says 3.
  EXPECT_NE(run("linear_attention",
                {f32(q, {1, 4, 6}), f32(k, {1, 3, 8}), f32(v, {1, 4, 6}),
                 f32(none, {0}), f32(none, {0}), f32(none, {0})},
                {f32(out, {1, 4, 6}), f32(state, {1, 2, 3, 6})}, attrs),
            "");
}
