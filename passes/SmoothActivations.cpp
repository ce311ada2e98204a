//===- SmoothActivations.cpp - SmoothQuant's per-channel migration --------===//
//
// Static int8 quantization gives a tensor one scale, and in transformers a
// few input channels of the products hold values tens of times larger than
// the rest: sized for them, the scale leaves the other channels a few
// levels. Weights have no such outliers. SmoothQuant divides each input
// channel by a factor and multiplies the matching weight row by it, an
// exact rewrite that moves part of the range from the activations, hard
// to quantize, into the weights, easy to quantize. Products that share an
// input share the factors, so the division happens once, and it folds
// into the normalization that usually makes that input.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightRewriting.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/GlobPattern.h"

#include <cmath>

namespace azc {
#define GEN_PASS_DEF_SMOOTHACTIVATIONS
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// Replaces the weight operand of `op` (a matmul or gemm) by `weight`, a
/// [K, N] constant.
void setWeight(Operation *op, Value weight) {
  if (auto matmul = dyn_cast<MatMulOp>(op)) {
    matmul.getRhsMutable().assign(weight);
    return;
  }
  auto gemm = cast<GemmOp>(op);
  gemm.getBMutable().assign(weight);
  gemm.setTransB(false);
}

struct SmoothActivationsPass
    : azc::impl::SmoothActivationsBase<SmoothActivationsPass> {
  using SmoothActivationsBase::SmoothActivationsBase;
  SmoothActivationsPass(
      const azc::SmoothActivationsOptions &options,
      std::shared_ptr<const std::vector<azc::quant::InputStatistics>> stats)
      : SmoothActivationsBase(options), statistics(std::move(stats)) {}

  std::shared_ptr<const std::vector<azc::quant::InputStatistics>> statistics;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      func.emitError("smoothquant alpha must be in [0, 1], got ") << alpha;
      return signalPassFailure();
    }
    std::vector<llvm::GlobPattern> globs;
    if (failed(azc::parseWeightGlobs(func, exclude, globs)))
      return signalPassFailure();
    std::vector<azc::QuantizableProduct> products =
        azc::findQuantizableProducts(func);
    auto stats = statistics ? statistics : azc::statisticsFromAttributes(func);
    if (!stats || stats->size() != products.size()) {
      func.emitError("SmoothQuant needs calibration statistics for each of "
                     "the ")
          << products.size() << " quantizable products (give --calib-data)";
      return signalPassFailure();
    }
    llvm::MapVector<Value, SmallVector<size_t>> byInput;
    for (size_t i = 0; i < products.size(); ++i)
      if (llvm::none_of(globs, [&](const llvm::GlobPattern &g) {
            return g.match(products[i].weightName);
          }))
        byInput[products[i].input].push_back(i);

    OpBuilder builder(&getContext());
    SmallVector<Operation *> muls;
    for (auto &[input, members] : byInput) {
      const azc::quant::InputStatistics &st = (*stats)[members.front()];
      const int64_t K = products[members.front()].K;
      if (int64_t(st.absMax.size()) != K)
        continue;
      std::vector<azc::ConstantWeight> weights;
      for (size_t i : members)
        weights.push_back(*azc::productWeight(products[i].op));
      // s_k = max|x_k|^alpha / max|W_k|^(1 - alpha); channels that are
      // always 0 in either keep s_k = 1.
      std::vector<float> factor(size_t(K), 1.0f), inverse(size_t(K), 1.0f);
      for (int64_t k = 0; k < K; ++k) {
        double wmax = 0;
        for (const azc::ConstantWeight &w : weights) {
          azc::WeightView v = w.view();
          for (int64_t n = 0; n < v.N; ++n)
            wmax = std::max(wmax, double(std::fabs(v.at(k, n))));
        }
        const double xmax = st.absMax[size_t(k)];
        if (xmax > 0 && wmax > 0) {
          factor[size_t(k)] =
              float(std::pow(xmax, alpha) / std::pow(wmax, 1.0 - alpha));
          inverse[size_t(k)] = 1.0f / factor[size_t(k)];
        }
      }
      for (auto [i, w] : llvm::zip(members, weights)) {
        Operation *op = products[i].op;
        azc::WeightView v = w.view();
        std::vector<float> scaled(size_t(v.K * v.N));
        for (int64_t k = 0; k < v.K; ++k)
          for (int64_t n = 0; n < v.N; ++n)
            scaled[size_t(k * v.N + n)] = v.at(k, n) * factor[size_t(k)];
        builder.setInsertionPoint(op);
        setWeight(op, azc::makeWeight(builder, op->getLoc(), w.name,
                                      RankedTensorType::get(
                                          {v.K, v.N}, builder.getF32Type()),
                                      azc::asBytes(scaled)));
      }
      builder.setInsertionPointAfterValue(input);
      Value divisor = azc::makeWeight(
          builder, input.getLoc(),
          products[members.front()].weightName + ".smoothquant_input_scale",
          RankedTensorType::get({K}, builder.getF32Type()),
          azc::asBytes(inverse));
      Value smoothed = builder.create<MulOp>(input.getLoc(), input, divisor);
      // The channel ranges were of the input before smoothing.
      for (size_t i : members) {
        products[i].op->replaceUsesOfWith(input, smoothed);
        products[i].op->removeAttr(azc::kInputChannelMaxAttr);
      }
      muls.push_back(smoothed.getDefiningOp());
    }
    // The replaced weights (and transposes) left unused go; the divisions
    // fold into the normalizations that make their inputs.
    RewritePatternSet patterns(&getContext());
    azc::populateFoldScaleIntoNormPatterns(patterns);
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    SmallVector<Operation *> worklist(muls);
    func.walk([&](Operation *op) {
      if (isa<WeightOp, ConstantOp, TransposeOp>(op))
        worklist.push_back(op);
    });
    if (failed(applyOpPatternsAndFold(worklist, std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace

std::shared_ptr<const std::vector<azc::quant::InputStatistics>>
azc::statisticsFromAttributes(func::FuncOp func) {
  auto stats = std::make_shared<std::vector<quant::InputStatistics>>();
  for (const QuantizableProduct &product : findQuantizableProducts(func)) {
    quant::InputStatistics st;
    st.K = product.K;
    auto range = product.op->getAttrOfType<FloatAttr>(kInputRangeAttr);
    auto channels =
        product.op->getAttrOfType<DenseF64ArrayAttr>(kInputChannelMaxAttr);
    if (!range && !channels)
      return nullptr;
    if (range)
      st.amax = range.getValueAsDouble();
    if (channels) {
      st.absMax.assign(channels.asArrayRef().begin(),
                       channels.asArrayRef().end());
      if (int64_t(st.absMax.size()) != st.K)
        return nullptr;
    }
    stats->push_back(std::move(st));
  }
  return stats;
}

std::unique_ptr<Pass> azc::createSmoothActivationsPass(
    const SmoothActivationsOptions &options,
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics) {
  return std::make_unique<SmoothActivationsPass>(options,
                                                 std::move(statistics));
}
