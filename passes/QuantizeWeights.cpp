//===- QuantizeWeights.cpp - weight-only block quantization ---------------===//
//
// Decode-time matmuls are bound by reading their weights, so storing a
// weight in 4 or 8 bits instead of 32 makes them up to 8 or 4 times faster
// and the engine as much smaller. This pass rewrites each matmul or gemm
// with a constant f32 weight into `azg.matmul_nbits`, quantizing the weight
// round-to-nearest per block of `group-size` values along K (the reduction
// dim, so a block's error stays within one output), with the arithmetic of
// onnxruntime's MatMulNBits quantizer so the two agree code for code. The
// product's epilogue moves over unchanged. It reads only weights, so the
// driver runs it once on the imported model, before shapes are fixed.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightQuantizer.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/GlobPattern.h"

#include <cstring>

namespace azc {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;
using azc::quant::BlockQuantized;
using azc::quant::WeightView;

namespace {

/// What the pass was asked for, validated.
struct QuantizationSpec {
  int bits = 4;
  int64_t accuracyLevel = 0;
  int64_t groupSize = 32;
  bool symmetric = false;
  bool halfScales = false;
  std::vector<llvm::GlobPattern> exclude;
  /// int4_gptq and int4_awq: each product's calibration statistics.
  enum class Algorithm {
    roundToNearest,
    gptq,
    awq
  } algorithm = Algorithm::roundToNearest;
  azc::quant::GptqOptions gptqOptions;
  llvm::DenseMap<Operation *, const azc::quant::InputStatistics *> statistics;
  /// int4_awq: the codes, chosen per group of products sharing an input
  /// before any rewrite, and each group's one division of the input.
  struct AwqGroup {
    std::vector<float> inputScale;
    Value scaledInput; ///< the mul, once made
  };
  struct AwqPlan {
    std::vector<AwqGroup> groups;
    llvm::DenseMap<Operation *, std::pair<size_t, BlockQuantized>> products;
    SmallVector<Operation *> muls;
  };
  std::shared_ptr<AwqPlan> awq;

  bool excluded(StringRef name) const {
    return llvm::any_of(exclude, [&](const llvm::GlobPattern &glob) {
      return glob.match(name);
    });
  }
};

/// A constant f32 weight matrix, read as W [K, N], and its name.
struct ConstantWeight {
  std::vector<float> data;
  int64_t K = 0, N = 0;
  bool transposed = false; ///< data is [N, K]
  std::string name;

  WeightView view() const {
    return transposed ? WeightView{data.data(), K, N, 1, K}
                      : WeightView{data.data(), K, N, N, 1};
  }
};

/// Reads `value` if it is a constant f32 2-D tensor (a weight or constant),
/// optionally through a [1, 0] transpose; `transpose` says whether the
/// stored matrix is [N, K] rather than [K, N].
/// The `count` floats of the f32 constant `attr` (a resource blob or dense
/// elements, splats included), or nothing.
std::optional<std::vector<float>> constantFloats(ElementsAttr attr,
                                                 int64_t count) {
  std::vector<float> data(static_cast<size_t>(count));
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != data.size() * 4)
      return std::nullopt;
    std::memcpy(data.data(), blob->getData().data(), data.size() * 4);
    return data;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    llvm::copy(dense.getValues<float>(), data.begin());
    return data;
  }
  return std::nullopt;
}

std::optional<ConstantWeight> readWeight(Value value, bool transpose) {
  if (auto t = value.getDefiningOp<TransposeOp>()) {
    if (t.getPerm().size() != 2 || t.getPerm()[0] != 1)
      return std::nullopt;
    value = t.getInput();
    transpose = !transpose;
  }
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isF32())
    return std::nullopt;
  ConstantWeight w;
  ElementsAttr attr;
  if (auto weight = value.getDefiningOp<WeightOp>()) {
    attr = weight.getValue();
    w.name = weight.getName().str();
  } else if (auto constant = value.getDefiningOp<ConstantOp>()) {
    attr = constant.getValue();
    w.name = "constant";
  } else {
    return std::nullopt;
  }
  std::optional<std::vector<float>> data =
      constantFloats(attr, type.getNumElements());
  if (!data)
    return std::nullopt;
  w.data = std::move(*data);
  w.transposed = transpose;
  w.K = type.getDimSize(transpose ? 1 : 0);
  w.N = type.getDimSize(transpose ? 0 : 1);
  return w;
}

/// A resource-backed weight named `name` holding `bytes` as `type`.
Value makeWeight(PatternRewriter &rewriter, Location loc, StringRef name,
                 RankedTensorType type, ArrayRef<char> bytes) {
  std::string key;
  for (char c : name)
    key += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  auto attr = DenseResourceElementsAttr::get(type, "q_" + key, std::move(blob));
  return rewriter.create<WeightOp>(loc, name, attr);
}

template <typename T> ArrayRef<char> asBytes(const std::vector<T> &v) {
  return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                        v.size() * sizeof(T));
}

/// Builds the matmul_nbits that replaces `op`: `input` times the quantized
/// `weight`, with the given epilogue operands and `op`'s epilogue attributes.
LogicalResult replaceWithNBits(Operation *op, Value input,
                               const ConstantWeight &weight, Value bias,
                               Value residual, const QuantizationSpec &spec,
                               PatternRewriter &rewriter) {
  using Algorithm = QuantizationSpec::Algorithm;
  const azc::quant::InputStatistics *stats = spec.statistics.lookup(op);
  if (spec.algorithm != Algorithm::roundToNearest &&
      (!stats || stats->K != weight.K))
    return rewriter.notifyMatchFailure(op, "no calibration statistics");
  BlockQuantized q;
  std::vector<float> inputScale;
  switch (spec.algorithm) {
  case Algorithm::roundToNearest:
    q = azc::quant::quantizeRoundToNearest(weight.view(), spec.bits,
                                           spec.groupSize, spec.symmetric);
    break;
  case Algorithm::gptq:
    q = azc::quant::quantizeGptq(weight.view(), stats->hessian, spec.bits,
                                 spec.groupSize, spec.symmetric,
                                 spec.gptqOptions);
    break;
  case Algorithm::awq: {
    auto it = spec.awq->products.find(op);
    if (it == spec.awq->products.end())
      return rewriter.notifyMatchFailure(op, "not in the AWQ plan");
    QuantizationSpec::AwqGroup &group = spec.awq->groups[it->second.first];
    q = std::move(it->second.second);
    spec.awq->products.erase(it);
    inputScale = group.inputScale;
    // AWQ's codes are of W * s: the shared input is divided by s once,
    // right where it is made.
    if (!group.scaledInput) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointAfterValue(input);
      Value divisor =
          makeWeight(rewriter, input.getLoc(), weight.name + ".awq_input_scale",
                     RankedTensorType::get({q.K}, rewriter.getF32Type()),
                     asBytes(group.inputScale));
      group.scaledInput =
          rewriter.create<MulOp>(input.getLoc(), input, divisor);
      spec.awq->muls.push_back(group.scaledInput.getDefiningOp());
    }
    input = group.scaledInput;
    break;
  }
  }
  Location loc = op->getLoc();
  MLIRContext *context = op->getContext();
  Type u8 = IntegerType::get(context, 8, IntegerType::Unsigned);
  const std::string base = weight.name + ".q" + std::to_string(spec.bits);
  Value codes = makeWeight(
      rewriter, loc, base,
      RankedTensorType::get({q.N, q.blocks, q.blobSize}, u8), asBytes(q.codes));
  Value scales;
  if (spec.halfScales) {
    // Rounded once to the nearest half; the codes stay those chosen with
    // the f32 scale (the difference, 2^-11 of a scale, is far below a step).
    std::vector<uint16_t> half(q.scales.size());
    for (size_t i = 0; i < half.size(); ++i) {
      bool lost;
      llvm::APFloat value(q.scales[i]);
      value.convert(llvm::APFloat::IEEEhalf(),
                    llvm::APFloat::rmNearestTiesToEven, &lost);
      half[i] = uint16_t(value.bitcastToAPInt().getZExtValue());
      value.convert(llvm::APFloat::IEEEsingle(),
                    llvm::APFloat::rmNearestTiesToEven, &lost);
      q.scales[i] = value.convertToFloat();
    }
    scales = makeWeight(
        rewriter, loc, base + ".scales",
        RankedTensorType::get({q.N, q.blocks}, rewriter.getF16Type()),
        asBytes(half));
  } else {
    scales = makeWeight(
        rewriter, loc, base + ".scales",
        RankedTensorType::get({q.N, q.blocks}, rewriter.getF32Type()),
        asBytes(q.scales));
  }
  Value zeroPoints;
  if (!q.zeroPoints.empty())
    zeroPoints = makeWeight(rewriter, loc, base + ".zero_points",
                            RankedTensorType::get({q.N, q.zpStride}, u8),
                            asBytes(q.zeroPoints));
  auto i64 = [&](int64_t v) { return rewriter.getI64IntegerAttr(v); };
  auto activation = op->getAttrOfType<ActivationAttr>("activation");
  auto nbits = rewriter.create<MatMulNBitsOp>(
      loc, input, codes, scales, zeroPoints, bias, residual, i64(q.K), i64(q.N),
      i64(spec.bits), i64(q.blockSize), i64(spec.accuracyLevel),
      activation ? activation : ActivationAttr::get(context, Activation::none),
      op->getAttrOfType<FloatAttr>("clip_min"),
      op->getAttrOfType<FloatAttr>("clip_max"));
  // What the rounding cost, for the build's quantization report.
  azc::quant::QuantizationError error =
      azc::quant::measureError(weight.view(), q, inputScale, stats);
  nbits->setAttr(azc::kQuantSourceAttr, rewriter.getStringAttr(weight.name));
  nbits->setAttr(azc::kQuantWeightErrorAttr,
                 rewriter.getF64FloatAttr(error.weight));
  if (stats)
    nbits->setAttr(azc::kQuantOutputErrorAttr,
                   rewriter.getF64FloatAttr(error.output));
  rewriter.replaceOp(op, nbits.getOutput());
  return success();
}

bool isF32(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType().isF32();
}

/// The weight a matmul multiplies its input with, when the pass can
/// quantize it.
std::optional<ConstantWeight> matmulWeight(MatMulOp op) {
  if (!isF32(op.getLhs()) ||
      cast<RankedTensorType>(op.getLhs().getType()).getRank() < 1)
    return std::nullopt;
  return readWeight(op.getRhs(), false);
}

/// The same for gemm(a, B, c) = a @ op(B) + c with alpha = 1.
std::optional<ConstantWeight> gemmWeight(GemmOp op) {
  if (!isF32(op.getA()) || op.getTransA() ||
      op.getAlpha().convertToFloat() != 1.0f ||
      (op.getC() && op.getBeta().convertToFloat() != 1.0f))
    return std::nullopt;
  return readWeight(op.getB(), op.getTransB());
}

/// matmul(x, W) with a constant 2-D W.
struct QuantizeMatMul : OpRewritePattern<MatMulOp> {
  QuantizeMatMul(MLIRContext *context, const QuantizationSpec &spec)
      : OpRewritePattern(context), spec(spec) {}

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ConstantWeight> weight = matmulWeight(op);
    if (!weight || spec.excluded(weight->name))
      return failure();
    // The kernel's bias is [N]; a bias of another shape stays an addend.
    Value bias = op.getBias(), residual = op.getResidual();
    if (bias &&
        cast<RankedTensorType>(bias.getType()).getNumElements() != weight->N) {
      if (residual)
        return failure();
      std::swap(bias, residual);
    }
    return replaceWithNBits(op, op.getLhs(), *weight, bias, residual, spec,
                            rewriter);
  }

  QuantizationSpec spec;
};

/// gemm(a, B, c) = a @ op(B) + c with alpha = 1: c is a bias row or a
/// residual (beta = 1).
struct QuantizeGemm : OpRewritePattern<GemmOp> {
  QuantizeGemm(MLIRContext *context, const QuantizationSpec &spec)
      : OpRewritePattern(context), spec(spec) {}

  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ConstantWeight> weight = gemmWeight(op);
    if (!weight || spec.excluded(weight->name))
      return failure();
    Value bias, residual;
    if (Value c = op.getC()) {
      auto type = cast<RankedTensorType>(c.getType());
      bool isRow = matchPattern(c, m_Constant()) && type.hasStaticShape() &&
                   type.getNumElements() == weight->N &&
                   type.getShape().back() == weight->N;
      (isRow ? bias : residual) = c;
    }
    return replaceWithNBits(op, op.getA(), *weight, bias, residual, spec,
                            rewriter);
  }

  QuantizationSpec spec;
};

/// Groups the quantizable products by their input and chooses each
/// group's AWQ scales and codes, before any product is rewritten.
std::shared_ptr<QuantizationSpec::AwqPlan>
planAwq(const std::vector<azc::QuantizableProduct> &products,
        const QuantizationSpec &spec) {
  auto plan = std::make_shared<QuantizationSpec::AwqPlan>();
  llvm::MapVector<Value, SmallVector<Operation *>> byInput;
  for (const azc::QuantizableProduct &product : products)
    if (!spec.excluded(product.weightName))
      byInput[product.input].push_back(product.op);
  for (auto &[input, ops] : byInput) {
    std::vector<ConstantWeight> weights;
    for (Operation *op : ops)
      weights.push_back(*(isa<MatMulOp>(op) ? matmulWeight(cast<MatMulOp>(op))
                                            : gemmWeight(cast<GemmOp>(op))));
    std::vector<WeightView> views;
    for (const ConstantWeight &w : weights)
      views.push_back(w.view());
    const azc::quant::InputStatistics *stats =
        spec.statistics.lookup(ops.front());
    if (!stats)
      continue;
    azc::quant::AwqResult result = azc::quant::quantizeAwq(
        views, *stats, spec.bits, spec.groupSize, spec.symmetric);
    plan->groups.push_back({std::move(result.inputScale), Value()});
    for (size_t i = 0; i < ops.size(); ++i)
      plan->products[ops[i]] = {plan->groups.size() - 1,
                                std::move(result.quantized[i])};
  }
  return plan;
}

/// The floats of a constant f32 tensor of `size` elements.
std::optional<std::vector<float>> constantVector(Value value, int64_t size) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  ElementsAttr attr;
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape() ||
      type.getNumElements() != size || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  return constantFloats(attr, size);
}

/// mul(norm(x) with scale g and bias b, c) = norm(x) with scale g * c and
/// bias b * c, when the norm is over the last dim only, its one user is
/// the mul and g, b, c are constant vectors of that dim.
template <typename NormOp> struct FoldScaleIntoNorm : OpRewritePattern<MulOp> {
  using OpRewritePattern<MulOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    auto norm = mul.getLhs().template getDefiningOp<NormOp>();
    if (!norm || !norm->hasOneUse())
      return failure();
    auto type = cast<RankedTensorType>(norm.getOutput().getType());
    const int64_t rank = type.getRank(), K = type.getShape().back();
    if (rank == 0 || ShapedType::isDynamic(K) ||
        (norm.getAxis() != -1 && norm.getAxis() != rank - 1))
      return failure();
    std::optional<std::vector<float>> c = constantVector(mul.getRhs(), K);
    std::optional<std::vector<float>> g = constantVector(norm.getScale(), K);
    if (!c || !g)
      return failure();
    auto vectorType = RankedTensorType::get({K}, rewriter.getF32Type());
    for (int64_t k = 0; k < K; ++k)
      (*g)[k] *= (*c)[k];
    SmallVector<Value> operands = {
        norm.getInput(), makeWeight(rewriter, norm.getLoc(), "awq_folded_scale",
                                    vectorType, asBytes(*g))};
    if constexpr (std::is_same_v<NormOp, LayerNormOp>) {
      if (Value bias = norm.getBias()) {
        std::optional<std::vector<float>> b = constantVector(bias, K);
        if (!b)
          return failure();
        for (int64_t k = 0; k < K; ++k)
          (*b)[k] *= (*c)[k];
        operands.push_back(makeWeight(rewriter, norm.getLoc(),
                                      "awq_folded_bias", vectorType,
                                      asBytes(*b)));
      }
    }
    auto folded =
        rewriter.create<NormOp>(norm.getLoc(), operands, norm->getAttrs());
    rewriter.replaceOp(mul, folded->getResults());
    rewriter.eraseOp(norm);
    return success();
  }
};

struct QuantizeWeightsPass
    : azc::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;
  QuantizeWeightsPass(
      const azc::QuantizeWeightsOptions &options,
      std::shared_ptr<const std::vector<azc::quant::InputStatistics>> stats)
      : QuantizeWeightsBase(options), statistics(std::move(stats)) {}

  std::shared_ptr<const std::vector<azc::quant::InputStatistics>> statistics;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    QuantizationSpec spec;
    if (mode == "int4") {
      spec.bits = 4;
    } else if (mode == "int8_wo") {
      spec.bits = 8;
    } else if (mode == "w4a8") {
      spec.bits = 4;
      spec.accuracyLevel = 4;
    } else if (mode == "int4_gptq") {
      spec.bits = 4;
      spec.algorithm = QuantizationSpec::Algorithm::gptq;
    } else if (mode == "int4_awq") {
      spec.bits = 4;
      spec.algorithm = QuantizationSpec::Algorithm::awq;
    } else {
      func.emitError("unknown weight quantization mode '")
          << mode << "' (int4, int8_wo, w4a8, int4_gptq or int4_awq)";
      return signalPassFailure();
    }
    // Statistics drive GPTQ and AWQ; with any mode they measure each
    // product's output error for the report.
    std::vector<azc::QuantizableProduct> products =
        azc::findQuantizableProducts(func);
    const bool needed =
        spec.algorithm != QuantizationSpec::Algorithm::roundToNearest;
    if ((statistics || needed) &&
        (!statistics || statistics->size() != products.size())) {
      func.emitError(mode + " needs calibration statistics for each of the ")
          << products.size() << " quantizable products (give --calib-data)";
      return signalPassFailure();
    }
    if (statistics)
      for (auto [product, stats] : llvm::zip(products, *statistics))
        spec.statistics[product.op] = &stats;
    spec.gptqOptions.damp = gptqDamp;
    spec.gptqOptions.actOrder = actOrder;
    if (groupSize < 16 || (groupSize & (groupSize - 1)) != 0) {
      func.emitError("group size must be a power of 2 and at least 16, got ")
          << int64_t(groupSize);
      return signalPassFailure();
    }
    spec.groupSize = groupSize;
    spec.symmetric = symmetric;
    spec.halfScales = halfScales;
    for (const std::string &text : exclude) {
      llvm::Expected<llvm::GlobPattern> glob = llvm::GlobPattern::create(text);
      if (!glob) {
        func.emitError("bad layer pattern '")
            << text << "': " << llvm::toString(glob.takeError());
        return signalPassFailure();
      }
      spec.exclude.push_back(std::move(*glob));
    }

    if (spec.algorithm == QuantizationSpec::Algorithm::awq)
      spec.awq = planAwq(products, spec);

    RewritePatternSet patterns(&getContext());
    patterns.add<QuantizeMatMul, QuantizeGemm>(&getContext(), spec);
    // Only the products are rewritten: the rest of the graph is left for
    // the pipeline. The weights' producers are listed too, so that those
    // left unused are erased.
    SmallVector<Operation *> worklist;
    func.walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp, WeightOp, ConstantOp, TransposeOp>(op))
        worklist.push_back(op);
    });
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyOpPatternsAndFold(worklist, std::move(patterns), config)))
      return signalPassFailure();
    // AWQ's divisions fold into the normalization that makes their input.
    if (spec.awq && !spec.awq->muls.empty()) {
      RewritePatternSet folds(&getContext());
      folds.add<FoldScaleIntoNorm<RmsNormOp>, FoldScaleIntoNorm<LayerNormOp>>(
          &getContext());
      SmallVector<Operation *> muls(spec.awq->muls);
      if (failed(applyOpPatternsAndFold(muls, std::move(folds), config)))
        signalPassFailure();
    }
  }
};

} // namespace

std::vector<azc::QuantizableProduct>
azc::findQuantizableProducts(func::FuncOp func) {
  std::vector<QuantizableProduct> products;
  func.walk([&](Operation *op) {
    std::optional<ConstantWeight> weight;
    Value input;
    if (auto matmul = dyn_cast<MatMulOp>(op)) {
      weight = matmulWeight(matmul);
      input = matmul.getLhs();
    } else if (auto gemm = dyn_cast<GemmOp>(op)) {
      weight = gemmWeight(gemm);
      input = gemm.getA();
    }
    if (weight)
      products.push_back({op, input, weight->name, weight->K});
  });
  return products;
}

std::unique_ptr<Pass> azc::createQuantizeWeightsPass(
    const QuantizeWeightsOptions &options,
    std::shared_ptr<const std::vector<quant::InputStatistics>> statistics) {
  return std::make_unique<QuantizeWeightsPass>(options, std::move(statistics));
}
