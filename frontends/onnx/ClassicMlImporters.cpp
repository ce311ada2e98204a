//===- ClassicMlImporters.cpp - ops of classic ML pipelines ---------------===//
//
// What scikit-learn-style pipelines export: text featurization after a
// tokenizer, binarization, feature selection and tree ensembles.
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

/// A tensor attribute as a constant of `elementType` (cast when it is
/// stored in another float type), or failure (reported).
FailureOr<Value> tensorAttr(NodeContext &n, StringRef name, Type elementType) {
  const onnx::AttributeProto *a = n.attr(name);
  if (!a || !a->has_t())
    return n.error(name + " is required (a tensor)");
  FailureOr<ElementsAttr> value = n.importTensor(a->t());
  if (failed(value))
    return failure();
  Value constant = n.builder().create<azg::ConstantOp>(n.loc(), *value);
  if (getElementTypeOrSelf(constant.getType()) == elementType)
    return constant;
  return n.make<azg::CastOp>(constant, TypeAttr::get(elementType));
}

/// TreeEnsemble (ai.onnx.ml 5) as azg.tree_ensemble; its float attributes
/// (splits, leaf weights, membership sets) become constants of the input's
/// type.
LogicalResult importTreeEnsemble(NodeContext &n) {
  Value x = n.input(0);
  Type elementType = getElementTypeOrSelf(x.getType());
  if (!elementType.isF32() && !elementType.isF64())
    return n.error("TreeEnsemble is supported on float and double inputs");
  if (n.attrInt("post_transform", 0) != 0)
    return n.error("post_transform other than NONE is not supported");
  Builder b(n.context());
  auto ints = [&](StringRef name) {
    return b.getDenseI64ArrayAttr(
        n.attrInts(name).value_or(SmallVector<int64_t>()));
  };
  TRY(splits, tensorAttr(n, "nodes_splits", elementType));
  TRY(weights, tensorAttr(n, "leaf_weights", elementType));
  Value members;
  if (n.attr("membership_values")) {
    TRY(values, tensorAttr(n, "membership_values", elementType));
    members = values;
  }
  // nodes_modes is a uint8 tensor.
  SmallVector<int64_t> modes;
  if (const onnx::AttributeProto *a = n.attr("nodes_modes"); a && a->has_t()) {
    FailureOr<ElementsAttr> value = n.importTensor(a->t());
    if (failed(value))
      return failure();
    for (APInt mode : cast<DenseElementsAttr>(*value).getValues<APInt>())
      modes.push_back(int64_t(mode.getZExtValue()));
  }
  return n.setResult(n.make<azg::TreeEnsembleOp>(
      x, splits, weights, members, ints("nodes_featureids"),
      b.getDenseI64ArrayAttr(modes), ints("nodes_truenodeids"),
      ints("nodes_falsenodeids"), ints("nodes_trueleafs"),
      ints("nodes_falseleafs"), ints("nodes_missing_value_tracks_true"),
      ints("leaf_targetids"), ints("tree_roots"),
      b.getI64IntegerAttr(n.attrInt("n_targets", 1)),
      b.getI64IntegerAttr(n.attrInt("aggregate_function", 1))));
}

} // namespace

void azc::onnx_frontend::addClassicMlImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "TfIdfVectorizer", 9, importTfIdfVectorizer, 1});
  t.push_back({"ai.onnx.ml", "Binarizer", 1, importBinarizer, 1});
  t.push_back({"ai.onnx.ml", "ArrayFeatureExtractor", 1,
               importArrayFeatureExtractor, 2});
  t.push_back({"ai.onnx.ml", "TreeEnsemble", 5, importTreeEnsemble, 1});
}
