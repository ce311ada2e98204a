//===- Driver.cpp - import, optimize and build ----------------------------===//

#include "compiler/Driver.h"

#include "compiler/BuildProfile.h"
#include "compiler/Calibration.h"
#include "compiler/EngineRunner.h"
#include "compiler/EngineWriter.h"
#include "compiler/Plan.h"
#include "compiler/PlanFitting.h"
#include "dialects/azg/AzgDialect.h"
#include "frontends/onnx/OnnxImporter.h"
#include "frontends/safetensors/SafetensorsImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace azc;

mlir::OwningOpRef<mlir::ModuleOp>
azc::importModel(mlir::MLIRContext &context, const std::string &path,
                 std::string &error,
                 const std::vector<std::string> &inputValues) {
  // A folder is a checkpoint (config.json + safetensors); a file is ONNX.
  if (llvm::sys::fs::is_directory(path)) {
    if (!inputValues.empty()) {
      error = path + ": --input-value applies to ONNX models";
      return nullptr;
    }
    return safetensors::importCheckpoint(context, path, error);
  }
  onnx_frontend::ImportOptions options;
  for (const std::string &entry : inputValues) {
    auto [name, spec] = llvm::StringRef(entry).split('=');
    if (name.empty() || spec.empty()) {
      error = "bad --input-value '" + entry +
              "': expected NAME=FILE.pb or NAME=V,V,...";
      return nullptr;
    }
    options.fixedInputs[name.str()] = spec.str();
  }
  return onnx_frontend::importOnnxFile(context, path, options, error);
}

namespace {

/// Runs the passes `build` adds on `module`; on failure `error` is the
/// first error diagnostic (or `what` failed).
bool runPasses(mlir::ModuleOp module,
               llvm::function_ref<void(mlir::PassManager &)> build,
               const char *what, std::string &error) {
  mlir::MLIRContext *context = module.getContext();
  std::string first;
  mlir::ScopedDiagnosticHandler handler(context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error && first.empty())
      first = d.str();
    return mlir::success();
  });
  mlir::PassManager pm(context);
  build(pm);
  if (mlir::succeeded(pm.run(module)))
    return true;
  error = first.empty() ? std::string(what) + " failed" : first;
  return false;
}

} // namespace

bool azc::optimize(mlir::ModuleOp module, const ShapeProfile &profile,
                   std::string &error) {
  return runPasses(
      module,
      [&](mlir::PassManager &pm) { buildOptimizationPipeline(pm, profile); },
      "optimization", error);
}

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
    if (!collect())
      return false;
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

namespace {

/// A dynamic build folds tensors up to the size of shape vectors (ranks are
/// at most 8). The grid points lie above it whenever a range reaches 10.
constexpr int64_t kDynamicFoldLimit = 8;

/// The smallest and largest values of `p` over the symbols' ranges.
std::pair<int64_t, int64_t> extremes(const plan::Polynomial &p,
                                     const std::vector<plan::Symbol> &symbols) {
  int64_t low = INT64_MAX, high = INT64_MIN;
  for (unsigned corner = 0; corner < (1u << symbols.size()); ++corner) {
    int64_t value = plan::evaluate(p, plan::boxCorner(symbols, corner));
    low = std::min(low, value);
    high = std::max(high, value);
  }
  return {low, high};
}

/// Fills the signatures' per-dim symbols and ranges.
void describeRanges(plan::Plan &plan, const ResolvedProfile &resolved) {
  auto fill = [&](plan::Signature &sig, bool isInput, size_t index) {
    const plan::Value &v = plan.values[sig.value];
    sig.dimSymbols.assign(sig.dims.size(), -1);
    sig.dimMin = sig.dims;
    sig.dimMax = sig.dims;
    for (size_t d = 0; d < sig.dims.size(); ++d) {
      if (isInput)
        sig.dimSymbols[d] = resolved.inputDims[index][d].symbol;
      if (v.dimPolynomials.empty())
        continue;
      std::tie(sig.dimMin[d], sig.dimMax[d]) =
          extremes(v.dimPolynomials[d], plan.symbols);
    }
  };
  for (size_t i = 0; i < plan.inputs.size(); ++i)
    fill(plan.inputs[i], true, i);
  for (size_t i = 0; i < plan.outputs.size(); ++i)
    fill(plan.outputs[i], false, i);
}

} // namespace

namespace {

/// `name` as a glob pattern that matches only itself.
std::string exactGlob(llvm::StringRef name) {
  std::string glob;
  for (char c : name) {
    if (llvm::StringRef("*?[]{}\\").contains(c))
      glob += '\\';
    glob += c;
  }
  return glob;
}

/// The largest mean KL divergence over the outputs of `engine` that are
/// distributions, against `reference` on `data`.
bool measureKld(const std::string &engine, const std::string &reference,
                const std::string &data, double &kld, std::string &error) {
  EvalOptions eval;
  eval.engine = engine;
  eval.reference = reference;
  eval.data = data;
  EvalResult result;
  if (!measureEngine(eval, result, error))
    return false;
  kld = -1;
  for (const OutputMeasure &m : result.outputs)
    kld = std::max(kld, m.klDivergence);
  if (kld < 0) {
    error = "--max-kld compares output distributions, and the model has no "
            "output named like logits";
    return false;
  }
  return true;
}

} // namespace

bool azc::buildEngine(const BuildOptions &options, BuildReport &report,
                      std::string &error) {
  const QuantizationOptions &quant = options.quantization;
  if (quant.maxKld <= 0)
    return buildOnce(options, report, error);
  if (quant.mode == "none" || quant.calibData.empty()) {
    error = "--max-kld needs --quantization and --calib-data (the samples "
            "the KL divergence is measured on)";
    return false;
  }
  // Accuracy-gated: the fewest of the most sensitive weights kept in f32
  // that bring the KL divergence on the calibration samples within
  // budget. Keeping more weights in f32 lowers it (nearly always), so the
  // count is found by bisection between none and all.
  TemporaryEngine reference, trial;
  if (!reference.create("azc-reference", error) ||
      !trial.create("azc-trial", error))
    return false;
  BuildOptions f32 = options;
  f32.quantization = QuantizationOptions();
  f32.output = reference.path;
  BuildReport ignored;
  if (!buildOnce(f32, ignored, error))
    return false;
  std::vector<std::string> order;
  BuildOptions gated = options;
  gated.quantization.calibrationCache =
      std::make_shared<QuantizationOptions::CalibrationCache>();
  auto kldKeeping = [&](size_t count, double &kld) {
    BuildOptions attempt = gated;
    attempt.output = trial.path;
    for (size_t i = 0; i < count && i < order.size(); ++i)
      attempt.quantization.excludeLayers.push_back(exactGlob(order[i]));
    BuildReport attemptReport;
    bool ok =
        buildOnce(attempt, attemptReport, error) &&
        measureKld(trial.path, reference.path, quant.calibData, kld, error);
    llvm::sys::fs::remove(trial.path + ".quantization.json");
    if (order.empty())
      for (const QuantizedLayer &layer : attemptReport.quantized)
        order.push_back(layer.weight);
    return ok;
  };
  double kld;
  if (!kldKeeping(0, kld))
    return false;
  size_t pass = order.size(), fail = 0;
  double passKld = 0;
  if (kld <= quant.maxKld) {
    pass = 0;
    passKld = kld;
  }
  // All weights in f32 is the reference itself: KL 0.
  while (pass > fail + 1) {
    size_t mid = (pass + fail) / 2;
    if (!kldKeeping(mid, kld))
      return false;
    if (kld <= quant.maxKld) {
      pass = mid;
      passKld = kld;
    } else {
      fail = mid;
    }
  }
  BuildOptions final = gated;
  for (size_t i = 0; i < pass; ++i)
    final.quantization.excludeLayers.push_back(exactGlob(order[i]));
  final.quantization.measuredKld = passKld;
  final.quantization.keptInF32.assign(order.begin(), order.begin() + pass);
  if (!buildOnce(final, report, error))
    return false;
  report.measuredKld = passKld;
  report.keptInF32 = final.quantization.keptInF32;
  return true;
}

bool azc::buildOnce(const BuildOptions &options, BuildReport &report,
                    std::string &error) {
  if (options.target != "cpu") {
    error = "target '" + options.target +
            "' is not supported yet; this azc builds 'cpu' engines";
    return false;
  }
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importModel(context, options.model, error, options.inputValues);
  if (!module)
    return false;
  // Quantization reads only weights: once, before shapes are fixed.
  if (!quantize(*module, options.quantization, report.quantized, error)) {
    error = options.model + ": " + error;
    return false;
  }
  auto main = module->lookupSymbol<mlir::func::FuncOp>("main");
  ResolvedProfile resolved;
  if (!main || !resolveProfile(main, options.profile, resolved, error)) {
    error = options.model + ": " + (main ? error : "the model has no @main");
    return false;
  }
  std::vector<plan::Symbol> symbols = resolved.symbols;
  plan::chooseGrid(symbols);
  if (!symbols.empty()) {
    auto *dialect = context.getLoadedDialect<azg::AzgDialect>();
    dialect->setFoldLimit(kDynamicFoldLimit);
    dialect->setFoldRanges(false);
  }
  // Each point of the ranges is compiled from a fresh copy of the import.
  auto lowerAt = [&](const std::vector<int64_t> &point, plan::Plan &plan) {
    mlir::OwningOpRef<mlir::ModuleOp> copy = module->clone();
    ShapeProfile fixed;
    fixed.inputShapes = resolved.inputShapesAt(point);
    if (optimize(*copy, fixed, error) && plan::lowerToPlan(*copy, plan, error))
      return true;
    error =
        options.model + ": " + error +
        (symbols.empty() ? ""
                         : " (at " + plan::formatPoint(symbols, point) + ")");
    return false;
  };
  plan::Plan plan;
  if (symbols.empty()) {
    if (!lowerAt({}, plan))
      return false;
  } else {
    std::vector<plan::Plan> grid(size_t(1) << symbols.size());
    for (unsigned corner = 0; corner < grid.size(); ++corner)
      if (!lowerAt(plan::gridPoint(symbols, corner), grid[corner]))
        return false;
    if (!plan::fitPlans(grid, symbols, plan, error)) {
      error = options.model + ": " + error;
      return false;
    }
    if (std::optional<std::vector<int64_t>> point = plan::checkPoint(symbols)) {
      plan::Plan sample;
      if (!lowerAt(*point, sample))
        return false;
      if (!plan::checkFit(plan, sample, *point, error)) {
        error = options.model + ": " + error;
        return false;
      }
    }
  }
  describeRanges(plan, resolved);
  // Inputs fixed at build carry their bytes, which a run must match.
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    if (auto value = main.getArgAttrOfType<mlir::DenseElementsAttr>(
            i, azg::kFixedValueAttr)) {
      std::vector<char> scratch;
      plan::Value holder;
      holder.constant = value;
      llvm::ArrayRef<char> bytes = plan::constantBytes(holder, scratch);
      plan.inputs[i].fixedValue.assign(bytes.begin(), bytes.end());
    }
  plan::planMemory(plan);

  EngineInfo info;
  info.producer = "azc " AZC_VERSION_STRING;
  info.sourceModel = llvm::sys::path::filename(options.model).str();
  info.target = options.target;
  info.cpuFeatures = options.cpuFeatures;
  auto &flags = info.buildOptions;
  flags.push_back({"target", options.target});
  flags.push_back(
      {"max_batch_size", std::to_string(options.profile.maxBatchSize)});
  flags.push_back(
      {"input_shape", llvm::join(options.profile.inputShapes, ";")});
  flags.push_back({"dims", llvm::join(options.profile.dims, ";")});
  flags.push_back(
      {"shape_range", llvm::join(options.profile.shapeRanges, ";")});
  flags.push_back(
      {"max_input_len", std::to_string(options.profile.maxInputLen)});
  flags.push_back({"cpu_features", llvm::join(options.cpuFeatures, ",")});
  flags.push_back({"input_value", llvm::join(options.inputValues, ";")});
  const QuantizationOptions &quant = options.quantization;
  flags.push_back({"quantization", quant.mode});
  if (quant.mode != "none") {
    flags.push_back({"group_size", std::to_string(quant.groupSize)});
    flags.push_back({"symmetric", quant.symmetric ? "true" : "false"});
    flags.push_back({"scale_dtype", quant.scaleDtype});
    flags.push_back({"exclude_layers", llvm::join(quant.excludeLayers, ",")});
    if (!quant.calibData.empty()) {
      flags.push_back(
          {"calib_data", llvm::sys::path::filename(quant.calibData).str()});
      flags.push_back({"calib_samples", std::to_string(quant.calibSamples)});
    }
    if (quant.mode == "int4_gptq") {
      flags.push_back({"gptq_damp", std::to_string(quant.gptqDamp)});
      flags.push_back({"act_order", quant.actOrder ? "true" : "false"});
    }
  }
  // A checkpoint folder's tokenizer and generation settings travel with the
  // engine, so it is all a deployment needs.
  if (llvm::sys::fs::is_directory(options.model))
    for (const char *name : {"tokenizer.json", "generation_config.json"}) {
      llvm::SmallString<256> path(options.model);
      llvm::sys::path::append(path, name);
      auto buffer = llvm::MemoryBuffer::getFile(path);
      if (buffer)
        info.attachments.push_back({name, (*buffer)->getBuffer().str()});
    }
  // The quantization report travels inside the engine and beside it.
  std::string quantReport;
  if (quant.mode != "none") {
    quantReport = quantizationReport(quant, report.quantized);
    info.attachments.push_back({"quantization_report.json", quantReport});
  }
  flags.push_back(
      {"pipeline",
       std::string(quant.mode == "int8_sq" ? "smooth-activations," : "") +
           (quant.mode == "none" ? "" : "quantize-weights,") +
           "resolve-shapes,fold-shapes,keep-quantized-weights,"
           "fuse-elementwise,fuse-epilogues,cse,canonicalize"});
  if (!writeEngine(plan, info, options.output, error))
    return false;
  if (!quantReport.empty()) {
    report.quantizationReport = options.output + ".quantization.json";
    std::error_code ec;
    llvm::raw_fd_ostream out(report.quantizationReport, ec);
    if (ec) {
      error =
          "cannot write '" + report.quantizationReport + "': " + ec.message();
      return false;
    }
    out << quantReport;
  }
  report.steps = plan.steps.size();
  report.arenaSize = plan.arenaSize;
  report.intermediateBytes = plan.intermediateBytes;
  report.constantsSize = plan.constantsSize;
  return true;
}
