//===- Eval.cpp - `azc eval`: an engine's accuracy against a reference ----===//
//
// A quantized engine is only useful with a measured loss. eval runs an
// engine and a reference engine (typically the f32 build of the same
// model) on the same samples, through the runtime as a deployment would,
// and reports per float output the cosine similarity, the largest absolute
// and the relative RMS error; for outputs that are distributions (logits),
// the KL divergence of the reference's softmax from the engine's; and for a
// language model (input_ids in, logits out) the perplexity of both on the
// samples' own next tokens. Sums are taken in double.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver.h"
#include "compiler/EngineRunner.h"
#include "compiler/SampleSource.h"
#include "tools/common/npy.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <memory>

using namespace azc;

namespace {

/// Running measures of one output over the samples.
struct OutputStats {
  std::string name;
  bool distribution = false; ///< softmax over the last dim means something
  double cosineSum = 0, cosineMin = 1, maxAbs = 0;
  double errorSquares = 0, referenceSquares = 0;
  double klSum = 0;
  int64_t klRows = 0, samples = 0;
};

/// log softmax(row)[i] for all i, in double.
void logSoftmax(const float *row, int64_t n, std::vector<double> &out) {
  double peak = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    peak = std::max(peak, double(row[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(double(row[i]) - peak);
  const double logSum = peak + std::log(sum);
  out.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i)
    out[size_t(i)] = double(row[i]) - logSum;
}

void accumulate(OutputStats &s, const float *got, const float *want,
                const std::vector<int64_t> &dims) {
  int64_t count = 1;
  for (int64_t d : dims)
    count *= d;
  double dot = 0, gotSquares = 0, wantSquares = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double g = got[i], w = want[i];
    dot += g * w;
    gotSquares += g * g;
    wantSquares += w * w;
    s.maxAbs = std::max(s.maxAbs, std::fabs(g - w));
    s.errorSquares += (g - w) * (g - w);
  }
  s.referenceSquares += wantSquares;
  const double norms = std::sqrt(gotSquares * wantSquares);
  const double cosine = norms > 0 ? dot / norms : (gotSquares == wantSquares);
  s.cosineSum += cosine;
  s.cosineMin = std::min(s.cosineMin, cosine);
  ++s.samples;
  if (!s.distribution || dims.empty() || dims.back() < 2)
    return;
  const int64_t n = dims.back();
  std::vector<double> p, q;
  for (int64_t row = 0; row < count / n; ++row) {
    logSoftmax(want + row * n, n, p);
    logSoftmax(got + row * n, n, q);
    double kl = 0;
    for (int64_t i = 0; i < n; ++i)
      kl += std::exp(p[size_t(i)]) * (p[size_t(i)] - q[size_t(i)]);
    s.klSum += kl;
    ++s.klRows;
  }
}

/// Negative log-likelihood of each next token of `ids` [B, S] under
/// `logits` [B, S, V], counting positions t where the mask (if any) keeps
/// both t and t + 1.
void nextTokenLoss(const azr_tools::HostTensor &ids,
                   const azr_tools::HostTensor *mask, const float *logits,
                   int64_t vocab, double &loss, int64_t &tokens) {
  const int64_t B = ids.dims[0], S = ids.dims[1];
  const auto *id = reinterpret_cast<const int64_t *>(ids.data.data());
  const auto *keep =
      mask ? reinterpret_cast<const int64_t *>(mask->data.data()) : nullptr;
  std::vector<double> logp;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < S; ++t) {
      const int64_t next = id[b * S + t + 1];
      if ((keep && (!keep[b * S + t] || !keep[b * S + t + 1])) || next < 0 ||
          next >= vocab)
        continue;
      logSoftmax(logits + (b * S + t) * vocab, vocab, logp);
      loss -= logp[size_t(next)];
      ++tokens;
    }
}

bool isLogits(llvm::StringRef name) {
  return name.contains_insensitive("logits");
}

} // namespace

bool azc::measureEngine(const EvalOptions &options, EvalResult &result,
                        std::string &error) {
  EngineRunner engine, reference;
  if (!engine.load(options.engine, options.threads, error) ||
      !reference.load(options.reference, options.threads, error))
    return false;
  const std::vector<std::string> names = engine.inputNames();
  std::vector<SampleInput> specs;
  for (size_t i = 0; i < names.size(); ++i) {
    azr_tensor_info_t info;
    if (azr_engine_input_info(engine.engine, i, &info)) {
      error = options.engine + ": no input " + std::to_string(i);
      return false;
    }
    specs.push_back({names[i], int64_t(info.rank), info.dtype});
  }
  std::unique_ptr<SampleSource> samples =
      SampleSource::open(options.data, specs, error);
  if (!samples)
    return false;

  std::vector<OutputStats> stats;
  for (size_t i = 0; i < azr_engine_output_count(engine.engine); ++i) {
    azr_tensor_info_t info;
    if (azr_engine_output_info(engine.engine, i, &info))
      continue;
    OutputStats s;
    s.name = info.name;
    s.distribution =
        isLogits(s.name) || llvm::is_contained(options.distributions, s.name);
    stats.push_back(s);
  }
  double engineLoss = 0, referenceLoss = 0;
  int64_t lossTokens = 0;
  for (size_t index = 0; index < samples->size(); ++index) {
    const std::string sample = samples->name(index);
    std::vector<azr_tools::HostTensor> inputs;
    if (!samples->read(index, inputs, error))
      return false;
    if (!engine.run(names, inputs, error) ||
        !reference.run(names, inputs, error)) {
      error = sample + ": " + error;
      return false;
    }
    for (OutputStats &s : stats) {
      std::vector<int64_t> dims, refDims;
      const float *got, *want;
      if (!engine.output(s.name, dims, got, error) ||
          !reference.output(s.name, refDims, want, error))
        return false;
      if (!got || !want)
        continue; // Not f32: nothing to measure.
      if (dims != refDims) {
        error = sample + ": output '" + s.name +
                "' has a different shape in the reference";
        return false;
      }
      accumulate(s, got, want, dims);
      auto input = [&](const char *name) -> const azr_tools::HostTensor * {
        auto it = llvm::find(names, name);
        return it == names.end() ? nullptr : &inputs[it - names.begin()];
      };
      const azr_tools::HostTensor *ids = input("input_ids");
      if (isLogits(s.name) && ids && ids->dims.size() == 2 &&
          ids->dtype == AZR_DTYPE_I64 && dims.size() == 3 &&
          dims[0] == ids->dims[0] && dims[1] == ids->dims[1]) {
        const azr_tools::HostTensor *mask = input("attention_mask");
        if (mask && (mask->dtype != AZR_DTYPE_I64 || mask->dims != ids->dims))
          mask = nullptr;
        int64_t counted = 0, ignored = 0;
        nextTokenLoss(*ids, mask, got, dims[2], engineLoss, counted);
        nextTokenLoss(*ids, mask, want, dims[2], referenceLoss, ignored);
        lossTokens += counted;
      }
    }
  }

  result = EvalResult();
  result.samples = int64_t(samples->size());
  for (const OutputStats &s : stats) {
    if (!s.samples)
      continue;
    OutputMeasure m;
    m.name = s.name;
    m.cosineMean = s.cosineSum / double(s.samples);
    m.cosineMin = s.cosineMin;
    m.maxAbsError = s.maxAbs;
    m.relativeRmsError = s.referenceSquares > 0
                             ? std::sqrt(s.errorSquares / s.referenceSquares)
                             : std::sqrt(s.errorSquares);
    if (s.klRows)
      m.klDivergence = s.klSum / double(s.klRows);
    result.outputs.push_back(m);
  }
  if (lossTokens) {
    result.perplexityTokens = lossTokens;
    result.perplexity = std::exp(engineLoss / double(lossTokens));
    result.referencePerplexity = std::exp(referenceLoss / double(lossTokens));
  }
  return true;
}

bool azc::evalEngine(const EvalOptions &options, llvm::raw_ostream &os,
                     std::string &error) {
  EvalResult result;
  if (!measureEngine(options, result, error))
    return false;
  os << "azc eval: " << options.engine << " against " << options.reference
     << " on " << result.samples << " sample(s) from " << options.data << "\n";
  os << llvm::format("%-24s %10s %10s %11s %10s %11s\n", (const char *)"output",
                     (const char *)"cos mean", (const char *)"cos min",
                     (const char *)"max |err|", (const char *)"rel RMS",
                     (const char *)"KL");
  llvm::json::Array outputs;
  for (const OutputMeasure &m : result.outputs) {
    const bool hasKl = m.klDivergence >= 0;
    os << llvm::format("%-24s %10.6f %10.6f %11.4g %10.4g ", m.name.c_str(),
                       m.cosineMean, m.cosineMin, m.maxAbsError,
                       m.relativeRmsError)
       << (hasKl ? llvm::formatv("{0,11:e3}", m.klDivergence).str()
                 : "          -")
       << "\n";
    llvm::json::Object o{{"name", m.name},
                         {"cosine_mean", m.cosineMean},
                         {"cosine_min", m.cosineMin},
                         {"max_abs_error", m.maxAbsError},
                         {"relative_rms_error", m.relativeRmsError}};
    if (hasKl)
      o["kl_divergence"] = m.klDivergence;
    outputs.push_back(std::move(o));
  }
  llvm::json::Object report{{"engine", options.engine},
                            {"reference", options.reference},
                            {"samples", result.samples},
                            {"outputs", std::move(outputs)}};
  if (result.perplexityTokens) {
    os << llvm::format(
        "perplexity over %lld next tokens: %.4f (reference "
        "%.4f, %+.2f%%)\n",
        (long long)result.perplexityTokens, result.perplexity,
        result.referencePerplexity,
        100.0 * (result.perplexity / result.referencePerplexity - 1.0));
    report["perplexity"] = result.perplexity;
    report["reference_perplexity"] = result.referencePerplexity;
    report["perplexity_tokens"] = result.perplexityTokens;
  }
  return options.json.empty() ||
         writeJsonReport(options.json, std::move(report), error);
}

bool azc::writeJsonReport(const std::string &path, llvm::json::Object report,
                          std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  out << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  return true;
}
