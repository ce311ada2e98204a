//===- CompositeImporters.cpp - ONNX ops lowered to other azg ops ---------===//
//
// Importers for ONNX ops that are compositions of ops azg already has: the
// loss functions, which are gathers and reductions. Lowering them here keeps
// the runtime's kernel set small; each importer follows the ONNX function
// body of its op.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Chains FailureOr results: the first failure stops the importer.
#define TRY(var, expr)                                                         \
  FailureOr<Value> var##OrFailure = (expr);                                    \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  Value var = *var##OrFailure;

/// The reduction shared by the losses: none keeps the per-element loss,
/// sum adds everything, mean divides the sum by the total weight (or by the
/// element count when there are no weights).
FailureOr<Value> reduceLoss(NodeContext &n, Value loss, Value weights) {
  std::string reduction = n.attrString("reduction", "mean");
  if (reduction == "none")
    return loss;
  Builder b(n.context());
  auto all = [&](Value v) {
    return n.make<azg::ReduceSumOp>(v, b.getDenseI64ArrayAttr({}),
                                    b.getBoolAttr(false));
  };
  if (reduction == "sum")
    return all(loss);
  if (reduction != "mean")
    return n.error("unknown reduction '" + reduction + "'");
  if (!weights)
    return n.make<azg::ReduceMeanOp>(loss, b.getDenseI64ArrayAttr({}),
                                     b.getBoolAttr(false));
  TRY(total, all(loss));
  TRY(weight, all(weights));
  return n.make<azg::DivOp>(total, weight);
}

/// NegativeLogLikelihoodLoss on log-probabilities `input` (N x C x d1 ...)
/// and class indices `target` (N x d1 ...), with optional per-class
/// `weight` (C): loss = -input[n, target[n, d], d] * weight[target[n, d]],
/// zero where target equals ignore_index.
FailureOr<Value> negativeLogLikelihood(NodeContext &n, Value input,
                                       Value target, Value weight) {
  RankedTensorType inputType = typeOf(input), targetType = typeOf(target);
  if (inputType.getRank() < 2 ||
      targetType.getRank() != inputType.getRank() - 1)
    return n.error("input must be N x C x ... and target N x ...");
  Builder b(n.context());
  Value safeTarget = target, mask;
  if (n.attr("ignore_index")) {
    Value ignored = n.constantScalar(targetType.getElementType(),
                                     double(n.attrInt("ignore_index", 0)));
    TRY(isIgnored, n.make<azg::EqualOp>(target, ignored));
    TRY(safe,
        n.make<azg::WhereOp>(isIgnored, n.constantLike(target, 0), target));
    TRY(keep, n.make<azg::NotOp>(isIgnored));
    safeTarget = safe;
    mask = keep;
  }
  TRY(index, n.make<azg::UnsqueezeOp>(safeTarget, b.getDenseI64ArrayAttr({1})));
  TRY(picked,
      n.make<azg::GatherElementsOp>(input, index, b.getI64IntegerAttr(1)));
  TRY(squeezed, n.make<azg::SqueezeOp>(picked, b.getDenseI64ArrayAttr({1})));
  TRY(loss, n.make<azg::NegOp>(squeezed));

  Value weights; // per-element weights, null when all are 1
  if (weight) {
    TRY(gathered,
        n.make<azg::GatherOp>(weight, safeTarget, b.getI64IntegerAttr(0)));
    weights = gathered;
  }
  if (mask) {
    Value one = n.constantLike(input, 1), zero = n.constantLike(input, 0);
    TRY(masked, n.make<azg::WhereOp>(mask, weights ? weights : one, zero));
    weights = masked;
  }
  if (weights) {
    TRY(weighted, n.make<azg::MulOp>(loss, weights));
    loss = weighted;
  }
  return reduceLoss(n, loss, weights);
}

LogicalResult importNllLoss(NodeContext &n) {
  return n.setResult(
      negativeLogLikelihood(n, n.input(0), n.input(1), n.input(2)));
}

/// SoftmaxCrossEntropyLoss: NegativeLogLikelihoodLoss of LogSoftmax over
/// the class axis; the optional second output is that log-probability.
LogicalResult importSoftmaxCrossEntropy(NodeContext &n) {
  Builder b(n.context());
  TRY(logProb, n.make<azg::LogSoftmaxOp>(n.input(0), b.getI64IntegerAttr(1)));
  TRY(loss, negativeLogLikelihood(n, logProb, n.input(1), n.input(2)));
  return n.setResults({loss, logProb});
}

} // namespace

void azc::onnx_frontend::addCompositeImporters(std::vector<OpImporter> &t) {
  // minInputs: how many leading inputs must be present.
  auto add = [&](const char *op, int64_t since, ImportFn fn,
                 int minInputs = 1) {
    t.push_back({"", op, since, std::move(fn), minInputs});
  };
  add("NegativeLogLikelihoodLoss", 12, importNllLoss, 2);
  add("SoftmaxCrossEntropyLoss", 12, importSoftmaxCrossEntropy, 2);
}
