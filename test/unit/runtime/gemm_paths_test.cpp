// The f32 GEMM tile of this machine's ISA path against a double-precision
// reference, on shapes that are not multiples of any tile: 1, primes,
// multiples plus one, and the packed-block boundary of K. CTest runs this
// binary once per path, forcing the narrower ones with AZR_CPU_DISABLE, so
// every path this CPU has is checked.

#include "cpu/kernel_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using azr::cpu::gemmPath;

struct Case {
  int64_t M, N, K;
  bool transposedA;
};

/// B [K, N] in matmul_packed's layout: 32-column panels, each K rows long,
/// zero padded past N.
std::vector<float> packPanels(const std::vector<float> &B, int64_t K,
                              int64_t N) {
  const int64_t P = azr::cpu::kPrepackedPanelWidth;
  const int64_t panels = (N + P - 1) / P;
  std::vector<float> packed(size_t(panels * K * P), 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j)
      packed[size_t((j / P) * K * P + k * P + j % P)] = B[size_t(k * N + j)];
  return packed;
}

/// Checks C against the double product; `prepacked` runs the tile that
/// reads B packed at build, over column ranges that start on panels.
void checkCase(const Case &c, std::mt19937 &rng, bool prepacked = false) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> A(size_t(c.M * c.K)), B(size_t(c.K * c.N));
  for (float &x : A)
    x = uniform(rng);
  for (float &x : B)
    x = uniform(rng);
  // A is read through (lda, acs): row-major, or stored transposed.
  const int64_t lda = c.transposedA ? 1 : c.K, acs = c.transposedA ? c.M : 1;
  std::vector<float> C(size_t(c.M * c.N), NAN);
  if (prepacked) {
    std::vector<float> packed = packPanels(B, c.K, c.N);
    // Two column ranges, split on a panel boundary, as parallelGemm does.
    const int64_t split = std::min<int64_t>(c.N, 64);
    gemmPath().prepackedTile(c.K, A.data(), lda, acs, packed.data(), C.data(),
                             c.N, 0, c.M, 0, split);
    gemmPath().prepackedTile(c.K, A.data(), lda, acs, packed.data(), C.data(),
                             c.N, 0, c.M, split, c.N);
  } else {
    gemmPath().tile(c.K, A.data(), lda, acs, B.data(), c.N, C.data(), c.N, 0,
                    c.M, 0, c.N);
  }
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        double term =
            double(A[size_t(i * lda + k * acs)]) * B[size_t(k * c.N + j)];
        sum += term;
        magnitude += std::fabs(term);
      }
      // K roundings of at most 2^-24 relative each, on partial sums bounded
      // by the sum of |terms|.
      double bound = double(c.K + 1) * std::ldexp(1.0, -24) * magnitude + 1e-30;
      ASSERT_LE(std::fabs(C[size_t(i * c.N + j)] - sum), bound)
          << gemmPath().name << " M=" << c.M << " N=" << c.N << " K=" << c.K
          << " at (" << i << ", " << j << ")";
    }
}

TEST(GemmPaths, MatchesDoubleReferenceOnAwkwardShapes) {
  std::printf("f32 GEMM path: %s\n", gemmPath().name);
  std::mt19937 rng(7);
  for (int64_t M : {1, 2, 3, 4, 5, 7, 12, 13, 25, 73})
    for (int64_t N : {1, 15, 16, 17, 33, 64, 65, 257})
      for (int64_t K : {1, 7, 256, 257})
        checkCase({M, N, K, (M + N + K) % 2 == 1}, rng);
  checkCase({130, 300, 600, false}, rng);
  checkCase({6, 1000, 1000, true}, rng);
}

// The same reference for weights packed at build (matmul_packed): the
// AVX-512 tile reads the panels in place, the others copy them.
TEST(GemmPaths, PrepackedWeightsMatchDoubleReference) {
  std::mt19937 rng(11);
  for (int64_t M : {1, 2, 3, 5, 13, 73})
    for (int64_t N : {1, 31, 32, 33, 64, 65, 257})
      for (int64_t K : {1, 7, 256, 257})
        checkCase({M, N, K, (M + N + K) % 2 == 1}, rng, /*prepacked=*/true);
  checkCase({130, 300, 600, false}, rng, true);
}

TEST(GemmPaths, EmptyKGivesZeros) {
  std::vector<float> C(12, NAN);
  gemmPath().tile(0, nullptr, 0, 1, nullptr, 4, C.data(), 4, 0, 3, 0, 4);
  for (float x : C)
    EXPECT_EQ(x, 0.0f);
}

TEST(GemmPaths, WritesOnlyItsTile) {
  // A 5x40 tile inside a 9x64 C leaves every other element untouched.
  std::vector<float> A(9 * 20, 1.0f), B(20 * 64, 1.0f), C(9 * 64, -7.0f);
  gemmPath().tile(20, A.data(), 20, 1, B.data(), 64, C.data(), 64, 2, 7, 13,
                  53);
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 64; ++j) {
      bool inside = i >= 2 && i < 7 && j >= 13 && j < 53;
      EXPECT_EQ(C[size_t(i * 64 + j)], inside ? 20.0f : -7.0f) << i << "," << j;
    }
}

} // namespace

// The vector math behind activation epilogues and softmax, on this CPU's
// path (CTest reruns this on the narrower ones), against libm in double:
// exp within 2e-7 relative; sigmoid and SiLU 4e-7 and 5e-7; GELU within 1e-6
// relative where |x| <= 3 and 1e-5 in the tails (there exp(-x^2/2) is taken of
// a float x^2, whose rounding, x^2 * 2^-24 (3e-6 at x = 10), adds to the
// exponent; the sum and exp round too).
TEST(VectorMath, MatchesLibmOnEveryPath) {
  const azr::cpu::VectorMath &math = azr::cpu::vectorMath();
  std::printf("vector math path: %s\n", math.name);
  std::vector<float> x;
  for (int i = -2000; i <= 2000; ++i)
    x.push_back(float(i) * 0.005f); // -10 .. 10
  std::vector<float> gelu = x, sig = x, th = x, silu = x, e(x.size());
  math.gelu(gelu.data(), int64_t(gelu.size()));
  math.sigmoid(sig.data(), int64_t(sig.size()));
  math.tanh(th.data(), int64_t(th.size()));
  math.silu(silu.data(), int64_t(silu.size()));
  float sum = math.expShiftSum(x.data(), 1.0f, e.data(), int64_t(e.size()));
  double wantSum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double v = x[i];
    double g = 0.5 * v * std::erfc(-v / std::sqrt(2.0));
    double s = 1.0 / (1.0 + std::exp(-v));
    double ex = std::exp(double(x[i] - 1.0f)); // the argument rounds in float
    wantSum += ex;
    double relative = std::fabs(v) <= 3 ? 1e-6 : 1e-5;
    EXPECT_NEAR(gelu[i], g, relative * std::fabs(g) + 1e-30) << v;
    EXPECT_NEAR(sig[i], s, 4e-7 * s + 1e-30) << v;
    EXPECT_NEAR(silu[i], v * s, 5e-7 * std::fabs(v * s) + 1e-30) << v;
    EXPECT_NEAR(th[i], std::tanh(v), 3e-7) << v;
    EXPECT_NEAR(e[i], ex, 2e-7 * ex) << v;
  }
  EXPECT_NEAR(sum, wantSum, 1e-6 * wantSum);
  // Special values.
  float special[] = {-INFINITY, INFINITY, NAN, -100.0f, 100.0f};
  float out[5];
  math.expShiftSum(special, 0.0f, out, 5);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], INFINITY);
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_EQ(out[3], 0.0f);
  EXPECT_EQ(out[4], INFINITY);
}
