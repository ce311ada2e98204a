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

namespace {

/// sum over columns n of e_n^T H e_n, e_n the column's quantization error:
/// the output error GPTQ minimizes, on inputs with second moments H.
double outputError(const BlockQuantized &q, const WeightView &w,
                   const std::vector<double> &h) {
  double total = 0;
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t i = 0; i < w.K; ++i) {
      const double ei = dequantized(q, i, n) - w.at(i, n);
      for (int64_t j = 0; j < w.K; ++j)
        total += ei * h[i * w.K + j] * (dequantized(q, j, n) - w.at(j, n));
    }
  return total;
}

/// H = X^T X for `rows` inputs whose features are correlated and of
/// unequal energy.
std::vector<double> correlatedHessian(int64_t K, int64_t rows, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> mix(static_cast<size_t>(K * K));
  std::vector<double> energy(static_cast<size_t>(K));
  for (double &m : mix)
    m = normal(gen) / 8;
  for (double &e : energy)
    e = std::exp(normal(gen));
  std::vector<double> h(static_cast<size_t>(K * K), 0.0);
  std::vector<double> z(static_cast<size_t>(K)), x(static_cast<size_t>(K));
  for (int64_t r = 0; r < rows; ++r) {
    for (double &v : z)
      v = normal(gen);
    for (int64_t k = 0; k < K; ++k) {
      x[k] = 0.3 * z[k];
      for (int64_t j = 0; j < K; ++j)
        x[k] += z[j] * mix[j * K + k];
      x[k] *= energy[k];
    }
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j)
        h[i * K + j] += x[i] * x[j];
  }
  return h;
}

} // namespace

// With uncorrelated inputs (H diagonal) no row's error can be compensated
// by another's: GPTQ picks round-to-nearest's codes exactly.
TEST(Gptq, DiagonalHessianGivesRoundToNearest) {
  const int64_t K = 64, N = 5;
  std::vector<float> w = randomMatrix(K, N, 3);
  WeightView view{w.data(), K, N, N, 1};
  std::vector<double> h(size_t(K * K), 0.0);
  for (int64_t k = 0; k < K; ++k)
    h[k * K + k] = 1.0 + double(k % 7);
  BlockQuantized rtn = quantizeRoundToNearest(view, 4, 32, false);
  for (bool actOrder : {false, true}) {
    BlockQuantized gptq = quantizeGptq(view, h, 4, 32, false, {0.01, actOrder});
    EXPECT_EQ(gptq.codes, rtn.codes);
    EXPECT_EQ(gptq.scales, rtn.scales);
    EXPECT_EQ(gptq.zeroPoints, rtn.zeroPoints);
  }
}

// With correlated inputs GPTQ's output error is well below rounding's, in
// both row orders and with symmetric or asymmetric codes, and the scales
// are rounding's (static groups).
TEST(Gptq, CorrelatedInputsLowerTheOutputError) {
  const int64_t K = 96, N = 6;
  std::vector<float> w = randomMatrix(K, N, 4);
  WeightView view{w.data(), K, N, N, 1};
  std::vector<double> h = correlatedHessian(K, 400, 5);
  for (bool symmetric : {false, true}) {
    BlockQuantized rtn = quantizeRoundToNearest(view, 4, 32, symmetric);
    for (bool actOrder : {false, true}) {
      BlockQuantized gptq =
          quantizeGptq(view, h, 4, 32, symmetric, {0.01, actOrder});
      EXPECT_EQ(gptq.scales, rtn.scales);
      EXPECT_LT(outputError(gptq, view, h), 0.8 * outputError(rtn, view, h))
          << "symmetric=" << symmetric << " actOrder=" << actOrder;
    }
  }
}

// An input calibration never excited (a zero row and column of H) keeps
// its rounded weights, and the others are unaffected by it.
TEST(Gptq, DeadInputsKeepRoundedWeights) {
  const int64_t K = 32, N = 3;
  std::vector<float> w = randomMatrix(K, N, 6);
  WeightView view{w.data(), K, N, N, 1};
  std::vector<double> h = correlatedHessian(K, 100, 7);
  for (int64_t j = 0; j < K; ++j)
    h[5 * K + j] = h[j * K + 5] = 0;
  BlockQuantized rtn = quantizeRoundToNearest(view, 4, 32, false);
  BlockQuantized gptq = quantizeGptq(view, h, 4, 32, false, {0.01, true});
  for (int64_t n = 0; n < N; ++n)
    EXPECT_EQ(dequantized(gptq, 5, n), dequantized(rtn, 5, n)) << n;
}

// AWQ searches alpha from 0 (plain rounding) up, so its output error on
// the calibration statistics is never above rounding's; with inputs of
// unequal energy it is below. Inputs of equal magnitude leave nothing to
// scale: every alpha gives s = 1, and AWQ is rounding.
TEST(Awq, NeverWorseThanRoundingAndNeutralOnUniformInputs) {
  const int64_t K = 64, N = 6;
  std::vector<float> w = randomMatrix(K, N, 8);
  WeightView view{w.data(), K, N, N, 1};
  InputStatistics stats;
  stats.K = K;
  stats.rows = 400;
  stats.hessian = correlatedHessian(K, 400, 9);
  stats.absSum.resize(size_t(K));
  for (int64_t k = 0; k < K; ++k)
    stats.absSum[k] = 400 * std::sqrt(stats.hessian[k * K + k] / 400);
  BlockQuantized rtn = quantizeRoundToNearest(view, 4, 32, false);
  AwqResult awq = quantizeAwq({view}, stats, 4, 32, false);
  // outputError of the effective weight dequant(q)[k] * inputScale[k].
  auto effectiveError = [&](const AwqResult &r) {
    double total = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < K; ++i) {
        const double ei =
            dequantized(r.quantized[0], i, n) * r.inputScale[i] - view.at(i, n);
        for (int64_t j = 0; j < K; ++j)
          total += ei * stats.hessian[i * K + j] *
                   (dequantized(r.quantized[0], j, n) * r.inputScale[j] -
                    view.at(j, n));
      }
    return total;
  };
  EXPECT_GT(awq.alpha, 0.0);
  EXPECT_LT(effectiveError(awq), outputError(rtn, view, stats.hessian));

  std::fill(stats.absSum.begin(), stats.absSum.end(), 123.0);
  AwqResult uniform = quantizeAwq({view}, stats, 4, 32, false);
  EXPECT_EQ(uniform.quantized[0].codes, rtn.codes);
  for (float s : uniform.inputScale)
    EXPECT_EQ(s, 1.0f);
}
