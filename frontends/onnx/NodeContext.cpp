//===- NodeContext.cpp - what an op importer sees of its node -------------===//
//
// The NodeContext an op importer works through: the node's inputs (as the
// values bound to their names), attributes, constants built for it, the
// creation of ops with inferred result types (folded at once when their
// operands are constant), its subgraphs, and its errors, reported against
// the node.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporterState.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

NodeContext::NodeContext(GraphImporter &graph, const onnx::NodeProto &node,
                         int64_t opset, Location loc)
    : graph_(graph), node_(node), opset_(opset), loc_(loc) {}

OpBuilder &NodeContext::builder() { return graph_.builder_; }
MLIRContext *NodeContext::context() { return &graph_.context_; }

Value NodeContext::input(size_t i) const {
  if (i >= (size_t)node_.input_size() || node_.input(i).empty())
    return nullptr;
  return graph_.lookupValue(node_.input(i));
}

bool NodeContext::isOutputUsed(size_t i) const {
  return i < (size_t)node_.output_size() && !node_.output(i).empty() &&
         graph_.usedNames_.contains(node_.output(i));
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(size_t i,
                                                          StringRef what) {
  DenseIntElementsAttr attr;
  Value value = input(i);
  if (!value || !matchPattern(value, m_Constant(&attr))) {
    (void)error(Twine(what) + " (input " + Twine(i) +
                ") must be a constant; computed values are not supported");
    return failure();
  }
  SmallVector<int64_t> result;
  for (const APInt &v : attr.getValues<APInt>())
    result.push_back(v.getSExtValue());
  return result;
}

FailureOr<SmallVector<int64_t>> NodeContext::axes(bool fromInput) {
  if (!fromInput)
    return attrInts("axes").value_or(SmallVector<int64_t>());
  if (!input(1))
    return SmallVector<int64_t>();
  return constantInts(1, "axes");
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : node_.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::attrInt(StringRef name, int64_t otherwise) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : otherwise;
}

float NodeContext::attrFloat(StringRef name, float otherwise) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : otherwise;
}

std::string NodeContext::attrString(StringRef name, StringRef otherwise) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : otherwise.str();
}

std::optional<SmallVector<int64_t>>
NodeContext::attrInts(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

Value NodeContext::constantI64(ArrayRef<int64_t> values, bool scalar) {
  auto type = RankedTensorType::get(
      scalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{(int64_t)values.size()},
      builder().getI64Type());
  return builder().create<azg::ConstantOp>(
      loc_, DenseIntElementsAttr::get(type, values));
}

Value NodeContext::constantScalar(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  Attribute element =
      isa<FloatType>(elementType)
          ? Attribute(builder().getFloatAttr(elementType, value))
          : Attribute(builder().getIntegerAttr(elementType, (int64_t)value));
  return builder().create<azg::ConstantOp>(
      loc_, DenseElementsAttr::get(type, element));
}

Value NodeContext::constantLike(Value like, double value) {
  return constantScalar(getElementTypeOrSelf(like.getType()), value);
}

Value NodeContext::constantTensor(Type elementType, ArrayRef<int64_t> shape,
                                  ArrayRef<double> values) {
  auto type = RankedTensorType::get(shape, elementType);
  SmallVector<Attribute> elements;
  for (double v : values)
    elements.push_back(
        isa<FloatType>(elementType)
            ? Attribute(builder().getFloatAttr(elementType, v))
            : Attribute(builder().getIntegerAttr(elementType, (int64_t)v)));
  return builder().create<azg::ConstantOp>(
      loc_, DenseElementsAttr::get(type, elements));
}

FailureOr<ElementsAttr> NodeContext::importTensor(const onnx::TensorProto &t) {
  std::string message;
  FailureOr<ElementsAttr> attr = graph_.importTensor(t, message);
  if (failed(attr))
    (void)error(message);
  return attr;
}

FailureOr<ElementsAttr>
NodeContext::importSparseTensor(const onnx::SparseTensorProto &t) {
  std::string message;
  FailureOr<ElementsAttr> attr = graph_.importSparseTensor(t, message);
  if (failed(attr))
    (void)error(message);
  return attr;
}

LogicalResult NodeContext::setResults(ValueRange values) {
  for (auto [i, value] : llvm::enumerate(values)) {
    if (i >= (size_t)node_.output_size())
      break;
    if (!node_.output(i).empty())
      graph_.bindValue(node_.output(i), value);
  }
  for (size_t i = values.size(); i < (size_t)node_.output_size(); ++i)
    if (isOutputUsed(i))
      return error("output " + Twine(i) + " ('" + node_.output(i) +
                   "') is not supported");
  return success();
}

LogicalResult NodeContext::setResult(FailureOr<Value> value) {
  if (failed(value))
    return failure();
  return setResults(ValueRange{*value});
}

Value NodeContext::foldIfPossible(Operation *op) {
  SmallVector<Value> folded;
  if (succeeded(builder().tryFold(op, folded)) && folded.size() == 1 &&
      folded.front().getType() == op->getResult(0).getType()) {
    op->erase();
    return folded.front();
  }
  return op->getResult(0);
}

FailureOr<SmallVector<Value>>
NodeContext::importSubgraph(const onnx::GraphProto &graph, ValueRange inputs,
                            const Twine &instance) {
  return graph_.importSubgraph(graph, inputs, instance);
}

LogicalResult NodeContext::countUnrolledBody() {
  if (++graph_.unrolledBodies_ <= kMaxUnrolledBodies)
    return success();
  return error("unrolling would build more than " + Twine(kMaxUnrolledBodies) +
               " copies of Loop and Scan bodies (nested loops multiply); an "
               "engine is one straight-line program, so azc unrolls loops at "
               "build and stops there");
}

FailureOr<int64_t> NodeContext::attrAxis(StringRef name, int64_t otherwise,
                                         int64_t rank) {
  int64_t axis = attrInt(name, otherwise);
  FailureOr<int64_t> normalized = azg::normalizeAxis(axis, rank);
  if (failed(normalized))
    (void)error(name + " " + Twine(axis) + " is out of range for a rank-" +
                Twine(rank) + " input");
  return normalized;
}

LogicalResult NodeContext::checkSynthesizedSize(ArrayRef<int64_t> shape,
                                                StringRef what) {
  int64_t elements = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return error(what + " needs static, non-negative dims");
    if (dim && elements > kMaxSynthesizedElements / dim)
      return error(what + " would be a constant of more than " +
                   Twine(kMaxSynthesizedElements) +
                   " elements; azc computes it at build and stops there");
    elements *= dim;
  }
  return success();
}

LogicalResult NodeContext::error(const Twine &message) {
  emitError(loc_) << message;
  return failure();
}
