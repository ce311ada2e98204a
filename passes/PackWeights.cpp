//===- PackWeights.cpp - matmul weights stored as the GEMM tiles read them
//-===//
//
// The f32 GEMM packs each block of its weight into column panels before it
// multiplies (the BLIS scheme), on every run: for a BERT-base encoder that
// copying was a fifth of the run. A weight that is a constant is packed
// here instead, once, into the panels the AVX-512 tile reads in place
// (32 columns wide, each panel's K rows contiguous), and the product
// becomes `azg.matmul_packed`, which also streams the panels directly for
// one-row decode steps. The rewrite is exact: the kernel computes every
// element from the same terms in the same order. Only matmuls of an f32
// input by a 2-D constant that nothing else reads are packed (a weight
// read elsewhere would be stored twice), and only where padding the last
// panel costs little (N a multiple of 32, or at least 256). It runs after
// epilogue fusion, whose bias, residual and activation it carries over.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightRewriting.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace azc {
#define GEN_PASS_DEF_PACKWEIGHTS
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

constexpr int64_t kPanel = kPackedPanelWidth;

struct PackMatMulWeight : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    auto rhs = cast<RankedTensorType>(op.getRhs().getType());
    if (rhs.getRank() != 2 || !op.getRhs().hasOneUse() ||
        !isa_and_nonnull<WeightOp, ConstantOp>(op.getRhs().getDefiningOp()))
      return rewriter.notifyMatchFailure(op, "not a 2-D constant weight");
    std::optional<azc::ConstantWeight> weight = azc::matmulWeight(op);
    if (!weight)
      return rewriter.notifyMatchFailure(op, "not an f32 product");
    const int64_t K = weight->K, N = weight->N;
    if (N % kPanel != 0 && N < 256)
      return rewriter.notifyMatchFailure(op, "padding would cost too much");
    const int64_t panels = (N + kPanel - 1) / kPanel;
    std::vector<float> packed(size_t(panels * K * kPanel), 0.0f);
    const azc::WeightView view = weight->view();
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j)
        packed[size_t((j / kPanel) * K * kPanel + k * kPanel + j % kPanel)] =
            view.at(k, j);
    auto type =
        RankedTensorType::get({panels, K, kPanel}, rewriter.getF32Type());
    Value stored =
        azc::makeSharedWeight(rewriter, op.getLoc(), weight->name + ".packed",
                              type, azc::asBytes(packed));
    rewriter.replaceOpWithNewOp<MatMulPackedOp>(
        op, op.getType(), op.getLhs(), stored, op.getBias(), op.getResidual(),
        rewriter.getI64IntegerAttr(N), op.getActivationAttr(),
        op.getClipMinAttr(), op.getClipMaxAttr());
    return success();
  }
};

struct PackWeightsPass : azc::impl::PackWeightsBase<PackWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PackMatMulWeight>(&getContext());
    // Each product is rewritten once; folding the rest is not this pass's.
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace
