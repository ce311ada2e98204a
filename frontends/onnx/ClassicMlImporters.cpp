//===- ClassicMlImporters.cpp - ops of classic ML pipelines ---------------===//
//
// What scikit-learn-style pipelines export around their model: text
// featurization after a tokenizer, binarization and feature selection.
// Engines hold numbers only, so the ops are taken over numbers and integer
// tokens; their string forms are refused with that reason.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// TfIdfVectorizer over int32/int64 tokens, as azg.tfidf_vectorizer; the
/// weights attribute becomes a constant operand.
LogicalResult importTfIdfVectorizer(NodeContext &n) {
  Builder b(n.context());
  const onnx::AttributeProto *strings = n.attr("pool_strings");
  if (strings && strings->strings_size() > 0)
    return n.error("pool_strings: string tokens are not supported (engine "
                   "values are numbers); give integer token ids");
  auto ints = [&](StringRef name) {
    return n.attrInts(name).value_or(SmallVector<int64_t>());
  };
  Value weights;
  if (const onnx::AttributeProto *w = n.attr("weights");
      w && w->floats_size() > 0) {
    SmallVector<float> values(w->floats().begin(), w->floats().end());
    auto type = RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
    weights = n.builder().create<azg::ConstantOp>(
        n.loc(), DenseElementsAttr::get(type, ArrayRef<float>(values)));
  }
  return n.setResult(n.make<azg::TfIdfVectorizerOp>(
      n.input(0), weights, b.getI64IntegerAttr(n.attrInt("min_gram_length", 1)),
      b.getI64IntegerAttr(n.attrInt("max_gram_length", 1)),
      b.getI64IntegerAttr(n.attrInt("max_skip_count", 0)),
      b.getStringAttr(n.attrString("mode", "TF")),
      b.getDenseI64ArrayAttr(ints("ngram_counts")),
      b.getDenseI64ArrayAttr(ints("ngram_indexes")),
      b.getDenseI64ArrayAttr(ints("pool_int64s"))));
}

/// Binarizer (ai.onnx.ml): 1 where x > threshold, else 0, in x's type.
LogicalResult importBinarizer(NodeContext &n) {
  Value x = n.input(0);
  TRY(above, n.make<azg::GreaterOp>(
                 x, n.constantLike(x, n.attrFloat("threshold", 0.0f))));
  return n.setResult(n.make<azg::WhereOp>(above, n.constantLike(x, 1.0),
                                          n.constantLike(x, 0.0)));
}

/// ArrayFeatureExtractor (ai.onnx.ml): the columns `indices` of x's last
/// dim; a 1-D x is one row.
LogicalResult importArrayFeatureExtractor(NodeContext &n) {
  Value x = n.input(0), indices = n.input(1);
  Builder b(n.context());
  if (typeOf(x).getRank() == 1) {
    TRY(row, n.make<azg::UnsqueezeOp>(x, b.getDenseI64ArrayAttr({0})));
    x = row;
  }
  if (typeOf(indices).getRank() != 1) {
    TRY(flat, n.make<azg::ReshapeOp>(indices, n.constantI64({-1}), UnitAttr()));
    indices = flat;
  }
  return n.setResult(n.make<azg::GatherOp>(
      x, indices, b.getI64IntegerAttr(typeOf(x).getRank() - 1)));
}

} // namespace

void azc::onnx_frontend::addClassicMlImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "TfIdfVectorizer", 9, importTfIdfVectorizer, 1});
  t.push_back({"ai.onnx.ml", "Binarizer", 1, importBinarizer, 1});
  t.push_back({"ai.onnx.ml", "ArrayFeatureExtractor", 1,
               importArrayFeatureExtractor, 2});
}
