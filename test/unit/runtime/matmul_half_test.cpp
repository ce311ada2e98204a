// The matmul_half kernel (f16 or bf16 weights, f32 activations) against a
// double-precision reference on awkward shapes: K not a multiple of the
// vector width, N and M around the decode/tile split, with bias, residual
// and activation. Widening half or bfloat16 to f32 is exact, so the only
// error is f32 summation. CTest runs these once per ISA path as well.

#include "kernel_test_util.h"

#include "cpu/cast.h"
#include "cpu/matmul_half.h"

#include <cmath>
#include <cstdio>

using namespace azr::cpu;
using namespace azr_test;

namespace {

struct Problem {
  int64_t M, K, N;
  bool bf16, bias, residual;
  std::vector<float> a, b, r, out, wide; // wide: W [N, K] as stored, in f32
  std::vector<uint16_t> w;

  Problem(int64_t M, int64_t K, int64_t N, bool bf16, bool bias, bool residual,
          unsigned seed)
      : M(M), K(K), N(N), bf16(bf16), bias(bias), residual(residual) {
    a = randomValues(M * K, seed);
    std::vector<float> raw = randomValues(N * K, seed + 1);
    w.resize(raw.size());
    wide.resize(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      w[i] = bf16 ? floatToBf16(raw[i]) : floatToHalf(raw[i]);
      wide[i] = bf16 ? bf16ToFloat(w[i]) : halfToFloat(w[i]);
    }
    if (bias)
      b = randomValues(N, seed + 2);
    if (residual)
      r = randomValues(M * N, seed + 3);
    out.assign(size_t(M * N), NAN);
  }

  std::string run(const MapAttrs &attrs = MapAttrs()) {
    std::vector<Tensor> in = {f32(a, {M, K}),
                              view(w, bf16 ? DType::bf16 : DType::f16, {N, K})};
    in.push_back(bias ? f32(b, {N}) : Tensor());
    in.push_back(residual ? f32(r, {M, N}) : Tensor());
    return azr_test::run("matmul_half", in, {f32(out, {M, N})}, attrs);
  }

  void check(bool relu = false) const {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double sum = 0, magnitude = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double t =
              double(a[size_t(m * K + k)]) * double(wide[size_t(n * K + k)]);
          sum += t;
          magnitude += std::fabs(t);
        }
        if (bias) {
          sum += b[size_t(n)];
          magnitude += std::fabs(b[size_t(n)]);
        }
        if (residual) {
          sum += r[size_t(m * N + n)];
          magnitude += std::fabs(r[size_t(m * N + n)]);
        }
        if (relu)
          sum = std::max(sum, 0.0);
        // Each product exact in f32 but for one rounding, each of K + 2
        // sums rounded once: at most (K + 4) 2^-24 of the sum of |terms|.
        const double bound =
            double(K + 4) * std::ldexp(1.0, -24) * magnitude + 1e-30;
        ASSERT_LE(std::fabs(out[size_t(m * N + n)] - sum), bound)
            << halfPath().name << " bf16=" << bf16 << " M=" << M << " K=" << K
            << " N=" << N << " at (" << m << ", " << n << ")";
      }
  }
};

TEST(CpuMatMulHalf, MatchesDoubleReference) {
  std::printf("matmul_half path: %s\n", halfPath().name);
  unsigned seed = 1;
  for (bool bf16 : {false, true})
    for (int64_t K : {1, 17, 64, 100})
      for (int64_t N : {1, 19, 70})
        for (int64_t M : {1, 3, 6, 33, 300}) {
          seed += 10;
          Problem p(M, K, N, bf16, (seed & 16) != 0, (seed & 32) != 0, seed);
          ASSERT_OK(p.run());
          p.check();
          if (HasFatalFailure())
            return;
        }
}

TEST(CpuMatMulHalf, EmptyReductionGivesTheEpilogue) {
  // K = 0: every product is 0, so the result is the bias plus residual.
  Problem p(3, 0, 5, false, true, true, 9);
  std::vector<float> a(1);
  std::vector<uint16_t> w(1);
  std::vector<Tensor> in = {f32(a, {3, 0}), view(w, DType::f16, {5, 0}),
                            f32(p.b, {5}), f32(p.r, {3, 5})};
  ASSERT_OK(azr_test::run("matmul_half", in, {f32(p.out, {3, 5})}, MapAttrs()));
  for (int64_t m = 0; m < 3; ++m)
    for (int64_t n = 0; n < 5; ++n)
      EXPECT_EQ(p.out[size_t(m * 5 + n)],
                p.b[size_t(n)] + p.r[size_t(m * 5 + n)]);
}

TEST(CpuMatMulHalf, ActivationEpilogue) {
  for (int64_t M : {2, 300}) {
    Problem p(M, 40, 24, true, true, true, 7);
    MapAttrs attrs;
    attrs.strings["activation"] = "relu";
    ASSERT_OK(p.run(attrs));
    p.check(true);
  }
}

// matmul_packed with panels of halves (azg-pack-weights on matmul_half):
// the same kernels as f32 panels, each half widened exactly as it is
// loaded, so equal bit for bit to matmul on the widened weight, through
// the one-row streams (M <= 4) and the tiles, padding included; and within
// the double reference's bound like matmul_half.
TEST(CpuMatMulHalf, PackedHalfPanelsEqualMatmulOnWidenedWeights) {
  unsigned seed = 600;
  for (bool bf16 : {false, true})
    for (Dims dims : {Dims{1, 64, 1000}, Dims{3, 255, 33}, Dims{67, 300, 520},
                      Dims{130, 7, 32}}) {
      const int64_t M = dims[0], K = dims[1], N = dims[2], P = 32;
      Problem p(M, K, N, bf16, true, false, seed += 10);
      const int64_t panels = (N + P - 1) / P;
      std::vector<uint16_t> packed(size_t(panels * K * P), 0);
      std::vector<float> widened(size_t(K * N)); // [K, N] for matmul
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
          packed[size_t((n / P) * K * P + k * P + n % P)] =
              p.w[size_t(n * K + k)];
          widened[size_t(k * N + n)] = p.wide[size_t(n * K + k)];
        }
      MapAttrs attrs;
      attrs.strings["activation"] = "gelu";
      std::vector<float> want(size_t(M * N));
      ASSERT_OK(azr_test::run(
          "matmul",
          {f32(p.a, {M, K}), f32(widened, {K, N}), f32(p.b, {N}), Tensor()},
          {f32(want, {M, N})}, attrs));
      attrs.ints["N"] = N;
      ASSERT_OK(azr_test::run(
          "matmul_packed",
          {f32(p.a, {M, K}),
           view(packed, bf16 ? DType::bf16 : DType::f16, {panels, K, P}),
           f32(p.b, {N}), Tensor()},
          {f32(p.out, {M, N})}, attrs));
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(p.out[i], want[i]) << "bf16=" << bf16 << " M=" << M
                                     << " K=" << K << " N=" << N << " at " << i;
      // Without the activation, against the double sum.
      attrs.strings.erase("activation");
      ASSERT_OK(azr_test::run(
          "matmul_packed",
          {f32(p.a, {M, K}),
           view(packed, bf16 ? DType::bf16 : DType::f16, {panels, K, P}),
           f32(p.b, {N}), Tensor()},
          {f32(p.out, {M, N})}, attrs));
      p.check();
      if (HasFatalFailure())
        return;
    }
}

TEST(CpuMatMulHalf, RefusesBadOperands) {
  auto expectRefused = [&](const std::string &status, const char *part) {
    EXPECT_TRUE(contains(status, "INVALID_ARGUMENT") && contains(status, part))
        << status;
  };
  Problem p(3, 16, 8, false, false, false, 1);
  std::vector<float> f(16 * 8);
  std::vector<Tensor> in = {f32(p.a, {3, 16}), f32(f, {8, 16})};
  expectRefused(
      azr_test::run("matmul_half", in, {f32(p.out, {3, 8})}, MapAttrs()),
      "weight must be f16 or bf16 [N, K]");
  in[1] = view(p.w, DType::f16, {16, 8});
  expectRefused(
      azr_test::run("matmul_half", in, {f32(p.out, {3, 16})}, MapAttrs()),
      "does not end in K=8");
}

} // namespace
