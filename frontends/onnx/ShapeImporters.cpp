//===- ShapeImporters.cpp - ONNX shape and data-movement ops to azg -------===//
//
// Importers for the ops that move data or compute shapes. ONNX turned most
// of their attributes into inputs over the opsets (Slice at 10, Squeeze,
// Unsqueeze and Split at 13); each version has its own entry.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "llvm/ADT/Sequence.h"

#include <numeric>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

LogicalResult importReshape(NodeContext &n) {
  UnitAttr allowZero =
      n.attrInt("allowzero", 0) ? UnitAttr::get(n.context()) : UnitAttr();
  return n.setResult(n.make<azg::ReshapeOp>(n.input(0), n.input(1), allowZero));
}

LogicalResult importFlatten(NodeContext &n) {
  RankedTensorType type = typeOf(n.input(0));
  int64_t rank = type.getRank();
  int64_t axis = n.attrInt("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return n.error("axis " + Twine(n.attrInt("axis", 1)) + " is out of range");
  ArrayRef<int64_t> outer = type.getShape().take_front(axis);
  ArrayRef<int64_t> inner = type.getShape().drop_front(axis);
  SmallVector<int64_t> shape;
  if (!ShapedType::isDynamicShape(outer))
    shape = {ShapedType::getNumElements(outer), -1};
  else if (!ShapedType::isDynamicShape(inner))
    shape = {-1, ShapedType::getNumElements(inner)};
  else if (axis == 1)
    shape = {0, -1}; // 0 copies the (dynamic) batch dim.
  else
    return n.error("Flatten needs static dims on one side of the axis");
  return n.setResult(
      n.make<azg::ReshapeOp>(n.input(0), n.constantI64(shape), UnitAttr()));
}

LogicalResult importTranspose(NodeContext &n) {
  int64_t rank = typeOf(n.input(0)).getRank();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> given = n.attrInts("perm"))
    perm = *given;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  Builder b(n.context());
  return n.setResult(
      n.make<azg::TransposeOp>(n.input(0), b.getDenseI64ArrayAttr(perm)));
}

LogicalResult importConcat(NodeContext &n) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n.numInputs(); ++i)
    inputs.push_back(n.input(i));
  if (!n.attr("axis"))
    return n.error("axis is required");
  Builder b(n.context());
  return n.setResult(n.make<azg::ConcatOp>(
      ValueRange(inputs), b.getI64IntegerAttr(n.attrInt("axis", 0))));
}

/// Slice: attributes before opset 10, inputs from 10 on. Missing axes
/// default to 0..n-1 and steps to 1.
template <bool fromInputs> LogicalResult importSlice(NodeContext &n) {
  Value starts, ends, axes, steps;
  size_t count;
  if constexpr (fromInputs) {
    starts = n.input(1);
    ends = n.input(2);
    axes = n.input(3);
    steps = n.input(4);
    count = typeOf(starts).getNumElements();
  } else {
    std::optional<SmallVector<int64_t>> s = n.attrInts("starts"),
                                        e = n.attrInts("ends"),
                                        a = n.attrInts("axes");
    if (!s || !e)
      return n.error("starts and ends are required");
    count = s->size();
    starts = n.constantI64(*s);
    ends = n.constantI64(*e);
    if (a)
      axes = n.constantI64(*a);
  }
  if (!axes) {
    SmallVector<int64_t> all;
    for (size_t i = 0; i < count; ++i)
      all.push_back(i);
    axes = n.constantI64(all);
  }
  if (!steps)
    steps = n.constantI64(SmallVector<int64_t>(count, 1));
  return n.setResult(
      n.make<azg::SliceOp>(n.input(0), starts, ends, axes, steps));
}

LogicalResult importGather(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::GatherOp>(
      n.input(0), n.input(1), b.getI64IntegerAttr(n.attrInt("axis", 0))));
}

/// Split: sizes from the `split` attribute (< 13) or input (>= 13), else
/// equal parts (the last one smaller, as opset 18 defines).
LogicalResult importSplit(NodeContext &n) {
  RankedTensorType type = typeOf(n.input(0));
  FailureOr<int64_t> normalized = n.attrAxis("axis", 0, type.getRank());
  if (failed(normalized))
    return failure();
  SmallVector<int64_t> sizes;
  if (n.opset() < 13) {
    sizes = n.attrInts("split").value_or(SmallVector<int64_t>());
  } else if (n.input(1)) {
    FailureOr<SmallVector<int64_t>> given = n.constantInts(1, "split");
    if (failed(given))
      return failure();
    sizes = *given;
  }
  if (sizes.empty()) {
    int64_t parts = n.attrInt("num_outputs", n.node().output_size());
    int64_t dim = type.getDimSize(*normalized);
    if (ShapedType::isDynamic(dim))
      return n.error("splitting a dynamic dim needs explicit sizes");
    if (parts <= 0)
      return n.error("num_outputs must be positive");
    int64_t part = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::clamp<int64_t>(dim - i * part, 0, part));
  }
  Builder b(n.context());
  // A small constant (a shape split into its dims) is split as slices,
  // which fold, so that the importers after it see constants.
  DenseElementsAttr constant;
  if (matchPattern(n.input(0), m_Constant(&constant)) &&
      std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) ==
          type.getDimSize(*normalized)) {
    SmallVector<Value> parts;
    int64_t offset = 0;
    for (int64_t size : sizes) {
      FailureOr<Value> part = n.make<azg::SliceOp>(
          n.input(0), n.constantI64({offset}), n.constantI64({offset + size}),
          n.constantI64({*normalized}), n.constantI64({1}));
      if (failed(part))
        return failure();
      parts.push_back(*part);
      offset += size;
    }
    return n.setResults(parts);
  }
  FailureOr<Operation *> op = n.create<azg::SplitOp>(
      sizes.size(), n.input(0), b.getI64IntegerAttr(*normalized),
      b.getDenseI64ArrayAttr(sizes));
  if (failed(op))
    return failure();
  return n.setResults((*op)->getResults());
}

LogicalResult importExpand(NodeContext &n) {
  return n.setResult(n.make<azg::ExpandOp>(n.input(0), n.input(1)));
}

/// Squeeze and Unsqueeze: axes attribute before opset 13, input from 13.
template <typename OpTy, bool axesAsInput>
LogicalResult importSqueezeLike(NodeContext &n) {
  FailureOr<SmallVector<int64_t>> axesOrFailure = n.axes(axesAsInput);
  if (failed(axesOrFailure))
    return failure();
  SmallVector<int64_t> axes = *axesOrFailure;
  RankedTensorType type = typeOf(n.input(0));
  if constexpr (std::is_same_v<OpTy, azg::SqueezeOp>) {
    if (axes.empty()) {
      // No axes: every size-1 dim, which must then be known.
      for (int64_t i = 0; i < type.getRank(); ++i) {
        if (type.isDynamicDim(i))
          return n.error("Squeeze without axes needs static dims");
        if (type.getDimSize(i) == 1)
          axes.push_back(i);
      }
    }
  } else if (axes.empty()) {
    return n.error("axes is required");
  }
  Builder b(n.context());
  return n.setResult(n.make<OpTy>(n.input(0), b.getDenseI64ArrayAttr(axes)));
}

/// Shape, with opset 15's optional start/end as a slice of the result.
LogicalResult importShape(NodeContext &n) {
  FailureOr<Value> shape = n.make<azg::ShapeOfOp>(n.input(0));
  if (failed(shape) || (!n.attr("start") && !n.attr("end")))
    return n.setResult(shape);
  int64_t rank = typeOf(n.input(0)).getRank();
  return n.setResult(
      n.make<azg::SliceOp>(*shape, n.constantI64({n.attrInt("start", 0)}),
                           n.constantI64({n.attrInt("end", rank)}),
                           n.constantI64({0}), n.constantI64({1})));
}

LogicalResult importConstant(NodeContext &n) {
  OpBuilder &b = n.builder();
  if (n.node().attribute_size() != 1)
    return n.error("expected exactly one value attribute");
  const onnx::AttributeProto &a = n.node().attribute(0);
  Attribute value;
  if (a.name() == "value") {
    FailureOr<ElementsAttr> tensor = n.importTensor(a.t());
    if (failed(tensor))
      return failure();
    value = *tensor;
  } else if (a.name() == "sparse_value") {
    FailureOr<ElementsAttr> tensor = n.importSparseTensor(a.sparse_tensor());
    if (failed(tensor))
      return failure();
    value = *tensor;
  } else if (a.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   a.f());
  } else if (a.name() == "value_floats") {
    SmallVector<float> floats(a.floats().begin(), a.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)floats.size()}, b.getF32Type()),
        ArrayRef<float>(floats));
  } else if (a.name() == "value_int") {
    return n.setResults(n.constantI64({a.i()}, /*scalar=*/true));
  } else if (a.name() == "value_ints") {
    return n.setResults(
        n.constantI64(SmallVector<int64_t>(a.ints().begin(), a.ints().end())));
  } else {
    return n.error("value attribute '" + a.name() + "' is not supported");
  }
  auto elements = cast<ElementsAttr>(value);
  if (isa<DenseResourceElementsAttr>(elements))
    return n.setResults(
        b.create<azg::WeightOp>(n.loc(), n.node().output(0), elements)
            .getOutput());
  return n.setResults(b.create<azg::ConstantOp>(n.loc(), elements).getOutput());
}

/// ConstantOfShape: a splat when the shape is constant, else the scalar
/// broadcast to the computed shape.
LogicalResult importConstantOfShape(NodeContext &n) {
  OpBuilder &b = n.builder();
  DenseElementsAttr fill =
      DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()), 0.0f);
  if (const onnx::AttributeProto *a = n.attr("value")) {
    FailureOr<ElementsAttr> tensor = n.importTensor(a->t());
    if (failed(tensor))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*tensor);
    if (!dense || dense.getNumElements() != 1)
      return n.error("value must hold exactly one element");
    fill = dense.reshape(RankedTensorType::get({}, dense.getElementType()));
  }
  DenseIntElementsAttr shape;
  if (matchPattern(n.input(0), m_Constant(&shape))) {
    SmallVector<int64_t> dims;
    for (const APInt &d : shape.getValues<APInt>())
      dims.push_back(d.getSExtValue());
    auto type = RankedTensorType::get(dims, fill.getElementType());
    return n.setResults(
        b.create<azg::ConstantOp>(
             n.loc(),
             DenseElementsAttr::get(type, fill.getSplatValue<Attribute>()))
            .getOutput());
  }
  Value scalar = b.create<azg::ConstantOp>(n.loc(), fill);
  return n.setResult(n.make<azg::ExpandOp>(scalar, n.input(0)));
}

LogicalResult importRange(NodeContext &n) {
  // ONNX asks for scalars, but exporters (and expanded functions) also pass
  // one-element tensors.
  SmallVector<Value> operands;
  for (size_t i = 0; i < 3; ++i) {
    Value operand = n.input(i);
    RankedTensorType type = typeOf(operand);
    if (type.getRank() > 0 && type.hasStaticShape() &&
        type.getNumElements() == 1) {
      Builder b(n.context());
      FailureOr<Value> scalar = n.make<azg::SqueezeOp>(
          operand, b.getDenseI64ArrayAttr(
                       llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()))));
      if (failed(scalar))
        return failure();
      operand = *scalar;
    }
    operands.push_back(operand);
  }
  return n.setResult(
      n.make<azg::RangeOp>(operands[0], operands[1], operands[2]));
}

/// Trilu with a computed k: where(col - row >= k (upper) or <= k (lower),
/// x, 0), the index difference a constant over the last two (static) dims.
LogicalResult importTriluComputedK(NodeContext &n) {
  Value x = n.input(0), k = n.input(1);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  if (rank < 2 || type.isDynamicDim(rank - 1) || type.isDynamicDim(rank - 2))
    return n.error("Trilu with a computed k needs static last two dims");
  if (typeOf(k).getNumElements() != 1 ||
      !typeOf(k).getElementType().isInteger(64))
    return n.error("k must be an int64 scalar");
  int64_t rows = type.getDimSize(rank - 2), cols = type.getDimSize(rank - 1);
  SmallVector<int64_t> diff;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      diff.push_back(j - i);
  Builder b(n.context());
  auto diffType = RankedTensorType::get({rows, cols}, b.getI64Type());
  Value offsets = n.builder().create<azg::ConstantOp>(
      n.loc(), DenseIntElementsAttr::get(diffType, diff));
  FailureOr<Value> keep = n.attrInt("upper", 1) != 0
                              ? n.make<azg::GreaterEqualOp>(offsets, k)
                              : n.make<azg::LessEqualOp>(offsets, k);
  if (failed(keep))
    return failure();
  return n.setResult(n.make<azg::WhereOp>(*keep, x, n.constantLike(x, 0)));
}

LogicalResult importTrilu(NodeContext &n) {
  int64_t k = 0;
  if (n.input(1)) {
    if (!matchPattern(n.input(1), m_Constant()))
      return importTriluComputedK(n);
    FailureOr<SmallVector<int64_t>> given = n.constantInts(1, "k");
    if (failed(given))
      return failure();
    if (given->size() != 1)
      return n.error("k must be a scalar");
    k = given->front();
  }
  Builder b(n.context());
  return n.setResult(n.make<azg::TriluOp>(
      n.input(0), b.getBoolAttr(n.attrInt("upper", 1) != 0),
      b.getI64IntegerAttr(k)));
}

LogicalResult importGatherElements(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::GatherElementsOp>(
      n.input(0), n.input(1), b.getI64IntegerAttr(n.attrInt("axis", 0))));
}

/// Tile with constant repeats: each dim d becomes (r, d) by unsqueeze and
/// expand, then the pairs merge by reshape.
LogicalResult importTile(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType type = typeOf(x);
  FailureOr<SmallVector<int64_t>> repeats = n.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  int64_t rank = type.getRank();
  if ((int64_t)repeats->size() != rank)
    return n.error("repeats has " + Twine(repeats->size()) +
                   " entries for rank " + Twine(rank));
  if (!type.hasStaticShape())
    return n.error("Tile needs static input dims");
  SmallVector<int64_t> axes, expanded, merged;
  for (int64_t i = 0; i < rank; ++i) {
    if ((*repeats)[i] < 0)
      return n.error("repeats must be non-negative");
    axes.push_back(2 * i);
    expanded.append({(*repeats)[i], type.getDimSize(i)});
    merged.push_back((*repeats)[i] * type.getDimSize(i));
  }
  if (rank == 0)
    return n.setResults(x);
  Builder b(n.context());
  FailureOr<Value> pairs =
      n.make<azg::UnsqueezeOp>(x, b.getDenseI64ArrayAttr(axes));
  if (failed(pairs))
    return failure();
  FailureOr<Value> copies =
      n.make<azg::ExpandOp>(*pairs, n.constantI64(expanded));
  if (failed(copies))
    return failure();
  return n.setResult(
      n.make<azg::ReshapeOp>(*copies, n.constantI64(merged), UnitAttr()));
}

/// ReverseSequence: out[t, b] = in[t < len[b] ? len[b] - 1 - t : t, b]
/// along time_axis, as a gather_elements with that index computed from
/// the lengths and broadcast to the input's (static) shape.
LogicalResult importReverseSequence(NodeContext &n) {
  Value x = n.input(0), lens = n.input(1);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  int64_t timeAxis = n.attrInt("time_axis", 0),
          batchAxis = n.attrInt("batch_axis", 1);
  if (rank < 2 || !type.hasStaticShape() ||
      !((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0)))
    return n.error("ReverseSequence needs a static input of rank >= 2 and "
                   "time and batch axes 0 and 1");
  int64_t steps = type.getDimSize(timeAxis);
  Builder b(n.context());
  SmallVector<int64_t> timeShape(rank, 1), batchShape(rank, 1);
  timeShape[timeAxis] = steps;
  batchShape[batchAxis] = -1;
  SmallVector<int64_t> positions;
  for (int64_t t = 0; t < steps; ++t)
    positions.push_back(t);
  Value t = n.builder().create<azg::ConstantOp>(
      n.loc(),
      DenseIntElementsAttr::get(
          RankedTensorType::get(timeShape, b.getI64Type()), positions));
  FailureOr<Value> lengths =
      n.make<azg::CastOp>(lens, TypeAttr::get(b.getI64Type()));
  if (failed(lengths))
    return failure();
  FailureOr<Value> column =
      n.make<azg::ReshapeOp>(*lengths, n.constantI64(batchShape), UnitAttr());
  if (failed(column))
    return failure();
  FailureOr<Value> inside = n.make<azg::LessOp>(t, *column);
  FailureOr<Value> last = n.make<azg::SubOp>(*column, n.constantI64({1}, true));
  if (failed(inside) || failed(last))
    return failure();
  FailureOr<Value> reversed = n.make<azg::SubOp>(*last, t);
  if (failed(reversed))
    return failure();
  FailureOr<Value> index = n.make<azg::WhereOp>(*inside, *reversed, t);
  if (failed(index))
    return failure();
  FailureOr<Value> full =
      n.make<azg::ExpandOp>(*index, n.constantI64(type.getShape()));
  if (failed(full))
    return failure();
  return n.setResult(
      n.make<azg::GatherElementsOp>(x, *full, b.getI64IntegerAttr(timeAxis)));
}

/// TopK with a constant k (an attribute before opset 10, an input from
/// 10). sorted = 0 allows any order; the result is sorted regardless.
LogicalResult importTopK(NodeContext &n) {
  int64_t k;
  if (n.opset() < 10) {
    if (!n.attr("k"))
      return n.error("k is required");
    k = n.attrInt("k", 0);
  } else {
    FailureOr<SmallVector<int64_t>> given = n.constantInts(1, "k");
    if (failed(given))
      return failure();
    if (given->size() != 1)
      return n.error("k must hold one value");
    k = given->front();
  }
  Builder b(n.context());
  FailureOr<Operation *> op =
      n.create<azg::TopKOp>(2, n.input(0), b.getI64IntegerAttr(k),
                            b.getI64IntegerAttr(n.attrInt("axis", -1)),
                            b.getBoolAttr(n.attrInt("largest", 1) != 0));
  if (failed(op))
    return failure();
  return n.setResults((*op)->getResults());
}

/// OneHot with a constant depth: where(index == d, on, off) with the index
/// (negative ones counted from depth) compared against 0..depth-1 laid
/// along `axis`; out-of-range indices give all `off`.
LogicalResult importOneHot(NodeContext &n) {
  Value indices = n.input(0), values = n.input(2);
  DenseElementsAttr depthAttr;
  if (!matchPattern(n.input(1), m_Constant(&depthAttr)) ||
      depthAttr.getNumElements() != 1)
    return n.error("depth (input 1) must be a constant scalar; computed "
                   "values are not supported");
  int64_t depth =
      isa<FloatType>(depthAttr.getElementType())
          ? int64_t(depthAttr.getSplatValue<APFloat>().convertToDouble())
          : depthAttr.getSplatValue<APInt>().getSExtValue();
  if (depth < 1)
    return n.error("depth must be positive");
  if (typeOf(values).getNumElements() != 2)
    return n.error("values must hold [off, on]");
  int64_t rank = typeOf(indices).getRank() + 1;
  FailureOr<int64_t> normalized = n.attrAxis("axis", -1, rank);
  if (failed(normalized))
    return failure();
  Builder b(n.context());
  FailureOr<Value> index =
      n.make<azg::CastOp>(indices, TypeAttr::get(b.getI64Type()));
  if (failed(index))
    return failure();
  FailureOr<Value> negative =
      n.make<azg::LessOp>(*index, n.constantI64({0}, true));
  FailureOr<Value> wrapped =
      n.make<azg::AddOp>(*index, n.constantI64({depth}, true));
  if (failed(negative) || failed(wrapped))
    return failure();
  FailureOr<Value> adjusted = n.make<azg::WhereOp>(*negative, *wrapped, *index);
  if (failed(adjusted))
    return failure();
  FailureOr<Value> expanded = n.make<azg::UnsqueezeOp>(
      *adjusted, b.getDenseI64ArrayAttr({*normalized}));
  if (failed(expanded))
    return failure();
  SmallVector<int64_t> positions, shape(rank, 1);
  for (int64_t d = 0; d < depth; ++d)
    positions.push_back(d);
  shape[*normalized] = depth;
  Value classes = n.builder().create<azg::ConstantOp>(
      n.loc(), DenseIntElementsAttr::get(
                   RankedTensorType::get(shape, b.getI64Type()), positions));
  FailureOr<Value> hot = n.make<azg::EqualOp>(*expanded, classes);
  FailureOr<Value> flat =
      n.make<azg::ReshapeOp>(values, n.constantI64({2}), UnitAttr());
  if (failed(hot) || failed(flat))
    return failure();
  FailureOr<Value> off = n.make<azg::GatherOp>(*flat, n.constantI64({0}, true),
                                               b.getI64IntegerAttr(0));
  FailureOr<Value> on = n.make<azg::GatherOp>(*flat, n.constantI64({1}, true),
                                              b.getI64IntegerAttr(0));
  if (failed(off) || failed(on))
    return failure();
  return n.setResult(n.make<azg::WhereOp>(*hot, *on, *off));
}

LogicalResult importGatherND(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::GatherNDOp>(
      n.input(0), n.input(1), b.getI64IntegerAttr(n.attrInt("batch_dims", 0))));
}

LogicalResult importScatterND(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::ScatterNDOp>(
      n.input(0), n.input(1), n.input(2),
      b.getStringAttr(n.attrString("reduction", "none"))));
}

/// ScatterElements, and its opset 9 name Scatter.
LogicalResult importScatterElements(NodeContext &n) {
  Builder b(n.context());
  return n.setResult(n.make<azg::ScatterElementsOp>(
      n.input(0), n.input(1), n.input(2),
      b.getI64IntegerAttr(n.attrInt("axis", 0)),
      b.getStringAttr(n.attrString("reduction", "none"))));
}

/// TensorScatter (a KV cache write): update's positions 0..S-1 along
/// `axis` land at write_indices[b] + s of batch b (modulo the cache length
/// in circular mode). That is ScatterElements with those indices broadcast
/// to update's shape.
LogicalResult importTensorScatter(NodeContext &n) {
  Value cache = n.input(0), update = n.input(1);
  RankedTensorType cacheType = typeOf(cache), updateType = typeOf(update);
  int64_t rank = cacheType.getRank();
  std::string mode = n.attrString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    return n.error("mode must be linear or circular, got '" + mode + "'");
  FailureOr<int64_t> axis = azg::normalizeAxis(n.attrInt("axis", -2), rank);
  if (failed(axis) || *axis == 0 || updateType.getRank() != rank ||
      !updateType.hasStaticShape() || !cacheType.hasStaticShape())
    return n.error("needs static cache and update of equal rank and an axis "
                   "after the batch dim");
  int64_t length = updateType.getDimSize(*axis);
  int64_t capacity = cacheType.getDimSize(*axis);
  Builder b(n.context());
  Type i64 = b.getI64Type();
  SmallVector<int64_t> along(rank, 1);
  along[*axis] = length;
  if (failed(n.checkSynthesizedSize({length}, "the position index")))
    return failure();
  SmallVector<double> steps;
  for (int64_t s = 0; s < length; ++s)
    steps.push_back(double(s));
  Value index = n.constantTensor(i64, along, steps);
  if (Value start = n.input(2)) {
    SmallVector<int64_t> perBatch(rank, 1);
    perBatch[0] = -1;
    FailureOr<Value> wide =
        getElementTypeOrSelf(start.getType()) == i64
            ? FailureOr<Value>(start)
            : n.make<azg::CastOp>(start, TypeAttr::get(i64));
    if (failed(wide))
      return failure();
    FailureOr<Value> shaped =
        n.make<azg::ReshapeOp>(*wide, n.constantI64(perBatch), UnitAttr());
    if (failed(shaped))
      return failure();
    FailureOr<Value> sum = n.make<azg::AddOp>(*shaped, index);
    if (failed(sum))
      return failure();
    index = *sum;
  }
  if (mode == "circular") {
    FailureOr<Value> wrapped = n.make<azg::ModOp>(
        index, n.constantScalar(i64, double(capacity)), b.getBoolAttr(false));
    if (failed(wrapped))
      return failure();
    index = *wrapped;
  }
  FailureOr<Value> indices =
      n.make<azg::ExpandOp>(index, n.constantI64(updateType.getShape()));
  if (failed(indices))
    return failure();
  return n.setResult(n.make<azg::ScatterElementsOp>(cache, *indices, update,
                                                    b.getI64IntegerAttr(*axis),
                                                    b.getStringAttr("none")));
}

/// Pad: pads and the fill value are attributes before opset 11, inputs
/// from 11 on (where they must be constants).
LogicalResult importPad(NodeContext &n) {
  std::string mode = n.attrString("mode", "constant");
  SmallVector<int64_t> pads;
  double value = 0;
  if (n.opset() < 11) {
    pads = n.attrInts("pads").value_or(SmallVector<int64_t>());
    value = n.attrFloat("value", 0.0f);
  } else {
    FailureOr<SmallVector<int64_t>> given = n.constantInts(1, "pads");
    if (failed(given))
      return failure();
    pads = *given;
    if (n.input(3)) {
      // Opset 18's axes: pads holds begins then ends for these axes only.
      FailureOr<SmallVector<int64_t>> axes = n.constantInts(3, "axes");
      if (failed(axes))
        return failure();
      int64_t rank = cast<RankedTensorType>(n.input(0).getType()).getRank();
      int64_t count = axes->size();
      if ((int64_t)pads.size() != 2 * count)
        return n.error("pads needs a begin and an end for each of the " +
                       Twine(count) + " axes");
      SmallVector<int64_t> full(2 * rank, 0);
      SmallVector<bool> seen(rank, false);
      for (auto [i, axis] : llvm::enumerate(*axes)) {
        FailureOr<int64_t> d = azg::normalizeAxis(axis, rank);
        if (failed(d) || seen[*d])
          return n.error("axis " + Twine(axis) +
                         " is out of range or repeated");
        seen[*d] = true;
        full[*d] = pads[i];
        full[rank + *d] = pads[count + i];
      }
      pads = full;
    }
    if (Value fill = n.input(2)) {
      DenseElementsAttr attr;
      if (!matchPattern(fill, m_Constant(&attr)))
        return n.error("constant_value (input 2) must be a constant; "
                       "computed values are not supported");
      if (attr.getNumElements() != 1)
        return n.error("constant_value must be a scalar");
      value = isa<FloatType>(attr.getElementType())
                  ? attr.getSplatValue<APFloat>().convertToDouble()
                  : double(attr.getSplatValue<APInt>().getSExtValue());
    }
  }
  Builder b(n.context());
  return n.setResult(
      n.make<azg::PadOp>(n.input(0), b.getDenseI64ArrayAttr(pads),
                         b.getStringAttr(mode), b.getF64FloatAttr(value)));
}
} // namespace

void azc::onnx_frontend::addShapeImporters(std::vector<OpImporter> &t) {
  // minInputs: how many leading inputs must be present.
  auto add = [&](const char *op, int64_t since, ImportFn fn,
                 int minInputs = 1) {
    t.push_back({"", op, since, std::move(fn), minInputs});
  };
  add("Reshape", 5, importReshape, 2);
  add("Flatten", 1, importFlatten);
  add("Transpose", 1, importTranspose);
  add("Concat", 1, importConcat);
  add("Slice", 1, importSlice<false>);
  add("Slice", 10, importSlice<true>, 3);
  add("Gather", 1, importGather, 2);
  add("Split", 1, importSplit);
  add("Expand", 8, importExpand, 2);
  add("Squeeze", 1, importSqueezeLike<azg::SqueezeOp, false>);
  add("Squeeze", 13, importSqueezeLike<azg::SqueezeOp, true>);
  add("Unsqueeze", 1, importSqueezeLike<azg::UnsqueezeOp, false>);
  add("Unsqueeze", 13, importSqueezeLike<azg::UnsqueezeOp, true>);
  add("Shape", 1, importShape);
  add("Constant", 1, importConstant, 0);
  add("ConstantOfShape", 9, importConstantOfShape);
  add("Range", 11, importRange, 3);
  add("Trilu", 14, importTrilu);
  add("GatherElements", 11, importGatherElements, 2);
  add("GatherND", 11, importGatherND, 2);
  add("Tile", 6, importTile, 2);
  add("TopK", 1, importTopK);
  add("OneHot", 9, importOneHot, 3);
  add("ReverseSequence", 10, importReverseSequence, 2);
  add("ScatterND", 11, importScatterND, 3);
  add("ScatterElements", 11, importScatterElements, 3);
  add("Scatter", 9, importScatterElements, 3);
  add("Pad", 2, importPad);
  add("Pad", 11, importPad, 2);
  add("TensorScatter", 24, importTensorScatter, 2);
}
