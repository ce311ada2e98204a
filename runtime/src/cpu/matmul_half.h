//===- matmul_half.h - matmul with f16 or bf16 weights ----------*- C++ -*-===//
//
// The matmul_half kernel: Y[M, N] = act(A[M, K] @ W^T + bias + residual)
// with W [N, K] stored in IEEE half or bfloat16, each weight widened to
// f32 in registers as it is read (exact: both convert to f32 without
// rounding), and f32 multiply-adds. Decode-sized products stream W once
// into dot products; larger ones widen W into the f32 GEMM's packed panels.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_MATMUL_HALF_H
#define AZR_CPU_MATMUL_HALF_H

#include <cstdint>

namespace azr::cpu {

struct HalfWeights {
  const uint16_t *W; ///< [N, K]
  bool bf16;         ///< bfloat16, else IEEE half
  int64_t N, K;
};

/// C[0:rows, n0:n1] (row stride ldc) = rows <= 4 rows of A (row stride lda)
/// times W^T.
using HalfDecodeFn = void (*)(const HalfWeights &w, const float *A, int64_t lda,
                              int rows, float *C, int64_t ldc, int64_t n0,
                              int64_t n1);
/// C[rowBegin:rowEnd, n0:n1] = A * W^T through packed f32 panels.
using HalfTileFn = void (*)(const HalfWeights &w, const float *A, int64_t lda,
                            float *C, int64_t ldc, int64_t rowBegin,
                            int64_t rowEnd, int64_t n0, int64_t n1);

struct HalfPath {
  const char *name;
  HalfDecodeFn decode;
  HalfTileFn tile;
};
/// The path for this CPU (as gemmPath()).
const HalfPath &halfPath();

#if defined(__x86_64__)
void halfDecodeAvx512(const HalfWeights &w, const float *A, int64_t lda,
                      int rows, float *C, int64_t ldc, int64_t n0, int64_t n1);
void halfTileAvx512(const HalfWeights &w, const float *A, int64_t lda, float *C,
                    int64_t ldc, int64_t rowBegin, int64_t rowEnd, int64_t n0,
                    int64_t n1);
void halfDecodeAvx2(const HalfWeights &w, const float *A, int64_t lda, int rows,
                    float *C, int64_t ldc, int64_t n0, int64_t n1);
void halfTileAvx2(const HalfWeights &w, const float *A, int64_t lda, float *C,
                  int64_t ldc, int64_t rowBegin, int64_t rowEnd, int64_t n0,
                  int64_t n1);
#endif

} // namespace azr::cpu

#endif // AZR_CPU_MATMUL_HALF_H
