//===- FuseEpilogues.cpp - fuse bias, residual and activation -------------===//
//
// A matmul, gemm or conv followed by elementwise ops (bias add, residual add,
// activation) writes its result and reads it back once per op. This pass
// moves those ops into the producer's epilogue — `activation(op + bias +
// residual)` — so the result is written once, as the kernels compute it.
// The epilogue has a fixed order, so an add is fused only while the
// producer has no activation yet, and only producers with a single use are
// changed (otherwise the unfused value would still be needed).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace azc {
#define GEN_PASS_DEF_FUSEEPILOGUES
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// The fusable producer of `value`: a single-use f32 matmul (float or
/// quantized weights), gemm or conv whose epilogue has no activation yet.
Operation *fusableProducer(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op || !op->hasOneUse())
    return nullptr;
  auto activation = op->getAttrOfType<ActivationAttr>("activation");
  if (!isa<MatMulOp, MatMulNBitsOp, MatMulHalfOp, GemmOp, ConvOp>(op))
    return nullptr;
  // Epilogues are f32 code; an f64 product keeps its ops.
  if (!getElementTypeOrSelf(op->getResult(0).getType()).isF32())
    return nullptr;
  if (activation && activation.getValue() != Activation::none)
    return nullptr;
  return op;
}

/// Folds an activation op into its producer.
template <typename ActivationOp>
struct FuseActivation : OpRewritePattern<ActivationOp> {
  FuseActivation(MLIRContext *context, Activation kind)
      : OpRewritePattern<ActivationOp>(context), kind(kind) {}

  LogicalResult matchAndRewrite(ActivationOp op,
                                PatternRewriter &rewriter) const override {
    Operation *producer = fusableProducer(op.getInput());
    if (!producer)
      return failure();
    Activation fused = kind;
    FloatAttr clipMin, clipMax;
    if constexpr (std::is_same_v<ActivationOp, GeluOp>) {
      if (op.getTanhApproximation())
        fused = Activation::gelu_tanh;
    }
    if constexpr (std::is_same_v<ActivationOp, ClipOp>) {
      Builder b(op.getContext());
      if (op.getMin())
        clipMin = b.getF32FloatAttr(op.getMin()->convertToDouble());
      if (op.getMax())
        clipMax = b.getF32FloatAttr(op.getMax()->convertToDouble());
    }
    rewriter.modifyOpInPlace(producer, [&] {
      producer->setAttr("activation",
                        ActivationAttr::get(op.getContext(), fused));
      if (clipMin)
        producer->setAttr("clip_min", clipMin);
      if (clipMax)
        producer->setAttr("clip_max", clipMax);
    });
    rewriter.replaceOp(op, producer->getResults());
    return success();
  }

  Activation kind;
};

/// True if `value` is a constant that only varies along the last dim of
/// `result`, with that dim's full size: a bias row.
bool isBiasRow(Value value, RankedTensorType result) {
  if (!matchPattern(value, m_Constant()))
    return false;
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == 0 || type.getRank() > result.getRank() ||
      !type.hasStaticShape())
    return false;
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    if (type.getDimSize(i) != 1)
      return false;
  return type.getShape().back() == result.getShape().back();
}

/// Makes `bias` the bias of the matmul `producer` if it has neither bias
/// nor residual yet and `bias` is a constant row, replacing `add`.
LogicalResult fuseBias(Operation *producer, Value bias,
                       RankedTensorType resultType, AddOp add,
                       PatternRewriter &rewriter) {
  auto assign = [&](auto matmul) -> LogicalResult {
    if (matmul.getBias() || matmul.getResidual() ||
        !isBiasRow(bias, resultType))
      return failure();
    rewriter.modifyOpInPlace(matmul,
                             [&] { matmul.getBiasMutable().assign(bias); });
    rewriter.replaceOp(add, matmul.getOutput());
    return success();
  };
  if (auto matmul = dyn_cast<MatMulOp>(producer))
    return assign(matmul);
  if (auto matmul = dyn_cast<MatMulHalfOp>(producer))
    return assign(matmul);
  return assign(cast<MatMulNBitsOp>(producer));
}

/// True if `producer` takes a residual and has none yet (gemm's `c` is
/// set at import).
bool residualIsFree(Operation *producer) {
  if (auto matmul = dyn_cast<MatMulOp>(producer))
    return !matmul.getResidual();
  if (auto matmul = dyn_cast<MatMulNBitsOp>(producer))
    return !matmul.getResidual();
  if (auto matmul = dyn_cast<MatMulHalfOp>(producer))
    return !matmul.getResidual();
  if (auto conv = dyn_cast<ConvOp>(producer))
    return !conv.getResidual();
  return false;
}

void setResidual(Operation *producer, Value residual) {
  if (auto matmul = dyn_cast<MatMulOp>(producer))
    matmul.getResidualMutable().assign(residual);
  else if (auto matmul = dyn_cast<MatMulNBitsOp>(producer))
    matmul.getResidualMutable().assign(residual);
  else if (auto matmul = dyn_cast<MatMulHalfOp>(producer))
    matmul.getResidualMutable().assign(residual);
  else
    cast<ConvOp>(producer).getResidualMutable().assign(residual);
}

/// Folds an add into the epilogue of the matmul or conv feeding it: as the
/// bias when the other operand is a constant bias row of a matmul without
/// one, else as the residual.
struct FuseAdd : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [value, other] : {std::pair(op.getLhs(), op.getRhs()),
                                std::pair(op.getRhs(), op.getLhs())}) {
      Operation *producer = fusableProducer(value);
      if (!producer || isa<GemmOp>(producer) ||
          value.getType() != op.getOutput().getType())
        continue;
      auto resultType = cast<RankedTensorType>(value.getType());
      if (isa<MatMulOp, MatMulNBitsOp, MatMulHalfOp>(producer) &&
          succeeded(fuseBias(producer, other, resultType, op, rewriter)))
        return success();
      if (!residualIsFree(producer))
        continue;
      // The residual must be available where the producer runs; the producer
      // can move down to the add, since the add is its only user.
      Operation *otherDef = other.getDefiningOp();
      if (otherDef && otherDef->getBlock() == producer->getBlock() &&
          producer->isBeforeInBlock(otherDef))
        rewriter.moveOpBefore(producer, op);
      Value residual = other;
      rewriter.modifyOpInPlace(producer,
                               [&] { setResidual(producer, residual); });
      rewriter.replaceOp(op, producer->getResults());
      return success();
    }
    return failure();
  }
};

struct FuseEpiloguesPass : azc::impl::FuseEpiloguesBase<FuseEpiloguesPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    patterns.add<FuseAdd>(context);
    patterns.add<FuseActivation<ReluOp>>(context, Activation::relu);
    patterns.add<FuseActivation<GeluOp>>(context, Activation::gelu);
    patterns.add<FuseActivation<SiluOp>>(context, Activation::silu);
    patterns.add<FuseActivation<SigmoidOp>>(context, Activation::sigmoid);
    patterns.add<FuseActivation<TanhOp>>(context, Activation::tanh);
    patterns.add<FuseActivation<ClipOp>>(context, Activation::clip);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
