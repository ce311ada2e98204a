//===- AzgDataDependentOps.cpp - ops sized by their data ------------------===//
//
// Result types of nonzero, compress, unique and non_max_suppression: the
// upper bound of each data-dependent dim, from the operand shapes (dynamic
// while a shape it needs is), and which dim of which result the data
// decides (DataDependentSizeOpInterface).
//
//===----------------------------------------------------------------------===//

#include "dialects/azg/AzgDialect.h"

using namespace mlir;
using namespace azc::azg;

#include "dialects/azg/AzgInterfaces.cpp.inc"

namespace {

RankedTensorType rankedType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// tensor<i64>: the extent every data-dependent op ends with.
Type extentType(MLIRContext *context) {
  return RankedTensorType::get({}, IntegerType::get(context, 64));
}

int64_t numElementsOrDynamic(RankedTensorType type) {
  return type.hasStaticShape() ? type.getNumElements() : ShapedType::kDynamic;
}

int64_t minOrDynamic(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b)
             ? ShapedType::kDynamic
             : std::min(a, b);
}

LogicalResult fail(std::optional<Location> loc, const Twine &message) {
  if (loc)
    emitError(*loc) << message;
  return failure();
}

/// The axis attribute normalized into [0, rank), or failure (reported).
FailureOr<int64_t> axisOf(std::optional<Location> loc, StringRef op,
                          std::optional<int64_t> axis, int64_t rank) {
  FailureOr<int64_t> normalized = normalizeAxis(*axis, rank);
  if (failed(normalized))
    (void)fail(loc, op + " axis " + Twine(*axis) + " is outside rank " +
                        Twine(rank));
  return normalized;
}

} // namespace

std::optional<int64_t> azc::azg::dataDependentDim(Value value) {
  auto result = dyn_cast<OpResult>(value);
  if (!result)
    return std::nullopt;
  auto op = dyn_cast<DataDependentSizeOpInterface>(result.getOwner());
  if (!op)
    return std::nullopt;
  return op.getDataDependentDim(result.getResultNumber());
}

//===----------------------------------------------------------------------===//
// nonzero
//===----------------------------------------------------------------------===//

LogicalResult NonZeroOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  results.push_back(
      RankedTensorType::get({input.getRank(), numElementsOrDynamic(input)},
                            IntegerType::get(context, 64)));
  results.push_back(extentType(context));
  return success();
}

std::optional<int64_t> NonZeroOp::getDataDependentDim(unsigned index) {
  return index == 0 ? std::optional<int64_t>(1) : std::nullopt;
}

//===----------------------------------------------------------------------===//
// compress
//===----------------------------------------------------------------------===//

LogicalResult CompressOp::inferReturnTypes(MLIRContext *context,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  RankedTensorType condition = rankedType(adaptor.getCondition());
  if (condition.getRank() != 1)
    return fail(loc, "compress condition must be rank 1, got " +
                         Twine(condition.getRank()));
  int64_t length = condition.getDimSize(0);
  if (!adaptor.getAxis()) {
    results.push_back(
        input.clone({minOrDynamic(length, numElementsOrDynamic(input))}));
  } else {
    FailureOr<int64_t> axis =
        axisOf(loc, "compress", adaptor.getAxis(), input.getRank());
    if (failed(axis))
      return failure();
    SmallVector<int64_t> shape(input.getShape());
    shape[*axis] = minOrDynamic(length, shape[*axis]);
    results.push_back(input.clone(shape));
  }
  results.push_back(extentType(context));
  return success();
}

std::optional<int64_t> CompressOp::getDataDependentDim(unsigned index) {
  if (index != 0)
    return std::nullopt;
  std::optional<int64_t> axis = getAxis();
  return axis ? *normalizeAxis(*axis, rankedType(getInput()).getRank()) : 0;
}

//===----------------------------------------------------------------------===//
// unique
//===----------------------------------------------------------------------===//

LogicalResult UniqueOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType input = rankedType(adaptor.getInput());
  int64_t slices;
  if (!adaptor.getAxis()) {
    slices = numElementsOrDynamic(input);
    results.push_back(input.clone({slices}));
  } else {
    FailureOr<int64_t> axis =
        axisOf(loc, "unique", adaptor.getAxis(), input.getRank());
    if (failed(axis))
      return failure();
    slices = input.getDimSize(*axis);
    results.push_back(input);
  }
  auto list = RankedTensorType::get({slices}, IntegerType::get(context, 64));
  results.append({list, list, list, extentType(context)});
  return success();
}

std::optional<int64_t> UniqueOp::getDataDependentDim(unsigned index) {
  // Not inverse_indices (2): one entry per input slice.
  if (index == 1 || index == 3)
    return 0;
  if (index != 0)
    return std::nullopt;
  std::optional<int64_t> axis = getAxis();
  return axis ? *normalizeAxis(*axis, rankedType(getInput()).getRank()) : 0;
}

//===----------------------------------------------------------------------===//
// non_max_suppression
//===----------------------------------------------------------------------===//

LogicalResult NonMaxSuppressionOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  RankedTensorType boxes = rankedType(adaptor.getBoxes());
  RankedTensorType scores = rankedType(adaptor.getScores());
  auto conflict = [](int64_t a, int64_t b) {
    return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
  };
  if (boxes.getRank() != 3 || scores.getRank() != 3 ||
      conflict(boxes.getDimSize(2), 4) ||
      conflict(boxes.getDimSize(0), scores.getDimSize(0)) ||
      conflict(boxes.getDimSize(1), scores.getDimSize(2))) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "non_max_suppression needs boxes [B, N, 4] and scores [B, C, N], "
          "got "
       << boxes << " and " << scores;
    return fail(loc, os.str());
  }
  int64_t batches = boxes.getDimSize(0), boxCount = boxes.getDimSize(1);
  int64_t classes = scores.getDimSize(1);
  int64_t perClass = std::max<int64_t>(0, adaptor.getMaxOutputBoxesPerClass());
  int64_t bound = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(batches) && !ShapedType::isDynamic(boxCount) &&
      !ShapedType::isDynamic(classes))
    bound = batches * classes * std::min(perClass, boxCount);
  results.push_back(
      RankedTensorType::get({bound, 3}, IntegerType::get(context, 64)));
  results.push_back(extentType(context));
  return success();
}

LogicalResult NonMaxSuppressionOp::verify() {
  if (getCenterPointBox() != 0 && getCenterPointBox() != 1)
    return emitOpError("center_point_box must be 0 or 1, got ")
           << getCenterPointBox();
  if (getMaxOutputBoxesPerClass() < 0)
    return emitOpError("max_output_boxes_per_class must be >= 0, got ")
           << getMaxOutputBoxesPerClass();
  float iou = getIouThreshold().convertToFloat();
  if (!(iou >= 0 && iou <= 1))
    return emitOpError("iou_threshold must be in [0, 1], got ") << iou;
  return success();
}

std::optional<int64_t>
NonMaxSuppressionOp::getDataDependentDim(unsigned index) {
  return index == 0 ? std::optional<int64_t>(0) : std::nullopt;
}
