//===- gemm_avx2.cc - the f32 GEMM tile for AVX2 with FMA -----------------===//
//
// Compiled with -mavx2 -mfma and only called when cpuid reports both
// (gemm.cc chooses). 6 x 16 micro-tiles: 12 accumulators, two B vectors
// and a broadcast fill 15 of the 16 ymm registers.
//
//===----------------------------------------------------------------------===//

#include "cpu/gemm_simd.h"
#include "cpu/kernel_util.h"

#include <immintrin.h>

namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float *p) { return _mm256_loadu_ps(p); }
  static void store(float *p, V x) { _mm256_storeu_ps(p, x); }
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V loadPartial(const float *p, int n) {
    return _mm256_maskload_ps(p, mask(n));
  }
  static void storePartial(float *p, V x, int n) {
    _mm256_maskstore_ps(p, mask(n), x);
  }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V broadcast(const float *p) { return _mm256_broadcast_ss(p); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};

} // namespace

void azr::cpu::gemmTileAvx2(int64_t K, const float *A, int64_t lda, int64_t acs,
                            const float *B, int64_t ldb, float *C, int64_t ldc,
                            int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                            int64_t colEnd) {
  simd::gemmTileSimd<Avx2, 6, 2>(K, A, lda, acs, B, ldb, C, ldc, rowBegin,
                                 rowEnd, colBegin, colEnd);
}
