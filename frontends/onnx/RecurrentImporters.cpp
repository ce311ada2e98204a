//===- RecurrentImporters.cpp - ONNX ops of state-space and linear models -===//
//
// Ops that newer sequence models (Mamba, Gated DeltaNet) export with an
// explicit carried state: the importer writes each as the composite its
// ONNX definition gives, so decode and prefill share the kernels already
// there.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// CausalConvWithState (opset 26): a depthwise 1-D convolution over the
/// past state (k - 1 positions, zeros without one) followed by the input,
/// with no padding, so output position t sees inputs t-k+1..t; optionally
/// SiLU. The new state is the last k - 1 positions of that concatenation.
LogicalResult importCausalConvWithState(NodeContext &n) {
  Value input = n.input(0), weight = n.input(1), bias = n.input(2);
  Value past = n.input(3);
  Builder b(n.context());
  RankedTensorType inputType = typeOf(input), weightType = typeOf(weight);
  if (inputType.getRank() != 3 || weightType.getRank() != 3)
    return n.error("input and weight must be rank 3 (batch, channels, "
                   "length) and (channels, 1, k)");
  int64_t channels = inputType.getDimSize(1), k = weightType.getDimSize(2);
  if (ShapedType::isDynamic(channels) || ShapedType::isDynamic(k) || k < 1)
    return n.error("the channel count and kernel size must be static");
  std::string activation = n.attrString("activation", "none");
  if (activation != "none" && activation != "silu" && activation != "swish")
    return n.error("activation '" + activation +
                   "' is not one of none, silu, swish");

  if (!past) {
    // Zeros of shape (batch, channels, k - 1), the batch taken from the
    // input so that a dynamic batch stays dynamic.
    TRY(shape, n.make<azg::ShapeOfOp>(input));
    TRY(batch,
        n.make<azg::SliceOp>(shape, n.constantI64({0}), n.constantI64({1}),
                             n.constantI64({0}), n.constantI64({1})));
    TRY(stateShape, n.make<azg::ConcatOp>(
                        ValueRange{batch, n.constantI64({channels, k - 1})},
                        b.getI64IntegerAttr(0)));
    TRY(zeros,
        n.make<azg::ExpandOp>(n.constantScalar(inputType.getElementType(), 0.0),
                              stateShape));
    past = zeros;
  }
  TRY(padded,
      n.make<azg::ConcatOp>(ValueRange{past, input}, b.getI64IntegerAttr(2)));
  TRY(conv, n.make<azg::ConvOp>(
                padded, weight, bias, Value(), b.getDenseI64ArrayAttr({1}),
                b.getDenseI64ArrayAttr({0, 0}), b.getDenseI64ArrayAttr({1}),
                b.getI64IntegerAttr(channels), azg::ActivationAttr(),
                FloatAttr(), FloatAttr()));
  Value output = conv;
  if (activation != "none") {
    TRY(silu, n.make<azg::SiluOp>(conv));
    output = silu;
  }
  // The last k - 1 positions; with k = 1 a start past the end gives none.
  int64_t start = k > 1 ? -(k - 1) : std::numeric_limits<int64_t>::max();
  TRY(present,
      n.make<azg::SliceOp>(padded, n.constantI64({start}),
                           n.constantI64({std::numeric_limits<int64_t>::max()}),
                           n.constantI64({2}), n.constantI64({1})));
  return n.setResults({output, present});
}

/// LinearAttention (opset 26) as azg.linear_attention, which runs the
/// recurrence in f32 as ONNX defines it: 16-bit operands are widened and
/// the results narrowed back (the state to past_state's type, or the
/// query's without one).
LogicalResult importLinearAttention(NodeContext &n) {
  Builder b(n.context());
  std::string rule = n.attrString("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" &&
      rule != "gated_delta")
    return n.error("update_rule '" + rule +
                   "' is not one of linear, gated, delta, gated_delta");
  const bool gated = rule == "gated" || rule == "gated_delta";
  const bool delta = rule == "delta" || rule == "gated_delta";
  if (gated != bool(n.input(4)))
    return n.error("update_rule '" + rule + "' " +
                   (gated ? "needs" : "forbids") + " the decay input");
  if (delta != bool(n.input(5)))
    return n.error("update_rule '" + rule + "' " +
                   (delta ? "needs" : "forbids") + " the beta input");
  const int64_t qHeads = n.attrInt("q_num_heads", 0);
  const int64_t kvHeads = n.attrInt("kv_num_heads", 0);
  if (qHeads <= 0 || kvHeads <= 0 || qHeads % kvHeads != 0)
    return n.error("q_num_heads (" + Twine(qHeads) +
                   ") must be a positive multiple of kv_num_heads (" +
                   Twine(kvHeads) + ")");
  RankedTensorType queryType = typeOf(n.input(0));
  if (queryType.getRank() != 3 || queryType.isDynamicDim(2) ||
      queryType.getDimSize(2) % qHeads != 0)
    return n.error("query must be [B, T, q_num_heads * head size]");
  float scale = n.attrFloat("scale", 0.0f);
  if (scale == 0.0f)
    scale = 1.0f / std::sqrt(float(queryType.getDimSize(2) / qHeads));

  SmallVector<Value> operands;
  for (size_t i = 0; i < 6; ++i) {
    Value v = n.input(i);
    if (v && !getElementTypeOrSelf(v.getType()).isF32()) {
      TRY(wide, n.make<azg::CastOp>(v, TypeAttr::get(b.getF32Type())));
      v = wide;
    }
    operands.push_back(v);
  }
  FailureOr<Operation *> op = n.create<azg::LinearAttentionOp>(
      2, operands[0], operands[1], operands[2], operands[3], operands[4],
      operands[5], b.getI64IntegerAttr(qHeads), b.getI64IntegerAttr(kvHeads),
      b.getF32FloatAttr(scale), b.getBoolAttr(gated), b.getBoolAttr(delta));
  if (failed(op))
    return failure();
  Value output = (*op)->getResult(0), state = (*op)->getResult(1);
  Type outputType = queryType.getElementType();
  Type stateType =
      n.input(3) ? getElementTypeOrSelf(n.input(3).getType()) : outputType;
  if (!outputType.isF32()) {
    TRY(narrow, n.make<azg::CastOp>(output, TypeAttr::get(outputType)));
    output = narrow;
  }
  if (!stateType.isF32()) {
    TRY(narrow, n.make<azg::CastOp>(state, TypeAttr::get(stateType)));
    state = narrow;
  }
  return n.setResults({output, state});
}

} // namespace

void azc::onnx_frontend::addRecurrentImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "CausalConvWithState", 26, importCausalConvWithState, 2});
  t.push_back({"", "LinearAttention", 26, importLinearAttention, 3});
}
