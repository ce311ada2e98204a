//===- AzgShapeInference.cpp - result types of azg ops --------------------===//
//
// Result-type inference for the azg ops whose rule does not fit in ODS. The
// rules are ONNX's: a dim that cannot be known before shape resolution stays
// dynamic, and a dim that contradicts another is an error reported at the
// op's location.
//
//===----------------------------------------------------------------------===//

#include "dialects/azg/AzgDialect.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace azc::azg;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

RankedTensorType rankedType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

LogicalResult failAt(std::optional<Location> loc, const Twine &message) {
  if (loc)
    emitError(*loc) << message;
  return failure();
}

/// The values of a constant integer tensor, if `value` is one.
std::optional<SmallVector<int64_t>> getConstantInts(Value value) {
  if (!value)
    return std::nullopt;
  DenseIntElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> result;
  for (const APInt &v : attr.getValues<APInt>())
    result.push_back(v.getSExtValue());
  return result;
}

RankedTensorType withShape(RankedTensorType like, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, like.getElementType());
}

/// ONNX's output size of a sliding window along one dim.
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                         int64_t padBegin, int64_t padEnd, int64_t dilation,
                         bool ceilMode) {
  if (ShapedType::isDynamic(in) || ShapedType::isDynamic(kernel))
    return kDyn;
  int64_t span = in + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  int64_t out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // In ceil mode the last window must start inside the input or its begin
  // padding.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

LogicalResult checkWindowAttrs(std::optional<Location> loc, int64_t spatial,
                               ArrayRef<int64_t> strides,
                               ArrayRef<int64_t> pads,
                               ArrayRef<int64_t> dilations) {
  if ((int64_t)strides.size() != spatial)
    return failAt(loc, "expected " + Twine(spatial) + " strides, got " +
                           Twine(strides.size()));
  if ((int64_t)pads.size() != 2 * spatial)
    return failAt(loc, "expected " + Twine(2 * spatial) +
                           " pads (begins then ends), got " +
                           Twine(pads.size()));
  if ((int64_t)dilations.size() != spatial)
    return failAt(loc, "expected " + Twine(spatial) + " dilations, got " +
                           Twine(dilations.size()));
  for (int64_t s : strides)
    if (s <= 0)
      return failAt(loc, "strides must be positive");
  for (int64_t d : dilations)
    if (d <= 0)
      return failAt(loc, "dilations must be positive");
  for (int64_t p : pads)
    if (p < 0)
      return failAt(loc, "pads must be non-negative");
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

bool azc::azg::areCompatibleResultTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [l, r] : llvm::zip(lhs, rhs)) {
    auto lt = dyn_cast<RankedTensorType>(l);
    auto rt = dyn_cast<RankedTensorType>(r);
    if (!lt || !rt) {
      if (l != r)
        return false;
      continue;
    }
    if (lt.getElementType() != rt.getElementType() ||
        lt.getRank() != rt.getRank())
      return false;
    for (auto [a, b] : llvm::zip(lt.getShape(), rt.getShape()))
      if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
        return false;
  }
  return true;
}

FailureOr<SmallVector<int64_t>>
azc::azg::broadcastShapes(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l == 1) {
      result[i] = r;
    } else if (r == 1) {
      result[i] = l;
    } else if (ShapedType::isDynamic(l)) {
      // A dynamic dim is either 1 or equal to the other one.
      result[i] = r;
    } else if (ShapedType::isDynamic(r) || l == r) {
      result[i] = l;
    } else {
      return failure();
    }
  }
  return result;
}

FailureOr<int64_t> azc::azg::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return failure();
  return axis < 0 ? axis + rank : axis;
}

LogicalResult azc::azg::inferBroadcastResult(std::optional<Location> loc,
                                             ArrayRef<Value> operands,
                                             Type elementType,
                                             SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> shape;
  for (Value operand : operands) {
    ArrayRef<int64_t> next = rankedType(operand).getShape();
    FailureOr<SmallVector<int64_t>> merged = broadcastShapes(shape, next);
    if (failed(merged)) {
      std::string message;
      llvm::raw_string_ostream os(message);
      os << "operand shapes cannot be broadcast together:";
      for (Value v : operands)
        os << " " << v.getType();
      return failAt(loc, os.str());
    }
    shape = *merged;
  }
  if (!elementType)
    elementType = rankedType(operands.front()).getElementType();
  results.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

LogicalResult azc::azg::inferReduction(std::optional<Location> loc, Value input,
                                       ArrayRef<int64_t> axes, bool keepdims,
                                       SmallVectorImpl<Type> &results) {
  RankedTensorType type = rankedType(input);
  int64_t rank = type.getRank();
  llvm::SmallBitVector reduced(rank, axes.empty());
  for (int64_t axis : axes) {
    FailureOr<int64_t> normalized = normalizeAxis(axis, rank);
    if (failed(normalized))
      return failAt(loc, "reduction axis " + Twine(axis) +
                             " is out of range for rank " + Twine(rank));
    reduced.set(*normalized);
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced.test(i))
      shape.push_back(type.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  results.push_back(withShape(type, shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

/// The result of ONNX MatMul's batching and 1-D promotion, with
/// `element` as its element type.
static LogicalResult inferMatMulResult(std::optional<Location> loc,
                                       RankedTensorType lhs,
                                       RankedTensorType rhs, Type element,
                                       SmallVectorImpl<Type> &results) {
  if (lhs.getRank() == 0 || rhs.getRank() == 0)
    return failAt(loc, "matmul operands must have rank >= 1");
  SmallVector<int64_t> l(lhs.getShape()), r(rhs.getShape());
  bool promotedLhs = l.size() == 1, promotedRhs = r.size() == 1;
  if (promotedLhs)
    l.insert(l.begin(), 1);
  if (promotedRhs)
    r.push_back(1);
  int64_t k1 = l.back(), k2 = r[r.size() - 2];
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return failAt(loc, "matmul contraction dims differ: " + Twine(k1) + " vs " +
                           Twine(k2));
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes(ArrayRef(l).drop_back(2), ArrayRef(r).drop_back(2));
  if (failed(batch))
    return failAt(loc, "matmul batch dims cannot be broadcast together");
  SmallVector<int64_t> shape = *batch;
  if (!promotedLhs)
    shape.push_back(l[l.size() - 2]);
  if (!promotedRhs)
    shape.push_back(r.back());
  results.push_back(RankedTensorType::get(shape, element));
  return success();
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType lhs = rankedType(adaptor.getLhs());
  return inferMatMulResult(loc, lhs, rankedType(adaptor.getRhs()),
                           lhs.getElementType(), results);
}

LogicalResult
MatMulIntegerOp::inferReturnTypes(MLIRContext *context,
                                  std::optional<Location> loc, Adaptor adaptor,
                                  SmallVectorImpl<Type> &results) {
  return inferMatMulResult(loc, rankedType(adaptor.getLhs()),
                           rankedType(adaptor.getRhs()),
                           IntegerType::get(context, 32), results);
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  RankedTensorType a = rankedType(adaptor.getA());
  RankedTensorType b = rankedType(adaptor.getB());
  if (a.getRank() != 2 || b.getRank() != 2)
    return failAt(loc, "gemm operands must be 2-D");
  bool ta = adaptor.getTransA(), tb = adaptor.getTransB();
  int64_t m = a.getDimSize(ta ? 1 : 0), ka = a.getDimSize(ta ? 0 : 1);
  int64_t kb = b.getDimSize(tb ? 1 : 0), n = b.getDimSize(tb ? 0 : 1);
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb) && ka != kb)
    return failAt(loc, "gemm contraction dims differ: " + Twine(ka) + " vs " +
                           Twine(kb));
  results.push_back(withShape(a, {m, n}));
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  RankedTensorType weight = rankedType(adaptor.getWeight());
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || weight.getRank() != input.getRank())
    return failAt(loc, "conv needs input and weight of equal rank >= 3");
  if (failed(checkWindowAttrs(loc, spatial, adaptor.getStrides(),
                              adaptor.getPads(), adaptor.getDilations())))
    return failure();
  SmallVector<int64_t> shape = {input.getDimSize(0), weight.getDimSize(0)};
  for (int64_t i = 0; i < spatial; ++i)
    shape.push_back(windowOutputSize(
        input.getDimSize(i + 2), weight.getDimSize(i + 2),
        adaptor.getStrides()[i], adaptor.getPads()[i],
        adaptor.getPads()[i + spatial], adaptor.getDilations()[i], false));
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult ConvIntegerOp::inferReturnTypes(MLIRContext *context,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  RankedTensorType weight = rankedType(adaptor.getWeight());
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || weight.getRank() != input.getRank())
    return failAt(loc, "conv_integer needs input and weight of equal rank "
                       ">= 3");
  if (failed(checkWindowAttrs(loc, spatial, adaptor.getStrides(),
                              adaptor.getPads(), adaptor.getDilations())))
    return failure();
  SmallVector<int64_t> shape = {input.getDimSize(0), weight.getDimSize(0)};
  for (int64_t i = 0; i < spatial; ++i)
    shape.push_back(windowOutputSize(
        input.getDimSize(i + 2), weight.getDimSize(i + 2),
        adaptor.getStrides()[i], adaptor.getPads()[i],
        adaptor.getPads()[i + spatial], adaptor.getDilations()[i], false));
  results.push_back(
      RankedTensorType::get(shape, IntegerType::get(context, 32)));
  return success();
}

LogicalResult
ConvTransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  RankedTensorType weight = rankedType(adaptor.getWeight());
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || weight.getRank() != input.getRank())
    return failAt(loc, "conv_transpose needs input and weight of equal rank "
                       ">= 3");
  ArrayRef<int64_t> strides = adaptor.getStrides(), pads = adaptor.getPads(),
                    dilations = adaptor.getDilations(),
                    outputPadding = adaptor.getOutputPadding();
  if ((int64_t)strides.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial ||
      (int64_t)dilations.size() != spatial ||
      (int64_t)outputPadding.size() != spatial)
    return failAt(loc, "conv_transpose needs one stride, dilation and output "
                       "padding and two pads per spatial dim");
  for (int64_t i = 0; i < spatial; ++i)
    if (strides[i] <= 0 || dilations[i] <= 0 || outputPadding[i] < 0)
      return failAt(loc, "conv_transpose strides and dilations must be "
                         "positive and output padding non-negative");
  int64_t group = adaptor.getGroup();
  int64_t filters = weight.getDimSize(1);
  SmallVector<int64_t> shape = {
      input.getDimSize(0),
      ShapedType::isDynamic(filters) ? kDyn : filters * group};
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = input.getDimSize(i + 2), k = weight.getDimSize(i + 2);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(k)) {
      shape.push_back(kDyn);
      continue;
    }
    int64_t out = strides[i] * (in - 1) + outputPadding[i] +
                  dilations[i] * (k - 1) + 1 - pads[i] - pads[i + spatial];
    if (out < 0)
      return failAt(loc, "conv_transpose pads exceed the output size");
    shape.push_back(out);
  }
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &results) {
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  int64_t batch = adaptor.getBatchDims(), q = indices.getRank();
  int64_t k = q > 0 ? indices.getDimSize(q - 1) : kDyn;
  if (q < 1 || ShapedType::isDynamic(k) || batch < 0 || batch >= q || k < 1 ||
      batch + k > data.getRank())
    return failAt(loc, "gather_nd needs indices whose static last dim k "
                       "satisfies batch_dims + k <= rank(data)");
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  llvm::append_range(shape, data.getShape().drop_front(batch + k));
  results.push_back(withShape(data, shape));
  return success();
}

template <typename Adaptor>
static LogicalResult inferPool(std::optional<Location> loc, Adaptor adaptor,
                               ArrayRef<int64_t> dilations,
                               SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  int64_t spatial = input.getRank() - 2;
  ArrayRef<int64_t> kernel = adaptor.getKernelShape();
  if (spatial < 1 || (int64_t)kernel.size() != spatial)
    return failAt(loc, "pooling needs an input of rank >= 3 and one kernel "
                       "size per spatial dim");
  if (failed(checkWindowAttrs(loc, spatial, adaptor.getStrides(),
                              adaptor.getPads(), dilations)))
    return failure();
  SmallVector<int64_t> shape = {input.getDimSize(0), input.getDimSize(1)};
  for (int64_t i = 0; i < spatial; ++i)
    shape.push_back(windowOutputSize(
        input.getDimSize(i + 2), kernel[i], adaptor.getStrides()[i],
        adaptor.getPads()[i], adaptor.getPads()[i + spatial], dilations[i],
        adaptor.getCeilMode()));
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  return inferPool(loc, adaptor, adaptor.getDilations(), results);
}

LogicalResult
MaxPoolIndicesOp::inferReturnTypes(MLIRContext *context,
                                   std::optional<Location> loc, Adaptor adaptor,
                                   SmallVectorImpl<Type> &results) {
  SmallVector<Type> pooled;
  if (failed(inferPool(loc, adaptor, adaptor.getDilations(), pooled)))
    return failure();
  results.push_back(cast<RankedTensorType>(pooled.front())
                        .clone(IntegerType::get(context, 64)));
  return success();
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> ones(adaptor.getKernelShape().size(), 1);
  ArrayRef<int64_t> dilations = adaptor.getDilations();
  return inferPool(loc, adaptor, dilations.empty() ? ones : dilations, results);
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  RankedTensorType shapeType = rankedType(adaptor.getShape());
  if (shapeType.getRank() != 1 || shapeType.isDynamicDim(0))
    return failAt(loc, "reshape's shape must be a 1-D tensor of static length");
  std::optional<SmallVector<int64_t>> target =
      getConstantInts(adaptor.getShape());
  if (!target) {
    results.push_back(
        withShape(input, SmallVector<int64_t>(shapeType.getDimSize(0), kDyn)));
    return success();
  }
  SmallVector<int64_t> shape;
  int64_t inferredIndex = -1, known = 1;
  bool knownIsExact = true;
  for (auto [i, dim] : llvm::enumerate(*target)) {
    if (dim == 0 && !adaptor.getAllowZero()) {
      if ((int64_t)i >= input.getRank())
        return failAt(loc, "reshape dim " + Twine(i) +
                               " copies an input dim that does not exist");
      dim = input.getDimSize(i);
    } else if (dim == -1) {
      if (inferredIndex >= 0)
        return failAt(loc, "reshape's shape has more than one -1");
      inferredIndex = i;
    } else if (dim < -1) {
      return failAt(loc,
                    "reshape dim " + Twine(i) + " is negative: " + Twine(dim));
    }
    if (dim != -1) {
      if (ShapedType::isDynamic(dim))
        knownIsExact = false;
      else
        known *= dim;
    }
    shape.push_back(dim);
  }
  if (inferredIndex >= 0) {
    int64_t &dim = shape[inferredIndex];
    dim = kDyn;
    if (input.hasStaticShape() && knownIsExact && known != 0) {
      if (input.getNumElements() % known != 0)
        return failAt(loc, "cannot reshape " + Twine(input.getNumElements()) +
                               " elements into a shape with a multiple of " +
                               Twine(known));
      dim = input.getNumElements() / known;
    }
  } else if (input.hasStaticShape() && knownIsExact &&
             input.getNumElements() != known) {
    return failAt(loc, "cannot reshape " + Twine(input.getNumElements()) +
                           " elements into " + Twine(known));
  }
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  RankedTensorType start = rankedType(adaptor.getStart());
  int64_t size = kDyn;
  DenseElementsAttr s, l, d;
  if (matchPattern(adaptor.getStart(), m_Constant(&s)) &&
      matchPattern(adaptor.getLimit(), m_Constant(&l)) &&
      matchPattern(adaptor.getDelta(), m_Constant(&d)) &&
      s.getNumElements() == 1 && l.getNumElements() == 1 &&
      d.getNumElements() == 1) {
    auto scalar = [](DenseElementsAttr attr) {
      if (isa<IntegerType>(attr.getElementType()))
        return (double)attr.getSplatValue<APInt>().getSExtValue();
      return attr.getSplatValue<APFloat>().convertToDouble();
    };
    double delta = scalar(d);
    if (delta == 0)
      return failAt(loc, "range delta must not be 0");
    size = std::max<int64_t>(
        (int64_t)std::ceil((scalar(l) - scalar(s)) / delta), 0);
  }
  results.push_back(withShape(start, {size}));
  return success();
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  RankedTensorType shapeType = rankedType(adaptor.getShape());
  if (shapeType.getRank() != 1 || shapeType.isDynamicDim(0))
    return failAt(loc, "expand's shape must be a 1-D tensor of static length");
  SmallVector<int64_t> target =
      getConstantInts(adaptor.getShape())
          .value_or(SmallVector<int64_t>(shapeType.getDimSize(0), kDyn));
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(input.getShape(), target);
  if (failed(shape))
    return failAt(loc, "cannot expand the input to the given shape");
  results.push_back(withShape(input, *shape));
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if ((int64_t)perm.size() != input.getRank())
    return failAt(loc, "transpose perm has " + Twine(perm.size()) +
                           " entries for a rank-" + Twine(input.getRank()) +
                           " input");
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank())
      return failAt(loc, "transpose perm entry " + Twine(p) + " out of range");
    shape.push_back(input.getDimSize(p));
  }
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  if (adaptor.getInputs().empty())
    return failAt(loc, "concat needs at least one input");
  RankedTensorType first = rankedType(adaptor.getInputs().front());
  FailureOr<int64_t> axis = normalizeAxis(adaptor.getAxis(), first.getRank());
  if (failed(axis))
    return failAt(loc, "concat axis out of range");
  SmallVector<int64_t> shape(first.getShape());
  shape[*axis] = 0;
  for (Value v : adaptor.getInputs()) {
    RankedTensorType t = rankedType(v);
    if (t.getRank() != first.getRank())
      return failAt(loc, "concat inputs differ in rank");
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t d = t.getDimSize(i);
      if (i == *axis) {
        shape[i] = ShapedType::isDynamic(d) || ShapedType::isDynamic(shape[i])
                       ? kDyn
                       : shape[i] + d;
      } else if (ShapedType::isDynamic(shape[i])) {
        shape[i] = d;
      } else if (!ShapedType::isDynamic(d) && d != shape[i]) {
        return failAt(loc, "concat inputs differ in dim " + Twine(i) + ": " +
                               Twine(shape[i]) + " vs " + Twine(d));
      }
    }
  }
  results.push_back(withShape(first, shape));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  int64_t rank = input.getRank();
  std::optional<SmallVector<int64_t>> axes = getConstantInts(adaptor.getAxes());
  if (!axes) {
    results.push_back(withShape(input, SmallVector<int64_t>(rank, kDyn)));
    return success();
  }
  std::optional<SmallVector<int64_t>> starts =
      getConstantInts(adaptor.getStarts());
  std::optional<SmallVector<int64_t>> ends = getConstantInts(adaptor.getEnds());
  std::optional<SmallVector<int64_t>> steps =
      getConstantInts(adaptor.getSteps());
  SmallVector<int64_t> shape(input.getShape());
  for (auto [i, rawAxis] : llvm::enumerate(*axes)) {
    FailureOr<int64_t> axis = normalizeAxis(rawAxis, rank);
    if (failed(axis))
      return failAt(loc, "slice axis " + Twine(rawAxis) + " out of range");
    int64_t dim = input.getDimSize(*axis);
    if (!starts || !ends || !steps || ShapedType::isDynamic(dim) ||
        i >= starts->size() || i >= ends->size() || i >= steps->size()) {
      shape[*axis] = kDyn;
      continue;
    }
    int64_t start = (*starts)[i], end = (*ends)[i], step = (*steps)[i];
    if (step == 0)
      return failAt(loc, "slice step must not be 0");
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t size;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      size = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      size = start > end ? (start - end - step - 1) / -step : 0;
    }
    shape[*axis] = size;
  }
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  FailureOr<int64_t> axis = normalizeAxis(adaptor.getAxis(), data.getRank());
  if (failed(axis))
    return failAt(loc, "gather axis out of range");
  SmallVector<int64_t> shape(data.getShape().take_front(*axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(*axis + 1));
  results.push_back(withShape(data, shape));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  FailureOr<int64_t> axis = normalizeAxis(adaptor.getAxis(), input.getRank());
  if (failed(axis))
    return failAt(loc, "split axis out of range");
  for (int64_t size : adaptor.getSizes()) {
    SmallVector<int64_t> shape(input.getShape());
    shape[*axis] = size;
    results.push_back(withShape(input, shape));
  }
  return success();
}

LogicalResult SqueezeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  llvm::SmallBitVector removed(input.getRank());
  for (int64_t rawAxis : adaptor.getAxes()) {
    FailureOr<int64_t> axis = normalizeAxis(rawAxis, input.getRank());
    if (failed(axis))
      return failAt(loc, "squeeze axis " + Twine(rawAxis) + " out of range");
    int64_t dim = input.getDimSize(*axis);
    if (!ShapedType::isDynamic(dim) && dim != 1)
      return failAt(loc, "squeeze axis " + Twine(rawAxis) + " has size " +
                             Twine(dim) + ", not 1");
    removed.set(*axis);
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < input.getRank(); ++i)
    if (!removed.test(i))
      shape.push_back(input.getDimSize(i));
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult UnsqueezeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  int64_t rank = input.getRank() + adaptor.getAxes().size();
  llvm::SmallBitVector inserted(rank);
  for (int64_t rawAxis : adaptor.getAxes()) {
    FailureOr<int64_t> axis = normalizeAxis(rawAxis, rank);
    if (failed(axis) || inserted.test(*axis))
      return failAt(loc, "unsqueeze axis " + Twine(rawAxis) +
                             " is out of range or repeated");
    inserted.set(*axis);
  }
  SmallVector<int64_t> shape;
  auto inputDims = input.getShape().begin();
  for (int64_t i = 0; i < rank; ++i)
    shape.push_back(inserted.test(i) ? 1 : *inputDims++);
  results.push_back(withShape(input, shape));
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  int64_t rank = input.getRank();
  ArrayRef<int64_t> pads = adaptor.getPads();
  if ((int64_t)pads.size() != 2 * rank)
    return failAt(loc, "pad needs " + Twine(2 * rank) + " pads, got " +
                           Twine(pads.size()));
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t dim = input.getDimSize(i);
    int64_t size =
        ShapedType::isDynamic(dim) ? kDyn : dim + pads[i] + pads[i + rank];
    if (!ShapedType::isDynamic(size) && size < 0)
      return failAt(loc, "pads crop dim " + Twine(i) + " below zero");
    shape.push_back(size);
  }
  results.push_back(withShape(input, shape));
  return success();
}
