//===- Calibration.h - statistics of a model's activations ------*- C++ -*-===//

#ifndef AZC_COMPILER_CALIBRATION_H
#define AZC_COMPILER_CALIBRATION_H

#include "compiler/Driver.h"
#include "passes/ActivationRange.h"
#include "passes/WeightQuantizer.h"

#include <string>
#include <vector>

namespace azc {

struct CalibrationOptions {
  /// A folder of samples: subfolders (or itself) holding INPUT.npy files,
  /// all of one shape.
  std::string data;
  int maxSamples = 0; ///< 0: all
  int threads = 0;
  bool progress = false; ///< print samples done on stderr
  /// How each input's static range (InputStatistics::amax) is chosen, for
  /// a grid of `levels` steps each side of 0.
  quant::CalibrationMethod method;
  int levels = 127;
  /// Accumulate H = sum x x^T (O(K^2) a row: most of calibration's time).
  /// GPTQ, AWQ and the report's output errors read it; SmoothQuant's
  /// channel maxima do not.
  bool secondMoments = true;
};

/// Runs the imported `module` (not modified) in f32 on the samples and
/// returns, per quantizable product in findQuantizableProducts' order, the
/// second moments of its input rows, the mean and largest |x| of each
/// input channel, and the input's range by options.method. NaN or Inf in a
/// sample or an observed activation is an error naming it.
bool collectInputStatistics(mlir::ModuleOp module,
                            const CalibrationOptions &options,
                            std::vector<quant::InputStatistics> &stats,
                            std::string &error);

/// The calibration table `--calib-cache` keeps, so that static ranges need
/// not be measured again: per quantizable product (findQuantizableProducts'
/// order), its weight's name and K, the largest |x| of each input channel
/// and the input's range by `method`; for int8_sq, also the ranges of the
/// smoothed inputs, with the alpha and exclusions they were measured with.
struct CalibrationTable {
  std::string method;
  std::vector<std::string> weights;
  std::vector<quant::InputStatistics> inputs; ///< K, absMax, amax
  double smoothquantAlpha = -1;               ///< -1: no smoothed ranges
  std::vector<std::string> smoothedExclude;
  std::vector<double> smoothedRanges;
};

/// Reads and checks the table at `path` (JSON), naming it in errors.
bool readCalibrationTable(const std::string &path, CalibrationTable &table,
                          std::string &error);
/// Writes `table` to `path` whole or not at all (a temporary file renamed).
bool writeCalibrationTable(const std::string &path,
                           const CalibrationTable &table, std::string &error);

} // namespace azc

#endif // AZC_COMPILER_CALIBRATION_H
