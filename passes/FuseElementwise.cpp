//===- FuseElementwise.cpp - recognize activation chains ------------------===//
//
// Exporters spell some activations as chains of elementwise ops: PyTorch
// writes GELU as `x * 0.5 * (1 + erf(x / sqrt(2)))` and SiLU as
// `x * sigmoid(x)`. Each op of a chain reads and writes the whole tensor; one
// azg.gelu or azg.silu does it once, and is an activation that
// azg-fuse-epilogues can fold into the producing matmul. The patterns match
// the product tree in any association and operand order.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace azc {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// True if `value` is a constant whose elements all equal `expected` within
/// a relative 1e-4 (exporters round sqrt(2) and 1/sqrt(2) differently).
bool isSplatNear(Value value, double expected) {
  DenseFPElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat())
    return false;
  double got = attr.getSplatValue<APFloat>().convertToDouble();
  return std::abs(got - expected) <= 1e-4 * std::abs(expected);
}

/// Flattens a tree of single-use multiplications rooted at `root` into its
/// factors.
void collectFactors(Value value, bool isRoot, SmallVectorImpl<Value> &factors) {
  auto mul = value.getDefiningOp<MulOp>();
  if (mul && (isRoot || mul->hasOneUse())) {
    collectFactors(mul.getLhs(), false, factors);
    collectFactors(mul.getRhs(), false, factors);
    return;
  }
  factors.push_back(value);
}

/// Matches `1 + erf(x / sqrt(2))` (or `erf(x * (1/sqrt(2))) + 1`); returns x.
Value matchOnePlusErf(Value value) {
  auto add = value.getDefiningOp<AddOp>();
  if (!add || !add->hasOneUse())
    return nullptr;
  Value erfValue = add.getLhs(), one = add.getRhs();
  if (!isSplatNear(one, 1.0))
    std::swap(erfValue, one);
  if (!isSplatNear(one, 1.0))
    return nullptr;
  auto erf = erfValue.getDefiningOp<ErfOp>();
  if (!erf || !erf->hasOneUse())
    return nullptr;
  Value scaled = erf.getInput();
  if (auto div = scaled.getDefiningOp<DivOp>())
    if (isSplatNear(div.getRhs(), std::sqrt(2.0)))
      return div.getLhs();
  if (auto mul = scaled.getDefiningOp<MulOp>()) {
    if (isSplatNear(mul.getRhs(), 1.0 / std::sqrt(2.0)))
      return mul.getLhs();
    if (isSplatNear(mul.getLhs(), 1.0 / std::sqrt(2.0)))
      return mul.getRhs();
  }
  return nullptr;
}

struct RecognizeGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> factors;
    collectFactors(op.getOutput(), true, factors);
    if (factors.size() != 3)
      return failure();
    Value x, half, erfTerm;
    for (Value factor : factors) {
      if (!half && isSplatNear(factor, 0.5))
        half = factor;
      else if (!erfTerm && matchOnePlusErf(factor))
        erfTerm = factor;
      else
        x = factor;
    }
    if (!x || !half || !erfTerm || matchOnePlusErf(erfTerm) != x ||
        x.getType() != op.getOutput().getType())
      return failure();
    rewriter.replaceOpWithNewOp<GeluOp>(op, x);
    return success();
  }
};

struct RecognizeSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [x, gate] : {std::pair(op.getLhs(), op.getRhs()),
                           std::pair(op.getRhs(), op.getLhs())}) {
      auto sigmoid = gate.getDefiningOp<SigmoidOp>();
      if (sigmoid && sigmoid.getInput() == x &&
          x.getType() == op.getOutput().getType()) {
        rewriter.replaceOpWithNewOp<SiluOp>(op, x);
        return success();
      }
    }
    return failure();
  }
};

struct FuseElementwisePass
    : azc::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RecognizeGelu, RecognizeSilu>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
