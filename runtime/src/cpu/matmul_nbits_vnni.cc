//===- matmul_nbits_vnni.cc - matmul_nbits accuracy_level 4 on AVX512_VNNI ===//
//
// Compiled for AVX-512 F/BW/VL/VNNI, FMA and F16C inside a target region
// (isa_target.h) and only called
// when cpuid reports them all (nbitsInt8Path()). Rows of A come quantized
// to int8 per block (NBitsInt8Rows); B's codes are read 64 bytes at a time
// and multiplied into int32 lanes by vpdpbusd (unsigned codes times signed
// activations, 4 products a lane). A lane's 4 code bytes always lie in one
// block, so each lane is corrected for its block's zero point (less zp
// times the lane's activation sum), converted (exactly: |sum| < 2^24) and
// scaled by its block's two scales into float accumulators. A chunk's
// zero points fit in 32 bits of the packed array, so they reach their
// lanes as one broadcast and a per-lane shift rather than a scalar loop.
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

AZR_TARGET_VNNI_BEGIN

namespace {

using azr::cpu::NBitsInt8Rows;
using azr::cpu::NBitsWeights;

/// The zero points of blocks b0 .. b0+nb-1 of column n (nb as a chunk holds,
/// at most 8 at 4 bits and 4 at 8), each in the lanes whose codes lie in its
/// block: `laneShift` is each lane's block within the chunk times Bits.
template <int Bits>
__m512i zeroPointLanes(const NBitsWeights &w, int64_t n, int64_t b0, int64_t nb,
                       __m512i laneShift) {
  const int64_t first = Bits == 4 ? b0 / 2 : b0;
  const int64_t bytes =
      (Bits == 4 ? (b0 + nb - 1) / 2 : b0 + nb - 1) - first + 1;
  const uint8_t *p = w.zeroPoints + n * w.zpStride + first;
  uint32_t packed = 0;
  // Four bytes at once unless that would pass the array's end.
  if (n * w.zpStride + first + 4 <= w.N * w.zpStride)
    std::memcpy(&packed, p, 4);
  else
    for (int64_t i = 0; i < bytes; ++i)
      packed |= uint32_t(p[i]) << (8 * i);
  const __m512i shift = Bits == 4 && (b0 & 1)
                            ? _mm512_add_epi32(laneShift, _mm512_set1_epi32(4))
                            : laneShift;
  return _mm512_and_si512(
      _mm512_srlv_epi32(_mm512_set1_epi32(int32_t(packed)), shift),
      _mm512_set1_epi32((1 << Bits) - 1));
}

/// C[0:R, n0:n0+NC] for NC whole columns.
template <int Bits, bool Half, bool Zp, int R, int NC>
void columns(const NBitsWeights &w, const NBitsInt8Rows &a, int64_t row,
             float *C, int64_t ldc, int64_t n0) {
  constexpr int64_t perChunk = 64 * (8 / Bits); // codes per 64 bytes
  const int64_t columnBytes = w.kBlocks * w.blobSize;
  const int64_t chunks = (columnBytes + 63) / 64;
  // Lane i reads code bytes 4i..4i+3 of its chunk: block 4i / blobSize of
  // the blocks starting in the chunk (all one block when blobs are larger).
  const int64_t blocksPerChunk = w.blobSize < 64 ? 64 / w.blobSize : 1;
  // Block sizes are powers of two: chunk c starts in block (c * 64) >>
  // blobShift.
  const int blobShift = __builtin_ctzll(uint64_t(w.blobSize));
  const __m512i laneBlock =
      w.blobSize < 64
          ? _mm512_srl_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32,
                                               36, 40, 44, 48, 52, 56, 60),
                             _mm_cvtsi32_si128(blobShift))
          : _mm512_setzero_si512();
  const __m512i laneShift =
      _mm512_mullo_epi32(laneBlock, _mm512_set1_epi32(Bits));
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512 acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NC; ++j)
      acc[r][j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t off = c * 64;
    const int64_t bytes = std::min<int64_t>(64, columnBytes - off);
    const __mmask64 m =
        bytes == 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1;
    const int64_t b0 = off >> blobShift;
    const int64_t nb = std::min(blocksPerChunk, w.kBlocks - b0);
    const __mmask16 sm = __mmask16((1u << nb) - 1);
    __m512i v0[NC], v1[NC], zp[NC];
    __m512 sb[NC];
    for (int j = 0; j < NC; ++j) {
      const uint8_t *col = w.B + (n0 + j) * columnBytes;
      const __m512i x = _mm512_maskz_loadu_epi8(m, col + off);
      const int64_t si = (n0 + j) * w.kBlocks + b0;
      // The same chunk of the next columns, codes and scales: a column is
      // too short a stream for the hardware prefetchers.
      __builtin_prefetch(col + NC * columnBytes + off);
      __builtin_prefetch(static_cast<const char *>(w.scales) +
                         (si + NC * w.kBlocks) * (Half ? 2 : 4));
      __m512 s;
      if constexpr (Half)
        s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(
            sm, static_cast<const uint16_t *>(w.scales) + si));
      else
        s = _mm512_maskz_loadu_ps(sm,
                                  static_cast<const float *>(w.scales) + si);
      sb[j] = _mm512_permutexvar_ps(laneBlock, s);
      if constexpr (Zp)
        zp[j] = zeroPointLanes<Bits>(w, n0 + j, b0, nb, laneShift);
      if constexpr (Bits == 4) {
        v0[j] = _mm512_and_si512(x, low4);
        v1[j] = _mm512_and_si512(_mm512_srli_epi16(x, 4), low4);
      } else {
        v0[j] = x;
      }
    }
    for (int r = 0; r < R; ++r) {
      const int8_t *q = a.chunked + (row + r) * a.padded + c * perChunk;
      const __m512i q0 = _mm512_loadu_si512(q);
      const __m512i q1 =
          Bits == 4 ? _mm512_loadu_si512(q + 64) : _mm512_setzero_si512();
      const int64_t lane = (row + r) * a.lanes + c * 16;
      const __m512i sum = _mm512_loadu_si512(a.laneSum + lane);
      // Without zero points every block's is 2^(bits-1).
      const __m512i fixedZp = _mm512_slli_epi32(sum, Bits - 1);
      const __m512 sa = _mm512_loadu_ps(a.laneScale + lane);
      for (int j = 0; j < NC; ++j) {
        __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v0[j], q0);
        if constexpr (Bits == 4)
          dot = _mm512_dpbusd_epi32(dot, v1[j], q1);
        // zp < 2^8 and |sum| <= 8 * 127 both fit int16: one multiply-add of
        // 16-bit halves (the high halves give 0 * sign) is zp * sum.
        const __m512i t =
            _mm512_sub_epi32(dot, Zp ? _mm512_madd_epi16(zp[j], sum) : fixedZp);
        acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t),
                                    _mm512_mul_ps(sb[j], sa), acc[r][j]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NC; ++j)
      C[r * ldc + n0 + j] = _mm512_reduce_add_ps(acc[r][j]);
}

template <int Bits, bool Half, bool Zp, int R>
void rowGroup(const NBitsWeights &w, const NBitsInt8Rows &a, int64_t row,
              float *C, int64_t ldc, int64_t n0, int64_t n1) {
  constexpr int NC = R <= 2 ? 4 : 2;
  int64_t n = n0;
  for (; n + NC <= n1; n += NC)
    columns<Bits, Half, Zp, R, NC>(w, a, row, C, ldc, n);
  for (; n < n1; ++n)
    columns<Bits, Half, Zp, R, 1>(w, a, row, C, ldc, n);
}

template <int Bits, bool Half, bool Zp>
void rowsOf(const NBitsWeights &w, const NBitsInt8Rows &a, int64_t row,
            int rows, float *C, int64_t ldc, int64_t n0, int64_t n1) {
  switch (rows) {
  case 1:
    return rowGroup<Bits, Half, Zp, 1>(w, a, row, C, ldc, n0, n1);
  case 2:
    return rowGroup<Bits, Half, Zp, 2>(w, a, row, C, ldc, n0, n1);
  case 3:
    return rowGroup<Bits, Half, Zp, 3>(w, a, row, C, ldc, n0, n1);
  default:
    return rowGroup<Bits, Half, Zp, 4>(w, a, row, C, ldc, n0, n1);
  }
}

template <int Bits>
void ofBits(const NBitsWeights &w, const NBitsInt8Rows &a, int64_t row,
            int rows, float *C, int64_t ldc, int64_t n0, int64_t n1) {
  const bool zp = w.zeroPoints != nullptr;
  if (w.halfScales)
    zp ? rowsOf<Bits, true, true>(w, a, row, rows, C, ldc, n0, n1)
       : rowsOf<Bits, true, false>(w, a, row, rows, C, ldc, n0, n1);
  else
    zp ? rowsOf<Bits, false, true>(w, a, row, rows, C, ldc, n0, n1)
       : rowsOf<Bits, false, false>(w, a, row, rows, C, ldc, n0, n1);
}

} // namespace

void azr::cpu::nbitsQuantizeRowVnni(int64_t K, int64_t blockSize,
                                    const float *a, float staticScale,
                                    int8_t *q, float *scale,
                                    int32_t *blockSum) {
  const int64_t kBlocks = (K + blockSize - 1) / blockSize;
  for (int64_t b = 0; b < kBlocks; ++b) {
    const int64_t k0 = b * blockSize;
    const int64_t n = std::max<int64_t>(0, std::min(K, k0 + blockSize) - k0);
    auto maskOf = [&](int64_t i) {
      const int64_t left = n - i;
      return left >= 16 ? __mmask16(0xFFFF)
             : left > 0 ? __mmask16((1u << left) - 1)
                        : __mmask16(0);
    };
    float amax;
    if (staticScale > 0.0f) {
      amax = staticScale * 127.0f;
    } else {
      // NaN lanes keep the running maximum, as std::max(amax, NaN) does.
      __m512 m = _mm512_setzero_ps();
      for (int64_t i = 0; i < blockSize; i += 16)
        m = _mm512_max_ps(
            _mm512_abs_ps(_mm512_maskz_loadu_ps(maskOf(i), a + k0 + i)), m);
      amax = _mm512_reduce_max_ps(m);
    }
    scale[b] = staticScale > 0.0f ? staticScale : amax / 127.0f;
    const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    const __m512 step = _mm512_set1_ps(staticScale);
    __m512i sum = _mm512_setzero_si512();
    for (int64_t i = 0; i < blockSize; i += 16) {
      const __m512 x = _mm512_maskz_loadu_ps(maskOf(i), a + k0 + i);
      const __m512 y =
          staticScale > 0.0f ? _mm512_div_ps(x, step) : _mm512_mul_ps(x, inv);
      // Clamped first, NaN to -127 (max_ps returns its second operand
      // when either is NaN), then rounded to nearest even.
      const __m512 c = _mm512_min_ps(_mm512_max_ps(y, _mm512_set1_ps(-127.0f)),
                                     _mm512_set1_ps(127.0f));
      const __m512i r = _mm512_cvtps_epi32(_mm512_roundscale_ps(
          c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      sum = _mm512_add_epi32(sum, r);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(q + k0 + i),
                       _mm512_cvtsepi32_epi8(r));
    }
    blockSum[b] = _mm512_reduce_add_epi32(sum);
  }
}

void azr::cpu::nbitsInt8Vnni(const NBitsWeights &w, const NBitsInt8Rows &a,
                             int64_t row, int rows, float *C, int64_t ldc,
                             int64_t n0, int64_t n1) {
  if (w.bits == 4)
    ofBits<4>(w, a, row, rows, C, ldc, n0, n1);
  else
    ofBits<8>(w, a, row, rows, C, ldc, n0, n1);
}

AZR_TARGET_END
