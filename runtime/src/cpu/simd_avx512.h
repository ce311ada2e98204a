//===- simd_avx512.h - AVX-512 traits for the SIMD tiles --------*- C++ -*-===//
//
// Include only from files compiled with -mavx512f -mfma (see sources.cmake)
// whose functions are called after cpuid reports AVX-512F.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_SIMD_AVX512_H
#define AZR_CPU_SIMD_AVX512_H

#include <immintrin.h>

#include <cstdint>

namespace azr::cpu::simd {

struct Avx512 {
  using V = __m512;
  using I = __m512i; ///< W int32 lanes
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

  // For the quantized tiles.
  static V set1(float x) { return _mm512_set1_ps(x); }
  static I set1i(int x) { return _mm512_set1_epi32(x); }
  /// W bytes, zero-extended to W int32 lanes.
  static I widen(const uint8_t *p) {
    return _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  }
  static I low4(I x) { return _mm512_and_si512(x, _mm512_set1_epi32(0xF)); }
  static I high4(I x) { return _mm512_srli_epi32(x, 4); }
  static I subi(I a, I b) { return _mm512_sub_epi32(a, b); }
  static V cvt(I x) { return _mm512_cvtepi32_ps(x); }
  static float reduce(V x) { return _mm512_reduce_add_ps(x); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  /// 16-entry tables: lane i of lookup16(x, t) is t[x[i] & 15].
  static constexpr bool kLookup16 = true;
  static V iota16() {
    return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  }
  static V lookup16(I x, V table) { return _mm512_permutexvar_ps(x, table); }
  /// Lane i is table[x[i]].
  static V gather(I x, const float *table) {
    return _mm512_i32gather_ps(x, table, 4);
  }
  /// W halves or bfloat16s, widened to floats.
  static V loadF16(const uint16_t *p) {
    return _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
  }
  static V loadBf16(const uint16_t *p) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(
                              reinterpret_cast<const __m256i *>(p))),
                          16));
  }
};

} // namespace azr::cpu::simd

#endif // AZR_CPU_SIMD_AVX512_H
