//===- matmul_half_avx2.cc - the f16/bf16-weight matmul for AVX2
//------------===//
//
// Compiled for AVX2 and F16C inside a target region (isa_target.h), called
// only when cpuid reports them (matmul_half.cc chooses).
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/matmul_half.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/isa_target.h"

AZR_TARGET_AVX2_BEGIN

#include "cpu/gemm_simd.h"
#include "cpu/matmul_half_simd.h"
#include "cpu/simd_avx2.h"

namespace {

/// One weight widened: F16C for halves, a shift for bfloat16s.
struct WidenScalar {
  float operator()(uint16_t x, bool bf16) const {
    if (bf16) {
      const uint32_t bits = uint32_t(x) << 16;
      float f;
      __builtin_memcpy(&f, &bits, 4);
      return f;
    }
    return _cvtsh_ss(x);
  }
};

} // namespace

void azr::cpu::halfDecodeAvx2(const HalfWeights &w, const float *A, int64_t lda,
                              int rows, float *C, int64_t ldc, int64_t n0,
                              int64_t n1) {
  simd::halfDecode<simd::Avx2, WidenScalar>(w, A, lda, rows, C, ldc, n0, n1);
}

void azr::cpu::halfTileAvx2(const HalfWeights &w, const float *A, int64_t lda,
                            float *C, int64_t ldc, int64_t rowBegin,
                            int64_t rowEnd, int64_t n0, int64_t n1) {
  simd::halfTile<simd::Avx2, WidenScalar, 6, 2>(w, A, lda, C, ldc, rowBegin,
                                                rowEnd, n0, n1);
}

AZR_TARGET_END
