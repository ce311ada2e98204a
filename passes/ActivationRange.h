//===- ActivationRange.h - calibration of activation ranges -----*- C++ -*-===//
//
// Static activation quantization maps one range [-amax, amax] of a tensor
// to the int8 (or E4M3) grid, chosen once from calibration data. The
// largest |x| seen is the obvious choice but lets one outlier coarsen the
// grid for every other value; the other methods clip the tail where that
// costs less. All read a histogram of |x| collected in one pass.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_PASSES_ACTIVATIONRANGE_H
#define AZC_PASSES_ACTIVATIONRANGE_H

#include <cstdint>
#include <string>
#include <vector>

namespace azc::quant {

/// A histogram of |x|: kBins bins of equal width from 0. When a value
/// passes the top bin, bins merge in pairs and the width doubles (widths
/// are powers of two, so merging is exact), so one pass over the data
/// suffices whatever its range.
struct AbsHistogram {
  static constexpr int kBins = 2048;
  double width = 0; ///< 0 until the first non-zero value
  std::vector<double> counts = std::vector<double>(kBins, 0.0);
  double max = 0;   ///< the largest |x| added
  double total = 0; ///< values added

  void add(const float *x, int64_t n);
};

/// --calib-method: how amax is chosen from the histogram.
struct CalibrationMethod {
  enum Kind { max, percentile, entropy, mse } kind = max;
  double percent = 99.99; ///< for `percentile`

  /// "max", "percentile:P" (0 < P <= 100), "entropy" or "mse".
  static bool parse(const std::string &text, CalibrationMethod &method,
                    std::string &error);
  std::string str() const;
};

/// The amax `method` chooses for values with histogram `h`, for a
/// symmetric grid of `levels` steps each side of 0 (127 for int8):
///  - max: the largest |x|;
///  - percentile:P: the top of the first bin where P% of the values lie;
///  - entropy: TensorRT's choice (Migacz, "8-bit Inference with TensorRT",
///    2017): the threshold whose clipped, `levels`-level quantized
///    histogram has the least KL divergence from the clipped original;
///  - mse: the threshold of least expected squared error, clipping error
///    (|x| - amax)^2 past it plus step^2 / 12 of rounding below it.
/// Never more than the largest |x|; 0 when every value was 0.
double chooseRange(const AbsHistogram &h, const CalibrationMethod &method,
                   int levels = 127);

} // namespace azc::quant

#endif // AZC_PASSES_ACTIVATIONRANGE_H
