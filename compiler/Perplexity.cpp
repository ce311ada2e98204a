//===- Perplexity.cpp - `azc eval --perplexity`: a language model on text -===//
//
// The number users compare language models by: perplexity on a text file,
// exp of the mean negative log-likelihood of each token given those before
// it. The text is tokenized with the tokenizer the engine carries (or
// --tokenizer) and cut into windows of at most the engine's longest
// sequence; with a stride below the window, windows overlap and each token
// is scored once, in the first window where it has the most context (the
// sliding-window evaluation of the Hugging Face perplexity guide). Each
// window is one prefill through the runtime (azr_score), so paged and
// copied caches, and every quantized build, are measured as deployed. With
// --reference the same windows are scored by a second engine.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver.h"
#include "compiler/EngineRunner.h"

#include "azr/azr_text.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <memory>

using namespace azc;

namespace {

struct TokenizerHandle {
  azr_tokenizer_t *tokenizer = nullptr;
  ~TokenizerHandle() { azr_tokenizer_release(tokenizer); }
};

/// The longest input_ids sequence `engine` takes.
bool longestSequence(const EngineRunner &runner, int64_t &longest,
                     std::string &error) {
  for (size_t i = 0; i < azr_engine_input_count(runner.engine); ++i) {
    azr_tensor_info_t info;
    azr_engine_input_info(runner.engine, i, &info);
    if (std::string(info.name) != "input_ids" || info.rank != 2)
      continue;
    int64_t min = 0;
    if (azr_status_t status =
            azr_engine_input_dim(runner.engine, i, 1, &min, &longest, nullptr))
      return EngineRunner::fail(status, error);
    return true;
  }
  error = runner.path + ": a language model takes input_ids [batch, sequence]";
  return false;
}

/// Sum of log-likelihoods of `ids` over sliding windows, and the count.
bool scoreWindows(EngineRunner &runner, const std::vector<int64_t> &ids,
                  int64_t window, int64_t stride, double &logLikelihood,
                  int64_t &scored, int64_t &runs, std::string &error) {
  const int64_t n = int64_t(ids.size());
  int64_t next = 1; // the first id no window has scored yet
  logLikelihood = 0;
  scored = runs = 0;
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + window, n);
    const int64_t first = std::max<int64_t>(1, next - begin);
    if (first < end - begin) {
      double sum = 0;
      size_t count = 0;
      if (azr_status_t status =
              azr_score(runner.session, ids.data() + begin, size_t(end - begin),
                        size_t(first), &sum, &count))
        return EngineRunner::fail(status, error,
                                  runner.path + ": tokens " +
                                      std::to_string(begin) + ".." +
                                      std::to_string(end) + ": ");
      logLikelihood += sum;
      scored += int64_t(count);
      ++runs;
    }
    next = end;
    if (end == n)
      return true;
  }
}

} // namespace

bool azc::evalPerplexity(const EvalOptions &options, llvm::raw_ostream &os,
                         std::string &error) {
  EngineRunner engine, reference;
  if (!engine.load(options.engine, options.threads, error) ||
      (!options.reference.empty() &&
       !reference.load(options.reference, options.threads, error)))
    return false;
  TokenizerHandle tokenizer;
  if (!options.tokenizer.empty()) {
    auto file = llvm::MemoryBuffer::getFile(options.tokenizer);
    if (!file) {
      error = options.tokenizer + ": " + file.getError().message();
      return false;
    }
    if (azr_status_t status = azr_tokenizer_create(
            (*file)->getBufferStart(), (*file)->getBufferSize(),
            options.tokenizer.c_str(), &tokenizer.tokenizer))
      return EngineRunner::fail(status, error);
  } else if (azr_status_t status = azr_tokenizer_from_engine(
                 engine.engine, &tokenizer.tokenizer)) {
    azr_status_free(status);
    error = options.engine +
            ": the engine carries no tokenizer.json (build it from a "
            "checkpoint folder that has one, or give --tokenizer FILE)";
    return false;
  }
  auto text = llvm::MemoryBuffer::getFile(options.perplexityText);
  if (!text) {
    error = options.perplexityText + ": " + text.getError().message();
    return false;
  }
  size_t count = 0;
  const char *bytes = (*text)->getBufferStart();
  const size_t length = (*text)->getBufferSize();
  azr_tokenizer_encode(tokenizer.tokenizer, bytes, length, 1, nullptr, 0,
                       &count);
  std::vector<int64_t> ids(count);
  azr_tokenizer_encode(tokenizer.tokenizer, bytes, length, 1, ids.data(),
                       ids.size(), &count);
  if (ids.size() < 2) {
    error = options.perplexityText + ": the text has " +
            std::to_string(ids.size()) + " token(s); perplexity needs 2";
    return false;
  }

  int64_t longest = 0;
  if (!longestSequence(engine, longest, error))
    return false;
  if (!options.reference.empty()) {
    int64_t other = 0;
    if (!longestSequence(reference, other, error))
      return false;
    longest = std::min(longest, other);
  }
  const int64_t window = options.window ? options.window : longest;
  const int64_t stride = options.stride ? options.stride : window;
  if (window < 2 || window > longest || stride < 1 || stride > window) {
    error = "--window must be in 2.." + std::to_string(longest) +
            " (the engines' longest sequence) and --stride in 1..window; "
            "got " +
            std::to_string(window) + " and " + std::to_string(stride);
    return false;
  }

  double logLikelihood = 0, referenceLogLikelihood = 0;
  int64_t scored = 0, runs = 0, referenceScored = 0, referenceRuns = 0;
  if (!scoreWindows(engine, ids, window, stride, logLikelihood, scored, runs,
                    error) ||
      (!options.reference.empty() &&
       !scoreWindows(reference, ids, window, stride, referenceLogLikelihood,
                     referenceScored, referenceRuns, error)))
    return false;
  const double perplexity = std::exp(-logLikelihood / double(scored));
  os << llvm::formatv("azc eval: {0} on {1}: {2} tokens in {3} window(s) of "
                      "{4}, stride {5}\n",
                      options.engine, options.perplexityText, ids.size(), runs,
                      window, stride);
  os << llvm::format("perplexity over %lld next tokens: %.4f",
                     (long long)scored, perplexity);
  llvm::json::Object report{{"engine", options.engine},
                            {"text", options.perplexityText},
                            {"tokens", int64_t(ids.size())},
                            {"window", window},
                            {"stride", stride},
                            {"perplexity_tokens", scored},
                            {"perplexity", perplexity}};
  if (!options.reference.empty()) {
    const double referencePerplexity =
        std::exp(-referenceLogLikelihood / double(referenceScored));
    os << llvm::format(" (reference %.4f, %+.2f%%)", referencePerplexity,
                       100.0 * (perplexity / referencePerplexity - 1.0));
    report["reference"] = options.reference;
    report["reference_perplexity"] = referencePerplexity;
  }
  os << "\n";
  return options.json.empty() ||
         writeJsonReport(options.json, std::move(report), error);
}
