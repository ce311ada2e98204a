//===- Passes.h - azc's passes and pipeline ---------------------*- C++ -*-===//

#ifndef AZC_PASSES_PASSES_H
#define AZC_PASSES_PASSES_H

#include "dialects/azg/AzgDialect.h"
#include "passes/WeightQuantizer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <string>
#include <vector>

namespace azc {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// What the build profile says about shapes.
struct ShapeProfile {
  std::vector<std::string> dims;        ///< NAME=SIZE
  std::vector<std::string> inputShapes; ///< NAME:D0xD1x...
  int64_t maxBatchSize = 0;             ///< dim 0 of inputs where dynamic
  /// Run-time ranges, KEY=MIN..OPT..MAX or KEY=MIN..MAX, KEY a dim name or
  /// INPUT:DIM. Only `azc build` reads these (and maxInputLen); the passes
  /// see the fixed sizes of one point of the ranges at a time.
  std::vector<std::string> shapeRanges;
  int64_t maxInputLen = 0; ///< dim 1 of rank-2 integer inputs (token ids)
};

/// Adds the azg ops' canonicalization patterns (their folders run with
/// them): the shape-arithmetic folding that azg-fold-shapes and
/// azg-resolve-shapes both drive.
void populateShapeFoldingPatterns(mlir::RewritePatternSet &patterns);

/// Attributes azg-quantize-weights leaves on each matmul_nbits it makes,
/// for the build's quantization report (the driver reads and removes
/// them): the source weight's name, the relative RMS error of its weights
/// and, with calibration statistics, the relative error of the product on
/// the calibration inputs (see quant::measureError).
inline constexpr const char kQuantSourceAttr[] = "azg.quant_source";
inline constexpr const char kQuantWeightErrorAttr[] = "azg.quant_weight_error";
inline constexpr const char kQuantOutputErrorAttr[] = "azg.quant_output_error";

/// Calibration ranges written on a product for passes run without the
/// driver's statistics (azc-opt): the largest |x| of its input (F64) and
/// of each input channel (an f64 array).
inline constexpr const char kInputRangeAttr[] = "azg.input_range";
inline constexpr const char kInputChannelMaxAttr[] = "azg.input_channel_max";

/// A matmul or gemm that azg-quantize-weights can rewrite: the activation
/// whose rows (of K values) it multiplies with a constant weight, and that
/// weight's name.
struct QuantizableProduct {
  mlir::Operation *op;
  mlir::Value input;
  std::string weightName;
  int64_t K;
};

/// The quantizable products of `func`, in program order. Calibration
/// observes their inputs; the pass receives its statistics in this order.
std::vector<QuantizableProduct>
findQuantizableProducts(mlir::func::FuncOp func);

/// azg-quantize-weights with calibration statistics, one per product of
/// findQuantizableProducts in order (for int4_gptq).
std::unique_ptr<mlir::Pass> createQuantizeWeightsPass(
    const QuantizeWeightsOptions &options,
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics);

/// azg-smooth-activations with calibration statistics, as above.
std::unique_ptr<mlir::Pass> createSmoothActivationsPass(
    const SmoothActivationsOptions &options,
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics);

/// The statistics the products of `func` carry as kInputRangeAttr and
/// kInputChannelMaxAttr, one per findQuantizableProducts entry, or null
/// when some product carries none.
std::shared_ptr<const std::vector<quant::InputStatistics>>
statisticsFromAttributes(mlir::func::FuncOp func);

/// Adds the passes that run once on the imported model, before the build
/// profile fixes shapes (they read only weights): weight quantization.
void buildQuantizationPipeline(
    mlir::OpPassManager &pm, const QuantizeWeightsOptions &options,
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics =
        nullptr);

/// The paged KV-cache layout (azc build --paged_kv_cache): once per build,
/// after quantization, before the build profile is resolved.
void buildKvCachePipeline(mlir::OpPassManager &pm,
                          const PageKvCacheOptions &options);

/// Adds azc's optimization pipeline, in its one decided order, to `pm`.
void buildOptimizationPipeline(mlir::OpPassManager &pm,
                               const ShapeProfile &profile);

/// Registers every pass and the `azc-optimize` pipeline for azc-opt.
void registerAllPasses();

} // namespace azc

#endif // AZC_PASSES_PASSES_H
