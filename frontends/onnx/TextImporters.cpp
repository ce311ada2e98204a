//===- TextImporters.cpp - ONNX ops over token sequences ------------------===//
//
// Text featurization that classic NLP pipelines export after their
// tokenizer. Engines hold numbers only, so the ops are taken over integer
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

} // namespace

void azc::onnx_frontend::addTextImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "TfIdfVectorizer", 9, importTfIdfVectorizer, 1});
}
