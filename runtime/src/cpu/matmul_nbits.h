//===- matmul_nbits.h - block-quantized weight matmul paths -----*- C++ -*-===//
//
// The matmul_nbits kernel (onnxruntime's com.microsoft MatMulNBits with
// float activations) with matmul's epilogue:
// Y[M, N] = act(A[M, K] @ dequant(B)^T + bias + residual), B holding N
// columns of K 4- or 8-bit codes in blocks of block_size, each block with a
// scale and a zero point (integer codes) or a scale alone (codebook codes:
// NF4, FP8 E4M3). One implementation per ISA, chosen like the f32 GEMM tile
// (gemmPath()); see docs/quantized-kernels.md.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_MATMUL_NBITS_H
#define AZR_CPU_MATMUL_NBITS_H

#include "cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace azr::cpu {

/// How a step stores its block scales.
enum NBitsScaleKind : int {
  kScalesF32 = 0,
  kScalesF16 = 1,
  /// Double quantization (QLoRA): int8 codes c, in groups of
  /// kNBitsScaleGroup consecutive scales each with a step and an offset:
  /// scale i = c[i] * step[g] + offset[g], g = i / kNBitsScaleGroup.
  kScalesI8 = 2,
};
constexpr int64_t kNBitsScaleGroup = 256;

/// The values of the 16 NF4 codes (Dettmers et al., QLoRA, 2023): the
/// quantiles of a standard normal distribution scaled to [-1, 1], with an
/// exact 0.
extern const float kNf4Values[16];
/// x rounded to the nearest E4M3 value, ties to even, saturating at +-448
/// (NaN stays NaN).
float roundToE4M3(float x);

/// The attributes matmul_nbits and matmul_nbits_packed share.
struct NBitsAttrs {
  int64_t K = 0, N = 0, bits = 0, blockSize = 0;
  /// Static input quantization: "" (none), "int8" or "fp8_e4m3".
  std::string inputFormat;
  float inputScale = 0.0f;

  int64_t kBlocks() const { return (K + blockSize - 1) / blockSize; }
};

/// Reads and checks K, N, bits (4 or 8), block_size (a power of two in
/// [16, maxBlock]) and input_format with its input_scale ("int8", or also
/// "fp8_e4m3" with `fp8Inputs`).
azr_status_t parseNBitsAttrs(const char *op, const Attrs &attrs,
                             int64_t maxBlock, bool fp8Inputs, NBitsAttrs &out);

/// x on the static int8 grid of step `scale`: round(x / scale) (ties to
/// even, saturating at +-127) * scale.
inline float roundToInt8Grid(float x, float scale) {
  return std::nearbyint(std::min(127.0f, std::max(-127.0f, x / scale))) * scale;
}

/// The quantized weights of one matmul_nbits step, validated.
struct NBitsWeights {
  const uint8_t *B;          ///< [N, kBlocks, blobSize]
  const void *scales;        ///< [N * kBlocks], as scaleKind says
  bool halfScales;           ///< scaleKind == kScalesF16
  const uint8_t *zeroPoints; ///< [N, zpStride] packed codes, or null
  int64_t N, K, kBlocks, blockSize, blobSize, zpStride;
  int bits;                ///< 4 or 8
  int scaleKind;           ///< NBitsScaleKind
  const float *scaleSteps; ///< kScalesI8: [groups, 2] step and offset
  const float *codebook;   ///< value of each code, or null: code - zero point

  /// Scale i (i = n * kBlocks + b), by the portable conversions.
  float scale(int64_t i) const;

  /// The zero point of block b of column n (2^(bits-1) when absent; unused
  /// with a codebook).
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
/// above, the packed f32 tiles. Decode holds about 130 GFLOP/s per core at
/// 4 bits and 105 at 8 whatever the rows; the tiles grow with the rows
/// once their dequantization is vectorized (16 x 16 blocks on AVX-512).
/// Measured crossovers, prefill of the 1.1B Llama shape on 2 cores: at 16
/// rows decode wins (4 bits 91 against 84 tokens/s, 8 bits 117 against
/// 78), at 32 the tiles (114 against 91, 107 against 97).
/// E4M3 codes decode through gathers, which each group of 4 rows repeats:
/// past one group the tiles, which decode each weight once a panel, win.
constexpr int64_t nbitsDecodeMaxRows(int bits, bool codebook = false) {
  return bits == 4 ? 24 : codebook ? 4 : 28;
}

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
/// accuracy_level 4: rows of A quantized to int8 per block of B, as
/// onnxruntime's int8 compute and llama.cpp's Q8 activations do. For block b
/// of row r, scale[r][b] = amax / 127 (amax = max |a_k| over the block) and
/// q[r][k] = round-to-nearest-even(a_k * (127 / amax)), 0 when amax is 0.
/// Element (r, n) is then sum over blocks of
///   (scale[r][b] * B's scale) * float(sum_k q[r][k] * (code - zero point)),
/// the inner sum exact in int32 (blocks of at most kNBitsInt8MaxBlock).
/// All arrays have `padded` codes a row (a multiple of 64 code bytes; zero
/// past K). The VNNI layout groups them in chunks of 64 code bytes (64 or
/// 128 codes, 16 int32 lanes of 4 bytes): `chunked` holds a 4-bit chunk as
/// its even codes then its odd ones, `laneSum` the sum of q over each
/// lane's codes and `laneScale` the scale of each lane's block.
struct NBitsInt8Rows {
  int64_t padded, lanes; ///< codes and lanes a row
  const int8_t *q;       ///< [rows, padded], natural order
  const float *scale;    ///< [rows, kBlocks]
  const int8_t *chunked; ///< [rows, padded]
  const int32_t *laneSum;
  const float *laneScale;  ///< [rows, lanes]
  const int32_t *blockSum; ///< [rows, kBlocks]: sum of q over each block
};
constexpr int64_t kNBitsInt8MaxBlock = 256;

/// NBitsInt8Rows of `rows` rows of A (row stride lda) and their storage, on
/// CPUs with an int8 path. staticScale > 0: every block takes that scale
/// (static activation quantization, values past +-127 steps saturating);
/// else each block its own amax / 127. The chunked layout and its lanes
/// are filled only with `decodeLayout` (the decode function reads them).
struct NBitsInt8RowsStorage {
  std::vector<int8_t> q, chunked;
  std::vector<int32_t> laneSum, blockSum;
  std::vector<float> scale, laneScale;
  NBitsInt8Rows view;

  NBitsInt8RowsStorage(int64_t K, int64_t blockSize, int bits, const float *A,
                       int64_t lda, int64_t rows, float staticScale,
                       bool decodeLayout);
};

/// C[0:rows, n0:n1] for `rows` <= 4 rows starting at row `row` of `a`.
using NBitsInt8Fn = void (*)(const NBitsWeights &w, const NBitsInt8Rows &a,
                             int64_t row, int rows, float *C, int64_t ldc,
                             int64_t n0, int64_t n1);
/// Block-quantized weights stored in panels of kNBitsPanelWidth columns as
/// the int8 tiles read them (matmul_nbits_packed; matmul_nbits' tiles pack
/// into the same layout per call). Per panel, at 4 bits: `kBlocks *
/// blockSize / 8` steps of [32 columns][4 bytes], byte j of a column's 4 in
/// step t holding code 8t + j in its low nibble and code 8t + 4 + j in its
/// high one; at 8 bits `kBlocks * blockSize / 4` steps, byte j being code
/// 4t + j. Then scales [kBlocks][32] (f32 or f16) and zero points
/// [kBlocks][32] bytes (null: 2^(bits-1)), per panel. Columns past N are
/// zero codes, scales and zero points.
struct NBitsPanels {
  const uint8_t *codes;
  const void *scales;
  bool halfScales;
  const uint8_t *zeroPoints;
  int64_t N, K, kBlocks, blockSize;
  int bits;

  int64_t panelCodeBytes() const; ///< bytes of one panel's codes
};
constexpr int64_t kNBitsPanelWidth = 32;

/// C[rowBegin:rowEnd, n0:n1] for any number of rows of `a`.
using NBitsInt8TileFn = void (*)(const NBitsWeights &w, const NBitsInt8Rows &a,
                                 int64_t rowBegin, int64_t rowEnd, float *C,
                                 int64_t ldc, int64_t n0, int64_t n1);
/// Past this many rows the int8 path runs its tiles (one pass over B, its
/// codes unpacked per panel) rather than decode groups of 4 rows.
constexpr int64_t kNBitsInt8DecodeMaxRows = 4;
/// The int8 path of this CPU ("avx512_vnni"), or null where it has none:
/// there accuracy_level 4 computes in f32 like the other levels (a level is
/// a minimum accuracy; onnxruntime also falls back to f32 where it lacks an
/// int8 kernel). Emulated int8 would be many times slower than f32.
NBitsInt8Fn nbitsInt8Path();
/// Its tiles, null where nbitsInt8Path() is.
NBitsInt8TileFn nbitsInt8TilePath();
/// The int8 tiles over stored panels (matmul_nbits_packed), likewise.
using NBitsPanelsTileFn = void (*)(const NBitsPanels &w, const NBitsInt8Rows &a,
                                   int64_t rowBegin, int64_t rowEnd, float *C,
                                   int64_t ldc, int64_t n0, int64_t n1);
NBitsPanelsTileFn nbitsPanelsTilePath();
/// Columns of an int8 tile: two panels, so that even a decode step's few
/// columns spread over the threads.
constexpr int64_t kNBitsInt8TileCols = 2 * kNBitsPanelWidth;

#if defined(__x86_64__)
void nbitsInt8Vnni(const NBitsWeights &w, const NBitsInt8Rows &a, int64_t row,
                   int rows, float *C, int64_t ldc, int64_t n0, int64_t n1);
/// Row a (K values) of A quantized per block of blockSize as NBitsInt8Rows
/// documents: q (codes, zero past K), scale and blockSum per block.
void nbitsQuantizeRowVnni(int64_t K, int64_t blockSize, const float *a,
                          float staticScale, int8_t *q, float *scale,
                          int32_t *blockSum);
void nbitsInt8TileVnni(const NBitsWeights &w, const NBitsInt8Rows &a,
                       int64_t rowBegin, int64_t rowEnd, float *C, int64_t ldc,
                       int64_t n0, int64_t n1);
/// C[rowBegin:rowEnd, n0:n1] from stored panels (n0 a multiple of 32).
void nbitsPanelsTileVnni(const NBitsPanels &w, const NBitsInt8Rows &a,
                         int64_t rowBegin, int64_t rowEnd, float *C,
                         int64_t ldc, int64_t n0, int64_t n1);
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
