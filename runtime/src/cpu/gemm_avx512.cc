//===- gemm_avx512.cc - the f32 GEMM tile for AVX-512 ---------------------===//
//
// Compiled with -mavx512f -mfma and only called when cpuid reports
// AVX-512F (gemm.cc chooses). 12 x 32 micro-tiles: 24 accumulators, two B
// vectors and a broadcast fill 27 of the 32 zmm registers.
//
//===----------------------------------------------------------------------===//

#include "cpu/gemm_simd.h"
#include "cpu/kernel_util.h"

#include <immintrin.h>

namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float *p) { return _mm512_loadu_ps(p); }
  static void store(float *p, V x) { _mm512_storeu_ps(p, x); }
  static __mmask16 mask(int n) { return __mmask16((1u << n) - 1); }
  static V loadPartial(const float *p, int n) {
    return _mm512_maskz_loadu_ps(mask(n), p);
  }
  static void storePartial(float *p, V x, int n) {
    _mm512_mask_storeu_ps(p, mask(n), x);
  }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V broadcast(const float *p) { return _mm512_set1_ps(*p); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
};

} // namespace

void azr::cpu::gemmTileAvx512(int64_t K, const float *A, int64_t lda,
                              int64_t acs, const float *B, int64_t ldb,
                              float *C, int64_t ldc, int64_t rowBegin,
                              int64_t rowEnd, int64_t colBegin,
                              int64_t colEnd) {
  simd::gemmTileSimd<Avx512, 12, 2>(K, A, lda, acs, B, ldb, C, ldc, rowBegin,
                                    rowEnd, colBegin, colEnd);
}
