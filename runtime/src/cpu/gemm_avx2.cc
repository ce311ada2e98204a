//===- gemm_avx2.cc - the f32 GEMM tile for AVX2 with FMA -----------------===//
//
// Compiled for AVX2 and FMA inside a target region (isa_target.h) and only
// called when cpuid reports both
// (gemm.cc chooses). 6 x 16 micro-tiles: 12 accumulators, two B vectors
// and a broadcast fill 15 of the 16 ymm registers.
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

AZR_TARGET_AVX2_BEGIN

#include "cpu/gemm_simd.h"
#include "cpu/simd_avx2.h"

void azr::cpu::gemmTileAvx2(int64_t K, const float *A, int64_t lda, int64_t acs,
                            const float *B, int64_t ldb, float *C, int64_t ldc,
                            int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                            int64_t colEnd) {
  simd::gemmTileSimd<simd::Avx2, 6, 2>(K, A, lda, acs, B, ldb, C, ldc, rowBegin,
                                       rowEnd, colBegin, colEnd);
}

void azr::cpu::gemmTilePrepackedAvx2(int64_t K, const float *A, int64_t lda,
                                     int64_t acs, const float *packed, float *C,
                                     int64_t ldc, int64_t rowBegin,
                                     int64_t rowEnd, int64_t colBegin,
                                     int64_t colEnd) {
  simd::gemmTilePrepackedSimd<simd::Avx2, 6, 2>(
      K, A, lda, acs, packed, C, ldc, rowBegin, rowEnd, colBegin, colEnd);
}

void azr::cpu::gemmTilePrepackedHalfAvx2(int64_t K, const float *A, int64_t lda,
                                         int64_t acs, const uint16_t *packed,
                                         bool bf16, float *C, int64_t ldc,
                                         int64_t rowBegin, int64_t rowEnd,
                                         int64_t colBegin, int64_t colEnd) {
  if (bf16)
    simd::gemmTilePrepackedSimd<simd::Avx2, 6, 2, simd::kPanelBf16>(
        K, A, lda, acs, packed, C, ldc, rowBegin, rowEnd, colBegin, colEnd);
  else
    simd::gemmTilePrepackedSimd<simd::Avx2, 6, 2, simd::kPanelF16>(
        K, A, lda, acs, packed, C, ldc, rowBegin, rowEnd, colBegin, colEnd);
}

AZR_TARGET_END
