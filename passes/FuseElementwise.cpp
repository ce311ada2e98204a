//===- FuseElementwise.cpp - recognize activation chains ------------------===//
//
// Exporters spell some ops as chains of elementwise ops: PyTorch writes GELU
// as `x * 0.5 * (1 + erf(x / sqrt(2)))`, SiLU as `x * sigmoid(x)`, and (below
// opset 17) LayerNorm as nine ops from ReduceMean to the bias Add. Each op of
// a chain reads and writes the whole tensor; one azg.gelu, azg.silu or
// azg.layer_norm does it once, and an activation can then be folded into the
// producing matmul by azg-fuse-epilogues. The activation patterns match the
// product tree in any association and operand order.
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

/// The value of a constant scalar-like splat, if `value` is one.
std::optional<double> splatValue(Value value) {
  DenseFPElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// True if `op` is a keepdims reduce_mean over exactly the last dim.
bool isMeanOverLastDim(ReduceMeanOp op) {
  auto type = cast<RankedTensorType>(op.getInput().getType());
  ArrayRef<int64_t> axes = op.getAxes();
  return op.getKeepdims() && axes.size() == 1 &&
         (axes[0] == -1 || axes[0] == type.getRank() - 1);
}

/// LayerNorm over the last dim as exported below opset 17:
///   d = x - mean(x);  y = d / sqrt(mean(d^2) + eps) * gamma + beta
/// with gamma and beta constants of the last dim's size.
struct RecognizeLayerNorm : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [scaledValue, beta] : {std::pair(op.getLhs(), op.getRhs()),
                                     std::pair(op.getRhs(), op.getLhs())}) {
      auto scaled = scaledValue.getDefiningOp<MulOp>();
      if (!scaled || !scaled->hasOneUse() || !matchPattern(beta, m_Constant()))
        continue;
      for (auto [normValue, gamma] :
           {std::pair(scaled.getLhs(), scaled.getRhs()),
            std::pair(scaled.getRhs(), scaled.getLhs())}) {
        auto norm = normValue.getDefiningOp<DivOp>();
        if (!norm || !norm->hasOneUse() || !matchPattern(gamma, m_Constant()))
          continue;
        std::optional<std::pair<Value, double>> input = matchNormalized(norm);
        if (!input)
          continue;
        auto [x, epsilon] = *input;
        auto type = cast<RankedTensorType>(x.getType());
        auto paramOk = [&](Value v) {
          auto t = cast<RankedTensorType>(v.getType());
          return t.getRank() == 1 && t.getDimSize(0) == type.getShape().back();
        };
        if (type != op.getOutput().getType() || !paramOk(gamma) ||
            !paramOk(beta))
          continue;
        rewriter.replaceOpWithNewOp<LayerNormOp>(
            op, x, gamma, beta, rewriter.getI64IntegerAttr(-1),
            rewriter.getF32FloatAttr(epsilon));
        return success();
      }
    }
    return failure();
  }

  /// For `d / sqrt(mean(d^2) + eps)` with `d = x - mean(x)`: x and eps.
  static std::optional<std::pair<Value, double>> matchNormalized(DivOp div) {
    auto centered = div.getLhs().getDefiningOp<SubOp>();
    auto root = div.getRhs().getDefiningOp<SqrtOp>();
    if (!centered || !root)
      return std::nullopt;
    auto mean = centered.getRhs().getDefiningOp<ReduceMeanOp>();
    if (!mean || mean.getInput() != centered.getLhs() ||
        !isMeanOverLastDim(mean))
      return std::nullopt;
    auto padded = root.getInput().getDefiningOp<AddOp>();
    if (!padded)
      return std::nullopt;
    std::optional<double> epsilon = splatValue(padded.getRhs());
    Value varianceValue = padded.getLhs();
    if (!epsilon) {
      epsilon = splatValue(padded.getLhs());
      varianceValue = padded.getRhs();
    }
    auto variance = varianceValue.getDefiningOp<ReduceMeanOp>();
    if (!epsilon || !variance || !isMeanOverLastDim(variance))
      return std::nullopt;
    Value squared = variance.getInput();
    bool isSquare = false;
    if (auto pow = squared.getDefiningOp<PowOp>())
      isSquare = pow.getLhs() == centered.getResult() &&
                 splatValue(pow.getRhs()) == 2.0;
    else if (auto mul = squared.getDefiningOp<MulOp>())
      isSquare = mul.getLhs() == centered.getResult() &&
                 mul.getRhs() == centered.getResult();
    if (!isSquare)
      return std::nullopt;
    return std::pair(centered.getLhs(), *epsilon);
  }
};

struct FuseElementwisePass
    : azc::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RecognizeGelu, RecognizeSilu, RecognizeLayerNorm>(
        &getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
