//===- matmul_nbits_avx2.cc - the quantized matmul for AVX2 with FMA ------===//
//
// Compiled for AVX2, FMA and F16C inside a target region (isa_target.h) and
// only called when cpuid reports AVX2, FMA and F16C (matmul_nbits.cc chooses).
// Prefill uses the f32 GEMM's 6 x 16 micro-tiles.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"
#include "cpu/matmul_nbits.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/isa_target.h"

AZR_TARGET_AVX2_BEGIN

#include "cpu/gemm_simd.h"
#include "cpu/matmul_nbits_simd.h"
#include "cpu/simd_avx2.h"

namespace {

struct HalfF16c {
  float operator()(uint16_t h) const { return _cvtsh_ss(h); }
};

} // namespace

void azr::cpu::nbitsDecodeAvx2(const NBitsWeights &w, const float *prepared,
                               int rows, float *C, int64_t ldc, int64_t n0,
                               int64_t n1) {
  simd::nbitsDecode<simd::Avx2, HalfF16c>(w, prepared, rows, C, ldc, n0, n1);
}

void azr::cpu::nbitsTileAvx2(const NBitsWeights &w, const float *A, int64_t lda,
                             float *C, int64_t ldc, int64_t rowBegin,
                             int64_t rowEnd, int64_t n0, int64_t n1) {
  simd::nbitsTile<simd::Avx2, HalfF16c, 6, 2>(w, A, lda, C, ldc, rowBegin,
                                              rowEnd, n0, n1);
}

AZR_TARGET_END
