//===- WeightQuantizer.h - block quantization of weight matrices -*- C++
//-*-===//
//
// The arithmetic of weight-only quantization, apart from the IR: a weight
// matrix in, the codes, scales and zero points of the matmul_nbits layout
// out. Kept out of the passes so that every mode that ends in that layout
// (round-to-nearest today; GPTQ and AWQ choose codes and scales differently
// but store them the same way) shares one packing and one test.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_PASSES_WEIGHTQUANTIZER_H
#define AZC_PASSES_WEIGHTQUANTIZER_H

#include <cstdint>
#include <vector>

namespace azc::quant {

/// A weight W [K, N] read through strides: element (k, n) is
/// data[k * kStride + n * nStride]. A matmul's [K, N] operand has strides
/// (N, 1); a transposed [N, K] one (1, K).
struct WeightView {
  const float *data;
  int64_t K, N, kStride, nStride;
  float at(int64_t k, int64_t n) const {
    return data[k * kStride + n * nStride];
  }
};

/// What a code means: an integer less its block's zero point, or an index
/// into a codebook (matmul_nbits' weight_format).
enum class CodeFormat { integer, nf4, fp8e4m3 };

/// N columns of K codes in blocks along K: onnxruntime's MatMulNBits layout.
struct BlockQuantized {
  int64_t N = 0, K = 0, bits = 0, blockSize = 0;
  int64_t blocks = 0;              ///< ceil(K / blockSize)
  int64_t blobSize = 0;            ///< bytes per block: blockSize * bits / 8
  int64_t zpStride = 0;            ///< bytes per column of packed zero points
  std::vector<uint8_t> codes;      ///< [N, blocks, blobSize]
  std::vector<float> scales;       ///< [N, blocks], as the kernel sees them
  std::vector<uint8_t> zeroPoints; ///< [N, zpStride]; empty when symmetric
  CodeFormat format = CodeFormat::integer;
  /// Double-quantized scales (else empty): scales[i] is exactly
  /// float(scaleCodes[i]) * scaleSteps[2g] + scaleSteps[2g + 1], g = i / 256.
  std::vector<int8_t> scaleCodes;
  std::vector<float> scaleSteps; ///< [ceil(N * blocks / 256), 2]
};

/// The value of each code of a codebook format (16 for NF4, 256 for E4M3;
/// the E4M3 NaN codes are NaN).
const float *codebookValues(CodeFormat format);

/// NF4 (Dettmers et al., QLoRA, 2023): per block of `blockSize`, scale =
/// absmax and each code the NormalFloat4 value nearest x / absmax. With
/// `doubleQuant`, the scales themselves are stored as int8 per group of 256
/// (an offset, the group's mean, and a step, max |scale - mean| / 127),
/// which cuts their cost from 32 / blockSize bits a weight to about
/// 8 / blockSize; the codes are then chosen against the scales as stored.
BlockQuantized quantizeNf4(const WeightView &w, int64_t blockSize,
                           bool doubleQuant);

/// FP8 E4M3 weights: per block, scale = amax / 448 (E4M3's largest finite
/// value) and each code x / scale rounded to the nearest E4M3 value, ties
/// to even.
BlockQuantized quantizeFp8(const WeightView &w, int64_t blockSize);

/// Round-to-nearest quantization to `bits` (4 or 8) in blocks of
/// `blockSize` (a power of two >= 16) along K. A block of values x:
///  - symmetric: m is the x of largest magnitude, scale = m / -2^(bits-1),
///    so that m itself is the code -2^(bits-1); the zero point is the
///    default 2^(bits-1) and is not stored;
///  - asymmetric: the range [min(x, 0), max(x, 0)] spans all 2^bits codes,
///    scale = (hi - lo) / (2^bits - 1), zero point = round(-lo / scale);
/// and code = clamp(round(x / scale + zero point)), rounding half away from
/// zero. These are onnxruntime's MatMulNBits quantizer's choices, so that an
/// engine and a model quantized by onnxruntime agree code for code.
/// Rows past K pad the last block with zeros (code = zero point).
BlockQuantized quantizeRoundToNearest(const WeightView &w, int bits,
                                      int64_t blockSize, bool symmetric);

/// GPTQ (Frantar et al., 2022): codes chosen one input row k at a time, each
/// row's rounding error spread over the rows not yet quantized so as to
/// minimize the error of the layer's output on calibration inputs, whose
/// second moments H = sum of x x^T over the inputs x (K x K, row-major) are
/// given. The scales and zero points are round-to-nearest's of the original
/// weight, fixed before any row changes ("static groups"), so a block keeps
/// one scale whatever order rows are taken in and the layout stays
/// matmul_nbits' (no g_idx). Options:
///  - `damp`: H's diagonal grows by damp * mean(diag H) (regularizes a
///    nearly singular H; GPTQ's usual 0.01);
///  - `actOrder`: rows are taken in decreasing H[k][k] (the inputs with
///    the most energy first, while the most rows are left to absorb their
///    error).
/// Inputs that calibration never saw (H[k][k] = 0) neither pass on nor
/// receive error, and keep their weights rounded to nearest (the paper
/// zeroes them; a deployment may well see what calibration did not).
/// Cost: O(K^3 + K^2 N) in double.
struct GptqOptions {
  double damp = 0.01;
  bool actOrder = true;
};
BlockQuantized quantizeGptq(const WeightView &w,
                            const std::vector<double> &hessian, int bits,
                            int64_t blockSize, bool symmetric,
                            const GptqOptions &options);

/// What calibration saw at the input of one quantizable product: the sum
/// of x x^T over its `rows` input rows x (K x K, row-major, double).
struct InputStatistics {
  int64_t K = 0, rows = 0;
  std::vector<double> hessian;
  std::vector<double> absSum; ///< sum of |x_k| over the rows, per k
  std::vector<double> absMax; ///< max |x_k| over the rows, per k
  /// The range static activation quantization maps to the int8 or E4M3
  /// grid, as the calibration method chose it (0: not chosen).
  double amax = 0;
};

/// AWQ (Lin et al., 2023), activation-aware scaling, for a group of
/// weights that multiply the same input (a layer's query, key and value
/// projections, say): weight row k is multiplied by s_k = m_k^alpha (m_k
/// the mean |x_k| of the shared input on calibration data, s normalized so
/// that max(s) * min(s) = 1) before rounding to nearest, and the input is
/// divided by s at run time, so that the rows that meet large activations
/// are rounded more finely. One s serves the whole group, so the division
/// happens once (and can fold into a preceding normalization). alpha is
/// searched on a grid of `gridSteps` + 1 points in [0, 1] for the least
/// summed output error sum_n e_n^T H e_n (e_n a column's error after
/// scaling back); alpha = 0 is plain rounding, so on the calibration
/// inputs AWQ is never worse. Columns are subsampled evenly when K^2 N
/// passes 2^26 per point. (The paper's weight-clipping search is not done.)
struct AwqResult {
  std::vector<BlockQuantized> quantized; ///< codes of W * s, per weight
  std::vector<float>
      inputScale; ///< 1 / s, per k: what the input is multiplied by
  double alpha = 0;
};
AwqResult quantizeAwq(const std::vector<WeightView> &group,
                      const InputStatistics &stats, int bits, int64_t blockSize,
                      bool symmetric, int gridSteps = 20);

/// How far a quantized weight is from `w`: `weight`, the relative RMS error
/// of the weights; `output` (with statistics; else -1), the relative error
/// of the product on the calibration inputs,
/// sqrt(sum_n e_n^T H e_n / sum_n w_n^T H w_n), e_n column n's error. The
/// effective weight is dequant(q)[k] * inputScale[k] (inputScale empty:
/// 1). Columns are subsampled evenly past 2^26 operations.
struct QuantizationError {
  double weight = 0, output = -1;
};
QuantizationError measureError(const WeightView &w, const BlockQuantized &q,
                               const std::vector<float> &inputScale,
                               const InputStatistics *stats);

/// Element (k, n) of the dequantized weight.
float dequantized(const BlockQuantized &q, int64_t k, int64_t n);

} // namespace azc::quant

#endif // AZC_PASSES_WEIGHTQUANTIZER_H
