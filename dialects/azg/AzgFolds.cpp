//===- AzgFolds.cpp - constant folding of azg ops -------------------------===//
//
// Folders evaluate ops whose operands are small constants. Their purpose is
// shape arithmetic: exporters compute reshape targets at run time (Shape,
// Gather, Concat, Unsqueeze, integer Mul/Div), and once shape resolution
// makes the input shapes static these chains fold to constants. Weights
// (resource blobs) and large tensors are never folded: only DenseElementsAttr
// operands of at most the dialect's fold limit of elements are.
//
//===----------------------------------------------------------------------===//

#include "dialects/azg/AzgDialect.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APSInt.h"

using namespace mlir;
using namespace azc::azg;

namespace {

int64_t foldLimit(MLIRContext *context) {
  return context->getLoadedDialect<AzgDialect>()->getFoldLimit();
}

/// `attr` as a foldable constant, or null.
DenseElementsAttr foldable(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > foldLimit(dense.getContext()))
    return nullptr;
  return dense;
}

RankedTensorType staticResultType(Value result) {
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > foldLimit(type.getContext()))
    return nullptr;
  return type;
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Multi-index of flat position `flat` in `shape`.
SmallVector<int64_t> unflatten(int64_t flat, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> index(shape.size());
  for (int64_t i = (int64_t)shape.size() - 1; i >= 0; --i) {
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return index;
}

/// Flat position in `shape` of the element a broadcast result index reads.
int64_t broadcastSource(ArrayRef<int64_t> resultIndex,
                        ArrayRef<int64_t> shape) {
  int64_t offset = resultIndex.size() - shape.size(), flat = 0;
  SmallVector<int64_t> strides = stridesOf(shape);
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1)
      flat += resultIndex[i + offset] * strides[i];
  return flat;
}

/// Elementwise evaluation with broadcasting. `intFn` gets sign-extended
/// integers (i1 as 0/1), `floatFn` doubles; either may refuse (nullopt).
/// Comparisons produce i1 through the same functions.
Attribute foldBroadcastBinary(
    Attribute lhsAttr, Attribute rhsAttr, Value result,
    function_ref<std::optional<int64_t>(int64_t, int64_t)> intFn,
    function_ref<std::optional<double>(double, double)> floatFn) {
  DenseElementsAttr lhs = foldable(lhsAttr), rhs = foldable(rhsAttr);
  RankedTensorType type = staticResultType(result);
  if (!lhs || !rhs || !type)
    return nullptr;
  Type operandElement = lhs.getElementType();
  Type resultElement = type.getElementType();
  bool intOperands = isa<IntegerType>(operandElement);
  if ((intOperands && !intFn) || (!intOperands && !floatFn))
    return nullptr;
  SmallVector<APInt> intValues;
  SmallVector<APFloat> floatValues;
  auto lhsShape = lhs.getType().getShape(), rhsShape = rhs.getType().getShape();
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    SmallVector<int64_t> index = unflatten(i, type.getShape());
    int64_t li = broadcastSource(index, lhsShape);
    int64_t ri = broadcastSource(index, rhsShape);
    double value;
    if (intOperands) {
      auto readInt = [](DenseElementsAttr a, int64_t pos) {
        APInt v = a.getValues<APInt>()[pos];
        return v.getBitWidth() == 1 ? (int64_t)v.getZExtValue()
                                    : v.getSExtValue();
      };
      std::optional<int64_t> v = intFn(readInt(lhs, li), readInt(rhs, ri));
      if (!v)
        return nullptr;
      value = *v;
      if (auto intType = dyn_cast<IntegerType>(resultElement)) {
        intValues.push_back(APInt(intType.getWidth(), *v, /*isSigned=*/true));
        continue;
      }
    } else {
      std::optional<double> v =
          floatFn(lhs.getValues<APFloat>()[li].convertToDouble(),
                  rhs.getValues<APFloat>()[ri].convertToDouble());
      if (!v)
        return nullptr;
      value = *v;
      if (auto intType = dyn_cast<IntegerType>(resultElement)) {
        intValues.push_back(APInt(intType.getWidth(), (int64_t)value, true));
        continue;
      }
    }
    auto floatType = cast<FloatType>(resultElement);
    APFloat f(value);
    bool lost;
    f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
              &lost);
    floatValues.push_back(f);
  }
  if (isa<IntegerType>(resultElement))
    return DenseElementsAttr::get(type, intValues);
  return DenseElementsAttr::get(type, floatValues);
}

/// Rebuilds a constant's elements under a new (same-count) shape.
Attribute foldToShape(Attribute input, Value result) {
  DenseElementsAttr dense = foldable(input);
  RankedTensorType type = staticResultType(result);
  if (!dense || !type || dense.getNumElements() != type.getNumElements())
    return nullptr;
  return dense.reshape(type);
}

/// Builds a constant of `type` whose element i is source element map(i).
Attribute gatherElements(DenseElementsAttr source, RankedTensorType type,
                         function_ref<int64_t(int64_t)> map) {
  SmallVector<Attribute> values;
  auto all = source.getValues<Attribute>();
  for (int64_t i = 0; i < type.getNumElements(); ++i)
    values.push_back(all[map(i)]);
  return DenseElementsAttr::get(type, values);
}

std::optional<SmallVector<int64_t>> intsOf(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseIntElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  SmallVector<int64_t> values;
  for (const APInt &v : dense.getValues<APInt>())
    values.push_back(v.getSExtValue());
  return values;
}

} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }
OpFoldResult WeightOp::fold(FoldAdaptor) { return getValue(); }

#define AZG_ARITH_FOLDER(OpTy, intExpr, floatExpr)                             \
  OpFoldResult OpTy::fold(FoldAdaptor adaptor) {                               \
    return foldBroadcastBinary(                                                \
        adaptor.getLhs(), adaptor.getRhs(), getOutput(),                       \
        [](int64_t a, int64_t b) -> std::optional<int64_t> { intExpr; },       \
        [](double a, double b) -> std::optional<double> { floatExpr; });       \
  }

AZG_ARITH_FOLDER(AddOp, return a + b, return a + b)
AZG_ARITH_FOLDER(SubOp, return a - b, return a - b)
AZG_ARITH_FOLDER(MulOp, return a * b, return a * b)
AZG_ARITH_FOLDER(DivOp, if (b == 0) return std::nullopt;
                 return a / b, return a / b)
AZG_ARITH_FOLDER(PowOp, return std::nullopt, return std::pow(a, b))
AZG_ARITH_FOLDER(MaxOp, return std::max(a, b), return std::max(a, b))
AZG_ARITH_FOLDER(MinOp, return std::min(a, b), return std::min(a, b))
AZG_ARITH_FOLDER(EqualOp, return a == b, return a == b)
AZG_ARITH_FOLDER(LessOp, return a < b, return a < b)
AZG_ARITH_FOLDER(LessEqualOp, return a <= b, return a <= b)
AZG_ARITH_FOLDER(GreaterOp, return a > b, return a > b)
AZG_ARITH_FOLDER(GreaterEqualOp, return a >= b, return a >= b)
AZG_ARITH_FOLDER(AndOp, return a && b, return std::nullopt)
AZG_ARITH_FOLDER(OrOp, return a || b, return std::nullopt)
AZG_ARITH_FOLDER(XorOp, return (a != 0) != (b != 0), return std::nullopt)
#undef AZG_ARITH_FOLDER

// Negation, as a binary fold of the operand with itself (exporters write
// Rank - axis as Neg(axis) when axis is negative).
OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  return foldBroadcastBinary(
      adaptor.getInput(), adaptor.getInput(), getOutput(),
      [](int64_t a, int64_t) -> std::optional<int64_t> { return -a; },
      [](double a, double) -> std::optional<double> { return -a; });
}

// Relu, Floor and Ceil, as shape arithmetic computed in floating point
// uses them (Range's expanded function counts its elements as
// relu(ceil((limit - start) / delta))).
OpFoldResult ReluOp::fold(FoldAdaptor adaptor) {
  return foldBroadcastBinary(
      adaptor.getInput(), adaptor.getInput(), getOutput(),
      [](int64_t a, int64_t) -> std::optional<int64_t> {
        return std::max<int64_t>(a, 0);
      },
      [](double a, double) -> std::optional<double> {
        return std::max(a, 0.0);
      });
}

OpFoldResult FloorOp::fold(FoldAdaptor adaptor) {
  return foldBroadcastBinary(
      adaptor.getInput(), adaptor.getInput(), getOutput(), nullptr,
      [](double a, double) -> std::optional<double> { return std::floor(a); });
}

OpFoldResult CeilOp::fold(FoldAdaptor adaptor) {
  return foldBroadcastBinary(
      adaptor.getInput(), adaptor.getInput(), getOutput(), nullptr,
      [](double a, double) -> std::optional<double> { return std::ceil(a); });
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  return foldBroadcastBinary(
      adaptor.getInput(), adaptor.getInput(), getOutput(),
      [](int64_t a, int64_t) -> std::optional<int64_t> { return a == 0; },
      nullptr);
}

// Integer Mod, as shape arithmetic uses it (divisibility checks in the
// expanded Attention function); ONNX's sign rules.
OpFoldResult ModOp::fold(FoldAdaptor adaptor) {
  bool fmod = getFmod();
  return foldBroadcastBinary(
      adaptor.getLhs(), adaptor.getRhs(), getOutput(),
      [fmod](int64_t a, int64_t b) -> std::optional<int64_t> {
        if (b == 0)
          return std::nullopt;
        int64_t r = a % b; // C: the sign of the dividend
        if (!fmod && r != 0 && ((r < 0) != (b < 0)))
          r += b;
        return r;
      },
      nullptr);
}

// Where over constants: a three-way broadcast select.
OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr condition = foldable(adaptor.getCondition());
  DenseElementsAttr onTrue = foldable(adaptor.getOnTrue());
  DenseElementsAttr onFalse = foldable(adaptor.getOnFalse());
  RankedTensorType type = staticResultType(getOutput());
  if (!condition || !onTrue || !onFalse || !type)
    return nullptr;
  auto conditions = condition.getValues<bool>();
  auto trueValues = onTrue.getValues<Attribute>();
  auto falseValues = onFalse.getValues<Attribute>();
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    SmallVector<int64_t> index = unflatten(i, type.getShape());
    bool pick =
        conditions[broadcastSource(index, condition.getType().getShape())];
    values.push_back(
        pick ? trueValues[broadcastSource(index, onTrue.getType().getShape())]
             : falseValues[broadcastSource(index,
                                           onFalse.getType().getShape())]);
  }
  return DenseElementsAttr::get(type, values);
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getOutput().getType())
    return getInput();
  DenseElementsAttr input = foldable(adaptor.getInput());
  RankedTensorType type = staticResultType(getOutput());
  if (!input || !type)
    return nullptr;
  // Shape arithmetic casts between integer types, and between integers and
  // floats where a count is computed in floating point.
  auto fromInt = dyn_cast<IntegerType>(input.getElementType());
  auto toInt = dyn_cast<IntegerType>(type.getElementType());
  auto toFloat = dyn_cast<FloatType>(type.getElementType());
  // FP8 overflow follows the op's saturate rule, which APFloat does not
  // know: those casts are left to the kernel.
  if (toFloat && toFloat.getWidth() == 8)
    return nullptr;
  if (fromInt && toInt) {
    SmallVector<APInt> values;
    for (const APInt &v : input.getValues<APInt>())
      values.push_back(fromInt.getWidth() == 1
                           ? v.zextOrTrunc(toInt.getWidth())
                           : v.sextOrTrunc(toInt.getWidth()));
    return DenseElementsAttr::get(type, values);
  }
  if (fromInt && toFloat) {
    bool isSigned = fromInt.getWidth() != 1 && !fromInt.isUnsigned();
    SmallVector<APFloat> values;
    for (const APInt &v : input.getValues<APInt>()) {
      APFloat f(toFloat.getFloatSemantics());
      f.convertFromAPInt(v, isSigned, APFloat::rmNearestTiesToEven);
      values.push_back(f);
    }
    return DenseElementsAttr::get(type, values);
  }
  if (fromInt || (!toInt && !toFloat))
    return nullptr;
  if (toInt) {
    // Float to integer truncates toward zero; to bool tests for non-zero.
    SmallVector<APInt> values;
    for (APFloat v : input.getValues<APFloat>()) {
      if (toInt.getWidth() == 1) {
        values.push_back(APInt(1, v.isZero() ? 0 : 1));
        continue;
      }
      llvm::APSInt converted(toInt.getWidth(), toInt.isUnsigned());
      bool exact;
      if (v.convertToInteger(converted, APFloat::rmTowardZero, &exact) &
          APFloat::opInvalidOp)
        return nullptr; // NaN, infinite or out of range: left to run time
      values.push_back(converted);
    }
    return DenseElementsAttr::get(type, values);
  }
  SmallVector<APFloat> values;
  for (APFloat v : input.getValues<APFloat>()) {
    bool lost;
    v.convert(toFloat.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    values.push_back(v);
  }
  return DenseElementsAttr::get(type, values);
}

OpFoldResult ShapeOfOp::fold(FoldAdaptor) {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  if (!inputType.hasStaticShape())
    return nullptr;
  return DenseIntElementsAttr::get(
      cast<RankedTensorType>(getOutput().getType()), inputType.getShape());
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getOutput().getType() &&
      cast<RankedTensorType>(getOutput().getType()).hasStaticShape())
    return getInput();
  return foldToShape(adaptor.getInput(), getOutput());
}

OpFoldResult SqueezeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getOutput().getType())
    return getInput();
  return foldToShape(adaptor.getInput(), getOutput());
}

OpFoldResult UnsqueezeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getOutput().getType())
    return getInput();
  return foldToShape(adaptor.getInput(), getOutput());
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 &&
      getInputs().front().getType() == getOutput().getType())
    return getInputs().front();
  RankedTensorType type = staticResultType(getOutput());
  if (!type)
    return nullptr;
  SmallVector<DenseElementsAttr> inputs;
  for (Attribute attr : adaptor.getInputs()) {
    DenseElementsAttr dense = foldable(attr);
    if (!dense)
      return nullptr;
    inputs.push_back(dense);
  }
  int64_t axis = *normalizeAxis(getAxis(), type.getRank());
  // Each result row (the dims from the axis on) is the inputs' rows in turn.
  SmallVector<Attribute> values;
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= type.getDimSize(i);
  for (int64_t o = 0; o < outer; ++o) {
    for (DenseElementsAttr input : inputs) {
      int64_t row = outer == 0 ? 0 : input.getNumElements() / outer;
      auto all = input.getValues<Attribute>();
      for (int64_t j = 0; j < row; ++j)
        values.push_back(all[o * row + j]);
    }
  }
  return DenseElementsAttr::get(type, values);
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr data = foldable(adaptor.getData());
  std::optional<SmallVector<int64_t>> indices = intsOf(adaptor.getIndices());
  RankedTensorType type = staticResultType(getOutput());
  if (!data || !indices || !type)
    return nullptr;
  ArrayRef<int64_t> dataShape = data.getType().getShape();
  int64_t axis = *normalizeAxis(getAxis(), dataShape.size());
  int64_t axisSize = dataShape[axis];
  for (int64_t &index : *indices) {
    if (index < 0)
      index += axisSize;
    if (index < 0 || index >= axisSize)
      return nullptr; // Out of range: left for the verifier of the runtime.
  }
  int64_t indicesRank =
      cast<RankedTensorType>(getIndices().getType()).getRank();
  SmallVector<int64_t> dataStrides = stridesOf(dataShape);
  SmallVector<int64_t> indicesShape(
      cast<RankedTensorType>(getIndices().getType()).getShape());
  SmallVector<int64_t> indicesStrides = stridesOf(indicesShape);
  return gatherElements(data, type, [&](int64_t flat) {
    SmallVector<int64_t> index = unflatten(flat, type.getShape());
    int64_t indexPos = 0;
    for (int64_t i = 0; i < indicesRank; ++i)
      indexPos += index[axis + i] * indicesStrides[i];
    int64_t source = 0;
    for (int64_t i = 0; i < (int64_t)dataShape.size(); ++i) {
      int64_t coord = i < axis    ? index[i]
                      : i == axis ? (*indices)[indexPos]
                                  : index[i - 1 + indicesRank];
      source += coord * dataStrides[i];
    }
    return source;
  });
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr input = foldable(adaptor.getInput());
  RankedTensorType type = staticResultType(getOutput());
  std::optional<SmallVector<int64_t>> starts = intsOf(adaptor.getStarts());
  std::optional<SmallVector<int64_t>> axes = intsOf(adaptor.getAxes());
  std::optional<SmallVector<int64_t>> steps = intsOf(adaptor.getSteps());
  if (!input || !type || !starts || !axes || !steps)
    return nullptr;
  ArrayRef<int64_t> inShape = input.getType().getShape();
  int64_t rank = inShape.size();
  // Per dim: first index read and step; dims not sliced start at 0, step 1.
  SmallVector<int64_t> first(rank, 0), step(rank, 1);
  for (auto [i, rawAxis] : llvm::enumerate(*axes)) {
    int64_t axis = *normalizeAxis(rawAxis, rank);
    int64_t dim = inShape[axis], start = (*starts)[i];
    step[axis] = (*steps)[i];
    if (start < 0)
      start += dim;
    first[axis] = step[axis] > 0 ? std::clamp<int64_t>(start, 0, dim)
                                 : std::clamp<int64_t>(start, 0, dim - 1);
  }
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  return gatherElements(input, type, [&](int64_t flat) {
    SmallVector<int64_t> index = unflatten(flat, type.getShape());
    int64_t source = 0;
    for (int64_t i = 0; i < rank; ++i)
      source += (first[i] + index[i] * step[i]) * inStrides[i];
    return source;
  });
}

OpFoldResult RangeOp::fold(FoldAdaptor adaptor) {
  if (!getContext()->getLoadedDialect<AzgDialect>()->getFoldRanges())
    return nullptr;
  DenseElementsAttr start = foldable(adaptor.getStart());
  DenseElementsAttr delta = foldable(adaptor.getDelta());
  RankedTensorType type = staticResultType(getOutput());
  if (!start || !delta || !type || !foldable(adaptor.getLimit()))
    return nullptr;
  if (auto intType = dyn_cast<IntegerType>(type.getElementType())) {
    int64_t first = start.getSplatValue<APInt>().getSExtValue();
    int64_t step = delta.getSplatValue<APInt>().getSExtValue();
    SmallVector<APInt> values;
    for (int64_t i = 0; i < type.getNumElements(); ++i)
      values.push_back(APInt(intType.getWidth(), first + i * step, true));
    return DenseElementsAttr::get(type, values);
  }
  auto floatType = cast<FloatType>(type.getElementType());
  double first = start.getSplatValue<APFloat>().convertToDouble();
  double step = delta.getSplatValue<APFloat>().convertToDouble();
  SmallVector<APFloat> values;
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    APFloat f(first + i * step);
    bool lost;
    f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
              &lost);
    values.push_back(f);
  }
  return DenseElementsAttr::get(type, values);
}
