//===- gemm_simd.h - the f32 GEMM tile, written once for every ISA -*- C++
//-*-===//
//
// The tile follows the BLIS structure. For each block of KC rows of B, the
// block's columns are packed into panels NR = NV * W floats wide (zero
// padded) and each group of MR rows of A into an MR-interleaved strip, so
// the micro-kernel reads both with unit stride and keeps an MR x NR block
// of C in registers for the whole block. Rows of C accumulate their k terms
// in increasing k order, one fused multiply-add at a time, so a result does
// not depend on how rows or columns are split across threads.
//
// Few rows (a matrix-vector product, a decode step) are not worth packing:
// B is streamed once from memory straight into the multiply-adds.
//
// The packing of B is a hook (packedTile's PackB): the quantized matmul
// dequantizes its weight blocks straight into the same panels and reuses
// the micro-kernel unchanged. A weight packed at build (matmul_packed:
// column panels of kPanelWidth floats or halves, each panel's K rows
// contiguous) is read in place when the tile's panels have that width, and
// copied into narrower ones otherwise; halves are widened as they are
// loaded into registers.
//
// An ISA file defines a traits struct (vector type V, W lanes, load, store,
// partial load/store of n < W lanes, fma, broadcast, add) and instantiates
// gemmTileSimd with it, compiled with that ISA's flags.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_GEMM_SIMD_H
#define AZR_CPU_GEMM_SIMD_H

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace azr::cpu::simd {

constexpr int64_t kKC = 256;   ///< rows of B per packed block
constexpr int kSkinnyRows = 4; ///< at most this many rows: no packing
/// Columns per panel of a weight packed at build (see panelOffset).
constexpr int64_t kPanelWidth = 32;

/// Where B[k, j] is in a weight packed at build: panel j / 32 holds rows
/// 0..K-1 of its 32 columns, one row after another, zero padded past N.
inline int64_t panelOffset(int64_t K, int64_t k, int64_t j) {
  return (j / kPanelWidth) * K * kPanelWidth + k * kPanelWidth +
         j % kPanelWidth;
}

/// How B's panels store their values: floats, or halves (IEEE f16 or
/// bfloat16, widened exactly as they are loaded).
enum PanelKind : int { kPanelF32 = 0, kPanelF16 = 1, kPanelBf16 = 2 };
template <int Kind>
using PanelElement = std::conditional_t<Kind == kPanelF32, float, uint16_t>;

template <class T, int Kind>
inline typename T::V loadPanel(const PanelElement<Kind> *p) {
  if constexpr (Kind == kPanelF16)
    return T::loadF16(p);
  else if constexpr (Kind == kPanelBf16)
    return T::loadBf16(p);
  else
    return T::load(p);
}

/// The kind of panels a packing hook writes (kPanelF32 unless it says).
template <class P, class = void> struct PanelKindOf {
  static constexpr int value = kPanelF32;
};
template <class P> struct PanelKindOf<P, std::void_t<decltype(P::kKind)>> {
  static constexpr int value = P::kKind;
};

/// C[rows, cols] (+)= packed A strip (kc x MR) * packed B panel (kc x NR),
/// computing the first R <= MR rows of the strip (a short last strip of
/// rows costs only what it holds).
template <class T, int MR, int NV, int Kind = kPanelF32, int R = MR>
inline void microKernel(int64_t kc, const float *pa,
                        const PanelElement<Kind> *pb, float *C, int64_t ldc,
                        int rows, int cols, bool accumulate) {
  using V = typename T::V;
  constexpr int W = T::W, NR = NV * W;
  V acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v)
      acc[r][v] = T::zero();
  for (int64_t k = 0; k < kc; ++k) {
    V b[NV];
    for (int v = 0; v < NV; ++v)
      b[v] = loadPanel<T, Kind>(pb + k * NR + v * W);
    for (int r = 0; r < R; ++r) {
      V a = T::broadcast(pa + k * MR + r);
      for (int v = 0; v < NV; ++v)
        acc[r][v] = T::fma(a, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < rows; ++r)
    for (int v = 0; v < NV; ++v) {
      int n = std::min(W, cols - v * W);
      if (n <= 0)
        break;
      float *c = C + r * ldc + v * W;
      V x = acc[r][v];
      if (n == W) {
        if (accumulate)
          x = T::add(x, T::load(c));
        T::store(c, x);
      } else {
        if (accumulate)
          x = T::add(x, T::loadPartial(c, n));
        T::storePartial(c, x, n);
      }
    }
}

/// Stores R rows of NV vectors of accumulators into C, `cols` columns.
template <class T, int R, int NV>
inline void storeRows(const typename T::V (&acc)[R][NV], float *C, int64_t ldc,
                      int cols) {
  constexpr int W = T::W;
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      int n = std::min(W, cols - v * W);
      if (n <= 0)
        break;
      float *c = C + r * ldc + v * W;
      if (n == W)
        T::store(c, acc[r][v]);
      else
        T::storePartial(c, acc[r][v], n);
    }
}

/// R rows of C[:, colBegin:colEnd] = A[R rows, :K] * B, B read in place.
template <class T, int R>
inline void skinnyRows(int64_t K, const float *A, int64_t lda, int64_t acs,
                       const float *B, int64_t ldb, float *C, int64_t ldc,
                       int64_t colBegin, int64_t colEnd) {
  using V = typename T::V;
  constexpr int W = T::W, NV = 4;
  for (int64_t j0 = colBegin; j0 < colEnd; j0 += NV * W) {
    const int cols = int(std::min<int64_t>(NV * W, colEnd - j0));
    V acc[R][NV];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v)
        acc[r][v] = T::zero();
    if (cols == NV * W) {
      for (int64_t k = 0; k < K; ++k) {
        const float *b = B + k * ldb + j0;
        V bv[NV];
        for (int v = 0; v < NV; ++v)
          bv[v] = T::load(b + v * W);
        for (int r = 0; r < R; ++r) {
          V a = T::broadcast(A + r * lda + k * acs);
          for (int v = 0; v < NV; ++v)
            acc[r][v] = T::fma(a, bv[v], acc[r][v]);
        }
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const float *b = B + k * ldb + j0;
        V bv[NV];
        for (int v = 0; v < NV; ++v) {
          int n = std::clamp(cols - v * W, 0, W);
          bv[v] = n == W ? T::load(b + v * W)
                  : n    ? T::loadPartial(b + v * W, n)
                         : T::zero();
        }
        for (int r = 0; r < R; ++r) {
          V a = T::broadcast(A + r * lda + k * acs);
          for (int v = 0; v < NV; ++v)
            acc[r][v] = T::fma(a, bv[v], acc[r][v]);
        }
      }
    }
    storeRows<T, R, NV>(acc, C + j0, ldc, cols);
  }
}

template <class T>
inline void skinnyTile(int64_t K, const float *A, int64_t lda, int64_t acs,
                       const float *B, int64_t ldb, float *C, int64_t ldc,
                       int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                       int64_t colEnd) {
  int64_t i = rowBegin;
  for (; i + 4 <= rowEnd; i += 4)
    skinnyRows<T, 4>(K, A + i * lda, lda, acs, B, ldb, C + i * ldc, ldc,
                     colBegin, colEnd);
  for (; i + 2 <= rowEnd; i += 2)
    skinnyRows<T, 2>(K, A + i * lda, lda, acs, B, ldb, C + i * ldc, ldc,
                     colBegin, colEnd);
  for (; i < rowEnd; ++i)
    skinnyRows<T, 1>(K, A + i * lda, lda, acs, B, ldb, C + i * ldc, ldc,
                     colBegin, colEnd);
}

/// Packs B[k0:k0+kc, j:j+n] of a dense row-major f32 B into a panel of NR
/// floats per k, zero padded past n: the default packing hook.
struct PackF32 {
  const float *B;
  int64_t ldb;
  void operator()(int64_t k0, int64_t kc, int64_t j, int64_t n, float *dst,
                  int NR) const {
    for (int64_t k = 0; k < kc; ++k) {
      const float *src = B + (k0 + k) * ldb + j;
      std::copy(src, src + n, dst + k * NR);
      std::fill(dst + k * NR + n, dst + (k + 1) * NR, 0.0f);
    }
  }
};

/// Panels of a weight packed at build (floats or halves): read in place
/// when the tile's panel width is kPanelWidth and the panel starts on one
/// (panelFor), else copied, still unwidened, into the tile's width.
template <int Kind> struct PrepackedPanels {
  static constexpr int kKind = Kind;
  const PanelElement<Kind> *packed;
  int64_t K;
  void operator()(int64_t k0, int64_t kc, int64_t j, int64_t n,
                  PanelElement<Kind> *dst, int NR) const {
    for (int64_t k = 0; k < kc; ++k) {
      PanelElement<Kind> *row = dst + k * NR;
      for (int64_t c = 0; c < n; ++c)
        row[c] = packed[panelOffset(K, k0 + k, j + c)];
      std::fill(row + n, row + NR, PanelElement<Kind>(0));
    }
  }
};

/// The panel for B[k0:k0+kc, j:j+n]: written into `scratch` by the hook,
/// or, for weights packed at build in the tile's own layout, in place.
template <class PackB, class E>
inline const E *panelFor(const PackB &packB, int64_t k0, int64_t kc, int64_t j,
                         int64_t n, E *scratch, int NR) {
  packB(k0, kc, j, n, scratch, NR);
  return scratch;
}
template <int Kind>
inline const PanelElement<Kind> *
panelFor(const PrepackedPanels<Kind> &packB, int64_t k0, int64_t kc, int64_t j,
         int64_t n, PanelElement<Kind> *scratch, int NR) {
  if (NR == kPanelWidth && j % kPanelWidth == 0)
    return packB.packed + panelOffset(packB.K, k0, j);
  packB(k0, kc, j, n, scratch, NR);
  return scratch;
}

/// C[rowBegin:rowEnd, colBegin:colEnd] = A * B (overwritten), always through
/// packed panels. `packB(k0, kc, j, n, dst, NR)` writes B[k0:k0+kc, j:j+n]
/// into dst[k * NR + col], zero for col >= n: B may be stored in any form
/// (dense f32, quantized blocks) as long as it can produce such panels.
template <class T, int MR, int NV, class PackB>
inline void packedTile(int64_t K, const float *A, int64_t lda, int64_t acs,
                       const PackB &packB, float *C, int64_t ldc,
                       int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                       int64_t colEnd) {
  const int64_t rows = rowEnd - rowBegin, cols = colEnd - colBegin;
  if (rows <= 0 || cols <= 0)
    return;
  if (K == 0) {
    for (int64_t i = rowBegin; i < rowEnd; ++i)
      std::fill(C + i * ldc + colBegin, C + i * ldc + colEnd, 0.0f);
    return;
  }
  constexpr int NR = NV * T::W;
  constexpr int Kind = PanelKindOf<PackB>::value;
  using E = PanelElement<Kind>;
  const int64_t panels = (cols + NR - 1) / NR;
  thread_local std::vector<float> packA;
  thread_local std::vector<E> packBuf;
  thread_local std::vector<const E *> panelAt;
  packA.resize(size_t(kKC * MR));
  packBuf.resize(size_t(kKC * NR * panels));
  panelAt.resize(size_t(panels));
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t j = colBegin + p * NR;
      panelAt[size_t(p)] =
          panelFor(packB, k0, kc, j, std::min<int64_t>(NR, colEnd - j),
                   packBuf.data() + p * kc * NR, NR);
    }
    for (int64_t i = rowBegin; i < rowEnd; i += MR) {
      const int m = int(std::min<int64_t>(MR, rowEnd - i));
      float *pa = packA.data();
      for (int r = 0; r < MR; ++r) {
        if (r < m) {
          const float *src = A + (i + r) * lda + k0 * acs;
          for (int64_t k = 0; k < kc; ++k)
            pa[k * MR + r] = src[k * acs];
        } else {
          for (int64_t k = 0; k < kc; ++k)
            pa[k * MR + r] = 0.0f;
        }
      }
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t j = colBegin + p * NR;
        const int cols = int(std::min<int64_t>(NR, colEnd - j));
        float *c = C + i * ldc + j;
        if (MR > 4 && m <= 4)
          microKernel<T, MR, NV, Kind, std::min(MR, 4)>(
              kc, pa, panelAt[size_t(p)], c, ldc, m, cols, k0 > 0);
        else if (MR > 8 && m <= 8)
          microKernel<T, MR, NV, Kind, std::min(MR, 8)>(
              kc, pa, panelAt[size_t(p)], c, ldc, m, cols, k0 > 0);
        else
          microKernel<T, MR, NV, Kind>(kc, pa, panelAt[size_t(p)], c, ldc, m,
                                       cols, k0 > 0);
      }
    }
  }
}

/// C[rowBegin:rowEnd, colBegin:colEnd] = A * B (overwritten).
template <class T, int MR, int NV>
inline void gemmTileSimd(int64_t K, const float *A, int64_t lda, int64_t acs,
                         const float *B, int64_t ldb, float *C, int64_t ldc,
                         int64_t rowBegin, int64_t rowEnd, int64_t colBegin,
                         int64_t colEnd) {
  if (K > 0 && rowEnd - rowBegin > 0 && rowEnd - rowBegin <= kSkinnyRows &&
      colEnd > colBegin) {
    skinnyTile<T>(K, A, lda, acs, B, ldb, C, ldc, rowBegin, rowEnd, colBegin,
                  colEnd);
    return;
  }
  packedTile<T, MR, NV>(K, A, lda, acs, PackF32{B, ldb}, C, ldc, rowBegin,
                        rowEnd, colBegin, colEnd);
}

/// R rows of C[:, colBegin:colEnd] = A * B for a weight packed at build,
/// colBegin a multiple of kPanelWidth: each panel streamed once, in place.
template <class T, int R, int Kind>
inline void skinnyRowsPrepacked(int64_t K, const float *A, int64_t lda,
                                int64_t acs, const PanelElement<Kind> *packed,
                                float *C, int64_t ldc, int64_t colBegin,
                                int64_t colEnd) {
  using V = typename T::V;
  constexpr int W = T::W, NV = int(kPanelWidth) / W;
  for (int64_t j0 = colBegin; j0 < colEnd; j0 += kPanelWidth) {
    const int cols = int(std::min<int64_t>(kPanelWidth, colEnd - j0));
    const PanelElement<Kind> *panel = packed + panelOffset(K, 0, j0);
    V acc[R][NV];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v)
        acc[r][v] = T::zero();
    for (int64_t k = 0; k < K; ++k) {
      V bv[NV];
      for (int v = 0; v < NV; ++v)
        bv[v] = loadPanel<T, Kind>(panel + k * kPanelWidth + v * W);
      for (int r = 0; r < R; ++r) {
        V a = T::broadcast(A + r * lda + k * acs);
        for (int v = 0; v < NV; ++v)
          acc[r][v] = T::fma(a, bv[v], acc[r][v]);
      }
    }
    storeRows<T, R, NV>(acc, C + j0, ldc, cols);
  }
}

/// C[rowBegin:rowEnd, colBegin:colEnd] = A * B (overwritten) for a weight
/// packed at build, of floats or halves; colBegin is a multiple of
/// kPanelWidth.
template <class T, int MR, int NV, int Kind = kPanelF32>
inline void gemmTilePrepackedSimd(int64_t K, const float *A, int64_t lda,
                                  int64_t acs, const PanelElement<Kind> *packed,
                                  float *C, int64_t ldc, int64_t rowBegin,
                                  int64_t rowEnd, int64_t colBegin,
                                  int64_t colEnd) {
  const int64_t rows = rowEnd - rowBegin;
  if (K > 0 && rows > 0 && rows <= kSkinnyRows && colEnd > colBegin) {
    int64_t i = rowBegin;
    for (; i + 2 <= rowEnd; i += 2)
      skinnyRowsPrepacked<T, 2, Kind>(K, A + i * lda, lda, acs, packed,
                                      C + i * ldc, ldc, colBegin, colEnd);
    if (i < rowEnd)
      skinnyRowsPrepacked<T, 1, Kind>(K, A + i * lda, lda, acs, packed,
                                      C + i * ldc, ldc, colBegin, colEnd);
    return;
  }
  packedTile<T, MR, NV>(K, A, lda, acs, PrepackedPanels<Kind>{packed, K}, C,
                        ldc, rowBegin, rowEnd, colBegin, colEnd);
}

} // namespace azr::cpu::simd

#endif // AZR_CPU_GEMM_SIMD_H
