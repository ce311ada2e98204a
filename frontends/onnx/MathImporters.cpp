//===- MathImporters.cpp - ONNX arithmetic and NN ops to azg --------------===//
//
// Importers for elementwise math, linear algebra, convolution, pooling,
// reductions and normalizations. Each is registered with the opset it
// applies from; where ONNX changed an op's signature (attributes that became
// inputs, changed defaults) there is one entry per version.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// The right operand of a binary op before opset 7: with broadcast=1 its
/// dims line up with the left operand's from `axis` (default: the trailing
/// dims), which NumPy broadcasting matches once the dims after them are
/// made explicit ones.
FailureOr<Value> legacyBroadcastRhs(NodeContext &n) {
  Value lhs = n.input(0), rhs = n.input(1);
  if (!n.attr("broadcast") || n.attrInt("broadcast", 0) == 0) {
    if (n.attr("axis"))
      return n.error("axis without broadcast=1 is not valid");
    return rhs;
  }
  int64_t lhsRank = cast<RankedTensorType>(lhs.getType()).getRank();
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  int64_t rhsRank = rhsType.getRank();
  int64_t axis = n.attrInt("axis", lhsRank - rhsRank);
  if (axis < 0)
    axis += lhsRank;
  if (axis < 0 || axis + rhsRank > lhsRank)
    return n.error("legacy broadcast axis " + Twine(n.attrInt("axis", 0)) +
                   " does not fit the operands");
  int64_t trailing = lhsRank - axis - rhsRank;
  if (trailing == 0 || rhsRank == 0)
    return rhs;
  if (!rhsType.hasStaticShape())
    return n.error("legacy broadcast needs a static right operand");
  SmallVector<int64_t> shape(rhsType.getShape());
  shape.append(trailing, 1);
  return n.make<azg::ReshapeOp>(rhs, n.constantI64(shape), UnitAttr());
}

template <typename OpTy> LogicalResult importBinary(NodeContext &n) {
  FailureOr<Value> rhs = legacyBroadcastRhs(n);
  if (failed(rhs))
    return failure();
  return n.setResult(n.make<OpTy>(n.input(0), *rhs));
}

/// Max, Min, Sum: variadic, folded pairwise.
template <typename OpTy> LogicalResult importVariadic(NodeContext &n) {
  Value result = n.input(0);
  for (size_t i = 1; i < n.numInputs(); ++i) {
    FailureOr<Value> next = n.make<OpTy>(result, n.input(i));
    if (failed(next))
      return failure();
    result = *next;
  }
  return n.setResults(result);
}

template <typename OpTy> LogicalResult importUnary(NodeContext &n) {
  return n.setResult(n.make<OpTy>(n.input(0)));
}

LogicalResult importIdentity(NodeContext &n) {
  return n.setResults(n.input(0));
}

LogicalResult importDropout(NodeContext &n) {
  // In inference Dropout is the identity. Training mode (opset 12's third
  // input) draws random masks, which an inference engine does not do,
  // except with ratio 0, where it keeps everything.
  if (n.input(2)) {
    DenseElementsAttr training, ratio;
    if (!matchPattern(n.input(2), m_Constant(&training)) ||
        training.getNumElements() != 1)
      return n.error("training_mode (input 2) must be a constant; computed "
                     "values are not supported");
    bool keepsAll = false;
    if (n.input(1) && matchPattern(n.input(1), m_Constant(&ratio)) &&
        ratio.getNumElements() == 1 && isa<FloatType>(ratio.getElementType()))
      keepsAll = ratio.getSplatValue<APFloat>().isZero();
    if (training.getSplatValue<APInt>().getBoolValue() && !keepsAll) {
      if (n.input(1) && !matchPattern(n.input(1), m_Constant()))
        return n.error("ratio (input 1) must be a constant; computed values "
                       "are not supported");
      return n.error("training-mode Dropout with a nonzero ratio is not "
                     "supported: its mask is random");
    }
  }
  if (n.attrInt("is_test", 1) == 0)
    return n.error("training-mode Dropout (is_test = 0) is not supported");
  if (!n.isOutputUsed(1))
    return n.setResults(n.input(0));
  // The mask keeps every element: all true, in the input's shape.
  Builder b(n.context());
  Value yes = n.builder().create<azg::ConstantOp>(
      n.loc(),
      DenseElementsAttr::get(RankedTensorType::get({}, b.getI1Type()), true));
  FailureOr<Value> shape = n.make<azg::ShapeOfOp>(n.input(0));
  if (failed(shape))
    return failure();
  FailureOr<Value> mask = n.make<azg::ExpandOp>(yes, *shape);
  if (failed(mask))
    return failure();
  return n.setResults({n.input(0), *mask});
}

LogicalResult importPow(NodeContext &n) {
  Value base = n.input(0), exponent = n.input(1);
  Type baseElement = getElementTypeOrSelf(base.getType());
  if (getElementTypeOrSelf(exponent.getType()) != baseElement) {
    FailureOr<Value> cast =
        n.make<azg::CastOp>(exponent, TypeAttr::get(baseElement));
    if (failed(cast))
      return failure();
    exponent = *cast;
  }
  return n.setResult(n.make<azg::PowOp>(base, exponent));
}

LogicalResult importGelu(NodeContext &n) {
  std::string approximate = n.attrString("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    return n.error("unknown approximate='" + approximate + "'");
  UnitAttr tanh =
      approximate == "tanh" ? UnitAttr::get(n.context()) : UnitAttr();
  return n.setResult(n.make<azg::GeluOp>(n.input(0), tanh));
}

LogicalResult importClip(NodeContext &n) {
  FloatAttr min, max;
  Builder b(n.context());
  if (n.opset() < 11) {
    if (n.attr("min"))
      min = b.getF64FloatAttr(n.attrFloat("min", 0));
    if (n.attr("max"))
      max = b.getF64FloatAttr(n.attrFloat("max", 0));
  } else {
    // Computed bounds: max(x, min), then min(., max), which also gives max
    // everywhere when min > max, as ONNX specifies.
    if ((n.input(1) && !matchPattern(n.input(1), m_Constant())) ||
        (n.input(2) && !matchPattern(n.input(2), m_Constant()))) {
      Value result = n.input(0);
      for (size_t i : {1, 2}) {
        if (!n.input(i))
          continue;
        if (cast<RankedTensorType>(n.input(i).getType()).getNumElements() != 1)
          return n.error("Clip bounds must be scalars");
        FailureOr<Value> next = i == 1 ? n.make<azg::MaxOp>(result, n.input(i))
                                       : n.make<azg::MinOp>(result, n.input(i));
        if (failed(next))
          return failure();
        result = *next;
      }
      if (result.getType() != n.input(0).getType())
        return n.error("Clip bounds must be scalars");
      return n.setResults(result);
    }
    for (size_t i : {1, 2}) {
      if (!n.input(i))
        continue;
      DenseElementsAttr bound;
      if (!matchPattern(n.input(i), m_Constant(&bound)) ||
          bound.getNumElements() != 1)
        return n.error("Clip bounds must be constant scalars");
      double value = isa<FloatType>(bound.getElementType())
                         ? bound.getSplatValue<APFloat>().convertToDouble()
                         : (double)bound.getSplatValue<APInt>().getSExtValue();
      (i == 1 ? min : max) = b.getF64FloatAttr(value);
    }
  }
  return n.setResult(n.make<azg::ClipOp>(n.input(0), min, max));
}

LogicalResult importWhere(NodeContext &n) {
  return n.setResult(n.make<azg::WhereOp>(n.input(0), n.input(1), n.input(2)));
}

/// A cast to `to` with the node's saturate and round_mode attributes.
FailureOr<Value> castNode(NodeContext &n, Value x, Type to) {
  Builder b(n.context());
  return n.make<azg::CastOp>(x, TypeAttr::get(to),
                             b.getBoolAttr(n.attrInt("saturate", 1) != 0),
                             b.getStringAttr(n.attrString("round_mode", "up")));
}

LogicalResult importCast(NodeContext &n) {
  Type to = convertElementType(n.attrInt("to", 0), n.context());
  if (!to)
    return n.error("cast to data type " + Twine(n.attrInt("to", 0)) +
                   " is not supported");
  return n.setResult(castNode(n, n.input(0), to));
}

LogicalResult importMatMul(NodeContext &n) {
  return n.setResult(n.make<azg::MatMulOp>(n.input(0), n.input(1), Value(),
                                           Value(), azg::ActivationAttr(),
                                           FloatAttr(), FloatAttr()));
}

LogicalResult importGemm(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(
      n.make<azg::GemmOp>(n.input(0), n.input(1), n.input(2),
                          b.getF32FloatAttr(n.attrFloat("alpha", 1.0f)),
                          b.getF32FloatAttr(n.attrFloat("beta", 1.0f)),
                          b.getBoolAttr(n.attrInt("transA", 0) != 0),
                          b.getBoolAttr(n.attrInt("transB", 0) != 0),
                          azg::ActivationAttr(), FloatAttr(), FloatAttr()));
}

LogicalResult importConv(NodeContext &n) {
  FailureOr<ConvWindow> window =
      convWindow(n, cast<RankedTensorType>(n.input(0).getType()),
                 cast<RankedTensorType>(n.input(1).getType()));
  if (failed(window))
    return failure();
  Builder b(n.context());
  return n.setResult(
      n.make<azg::ConvOp>(n.input(0), n.input(1), n.input(2), Value(),
                          b.getDenseI64ArrayAttr(window->strides),
                          b.getDenseI64ArrayAttr(window->pads),
                          b.getDenseI64ArrayAttr(window->dilations),
                          b.getI64IntegerAttr(n.attrInt("group", 1)),
                          azg::ActivationAttr(), FloatAttr(), FloatAttr()));
}

/// ConvTranspose, with its pads made explicit: from `pads`, or derived
/// from `output_shape` or auto_pad (SAME_* gives input * stride) by the
/// ONNX formula total = stride * (in - 1) + output_padding + dilation *
/// (k - 1) + 1 - out, split evenly with the odd one at the end for
/// SAME_UPPER and at the beginning otherwise.
LogicalResult importConvTranspose(NodeContext &n) {
  auto input = cast<RankedTensorType>(n.input(0).getType());
  auto weight = cast<RankedTensorType>(n.input(1).getType());
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || weight.getRank() != input.getRank())
    return n.error("ConvTranspose needs input and weight of equal rank >= 3");
  SmallVector<int64_t> kernel =
      n.attrInts("kernel_shape")
          .value_or(SmallVector<int64_t>(weight.getShape().drop_front(2)));
  if ((int64_t)kernel.size() != spatial ||
      kernel != SmallVector<int64_t>(weight.getShape().drop_front(2)))
    return n.error("kernel_shape does not match the weight's spatial dims");
  SmallVector<int64_t> ones(spatial, 1), zeros(spatial, 0);
  SmallVector<int64_t> strides = n.attrInts("strides").value_or(ones);
  SmallVector<int64_t> dilations = n.attrInts("dilations").value_or(ones);
  SmallVector<int64_t> outputPadding =
      n.attrInts("output_padding").value_or(zeros);
  if ((int64_t)strides.size() != spatial ||
      (int64_t)dilations.size() != spatial ||
      (int64_t)outputPadding.size() != spatial)
    return n.error("strides, dilations and output_padding need one entry per "
                   "spatial dim");
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  std::optional<SmallVector<int64_t>> outputShape = n.attrInts("output_shape");
  SmallVector<int64_t> pads(2 * spatial, 0);
  if (outputShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    if (outputShape && (int64_t)outputShape->size() == spatial + 2)
      outputShape =
          SmallVector<int64_t>(outputShape->begin() + 2, outputShape->end());
    if (outputShape && (int64_t)outputShape->size() != spatial)
      return n.error("output_shape needs one entry per spatial dim");
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t in = input.getDimSize(i + 2);
      if (ShapedType::isDynamic(in))
        return n.error("output_shape and auto_pad need static spatial dims");
      int64_t out = outputShape ? (*outputShape)[i] : in * strides[i];
      int64_t total = strides[i] * (in - 1) + outputPadding[i] +
                      dilations[i] * (kernel[i] - 1) + 1 - out;
      // Halved rounding down, also when total is negative (an output_shape
      // larger than the natural output).
      int64_t half = llvm::divideFloorSigned(total, 2);
      bool upper = autoPad == "SAME_UPPER";
      pads[i] = upper ? half : total - half;
      pads[i + spatial] = upper ? total - half : half;
    }
  } else if (autoPad == "NOTSET") {
    pads = n.attrInts("pads").value_or(pads);
    if ((int64_t)pads.size() != 2 * spatial)
      return n.error("pads has " + Twine(pads.size()) + " entries, expected " +
                     Twine(2 * spatial));
  } else if (autoPad != "VALID") {
    return n.error("unknown auto_pad '" + autoPad + "'");
  }
  Builder b(n.context());
  return n.setResult(n.make<azg::ConvTransposeOp>(
      n.input(0), n.input(1), n.input(2), b.getDenseI64ArrayAttr(strides),
      b.getDenseI64ArrayAttr(pads), b.getDenseI64ArrayAttr(dilations),
      b.getDenseI64ArrayAttr(outputPadding),
      b.getI64IntegerAttr(n.attrInt("group", 1))));
}

/// GridSample; opset 16's bilinear and bicubic are opset 20's linear and
/// cubic.
LogicalResult importGridSample(NodeContext &n) {
  std::string mode =
      n.attrString("mode", n.opset() < 20 ? "bilinear" : "linear");
  if (mode == "bilinear")
    mode = "linear";
  else if (mode == "bicubic")
    mode = "cubic";
  std::string padding = n.attrString("padding_mode", "zeros");
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return n.error("unknown mode '" + mode + "'");
  if (padding != "zeros" && padding != "border" && padding != "reflection")
    return n.error("unknown padding_mode '" + padding + "'");
  Builder b(n.context());
  return n.setResult(n.make<azg::GridSampleOp>(
      n.input(0), n.input(1), b.getStringAttr(mode), b.getStringAttr(padding),
      b.getBoolAttr(n.attrInt("align_corners", 0) != 0)));
}

/// RoiAlign; before opset 16 the only coordinates were output_half_pixel.
LogicalResult importRoiAlign(NodeContext &n) {
  Builder b(n.context());
  std::string coords =
      n.attrString("coordinate_transformation_mode",
                   n.opset() < 16 ? "output_half_pixel" : "half_pixel");
  std::string mode = n.attrString("mode", "avg");
  if (mode != "avg" && mode != "max")
    return n.error("unknown mode '" + mode + "'");
  if (coords != "half_pixel" && coords != "output_half_pixel")
    return n.error("unknown coordinate_transformation_mode '" + coords + "'");
  return n.setResult(n.make<azg::RoiAlignOp>(
      n.input(0), n.input(1), n.input(2), b.getStringAttr(mode),
      b.getStringAttr(coords),
      b.getI64IntegerAttr(n.attrInt("output_height", 1)),
      b.getI64IntegerAttr(n.attrInt("output_width", 1)),
      b.getI64IntegerAttr(n.attrInt("sampling_ratio", 0)),
      b.getF32FloatAttr(n.attrFloat("spatial_scale", 1.0f))));
}

/// A constant float input as doubles, or failure (reported).
FailureOr<SmallVector<double>> constantFloats(NodeContext &n, size_t i,
                                              StringRef what) {
  DenseFPElementsAttr attr;
  if (!matchPattern(n.input(i), m_Constant(&attr)))
    return n.error(Twine(what) + " (input " + Twine(i) +
                   ") must be a constant; computed values are not supported");
  SmallVector<double> values;
  for (const APFloat &v : attr.getValues<APFloat>())
    values.push_back(v.convertToDouble());
  return values;
}

/// Resize (opset 10+) and Upsample. Before opset 11 the coordinates are
/// asymmetric and nearest rounds down. The output size comes from constant
/// sizes, or floor(input * scale) (times the roi's extent for
/// tf_crop_and_resize); the coordinate scale is the given one, or
/// size / input.
LogicalResult importResize(NodeContext &n) {
  Value x = n.input(0);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (!type.hasStaticShape())
    return n.error("Resize needs a static input shape");
  bool legacy = n.node().op_type() == "Upsample" || n.opset() < 11;
  std::string mode = n.attrString("mode", "nearest");
  if (mode == "bilinear")
    mode = "linear";
  if (legacy && mode != "nearest" && mode != "linear")
    return n.error("unknown mode '" + mode + "'");
  std::string coords =
      legacy ? "asymmetric"
             : n.attrString("coordinate_transformation_mode", "half_pixel");
  std::string nearestMode =
      legacy ? "floor" : n.attrString("nearest_mode", "round_prefer_floor");
  bool antialias = !legacy && n.attrInt("antialias", 0) != 0;
  if (antialias && mode == "nearest")
    return n.error("antialias needs linear or cubic mode, not nearest");
  std::string aspectPolicy =
      n.attrString("keep_aspect_ratio_policy", "stretch");
  if (aspectPolicy != "stretch" && aspectPolicy != "not_larger" &&
      aspectPolicy != "not_smaller")
    return n.error("unknown keep_aspect_ratio_policy '" + aspectPolicy + "'");
  SmallVector<int64_t> axes;
  if (std::optional<SmallVector<int64_t>> given = n.attrInts("axes")) {
    for (int64_t axis : *given) {
      FailureOr<int64_t> normalized = azg::normalizeAxis(axis, rank);
      if (failed(normalized))
        return n.error("axis " + Twine(axis) + " is out of range");
      axes.push_back(*normalized);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  // Inputs: Upsample-9 / Resize-10 (X, scales); 11+ (X, roi, scales, sizes).
  size_t scalesInput = legacy ? 1 : 2, sizesInput = 3, roiInput = 1;
  SmallVector<double> scales(rank, 1.0), roi;
  SmallVector<int64_t> sizes(type.getShape());
  bool haveSizes =
      !legacy && n.input(sizesInput) &&
      cast<RankedTensorType>(n.input(sizesInput).getType()).getNumElements() !=
          0;
  if (n.node().op_type() == "Upsample" && n.opset() < 9) {
    const onnx::AttributeProto *a = n.attr("scales");
    if (!a || a->floats_size() != rank)
      return n.error("scales needs one entry per dim");
    for (int64_t i = 0; i < rank; ++i)
      scales[i] = a->floats(i);
  } else if (haveSizes) {
    FailureOr<SmallVector<int64_t>> given = n.constantInts(sizesInput, "sizes");
    if (failed(given))
      return failure();
    if (given->size() != axes.size())
      return n.error("sizes needs one entry per axis");
    for (auto [i, axis] : llvm::enumerate(axes)) {
      sizes[axis] = (*given)[i];
      scales[axis] = double(sizes[axis]) / double(type.getDimSize(axis));
    }
    // Keeping the aspect ratio: one scale for every axis, the smallest
    // (not_larger) or largest (not_smaller), sizes rounded half up.
    if (aspectPolicy != "stretch" && !axes.empty()) {
      double scale = scales[axes.front()];
      for (int64_t axis : axes)
        scale = aspectPolicy == "not_larger" ? std::min(scale, scales[axis])
                                             : std::max(scale, scales[axis]);
      for (int64_t axis : axes) {
        scales[axis] = scale;
        sizes[axis] = int64_t(scale * double(type.getDimSize(axis)) + 0.5);
      }
    }
  } else {
    if (!n.input(scalesInput))
      return n.error("Resize needs scales or sizes");
    FailureOr<SmallVector<double>> given =
        constantFloats(n, scalesInput, "scales");
    if (failed(given))
      return failure();
    if (given->size() != axes.size())
      return n.error("scales needs one entry per axis");
    for (auto [i, axis] : llvm::enumerate(axes))
      scales[axis] = (*given)[i];
  }
  if (coords == "tf_crop_and_resize") {
    if (!n.input(roiInput))
      return n.error("tf_crop_and_resize needs a roi");
    FailureOr<SmallVector<double>> given = constantFloats(n, roiInput, "roi");
    if (failed(given))
      return failure();
    if (given->size() != 2 * axes.size())
      return n.error("roi needs a begin and an end per axis");
    roi.assign(2 * rank, 0.0);
    for (int64_t i = 0; i < rank; ++i)
      roi[rank + i] = 1.0;
    for (auto [i, axis] : llvm::enumerate(axes)) {
      roi[axis] = (*given)[i];
      roi[rank + axis] = (*given)[axes.size() + i];
    }
  }
  if (!haveSizes)
    for (int64_t i = 0; i < rank; ++i) {
      if (scales[i] <= 0)
        return n.error("scales must be positive");
      double extent = roi.empty() ? 1.0 : roi[rank + i] - roi[i];
      sizes[i] =
          int64_t(std::floor(double(type.getDimSize(i)) * extent * scales[i]));
    }
  Builder b(n.context());
  auto f64Vector = [&](ArrayRef<double> values) -> Value {
    auto vectorType =
        RankedTensorType::get({(int64_t)values.size()}, b.getF64Type());
    return n.builder().create<azg::ConstantOp>(
        n.loc(), DenseElementsAttr::get(vectorType, values));
  };
  return n.setResult(n.make<azg::ResizeOp>(
      x, f64Vector(scales), roi.empty() ? Value() : f64Vector(roi),
      b.getDenseI64ArrayAttr(sizes), b.getStringAttr(mode),
      b.getStringAttr(coords), b.getStringAttr(nearestMode),
      b.getF32FloatAttr(n.attrFloat("cubic_coeff_a", -0.75f)),
      b.getBoolAttr(n.attrInt("exclude_outside", 0) != 0),
      b.getF32FloatAttr(n.attrFloat("extrapolation_value", 0.0f)),
      b.getBoolAttr(antialias)));
}

template <bool isMax> LogicalResult importPool(NodeContext &n) {
  auto input = cast<RankedTensorType>(n.input(0).getType());
  std::optional<SmallVector<int64_t>> kernel = n.attrInts("kernel_shape");
  if (!kernel)
    return n.error("kernel_shape is required");
  SmallVector<int64_t> ones(kernel->size(), 1);
  SmallVector<int64_t> strides = n.attrInts("strides").value_or(ones);
  SmallVector<int64_t> dilations = n.attrInts("dilations").value_or(ones);
  int64_t storageOrder = n.attrInt("storage_order", 0);
  if (!isMax && n.isOutputUsed(1))
    return n.error("AveragePool has one output");
  FailureOr<SmallVector<int64_t>> pads =
      windowPads(n, input, *kernel, strides, dilations);
  if (failed(pads))
    return failure();
  Builder b(n.context());
  BoolAttr ceil = b.getBoolAttr(n.attrInt("ceil_mode", 0) != 0);
  if constexpr (isMax) {
    // 8-bit integers pool exactly in float: every value is representable
    // and max only selects.
    Value x = n.input(0);
    Type element = input.getElementType();
    bool narrowInt = element.isInteger(8);
    if (narrowInt) {
      FailureOr<Value> widened =
          n.make<azg::CastOp>(x, TypeAttr::get(b.getF32Type()));
      if (failed(widened))
        return failure();
      x = *widened;
    }
    FailureOr<Value> pooled = n.make<azg::MaxPoolOp>(
        x, b.getDenseI64ArrayAttr(*kernel), b.getDenseI64ArrayAttr(strides),
        b.getDenseI64ArrayAttr(*pads), b.getDenseI64ArrayAttr(dilations), ceil);
    if (failed(pooled))
      return failure();
    Value values = *pooled;
    if (narrowInt) {
      FailureOr<Value> narrowed =
          n.make<azg::CastOp>(values, TypeAttr::get(element));
      if (failed(narrowed))
        return failure();
      values = *narrowed;
    }
    if (!n.isOutputUsed(1))
      return n.setResults(values);
    if (storageOrder != 0 && storageOrder != 1)
      return n.error("storage_order must be 0 or 1");
    FailureOr<Value> indices = n.make<azg::MaxPoolIndicesOp>(
        x, b.getDenseI64ArrayAttr(*kernel), b.getDenseI64ArrayAttr(strides),
        b.getDenseI64ArrayAttr(*pads), b.getDenseI64ArrayAttr(dilations), ceil,
        b.getI64IntegerAttr(storageOrder));
    if (failed(indices))
      return failure();
    return n.setResults({values, *indices});
  }
  return n.setResult(n.make<azg::AvgPoolOp>(
      n.input(0), b.getDenseI64ArrayAttr(*kernel),
      b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(*pads), ceil,
      b.getBoolAttr(n.attrInt("count_include_pad", 0) != 0),
      b.getDenseI64ArrayAttr(dilations == ones
                                 ? ArrayRef<int64_t>()
                                 : ArrayRef<int64_t>(dilations))));
}

/// GlobalAveragePool / GlobalMaxPool: a reduction over the spatial dims.
template <typename ReduceOp> LogicalResult importGlobalPool(NodeContext &n) {
  int64_t rank = cast<RankedTensorType>(n.input(0).getType()).getRank();
  SmallVector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  Builder b(n.context());
  return n.setResult(n.make<ReduceOp>(n.input(0), b.getDenseI64ArrayAttr(axes),
                                      b.getBoolAttr(true)));
}

/// Reductions; `axesAsInput` for the opsets where axes became an input.
template <typename ReduceOp, bool axesAsInput>
LogicalResult importReduce(NodeContext &n) {
  FailureOr<SmallVector<int64_t>> axesOrFailure = n.axes(axesAsInput);
  if (failed(axesOrFailure))
    return failure();
  SmallVector<int64_t> axes = *axesOrFailure;
  if (axes.empty() && n.attrInt("noop_with_empty_axes", 0))
    return n.setResults(n.input(0));
  Builder b(n.context());
  return n.setResult(n.make<ReduceOp>(n.input(0), b.getDenseI64ArrayAttr(axes),
                                      b.getBoolAttr(n.attrInt("keepdims", 1))));
}

/// Softmax. Before opset 13 the input was coerced to 2-D at `axis` (default
/// 1): equal to a softmax over the last dim only when axis is the last dim,
/// otherwise expressed as reshape, softmax, reshape.
template <typename OpTy, bool flattened>
LogicalResult importSoftmax(NodeContext &n) {
  Value input = n.input(0);
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Builder b(n.context());
  int64_t axis = n.attrInt("axis", flattened ? 1 : -1);
  FailureOr<int64_t> normalized =
      azg::normalizeAxis(axis, std::max<int64_t>(rank, 1));
  if (failed(normalized))
    return n.error("axis " + Twine(axis) + " is out of range");
  if (!flattened || *normalized == rank - 1)
    return n.setResult(n.make<OpTy>(input, b.getI64IntegerAttr(*normalized)));
  ArrayRef<int64_t> outer = type.getShape().take_front(*normalized);
  ArrayRef<int64_t> inner = type.getShape().drop_front(*normalized);
  SmallVector<int64_t> flatShape;
  if (!ShapedType::isDynamicShape(inner))
    flatShape = {-1, ShapedType::getNumElements(inner)};
  else if (!ShapedType::isDynamicShape(outer))
    flatShape = {ShapedType::getNumElements(outer), -1};
  else
    return n.error("opset < 13 Softmax over a non-last axis needs static dims "
                   "on one side of the axis");
  FailureOr<Value> shape = n.make<azg::ShapeOfOp>(input);
  FailureOr<Value> flat =
      n.make<azg::ReshapeOp>(input, n.constantI64(flatShape), UnitAttr());
  if (failed(shape) || failed(flat))
    return failure();
  FailureOr<Value> soft = n.make<OpTy>(*flat, b.getI64IntegerAttr(1));
  if (failed(soft))
    return failure();
  return n.setResult(n.make<azg::ReshapeOp>(*soft, *shape, UnitAttr()));
}

/// LayerNormalization. The optional Mean and InvStdDev outputs (the
/// statistics over the normalized dims, kept as size-1 dims) are computed
/// beside the fused op when a later node or the graph reads them.
/// Mean, centered input, variance and sqrt(variance + epsilon) of `x`
/// over `axes` (kept as size-1 dims), the statistics normalizations share.
struct Moments {
  Value mean, centered, variance, stddev;
};
FailureOr<Moments> momentsOf(NodeContext &n, Value x, ArrayRef<int64_t> axes,
                             float epsilon) {
  Builder b(n.context());
  auto mean = [&](Value v) {
    return n.make<azg::ReduceMeanOp>(v, b.getDenseI64ArrayAttr(axes),
                                     b.getBoolAttr(true));
  };
  FailureOr<Value> mu = mean(x);
  if (failed(mu))
    return failure();
  FailureOr<Value> centered = n.make<azg::SubOp>(x, *mu);
  if (failed(centered))
    return failure();
  FailureOr<Value> squared = n.make<azg::MulOp>(*centered, *centered);
  if (failed(squared))
    return failure();
  FailureOr<Value> variance = mean(*squared);
  if (failed(variance))
    return failure();
  FailureOr<Value> padded =
      n.make<azg::AddOp>(*variance, n.constantLike(x, epsilon));
  if (failed(padded))
    return failure();
  FailureOr<Value> stddev = n.make<azg::SqrtOp>(*padded);
  if (failed(stddev))
    return failure();
  return Moments{*mu, *centered, *variance, *stddev};
}

LogicalResult importLayerNorm(NodeContext &n) {
  Builder b(n.context());
  int64_t axis = n.attrInt("axis", -1);
  float epsilon = n.attrFloat("epsilon", 1e-5f);
  FailureOr<Value> y = n.make<azg::LayerNormOp>(
      n.input(0), n.input(1), n.input(2), b.getI64IntegerAttr(axis),
      b.getF32FloatAttr(epsilon));
  if (failed(y))
    return failure();
  if (!n.isOutputUsed(1) && !n.isOutputUsed(2))
    return n.setResults(*y);
  Value x = n.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  FailureOr<int64_t> first =
      azg::normalizeAxis(axis, std::max<int64_t>(rank, 1));
  if (failed(first))
    return n.error("axis " + Twine(axis) + " is out of range");
  SmallVector<int64_t> axes;
  for (int64_t i = *first; i < rank; ++i)
    axes.push_back(i);
  FailureOr<Moments> moments = momentsOf(n, x, axes, epsilon);
  if (failed(moments))
    return failure();
  FailureOr<Value> inverse = n.make<azg::ReciprocalOp>(moments->stddev);
  if (failed(inverse))
    return failure();
  return n.setResults({*y, moments->mean, *inverse});
}

LogicalResult importRmsNorm(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::RmsNormOp>(
      n.input(0), n.input(1), b.getI64IntegerAttr(n.attrInt("axis", -1)),
      b.getF32FloatAttr(n.attrFloat("epsilon", 1e-5f))));
}

/// Inference-mode BatchNormalization as elementwise ops on the per-channel
/// parameters reshaped to [C, 1, ..., 1]:
/// (x - mean) / sqrt(var + epsilon) * scale + bias.
/// Training-mode BatchNormalization (opset 14+): normalizes with the
/// batch's own mean and (population) variance over every dim but 1, and
/// also returns the running statistics updated with `momentum`.
LogicalResult importBatchNormTraining(NodeContext &n) {
  Value x = n.input(0);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  if (rank < 2)
    return n.error("input must have rank >= 2");
  SmallVector<int64_t> axes = {0};
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  SmallVector<int64_t> paramShape(rank - 1, 1);
  paramShape[0] = -1;
  Value channelShape = n.constantI64(paramShape);
  FailureOr<Moments> moments =
      momentsOf(n, x, axes, n.attrFloat("epsilon", 1e-5f));
  if (failed(moments))
    return failure();
  FailureOr<Value> normalized =
      n.make<azg::DivOp>(moments->centered, moments->stddev);
  FailureOr<Value> scale =
      n.make<azg::ReshapeOp>(n.input(1), channelShape, UnitAttr());
  FailureOr<Value> bias =
      n.make<azg::ReshapeOp>(n.input(2), channelShape, UnitAttr());
  if (failed(normalized) || failed(scale) || failed(bias))
    return failure();
  FailureOr<Value> scaled = n.make<azg::MulOp>(*normalized, *scale);
  if (failed(scaled))
    return failure();
  FailureOr<Value> y = n.make<azg::AddOp>(*scaled, *bias);
  if (failed(y))
    return failure();
  // running = running * momentum + batch * (1 - momentum), per channel.
  float momentum = n.attrFloat("momentum", 0.9f);
  auto running = [&](Value old, Value batch) -> FailureOr<Value> {
    FailureOr<Value> flat =
        n.make<azg::ReshapeOp>(batch, n.constantI64({-1}), UnitAttr());
    if (failed(flat))
      return failure();
    FailureOr<Value> kept =
        n.make<azg::MulOp>(old, n.constantLike(old, momentum));
    FailureOr<Value> added =
        n.make<azg::MulOp>(*flat, n.constantLike(old, 1 - momentum));
    if (failed(kept) || failed(added))
      return failure();
    return n.make<azg::AddOp>(*kept, *added);
  };
  FailureOr<Value> runningMean = running(n.input(3), moments->mean);
  FailureOr<Value> runningVar = running(n.input(4), moments->variance);
  if (failed(runningMean) || failed(runningVar))
    return failure();
  return n.setResults({*y, *runningMean, *runningVar});
}

LogicalResult importBatchNorm(NodeContext &n) {
  if (n.attrInt("training_mode", 0) != 0 && n.opset() >= 14)
    return importBatchNormTraining(n);
  if (n.attrInt("training_mode", 0) != 0)
    return n.error("training-mode BatchNormalization is supported from "
                   "opset 14");
  if (n.isOutputUsed(1))
    return n.error("the running mean and variance outputs need training "
                   "mode (opset 14, training_mode = 1)");
  int64_t rank = cast<RankedTensorType>(n.input(0).getType()).getRank();
  if (rank < 2)
    return n.error("input must have rank >= 2");
  SmallVector<int64_t> paramShape(rank - 1, 1);
  paramShape[0] = -1;
  Value shape = n.constantI64(paramShape);
  auto channelwise = [&](size_t i) {
    return n.make<azg::ReshapeOp>(n.input(i), shape, UnitAttr());
  };
  FailureOr<Value> scale = channelwise(1), bias = channelwise(2),
                   mean = channelwise(3), var = channelwise(4);
  if (failed(scale) || failed(bias) || failed(mean) || failed(var))
    return failure();
  Value epsilon = n.constantLike(n.input(0), n.attrFloat("epsilon", 1e-5f));
  FailureOr<Value> centered = n.make<azg::SubOp>(n.input(0), *mean);
  FailureOr<Value> padded = n.make<azg::AddOp>(*var, epsilon);
  if (failed(centered) || failed(padded))
    return failure();
  FailureOr<Value> stddev = n.make<azg::SqrtOp>(*padded);
  if (failed(stddev))
    return failure();
  FailureOr<Value> normalized = n.make<azg::DivOp>(*centered, *stddev);
  if (failed(normalized))
    return failure();
  FailureOr<Value> scaled = n.make<azg::MulOp>(*normalized, *scale);
  if (failed(scaled))
    return failure();
  return n.setResult(n.make<azg::AddOp>(*scaled, *bias));
}

/// Activations with float parameters: each (ONNX name, default) pair
/// becomes the op's attribute of the same name, lower-cased.
template <typename OpTy>
LogicalResult
importParamUnary(NodeContext &n,
                 ArrayRef<std::pair<const char *, float>> params) {
  Builder b(n.context());
  SmallVector<NamedAttribute> attrs;
  for (auto [name, otherwise] : params)
    attrs.push_back(
        b.getNamedAttr(StringRef(name).lower(),
                       b.getF32FloatAttr(n.attrFloat(name, otherwise))));
  FailureOr<Operation *> op = n.create<OpTy>(1, n.input(0));
  if (failed(op))
    return failure();
  for (NamedAttribute attr : attrs)
    (*op)->setAttr(attr.getName(), attr.getValue());
  return n.setResults((*op)->getResults());
}

LogicalResult importIsInf(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::IsInfOp>(
      n.input(0), b.getBoolAttr(n.attrInt("detect_positive", 1) != 0),
      b.getBoolAttr(n.attrInt("detect_negative", 1) != 0)));
}

LogicalResult importPRelu(NodeContext &n) {
  Value slope = n.input(1);
  // Before opset 7 a 1-D slope held one value per channel (dim 1).
  auto input = cast<RankedTensorType>(n.input(0).getType());
  auto slopeType = cast<RankedTensorType>(slope.getType());
  if (n.opset() < 7 && slopeType.getRank() == 1 && input.getRank() > 2 &&
      slopeType.getDimSize(0) != 1 &&
      slopeType.getDimSize(0) == input.getDimSize(1)) {
    SmallVector<int64_t> shape(input.getRank() - 1, 1);
    shape[0] = -1;
    FailureOr<Value> channels =
        n.make<azg::ReshapeOp>(slope, n.constantI64(shape), UnitAttr());
    if (failed(channels))
      return failure();
    slope = *channels;
  }
  return n.setResult(n.make<azg::PReluOp>(n.input(0), slope));
}

LogicalResult importMod(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::ModOp>(n.input(0), n.input(1),
                                        b.getBoolAttr(n.attrInt("fmod", 0))));
}

LogicalResult importBitShift(NodeContext &n) {
  std::string direction = n.attrString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    return n.error("direction must be LEFT or RIGHT, got '" + direction + "'");
  Builder b(n.context());
  return n.setResult(n.make<azg::BitShiftOp>(
      n.input(0), n.input(1), b.getBoolAttr(direction == "LEFT")));
}

/// Mish: x * tanh(softplus(x)).
LogicalResult importMish(NodeContext &n) {
  FailureOr<Value> softplus = n.make<azg::SoftplusOp>(n.input(0));
  if (failed(softplus))
    return failure();
  FailureOr<Value> tanh = n.make<azg::TanhOp>(*softplus);
  if (failed(tanh))
    return failure();
  return n.setResult(n.make<azg::MulOp>(n.input(0), *tanh));
}

/// BitCast: the input's bytes as `to`, a type of the same size.
LogicalResult importBitCast(NodeContext &n) {
  Type to = convertElementType(n.attrInt("to", 0), n.context());
  Type from = getElementTypeOrSelf(n.input(0).getType());
  if (!to || isStorageOnlyType(to) || isStorageOnlyType(from))
    return n.error("unsupported target type " + Twine(n.attrInt("to", 0)));
  auto bytes = [](Type t) {
    return std::max(1u, t.getIntOrFloatBitWidth() / 8);
  };
  if (bytes(from) != bytes(to))
    return n.error("BitCast needs types of the same size");
  return n.setResult(n.make<azg::BitcastOp>(n.input(0), TypeAttr::get(to)));
}

template <typename OpTy> LogicalResult importArgReduce(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(
      n.make<OpTy>(n.input(0), b.getI64IntegerAttr(n.attrInt("axis", 0)),
                   b.getBoolAttr(n.attrInt("keepdims", 1) != 0),
                   b.getBoolAttr(n.attrInt("select_last_index", 0) != 0)));
}

/// CumSum or CumProd with a computed axis: the result along every axis,
/// the one at the given axis selected by where().
template <typename OpTy>
LogicalResult importCumulativeComputedAxis(NodeContext &n) {
  Value x = n.input(0), axis = n.input(1);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  if (cast<RankedTensorType>(axis.getType()).getNumElements() != 1)
    return n.error("axis must be a single value");
  if (rank == 0)
    return n.error(n.node().op_type() + " needs an input of rank >= 1");
  Builder b(n.context());
  Type axisElement = getElementTypeOrSelf(axis.getType());
  FailureOr<Value> result = failure();
  // Negative axes count from the back: axis i matches i and i - rank.
  for (int64_t i = rank - 1; i >= 0; --i) {
    FailureOr<Value> sum =
        n.make<OpTy>(x, b.getI64IntegerAttr(i),
                     b.getBoolAttr(n.attrInt("exclusive", 0) != 0),
                     b.getBoolAttr(n.attrInt("reverse", 0) != 0));
    if (failed(sum))
      return failure();
    if (failed(result)) {
      result = sum; // the last axis is the fallback for out-of-range axes
      continue;
    }
    FailureOr<Value> isAxis =
        n.make<azg::EqualOp>(axis, n.constantScalar(axisElement, i));
    FailureOr<Value> isNegative =
        n.make<azg::EqualOp>(axis, n.constantScalar(axisElement, i - rank));
    if (failed(isAxis) || failed(isNegative))
      return failure();
    FailureOr<Value> match = n.make<azg::OrOp>(*isAxis, *isNegative);
    if (failed(match))
      return failure();
    FailureOr<Value> scalar =
        n.make<azg::ReshapeOp>(*match, n.constantI64({}), UnitAttr());
    if (failed(scalar))
      return failure();
    result = n.make<azg::WhereOp>(*scalar, *sum, *result);
    if (failed(result))
      return failure();
  }
  return n.setResult(result);
}

template <typename OpTy> LogicalResult importCumulative(NodeContext &n) {
  if (!matchPattern(n.input(1), m_Constant()))
    return importCumulativeComputedAxis<OpTy>(n);
  FailureOr<SmallVector<int64_t>> axis = n.constantInts(1, "axis");
  if (failed(axis))
    return failure();
  if (axis->size() != 1)
    return n.error("axis must be a single value");
  Builder b(n.context());
  return n.setResult(n.make<OpTy>(n.input(0),
                                  b.getI64IntegerAttr(axis->front()),
                                  b.getBoolAttr(n.attrInt("exclusive", 0) != 0),
                                  b.getBoolAttr(n.attrInt("reverse", 0) != 0)));
}

LogicalResult importLrn(NodeContext &n) {
  if (!n.attr("size"))
    return n.error("size is required");
  Builder b(n.context());
  return n.setResult(
      n.make<azg::LrnOp>(n.input(0), b.getI64IntegerAttr(n.attrInt("size", 0)),
                         b.getF32FloatAttr(n.attrFloat("alpha", 1e-4f)),
                         b.getF32FloatAttr(n.attrFloat("beta", 0.75f)),
                         b.getF32FloatAttr(n.attrFloat("bias", 1.0f))));
}

/// Size: the element count, as the product of the shape.
LogicalResult importSize(NodeContext &n) {
  auto type = cast<RankedTensorType>(n.input(0).getType());
  if (type.hasStaticShape())
    return n.setResults(n.constantI64({type.getNumElements()}, true));
  FailureOr<Value> shape = n.make<azg::ShapeOfOp>(n.input(0));
  if (failed(shape))
    return failure();
  Builder b(n.context());
  return n.setResult(n.make<azg::ReduceProdOp>(
      *shape, b.getDenseI64ArrayAttr({}), b.getBoolAttr(false)));
}

LogicalResult importCastLike(NodeContext &n) {
  Type to = getElementTypeOrSelf(n.input(1).getType());
  return n.setResult(castNode(n, n.input(0), to));
}

/// Mean: the sum of the inputs divided by their count.
LogicalResult importMean(NodeContext &n) {
  Value sum = n.input(0);
  for (size_t i = 1; i < n.numInputs(); ++i) {
    FailureOr<Value> next = n.make<azg::AddOp>(sum, n.input(i));
    if (failed(next))
      return failure();
    sum = *next;
  }
  if (n.numInputs() == 1)
    return n.setResults(sum);
  return n.setResult(
      n.make<azg::DivOp>(sum, n.constantLike(sum, double(n.numInputs()))));
}
} // namespace

FailureOr<ConvWindow> azc::onnx_frontend::convWindow(NodeContext &n,
                                                     RankedTensorType input,
                                                     RankedTensorType weight) {
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || weight.getRank() != input.getRank())
    return n.error("needs input and weight of equal rank >= 3");
  SmallVector<int64_t> kernel =
      n.attrInts("kernel_shape")
          .value_or(SmallVector<int64_t>(weight.getShape().drop_front(2)));
  SmallVector<int64_t> ones(spatial, 1);
  ConvWindow window;
  window.strides = n.attrInts("strides").value_or(ones);
  window.dilations = n.attrInts("dilations").value_or(ones);
  FailureOr<SmallVector<int64_t>> pads =
      windowPads(n, input, kernel, window.strides, window.dilations);
  if (failed(pads))
    return failure();
  window.pads = *pads;
  return window;
}

FailureOr<SmallVector<int64_t>> azc::onnx_frontend::windowPads(
    NodeContext &n, RankedTensorType input, ArrayRef<int64_t> kernel,
    ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  int64_t spatial = kernel.size();
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    SmallVector<int64_t> pads =
        n.attrInts("pads").value_or(SmallVector<int64_t>(2 * spatial, 0));
    if ((int64_t)pads.size() != 2 * spatial)
      return n.error("pads has " + Twine(pads.size()) + " entries, expected " +
                     Twine(2 * spatial));
    return pads;
  }
  if (autoPad == "VALID")
    return SmallVector<int64_t>(2 * spatial, 0);
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return n.error("unknown auto_pad '" + autoPad + "'");
  SmallVector<int64_t> pads(2 * spatial, 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = input.getDimSize(i + 2);
    if (ShapedType::isDynamic(in))
      return n.error("auto_pad=" + autoPad + " needs static spatial dims");
    int64_t out = (in + strides[i] - 1) / strides[i];
    int64_t total = std::max<int64_t>(
        (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - in, 0);
    int64_t small = total / 2, large = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : large;
    pads[i + spatial] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

void azc::onnx_frontend::addMathImporters(std::vector<OpImporter> &t) {
  // minInputs: how many leading inputs must be present.
  auto add = [&](const char *op, int64_t since, ImportFn fn,
                 int minInputs = 1) {
    t.push_back({"", op, since, std::move(fn), minInputs});
  };
  add("Add", 1, importBinary<azg::AddOp>, 2);
  add("Sub", 1, importBinary<azg::SubOp>, 2);
  add("Mul", 1, importBinary<azg::MulOp>, 2);
  add("Div", 1, importBinary<azg::DivOp>, 2);
  add("Pow", 1, importPow, 2);
  add("Equal", 1, importBinary<azg::EqualOp>, 2);
  add("Less", 1, importBinary<azg::LessOp>, 2);
  add("LessOrEqual", 12, importBinary<azg::LessEqualOp>, 2);
  add("Greater", 1, importBinary<azg::GreaterOp>, 2);
  add("GreaterOrEqual", 12, importBinary<azg::GreaterEqualOp>, 2);
  add("And", 1, importBinary<azg::AndOp>, 2);
  add("Or", 1, importBinary<azg::OrOp>, 2);
  add("Max", 1, importVariadic<azg::MaxOp>);
  add("Min", 1, importVariadic<azg::MinOp>);
  add("Sum", 1, importVariadic<azg::AddOp>);
  add("Neg", 1, importUnary<azg::NegOp>);
  add("Abs", 1, importUnary<azg::AbsOp>);
  add("Not", 1, importUnary<azg::NotOp>);
  add("Exp", 1, importUnary<azg::ExpOp>);
  add("Log", 1, importUnary<azg::LogOp>);
  add("Sqrt", 1, importUnary<azg::SqrtOp>);
  add("Reciprocal", 1, importUnary<azg::ReciprocalOp>);
  add("Erf", 9, importUnary<azg::ErfOp>);
  add("Tanh", 1, importUnary<azg::TanhOp>);
  add("Sigmoid", 1, importUnary<azg::SigmoidOp>);
  add("Relu", 1, importUnary<azg::ReluOp>);
  add("Floor", 1, importUnary<azg::FloorOp>);
  add("Ceil", 1, importUnary<azg::CeilOp>);
  add("Acos", 7, importUnary<azg::AcosOp>);
  add("Asin", 7, importUnary<azg::AsinOp>);
  add("Atan", 7, importUnary<azg::AtanOp>);
  add("Cos", 7, importUnary<azg::CosOp>);
  add("Sin", 7, importUnary<azg::SinOp>);
  add("Tan", 7, importUnary<azg::TanOp>);
  add("Cosh", 9, importUnary<azg::CoshOp>);
  add("Sinh", 9, importUnary<azg::SinhOp>);
  add("Acosh", 9, importUnary<azg::AcoshOp>);
  add("Asinh", 9, importUnary<azg::AsinhOp>);
  add("Atanh", 9, importUnary<azg::AtanhOp>);
  add("Softplus", 1, importUnary<azg::SoftplusOp>);
  add("Softsign", 1, importUnary<azg::SoftsignOp>);
  add("HardSwish", 14, importUnary<azg::HardSwishOp>);
  add("Round", 11, importUnary<azg::RoundOp>);
  add("Sign", 9, importUnary<azg::SignOp>);
  add("IsNaN", 9, importUnary<azg::IsNanOp>);
  add("IsInf", 10, importIsInf);
  add("LeakyRelu", 1, [](NodeContext &n) {
    return importParamUnary<azg::LeakyReluOp>(n, {{"alpha", 0.01f}});
  });
  add("Elu", 1, [](NodeContext &n) {
    return importParamUnary<azg::EluOp>(n, {{"alpha", 1.0f}});
  });
  add("Selu", 1, [](NodeContext &n) {
    return importParamUnary<azg::SeluOp>(
        n, {{"alpha", 1.67326319217681884765625f},
            {"gamma", 1.05070102214813232421875f}});
  });
  add("HardSigmoid", 1, [](NodeContext &n) {
    return importParamUnary<azg::HardSigmoidOp>(
        n, {{"alpha", 0.2f}, {"beta", 0.5f}});
  });
  add("ThresholdedRelu", 10, [](NodeContext &n) {
    return importParamUnary<azg::ThresholdedReluOp>(n, {{"alpha", 1.0f}});
  });
  add("Celu", 12, [](NodeContext &n) {
    return importParamUnary<azg::CeluOp>(n, {{"alpha", 1.0f}});
  });
  add("PRelu", 1, importPRelu, 2);
  add("Mod", 10, importMod, 2);
  add("Det", 11, importUnary<azg::DetOp>);
  add("BitShift", 11, importBitShift, 2);
  add("Xor", 7, importBinary<azg::XorOp>, 2);
  add("BitwiseAnd", 18, importBinary<azg::BitwiseAndOp>, 2);
  add("BitwiseOr", 18, importBinary<azg::BitwiseOrOp>, 2);
  add("BitwiseXor", 18, importBinary<azg::BitwiseXorOp>, 2);
  add("BitwiseNot", 18, importUnary<azg::BitwiseNotOp>);
  add("BitCast", 26, importBitCast);
  add("ArgMax", 1, importArgReduce<azg::ArgMaxOp>);
  add("ArgMin", 1, importArgReduce<azg::ArgMinOp>);
  add("CumSum", 11, importCumulative<azg::CumSumOp>, 2);
  add("CumProd", 26, importCumulative<azg::CumProdOp>, 2);
  add("Size", 1, importSize);
  add("LRN", 1, importLrn);
  add("CastLike", 15, importCastLike, 2);
  add("Mean", 1, importMean);
  add("Gelu", 20, importGelu);
  add("Mish", 18, importMish);
  t.push_back({"", "Identity", 1, importIdentity, 1, /*takesNonTensors=*/true});
  add("Dropout", 1, importDropout);
  add("Clip", 1, importClip);
  add("Where", 9, importWhere, 3);
  add("Cast", 1, importCast);
  add("MatMul", 1, importMatMul, 2);
  add("Gemm", 1, importGemm, 2);
  add("Conv", 1, importConv, 2);
  add("ConvTranspose", 1, importConvTranspose, 2);
  add("GridSample", 16, importGridSample, 2);
  add("Resize", 10, importResize);
  add("RoiAlign", 10, importRoiAlign, 3);
  add("Upsample", 7, importResize);
  add("MaxPool", 1, importPool<true>);
  add("AveragePool", 1, importPool<false>);
  add("GlobalAveragePool", 1, importGlobalPool<azg::ReduceMeanOp>);
  add("GlobalMaxPool", 1, importGlobalPool<azg::ReduceMaxOp>);
  add("ReduceSum", 1, importReduce<azg::ReduceSumOp, false>);
  add("ReduceSum", 13, importReduce<azg::ReduceSumOp, true>);
  add("ReduceMean", 1, importReduce<azg::ReduceMeanOp, false>);
  add("ReduceMean", 18, importReduce<azg::ReduceMeanOp, true>);
  add("ReduceMax", 1, importReduce<azg::ReduceMaxOp, false>);
  add("ReduceMax", 18, importReduce<azg::ReduceMaxOp, true>);
  add("ReduceMin", 1, importReduce<azg::ReduceMinOp, false>);
  add("ReduceMin", 18, importReduce<azg::ReduceMinOp, true>);
  add("ReduceProd", 1, importReduce<azg::ReduceProdOp, false>);
  add("ReduceProd", 18, importReduce<azg::ReduceProdOp, true>);
  add("ReduceL1", 1, importReduce<azg::ReduceL1Op, false>);
  add("ReduceL1", 18, importReduce<azg::ReduceL1Op, true>);
  add("ReduceL2", 1, importReduce<azg::ReduceL2Op, false>);
  add("ReduceL2", 18, importReduce<azg::ReduceL2Op, true>);
  add("ReduceLogSum", 1, importReduce<azg::ReduceLogSumOp, false>);
  add("ReduceLogSum", 18, importReduce<azg::ReduceLogSumOp, true>);
  add("ReduceLogSumExp", 1, importReduce<azg::ReduceLogSumExpOp, false>);
  add("ReduceLogSumExp", 18, importReduce<azg::ReduceLogSumExpOp, true>);
  add("ReduceSumSquare", 1, importReduce<azg::ReduceSumSquareOp, false>);
  add("ReduceSumSquare", 18, importReduce<azg::ReduceSumSquareOp, true>);
  add("Softmax", 1, importSoftmax<azg::SoftmaxOp, true>);
  add("Softmax", 13, importSoftmax<azg::SoftmaxOp, false>);
  add("LogSoftmax", 1, importSoftmax<azg::LogSoftmaxOp, true>);
  add("LogSoftmax", 13, importSoftmax<azg::LogSoftmaxOp, false>);
  add("Hardmax", 1, importSoftmax<azg::HardmaxOp, true>);
  add("Hardmax", 13, importSoftmax<azg::HardmaxOp, false>);
  add("LayerNormalization", 17, importLayerNorm, 2);
  add("RMSNormalization", 23, importRmsNorm, 2);
  add("BatchNormalization", 1, importBatchNorm, 5);
}
