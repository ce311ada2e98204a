//===- FlexAttentionImporter.cpp - ONNX FlexAttention as its composite ----===//
//
// FlexAttention (ai.onnx.preview) is attention with two user subgraphs: one
// rewrites the scores before the softmax (masks, biases, soft caps), one
// the probabilities after it. The importer builds the composite ONNX
// defines and inlines each modifier graph where it applies, so a mask
// written as a subgraph costs what the same ops written inline would.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include <cmath>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// [B, Hkv, S, D] with each head repeated `group` times in a row, as
/// [B, Hkv * group, S, D]: query head h then reads head h / group.
FailureOr<Value> repeatHeads(NodeContext &n, Value x, int64_t group) {
  if (group == 1)
    return x;
  Builder b(n.context());
  RankedTensorType type = typeOf(x);
  TRY(unsqueezed, n.make<azg::UnsqueezeOp>(x, b.getDenseI64ArrayAttr({2})));
  TRY(expanded,
      n.make<azg::ExpandOp>(unsqueezed, n.constantI64({1, 1, group, 1, 1})));
  // 0 keeps the batch (which may be dynamic); -1 takes the sequence.
  return n.make<azg::ReshapeOp>(
      expanded,
      n.constantI64({0, type.getDimSize(1) * group, -1, type.getDimSize(3)}),
      UnitAttr());
}

/// Applies the modifier subgraph `name`, when the node has one, to `x`.
FailureOr<Value> applyModifier(NodeContext &n, StringRef name, Value x) {
  const onnx::AttributeProto *attribute = n.attr(name);
  if (!attribute)
    return x;
  if (!attribute->has_g())
    return n.error(name + " must be a graph");
  FailureOr<SmallVector<Value>> outputs =
      n.importSubgraph(attribute->g(), ValueRange{x}, "the " + name);
  if (failed(outputs))
    return failure();
  if (outputs->size() != 1 || (*outputs)[0].getType() != x.getType())
    return n.error(name + " must return one tensor of its input's type");
  return (*outputs)[0];
}

LogicalResult importFlexAttention(NodeContext &n) {
  Value q = n.input(0), k = n.input(1), v = n.input(2);
  Builder b(n.context());
  RankedTensorType qType = typeOf(q), kType = typeOf(k), vType = typeOf(v);
  if (qType.getRank() != 4 || kType.getRank() != 4 || vType.getRank() != 4)
    return n.error("Q, K and V must be rank 4 (batch, heads, sequence, "
                   "head size)");
  int64_t qHeads = qType.getDimSize(1), kvHeads = kType.getDimSize(1);
  int64_t headSize = qType.getDimSize(3);
  if (ShapedType::isDynamic(qHeads) || ShapedType::isDynamic(kvHeads) ||
      ShapedType::isDynamic(headSize) ||
      ShapedType::isDynamic(vType.getDimSize(3)) || kvHeads <= 0 ||
      qHeads % kvHeads != 0)
    return n.error("head counts and sizes must be static, q heads a "
                   "multiple of kv heads");
  Type elementType = qType.getElementType();
  // The softmax and the product with V run in softmax_precision: f32
  // unless given.
  Type precision = b.getF32Type();
  if (n.attr("softmax_precision")) {
    precision =
        convertElementType(n.attrInt("softmax_precision", 1), n.context());
    if (!precision || !isa<FloatType>(precision) || precision.isF64())
      return n.error("softmax_precision must be f32, f16 or bf16");
  }

  // Q K^T * scale, with sqrt(scale) applied to each side in the input
  // type, as the definition does (it keeps f16 products in range).
  float scale = n.attrFloat("scale", 0.0f);
  if (scale == 0.0f)
    scale = 1.0f / std::sqrt(float(headSize));
  Value rootScale = n.constantScalar(elementType, double(std::sqrt(scale)));
  TRY(kAligned, repeatHeads(n, k, qHeads / kvHeads));
  TRY(vAligned, repeatHeads(n, v, qHeads / kvHeads));
  TRY(qScaled, n.make<azg::MulOp>(q, rootScale));
  TRY(kScaled, n.make<azg::MulOp>(kAligned, rootScale));
  TRY(kT,
      n.make<azg::TransposeOp>(kScaled, b.getDenseI64ArrayAttr({0, 1, 3, 2})));
  TRY(scores,
      n.make<azg::MatMulOp>(qScaled, kT, Value(), Value(),
                            azg::ActivationAttr(), FloatAttr(), FloatAttr()));
  TRY(wideScores, n.make<azg::CastOp>(scores, TypeAttr::get(precision)));
  TRY(modified, applyModifier(n, "score_mod", wideScores));
  TRY(probs, n.make<azg::SoftmaxOp>(modified, b.getI64IntegerAttr(-1)));
  TRY(modifiedProbs, applyModifier(n, "prob_mod", probs));
  TRY(wideV, n.make<azg::CastOp>(vAligned, TypeAttr::get(precision)));
  TRY(y,
      n.make<azg::MatMulOp>(modifiedProbs, wideV, Value(), Value(),
                            azg::ActivationAttr(), FloatAttr(), FloatAttr()));
  return n.setResult(n.make<azg::CastOp>(y, TypeAttr::get(elementType)));
}

} // namespace

void azc::onnx_frontend::addFlexAttentionImporters(std::vector<OpImporter> &t) {
  t.push_back({"ai.onnx.preview", "FlexAttention", 1, importFlexAttention, 3});
}
