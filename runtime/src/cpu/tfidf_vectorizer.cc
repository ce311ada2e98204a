//===- tfidf_vectorizer.cc - n-gram counts of token rows ------------------===//
//
// ONNX TfIdfVectorizer over integer tokens. The pool's n-grams go into a
// map from their tokens to their output column once per call; each row
// then looks up every n-gram it contains, for every skip distance.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <map>

namespace azr::cpu {
namespace {

struct NGramPool {
  /// An n-gram's tokens -> its output column. Lengths outside the counted
  /// range are left out (they still take their place in the numbering).
  std::map<std::vector<int64_t>, int64_t> columns;
};

azr_status_t buildPool(const Attrs &attrs, int64_t minLength, int64_t maxLength,
                       NGramPool &pool) {
  const std::vector<int64_t> counts = attrs.getInts("ngram_counts");
  const std::vector<int64_t> indexes = attrs.getInts("ngram_indexes");
  const std::vector<int64_t> tokens = attrs.getInts("pool");
  size_t ngram = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const int64_t length = int64_t(i) + 1;
    const int64_t begin = counts[i];
    const int64_t end =
        i + 1 < counts.size() ? counts[i + 1] : int64_t(tokens.size());
    if (begin < 0 || end < begin || end > int64_t(tokens.size()))
      return AZR_INVALID("tfidf_vectorizer: ngram_counts do not fit the pool");
    for (int64_t at = begin; at + length <= end; at += length, ++ngram) {
      if (ngram >= indexes.size())
        return AZR_INVALID("tfidf_vectorizer: fewer ngram_indexes than "
                           "n-grams");
      if (length >= minLength && length <= maxLength)
        pool.columns[std::vector<int64_t>(tokens.begin() + at,
                                          tokens.begin() + at + length)] =
            indexes[ngram];
    }
  }
  return nullptr;
}

azr_status_t tfidfVectorizerKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "tfidf_vectorizer", 1, 2, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  const Tensor *weights = context.optionalInput(1);
  const Attrs &attrs = *context.attrs;
  const int64_t minLength = attrs.getInt("min_gram_length", 1);
  const int64_t maxLength = attrs.getInt("max_gram_length", 1);
  const int64_t maxSkip = attrs.getInt("max_skip_count", 0);
  const std::string mode = attrs.getString("mode", "TF");
  if ((in.dtype != DType::i32 && in.dtype != DType::i64) ||
      out.dtype != DType::f32 || (weights && weights->dtype != DType::f32))
    return AZR_INVALID("tfidf_vectorizer: expected i32/i64 tokens and f32 "
                       "results");
  if (minLength < 1 || maxLength < minLength || maxSkip < 0 ||
      (mode != "TF" && mode != "IDF" && mode != "TFIDF"))
    return AZR_INVALID("tfidf_vectorizer: bad gram lengths, skip or mode");
  const int64_t rows = in.rank == 2 ? in.dims[0] : 1;
  const int64_t length = in.rank == 0 ? 1 : in.dims[in.rank - 1];
  const int64_t columns = out.dims[out.rank - 1];
  if (in.rank > 2 || out.numel() != rows * columns ||
      (weights && weights->numel() < columns))
    return AZR_INVALID("tfidf_vectorizer: tokens %s and result %s disagree",
                       shapeString(in).c_str(), shapeString(out).c_str());
  NGramPool pool;
  AZR_RETURN_IF_ERROR(buildPool(attrs, minLength, maxLength, pool));
  for (const auto &entry : pool.columns)
    if (entry.second >= columns)
      return AZR_INVALID("tfidf_vectorizer: ngram index %lld is past the "
                         "%lld columns",
                         (long long)entry.second, (long long)columns);

  auto token = [&](int64_t row, int64_t i) {
    return in.dtype == DType::i32
               ? int64_t(in.as<const int32_t>()[row * length + i])
               : in.as<const int64_t>()[row * length + i];
  };
  float *y = out.as<float>();
  std::fill(y, y + out.numel(), 0.0f);
  std::vector<int64_t> ngram;
  for (int64_t row = 0; row < rows; ++row) {
    float *counts = y + row * columns;
    int64_t shortest = minLength;
    for (int64_t distance = 1; distance <= maxSkip + 1; ++distance) {
      for (int64_t start = 0; start < length; ++start)
        for (int64_t n = shortest; n <= maxLength; ++n) {
          if (start + distance * (n - 1) >= length)
            break;
          ngram.clear();
          for (int64_t k = 0; k < n; ++k)
            ngram.push_back(token(row, start + k * distance));
          auto hit = pool.columns.find(ngram);
          if (hit != pool.columns.end())
            counts[hit->second] += 1.0f;
        }
      // Unigrams do not depend on the distance: counted once.
      if (shortest == 1 && ++shortest > maxLength)
        break;
    }
    for (int64_t c = 0; c < columns; ++c) {
      const float weight = weights ? weights->as<const float>()[c] : 1.0f;
      if (mode == "IDF")
        counts[c] = counts[c] > 0 ? weight : 0.0f;
      else if (mode == "TFIDF")
        counts[c] *= weight;
    }
  }
  return nullptr;
}

} // namespace

void addTfIdfVectorizerKernels(KernelTable &table) {
  table.push_back({"tfidf_vectorizer", guarded<tfidfVectorizerKernel>});
}

} // namespace azr::cpu
