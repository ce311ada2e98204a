//===- Driver.h - what `azc import`, `build` and `inspect` do ---*- C++ -*-===//

#ifndef AZC_COMPILER_DRIVER_H
#define AZC_COMPILER_DRIVER_H

#include "passes/Passes.h"
#include "passes/WeightQuantizer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace azc {

struct BuildOptions;

/// Imports a model into azg IR: a folder is a safetensors checkpoint, a
/// file ONNX. From `build`, where given, the ONNX importer takes the fixed
/// input values, the sequence lengths, and the rank of each --input-shape
/// (for inputs the model declares without a shape).
mlir::OwningOpRef<mlir::ModuleOp>
importModel(mlir::MLIRContext &context, const std::string &path,
            std::string &error, const BuildOptions *build = nullptr);

/// Runs the passes `build` adds on `module`; on failure `error` is the
/// first error diagnostic (or `what` failed).
bool runPasses(mlir::ModuleOp module,
               llvm::function_ref<void(mlir::PassManager &)> build,
               const char *what, std::string &error);

/// Runs the optimization pipeline; false with `error` on failure.
bool optimize(mlir::ModuleOp module, const ShapeProfile &profile,
              std::string &error);

/// `azc build --quantization`.
struct QuantizationOptions {
  /// none, fp16, bf16, int4, int8_wo, w4a8, int4_gptq, int4_awq, nf4
  /// (weights only); int8, int8_sq, fp8 (weights and statically quantized
  /// inputs).
  std::string mode = "none";
  int64_t groupSize = 32;                 ///< codes per scale along K
  bool symmetric = false;                 ///< no zero points
  std::string scaleDtype = "f32";         ///< f32 or f16
  std::vector<std::string> excludeLayers; ///< weight-name globs kept f32
  /// Calibration samples (int4_gptq, int4_awq, int8, int8_sq, fp8):
  /// folders of INPUT.npy.
  std::string calibData;
  int calibSamples = 0; ///< at most this many (0: all)
  /// How static input ranges are chosen: max, percentile:P, entropy, mse.
  std::string calibMethod = "max";
  double smoothquantAlpha = 0.5; ///< int8_sq's migration strength
  /// int8, int8_sq: LLM.int8()'s threshold on input channels' calibrated
  /// max |x| (0: no outlier channels).
  double int8OutlierThreshold = 0;
  /// int8, int8_sq, fp8: a calibration table to read if it exists (then
  /// --calib-data is not needed), else to write after calibrating.
  std::string calibCache;
  bool doubleQuant = true; ///< nf4: int8 scales
  double gptqDamp = 0.01;
  bool actOrder = true;
  /// Accuracy gate: keep the most sensitive weights in f32 until the KL
  /// divergence of the logits on the calibration samples is at most this
  /// (0: no gate).
  double maxKld = 0;
  /// Set by the gate for the final build's report.
  double measuredKld = -1;
  std::vector<std::string> keptInF32;
  /// Calibration statistics shared by the builds of one gate: the model
  /// and samples are the same, so they are collected once (filled by the
  /// first build that needs them; int8_sq's second pass, on the smoothed
  /// model, depends on what each build excludes and is not shared).
  struct CalibrationCache {
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics;
  };
  std::shared_ptr<CalibrationCache> calibrationCache;
};

/// What quantization did to each weight (passes/Passes.h's attributes).
struct QuantizedLayer {
  std::string weight;
  int64_t K = 0, N = 0, bits = 0;
  std::string format = "int"; ///< the codes: int, nf4, fp8_e4m3, f16, bf16
  std::string inputFormat;    ///< statically quantized input: int8, fp8_e4m3
  double inputScale = 0;      ///< its calibrated scale
  double weightError = 0, outputError = -1; ///< relative; -1: not measured
};

/// Quantizes `module`'s weights as `options` say and fills `layers`, most
/// sensitive first; false with `error` on a bad option.
bool quantize(mlir::ModuleOp module, const QuantizationOptions &options,
              std::vector<QuantizedLayer> &layers, std::string &error);

/// The JSON report of a quantized build: the options, and per weight its
/// relative weight error and (calibrated) output error, most sensitive
/// first. Written beside the engine and carried inside it.
std::string quantizationReport(const QuantizationOptions &options,
                               const std::vector<QuantizedLayer> &layers);

/// The paged KV cache (azc build --paged_kv_cache).
struct KvCacheOptions {
  bool paged = false;
  int64_t tokensPerBlock = 16;
  std::string dtype = "f32"; ///< f32, fp16, bf16, int8, fp8
  /// Tokens a sequence may hold: prompt and generated. 0: max_input_len +
  /// max_output_len.
  int64_t maxSequenceLen = 0;
  int64_t maxOutputLen = 0;
  /// Tokens (input_ids' batch x sequence) one run takes at most; 0: any.
  int64_t maxNumTokens = 0;
};

struct BuildOptions {
  std::string model;
  std::string output;
  std::string target = "cpu";
  ShapeProfile profile;
  std::vector<std::string> cpuFeatures;
  /// NAME=FILE.pb or NAME=V,V,...: inputs fixed at build. For inputs that
  /// determine shapes (a Reshape's shape, a ReduceSum's axes): the engine
  /// computes its shapes from the value and refuses any other at run time.
  std::vector<std::string> inputValues;
  /// NAME=N: a sequence input of N tensors, taken as inputs NAME[0] ...
  std::vector<std::string> sequenceLengths;
  QuantizationOptions quantization;
  KvCacheOptions kvCache;
};

struct BuildReport {
  size_t steps = 0;
  uint64_t arenaSize = 0, intermediateBytes = 0, constantsSize = 0;
  std::vector<QuantizedLayer> quantized; ///< most sensitive first
  std::string quantizationReport;        ///< its JSON file, if written
  /// The accuracy gate's result (--max-kld).
  double measuredKld = -1;
  std::vector<std::string> keptInF32;
};

/// Model in, engine file out. The build options are recorded in the engine.
/// With quantization.maxKld, several builds search for the fewest weights
/// to keep in f32.
bool buildEngine(const BuildOptions &options, BuildReport &report,
                 std::string &error);
/// One build, exactly as the options say.
bool buildOnce(const BuildOptions &options, BuildReport &report,
               std::string &error);

struct InspectOptions {
  double bandwidthGBs = 30.8; ///< DRAM read bandwidth for the time estimate
  double peakGFlops = 429.0;  ///< fp32 FMA peak for the time estimate
};

/// Verifies `path` with the runtime's loader and prints how it was built,
/// its I/O, steps, parameters, FLOPs, memory and a time estimate.
bool inspectEngine(const std::string &path, const InspectOptions &options,
                   llvm::raw_ostream &os, std::string &error);

struct EvalOptions {
  std::string engine, reference;
  /// A folder of samples: subfolders (or itself) holding INPUT.npy files.
  std::string data;
  int threads = 0;
  /// Outputs compared as distributions (softmax over the last dim) besides
  /// those named like logits.
  std::vector<std::string> distributions;
  std::string json; ///< also write the report here
  /// --perplexity FILE.txt: score a language model on text instead; the
  /// reference is then optional.
  std::string perplexityText;
  std::string tokenizer; ///< a tokenizer.json instead of the engine's
  int64_t window = 0;    ///< tokens per run (0: the engine's longest)
  int64_t stride = 0;    ///< tokens between window starts (0: window)
};

/// How far one output of an engine is from the reference's.
struct OutputMeasure {
  std::string name;
  double cosineMean = 0, cosineMin = 0, maxAbsError = 0, relativeRmsError = 0;
  double klDivergence = -1; ///< mean over rows; -1: not a distribution
};
struct EvalResult {
  int64_t samples = 0;
  std::vector<OutputMeasure> outputs; ///< the f32 outputs
  int64_t perplexityTokens = 0;       ///< 0: not a language model
  double perplexity = 0, referencePerplexity = 0;
};

/// Runs `engine` and `reference` on every sample and measures how far apart
/// their outputs are (see Eval.cpp); false with `error` on a failure.
bool measureEngine(const EvalOptions &options, EvalResult &result,
                   std::string &error);

/// measureEngine, printed as a table (and written as JSON with
/// options.json).
bool evalEngine(const EvalOptions &options, llvm::raw_ostream &os,
                std::string &error);
/// Writes `report` to `path` as indented JSON (azc eval --json).
bool writeJsonReport(const std::string &path, llvm::json::Object report,
                     std::string &error);

/// `azc eval --perplexity`: the perplexity of a language-model engine (and
/// of the reference, if any) on a text file (see Perplexity.cpp).
bool evalPerplexity(const EvalOptions &options, llvm::raw_ostream &os,
                    std::string &error);

} // namespace azc

#endif // AZC_COMPILER_DRIVER_H
