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

mlir::OwningOpRef<mlir::ModuleOp> azc::importModel(mlir::MLIRContext &context,
                                                   const std::string &path,
                                                   std::string &error,
                                                   const BuildOptions *build) {
  static const BuildOptions none;
  const BuildOptions &flags = build ? *build : none;
  // A folder is a checkpoint (config.json + safetensors); a file is ONNX.
  if (llvm::sys::fs::is_directory(path)) {
    if (!flags.inputValues.empty() || !flags.sequenceLengths.empty()) {
      error = path + ": --input-value and --sequence-length apply to ONNX "
                     "models";
      return nullptr;
    }
    return safetensors::importCheckpoint(context, path, error);
  }
  onnx_frontend::ImportOptions options;
  for (const std::string &entry : flags.inputValues) {
    auto [name, spec] = llvm::StringRef(entry).split('=');
    if (name.empty() || spec.empty()) {
      error = "bad --input-value '" + entry +
              "': expected NAME=FILE.pb or NAME=V,V,...";
      return nullptr;
    }
    options.fixedInputs[name.str()] = spec.str();
  }
  for (const std::string &entry : flags.sequenceLengths) {
    auto [name, count] = llvm::StringRef(entry).split('=');
    int64_t length = -1;
    if (name.empty() || count.getAsInteger(10, length) || length < 0 ||
        length > 4096) {
      error = "bad --sequence-length '" + entry +
              "': expected NAME=N with N from 0 to 4096";
      return nullptr;
    }
    options.sequenceLengths[name.str()] = length;
  }
  // NAME:AxBxC (the profile checks the sizes once the inputs are typed).
  for (const std::string &entry : flags.profile.inputShapes) {
    auto [name, spec] = llvm::StringRef(entry).rsplit(':');
    options.declaredRanks[name.str()] =
        spec.empty() ? 0 : int64_t(spec.count('x')) + 1;
  }
  return onnx_frontend::importOnnxFile(context, path, options, error);
}

bool azc::runPasses(mlir::ModuleOp module,
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

bool azc::optimize(mlir::ModuleOp module, const ShapeProfile &profile,
                   std::string &error) {
  return runPasses(
      module,
      [&](mlir::PassManager &pm) { buildOptimizationPipeline(pm, profile); },
      "optimization", error);
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

/// Runs azg-page-kv-cache sized by the build profile: blocks enough for the
/// longest sequence, and a default cache of max_batch_size of them.
static bool pageKvCache(mlir::ModuleOp module, const BuildOptions &options,
                        std::string &error) {
  const KvCacheOptions &kv = options.kvCache;
  const int64_t longest =
      kv.maxSequenceLen
          ? kv.maxSequenceLen
          : (options.profile.maxInputLen > 0 && kv.maxOutputLen > 0
                 ? options.profile.maxInputLen + kv.maxOutputLen
                 : 0);
  if (longest <= 0) {
    error = "--paged_kv_cache needs the longest sequence the cache holds: "
            "--max_input_len and --max_output_len, or --max_seq_len";
    return false;
  }
  if (kv.tokensPerBlock <= 0 || kv.tokensPerBlock > 4096) {
    error = "--tokens_per_block must be in 1..4096, got " +
            std::to_string(kv.tokensPerBlock);
    return false;
  }
  PageKvCacheOptions pass;
  pass.tokensPerBlock = kv.tokensPerBlock;
  pass.maxBlocks = (longest + kv.tokensPerBlock - 1) / kv.tokensPerBlock;
  pass.kvDtype = kv.dtype;
  return runPasses(
      module, [&](mlir::PassManager &pm) { buildKvCachePipeline(pm, pass); },
      "paging the KV cache", error);
}

/// --max_num_tokens bounds input_ids' batch x sequence, so the model must
/// take token ids, and a whole prompt of --max_input_len must fit.
static bool checkTokenBudget(mlir::func::FuncOp main,
                             const BuildOptions &options, std::string &error) {
  const int64_t budget = options.kvCache.maxNumTokens;
  if (budget == 0)
    return true;
  bool hasIds = false;
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    if (auto name = main.getArgAttrOfType<mlir::StringAttr>(i, azg::kNameAttr))
      hasIds |= name.getValue() == "input_ids" &&
                mlir::cast<mlir::ShapedType>(main.getArgument(i).getType())
                        .getRank() == 2;
  if (!hasIds) {
    error = "--max_num_tokens bounds the tokens of input_ids [batch, "
            "sequence]; the model has no such input";
    return false;
  }
  if (budget < 0 || budget < options.profile.maxInputLen) {
    error = "--max_num_tokens " + std::to_string(budget) +
            " must be at least --max_input_len (" +
            std::to_string(options.profile.maxInputLen) +
            "): a whole prompt runs at once";
    return false;
  }
  return true;
}

/// The layout azg-page-kv-cache recorded on @main, for the engine.
static void describeKvCache(mlir::func::FuncOp main,
                            const BuildOptions &options, EngineInfo &info) {
  auto layout = main->getAttrOfType<mlir::DictionaryAttr>(azg::kKvCacheAttr);
  if (!layout)
    return;
  auto get = [&](llvm::StringRef key) {
    return layout.getAs<mlir::IntegerAttr>(key).getInt();
  };
  KvCacheLayout &kv = info.kvCache;
  kv.layers = get("layers");
  kv.kvHeads = get("kv_heads");
  kv.headDim = get("head_dim");
  kv.tokensPerBlock = get("tokens_per_block");
  kv.maxBlocksPerSequence = get("max_blocks");
  kv.dtype = layout.getAs<mlir::StringAttr>("dtype").str();
  kv.defaultBlocks = std::max<int64_t>(options.profile.maxBatchSize, 1) *
                     kv.maxBlocksPerSequence;
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
      importModel(context, options.model, error, &options);
  if (!module)
    return false;
  // Quantization reads only weights: once, before shapes are fixed.
  if (!quantize(*module, options.quantization, report.quantized, error)) {
    error = options.model + ": " + error;
    return false;
  }
  if (options.kvCache.paged && !pageKvCache(*module, options, error)) {
    error = options.model + ": " + error;
    return false;
  }
  auto main = module->lookupSymbol<mlir::func::FuncOp>("main");
  if (main && !checkTokenBudget(main, options, error)) {
    error = options.model + ": " + error;
    return false;
  }
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
  describeKvCache(main, options, info);
  info.maxNumTokens = options.kvCache.maxNumTokens;
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
  if (options.kvCache.paged) {
    flags.push_back({"paged_kv_cache", "true"});
    flags.push_back(
        {"tokens_per_block", std::to_string(options.kvCache.tokensPerBlock)});
    flags.push_back({"kv_cache_dtype", options.kvCache.dtype});
    flags.push_back(
        {"max_output_len", std::to_string(options.kvCache.maxOutputLen)});
    flags.push_back(
        {"max_seq_len", std::to_string(options.kvCache.maxSequenceLen)});
  }
  if (options.kvCache.maxNumTokens)
    flags.push_back(
        {"max_num_tokens", std::to_string(options.kvCache.maxNumTokens)});
  flags.push_back({"cpu_features", llvm::join(options.cpuFeatures, ",")});
  flags.push_back({"input_value", llvm::join(options.inputValues, ";")});
  if (!options.sequenceLengths.empty())
    flags.push_back(
        {"sequence_length", llvm::join(options.sequenceLengths, ";")});
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
