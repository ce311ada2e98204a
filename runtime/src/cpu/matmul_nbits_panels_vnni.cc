//===- matmul_nbits_panels_vnni.cc - int8 tiles over column panels --------===//
//
// The int8 path's products of many rows (and all of matmul_nbits_packed's).
// Lanes run over columns instead of K, so that a lane's int32 sum covers a
// whole block and is scaled once a block; the decode layout of
// matmul_nbits_vnni.cc scales every 64 code bytes, which costs more than
// the products once rows share them. Codes come in panels of 32 columns
// (NBitsPanels): one 64-byte load holds 4 consecutive codes of 16 columns
// (two nibbles of a byte hold two groups of 4 at 4 bits, split in
// registers), multiplied by 4 activation bytes of a row broadcast from
// memory. Each block then takes, per row and 16 columns, its zero point
// times the row's block sum, one conversion and one multiply-add by the
// product of the two scales. Rows take turns on spans of blocks whose codes
// stay in L1. matmul_nbits' weights (onnxruntime's layout) are packed here
// one panel at a time; matmul_nbits_packed's were packed at build.
//
// Compiled like matmul_nbits_vnni.cc and only called where it may run.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"
#include "cpu/matmul_nbits.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/isa_target.h"

AZR_TARGET_VNNI_BEGIN

namespace {

using azr::cpu::NBitsInt8Rows;
using azr::cpu::NBitsPanels;
using azr::cpu::NBitsWeights;

constexpr int kPanel = int(azr::cpu::kNBitsPanelWidth);
constexpr int kStepBytes = kPanel * 4;

/// One panel's arrays, at its first block.
struct Panel {
  const uint8_t *codes;
  const void *scales;        ///< [kBlocks][32], f32 or f16
  const uint8_t *zeroPoints; ///< [kBlocks][32], or null
};

struct BlockShape {
  int64_t kBlocks, blockSize;
};

inline __m512i broadcast4(const int8_t *p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm512_set1_epi32(four);
}

/// C[row:row+R, n0:n0+cols] over blocks [b0, b1), added to what blocks
/// before b0 left in C.
template <int Bits, bool Half, bool Zp, int R>
void panelRows(const BlockShape &w, const Panel &p, const NBitsInt8Rows &a,
               int64_t row, float *C, int64_t ldc, int64_t n0, int64_t cols,
               int64_t b0, int64_t b1) {
  constexpr int perStep = Bits == 4 ? 8 : 4; // codes of a column a step
  const int64_t steps = w.blockSize / perStep;
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32  ? 0xFFFF
                       : cols > 16 ? __mmask16((1u << (cols - 16)) - 1)
                                   : 0;
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) {
    float *c = C + (row + r) * ldc + n0;
    acc[r][0] = b0 ? _mm512_maskz_loadu_ps(m0, c) : _mm512_setzero_ps();
    acc[r][1] = b0 ? _mm512_maskz_loadu_ps(m1, c + 16) : _mm512_setzero_ps();
  }
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const uint8_t *codes = p.codes + b0 * steps * kStepBytes;
  for (int64_t b = b0; b < b1; ++b) {
    __m512i dot[R][2];
    for (int r = 0; r < R; ++r)
      dot[r][0] = dot[r][1] = _mm512_setzero_si512();
    const int8_t *q[R];
    for (int r = 0; r < R; ++r)
      q[r] = a.q + (row + r) * a.padded + b * w.blockSize;
    for (int64_t s = 0; s < steps; ++s, codes += kStepBytes) {
      const __m512i x0 = _mm512_loadu_si512(codes);
      const __m512i x1 = _mm512_loadu_si512(codes + 64);
      if constexpr (Bits == 4) {
        const __m512i lo0 = _mm512_and_si512(x0, low4);
        const __m512i hi0 = _mm512_and_si512(_mm512_srli_epi16(x0, 4), low4);
        const __m512i lo1 = _mm512_and_si512(x1, low4);
        const __m512i hi1 = _mm512_and_si512(_mm512_srli_epi16(x1, 4), low4);
        for (int r = 0; r < R; ++r) {
          const __m512i first = broadcast4(q[r] + 8 * s);
          const __m512i second = broadcast4(q[r] + 8 * s + 4);
          dot[r][0] = _mm512_dpbusd_epi32(
              _mm512_dpbusd_epi32(dot[r][0], lo0, first), hi0, second);
          dot[r][1] = _mm512_dpbusd_epi32(
              _mm512_dpbusd_epi32(dot[r][1], lo1, first), hi1, second);
        }
      } else {
        for (int r = 0; r < R; ++r) {
          const __m512i x = broadcast4(q[r] + 4 * s);
          dot[r][0] = _mm512_dpbusd_epi32(dot[r][0], x0, x);
          dot[r][1] = _mm512_dpbusd_epi32(dot[r][1], x1, x);
        }
      }
    }
    __m512 s0, s1;
    if constexpr (Half) {
      const uint16_t *h = static_cast<const uint16_t *>(p.scales) + b * kPanel;
      s0 = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(h)));
      s1 = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(h + 16)));
    } else {
      const float *f = static_cast<const float *>(p.scales) + b * kPanel;
      s0 = _mm512_loadu_ps(f);
      s1 = _mm512_loadu_ps(f + 16);
    }
    __m512i z0, z1;
    if constexpr (Zp) {
      const uint8_t *z = p.zeroPoints + b * kPanel;
      z0 = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(z)));
      z1 = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(z + 16)));
    } else {
      z0 = z1 = _mm512_set1_epi32(1 << (Bits - 1));
    }
    for (int r = 0; r < R; ++r) {
      // zp < 2^8 and |block sum| <= 256 * 127 fit int16: one multiply-add
      // of 16-bit halves is zp * sum.
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
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(C + (row + r) * ldc + n0, m0, acc[r][0]);
    _mm512_mask_storeu_ps(C + (row + r) * ldc + n0 + 16, m1, acc[r][1]);
  }
}

/// C[rowBegin:rowEnd, n0:n0+cols] from one panel.
template <int Bits, bool Half, bool Zp>
void panelTile(const BlockShape &w, const Panel &p, const NBitsInt8Rows &a,
               int64_t rowBegin, int64_t rowEnd, float *C, int64_t ldc,
               int64_t n0, int64_t cols) {
  // Spans of blocks whose codes (32 columns x kSpanCodes) stay in L1 while
  // every group of rows reads them.
  constexpr int64_t kSpanCodes = 512;
  const int64_t span = std::max<int64_t>(1, kSpanCodes / w.blockSize);
  for (int64_t b0 = 0; b0 < w.kBlocks; b0 += span) {
    const int64_t b1 = std::min(w.kBlocks, b0 + span);
    int64_t i = rowBegin;
    for (; i + 4 <= rowEnd; i += 4)
      panelRows<Bits, Half, Zp, 4>(w, p, a, i, C, ldc, n0, cols, b0, b1);
    switch (rowEnd - i) {
    case 3:
      panelRows<Bits, Half, Zp, 3>(w, p, a, i, C, ldc, n0, cols, b0, b1);
      break;
    case 2:
      panelRows<Bits, Half, Zp, 2>(w, p, a, i, C, ldc, n0, cols, b0, b1);
      break;
    case 1:
      panelRows<Bits, Half, Zp, 1>(w, p, a, i, C, ldc, n0, cols, b0, b1);
      break;
    default:
      break;
    }
  }
}

template <int Bits>
void panelTileOf(const BlockShape &w, const Panel &p, bool half,
                 const NBitsInt8Rows &a, int64_t rowBegin, int64_t rowEnd,
                 float *C, int64_t ldc, int64_t n0, int64_t cols) {
  const bool zp = p.zeroPoints != nullptr;
  if (half)
    zp ? panelTile<Bits, true, true>(w, p, a, rowBegin, rowEnd, C, ldc, n0,
                                     cols)
       : panelTile<Bits, true, false>(w, p, a, rowBegin, rowEnd, C, ldc, n0,
                                      cols);
  else
    zp ? panelTile<Bits, false, true>(w, p, a, rowBegin, rowEnd, C, ldc, n0,
                                      cols)
       : panelTile<Bits, false, false>(w, p, a, rowBegin, rowEnd, C, ldc, n0,
                                       cols);
}

//===----------------------------------------------------------------------===//
// matmul_nbits' weights, packed a panel at a time.
//===----------------------------------------------------------------------===//

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

inline void store16(uint8_t *p, __m128i x) {
  _mm_storeu_si128(reinterpret_cast<__m128i *>(p), x);
}

/// Four columns' next 16 codes (one vector each, in k order) stored as
/// their steps: dword t of a column's steps is a 4 x 4 transpose away.
template <int Bits> inline void storeSteps(const __m128i v[4], uint8_t *dst) {
  if constexpr (Bits == 8) {
    // Four steps of 4 codes.
    const __m128i t0 = _mm_unpacklo_epi32(v[0], v[1]);
    const __m128i t1 = _mm_unpackhi_epi32(v[0], v[1]);
    const __m128i t2 = _mm_unpacklo_epi32(v[2], v[3]);
    const __m128i t3 = _mm_unpackhi_epi32(v[2], v[3]);
    store16(dst, _mm_unpacklo_epi64(t0, t2));
    store16(dst + kStepBytes, _mm_unpackhi_epi64(t0, t2));
    store16(dst + 2 * kStepBytes, _mm_unpacklo_epi64(t1, t3));
    store16(dst + 3 * kStepBytes, _mm_unpackhi_epi64(t1, t3));
  } else {
    // Two steps of 8 codes: byte j of dword 0 (2) is code j (8 + j) with
    // code 4 + j (12 + j) in its high nibble. Codes are below 16, so the
    // 32-bit shift moves no bits across bytes.
    __m128i p[4];
    for (int i = 0; i < 4; ++i)
      p[i] = _mm_or_si128(v[i], _mm_slli_epi32(_mm_srli_si128(v[i], 4), 4));
    const __m128i t0 = _mm_unpacklo_epi32(p[0], p[1]);
    const __m128i t1 = _mm_unpacklo_epi32(p[2], p[3]);
    const __m128i t2 = _mm_unpackhi_epi32(p[0], p[1]);
    const __m128i t3 = _mm_unpackhi_epi32(p[2], p[3]);
    store16(dst, _mm_unpacklo_epi64(t0, t1));
    store16(dst + kStepBytes, _mm_unpacklo_epi64(t2, t3));
  }
}

/// One panel of matmul_nbits' weight in NBitsPanels' layout, scales as f32.
struct PanelStorage {
  std::vector<uint8_t> codes, zeroPoints;
  std::vector<float> scales;
};

template <int Bits>
Panel packPanel(const NBitsWeights &w, int64_t n0, PanelStorage &panel) {
  const int64_t Kp = w.kBlocks * w.blockSize;
  const int64_t cols = std::min<int64_t>(kPanel, w.N - n0);
  const size_t perPanel = size_t(w.kBlocks * kPanel);
  // Every code is written below (zeros past the matrix); the scales and
  // zero points of missing columns must read 0.
  panel.codes.resize(size_t(Kp * Bits / 8 * kPanel));
  if (cols < kPanel) {
    panel.scales.assign(perPanel, 0.0f);
    panel.zeroPoints.assign(w.zeroPoints ? perPanel : 0, 0);
  } else {
    panel.scales.resize(perPanel);
    panel.zeroPoints.resize(w.zeroPoints ? perPanel : 0);
  }
  const int64_t columnBytes = w.kBlocks * w.blobSize;
  constexpr int64_t bytesPer16 = 16 * Bits / 8;
  alignas(16) static const uint8_t zeros[16] = {};
  for (int64_t c0 = 0; c0 < cols; c0 += 4) {
    const uint8_t *col[4];
    for (int i = 0; i < 4; ++i) // past the matrix: a column of zeros
      col[i] = c0 + i < cols ? w.B + (n0 + c0 + i) * columnBytes : nullptr;
    for (int64_t k = 0; k < Kp; k += 16) {
      const int64_t off = k / 16 * bytesPer16;
      __m128i v[4];
      for (int i = 0; i < 4; ++i)
        v[i] = sixteenCodes<Bits>(col[i] ? col[i] + off : zeros);
      storeSteps<Bits>(v, panel.codes.data() + (k * Bits / 32) * kStepBytes +
                              c0 * 4);
    }
  }
  // The int8 path takes integer codes with f32 or f16 scales.
  float *scales = panel.scales.data();
  uint8_t *zeroPoints = panel.zeroPoints.data();
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t first = (n0 + c) * w.kBlocks;
    if (w.halfScales) {
      const uint16_t *h = static_cast<const uint16_t *>(w.scales) + first;
      for (int64_t b = 0; b < w.kBlocks; ++b)
        scales[b * kPanel + c] = _cvtsh_ss(h[b]);
    } else {
      const float *f = static_cast<const float *>(w.scales) + first;
      for (int64_t b = 0; b < w.kBlocks; ++b)
        scales[b * kPanel + c] = f[b];
    }
    if (w.zeroPoints) {
      const uint8_t *z = w.zeroPoints + (n0 + c) * w.zpStride;
      for (int64_t b = 0; b < w.kBlocks; ++b)
        zeroPoints[b * kPanel + c] =
            Bits == 8 ? z[b] : uint8_t((z[b / 2] >> (4 * (b & 1))) & 0xF);
    }
  }
  return {panel.codes.data(), panel.scales.data(),
          w.zeroPoints ? panel.zeroPoints.data() : nullptr};
}

template <int Bits>
void packedTiles(const NBitsWeights &w, const NBitsInt8Rows &a,
                 int64_t rowBegin, int64_t rowEnd, float *C, int64_t ldc,
                 int64_t n0, int64_t n1) {
  thread_local PanelStorage storage;
  const BlockShape shape{w.kBlocks, w.blockSize};
  for (int64_t j = n0; j < n1; j += kPanel) {
    const Panel panel = packPanel<Bits>(w, j, storage);
    panelTileOf<Bits>(shape, panel, false, a, rowBegin, rowEnd, C, ldc, j,
                      std::min<int64_t>(kPanel, n1 - j));
  }
}

} // namespace

void azr::cpu::nbitsInt8TileVnni(const NBitsWeights &w, const NBitsInt8Rows &a,
                                 int64_t rowBegin, int64_t rowEnd, float *C,
                                 int64_t ldc, int64_t n0, int64_t n1) {
  if (w.bits == 4)
    packedTiles<4>(w, a, rowBegin, rowEnd, C, ldc, n0, n1);
  else
    packedTiles<8>(w, a, rowBegin, rowEnd, C, ldc, n0, n1);
}

void azr::cpu::nbitsPanelsTileVnni(const NBitsPanels &w, const NBitsInt8Rows &a,
                                   int64_t rowBegin, int64_t rowEnd, float *C,
                                   int64_t ldc, int64_t n0, int64_t n1) {
  const BlockShape shape{w.kBlocks, w.blockSize};
  const int64_t perPanel = w.kBlocks * kPanel;
  const size_t scaleBytes = w.halfScales ? 2 : 4;
  for (int64_t j = n0; j < n1; j += kPanel) {
    const int64_t panel = j / kPanel;
    const Panel p = {w.codes + panel * w.panelCodeBytes(),
                     static_cast<const char *>(w.scales) +
                         panel * perPanel * scaleBytes,
                     w.zeroPoints ? w.zeroPoints + panel * perPanel : nullptr};
    const int64_t cols = std::min<int64_t>(kPanel, n1 - j);
    if (w.bits == 4)
      panelTileOf<4>(shape, p, w.halfScales, a, rowBegin, rowEnd, C, ldc, j,
                     cols);
    else
      panelTileOf<8>(shape, p, w.halfScales, a, rowBegin, rowEnd, C, ldc, j,
                     cols);
  }
}

AZR_TARGET_END
