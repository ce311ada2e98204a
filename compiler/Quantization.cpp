//===- Quantization.cpp - `azc build --quantization` ----------------------===//
//
// The quantization step of a build: calibration (or its cached table),
// SmoothQuant for int8_sq, then azg-quantize-weights, and the report of
// what each weight became.
//
//===----------------------------------------------------------------------===//

#include "compiler/Calibration.h"
#include "compiler/Driver.h"
#include "dialects/azg/AzgDialect.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

using namespace azc;

bool azc::quantize(mlir::ModuleOp module, const QuantizationOptions &options,
                   std::vector<QuantizedLayer> &layers, std::string &error) {
  if (options.mode == "none")
    return true;
  const bool smooth = options.mode == "int8_sq";
  QuantizeWeightsOptions pass;
  pass.mode = smooth ? "int8" : options.mode;
  pass.groupSize = options.groupSize;
  pass.symmetric = options.symmetric;
  if (options.scaleDtype != "f32" && options.scaleDtype != "f16") {
    error =
        "--scale-dtype must be f32 or f16, got '" + options.scaleDtype + "'";
    return false;
  }
  pass.halfScales = options.scaleDtype == "f16";
  pass.exclude = options.excludeLayers;
  pass.gptqDamp = options.gptqDamp;
  pass.actOrder = options.actOrder;
  pass.doubleQuant = options.doubleQuant;
  pass.outlierThreshold = options.int8OutlierThreshold;
  CalibrationOptions calibration;
  calibration.data = options.calibData;
  calibration.maxSamples = options.calibSamples;
  calibration.progress = true;
  if (!quant::CalibrationMethod::parse(options.calibMethod, calibration.method,
                                       error)) {
    error = "--calib-method: " + error;
    return false;
  }
  const bool fp8 = options.mode == "fp8";
  calibration.levels = fp8 ? 448 : 127;
  if (fp8 && (calibration.method.kind == quant::CalibrationMethod::entropy ||
              calibration.method.kind == quant::CalibrationMethod::mse)) {
    error = "--calib-method " + options.calibMethod +
            " models an int8 grid; fp8 takes max or percentile:P";
    return false;
  }
  const bool staticRanges = options.mode == "int8" || smooth || fp8;
  if (!options.calibCache.empty() && !staticRanges) {
    error = "--calib-cache keeps the static input ranges of int8, int8_sq "
            "and fp8; --quantization " +
            options.mode + " needs the calibration samples themselves";
    return false;
  }
  // A calibration table from an earlier build stands in for the samples.
  std::optional<CalibrationTable> table;
  if (!options.calibCache.empty() &&
      llvm::sys::fs::exists(options.calibCache)) {
    table.emplace();
    if (!readCalibrationTable(options.calibCache, *table, error))
      return false;
    auto main = module.lookupSymbol<mlir::func::FuncOp>("main");
    std::vector<QuantizableProduct> products =
        main ? findQuantizableProducts(main)
             : std::vector<QuantizableProduct>();
    bool same = products.size() == table->weights.size();
    for (size_t i = 0; same && i < products.size(); ++i)
      same = products[i].weightName == table->weights[i] &&
             products[i].K == table->inputs[i].K;
    if (!same) {
      error = options.calibCache +
              ": the calibration table is of another model (its products "
              "and weights differ); delete it to calibrate again";
      return false;
    }
    if (table->method != calibration.method.str()) {
      error = options.calibCache + ": the table's ranges are by " +
              table->method + ", --calib-method asks for " +
              calibration.method.str();
      return false;
    }
  }
  static const char *const kCalibrated[] = {"int4_gptq", "int4_awq", "int8",
                                            "int8_sq", "fp8"};
  if (llvm::is_contained(kCalibrated, options.mode) &&
      options.calibData.empty() && !table) {
    error = "--quantization " + options.mode +
            " needs calibration samples: give --calib-data DIR (folders of "
            "INPUT.npy, an .npz, a .safetensors or a token-id .jsonl)";
    return false;
  }
  std::shared_ptr<const std::vector<quant::InputStatistics>> statistics;
  auto collect = [&]() -> bool {
    auto collected = std::make_shared<std::vector<quant::InputStatistics>>();
    if (!collectInputStatistics(module, calibration, *collected, error))
      return false;
    statistics = collected;
    return true;
  };
  const auto &cache = options.calibrationCache;
  if (cache && cache->statistics) {
    statistics = cache->statistics;
  } else if (table) {
    statistics =
        std::make_shared<std::vector<quant::InputStatistics>>(table->inputs);
  } else if (!options.calibData.empty()) {
    // int8_sq's first pass only sizes the smoothing; the ranges and the
    // report come from the second, on the smoothed model.
    calibration.secondMoments = !smooth;
    if (!collect())
      return false;
    calibration.secondMoments = true;
    if (cache)
      cache->statistics = statistics;
  }
  CalibrationTable made;
  if (!options.calibCache.empty() && !table) {
    made.method = calibration.method.str();
    auto main = module.lookupSymbol<mlir::func::FuncOp>("main");
    for (const QuantizableProduct &product : findQuantizableProducts(main))
      made.weights.push_back(product.weightName);
    for (const quant::InputStatistics &stats : *statistics) {
      quant::InputStatistics ranges;
      ranges.K = stats.K;
      ranges.absMax = stats.absMax;
      ranges.amax = stats.amax;
      made.inputs.push_back(std::move(ranges));
    }
  }
  if (smooth) {
    // SmoothQuant, then the ranges of the smoothed inputs: from the table
    // when it has them for this alpha and these exclusions.
    SmoothActivationsOptions smoothing;
    smoothing.alpha = options.smoothquantAlpha;
    smoothing.exclude = options.excludeLayers;
    if (!runPasses(
            module,
            [&](mlir::PassManager &pm) {
              pm.addNestedPass<mlir::func::FuncOp>(
                  createSmoothActivationsPass(smoothing, statistics));
            },
            "smoothquant", error))
      return false;
    if (table && table->smoothquantAlpha == options.smoothquantAlpha &&
        table->smoothedExclude == options.excludeLayers) {
      auto smoothed = std::make_shared<std::vector<quant::InputStatistics>>();
      for (size_t i = 0; i < table->inputs.size(); ++i) {
        quant::InputStatistics ranges;
        ranges.K = table->inputs[i].K;
        ranges.amax = table->smoothedRanges[i];
        smoothed->push_back(std::move(ranges));
      }
      statistics = smoothed;
    } else if (options.calibData.empty()) {
      error = options.calibCache +
              ": the table holds no smoothed ranges for this alpha and "
              "these exclusions; give --calib-data";
      return false;
    } else if (!collect()) {
      return false;
    }
    if (!options.calibCache.empty() && !table) {
      made.smoothquantAlpha = options.smoothquantAlpha;
      made.smoothedExclude = options.excludeLayers;
      for (const quant::InputStatistics &stats : *statistics)
        made.smoothedRanges.push_back(stats.amax);
    }
  }
  if (!options.calibCache.empty() && !table &&
      !writeCalibrationTable(options.calibCache, made, error))
    return false;
  if (!runPasses(
          module,
          [&](mlir::PassManager &pm) {
            buildQuantizationPipeline(pm, pass, statistics);
          },
          "quantization", error))
    return false;
  // The report attributes are read here and dropped: engines need none.
  auto record = [&](mlir::Operation *op, QuantizedLayer layer) {
    auto source = op->getAttrOfType<mlir::StringAttr>(kQuantSourceAttr);
    if (!source)
      return;
    layer.weight = source.str();
    if (auto e = op->getAttrOfType<mlir::FloatAttr>(kQuantWeightErrorAttr))
      layer.weightError = e.getValueAsDouble();
    if (auto e = op->getAttrOfType<mlir::FloatAttr>(kQuantOutputErrorAttr))
      layer.outputError = e.getValueAsDouble();
    for (const char *name :
         {kQuantSourceAttr, kQuantWeightErrorAttr, kQuantOutputErrorAttr})
      op->removeAttr(name);
    layers.push_back(layer);
  };
  module.walk([&](mlir::Operation *op) {
    QuantizedLayer layer;
    if (auto nbits = llvm::dyn_cast<azg::MatMulNBitsOp>(op)) {
      layer.K = nbits.getK();
      layer.N = nbits.getN();
      layer.bits = nbits.getBits();
      layer.format = nbits.getWeightFormat().str();
      if (std::optional<llvm::StringRef> input = nbits.getInputFormat()) {
        layer.inputFormat = input->str();
        layer.inputScale = nbits.getInputScale()->convertToDouble();
      }
      record(op, layer);
    } else if (auto half = llvm::dyn_cast<azg::MatMulHalfOp>(op)) {
      auto type =
          llvm::cast<mlir::RankedTensorType>(half.getWeight().getType());
      layer.N = type.getDimSize(0);
      layer.K = type.getDimSize(1);
      layer.bits = 16;
      layer.format = type.getElementType().isBF16() ? "bf16" : "f16";
      record(op, layer);
    }
  });
  std::sort(layers.begin(), layers.end(),
            [](const QuantizedLayer &a, const QuantizedLayer &b) {
              return std::tie(a.outputError, a.weightError, b.weight) >
                     std::tie(b.outputError, b.weightError, a.weight);
            });
  return true;
}

std::string azc::quantizationReport(const QuantizationOptions &options,
                                    const std::vector<QuantizedLayer> &layers) {
  llvm::json::Array entries;
  for (const QuantizedLayer &layer : layers) {
    llvm::json::Object entry{{"weight", layer.weight},
                             {"K", layer.K},
                             {"N", layer.N},
                             {"bits", layer.bits},
                             {"codes", layer.format},
                             {"weight_relative_rms_error", layer.weightError}};
    if (layer.outputError >= 0)
      entry["output_relative_error"] = layer.outputError;
    if (!layer.inputFormat.empty()) {
      entry["input_format"] = layer.inputFormat;
      entry["input_scale"] = layer.inputScale;
    }
    entries.push_back(std::move(entry));
  }
  llvm::json::Object report{
      {"mode", options.mode},
      {"max_kld", options.maxKld},
      {"group_size", options.groupSize},
      {"symmetric", options.symmetric},
      {"scale_dtype", options.scaleDtype},
      {"calibration_data", llvm::sys::path::filename(options.calibData).str()},
      {"layers", std::move(entries)}};
  if (options.mode == "int8" || options.mode == "int8_sq" ||
      options.mode == "fp8")
    report["calibration_method"] = options.calibMethod;
  if (options.mode == "int8_sq")
    report["smoothquant_alpha"] = options.smoothquantAlpha;
  if (options.int8OutlierThreshold > 0)
    report["int8_outlier_threshold"] = options.int8OutlierThreshold;
  if (!options.calibCache.empty())
    report["calibration_table"] =
        llvm::sys::path::filename(options.calibCache).str();
  if (options.measuredKld >= 0) {
    report["kld"] = options.measuredKld;
    report["kept_f32"] = llvm::json::Array(options.keptInF32);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  return text;
}
