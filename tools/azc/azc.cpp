//===- azc.cpp - the azc compiler driver ----------------------------------===//
//
//   azc import MODEL [-o OUT.mlir] [--optimize] [profile flags]
//   [--print-weights] azc build MODEL [-o ENGINE] [--target cpu] [profile
//   flags]
//                   [--cpu-features F,...] [--quantization MODE
//                   [--group-size G] [--symmetric] [--exclude-layers GLOB,...]]
//   azc inspect ENGINE [--bandwidth-gbs X] [--peak-gflops Y]
//   azc eval ENGINE --reference ENGINE --data DIR [--json OUT]
//   azc eval ENGINE --perplexity TEXT [--reference ENGINE] [--window N]
//            [--stride N] [--tokenizer tokenizer.json] [--json OUT]
// profile flags: --max_batch_size N, --dims NAME=N, --input-shape NAME:AxBx...
//   and for build: --shape-range NAME=MIN..OPT..MAX, --max_input_len N
//
// import prints azg IR followed by a parameter and FLOP summary as comments
// (so the output still parses); build writes an engine file; inspect
// verifies one and prints how it was made and what it costs.
// Errors: one message on stderr, exit status 1; usage errors exit 2.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver.h"
#include "compiler/ModelSummary.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <CLI/CLI.hpp>

namespace {

struct ImportCommand {
  std::string model;
  std::string output = "-";
  bool optimize = false;
  bool printWeights = false;
  /// The import flags (fixed inputs, sequence lengths) and the profile.
  azc::BuildOptions flags;
};

/// The flags that change how an ONNX graph imports, for `build` and
/// `import` alike.
void addImportOptions(CLI::App *app, azc::BuildOptions &options) {
  app->add_option(
      "--input-value", options.inputValues,
      "fix an input at build, NAME=FILE.pb or NAME=V,V,... (repeatable): for "
      "inputs shapes are computed from; other values are refused at run time");
  app->add_option(
      "--sequence-length", options.sequenceLengths,
      "NAME=N (repeatable): the sequence input NAME holds N tensors, which "
      "the engine takes as inputs NAME[0] ... NAME[N-1]");
}

int fail(const std::string &message) {
  llvm::errs() << "azc: " << message << "\n";
  return 1;
}

int runImport(const ImportCommand &command) {
  mlir::MLIRContext context;
  std::string error;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      azc::importModel(context, command.model, error, &command.flags);
  if (!module)
    return fail(error);
  const azc::ShapeProfile &profile = command.flags.profile;
  if ((command.optimize || !profile.dims.empty() ||
       !profile.inputShapes.empty() || profile.maxBatchSize > 0) &&
      !azc::optimize(*module, profile, error))
    return fail(command.model + ": " + error);

  // Write to a temporary file and rename it, so a failure never leaves a
  // partial output behind.
  std::error_code ec;
  auto out = std::make_unique<llvm::ToolOutputFile>(command.output, ec,
                                                    llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + command.output + "': " + ec.message());
  mlir::OpPrintingFlags flags;
  if (!command.printWeights)
    flags.elideLargeElementsAttrs(16).elideLargeResourceString(64);
  module->print(out->os(), flags);
  out->os() << "\n";
  std::string summaryText;
  llvm::raw_string_ostream summaryStream(summaryText);
  azc::printSummary(azc::summarize(*module), summaryStream);
  llvm::StringRef rest(summaryText);
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    out->os() << "// " << line << "\n";
    rest = tail;
  }
  out->keep();
  return 0;
}

} // namespace

int runBuild(azc::BuildOptions options) {
  if (options.output.empty()) {
    llvm::SmallString<128> output(options.model);
    llvm::sys::path::replace_extension(output, "azeng");
    options.output = output.str().str();
  }
  azc::BuildReport report;
  std::string error;
  if (!azc::buildEngine(options, report, error))
    return fail(error);
  llvm::outs() << "azc: wrote " << options.output << ": " << report.steps
               << " steps, arena " << report.arenaSize << " bytes for "
               << report.intermediateBytes << " bytes of intermediates, "
               << report.constantsSize << " bytes of constants\n";
  if (options.quantization.maxKld > 0) {
    llvm::outs() << "azc: KL divergence on the calibration samples "
                 << llvm::format("%.4g", report.measuredKld) << " (at most "
                 << llvm::format("%.4g", options.quantization.maxKld)
                 << ") with " << report.keptInF32.size()
                 << " weights kept in f32";
    for (size_t i = 0; i < report.keptInF32.size(); ++i)
      llvm::outs() << (i ? ", " : ": ") << report.keptInF32[i];
    llvm::outs() << "\n";
  }
  if (!report.quantized.empty()) {
    llvm::outs() << "azc: quantized " << report.quantized.size()
                 << " weights (report: " << report.quantizationReport
                 << "); the most sensitive:";
    for (size_t i = 0; i < std::min<size_t>(3, report.quantized.size()); ++i) {
      const azc::QuantizedLayer &layer = report.quantized[i];
      bool output = layer.outputError >= 0;
      llvm::outs() << (i ? ", " : " ") << layer.weight << " ("
                   << (output ? "output" : "weight") << " error "
                   << llvm::format("%.2f%%",
                                   100.0 * (output ? layer.outputError
                                                   : layer.weightError))
                   << ")";
    }
    llvm::outs() << "\n";
  }
  return 0;
}

void addProfileOptions(CLI::App *app, azc::ShapeProfile &profile, bool ranges) {
  app->add_option("--max_batch_size,--max-batch-size", profile.maxBatchSize,
                  ranges ? "dim 0 of every input where it is dynamic takes "
                           "1..N at run time"
                         : "size of dim 0 of every input where it is dynamic");
  app->add_option("--dims", profile.dims,
                  "symbolic dim sizes, NAME=SIZE (repeatable)");
  app->add_option("--input-shape", profile.inputShapes,
                  "input shapes, NAME:D0xD1x... (repeatable)");
  if (!ranges)
    return;
  app->add_option("--shape-range", profile.shapeRanges,
                  "a dim's run-time range, NAME=MIN..OPT..MAX or "
                  "INPUT:DIM=MIN..OPT..MAX (repeatable)");
  app->add_option("--max_input_len,--max-input-len", profile.maxInputLen,
                  "dim 1 of rank-2 integer inputs (token ids) takes 1..N");
}

int main(int argc, char **argv) {
  CLI::App app{"azc: an ahead-of-time model compiler"};
  app.require_subcommand(1);
  ImportCommand import;
  CLI::App *importApp =
      app.add_subcommand("import", "import a model and print its azg IR");
  importApp->add_option("model", import.model, "ONNX model file")->required();
  importApp->add_option("-o,--output", import.output,
                        "output file (- for stdout)");
  importApp->add_flag("--optimize", import.optimize,
                      "run the optimization pipeline before printing");
  addProfileOptions(importApp, import.flags.profile, false);
  addImportOptions(importApp, import.flags);
  importApp->add_flag("--print-weights", import.printWeights,
                      "print weight data instead of eliding it");

  azc::BuildOptions build;
  CLI::App *buildApp =
      app.add_subcommand("build", "compile a model into an engine file");
  buildApp->add_option("model", build.model, "ONNX model file")->required();
  buildApp->add_option("-o,--output", build.output,
                       "engine file (default: MODEL with .azeng)");
  buildApp->add_option("--target", build.target, "cpu (default)");
  buildApp
      ->add_option("--cpu-features", build.cpuFeatures,
                   "CPU features the engine may require (comma-separated)")
      ->delimiter(',');
  addProfileOptions(buildApp, build.profile, true);
  addImportOptions(buildApp, build);

  azc::KvCacheOptions &kv = build.kvCache;
  buildApp->add_flag("--paged_kv_cache,--paged-kv-cache", kv.paged,
                     "attention reads and writes a paged KV cache the "
                     "runtime owns (decoders in the KV-cache form)");
  buildApp->add_option("--tokens_per_block,--tokens-per-block",
                       kv.tokensPerBlock, "tokens per cache block (16)");
  buildApp
      ->add_option("--kv_cache_dtype,--kv-cache-dtype", kv.dtype,
                   "cached keys and values: f32 (default), fp16, bf16, "
                   "int8 or fp8 (per-token scales)")
      ->check(CLI::IsMember({"f32", "fp16", "bf16", "int8", "fp8"}));
  buildApp->add_option("--max_output_len,--max-output-len", kv.maxOutputLen,
                       "tokens generated after the longest prompt: with "
                       "--max_input_len, the longest sequence the cache holds");
  buildApp->add_option("--max_num_tokens,--max-num-tokens", kv.maxNumTokens,
                       "tokens (batch x sequence of input_ids) one run takes "
                       "at most: batched generation splits prefills to fit");
  buildApp->add_option("--max_seq_len,--max-seq-len", kv.maxSequenceLen,
                       "the longest sequence the cache holds (instead of "
                       "--max_input_len + --max_output_len)");
  azc::QuantizationOptions &quant = build.quantization;
  buildApp->add_option(
      "--quantization", quant.mode,
      "none (default); weight-only: fp16, bf16, int4, int8_wo, w4a8, "
      "int4_gptq, int4_awq, nf4; weights and inputs (calibrated): int8, "
      "int8_sq, fp8");
  buildApp->add_option("--group-size", quant.groupSize,
                       "weights sharing a scale along K (default 32)");
  buildApp->add_flag("--symmetric", quant.symmetric,
                     "no zero points: one scale per group");
  buildApp->add_option("--scale-dtype", quant.scaleDtype,
                       "f32 (default) or f16 scales: 5.1 or 4.6 bits a "
                       "4-bit weight at group size 32");
  buildApp
      ->add_option("--exclude-layers", quant.excludeLayers,
                   "weight-name globs to keep in full precision")
      ->delimiter(',');
  buildApp->add_option("--calib-data", quant.calibData,
                       "calibration samples: a folder of folders of "
                       "INPUT.npy (int4_gptq, int4_awq, int8, int8_sq, fp8)");
  buildApp->add_option("--calib-method", quant.calibMethod,
                       "static input ranges: max (default), percentile:P, "
                       "entropy or mse");
  buildApp->add_option("--calib-cache", quant.calibCache,
                       "int8, int8_sq, fp8: read the calibration table "
                       "(input ranges) from this file if it exists, else "
                       "write it there");
  buildApp->add_option("--int8-outlier-threshold", quant.int8OutlierThreshold,
                       "int8, int8_sq: input channels whose calibrated max "
                       "|x| reaches this stay f32 (LLM.int8(); e.g. 6.0)");
  buildApp->add_option("--smoothquant-alpha", quant.smoothquantAlpha,
                       "int8_sq: migration strength in [0, 1] (default 0.5)");
  buildApp->add_flag("!--no-double-quant", quant.doubleQuant,
                     "nf4: keep the block scales in f32");
  buildApp->add_option("--calib-samples", quant.calibSamples,
                       "use at most this many calibration samples");
  buildApp->add_option("--gptq-damp", quant.gptqDamp,
                       "GPTQ damping, a fraction of the mean diagonal "
                       "(default 0.01)");
  buildApp->add_option(
      "--max-kld", quant.maxKld,
      "keep the most sensitive weights in f32 until the logits' KL "
      "divergence on the calibration samples is at most this");
  buildApp->add_flag("!--no-act-order", quant.actOrder,
                     "GPTQ: quantize inputs in model order, not by energy");

  std::string enginePath;
  azc::InspectOptions inspect;
  CLI::App *inspectApp =
      app.add_subcommand("inspect", "verify an engine and describe it");
  inspectApp->add_option("engine", enginePath, "engine file")->required();
  inspectApp->add_option("--bandwidth-gbs", inspect.bandwidthGBs,
                         "DRAM bandwidth for the time estimate (GB/s)");
  inspectApp->add_option("--peak-gflops", inspect.peakGFlops,
                         "peak GFLOP/s for the time estimate");
  azc::EvalOptions eval;
  CLI::App *evalApp = app.add_subcommand(
      "eval", "compare an engine's outputs with a reference engine's");
  evalApp->add_option("engine", eval.engine, "engine file")->required();
  CLI::Option *reference =
      evalApp->add_option("--reference", eval.reference,
                          "the engine to compare with (say, the f32 build)");
  CLI::Option *data = evalApp->add_option(
      "--data", eval.data,
      "folder of samples: subfolders (or itself) of INPUT.npy");
  CLI::Option *perplexity = evalApp->add_option(
      "--perplexity", eval.perplexityText,
      "a text file: the language model's perplexity on it (and the "
      "reference's, if given)");
  perplexity->excludes(data);
  evalApp->add_option("--tokenizer", eval.tokenizer,
                      "tokenizer.json for --perplexity (default: the "
                      "engine's)");
  evalApp->add_option("--window", eval.window,
                      "tokens per run for --perplexity (default: the "
                      "engine's longest sequence)");
  evalApp->add_option("--stride", eval.stride,
                      "tokens between windows for --perplexity (default: "
                      "the window; less overlaps them)");
  evalApp->add_option("--threads", eval.threads, "threads per engine");
  evalApp
      ->add_option("--distribution", eval.distributions,
                   "outputs to also compare as softmax distributions (KL); "
                   "outputs named like logits always are")
      ->delimiter(',');
  evalApp->add_option("--json", eval.json, "also write the report as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (importApp->parsed())
    return runImport(import);
  if (buildApp->parsed())
    return runBuild(build);
  if (evalApp->parsed()) {
    std::string error;
    if (eval.perplexityText.empty() &&
        (reference->count() == 0 || data->count() == 0))
      return fail("azc eval needs --reference and --data, or --perplexity");
    if (!(eval.perplexityText.empty()
              ? azc::evalEngine(eval, llvm::outs(), error)
              : azc::evalPerplexity(eval, llvm::outs(), error)))
      return fail(error);
    return 0;
  }
  if (inspectApp->parsed()) {
    std::string error;
    if (!azc::inspectEngine(enginePath, inspect, llvm::outs(), error))
      return fail(error);
    return 0;
  }
  return 2;
}
