// rotary_embedding against a naive reference computed in double: both
// layouts, interleaved and half-split pairs, full and partial rotation,
// per-batch and shared angles, f32 and f16.

#include "kernel_test_util.h"

#include "cpu/cast.h"

#include <cmath>

using namespace azr_test;

namespace {

struct RotaryCase {
  int64_t batch, seq, heads, head, half, cosBatch;
  bool interleaved, headsFirst;
};

/// The expected output, indexing the input by (b, s, n, h) in either layout.
std::vector<double> reference(const RotaryCase &c, const std::vector<float> &x,
                              const std::vector<float> &cosv,
                              const std::vector<float> &sinv) {
  std::vector<double> y(x.begin(), x.end());
  auto at = [&](int64_t b, int64_t s, int64_t n, int64_t h) {
    return c.headsFirst ? ((b * c.heads + n) * c.seq + s) * c.head + h
                        : ((b * c.seq + s) * c.heads + n) * c.head + h;
  };
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t s = 0; s < c.seq; ++s)
      for (int64_t n = 0; n < c.heads; ++n)
        for (int64_t i = 0; i < c.half; ++i) {
          const int64_t a =
              ((c.cosBatch == 1 ? 0 : b) * c.seq + s) * c.half + i;
          const int64_t i1 = c.interleaved ? 2 * i : i;
          const int64_t i2 = c.interleaved ? 2 * i + 1 : i + c.half;
          const double x1 = x[at(b, s, n, i1)], x2 = x[at(b, s, n, i2)];
          y[at(b, s, n, i1)] = x1 * cosv[a] - x2 * sinv[a];
          y[at(b, s, n, i2)] = x1 * sinv[a] + x2 * cosv[a];
        }
  return y;
}

Dims inputDims(const RotaryCase &c) {
  return c.headsFirst ? Dims{c.batch, c.heads, c.seq, c.head}
                      : Dims{c.batch, c.seq, c.heads, c.head};
}

MapAttrs attrsOf(const RotaryCase &c) {
  MapAttrs attrs;
  attrs.ints["interleaved"] = c.interleaved;
  attrs.ints["heads_first"] = c.headsFirst;
  return attrs;
}

const RotaryCase kCases[] = {
    {2, 3, 4, 8, 4, 1, false, false},  {2, 3, 4, 8, 4, 2, true, false},
    {2, 5, 3, 8, 4, 2, false, true},   {1, 4, 2, 16, 4, 1, true, true},
    {3, 2, 2, 10, 3, 3, false, false}, {2, 1, 3, 12, 2, 1, true, false},
};

TEST(CpuRotary, MatchesNaiveReferenceF32) {
  unsigned seed = 1;
  for (const RotaryCase &c : kCases) {
    const Dims dims = inputDims(c), angleDims = {c.cosBatch, c.seq, c.half};
    std::vector<float> x = randomValues(numel(dims), seed++);
    std::vector<float> cosv = randomValues(numel(angleDims), seed++);
    std::vector<float> sinv = randomValues(numel(angleDims), seed++);
    std::vector<float> y(x.size(), -7.0f);
    ASSERT_OK(run("rotary_embedding",
                  {f32(x, dims), f32(cosv, angleDims), f32(sinv, angleDims)},
                  {f32(y, dims)}, attrsOf(c)));
    std::vector<double> want = reference(c, x, cosv, sinv);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], want[i], 1e-6) << "case head " << c.head << " at " << i;
  }
}

TEST(CpuRotary, F16ComputesInFloat) {
  const RotaryCase c = {2, 3, 2, 8, 3, 2, true, false};
  const Dims dims = inputDims(c), angleDims = {c.cosBatch, c.seq, c.half};
  auto toHalf = [](std::vector<float> &v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      h[i] = azr::cpu::floatToHalf(v[i]);
      v[i] = azr::cpu::halfToFloat(h[i]); // the reference sees the f16 values
    }
    return h;
  };
  std::vector<float> x = randomValues(numel(dims), 11);
  std::vector<float> cosv = randomValues(numel(angleDims), 12);
  std::vector<float> sinv = randomValues(numel(angleDims), 13);
  std::vector<uint16_t> xh = toHalf(x), ch = toHalf(cosv), sh = toHalf(sinv);
  std::vector<uint16_t> yh(xh.size());
  ASSERT_OK(run("rotary_embedding",
                {view(xh, DType::f16, dims), view(ch, DType::f16, angleDims),
                 view(sh, DType::f16, angleDims)},
                {view(yh, DType::f16, dims)}, attrsOf(c)));
  std::vector<double> want = reference(c, x, cosv, sinv);
  for (size_t i = 0; i < yh.size(); ++i) // one f16 rounding: 2^-11 relative
    ASSERT_NEAR(azr::cpu::halfToFloat(yh[i]), want[i],
                std::abs(want[i]) * 1e-3 + 1e-6)
        << i;
}

TEST(CpuRotary, RejectsBadShapes) {
  std::vector<float> x(2 * 3 * 2 * 4), y(x.size()), angles(2 * 3 * 2);
  MapAttrs attrs;
  // The rotated part (2 * 3) is wider than a head of 4.
  std::vector<float> wide(3 * 3);
  std::string error =
      run("rotary_embedding",
          {f32(x, {2, 3, 2, 4}), f32(wide, {1, 3, 3}), f32(wide, {1, 3, 3})},
          {f32(y, {2, 3, 2, 4})}, attrs);
  EXPECT_TRUE(contains(error, "R <= head size")) << error;
  // Angles for 2 positions, a sequence of 3.
  std::vector<float> short_(2 * 2);
  error = run(
      "rotary_embedding",
      {f32(x, {2, 3, 2, 4}), f32(short_, {1, 2, 2}), f32(short_, {1, 2, 2})},
      {f32(y, {2, 3, 2, 4})}, attrs);
  EXPECT_TRUE(contains(error, "INVALID_ARGUMENT")) << error;
  // A 3-D input.
  error =
      run("rotary_embedding",
          {f32(x, {2, 3, 8}), f32(angles, {2, 3, 2}), f32(angles, {2, 3, 2})},
          {f32(y, {2, 3, 8})}, attrs);
  EXPECT_TRUE(contains(error, "4-D input")) << error;
  // Integer data.
  std::vector<int32_t> xi(x.size()), yi(x.size());
  std::vector<int32_t> ai(angles.size());
  error =
      run("rotary_embedding",
          {view(xi, DType::i32, {2, 3, 2, 4}), view(ai, DType::i32, {2, 3, 2}),
           view(ai, DType::i32, {2, 3, 2})},
          {view(yi, DType::i32, {2, 3, 2, 4})}, attrs);
  EXPECT_FALSE(error.empty());
}

} // namespace
