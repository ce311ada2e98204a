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

//===----------------------------------------------------------------------===//
// Tiles: many rows. Lanes run over columns instead of K, so that a lane's
// int32 sum covers a whole block and is scaled once a block (the decode
// layout above scales every 64 code bytes, which costs more than the
// products once rows share them). For each panel of 32 columns the codes are
// unpacked to bytes in the order vpdpbusd reads them, [K / 4][32][4]: one
// 64-byte load then holds 4 consecutive codes of 16 columns, multiplied by
// 4 activation bytes of a row broadcast from memory. Each block then takes,
// per row and 16 columns, its zero point times the row's block sum, one
// conversion and one multiply-add by the product of the two scales.
//===----------------------------------------------------------------------===//

constexpr int kPanel = 32; // columns a panel: two vectors of 16

/// One panel of 32 columns (those past the matrix are zero), unpacked.
struct Int8Panel {
  std::vector<uint8_t> codes;      ///< [kBlocks * blockSize / 4][32][4]
  std::vector<float> scales;       ///< [kBlocks][32]
  std::vector<int32_t> zeroPoints; ///< [kBlocks][32]
};

/// Four columns' 16 consecutive codes each (one 128-bit vector a column, in
/// k order) stored as 4 steps of 4 codes: step s of column c lands at
/// dst[s * kPanel * 4 + c * 4]. A 4 x 4 transpose of dwords.
inline void storeSteps(__m128i c0, __m128i c1, __m128i c2, __m128i c3,
                       uint8_t *dst) {
  const __m128i t0 = _mm_unpacklo_epi32(c0, c1),
                t1 = _mm_unpackhi_epi32(c0, c1);
  const __m128i t2 = _mm_unpacklo_epi32(c2, c3),
                t3 = _mm_unpackhi_epi32(c2, c3);
  constexpr int stride = kPanel * 4;
  _mm_storeu_si128(reinterpret_cast<__m128i *>(dst),
                   _mm_unpacklo_epi64(t0, t2));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + stride),
                   _mm_unpackhi_epi64(t0, t2));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + 2 * stride),
                   _mm_unpacklo_epi64(t1, t3));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + 3 * stride),
                   _mm_unpackhi_epi64(t1, t3));
}

/// 16 codes of a column from `p` in k order: 8 bytes of 4-bit codes (low
/// nibble first) or 16 bytes of 8-bit codes.
template <int Bits> inline __m128i sixteenCodes(const uint8_t *p) {
  if constexpr (Bits == 8) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
  } else {
    const __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
    const __m128i low4 = _mm_set1_epi8(0x0F);
    return _mm_unpacklo_epi8(_mm_and_si128(x, low4),
                             _mm_and_si128(_mm_srli_epi16(x, 4), low4));
  }
}

template <int Bits>
void packPanel(const NBitsWeights &w, int64_t n0, Int8Panel &panel) {
  const int64_t Kp = w.kBlocks * w.blockSize;
  panel.codes.assign(size_t(Kp / 4 * kPanel * 4), 0);
  panel.scales.assign(size_t(w.kBlocks * kPanel), 0.0f);
  panel.zeroPoints.assign(size_t(w.kBlocks * kPanel), 0);
  const int64_t cols = std::min<int64_t>(kPanel, w.N - n0);
  const int64_t columnBytes = w.kBlocks * w.blobSize;
  constexpr int64_t bytesPer16 = 16 * Bits / 8;
  for (int64_t c0 = 0; c0 < cols; c0 += 4) {
    const uint8_t *col[4];
    for (int i = 0; i < 4; ++i) // past the matrix: a column of zeros
      col[i] = c0 + i < cols ? w.B + (n0 + c0 + i) * columnBytes : nullptr;
    alignas(16) static const uint8_t zeros[16] = {};
    for (int64_t k = 0; k < Kp; k += 16) {
      const int64_t off = k / 16 * bytesPer16;
      __m128i v[4];
      for (int i = 0; i < 4; ++i)
        v[i] = sixteenCodes<Bits>(col[i] ? col[i] + off : zeros);
      storeSteps(v[0], v[1], v[2], v[3],
                 panel.codes.data() + (k / 4) * kPanel * 4 + c0 * 4);
    }
  }
  // The int8 path takes integer codes with f32 or f16 scales.
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t first = (n0 + c) * w.kBlocks;
    for (int64_t b = 0; b < w.kBlocks; ++b) {
      panel.scales[size_t(b * kPanel + c)] =
          w.halfScales
              ? _cvtsh_ss(static_cast<const uint16_t *>(w.scales)[first + b])
              : static_cast<const float *>(w.scales)[first + b];
      panel.zeroPoints[size_t(b * kPanel + c)] = w.zeroPoint(n0 + c, b);
    }
  }
}

/// C[row:row+R, n0:n0+cols] from a packed panel.
template <int R>
void panelRows(const NBitsWeights &w, const Int8Panel &panel,
               const NBitsInt8Rows &a, int64_t row, float *C, int64_t ldc,
               int64_t n0, int64_t cols) {
  const int64_t steps = w.blockSize / 4;
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const uint8_t *codes = panel.codes.data();
  for (int64_t b = 0; b < w.kBlocks; ++b) {
    __m512i dot[R][2];
    for (int r = 0; r < R; ++r)
      dot[r][0] = dot[r][1] = _mm512_setzero_si512();
    const int8_t *q[R];
    for (int r = 0; r < R; ++r)
      q[r] = a.q + (row + r) * a.padded + b * w.blockSize;
    for (int64_t s = 0; s < steps; ++s, codes += kPanel * 4) {
      const __m512i w0 = _mm512_loadu_si512(codes);
      const __m512i w1 = _mm512_loadu_si512(codes + 64);
      for (int r = 0; r < R; ++r) {
        int32_t four;
        std::memcpy(&four, q[r] + 4 * s, 4);
        const __m512i x = _mm512_set1_epi32(four);
        dot[r][0] = _mm512_dpbusd_epi32(dot[r][0], w0, x);
        dot[r][1] = _mm512_dpbusd_epi32(dot[r][1], w1, x);
      }
    }
    const __m512 s0 = _mm512_loadu_ps(panel.scales.data() + b * kPanel);
    const __m512 s1 = _mm512_loadu_ps(panel.scales.data() + b * kPanel + 16);
    const __m512i z0 = _mm512_loadu_si512(panel.zeroPoints.data() + b * kPanel);
    const __m512i z1 =
        _mm512_loadu_si512(panel.zeroPoints.data() + b * kPanel + 16);
    for (int r = 0; r < R; ++r) {
      // zp < 2^8 and |block sum| <= 256 * 127 fit int16 (see columns()).
      const __m512i sum =
          _mm512_set1_epi32(a.blockSum[(row + r) * w.kBlocks + b]);
      const __m512 sa = _mm512_set1_ps(a.scale[(row + r) * w.kBlocks + b]);
      const __m512i t0 =
          _mm512_sub_epi32(dot[r][0], _mm512_madd_epi16(z0, sum));
      const __m512i t1 =
          _mm512_sub_epi32(dot[r][1], _mm512_madd_epi16(z1, sum));
      acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t0), _mm512_mul_ps(s0, sa),
                                  acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t1), _mm512_mul_ps(s1, sa),
                                  acc[r][1]);
    }
  }
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32  ? 0xFFFF
                       : cols > 16 ? __mmask16((1u << (cols - 16)) - 1)
                                   : 0;
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(C + (row + r) * ldc + n0, m0, acc[r][0]);
    _mm512_mask_storeu_ps(C + (row + r) * ldc + n0 + 16, m1, acc[r][1]);
  }
}

template <int Bits>
void tileOfBits(const NBitsWeights &w, const NBitsInt8Rows &a, int64_t rowBegin,
                int64_t rowEnd, float *C, int64_t ldc, int64_t n0, int64_t n1) {
  thread_local Int8Panel panel;
  for (int64_t j = n0; j < n1; j += kPanel) {
    packPanel<Bits>(w, j, panel);
    const int64_t cols = std::min<int64_t>(kPanel, n1 - j);
    int64_t i = rowBegin;
    for (; i + 4 <= rowEnd; i += 4)
      panelRows<4>(w, panel, a, i, C, ldc, j, cols);
    switch (rowEnd - i) {
    case 3:
      panelRows<3>(w, panel, a, i, C, ldc, j, cols);
      break;
    case 2:
      panelRows<2>(w, panel, a, i, C, ldc, j, cols);
      break;
    case 1:
      panelRows<1>(w, panel, a, i, C, ldc, j, cols);
      break;
    default:
      break;
    }
  }
}

} // namespace

void azr::cpu::nbitsQuantizeRowVnni(const NBitsWeights &w, const float *a,
                                    float staticScale, int8_t *q, float *scale,
                                    int32_t *blockSum) {
  for (int64_t b = 0; b < w.kBlocks; ++b) {
    const int64_t k0 = b * w.blockSize;
    const int64_t n =
        std::max<int64_t>(0, std::min(w.K, k0 + w.blockSize) - k0);
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
      for (int64_t i = 0; i < w.blockSize; i += 16)
        m = _mm512_max_ps(
            _mm512_abs_ps(_mm512_maskz_loadu_ps(maskOf(i), a + k0 + i)), m);
      amax = _mm512_reduce_max_ps(m);
    }
    scale[b] = staticScale > 0.0f ? staticScale : amax / 127.0f;
    const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    const __m512 step = _mm512_set1_ps(staticScale);
    __m512i sum = _mm512_setzero_si512();
    for (int64_t i = 0; i < w.blockSize; i += 16) {
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

void azr::cpu::nbitsInt8TileVnni(const NBitsWeights &w, const NBitsInt8Rows &a,
                                 int64_t rowBegin, int64_t rowEnd, float *C,
                                 int64_t ldc, int64_t n0, int64_t n1) {
  if (w.bits == 4)
    tileOfBits<4>(w, a, rowBegin, rowEnd, C, ldc, n0, n1);
  else
    tileOfBits<8>(w, a, rowBegin, rowEnd, C, ldc, n0, n1);
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
