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

void checkCase(const Case &c, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> A(size_t(c.M * c.K)), B(size_t(c.K * c.N));
  for (float &x : A)
    x = uniform(rng);
  for (float &x : B)
    x = uniform(rng);
  // A is read through (lda, acs): row-major, or stored transposed.
  const int64_t lda = c.transposedA ? 1 : c.K, acs = c.transposedA ? c.M : 1;
  std::vector<float> C(size_t(c.M * c.N), NAN);
  gemmPath().tile(c.K, A.data(), lda, acs, B.data(), c.N, C.data(), c.N, 0, c.M,
                  0, c.N);
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
