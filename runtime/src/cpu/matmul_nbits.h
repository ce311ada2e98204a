//===- matmul_nbits.h - block-quantized weight matmul paths -----*- C++ -*-===//
//
// The matmul_nbits kernel (onnxruntime's com.microsoft MatMulNBits with
// float activations): Y[M, N] = A[M, K] @ dequant(B)^T + bias, B holding N
// columns of K 4- or 8-bit codes in blocks of block_size, each block with a
// scale and a zero point. One implementation per ISA, chosen like the f32
// GEMM tile (gemmPath()); see docs/quantized-kernels.md.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_MATMUL_NBITS_H
#define AZR_CPU_MATMUL_NBITS_H

#include <cstdint>

namespace azr::cpu {

/// The quantized weights of one matmul_nbits step, validated.
struct NBitsWeights {
  const uint8_t *B;          ///< [N, kBlocks, blobSize]
  const void *scales;        ///< [N * kBlocks], f32 or (halfScales) f16
  bool halfScales;           ///< scales are IEEE half
  const uint8_t *zeroPoints; ///< [N, zpStride] packed codes, or null
  int64_t N, K, kBlocks, blockSize, blobSize, zpStride;
  int bits; ///< 4 or 8

  /// The zero point of block b of column n (2^(bits-1) when absent).
  int zeroPoint(int64_t n, int64_t b) const {
    if (!zeroPoints)
      return 1 << (bits - 1);
    if (bits == 8)
      return zeroPoints[n * zpStride + b];
    const uint8_t byte = zeroPoints[n * zpStride + b / 2];
    return (b & 1) ? byte >> 4 : byte & 0xF;
  }
  /// Code k (0 <= k < kBlocks * blockSize) of column n.
  int code(int64_t n, int64_t k) const {
    const uint8_t *col = B + n * kBlocks * blobSize;
    if (bits == 8)
      return col[k];
    const uint8_t byte = col[k / 2];
    return (k & 1) ? byte >> 4 : byte & 0xF;
  }
};

/// Rows of A prepared for a path's decode function: `rows` rows of
/// kBlocks * blockSize floats (zero past K), each group of `group` elements
/// stored as its even elements then its odd ones for 4-bit weights (the
/// order the low and high nibbles of `group` / 2 bytes unpack to), in
/// natural order for 8-bit weights or group == 0.
void prepareNBitsRows(const NBitsWeights &w, const float *A, int64_t lda,
                      int rows, int group, float *dst);

/// C[0:rows, n0:n1] (row stride ldc) = rows of prepared A (row stride
/// kBlocks * blockSize) times dequant(B)^T, rows <= 4, reading B once.
using NBitsDecodeFn = void (*)(const NBitsWeights &w, const float *prepared,
                               int rows, float *C, int64_t ldc, int64_t n0,
                               int64_t n1);
/// C[rowBegin:rowEnd, n0:n1] = A * dequant(B)^T for any number of rows
/// (A dense with row stride lda), overwriting C.
using NBitsTileFn = void (*)(const NBitsWeights &w, const float *A, int64_t lda,
                             float *C, int64_t ldc, int64_t rowBegin,
                             int64_t rowEnd, int64_t n0, int64_t n1);

/// Up to this many rows, matmul_nbits runs the decode function on groups of
/// up to 4 rows, each group reading a span of columns while it is in L2;
/// above, the packed f32 tiles. Decode reaches about 130 GFLOP/s per core
/// at 4 bits and 105 at 8 here, the tiles grow with the rows (AVX-512,
/// 4096 x 4096, block 32): these are the measured crossovers.
constexpr int64_t nbitsDecodeMaxRows(int bits) { return bits == 4 ? 128 : 64; }

struct NBitsPath {
  const char *name; ///< "avx512", "avx2" or "portable"
  int group;        ///< A's permutation group for decode (0: none)
  NBitsDecodeFn decode;
  NBitsTileFn tile;
};

/// The path for this CPU and block size, chosen from cpuid (AZR_CPU_DISABLE
/// narrows it, as for gemmPath()). AVX-512 decodes 32 codes a step, so
/// blocks of 16 run on the AVX2 path.
const NBitsPath &nbitsPath(int64_t blockSize);

void nbitsDecodePortable(const NBitsWeights &w, const float *prepared, int rows,
                         float *C, int64_t ldc, int64_t n0, int64_t n1);
void nbitsTilePortable(const NBitsWeights &w, const float *A, int64_t lda,
                       float *C, int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                       int64_t n0, int64_t n1);
#if defined(__x86_64__)
void nbitsDecodeAvx2(const NBitsWeights &w, const float *prepared, int rows,
                     float *C, int64_t ldc, int64_t n0, int64_t n1);
void nbitsTileAvx2(const NBitsWeights &w, const float *A, int64_t lda, float *C,
                   int64_t ldc, int64_t rowBegin, int64_t rowEnd, int64_t n0,
                   int64_t n1);
void nbitsDecodeAvx512(const NBitsWeights &w, const float *prepared, int rows,
                       float *C, int64_t ldc, int64_t n0, int64_t n1);
void nbitsTileAvx512(const NBitsWeights &w, const float *A, int64_t lda,
                     float *C, int64_t ldc, int64_t rowBegin, int64_t rowEnd,
                     int64_t n0, int64_t n1);
#endif

} // namespace azr::cpu

#endif // AZR_CPU_MATMUL_NBITS_H
