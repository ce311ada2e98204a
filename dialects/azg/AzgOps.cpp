//===- AzgOps.cpp - azg op verifiers --------------------------------------===//
//
// Verifiers check what type inference cannot: relations between operands
// that do not decide the result type (bias and weight sizes, groups), and the
// consistency of attributes. Messages name the offending value and sizes.
//
//===----------------------------------------------------------------------===//

#include "dialects/azg/AzgDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace azc::azg;

namespace {

RankedTensorType rankedType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

bool dimsConflict(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// The clip bounds belong to the clip activation and nothing else.
template <typename OpTy> LogicalResult verifyEpilogue(OpTy op) {
  bool isClip = op.getActivation() == Activation::clip;
  bool hasBounds = op.getClipMin() || op.getClipMax();
  if (hasBounds && !isClip)
    return op.emitOpError("clip_min/clip_max need activation = clip");
  if (isClip && !hasBounds)
    return op.emitOpError("activation = clip needs clip_min or clip_max");
  if (op.getClipMin() && op.getClipMax() &&
      op.getClipMin()->convertToFloat() > op.getClipMax()->convertToFloat())
    return op.emitOpError("clip_min is greater than clip_max");
  return success();
}

/// A bias broadcast along the last dim of `result`: shape [N] or [1...,N].
LogicalResult verifyRowBias(Operation *op, Value bias,
                            RankedTensorType result) {
  if (!bias)
    return success();
  RankedTensorType type = rankedType(bias);
  if (failed(broadcastShapes(result.getShape(), type.getShape())) ||
      type.getRank() > result.getRank())
    return op->emitOpError("bias of type ")
           << type << " does not broadcast to the result " << result;
  return success();
}

LogicalResult verifyResidual(Operation *op, Value residual,
                             RankedTensorType result) {
  if (!residual)
    return success();
  RankedTensorType type = rankedType(residual);
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(result.getShape(), type.getShape());
  if (failed(shape) || (int64_t)shape->size() != result.getRank())
    return op->emitOpError("residual of type ")
           << type << " does not broadcast to the result " << result;
  return success();
}

/// Scale and bias of a normalization over dims [axis, rank) broadcast to
/// those dims.
LogicalResult verifyNormParams(Operation *op, Value input, int64_t axis,
                               ArrayRef<Value> params) {
  RankedTensorType inputType = rankedType(input);
  FailureOr<int64_t> normalized = normalizeAxis(axis, inputType.getRank());
  if (failed(normalized))
    return op->emitOpError("axis ") << axis << " is out of range for a rank-"
                                    << inputType.getRank() << " input";
  ArrayRef<int64_t> normDims = inputType.getShape().drop_front(*normalized);
  for (Value param : params) {
    if (!param)
      continue;
    ArrayRef<int64_t> shape = rankedType(param).getShape();
    FailureOr<SmallVector<int64_t>> merged = broadcastShapes(normDims, shape);
    if (failed(merged) || merged->size() != normDims.size())
      return op->emitOpError("parameter of type ")
             << param.getType() << " does not broadcast to the normalized dims";
  }
  return success();
}

} // namespace

LogicalResult MatMulOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  RankedTensorType result = rankedType(getOutput());
  if (failed(verifyRowBias(*this, getBias(), result)))
    return failure();
  return verifyResidual(*this, getResidual(), result);
}

/// The attributes and input of the block-quantized products (matmul_nbits,
/// matmul_nbits_packed): K and N positive, 4 or 8 bits, a power-of-two
/// block of [16, maxBlock], an input ending in K, and a static input format
/// (one of `formats`) exactly when there is an input_scale.
static LogicalResult verifyNBitsProduct(Operation *op, Value input, int64_t K,
                                        int64_t N, int64_t bits, int64_t block,
                                        int64_t maxBlock,
                                        std::optional<StringRef> inputFormat,
                                        std::optional<APFloat> inputScale,
                                        ArrayRef<StringRef> formats) {
  if (K < 1 || N < 1)
    return op->emitOpError("K and N must be positive, got K=")
           << K << " N=" << N;
  if (bits != 4 && bits != 8)
    return op->emitOpError("bits must be 4 or 8, got ") << bits;
  if (block < 16 || block > maxBlock || (block & (block - 1)) != 0)
    return op->emitOpError("block_size must be a power of 2 in [16, ")
           << maxBlock << "], got " << block;
  if (dimsConflict(rankedType(input).getShape().back(), K))
    return op->emitOpError("input ")
           << input.getType() << " does not end in K=" << K;
  if (inputFormat) {
    if (!llvm::is_contained(formats, *inputFormat))
      return op->emitOpError("input_format must be ")
             << llvm::join(formats, " or ") << ", got '" << *inputFormat << "'";
    if (!inputScale || !inputScale->isFiniteNonZero() ||
        inputScale->isNegative())
      return op->emitOpError(
          "input_format needs a positive finite input_scale");
  } else if (inputScale) {
    return op->emitOpError("input_scale needs an input_format");
  }
  return success();
}

LogicalResult MatMulNBitsOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  const int64_t K = getK(), N = getN(), bits = getBits();
  const int64_t block = getBlockSize();
  if (failed(verifyNBitsProduct(*this, getInput(), K, N, bits, block,
                                int64_t(1) << 48, getInputFormat(),
                                getInputScale(), {"int8", "fp8_e4m3"})))
    return failure();
  if (getAccuracyLevel() < 0 || getAccuracyLevel() > 4)
    return emitOpError("accuracy_level must be in [0, 4], got ")
           << getAccuracyLevel();
  const int64_t blocks = (K + block - 1) / block;
  RankedTensorType weight = rankedType(getWeight());
  SmallVector<int64_t> expected = {N, blocks, block * bits / 8};
  bool weightMatches = weight.getRank() == 3;
  for (int d = 0; weightMatches && d < 3; ++d)
    weightMatches = !dimsConflict(weight.getDimSize(d), expected[d]);
  if (!weightMatches)
    return emitOpError("weight must be [N, blocks, block_size * bits / 8] = [")
           << N << ", " << blocks << ", " << expected[2] << "], got " << weight;
  auto countIs = [](Value v, int64_t count) {
    RankedTensorType type = rankedType(v);
    return !type.hasStaticShape() || type.getNumElements() == count;
  };
  if (!countIs(getScales(), N * blocks))
    return emitOpError("scales must hold N * blocks = ")
           << N * blocks << " values, got " << getScales().getType();
  if (getZeroPoints() &&
      !countIs(getZeroPoints(), N * ((blocks * bits + 7) / 8)))
    return emitOpError("zero_points must hold N rows of ")
           << (blocks * bits + 7) / 8 << " packed bytes, got "
           << getZeroPoints().getType();
  if (getBias() && !countIs(getBias(), N))
    return emitOpError("bias must hold N=")
           << N << " values, got " << getBias().getType();
  StringRef format = getWeightFormat();
  const bool codebook = format == "nf4" || format == "fp8_e4m3";
  if (!codebook && format != "int")
    return emitOpError("weight_format must be int, nf4 or fp8_e4m3, got '")
           << format << "'";
  if (codebook && bits != (format == "nf4" ? 4 : 8))
    return emitOpError("weight_format ")
           << format << " needs bits " << (format == "nf4" ? 4 : 8);
  if (codebook && getZeroPoints())
    return emitOpError("weight_format ") << format << " takes no zero_points";
  const bool i8Scales = rankedType(getScales()).getElementType().isInteger(8);
  if (i8Scales && !codebook)
    return emitOpError("i8 (double-quantized) scales need a codebook "
                       "weight_format");
  if (i8Scales != bool(getScaleSteps()))
    return emitOpError("scale_steps go with i8 scales, and only with them");
  if (getScaleSteps() &&
      !countIs(getScaleSteps(), 2 * ((N * blocks + 255) / 256)))
    return emitOpError("scale_steps must hold a step and an offset per 256 "
                       "scales, ")
           << 2 * ((N * blocks + 255) / 256) << " values, got "
           << getScaleSteps().getType();
  return verifyResidual(*this, getResidual(), rankedType(getOutput()));
}

LogicalResult MatMulHalfOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  RankedTensorType weight = rankedType(getWeight());
  const int64_t K = weight.getDimSize(1), N = weight.getDimSize(0);
  if (dimsConflict(rankedType(getInput()).getShape().back(), K))
    return emitOpError("input ")
           << getInput().getType() << " does not end in K=" << K
           << " of the [N, K] weight " << weight;
  auto countIs = [](Value v, int64_t count) {
    RankedTensorType type = rankedType(v);
    return ShapedType::isDynamic(count) || !type.hasStaticShape() ||
           type.getNumElements() == count;
  };
  if (getBias() && !countIs(getBias(), N))
    return emitOpError("bias must hold N=")
           << N << " values, got " << getBias().getType();
  return verifyResidual(*this, getResidual(), rankedType(getOutput()));
}

LogicalResult MatMulPackedOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  RankedTensorType weight = rankedType(getWeight());
  const int64_t N = getN();
  if (N <= 0 || weight.getRank() != 3 || !weight.hasStaticShape() ||
      weight.getDimSize(2) != kPackedPanelWidth ||
      weight.getDimSize(0) != (N + kPackedPanelWidth - 1) / kPackedPanelWidth)
    return emitOpError("weight must be [ceil(N / 32), K, 32] panels for N=")
           << N << ", got " << weight;
  const int64_t K = weight.getDimSize(1);
  if (dimsConflict(rankedType(getInput()).getShape().back(), K))
    return emitOpError("input ")
           << getInput().getType() << " does not end in K=" << K
           << " of the packed weight " << weight;
  if (getBias() && rankedType(getBias()).hasStaticShape() &&
      rankedType(getBias()).getNumElements() != N)
    return emitOpError("bias must hold N=")
           << N << " values, got " << getBias().getType();
  return verifyResidual(*this, getResidual(), rankedType(getOutput()));
}

LogicalResult MatMulNBitsPackedOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  const int64_t K = getK(), N = getN(), bits = getBits();
  const int64_t block = getBlockSize();
  if (failed(verifyNBitsProduct(*this, getInput(), K, N, bits, block, 256,
                                getInputFormat(), getInputScale(), {"int8"})))
    return failure();
  const int64_t panels = (N + kPackedPanelWidth - 1) / kPackedPanelWidth;
  const int64_t blocks = (K + block - 1) / block;
  const int64_t steps = blocks * block / (bits == 4 ? 8 : 4);
  auto shapeIs = [](Value v, ArrayRef<int64_t> dims) {
    RankedTensorType type = rankedType(v);
    return type.hasStaticShape() && type.getShape() == dims;
  };
  if (!shapeIs(getWeight(), {panels, steps, kPackedPanelWidth, 4}))
    return emitOpError("weight must be [panels, steps, 32, 4] = [")
           << panels << ", " << steps << ", 32, 4], got "
           << getWeight().getType();
  if (!shapeIs(getScales(), {panels, blocks, kPackedPanelWidth}))
    return emitOpError("scales must be [panels, blocks, 32] = [")
           << panels << ", " << blocks << ", 32], got "
           << getScales().getType();
  if (getZeroPoints() &&
      !shapeIs(getZeroPoints(), {panels, blocks, kPackedPanelWidth}))
    return emitOpError("zero_points must be [panels, blocks, 32] = [")
           << panels << ", " << blocks << ", 32], got "
           << getZeroPoints().getType();
  if (getBias() && rankedType(getBias()).hasStaticShape() &&
      rankedType(getBias()).getNumElements() != N)
    return emitOpError("bias must hold N=")
           << N << " values, got " << getBias().getType();
  return verifyResidual(*this, getResidual(), rankedType(getOutput()));
}

LogicalResult GemmOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  RankedTensorType result = rankedType(getOutput());
  if (getC() && failed(verifyResidual(*this, getC(), result)))
    return emitOpError("c of type ")
           << getC().getType() << " does not broadcast to " << result;
  return success();
}

LogicalResult ConvOp::verify() {
  if (failed(verifyEpilogue(*this)))
    return failure();
  RankedTensorType input = rankedType(getInput());
  RankedTensorType weight = rankedType(getWeight());
  int64_t group = getGroup();
  if (group <= 0)
    return emitOpError("group must be positive, got ") << group;
  int64_t channels = input.getDimSize(1);
  int64_t perGroup = weight.getDimSize(1);
  if (!ShapedType::isDynamic(channels) && !ShapedType::isDynamic(perGroup) &&
      channels != perGroup * group)
    return emitOpError("input has ")
           << channels << " channels but weight expects " << perGroup
           << " per group x " << group << " groups";
  int64_t filters = weight.getDimSize(0);
  if (!ShapedType::isDynamic(filters) && filters % group != 0)
    return emitOpError("weight's ")
           << filters << " output channels do not divide into " << group
           << " groups";
  if (Value bias = getBias()) {
    RankedTensorType biasType = rankedType(bias);
    if (biasType.getRank() != 1 ||
        dimsConflict(biasType.getDimSize(0), filters))
      return emitOpError("bias must be 1-D with ")
             << filters << " elements, got " << biasType;
  }
  return verifyResidual(*this, getResidual(), rankedType(getOutput()));
}

LogicalResult ConvTransposeOp::verify() {
  RankedTensorType input = rankedType(getInput());
  RankedTensorType weight = rankedType(getWeight());
  int64_t group = getGroup();
  if (group <= 0)
    return emitOpError("group must be positive, got ") << group;
  if (dimsConflict(input.getDimSize(1), weight.getDimSize(0)))
    return emitOpError("input has ")
           << input.getDimSize(1) << " channels but weight has "
           << weight.getDimSize(0);
  int64_t channels = input.getDimSize(1);
  if (!ShapedType::isDynamic(channels) && channels % group != 0)
    return emitOpError("input's ")
           << channels << " channels do not divide into " << group << " groups";
  if (Value bias = getBias()) {
    RankedTensorType biasType = rankedType(bias);
    int64_t filters = rankedType(getOutput()).getDimSize(1);
    if (biasType.getRank() != 1 ||
        dimsConflict(biasType.getDimSize(0), filters))
      return emitOpError("bias must be 1-D with ")
             << filters << " elements, got " << biasType;
  }
  return success();
}

static LogicalResult verifyScatterReduction(Operation *op, StringRef name) {
  if (name != "none" && name != "add" && name != "mul" && name != "max" &&
      name != "min")
    return op->emitOpError("unknown reduction '") << name << "'";
  return success();
}

LogicalResult ScatterNDOp::verify() {
  RankedTensorType data = rankedType(getData());
  RankedTensorType indices = rankedType(getIndices());
  RankedTensorType updates = rankedType(getUpdates());
  if (updates.getElementType() != data.getElementType())
    return emitOpError("updates and data differ in element type");
  int64_t q = indices.getRank();
  int64_t k = q > 0 ? indices.getDimSize(q - 1) : 0;
  if (q < 1 || (!ShapedType::isDynamic(k) &&
                (k < 1 || k > data.getRank() ||
                 updates.getRank() != q - 1 + data.getRank() - k)))
    return emitOpError("indices ") << indices << " and updates " << updates
                                   << " do not fit data " << data;
  return verifyScatterReduction(*this, getReduction());
}

LogicalResult ScatterElementsOp::verify() {
  RankedTensorType data = rankedType(getData());
  RankedTensorType indices = rankedType(getIndices());
  RankedTensorType updates = rankedType(getUpdates());
  if (updates.getElementType() != data.getElementType())
    return emitOpError("updates and data differ in element type");
  if (indices.getRank() != data.getRank() ||
      updates.getRank() != data.getRank() ||
      failed(normalizeAxis(getAxis(), data.getRank())))
    return emitOpError("needs data, indices and updates of equal rank and an "
                       "axis in range");
  for (int64_t d = 0; d < data.getRank(); ++d)
    if (dimsConflict(indices.getDimSize(d), updates.getDimSize(d)))
      return emitOpError("indices and updates differ in shape");
  return verifyScatterReduction(*this, getReduction());
}

template <typename PoolOp> static LogicalResult verifyPool(PoolOp op) {
  for (int64_t k : op.getKernelShape())
    if (k <= 0)
      return op.emitOpError("kernel_shape entries must be positive");
  return success();
}
LogicalResult MaxPoolOp::verify() { return verifyPool(*this); }
LogicalResult AvgPoolOp::verify() { return verifyPool(*this); }
LogicalResult MaxPoolIndicesOp::verify() {
  if (getStorageOrder() != 0 && getStorageOrder() != 1)
    return emitOpError("storage_order must be 0 or 1");
  return verifyPool(*this);
}

LogicalResult ClipOp::verify() {
  if (getMin() && getMax() &&
      getMin()->convertToDouble() > getMax()->convertToDouble())
    return emitOpError("min ")
           << getMin()->convertToDouble() << " is greater than max "
           << getMax()->convertToDouble();
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = rankedType(getInput()).getRank();
  if (failed(normalizeAxis(getAxis(), rank)))
    return emitOpError("axis ")
           << getAxis() << " is out of range for rank " << rank;
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNormParams(*this, getInput(), getAxis(),
                          {getScale(), getBias()});
}

LogicalResult RmsNormOp::verify() {
  return verifyNormParams(*this, getInput(), getAxis(), {getScale()});
}

/// Checks the [B, N, S, H] query against [B, K, T, H] keys and values
/// (T compared only when `sameLength`): shared by both attention ops.
static LogicalResult verifyAttentionOperands(Operation *op, Value query,
                                             Value key, Value value,
                                             bool sameLength) {
  RankedTensorType q = rankedType(query), k = rankedType(key),
                   v = rankedType(value);
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return op->emitOpError("query, key and value must be 4-D, got ")
           << q << ", " << k << ", " << v;
  if (failed(verifyCompatibleShape(k, v)))
    return op->emitOpError("key ") << k << " and value " << v << " differ";
  if (k.getElementType() != q.getElementType() ||
      v.getElementType() != q.getElementType())
    return op->emitOpError("key and value must have the query's element type");
  if (dimsConflict(q.getDimSize(0), k.getDimSize(0)) ||
      dimsConflict(q.getDimSize(3), k.getDimSize(3)) ||
      (sameLength && dimsConflict(q.getDimSize(2), k.getDimSize(2))))
    return op->emitOpError("query ")
           << q << " does not match key " << k << " in batch"
           << (sameLength ? ", length" : "") << " or head size";
  int64_t heads = q.getDimSize(1), kvHeads = k.getDimSize(1);
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(kvHeads) &&
      (kvHeads <= 0 || heads % kvHeads != 0))
    return op->emitOpError("has ")
           << heads << " query heads, not a multiple of " << kvHeads
           << " key/value heads";
  return success();
}

LogicalResult AttentionOp::verify() {
  return verifyAttentionOperands(*this, getQuery(), getKey(), getValue(),
                                 /*sameLength=*/false);
}

LogicalResult PagedAttentionOp::verify() {
  if (failed(verifyAttentionOperands(*this, getQuery(), getKey(), getValue(),
                                     /*sameLength=*/true)))
    return failure();
  RankedTensorType table = rankedType(getBlockTable()),
                   lengths = rankedType(getPastLengths());
  int64_t batch = rankedType(getQuery()).getDimSize(0);
  if (table.getRank() != 2 || lengths.getRank() != 1)
    return emitOpError("block_table must be [B, blocks] and past_lengths [B], "
                       "got ")
           << table << " and " << lengths;
  if (dimsConflict(table.getDimSize(0), batch) ||
      dimsConflict(lengths.getDimSize(0), batch))
    return emitOpError("block_table ")
           << table << " and past_lengths " << lengths
           << " must have the query's batch " << batch;
  if (getLayer() < 0)
    return emitOpError("layer must be non-negative, got ") << getLayer();
  return success();
}

LogicalResult DeformConvOp::verify() {
  RankedTensorType input = rankedType(getInput()),
                   weight = rankedType(getWeight()),
                   offset = rankedType(getOffset());
  int64_t group = getGroup(), offsetGroup = getOffsetGroup();
  if (getStrides().size() != 2 || getDilations().size() != 2 ||
      getPads().size() != 4)
    return emitOpError("needs 2 strides, 2 dilations and 4 pads");
  int64_t channels = input.getDimSize(1), kernel = 0;
  if (!weight.isDynamicDim(2) && !weight.isDynamicDim(3))
    kernel = weight.getDimSize(2) * weight.getDimSize(3);
  if (group < 1 || offsetGroup < 1 ||
      dimsConflict(channels, weight.getDimSize(1) * group) ||
      (!ShapedType::isDynamic(channels) && channels % offsetGroup != 0) ||
      (!weight.isDynamicDim(0) && weight.getDimSize(0) % group != 0))
    return emitOpError("input ")
           << input << ", weight " << weight << ", group " << group
           << " and offset_group " << offsetGroup << " do not agree";
  if (kernel && dimsConflict(offset.getDimSize(1), offsetGroup * kernel * 2))
    return emitOpError("offset must have offset_group * kH * kW * 2 = ")
           << offsetGroup * kernel * 2 << " channels, got " << offset;
  if (getMask()) {
    RankedTensorType mask = rankedType(getMask());
    if (mask.getRank() != 4 ||
        (kernel && dimsConflict(mask.getDimSize(1), offsetGroup * kernel)) ||
        dimsConflict(mask.getDimSize(2), offset.getDimSize(2)) ||
        dimsConflict(mask.getDimSize(3), offset.getDimSize(3)))
      return emitOpError("mask must be [N, offset_group * kH * kW, oH, oW], "
                         "got ")
             << mask;
  }
  return success();
}

LogicalResult TreeEnsembleOp::verify() {
  size_t nodes = getNodesFeatureids().size();
  int64_t leaves = rankedType(getLeafWeights()).getNumElements();
  for (ArrayRef<int64_t> list :
       {getNodesModes(), getNodesTruenodeids(), getNodesFalsenodeids(),
        getNodesTrueleafs(), getNodesFalseleafs()})
    if (list.size() != nodes)
      return emitOpError("every nodes_* list needs one entry per node (")
             << nodes << ")";
  if (rankedType(getSplits()).getNumElements() != int64_t(nodes))
    return emitOpError("splits needs one value per node (") << nodes << ")";
  if (!getNodesMissingValueTracksTrue().empty() &&
      getNodesMissingValueTracksTrue().size() != nodes)
    return emitOpError("nodes_missing_value_tracks_true needs one entry per "
                       "node, or none");
  if (int64_t(getLeafTargetids().size()) != leaves)
    return emitOpError("leaf_targetids needs one entry per leaf weight (")
           << leaves << ")";
  if (getNTargets() < 1 || getAggregateFunction() < 0 ||
      getAggregateFunction() > 3)
    return emitOpError("needs n_targets >= 1 and aggregate_function 0-3");
  for (int64_t mode : getNodesModes())
    if (mode < 0 || mode > 6)
      return emitOpError("node modes are 0 to 6, got ") << mode;
  for (int64_t target : getLeafTargetids())
    if (target < 0 || target >= getNTargets())
      return emitOpError("leaf target ")
             << target << " is outside n_targets " << getNTargets();
  for (size_t i = 0; i < nodes; ++i) {
    int64_t trueLimit = getNodesTrueleafs()[i] ? leaves : int64_t(nodes);
    int64_t falseLimit = getNodesFalseleafs()[i] ? leaves : int64_t(nodes);
    if (getNodesTruenodeids()[i] < 0 || getNodesTruenodeids()[i] >= trueLimit ||
        getNodesFalsenodeids()[i] < 0 ||
        getNodesFalsenodeids()[i] >= falseLimit)
      return emitOpError("node ") << i << "'s children are out of range";
  }
  for (int64_t root : getTreeRoots())
    if (root < 0 || root >= int64_t(nodes))
      return emitOpError("tree root ") << root << " is not a node";
  return success();
}

LogicalResult TfIdfVectorizerOp::verify() {
  StringRef mode = getMode();
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF")
    return emitOpError("mode must be TF, IDF or TFIDF, got '") << mode << "'";
  int64_t minLength = getMinGramLength(), maxLength = getMaxGramLength();
  if (minLength < 1 || maxLength < minLength || getMaxSkipCount() < 0)
    return emitOpError("needs 1 <= min_gram_length <= max_gram_length and "
                       "max_skip_count >= 0, got ")
           << minLength << ", " << maxLength << ", " << getMaxSkipCount();
  ArrayRef<int64_t> counts = getNgramCounts();
  int64_t poolSize = int64_t(getPool().size()), ngrams = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t end = i + 1 < counts.size() ? counts[i + 1] : poolSize;
    if (counts[i] < 0 || end < counts[i] || end > poolSize)
      return emitOpError("ngram_counts must rise within the pool of ")
             << poolSize;
    ngrams += (end - counts[i]) / int64_t(i + 1);
  }
  if (int64_t(getNgramIndexes().size()) != ngrams)
    return emitOpError("ngram_indexes has ")
           << getNgramIndexes().size() << " entries for " << ngrams
           << " pool n-grams";
  for (int64_t index : getNgramIndexes())
    if (index < 0)
      return emitOpError("ngram_indexes must be non-negative");
  int64_t columns = rankedType(getOutput()).getShape().back();
  if (getWeights() && rankedType(getWeights()).getNumElements() < columns)
    return emitOpError("weights need one value per output column (")
           << columns << ")";
  return success();
}

LogicalResult CastOp::verify() {
  StringRef mode = getRoundMode();
  if (mode != "up" && mode != "down" && mode != "nearest")
    return emitOpError("round_mode must be up, down or nearest, got '")
           << mode << "'";
  return success();
}

LogicalResult LinearAttentionOp::verify() {
  RankedTensorType query = rankedType(getQuery()), key = rankedType(getKey()),
                   value = rankedType(getValue());
  RankedTensorType state = rankedType(getPresentState());
  int64_t batch = query.getDimSize(0), length = query.getDimSize(1);
  int64_t kvHeads = getKvNumHeads(), dk = state.getDimSize(2);
  auto sameRows = [&](RankedTensorType t) {
    return t.getRank() == 3 && !dimsConflict(t.getDimSize(0), batch) &&
           !dimsConflict(t.getDimSize(1), length);
  };
  if (!sameRows(key) || dimsConflict(key.getDimSize(2), kvHeads * dk))
    return emitOpError("key must be [B, T, kv_num_heads * dk] = ")
           << batch << "x" << length << "x" << kvHeads * dk << ", got " << key;
  if (!sameRows(value))
    return emitOpError("value must be [B, T, kv_num_heads * dv], got ")
           << value;
  if (getPastState() && rankedType(getPastState()) != state)
    return emitOpError("past_state must be ")
           << state << ", got " << rankedType(getPastState());
  if (getGated() != bool(getDecay()))
    return emitOpError(getGated() ? "gated needs a decay operand"
                                  : "decay is only read when gated");
  if (getDelta() != bool(getBeta()))
    return emitOpError(getDelta() ? "delta needs a beta operand"
                                  : "beta is only read with delta");
  if (getDecay()) {
    RankedTensorType decay = rankedType(getDecay());
    int64_t last = decay.getDimSize(2);
    if (!sameRows(decay) || ShapedType::isDynamic(last) ||
        (last != kvHeads && last != kvHeads * dk))
      return emitOpError("decay must be [B, T, kv_num_heads] or "
                         "[B, T, kv_num_heads * dk], got ")
             << decay;
  }
  if (getBeta()) {
    RankedTensorType beta = rankedType(getBeta());
    int64_t last = beta.getDimSize(2);
    if (!sameRows(beta) || ShapedType::isDynamic(last) ||
        (last != kvHeads && last != 1))
      return emitOpError("beta must be [B, T, kv_num_heads] or [B, T, 1], "
                         "got ")
             << beta;
  }
  return success();
}

LogicalResult RotaryEmbeddingOp::verify() {
  RankedTensorType input = rankedType(getInput());
  RankedTensorType cos = rankedType(getCos());
  if (input.getRank() != 4)
    return emitOpError("input must be 4-D, got ") << input;
  if (cos.getRank() != 3)
    return emitOpError("cos and sin must be 3-D [1 or B, S, R/2], got ") << cos;
  if (failed(verifyCompatibleShape(cos, getSin().getType())))
    return emitOpError("cos ")
           << cos << " and sin " << getSin().getType() << " differ";
  if (cos.getElementType() != input.getElementType() ||
      getSin().getType().getElementType() != input.getElementType())
    return emitOpError("cos and sin must have the input's element type");
  int64_t batch = input.getDimSize(0), head = input.getDimSize(3);
  int64_t seq = input.getDimSize(getHeadsFirst() ? 2 : 1);
  int64_t half = cos.getDimSize(2);
  if (!ShapedType::isDynamic(half) &&
      (half <= 0 || (!ShapedType::isDynamic(head) && 2 * half > head)))
    return emitOpError("rotates 2 * ")
           << half << " elements of each head, which has " << head;
  if (dimsConflict(cos.getDimSize(1), seq))
    return emitOpError("cos has ")
           << cos.getDimSize(1) << " positions for a sequence of " << seq;
  int64_t cosBatch = cos.getDimSize(0);
  if (cosBatch != 1 && dimsConflict(cosBatch, batch))
    return emitOpError("cos has batch ")
           << cosBatch << ", expected 1 or " << batch;
  return success();
}

LogicalResult TransposeOp::verify() {
  llvm::SmallBitVector seen(getPerm().size());
  for (int64_t p : getPerm()) {
    if (p < 0 || p >= (int64_t)seen.size() || seen.test(p))
      return emitOpError("perm is not a permutation of 0..") << seen.size() - 1;
    seen.set(p);
  }
  return success();
}

LogicalResult SplitOp::verify() {
  RankedTensorType input = rankedType(getInput());
  int64_t axis = *normalizeAxis(getAxis(), input.getRank());
  int64_t total = 0;
  for (int64_t size : getSizes()) {
    if (size < 0)
      return emitOpError("split sizes must be non-negative");
    total += size;
  }
  if (getSizes().size() != getOutputs().size())
    return emitOpError("has ") << getSizes().size() << " sizes but "
                               << getOutputs().size() << " results";
  if (dimsConflict(input.getDimSize(axis), total))
    return emitOpError("split sizes add up to ")
           << total << " but dim " << axis << " has size "
           << input.getDimSize(axis);
  return success();
}

LogicalResult RangeOp::verify() {
  for (Value v : {getStart(), getLimit(), getDelta()})
    if (rankedType(v).getNumElements() != 1)
      return emitOpError("operands must be scalars, got ") << v.getType();
  if (getStart().getType() != getLimit().getType() ||
      getStart().getType() != getDelta().getType())
    return emitOpError("operands must have the same type");
  return success();
}

LogicalResult LrnOp::verify() {
  if (getSize() <= 0)
    return emitOpError("size must be positive, got ") << getSize();
  if (rankedType(getInput()).getRank() < 2)
    return emitOpError("input must have a channel dim (rank >= 2)");
  return success();
}

LogicalResult PadOp::verify() {
  StringRef mode = getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" &&
      mode != "wrap")
    return emitOpError("mode must be constant, reflect, edge or wrap, got '")
           << mode << "'";
  return success();
}

LogicalResult BitcastOp::verify() {
  // Storage sizes: an i1 element is a byte.
  auto bytes = [](Type type) {
    unsigned bits = type.getIntOrFloatBitWidth();
    return bits == 1 ? 1u : bits / 8;
  };
  Type from = rankedType(getInput()).getElementType();
  Type to = rankedType(getOutput()).getElementType();
  if (!from.isIntOrFloat() || !to.isIntOrFloat() || bytes(from) != bytes(to) ||
      (from.getIntOrFloatBitWidth() != 1 &&
       from.getIntOrFloatBitWidth() % 8 != 0) ||
      (to.getIntOrFloatBitWidth() != 1 && to.getIntOrFloatBitWidth() % 8 != 0))
    return emitOpError("needs element types of the same byte size, got ")
           << from << " and " << to;
  if (getTo() != to)
    return emitOpError("'to' is ") << getTo() << " but the result holds " << to;
  return success();
}

LogicalResult DequantizeOp::verify() {
  RankedTensorType input = rankedType(getInput());
  RankedTensorType scale = rankedType(getScale());
  if (Value zeroPoint = getZeroPoint()) {
    RankedTensorType zp = rankedType(zeroPoint);
    if (zp.getElementType() != input.getElementType())
      return emitOpError("zero point ")
             << zp << " does not have the input's element type";
    if (zp.getShape() != scale.getShape())
      return emitOpError("zero point ")
             << zp << " does not have the scale's shape " << scale;
  }
  const int64_t block = getBlockSize(), axis = getAxis();
  if (block < 0)
    return emitOpError("block_size must be >= 0, got ") << block;
  // One element: per tensor, whatever the axis.
  if (scale.hasStaticShape() && scale.getNumElements() == 1 && block == 0)
    return success();
  if (axis < 0 || axis >= input.getRank())
    return emitOpError("axis ") << axis << " is out of range for a rank-"
                                << input.getRank() << " input";
  const int64_t dim = input.getDimSize(axis);
  if (block == 0) {
    if (scale.getRank() != 1 || dimsConflict(scale.getDimSize(0), dim))
      return emitOpError("a per-axis scale must be 1-D with ")
             << dim << " values (dim " << axis << " of the input), got "
             << scale;
    return success();
  }
  bool fits = scale.getRank() == input.getRank();
  for (int64_t d = 0; fits && d < input.getRank(); ++d) {
    int64_t want = input.getDimSize(d);
    if (d == axis && !ShapedType::isDynamic(want))
      want = (want + block - 1) / block;
    fits = !dimsConflict(scale.getDimSize(d), want);
  }
  if (!fits)
    return emitOpError("a blocked scale must have the input's shape with dim ")
           << axis << " counting blocks of " << block << ", got " << scale
           << " for " << input;
  return success();
}

#define GET_OP_CLASSES
#include "dialects/azg/AzgOps.cpp.inc"
