//===- matmul_nbits_simd.h - the quantized matmul per ISA ------*- C++ -*-===//
//
// Decode (up to 4 rows a call): B is read once, straight from its packed
// codes into the multiply-adds. With a 16-entry permute (AVX-512), W 4-bit
// codes are looked up in a per-block table of float(code - zp) * scale;
// otherwise a group of 2W codes of one column is widened to int32 lanes,
// less its zero point, converted to float and multiplied into per-block
// accumulators, each block's then scaled once. 4-bit codes unpack as the W
// low nibbles (even elements) and the W high nibbles (odd elements) of W
// bytes, so the caller stores each group of A as its even elements then
// its odd ones (prepareNBitsRows). A group never spans two blocks: the
// block size must be at least 2W.
//
// Tiles (many rows): the f32 tile of gemm_simd.h, with a packing hook that
// dequantizes B's codes into the f32 panels the micro-kernel reads.
//
// Codebook codes (NF4, FP8 E4M3) are values looked up in the codebook: the
// 4-bit table holds codebook * scale, the other paths gather from the
// codebook and scale each block's sums once, as for integer codes.
//
// An ISA file instantiates these with gemm_simd.h's traits plus the integer
// operations (I, set1, set1i, widen, low4, high4, subi, cvt, reduce, and
// kLookup16 with sub, mul, iota16, lookup16 when it has the permute, and
// gather) and a half -> float conversion.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_MATMUL_NBITS_SIMD_H
#define AZR_CPU_MATMUL_NBITS_SIMD_H

#include "cpu/gemm_simd.h"
#include "cpu/matmul_nbits.h"

#include <type_traits>

namespace azr::cpu::simd {

/// Decode reads NC columns at a time, block by block, and prefetches the
/// same block of the NC columns after them, the next ones it reads: a
/// column is only K * bits / 8 bytes, too short a stream for the hardware
/// prefetchers to ramp up on, and they stop at page boundaries.
template <int NC, int S>
inline void nbitsPrefetchNext(const NBitsWeights &w, const uint8_t *codes,
                              int64_t scaleIndex) {
  constexpr int scaleBytes = S == kScalesF32 ? 4 : S == kScalesF16 ? 2 : 1;
  __builtin_prefetch(codes + NC * w.kBlocks * w.blobSize);
  __builtin_prefetch(static_cast<const char *>(w.scales) +
                     (scaleIndex + NC * w.kBlocks) * scaleBytes);
}

/// Scale i of a step whose scales are of kind S.
template <class HalfToFloat, int S>
inline float nbitsScale(const NBitsWeights &w, int64_t i) {
  if constexpr (S == kScalesF16)
    return HalfToFloat()(static_cast<const uint16_t *>(w.scales)[i]);
  else if constexpr (S == kScalesI8) {
    const float *g = w.scaleSteps + 2 * (i / kNBitsScaleGroup);
    return float(static_cast<const int8_t *>(w.scales)[i]) * g[0] + g[1];
  } else
    return static_cast<const float *>(w.scales)[i];
}

/// C[0:R, n0:n0+NC] for NC whole columns, 4-bit codes through a per-block
/// table of the 16 dequantized values (float(code - zp) * scale or
/// codebook[code] * scale, as the reference computes them): a permute per W
/// codes replaces the integer subtract, conversion and scaling.
template <class T, class H, int S, bool Lut, int R, int NC>
inline void nbitsDecodeColumnsTable(const NBitsWeights &w, const float *Ap,
                                    float *C, int64_t ldc, int64_t n0) {
  using V = typename T::V;
  using I = typename T::I;
  constexpr int W = T::W, G = 2 * W;
  const int64_t Kp = w.kBlocks * w.blockSize, groups = w.blockSize / G;
  const int64_t columnBytes = w.kBlocks * w.blobSize;
  // Two accumulator sets (even and odd elements) halve the dependency chain.
  V acc0[R][NC], acc1[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      acc0[r][c] = acc1[r][c] = T::zero();
  const V iota = T::iota16();
  for (int64_t b = 0; b < w.kBlocks; ++b) {
    const uint8_t *q[NC];
    V table[NC];
    for (int c = 0; c < NC; ++c) {
      q[c] = w.B + (n0 + c) * columnBytes + b * w.blobSize;
      nbitsPrefetchNext<NC, S>(w, q[c], (n0 + c) * w.kBlocks + b);
      const V scale = T::set1(nbitsScale<H, S>(w, (n0 + c) * w.kBlocks + b));
      if constexpr (Lut)
        table[c] = T::mul(T::load(w.codebook), scale);
      else
        table[c] =
            T::mul(T::sub(iota, T::set1(float(w.zeroPoint(n0 + c, b)))), scale);
    }
    const float *a = Ap + b * w.blockSize;
    for (int64_t g = 0; g < groups; ++g, a += G) {
      V a0[R], a1[R];
      for (int r = 0; r < R; ++r) {
        a0[r] = T::load(a + r * Kp);
        a1[r] = T::load(a + r * Kp + W);
      }
      for (int c = 0; c < NC; ++c) {
        const I x = T::widen(q[c] + g * W);
        const V v0 = T::lookup16(x, table[c]);
        const V v1 = T::lookup16(T::high4(x), table[c]);
        for (int r = 0; r < R; ++r) {
          acc0[r][c] = T::fma(a0[r], v0, acc0[r][c]);
          acc1[r][c] = T::fma(a1[r], v1, acc1[r][c]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      C[r * ldc + n0 + c] = T::reduce(T::add(acc0[r][c], acc1[r][c]));
}

/// C[0:R, n0:n0+NC] for NC whole columns, each block's codes less its zero
/// point (or codebook values) summed into a block accumulator, scaled once
/// per block.
template <class T, class H, int Bits, int S, bool Lut, int R, int NC>
inline void nbitsDecodeColumnsInt(const NBitsWeights &w, const float *Ap,
                                  float *C, int64_t ldc, int64_t n0) {
  using V = typename T::V;
  using I = typename T::I;
  constexpr int W = T::W, G = 2 * W;
  constexpr int64_t groupBytes = Bits == 4 ? W : 2 * W;
  const int64_t Kp = w.kBlocks * w.blockSize, groups = w.blockSize / G;
  const int64_t columnBytes = w.kBlocks * w.blobSize;
  V acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      acc[r][c] = T::zero();
  for (int64_t b = 0; b < w.kBlocks; ++b) {
    const uint8_t *q[NC];
    I zp[NC];
    V s[NC];
    for (int c = 0; c < NC; ++c) {
      q[c] = w.B + (n0 + c) * columnBytes + b * w.blobSize;
      nbitsPrefetchNext<NC, S>(w, q[c], (n0 + c) * w.kBlocks + b);
      zp[c] = T::set1i(Lut ? 0 : w.zeroPoint(n0 + c, b));
      s[c] = T::set1(nbitsScale<H, S>(w, (n0 + c) * w.kBlocks + b));
    }
    V bacc[R][NC];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < NC; ++c)
        bacc[r][c] = T::zero();
    const float *a = Ap + b * w.blockSize;
    for (int64_t g = 0; g < groups; ++g, a += G) {
      V a0[R], a1[R];
      for (int r = 0; r < R; ++r) {
        a0[r] = T::load(a + r * Kp);
        a1[r] = T::load(a + r * Kp + W);
      }
      for (int c = 0; c < NC; ++c) {
        const uint8_t *p = q[c] + g * groupBytes;
        V v0, v1;
        if constexpr (Lut && Bits == 4) {
          const I x = T::widen(p);
          v0 = T::gather(T::low4(x), w.codebook);
          v1 = T::gather(T::high4(x), w.codebook);
        } else if constexpr (Lut) {
          v0 = T::gather(T::widen(p), w.codebook);
          v1 = T::gather(T::widen(p + W), w.codebook);
        } else if constexpr (Bits == 4) {
          const I x = T::widen(p);
          v0 = T::cvt(T::subi(T::low4(x), zp[c]));
          v1 = T::cvt(T::subi(T::high4(x), zp[c]));
        } else {
          v0 = T::cvt(T::subi(T::widen(p), zp[c]));
          v1 = T::cvt(T::subi(T::widen(p + W), zp[c]));
        }
        for (int r = 0; r < R; ++r) {
          bacc[r][c] = T::fma(a0[r], v0, bacc[r][c]);
          bacc[r][c] = T::fma(a1[r], v1, bacc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < NC; ++c)
        acc[r][c] = T::fma(s[c], bacc[r][c], acc[r][c]);
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      C[r * ldc + n0 + c] = T::reduce(acc[r][c]);
}

template <class T, class H, int Bits, int S, bool Lut, int R, int NC>
inline void nbitsDecodeColumns(const NBitsWeights &w, const float *Ap, float *C,
                               int64_t ldc, int64_t n0) {
  if constexpr (Bits == 4 && T::kLookup16)
    nbitsDecodeColumnsTable<T, H, S, Lut, R, NC>(w, Ap, C, ldc, n0);
  else
    nbitsDecodeColumnsInt<T, H, Bits, S, Lut, R, NC>(w, Ap, C, ldc, n0);
}

template <class T, class H, int Bits, int S, bool Lut, int R>
inline void nbitsDecodeRows(const NBitsWeights &w, const float *Ap, float *C,
                            int64_t ldc, int64_t n0, int64_t n1) {
  // Columns at a time: enough independent accumulators to hide the
  // multiply-add latency, few enough to stay in registers.
  constexpr int NC = T::W == 16 ? (R <= 2 ? 4 : 2) : (R == 1 ? 4 : 2);
  int64_t n = n0;
  for (; n + NC <= n1; n += NC)
    nbitsDecodeColumns<T, H, Bits, S, Lut, R, NC>(w, Ap, C, ldc, n);
  for (; n < n1; ++n)
    nbitsDecodeColumns<T, H, Bits, S, Lut, R, 1>(w, Ap, C, ldc, n);
}

template <class T, class H, int Bits, int S, bool Lut>
inline void nbitsDecodeTyped(const NBitsWeights &w, const float *Ap, int rows,
                             float *C, int64_t ldc, int64_t n0, int64_t n1) {
  switch (rows) {
  case 1:
    return nbitsDecodeRows<T, H, Bits, S, Lut, 1>(w, Ap, C, ldc, n0, n1);
  case 2:
    return nbitsDecodeRows<T, H, Bits, S, Lut, 2>(w, Ap, C, ldc, n0, n1);
  case 3:
    return nbitsDecodeRows<T, H, Bits, S, Lut, 3>(w, Ap, C, ldc, n0, n1);
  default:
    return nbitsDecodeRows<T, H, Bits, S, Lut, 4>(w, Ap, C, ldc, n0, n1);
  }
}

/// Calls fn(bits, scale kind, codebook), each a std::integral_constant,
/// for w's combination: 4 or 8 bits, integer codes with f32 or f16 scales,
/// codebook codes with any scales (the kernel admits no other).
template <class Fn> inline void nbitsDispatch(const NBitsWeights &w, Fn &&fn) {
  using Four = std::integral_constant<int, 4>;
  using Eight = std::integral_constant<int, 8>;
  using F32 = std::integral_constant<int, kScalesF32>;
  using F16 = std::integral_constant<int, kScalesF16>;
  using I8 = std::integral_constant<int, kScalesI8>;
  using Lut = std::true_type;
  using Int = std::false_type;
  const bool four = w.bits == 4;
  if (w.codebook) {
    if (w.scaleKind == kScalesI8)
      four ? fn(Four(), I8(), Lut()) : fn(Eight(), I8(), Lut());
    else if (w.scaleKind == kScalesF16)
      four ? fn(Four(), F16(), Lut()) : fn(Eight(), F16(), Lut());
    else
      four ? fn(Four(), F32(), Lut()) : fn(Eight(), F32(), Lut());
  } else if (w.scaleKind == kScalesF16) {
    four ? fn(Four(), F16(), Int()) : fn(Eight(), F16(), Int());
  } else {
    four ? fn(Four(), F32(), Int()) : fn(Eight(), F32(), Int());
  }
}

/// Decode entry point of an ISA file: rows <= 4, blockSize >= 2 * T::W.
template <class T, class H>
inline void nbitsDecode(const NBitsWeights &w, const float *Ap, int rows,
                        float *C, int64_t ldc, int64_t n0, int64_t n1) {
  nbitsDispatch(w, [&](auto bits, auto scales, auto lut) {
    nbitsDecodeTyped<T, H, decltype(bits)::value, decltype(scales)::value,
                     decltype(lut)::value>(w, Ap, rows, C, ldc, n0, n1);
  });
}

/// packedTile's hook: B[k0:k0+kc, j:j+n] = dequant(codes)^T, exactly
/// float(code - zero point) * scale or codebook[code] * scale, as the
/// portable reference computes it. On AVX-512, integer codes are
/// dequantized 16 at a time down each of 16 columns (through the 16-entry
/// table at 4 bits) and the 16 x 16 block transposed into the panel's rows:
/// the same operations, so the same values.
template <class T, class H, int Bits, int S, bool Lut> struct PackNBits {
  const NBitsWeights *w;

  /// Rows [k1, k2) of columns [c1, c2) of the panel, one value at a time.
  void oneByOne(int64_t k0, int64_t k1, int64_t k2, int64_t j, int64_t c1,
                int64_t c2, float *dst, int NR) const {
    const int64_t bs = w->blockSize;
    for (int64_t col = c1; col < c2; ++col) {
      const int64_t column = j + col;
      const uint8_t *q = w->B + column * w->kBlocks * w->blobSize;
      for (int64_t k = k1; k < k2;) {
        const int64_t b = k / bs, end = std::min(k2, (b + 1) * bs);
        const float s = nbitsScale<H, S>(*w, column * w->kBlocks + b);
        const int zp = Lut ? 0 : w->zeroPoint(column, b);
        const uint8_t *blob = q + b * w->blobSize;
        float *d = dst + (k - k0) * NR + col;
        if constexpr (Bits == 4) {
          // The block's 16 values, looked up by each nibble; k1 and block
          // starts are even, so k pairs up with k + 1 in one byte.
          float table[16];
          for (int i = 0; i < 16; ++i)
            table[i] = Lut ? w->codebook[i] * s : float(i - zp) * s;
          const uint8_t *p = blob + (k - b * bs) / 2;
          for (; k + 1 < end; k += 2, d += 2 * NR, ++p) {
            d[0] = table[*p & 0xF];
            d[NR] = table[*p >> 4];
          }
          if (k < end) {
            d[0] = table[*p & 0xF];
            ++k;
          }
        } else {
          for (const uint8_t *p = blob + (k - b * bs); k < end;
               ++k, d += NR, ++p)
            *d = Lut ? w->codebook[*p] * s : float(*p - zp) * s;
        }
      }
    }
  }

  void operator()(int64_t k0, int64_t kc, int64_t j, int64_t n, float *dst,
                  int NR) const {
    int64_t k1 = k0, c1 = 0;
    if constexpr (T::kTranspose16 && !Lut) {
      using V = typename T::V;
      const int64_t bs = w->blockSize;
      // 16 rows at a time lie in one block: blocks and k0 are multiples of
      // 16 (16 <= block size, both powers of two).
      k1 = k0 + kc / 16 * 16;
      c1 = n / 16 * 16;
      const V iota = T::iota16();
      for (int64_t c0 = 0; c0 < c1; c0 += 16)
        for (int64_t k = k0; k < k1; k += 16) {
          const int64_t b = k / bs;
          V columns[16];
          for (int c = 0; c < 16; ++c) {
            const int64_t column = j + c0 + c;
            const uint8_t *blob =
                w->B + (column * w->kBlocks + b) * w->blobSize;
            const V s = T::set1(nbitsScale<H, S>(*w, column * w->kBlocks + b));
            const int zp = w->zeroPoint(column, b);
            if constexpr (Bits == 4)
              columns[c] =
                  T::lookup16(T::nibbles(blob + (k - b * bs) / 2),
                              T::mul(T::sub(iota, T::set1(float(zp))), s));
            else
              columns[c] = T::mul(
                  T::cvt(T::subi(T::widen(blob + (k - b * bs)), T::set1i(zp))),
                  s);
          }
          T::storeTransposed(columns, dst + (k - k0) * NR + c0, NR);
        }
    }
    // What the blocks above leave: the last rows, and the last columns.
    oneByOne(k0, k1, k0 + kc, j, 0, c1, dst, NR);
    oneByOne(k0, k0, k0 + kc, j, c1, n, dst, NR);
    for (int64_t k = 0; k < kc; ++k)
      std::fill(dst + k * NR + n, dst + (k + 1) * NR, 0.0f);
  }
};

/// Tile entry point of an ISA file: any rows, through packed panels.
template <class T, class H, int MR, int NV>
inline void nbitsTile(const NBitsWeights &w, const float *A, int64_t lda,
                      float *C, int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                      int64_t n0, int64_t n1) {
  auto run = [&](const auto &pack) {
    packedTile<T, MR, NV>(w.K, A, lda, 1, pack, C, ldc, rowBegin, rowEnd, n0,
                          n1);
  };
  nbitsDispatch(w, [&](auto bits, auto scales, auto lut) {
    run(PackNBits<T, H, decltype(bits)::value, decltype(scales)::value,
                  decltype(lut)::value>{&w});
  });
}

} // namespace azr::cpu::simd

#endif // AZR_CPU_MATMUL_NBITS_SIMD_H
