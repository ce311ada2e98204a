//===- PackWeights.cpp - constant weights stored as the kernels read them -===//
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
// An `azg.matmul_half` by a constant f16 or bf16 weight becomes the same
// `azg.matmul_packed` with panels of halves, which the tiles widen as they
// load them: half the bytes of f32 panels and none of the per-call
// widening into panels that matmul_half's tiles do.
//
// Likewise a `azg.matmul_nbits` with int8 activations (w4a8, w8a8) and
// constant integer codes becomes `azg.matmul_nbits_packed`: its codes,
// scales and zero points regrouped into the panels of 32 columns the VNNI
// tiles read, which they otherwise unpack and transpose on every call.
// Same codes, same sums: only the storage order changes.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightRewriting.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cstring>

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

/// matmul_half by a constant [N, K] f16 or bf16 weight -> matmul_packed
/// with panels of halves.
struct PackHalfWeight : OpRewritePattern<MatMulHalfOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulHalfOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getWeight().getType());
    if (!op.getWeight().hasOneUse() || !type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a weight of its own");
    const int64_t N = type.getDimSize(0), K = type.getDimSize(1);
    if (N % kPanel != 0 && N < 256)
      return rewriter.notifyMatchFailure(op, "padding would cost too much");
    std::optional<std::vector<char>> bytes = azc::constantBytes(op.getWeight());
    if (!bytes)
      return rewriter.notifyMatchFailure(op, "not a constant weight");
    const int64_t panels = (N + kPanel - 1) / kPanel;
    std::vector<uint16_t> halves(size_t(N * K)),
        packed(size_t(panels * K * kPanel), 0);
    std::memcpy(halves.data(), bytes->data(), bytes->size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        packed[size_t((n / kPanel) * K * kPanel + k * kPanel + n % kPanel)] =
            halves[size_t(n * K + k)];
    std::string name = "matmul_half";
    if (auto weight = op.getWeight().getDefiningOp<WeightOp>())
      name = weight.getName().str();
    Value stored = azc::makeSharedWeight(
        rewriter, op.getLoc(), name + ".packed",
        RankedTensorType::get({panels, K, kPanel}, type.getElementType()),
        azc::asBytes(packed));
    rewriter.replaceOpWithNewOp<MatMulPackedOp>(
        op, op.getType(), op.getInput(), stored, op.getBias(), op.getResidual(),
        rewriter.getI64IntegerAttr(N), op.getActivationAttr(),
        op.getClipMinAttr(), op.getClipMaxAttr());
    return success();
  }
};

/// matmul_nbits with int8 activations -> matmul_nbits_packed (see the
/// op's description for the layout).
struct PackNBitsWeight : OpRewritePattern<MatMulNBitsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulNBitsOp op,
                                PatternRewriter &rewriter) const override {
    const std::optional<StringRef> inputFormat = op.getInputFormat();
    const bool int8Activations =
        inputFormat ? *inputFormat == "int8" : op.getAccuracyLevel() == 4;
    if (!int8Activations || op.getWeightFormat() != "int" || op.getScaleSteps())
      return rewriter.notifyMatchFailure(op, "no int8 product of int codes");
    const int64_t K = op.getK(), N = op.getN(), bits = op.getBits();
    const int64_t block = op.getBlockSize();
    if (block > 256)
      return rewriter.notifyMatchFailure(op, "blocks past the int8 path's");
    if (N % kPanel != 0 && N < 256)
      return rewriter.notifyMatchFailure(op, "padding would cost too much");
    for (Value v : {op.getWeight(), op.getScales(), op.getZeroPoints()})
      if (v && !v.hasOneUse())
        return rewriter.notifyMatchFailure(op, "weights read elsewhere");
    std::optional<std::vector<char>> codes = azc::constantBytes(op.getWeight());
    std::optional<std::vector<char>> scales =
        azc::constantBytes(op.getScales());
    std::optional<std::vector<char>> zeroPoints;
    if (op.getZeroPoints())
      zeroPoints = azc::constantBytes(op.getZeroPoints());
    if (!codes || !scales || (op.getZeroPoints() && !zeroPoints))
      return rewriter.notifyMatchFailure(op, "weights are not constants");

    const int64_t blocks = (K + block - 1) / block;
    const int64_t blob = block * bits / 8, zpStride = (blocks * bits + 7) / 8;
    const int64_t panels = (N + kPanel - 1) / kPanel;
    const int64_t perStep = bits == 4 ? 8 : 4;
    const int64_t steps = blocks * block / perStep;
    auto scalesType = cast<RankedTensorType>(op.getScales().getType());
    const size_t scaleBytes = scalesType.getElementTypeBitWidth() / 8;
    if (codes->size() != size_t(N * blocks * blob) ||
        scales->size() != size_t(N * blocks) * scaleBytes ||
        (zeroPoints && zeroPoints->size() != size_t(N * zpStride)))
      return rewriter.notifyMatchFailure(op, "unexpected weight sizes");
    auto code = [&](int64_t n, int64_t k) -> uint8_t {
      const uint8_t byte =
          uint8_t((*codes)[size_t(n * blocks * blob + k * bits / 8)]);
      return bits == 8 ? byte : (k & 1) ? byte >> 4 : byte & 0xF;
    };
    auto zeroPoint = [&](int64_t n, int64_t b) -> uint8_t {
      const uint8_t byte =
          uint8_t((*zeroPoints)[size_t(n * zpStride + b * bits / 8)]);
      return bits == 8 ? byte : (b & 1) ? byte >> 4 : byte & 0xF;
    };
    std::vector<uint8_t> packedCodes(size_t(panels * steps * kPanel * 4), 0);
    std::vector<char> packedScales(
        size_t(panels * blocks * kPanel) * scaleBytes, 0);
    std::vector<uint8_t> packedZeroPoints;
    if (zeroPoints)
      packedZeroPoints.assign(size_t(panels * blocks * kPanel), 0);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t p = n / kPanel, c = n % kPanel;
      for (int64_t k = 0; k < blocks * block; ++k) {
        const int64_t t = k / perStep, j = k % perStep;
        const size_t at = size_t((p * steps + t) * kPanel * 4 + c * 4 +
                                 (bits == 4 ? j % 4 : j));
        packedCodes[at] |= uint8_t(code(n, k) << (bits == 4 && j >= 4 ? 4 : 0));
      }
      for (int64_t b = 0; b < blocks; ++b) {
        const size_t at = size_t((p * blocks + b) * kPanel + c);
        std::memcpy(packedScales.data() + at * scaleBytes,
                    scales->data() + size_t(n * blocks + b) * scaleBytes,
                    scaleBytes);
        if (zeroPoints)
          packedZeroPoints[at] = zeroPoint(n, b);
      }
    }
    std::string name = "matmul_nbits";
    if (auto weight = op.getWeight().getDefiningOp<WeightOp>())
      name = weight.getName().str();
    Type u8 = rewriter.getIntegerType(8, /*isSigned=*/false);
    Location loc = op.getLoc();
    Value storedCodes = azc::makeSharedWeight(
        rewriter, loc, name + ".panels",
        RankedTensorType::get({panels, steps, kPanel, 4}, u8),
        azc::asBytes(packedCodes));
    Value storedScales = azc::makeSharedWeight(
        rewriter, loc, name + ".panel_scales",
        RankedTensorType::get({panels, blocks, kPanel},
                              scalesType.getElementType()),
        packedScales);
    Value storedZeroPoints;
    if (zeroPoints)
      storedZeroPoints = azc::makeSharedWeight(
          rewriter, loc, name + ".panel_zero_points",
          RankedTensorType::get({panels, blocks, kPanel}, u8),
          azc::asBytes(packedZeroPoints));
    rewriter.replaceOpWithNewOp<MatMulNBitsPackedOp>(
        op, op.getType(), op.getInput(), storedCodes, storedScales,
        storedZeroPoints, op.getBias(), op.getResidual(), op.getKAttr(),
        op.getNAttr(), op.getBitsAttr(), op.getBlockSizeAttr(),
        op.getInputFormatAttr(), op.getInputScaleAttr(), op.getActivationAttr(),
        op.getClipMinAttr(), op.getClipMaxAttr());
    return success();
  }
};

struct PackWeightsPass : azc::impl::PackWeightsBase<PackWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PackMatMulWeight, PackHalfWeight, PackNBitsWeight>(
        &getContext());
    // Each product is rewritten once; folding the rest is not this pass's.
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns),
                                            config)))
      signalPassFailure();
  }
};

} // namespace
