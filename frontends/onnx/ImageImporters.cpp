//===- ImageImporters.cpp - ONNX image ops composed of azg ops ------------===//
//
// Ops on N x C x D1 ... tensors that other azg ops express exactly:
// LpPool (average pooling of |x|^p times the tap count), Col2Im (a
// transposed convolution with one-hot weights), AffineGrid (a constant grid
// times theta), CenterCropPad (slice, then pad), GroupNormalization and
// LpNormalization (reductions).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include <numeric>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// x^p for the integer powers pooling and norms use: x * x for 2, else Pow.
FailureOr<Value> power(NodeContext &n, Value x, double p) {
  if (p == 1)
    return x;
  if (p == 2)
    return n.make<azg::MulOp>(x, x);
  return n.make<azg::PowOp>(x, n.constantLike(x, p));
}

/// x^(1/p): Sqrt for 2.
FailureOr<Value> root(NodeContext &n, Value x, double p) {
  if (p == 1)
    return x;
  if (p == 2)
    return n.make<azg::SqrtOp>(x);
  return n.make<azg::PowOp>(x, n.constantLike(x, 1.0 / p));
}

/// LpPool: (sum over each window of |x|^p)^(1/p). The sum is an average
/// pool that counts the zero padding, times the window's tap count (the
/// backend tests' definition; padding adds nothing to the sum).
LogicalResult importLpPool(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType input = typeOf(x);
  std::optional<SmallVector<int64_t>> kernel = n.attrInts("kernel_shape");
  if (!kernel)
    return n.error("kernel_shape is required");
  if (n.attrInt("ceil_mode", 0) != 0)
    return n.error("LpPool with ceil_mode is not supported: a window past "
                   "the padded input has fewer taps");
  double p = double(n.attrInt("p", 2));
  if (p < 1)
    return n.error("p must be a positive integer");
  SmallVector<int64_t> ones(kernel->size(), 1);
  SmallVector<int64_t> strides = n.attrInts("strides").value_or(ones);
  SmallVector<int64_t> dilations = n.attrInts("dilations").value_or(ones);
  FailureOr<SmallVector<int64_t>> pads =
      windowPads(n, input, *kernel, strides, dilations);
  if (failed(pads))
    return failure();
  Builder b(n.context());
  TRY(magnitude, n.make<azg::AbsOp>(x));
  TRY(powered, power(n, magnitude, p));
  TRY(mean, n.make<azg::AvgPoolOp>(
                powered, b.getDenseI64ArrayAttr(*kernel),
                b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(*pads),
                b.getBoolAttr(false), b.getBoolAttr(true),
                b.getDenseI64ArrayAttr(dilations == ones
                                           ? ArrayRef<int64_t>()
                                           : ArrayRef<int64_t>(dilations))));
  int64_t taps = std::accumulate(kernel->begin(), kernel->end(), int64_t(1),
                                 std::multiplies<int64_t>());
  TRY(sum, n.make<azg::MulOp>(mean, n.constantLike(x, double(taps))));
  return n.setResult(root(n, sum, p));
}

/// LpNormalization: x / (sum over `axis` of |x|^p)^(1/p), p 1 or 2.
LogicalResult importLpNormalization(NodeContext &n) {
  Value x = n.input(0);
  int64_t p = n.attrInt("p", 2);
  Builder b(n.context());
  auto axes = b.getDenseI64ArrayAttr({n.attrInt("axis", -1)});
  FailureOr<Value> norm = failure();
  if (p == 1)
    norm = n.make<azg::ReduceL1Op>(x, axes, b.getBoolAttr(true));
  else if (p == 2)
    norm = n.make<azg::ReduceL2Op>(x, axes, b.getBoolAttr(true));
  else
    return n.error("p must be 1 or 2, got " + Twine(p));
  if (failed(norm))
    return failure();
  // A zero norm means a zero slice, which stays zero (not 0/0): divide it
  // by 1 instead, as the ONNX reference does.
  TRY(isZero, n.make<azg::EqualOp>(*norm, n.constantLike(x, 0.0)));
  TRY(divisor, n.make<azg::WhereOp>(isZero, n.constantLike(x, 1.0), *norm));
  return n.setResult(n.make<azg::DivOp>(x, divisor));
}

/// GroupNormalization (opset 21): the channels split into num_groups
/// groups, each normalized over its channels and the spatial dims, then
/// scale[c] and bias[c] per channel.
LogicalResult importGroupNormalization(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank(), groups = n.attrInt("num_groups", 0);
  if (rank < 3 || !type.hasStaticShape())
    return n.error("needs a static N x C x D... input");
  int64_t batch = type.getDimSize(0), channels = type.getDimSize(1);
  if (groups < 1 || channels % groups)
    return n.error("num_groups must divide the " + Twine(channels) +
                   " channels");
  TRY(grouped, n.make<azg::ReshapeOp>(x, n.constantI64({batch, groups, -1}),
                                      UnitAttr()));
  TRY(normalized, standardize(n, grouped, {2}, n.attrFloat("epsilon", 1e-5f)));
  TRY(shaped, n.make<azg::ReshapeOp>(normalized, n.constantI64(type.getShape()),
                                     UnitAttr()));
  SmallVector<int64_t> perChannel(rank - 1, 1);
  perChannel[0] = channels;
  TRY(scale, n.make<azg::ReshapeOp>(n.input(1), n.constantI64(perChannel),
                                    UnitAttr()));
  TRY(bias, n.make<azg::ReshapeOp>(n.input(2), n.constantI64(perChannel),
                                   UnitAttr()));
  TRY(scaled, n.make<azg::MulOp>(shaped, scale));
  return n.setResult(n.make<azg::AddOp>(scaled, bias));
}

/// Col2Im: input N x (C * prod(block)) x L, each column one block's values,
/// summed into an image of image_shape. That is a transposed convolution,
/// group C, of the columns laid out on the grid of block positions, with a
/// weight that sends block element j to kernel tap j.
LogicalResult importCol2Im(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType type = typeOf(x);
  FailureOr<SmallVector<int64_t>> image = n.constantInts(1, "image_shape");
  FailureOr<SmallVector<int64_t>> block = n.constantInts(2, "block_shape");
  if (failed(image) || failed(block))
    return failure();
  size_t spatial = image->size();
  if (type.getRank() != 3 || !type.hasStaticShape() ||
      block->size() != spatial || spatial == 0)
    return n.error("needs a static N x C*prod(block_shape) x L input and "
                   "block_shape and image_shape of equal length");
  SmallVector<int64_t> ones(spatial, 1), zeros(2 * spatial, 0);
  SmallVector<int64_t> strides = n.attrInts("strides").value_or(ones);
  SmallVector<int64_t> dilations = n.attrInts("dilations").value_or(ones);
  SmallVector<int64_t> pads = n.attrInts("pads").value_or(zeros);
  if (strides.size() != spatial || dilations.size() != spatial ||
      pads.size() != 2 * spatial)
    return n.error("strides, dilations and pads must match image_shape");
  int64_t taps = 1, positions = 1;
  SmallVector<int64_t> grid;
  for (size_t d = 0; d < spatial; ++d) {
    int64_t extent = dilations[d] * ((*block)[d] - 1) + 1;
    int64_t span = (*image)[d] + pads[d] + pads[spatial + d];
    if ((*block)[d] < 1 || strides[d] < 1 || dilations[d] < 1 || span < extent)
      return n.error("the blocks do not fit the padded image");
    grid.push_back((span - extent) / strides[d] + 1);
    taps *= (*block)[d];
    positions *= grid.back();
  }
  int64_t batch = type.getDimSize(0), rows = type.getDimSize(1);
  if (rows % taps || type.getDimSize(2) != positions)
    return n.error("input dims do not match " + Twine(taps) + " taps and " +
                   Twine(positions) + " block positions");
  int64_t channels = rows / taps;
  SmallVector<int64_t> gridShape = {batch, rows};
  gridShape.append(grid);
  TRY(columns, n.make<azg::ReshapeOp>(x, n.constantI64(gridShape), UnitAttr()));
  // Weight rows x 1 x block: row c * taps + j is one-hot at tap j.
  SmallVector<int64_t> weightShape = {rows, 1};
  weightShape.append(*block);
  if (failed(n.checkSynthesizedSize({rows, taps}, "the scatter weights")))
    return failure();
  SmallVector<double> weight(rows * taps, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    weight[r * taps + r % taps] = 1.0;
  Value weights = n.constantTensor(type.getElementType(), weightShape, weight);
  Builder b(n.context());
  return n.setResult(n.make<azg::ConvTransposeOp>(
      columns, weights, Value(), b.getDenseI64ArrayAttr(strides),
      b.getDenseI64ArrayAttr(pads), b.getDenseI64ArrayAttr(dilations),
      b.getDenseI64ArrayAttr(SmallVector<int64_t>(spatial, 0)),
      b.getI64IntegerAttr(channels)));
}

/// AffineGrid: for each output position the homogeneous coordinates
/// (x, y[, z], 1) in [-1, 1] (pixel centres, or corners with
/// align_corners), times theta^T: N x (H x W) x 3 @ N x 3 x 2 for 2-D.
LogicalResult importAffineGrid(NodeContext &n) {
  Value theta = n.input(0);
  RankedTensorType thetaType = typeOf(theta);
  FailureOr<SmallVector<int64_t>> size = n.constantInts(1, "size");
  if (failed(size))
    return failure();
  int64_t spatial = int64_t(size->size()) - 2;
  if ((spatial != 2 && spatial != 3) || thetaType.getRank() != 3)
    return n.error("size must be N x C x H x W or N x C x D x H x W and "
                   "theta N x 2 x 3 or N x 3 x 4");
  SmallVector<int64_t> dims(size->begin() + 2, size->end());
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 1)
      return n.error("size must be positive");
    count *= d;
  }
  bool alignCorners = n.attrInt("align_corners", 0) != 0;
  auto coordinate = [&](int64_t i, int64_t extent) {
    if (alignCorners)
      return extent == 1 ? -1.0 : -1.0 + 2.0 * double(i) / double(extent - 1);
    return -1.0 + (2.0 * double(i) + 1.0) / double(extent);
  };
  // Rows in row-major order over the dims; columns x, y[, z], 1 (x is the
  // last dim).
  SmallVector<double> points;
  for (int64_t flat = 0; flat < count; ++flat) {
    SmallVector<int64_t> index(spatial);
    for (int64_t d = spatial - 1, rest = flat; d >= 0; --d) {
      index[d] = rest % dims[d];
      rest /= dims[d];
    }
    for (int64_t d = spatial - 1; d >= 0; --d)
      points.push_back(coordinate(index[d], dims[d]));
    points.push_back(1.0);
  }
  Value grid = n.constantTensor(thetaType.getElementType(),
                                {count, spatial + 1}, points);
  Builder b(n.context());
  TRY(thetaT,
      n.make<azg::TransposeOp>(theta, b.getDenseI64ArrayAttr({0, 2, 1})));
  TRY(product,
      n.make<azg::MatMulOp>(grid, thetaT, Value(), Value(),
                            azg::ActivationAttr(), FloatAttr(), FloatAttr()));
  SmallVector<int64_t> shape = {(*size)[0]};
  shape.append(dims);
  shape.push_back(spatial);
  return n.setResult(
      n.make<azg::ReshapeOp>(product, n.constantI64(shape), UnitAttr()));
}

/// CenterCropPad: each listed axis cropped or zero-padded to its target
/// length around the centre (an odd difference puts the extra element at
/// the end): a pad whose negative amounts crop.
LogicalResult importCenterCropPad(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  FailureOr<SmallVector<int64_t>> shape = n.constantInts(1, "shape");
  if (failed(shape))
    return failure();
  SmallVector<int64_t> axes;
  if (std::optional<SmallVector<int64_t>> given = n.attrInts("axes")) {
    axes = *given;
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  if (axes.size() != shape->size())
    return n.error("shape needs one length per axis");
  SmallVector<int64_t> pads(2 * rank, 0);
  for (auto [i, axis] : llvm::enumerate(axes)) {
    FailureOr<int64_t> d = azg::normalizeAxis(axis, rank);
    if (failed(d))
      return n.error("axis " + Twine(axis) + " is out of range");
    int64_t dim = type.getDimSize(*d), target = (*shape)[i];
    if (ShapedType::isDynamic(dim) || target < 0)
      return n.error("needs static dims and non-negative lengths");
    // Growing pads (target - dim) / 2 in front; shrinking crops
    // (dim - target) / 2 from the front; the rest goes at the end.
    int64_t difference = target - dim;
    int64_t front = difference >= 0 ? difference / 2 : -((-difference) / 2);
    pads[*d] = front;
    pads[rank + *d] = difference - front;
  }
  Builder b(n.context());
  return n.setResult(n.make<azg::PadOp>(x, b.getDenseI64ArrayAttr(pads),
                                        b.getStringAttr("constant"),
                                        b.getF64FloatAttr(0.0)));
}

/// DeformConv (opset 19), 2-D: the window attributes with ONNX's defaults.
LogicalResult importDeformConv(NodeContext &n) {
  Builder b(n.context());
  auto ints = [&](StringRef name, SmallVector<int64_t> otherwise) {
    return n.attrInts(name).value_or(otherwise);
  };
  if (typeOf(n.input(0)).getRank() != 4)
    return n.error("DeformConv is supported in 2-D (a 4-D input)");
  return n.setResult(n.make<azg::DeformConvOp>(
      n.input(0), n.input(1), n.input(2), n.input(3), n.input(4),
      b.getDenseI64ArrayAttr(ints("strides", {1, 1})),
      b.getDenseI64ArrayAttr(ints("pads", {0, 0, 0, 0})),
      b.getDenseI64ArrayAttr(ints("dilations", {1, 1})),
      b.getI64IntegerAttr(n.attrInt("group", 1)),
      b.getI64IntegerAttr(n.attrInt("offset_group", 1))));
}

} // namespace

void azc::onnx_frontend::addImageImporters(std::vector<OpImporter> &t) {
  auto add = [&](const char *op, int64_t since, ImportFn fn,
                 int minInputs = 1) {
    t.push_back({"", op, since, std::move(fn), minInputs});
  };
  add("LpPool", 2, importLpPool);
  add("LpNormalization", 1, importLpNormalization);
  add("GroupNormalization", 21, importGroupNormalization, 3);
  add("Col2Im", 18, importCol2Im, 3);
  add("AffineGrid", 20, importAffineGrid, 2);
  add("CenterCropPad", 18, importCenterCropPad, 2);
  add("DeformConv", 19, importDeformConv, 3);
}
