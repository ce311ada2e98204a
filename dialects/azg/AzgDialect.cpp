//===- AzgDialect.cpp - azg dialect and attributes ------------------------===//

#include "dialects/azg/AzgDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace azc::azg;

#include "dialects/azg/AzgDialect.cpp.inc"
#include "dialects/azg/AzgEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/azg/AzgAttrs.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "dialects/azg/AzgTypes.cpp.inc"

void AzgDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/azg/AzgOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/azg/AzgAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/azg/AzgTypes.cpp.inc"
      >();
}

Operation *AzgDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

//===----------------------------------------------------------------------===//
// QuantEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
QuantEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          QuantStorage storage, QuantGranularity granularity,
                          int64_t axis, int64_t groupSize, ElementsAttr scales,
                          ElementsAttr zeroPoints, bool sparse24) {
  if (!llvm::isa<FloatType>(scales.getElementType()))
    return emitError() << "quantization scales must be floating point, got "
                       << scales.getElementType();
  if (granularity == QuantGranularity::per_tensor &&
      scales.getNumElements() != 1)
    return emitError()
           << "per_tensor quantization needs exactly one scale, got "
           << scales.getNumElements();
  if (granularity == QuantGranularity::per_group) {
    if (groupSize <= 0 || !llvm::isPowerOf2_64(groupSize))
      return emitError() << "per_group quantization needs a group_size that is "
                            "a positive power of two, got "
                         << groupSize;
  } else if (groupSize != 0) {
    return emitError() << "group_size is only meaningful for per_group "
                          "quantization";
  }
  if (axis < 0)
    return emitError() << "quantization axis must be non-negative, got "
                       << axis;
  if (zeroPoints) {
    if (storage == QuantStorage::fp8_e4m3 || storage == QuantStorage::nf4)
      return emitError() << "storage " << stringifyQuantStorage(storage)
                         << " is symmetric and takes no zero points";
    if (zeroPoints.getShapedType().getShape() !=
        scales.getShapedType().getShape())
      return emitError() << "zero_points shape must equal scales shape";
  }
  return success();
}

LogicalResult QuantEncodingAttr::verifyEncoding(
    ArrayRef<int64_t> shape, Type elementType,
    function_ref<InFlightDiagnostic()> emitError) const {
  int64_t rank = shape.size();
  if (getGranularity() == QuantGranularity::per_tensor)
    return success();
  if (getAxis() >= rank)
    return emitError() << "quantization axis " << getAxis()
                       << " is out of range for a rank-" << rank << " tensor";
  int64_t dim = shape[getAxis()];
  if (ShapedType::isDynamic(dim))
    return success();
  int64_t expected = dim;
  if (getGranularity() == QuantGranularity::per_group) {
    if (dim % getGroupSize() != 0)
      return emitError() << "dim " << getAxis() << " of size " << dim
                         << " is not a multiple of group_size "
                         << getGroupSize();
    expected = dim / getGroupSize();
  }
  // Per-channel scales hold one value per index of the axis; per-group ones
  // one per group along the axis for every index of the other dims.
  int64_t got = getScales().getNumElements();
  if (getGranularity() == QuantGranularity::per_channel && got != expected)
    return emitError() << "per_channel quantization along axis " << getAxis()
                       << " needs " << expected << " scales, got " << got;
  if (getGranularity() == QuantGranularity::per_group &&
      !ShapedType::isDynamicShape(shape)) {
    int64_t total = ShapedType::getNumElements(shape) / getGroupSize();
    if (got != total)
      return emitError() << "per_group quantization with group_size "
                         << getGroupSize() << " needs " << total
                         << " scales, got " << got;
  }
  return success();
}
