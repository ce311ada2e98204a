//===- gemm_avx512.cc - the f32 GEMM tile for AVX-512 ---------------------===//
//
// Compiled for AVX-512F inside a target region (isa_target.h) and only
// called when cpuid reports
// AVX-512F (gemm.cc chooses). 12 x 32 micro-tiles: 24 accumulators, two B
// vectors and a broadcast fill 27 of the 32 zmm registers.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/isa_target.h"

AZR_TARGET_AVX512_BEGIN

#include "cpu/gemm_simd.h"
#include "cpu/simd_avx512.h"

void azr::cpu::gemmTileAvx512(int64_t K, const float *A, int64_t lda,
                              int64_t acs, const float *B, int64_t ldb,
                              float *C, int64_t ldc, int64_t rowBegin,
                              int64_t rowEnd, int64_t colBegin,
                              int64_t colEnd) {
  simd::gemmTileSimd<simd::Avx512, 12, 2>(K, A, lda, acs, B, ldb, C, ldc,
                                          rowBegin, rowEnd, colBegin, colEnd);
}

void azr::cpu::gemmTilePrepackedAvx512(int64_t K, const float *A, int64_t lda,
                                       int64_t acs, const float *packed,
                                       float *C, int64_t ldc, int64_t rowBegin,
                                       int64_t rowEnd, int64_t colBegin,
                                       int64_t colEnd) {
  simd::gemmTilePrepackedSimd<simd::Avx512, 12, 2>(
      K, A, lda, acs, packed, C, ldc, rowBegin, rowEnd, colBegin, colEnd);
}

static_assert(azr::cpu::simd::kPanelWidth == azr::cpu::kPrepackedPanelWidth,
              "matmul_packed's panels are the AVX-512 tile's");

void azr::cpu::gemmTilePrepackedHalfAvx512(int64_t K, const float *A,
                                           int64_t lda, int64_t acs,
                                           const uint16_t *packed, bool bf16,
                                           float *C, int64_t ldc,
                                           int64_t rowBegin, int64_t rowEnd,
                                           int64_t colBegin, int64_t colEnd) {
  if (bf16)
    simd::gemmTilePrepackedSimd<simd::Avx512, 12, 2, simd::kPanelBf16>(
        K, A, lda, acs, packed, C, ldc, rowBegin, rowEnd, colBegin, colEnd);
  else
    simd::gemmTilePrepackedSimd<simd::Avx512, 12, 2, simd::kPanelF16>(
        K, A, lda, acs, packed, C, ldc, rowBegin, rowEnd, colBegin, colEnd);
}

AZR_TARGET_END
