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
  /// Stores the transpose of 16 vectors: lane c of rows[k] lands at
  /// dst[c * stride + k] (16 columns of a panel, given as its rows).
  static constexpr bool kTranspose16 = true;
  static void storeTransposed(V rows[16], float *dst, int64_t stride) {
    V t[16], u[16], v[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
      const __m512d a = _mm512_castps_pd(t[4 * i]);
      const __m512d b = _mm512_castps_pd(t[4 * i + 1]);
      const __m512d c = _mm512_castps_pd(t[4 * i + 2]);
      const __m512d d = _mm512_castps_pd(t[4 * i + 3]);
      u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
      u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
      u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
      u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 4; ++i) {
        v[8 * h + i] =
            _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0x88);
        v[8 * h + 4 + i] =
            _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0xDD);
      }
    for (int i = 0; i < 8; ++i) {
      _mm512_storeu_ps(dst + i * stride,
                       _mm512_shuffle_f32x4(v[i], v[8 + i], 0x88));
      _mm512_storeu_ps(dst + (8 + i) * stride,
                       _mm512_shuffle_f32x4(v[i], v[8 + i], 0xDD));
    }
  }
  /// W 4-bit codes from W / 2 bytes, lane i holding code i (low nibble
  /// first), in the low 4 bits of its lane (the rest is garbage a 16-entry
  /// lookup ignores).
  static I nibbles(const uint8_t *p) {
    const __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
    return _mm512_srlv_epi32(
        _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(x, x)),
        _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4));
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
