//===- matmul_half_simd.h - the f16/bf16-weight matmul per ISA -*- C++ -*-===//
//
// Decode: up to 4 rows against 2 columns at a time, W widened to f32 in
// registers (T::loadF16 / T::loadBf16) straight into the multiply-adds,
// the K % W tail in scalar code. Tiles: gemm_simd.h's packed tile with a
// hook that widens W's columns into its f32 panels.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_MATMUL_HALF_SIMD_H
#define AZR_CPU_MATMUL_HALF_SIMD_H

#include "cpu/gemm_simd.h"
#include "cpu/matmul_half.h"

namespace azr::cpu::simd {

template <class T, class Scalar, bool Bf16, int R, int NC>
inline void halfDecodeColumns(const HalfWeights &w, const float *A, int64_t lda,
                              float *C, int64_t ldc, int64_t n0) {
  using V = typename T::V;
  constexpr int W = T::W;
  V acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      acc[r][c] = T::zero();
  const uint16_t *col[NC];
  for (int c = 0; c < NC; ++c)
    col[c] = w.W + (n0 + c) * w.K;
  int64_t k = 0;
  for (; k + W <= w.K; k += W) {
    V a[R];
    for (int r = 0; r < R; ++r)
      a[r] = T::load(A + r * lda + k);
    for (int c = 0; c < NC; ++c) {
      const V b = Bf16 ? T::loadBf16(col[c] + k) : T::loadF16(col[c] + k);
      for (int r = 0; r < R; ++r)
        acc[r][c] = T::fma(a[r], b, acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) {
      float sum = T::reduce(acc[r][c]);
      for (int64_t t = k; t < w.K; ++t)
        sum += A[r * lda + t] * Scalar()(col[c][t], Bf16);
      C[r * ldc + n0 + c] = sum;
    }
}

template <class T, class Scalar, bool Bf16, int R>
inline void halfDecodeRows(const HalfWeights &w, const float *A, int64_t lda,
                           float *C, int64_t ldc, int64_t n0, int64_t n1) {
  constexpr int NC = R <= 2 ? 4 : 2;
  int64_t n = n0;
  for (; n + NC <= n1; n += NC)
    halfDecodeColumns<T, Scalar, Bf16, R, NC>(w, A, lda, C, ldc, n);
  for (; n < n1; ++n)
    halfDecodeColumns<T, Scalar, Bf16, R, 1>(w, A, lda, C, ldc, n);
}

template <class T, class Scalar, bool Bf16>
inline void halfDecodeTyped(const HalfWeights &w, const float *A, int64_t lda,
                            int rows, float *C, int64_t ldc, int64_t n0,
                            int64_t n1) {
  switch (rows) {
  case 1:
    return halfDecodeRows<T, Scalar, Bf16, 1>(w, A, lda, C, ldc, n0, n1);
  case 2:
    return halfDecodeRows<T, Scalar, Bf16, 2>(w, A, lda, C, ldc, n0, n1);
  case 3:
    return halfDecodeRows<T, Scalar, Bf16, 3>(w, A, lda, C, ldc, n0, n1);
  default:
    return halfDecodeRows<T, Scalar, Bf16, 4>(w, A, lda, C, ldc, n0, n1);
  }
}

template <class T, class Scalar>
inline void halfDecode(const HalfWeights &w, const float *A, int64_t lda,
                       int rows, float *C, int64_t ldc, int64_t n0,
                       int64_t n1) {
  w.bf16 ? halfDecodeTyped<T, Scalar, true>(w, A, lda, rows, C, ldc, n0, n1)
         : halfDecodeTyped<T, Scalar, false>(w, A, lda, rows, C, ldc, n0, n1);
}

/// packedTile's hook: B[k0:k0+kc, j:j+n] = W[j:j+n, k0:k0+kc]^T widened.
template <class Scalar, bool Bf16> struct PackHalf {
  const HalfWeights *w;
  void operator()(int64_t k0, int64_t kc, int64_t j, int64_t n, float *dst,
                  int NR) const {
    for (int64_t col = 0; col < n; ++col) {
      const uint16_t *src = w->W + (j + col) * w->K + k0;
      for (int64_t k = 0; k < kc; ++k)
        dst[k * NR + col] = Scalar()(src[k], Bf16);
    }
    for (int64_t k = 0; k < kc; ++k)
      std::fill(dst + k * NR + n, dst + (k + 1) * NR, 0.0f);
  }
};

template <class T, class Scalar, int MR, int NV>
inline void halfTile(const HalfWeights &w, const float *A, int64_t lda,
                     float *C, int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                     int64_t n0, int64_t n1) {
  if (w.bf16)
    packedTile<T, MR, NV>(w.K, A, lda, 1, PackHalf<Scalar, true>{&w}, C, ldc,
                          rowBegin, rowEnd, n0, n1);
  else
    packedTile<T, MR, NV>(w.K, A, lda, 1, PackHalf<Scalar, false>{&w}, C, ldc,
                          rowBegin, rowEnd, n0, n1);
}

} // namespace azr::cpu::simd

#endif // AZR_CPU_MATMUL_HALF_SIMD_H
