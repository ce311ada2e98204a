// Round-to-nearest block quantization (passes/WeightQuantizer.h) on random
// and hand-made matrices: every weight comes back within half a step of
// itself, the extremes of each block are representable, and the packing is
// the one matmul_nbits reads.

#include "passes/WeightQuantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace azc::quant;

namespace {

std::vector<float> randomMatrix(int64_t K, int64_t N, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(size_t(K * N));
  for (float &x : w)
    x = normal(gen);
  return w;
}

struct Case {
  int bits;
  int64_t block;
  bool symmetric;
};

class RoundToNearest : public ::testing::TestWithParam<Case> {};

// |w - dequant(w)| <= scale / 2 (rounding) plus float error: 1e-5 relative
// to the block's range covers the f32 products of code and scale. The
// symmetric grid reaches 2^(bits-1) steps on the side of the block's
// largest magnitude but one step less on the other, so values of the
// opposite sign may clamp: there the bound is one step.
TEST_P(RoundToNearest, EveryWeightWithinHalfAStep) {
  const Case c = GetParam();
  const int64_t K = 100, N = 7; // K not a multiple of the block: padding
  std::vector<float> w = randomMatrix(K, N, 7);
  for (bool transposed : {false, true}) {
    WeightView view = transposed ? WeightView{w.data(), K, N, 1, K}
                                 : WeightView{w.data(), K, N, N, 1};
    BlockQuantized q =
        quantizeRoundToNearest(view, c.bits, c.block, c.symmetric);
    ASSERT_EQ(q.blocks, (K + c.block - 1) / c.block);
    ASSERT_EQ(q.codes.size(), size_t(N * q.blocks * c.block * c.bits / 8));
    ASSERT_EQ(q.zeroPoints.empty(), c.symmetric);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const float signedScale = q.scales[n * q.blocks + k / c.block];
        const float scale = std::fabs(signedScale);
        const float x = view.at(k, n);
        const float error = std::fabs(dequantized(q, k, n) - x);
        const bool shortSide = c.symmetric && x * signedScale > 0;
        const float bound = (shortSide ? 1.0f : 0.5f) * scale +
                            1e-5f * scale * float(1 << c.bits);
        EXPECT_LE(error, bound) << "k=" << k << " n=" << n;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, RoundToNearest,
    ::testing::Values(Case{4, 32, false}, Case{4, 32, true}, Case{4, 16, false},
                      Case{8, 64, false}, Case{8, 32, true}));

// One column 0, 1, ..., 15 in a block of 16 at 4 bits, asymmetric: scale 1,
// zero point 0, codes equal to the values, two per byte low nibble first;
// the zero points of a column's blocks pack the same way.
TEST(RoundToNearestLayout, CodesAndZeroPointsPackLowNibbleFirst) {
  std::vector<float> w(32);
  for (int k = 0; k < 16; ++k) {
    w[k] = float(k);
    w[16 + k] = float(k) - 3.0f; // range [-3, 12]: scale 1, zero point 3
  }
  BlockQuantized q = quantizeRoundToNearest({w.data(), 32, 1, 1, 1}, 4, 16,
                                            /*symmetric=*/false);
  ASSERT_EQ(q.codes.size(), 16u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(q.codes[i], uint8_t((2 * i) | ((2 * i + 1) << 4))) << i;
    EXPECT_EQ(q.codes[8 + i], q.codes[i]) << i;
  }
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.scales[1], 1.0f);
  ASSERT_EQ(q.zeroPoints.size(), 1u);
  EXPECT_EQ(q.zeroPoints[0], uint8_t(0 | (3 << 4)));
  for (int k = 0; k < 32; ++k)
    EXPECT_EQ(dequantized(q, k, 0), w[k]) << k;
}

// An all-zero block has scale 0 and dequantizes to exact zeros.
TEST(RoundToNearestLayout, ZeroBlockStaysZero) {
  std::vector<float> w(64, 0.0f);
  for (bool symmetric : {false, true}) {
    BlockQuantized q =
        quantizeRoundToNearest({w.data(), 64, 1, 1, 1}, 4, 32, symmetric);
    for (int k = 0; k < 64; ++k)
      EXPECT_EQ(dequantized(q, k, 0), 0.0f);
  }
}

} // namespace
