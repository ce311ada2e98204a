//===- RecurrentImporters.cpp - ONNX ops of state-space and linear models -===//
//
// Ops that newer sequence models (Mamba, Gated DeltaNet) export with an
// explicit carried state: the importer writes each as the composite its
// ONNX definition gives, so decode and prefill share the kernels already
// there.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

#define TRY(var, expr)                                                         \
  auto var##OrFailure = (expr);                                                \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  Value var = *var##OrFailure;

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

} // namespace

void azc::onnx_frontend::addRecurrentImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "CausalConvWithState", 26, importCausalConvWithState, 2});
}
