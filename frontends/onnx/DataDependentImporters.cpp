//===- DataDependentImporters.cpp - ops sized by their data ---------------===//
//
// NonZero, Compress, Unique and NonMaxSuppression: their outputs hold as
// many entries as the input values give. Each becomes an azg op typed at
// the upper bound, whose last result (the actual size) the engine reads
// after a run. Only a graph output may take such an output; the graph
// importer refuses any other reader (GraphImporter::importNode).
// NonMaxSuppression's limit and thresholds must be constants: the limit
// sets the bound.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// The node's `axis` attribute, or null when absent.
IntegerAttr optionalAxis(NodeContext &n) {
  if (!n.attr("axis"))
    return nullptr;
  return Builder(n.context()).getI64IntegerAttr(n.attrInt("axis", 0));
}

/// The op's results but its last (the extent), bound to the node's outputs.
LogicalResult bindAllButExtent(NodeContext &n, FailureOr<Operation *> op) {
  if (failed(op))
    return failure();
  return n.setResults((*op)->getResults().drop_back());
}

LogicalResult importNonZero(NodeContext &n) {
  return bindAllButExtent(n, n.create<azg::NonZeroOp>(2, n.input(0)));
}

LogicalResult importCompress(NodeContext &n) {
  return bindAllButExtent(
      n, n.create<azg::CompressOp>(2, n.input(0), n.input(1), optionalAxis(n)));
}

LogicalResult importUnique(NodeContext &n) {
  Builder b(n.context());
  return bindAllButExtent(
      n, n.create<azg::UniqueOp>(5, n.input(0), optionalAxis(n),
                                 b.getBoolAttr(n.attrInt("sorted", 1) != 0)));
}

/// Optional scalar input `i` of NonMaxSuppression: absent (or empty) gives
/// nullopt; else it must be a constant, as a double.
FailureOr<std::optional<double>> constantScalar(NodeContext &n, size_t i,
                                                StringRef what) {
  if (i >= n.numInputs() || !n.input(i))
    return std::optional<double>();
  ElementsAttr attr;
  if (!matchPattern(n.input(i), m_Constant(&attr)))
    return n.error(Twine(what) + " (input " + Twine(i) +
                   ") must be a constant; computed values are not supported");
  if (attr.getNumElements() == 0)
    return std::optional<double>();
  if (attr.getNumElements() != 1)
    return n.error(Twine(what) + " (input " + Twine(i) +
                   ") must hold one value, got " +
                   Twine(attr.getNumElements()));
  Attribute element = *attr.getValues<Attribute>().begin();
  if (auto integer = dyn_cast<IntegerAttr>(element))
    return std::optional<double>(double(integer.getInt()));
  return std::optional<double>(
      cast<FloatAttr>(element).getValue().convertToDouble());
}

LogicalResult importNonMaxSuppression(NodeContext &n) {
  Builder b(n.context());
  FailureOr<std::optional<double>> limit =
      constantScalar(n, 2, "max_output_boxes_per_class");
  if (failed(limit))
    return failure();
  FailureOr<std::optional<double>> iou = constantScalar(n, 3, "iou_threshold");
  if (failed(iou))
    return failure();
  FailureOr<std::optional<double>> score =
      constantScalar(n, 4, "score_threshold");
  if (failed(score))
    return failure();
  int64_t centerPointBox = n.attrInt("center_point_box", 0);
  if (centerPointBox != 0 && centerPointBox != 1)
    return n.error("center_point_box must be 0 or 1, got " +
                   Twine(centerPointBox));
  double iouThreshold = iou->value_or(0.0);
  if (!(iouThreshold >= 0 && iouThreshold <= 1))
    return n.error("iou_threshold must be in [0, 1], got " +
                   std::to_string(iouThreshold));
  // No limit selects nothing; a negative one too.
  int64_t perClass = std::max<int64_t>(0, int64_t(limit->value_or(0)));
  FloatAttr scoreThreshold =
      *score ? b.getF32FloatAttr(float(**score)) : nullptr;
  return bindAllButExtent(
      n, n.create<azg::NonMaxSuppressionOp>(
             2, n.input(0), n.input(1), b.getI64IntegerAttr(centerPointBox),
             b.getI64IntegerAttr(perClass),
             b.getF32FloatAttr(float(iouThreshold)), scoreThreshold));
}

} // namespace

void azc::onnx_frontend::addDataDependentImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "NonZero", 9, importNonZero});
  t.push_back({"", "Compress", 9, importCompress, 2});
  t.push_back({"", "Unique", 11, importUnique});
  t.push_back({"", "NonMaxSuppression", 10, importNonMaxSuppression, 2});
}
