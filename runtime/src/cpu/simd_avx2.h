//===- simd_avx2.h - AVX2 traits for the SIMD tiles -------------*- C++ -*-===//
//
// Include only from files compiled with -mavx2 -mfma (see sources.cmake)
// whose functions are called after cpuid reports AVX2 and FMA.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_SIMD_AVX2_H
#define AZR_CPU_SIMD_AVX2_H

#include <immintrin.h>

#include <cstdint>

namespace azr::cpu::simd {

struct Avx2 {
  using V = __m256;
  using I = __m256i; ///< W int32 lanes
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

  // For the quantized tiles.
  static V set1(float x) { return _mm256_set1_ps(x); }
  static I set1i(int x) { return _mm256_set1_epi32(x); }
  /// W bytes, zero-extended to W int32 lanes.
  static I widen(const uint8_t *p) {
    return _mm256_cvtepu8_epi32(
        _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)));
  }
  static I low4(I x) { return _mm256_and_si256(x, _mm256_set1_epi32(0xF)); }
  static I high4(I x) { return _mm256_srli_epi32(x, 4); }
  static I subi(I a, I b) { return _mm256_sub_epi32(a, b); }
  static V cvt(I x) { return _mm256_cvtepi32_ps(x); }
  static constexpr bool kLookup16 = false;    ///< no 16-entry permute
  static constexpr bool kTranspose16 = false; ///< 8 lanes: no 16 x 16
  /// Lane i is table[x[i]].
  static V gather(I x, const float *table) {
    return _mm256_i32gather_ps(table, x, 4);
  }
  /// W halves or bfloat16s, widened to floats.
  static V loadF16(const uint16_t *p) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  }
  static V loadBf16(const uint16_t *p) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(
                              reinterpret_cast<const __m128i *>(p))),
                          16));
  }
  static float reduce(V x) {
    __m128 s =
        _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

} // namespace azr::cpu::simd

#endif // AZR_CPU_SIMD_AVX2_H
