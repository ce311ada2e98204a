//===- QuantizeWeights.cpp - quantization of matmul weights and inputs ----===//
//
// Decode-time matmuls are bound by reading their weights, so storing a
// weight in 4 or 8 bits instead of 32 makes them up to 8 or 4 times faster
// and the engine as much smaller. This pass rewrites each matmul or gemm
// with a constant f32 weight into `azg.matmul_nbits` (or, for 16-bit
// floats, `azg.matmul_half`): codes per block of `group-size` values along
// K (the reduction dim, so a block's error stays within one output),
// rounded to nearest with the arithmetic of onnxruntime's MatMulNBits
// quantizer so the two agree code for code, or chosen by GPTQ or AWQ, or
// NF4 and E4M3 codebook codes. The static modes also give the product's
// input one calibrated scale (int8, E4M3), and LLM.int8() takes its
// outlier channels out of int8. The product's epilogue moves over
// unchanged. It reads only weights and calibration statistics, so the
// driver runs it once on the imported model, before shapes are fixed.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightQuantizer.h"
#include "passes/WeightRewriting.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/GlobPattern.h"

#include <cmath>
#include <cstring>

namespace azc {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;
using azc::asBytes;
using azc::ConstantWeight;
using azc::makeWeight;
using azc::quant::BlockQuantized;
using azc::quant::WeightView;

namespace {

/// What the pass was asked for, validated.
struct QuantizationSpec {
  int bits = 4;
  int64_t accuracyLevel = 0;
  /// Codebook weights (nf4, fp8) and statically quantized inputs (int8,
  /// fp8: their scale from calibration).
  azc::quant::CodeFormat format = azc::quant::CodeFormat::integer;
  bool doubleQuant = true;
  std::string inputFormat;
  /// fp16 / bf16: weights rounded to 16-bit floats (azg.matmul_half).
  const llvm::fltSemantics *halfFormat = nullptr;
  /// int8: input channels whose calibrated max |x| reaches this stay f32
  /// with their weight rows (LLM.int8()); 0: none.
  double outlierThreshold = 0;
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

/// `input` restricted to its last-dim channels `channels` (a gather).
Value gatherChannels(PatternRewriter &rewriter, Location loc, Value input,
                     const std::vector<int64_t> &channels) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = int64_t(channels.size());
  auto indexType =
      RankedTensorType::get({int64_t(channels.size())}, rewriter.getI64Type());
  Value indices = rewriter.create<ConstantOp>(
      loc, DenseElementsAttr::get(indexType, ArrayRef<int64_t>(channels)));
  return rewriter.create<GatherOp>(
      loc, type.clone(shape), input, indices,
      rewriter.getI64IntegerAttr(type.getRank() - 1));
}

/// LLM.int8() (Dettmers et al., 2022): the product's outlier input channels
/// (and their weight rows) make an f32 product, which is returned, with
/// `residual` as its own residual; `restInput` and `restWeight` become the
/// other channels and rows, for the int8 product.
Value splitOutliers(Operation *op, Value input, const ConstantWeight &weight,
                    const std::vector<int64_t> &outliers,
                    const std::vector<int64_t> &rest, Value residual,
                    PatternRewriter &rewriter, Value &restInput,
                    ConstantWeight &restWeight) {
  Location loc = op->getLoc();
  WeightView view = weight.view();
  auto rows = [&](const std::vector<int64_t> &ks) {
    std::vector<float> data(ks.size() * size_t(view.N));
    for (size_t i = 0; i < ks.size(); ++i)
      for (int64_t n = 0; n < view.N; ++n)
        data[i * size_t(view.N) + size_t(n)] = view.at(ks[i], n);
    return data;
  };
  Value outlierWeight =
      makeWeight(rewriter, loc, weight.name + ".outlier_rows",
                 RankedTensorType::get({int64_t(outliers.size()), view.N},
                                       rewriter.getF32Type()),
                 asBytes(rows(outliers)));
  Value outlierProduct = rewriter.create<MatMulOp>(
      loc, gatherChannels(rewriter, loc, input, outliers), outlierWeight,
      Value(), residual, ActivationAttr(), FloatAttr(), FloatAttr());
  restInput = gatherChannels(rewriter, loc, input, rest);
  restWeight.name = weight.name;
  restWeight.K = int64_t(rest.size());
  restWeight.N = view.N;
  restWeight.transposed = false;
  restWeight.data = rows(rest);
  return outlierProduct;
}

/// `stats` of the channels `keep` only; the range is the largest of theirs
/// where the method chose more.
azc::quant::InputStatistics
restrictStatistics(const azc::quant::InputStatistics &stats,
                   const std::vector<int64_t> &keep) {
  azc::quant::InputStatistics out;
  out.K = int64_t(keep.size());
  out.rows = stats.rows;
  double largest = 0;
  for (int64_t k : keep) {
    out.absMax.push_back(stats.absMax[size_t(k)]);
    largest = std::max(largest, stats.absMax[size_t(k)]);
    if (!stats.absSum.empty())
      out.absSum.push_back(stats.absSum[size_t(k)]);
  }
  out.amax = std::min(stats.amax, largest);
  if (!stats.hessian.empty()) {
    out.hessian.resize(keep.size() * keep.size());
    for (size_t i = 0; i < keep.size(); ++i)
      for (size_t j = 0; j < keep.size(); ++j)
        out.hessian[i * keep.size() + j] =
            stats.hessian[size_t(keep[i] * stats.K + keep[j])];
  }
  return out;
}

/// The matmul_half that replaces `op` in modes fp16 and bf16: the weight
/// rounded to nearest (ties to even) and stored [N, K].
LogicalResult replaceWithHalf(Operation *op, Value input,
                              const ConstantWeight &weight, Value bias,
                              Value residual, const QuantizationSpec &spec,
                              PatternRewriter &rewriter) {
  const bool bf16 = spec.halfFormat == &llvm::APFloat::BFloat();
  WeightView view = weight.view();
  std::vector<uint16_t> stored(size_t(view.K * view.N));
  double errorSquares = 0, squares = 0;
  for (int64_t n = 0; n < view.N; ++n)
    for (int64_t k = 0; k < view.K; ++k) {
      bool lost;
      llvm::APFloat value(view.at(k, n));
      value.convert(*spec.halfFormat, llvm::APFloat::rmNearestTiesToEven,
                    &lost);
      stored[size_t(n * view.K + k)] =
          uint16_t(value.bitcastToAPInt().getZExtValue());
      value.convert(llvm::APFloat::IEEEsingle(),
                    llvm::APFloat::rmNearestTiesToEven, &lost);
      const double e = double(value.convertToFloat()) - double(view.at(k, n));
      errorSquares += e * e;
      squares += double(view.at(k, n)) * double(view.at(k, n));
    }
  Location loc = op->getLoc();
  Type element = bf16 ? Type(rewriter.getBF16Type()) : rewriter.getF16Type();
  Value stores = makeWeight(
      rewriter, loc, weight.name + (bf16 ? ".bf16" : ".f16"),
      RankedTensorType::get({view.N, view.K}, element), asBytes(stored));
  auto activation = op->getAttrOfType<ActivationAttr>("activation");
  auto half = rewriter.create<MatMulHalfOp>(
      loc, input, stores, bias, residual,
      activation ? activation
                 : ActivationAttr::get(op->getContext(), Activation::none),
      op->getAttrOfType<FloatAttr>("clip_min"),
      op->getAttrOfType<FloatAttr>("clip_max"));
  half->setAttr(azc::kQuantSourceAttr, rewriter.getStringAttr(weight.name));
  half->setAttr(azc::kQuantWeightErrorAttr,
                rewriter.getF64FloatAttr(
                    squares > 0 ? std::sqrt(errorSquares / squares) : 0.0));
  rewriter.replaceOp(op, half.getOutput());
  return success();
}

/// Builds the matmul_nbits that replaces `op`: `input` times the quantized
/// `weight`, with the given epilogue operands and `op`'s epilogue attributes.
LogicalResult replaceWithNBits(Operation *op, Value input,
                               const ConstantWeight &original, Value bias,
                               Value residual, const QuantizationSpec &spec,
                               PatternRewriter &rewriter) {
  if (spec.halfFormat)
    return replaceWithHalf(op, input, original, bias, residual, spec, rewriter);
  using Algorithm = QuantizationSpec::Algorithm;
  const azc::quant::InputStatistics *stats = spec.statistics.lookup(op);
  // LLM.int8(): outlier channels leave the int8 product for an f32 one,
  // which becomes its residual.
  ConstantWeight restWeight;
  azc::quant::InputStatistics restStats;
  if (spec.outlierThreshold > 0 && stats &&
      int64_t(stats->absMax.size()) == original.K) {
    std::vector<int64_t> outliers, rest;
    for (int64_t k = 0; k < original.K; ++k)
      (stats->absMax[size_t(k)] >= spec.outlierThreshold ? outliers : rest)
          .push_back(k);
    if (!outliers.empty() && !rest.empty()) {
      residual = splitOutliers(op, input, original, outliers, rest, residual,
                               rewriter, input, restWeight);
      restStats = restrictStatistics(*stats, rest);
      stats = &restStats;
    }
  }
  const ConstantWeight &weight =
      restWeight.data.empty() ? original : restWeight;
  if ((spec.algorithm != Algorithm::roundToNearest ||
       !spec.inputFormat.empty()) &&
      (!stats || stats->K != weight.K))
    return rewriter.notifyMatchFailure(op, "no calibration statistics");
  BlockQuantized q;
  std::vector<float> inputScale;
  switch (spec.algorithm) {
  case Algorithm::roundToNearest:
    if (spec.format == azc::quant::CodeFormat::nf4)
      q = azc::quant::quantizeNf4(weight.view(), spec.groupSize,
                                  spec.doubleQuant);
    else if (spec.format == azc::quant::CodeFormat::fp8e4m3)
      q = azc::quant::quantizeFp8(weight.view(), spec.groupSize);
    else
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
  Value scales, scaleSteps;
  if (!q.scaleCodes.empty()) {
    Type i8 = IntegerType::get(context, 8);
    scales = makeWeight(rewriter, loc, base + ".scales",
                        RankedTensorType::get({q.N, q.blocks}, i8),
                        asBytes(q.scaleCodes));
    scaleSteps =
        makeWeight(rewriter, loc, base + ".scale_steps",
                   RankedTensorType::get({int64_t(q.scaleSteps.size()) / 2, 2},
                                         rewriter.getF32Type()),
                   asBytes(q.scaleSteps));
  } else if (spec.halfScales) {
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
  StringAttr weightFormat = rewriter.getStringAttr(
      q.format == azc::quant::CodeFormat::nf4       ? "nf4"
      : q.format == azc::quant::CodeFormat::fp8e4m3 ? "fp8_e4m3"
                                                    : "int");
  StringAttr inputFormat;
  FloatAttr staticScale;
  if (!spec.inputFormat.empty()) {
    // The calibrated range onto the grid's largest value; an input that
    // was always 0 takes any scale.
    const double grid = spec.inputFormat == "int8" ? 127.0 : 448.0;
    const double amax = stats->amax > 0 ? stats->amax : grid;
    inputFormat = rewriter.getStringAttr(spec.inputFormat);
    staticScale = rewriter.getF32FloatAttr(float(amax / grid));
  }
  auto nbits = rewriter.create<MatMulNBitsOp>(
      loc, input, codes, scales, zeroPoints, bias, residual, scaleSteps,
      i64(q.K), i64(q.N), i64(spec.bits), i64(q.blockSize),
      i64(spec.accuracyLevel), weightFormat, inputFormat, staticScale,
      activation ? activation : ActivationAttr::get(context, Activation::none),
      op->getAttrOfType<FloatAttr>("clip_min"),
      op->getAttrOfType<FloatAttr>("clip_max"));
  // What the rounding cost, for the build's quantization report.
  const azc::quant::InputStatistics *moments =
      stats && !stats->hessian.empty() ? stats : nullptr;
  azc::quant::QuantizationError error =
      azc::quant::measureError(weight.view(), q, inputScale, moments);
  nbits->setAttr(azc::kQuantSourceAttr, rewriter.getStringAttr(weight.name));
  nbits->setAttr(azc::kQuantWeightErrorAttr,
                 rewriter.getF64FloatAttr(error.weight));
  if (moments)
    nbits->setAttr(azc::kQuantOutputErrorAttr,
                   rewriter.getF64FloatAttr(error.output));
  rewriter.replaceOp(op, nbits.getOutput());
  return success();
}

/// matmul(x, W) with a constant 2-D W.
struct QuantizeMatMul : OpRewritePattern<MatMulOp> {
  QuantizeMatMul(MLIRContext *context, const QuantizationSpec &spec)
      : OpRewritePattern(context), spec(spec) {}

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ConstantWeight> weight = azc::matmulWeight(op);
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
    std::optional<ConstantWeight> weight = azc::gemmWeight(op);
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
      weights.push_back(*azc::productWeight(op));
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
    } else if (mode == "int8") {
      spec.bits = 8;
      spec.symmetric = true;
      spec.inputFormat = "int8";
    } else if (mode == "nf4") {
      spec.bits = 4;
      spec.format = azc::quant::CodeFormat::nf4;
      spec.doubleQuant = doubleQuant;
    } else if (mode == "fp16") {
      spec.halfFormat = &llvm::APFloat::IEEEhalf();
    } else if (mode == "bf16") {
      spec.halfFormat = &llvm::APFloat::BFloat();
    } else if (mode == "fp8") {
      spec.bits = 8;
      spec.format = azc::quant::CodeFormat::fp8e4m3;
      spec.inputFormat = "fp8_e4m3";
    } else {
      func.emitError("unknown weight quantization mode '")
          << mode
          << "' (int4, int8_wo, w4a8, int4_gptq, int4_awq, int8, nf4, fp8, "
             "fp16 or bf16)";
      return signalPassFailure();
    }
    // Statistics drive GPTQ and AWQ and give static inputs their ranges;
    // with any mode they measure each product's output error for the
    // report. Without the driver's, ranges may come from attributes.
    std::vector<azc::QuantizableProduct> products =
        azc::findQuantizableProducts(func);
    const bool needed =
        spec.algorithm != QuantizationSpec::Algorithm::roundToNearest ||
        !spec.inputFormat.empty();
    std::shared_ptr<const std::vector<azc::quant::InputStatistics>> statistics =
        this->statistics;
    if (!statistics && needed &&
        spec.algorithm == QuantizationSpec::Algorithm::roundToNearest)
      statistics = azc::statisticsFromAttributes(func);
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
    // int8 activations meet symmetric int8 weights: the int8 kernel's
    // fastest case, and what static int8 engines usually do.
    spec.symmetric = symmetric || mode == "int8";
    spec.halfScales =
        halfScales && spec.format == azc::quant::CodeFormat::integer;
    if (outlierThreshold != 0 && (mode != "int8" || !(outlierThreshold > 0))) {
      func.emitError("the outlier threshold (LLM.int8()) applies to mode "
                     "int8 and must be positive, got ")
          << outlierThreshold << " with mode " << mode;
      return signalPassFailure();
    }
    spec.outlierThreshold = outlierThreshold;
    if (spec.inputFormat == "int8" && groupSize > 256) {
      func.emitError("int8 needs a group size of at most 256 (the int8 "
                     "kernel's blocks), got ")
          << int64_t(groupSize);
      return signalPassFailure();
    }
    if (failed(azc::parseWeightGlobs(func, exclude, spec.exclude)))
      return signalPassFailure();

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
      azc::populateFoldScaleIntoNormPatterns(folds);
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
    std::optional<ConstantWeight> weight = azc::productWeight(op);
    Value input;
    if (auto matmul = dyn_cast<MatMulOp>(op))
      input = matmul.getLhs();
    else if (auto gemm = dyn_cast<GemmOp>(op))
      input = gemm.getA();
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
