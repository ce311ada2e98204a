//===- GraphImporter.cpp - ONNX GraphProto to azg -------------------------===//
//
// Imports a model's main graph into `func.func @main`: graph inputs become
// arguments (symbolic dims stay dynamic, their names kept in
// `azg.dim_names`), initializers become azg.weight / azg.constant ops, and
// each node is handed to the op importer registered for its op type and
// opset. Before anything is built, every node (in subgraphs too) is checked
// for an importer so that a model with unsupported ops fails once, listing
// all of them. Subgraphs (If branches, loop bodies) are imported inline by
// their node's importer, each instance in its own scope of names.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporterState.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <map>
#include <set>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

// TensorProto data types past the enum of the onnx.proto azc is built
// against.
constexpr int32_t kOnnxFloat8E4M3FN = 17, kOnnxFloat8E4M3FNUZ = 18,
                  kOnnxFloat8E5M2 = 19, kOnnxFloat8E5M2FNUZ = 20,
                  kOnnxUint4 = 21, kOnnxInt4 = 22, kOnnxFloat4E2M1 = 23,
                  kOnnxFloat8E8M0 = 24, kOnnxUint2 = 25, kOnnxInt2 = 26;

bool azc::onnx_frontend::isStorageOnlyType(Type type) {
  return isa<azg::Float4E2M1FNType, azg::Float8E8M0FNUType>(type);
}

Type azc::onnx_frontend::convertElementType(int32_t onnxType,
                                            MLIRContext *context) {
  Builder b(context);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  case onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case onnx::TensorProto::INT32:
    return b.getI32Type();
  case onnx::TensorProto::INT64:
    return b.getI64Type();
  case onnx::TensorProto::UINT8:
    return b.getIntegerType(8, false);
  case onnx::TensorProto::UINT16:
    return b.getIntegerType(16, false);
  case onnx::TensorProto::UINT32:
    return b.getIntegerType(32, false);
  case onnx::TensorProto::UINT64:
    return b.getIntegerType(64, false);
  // The FP8 (onnx 1.14), 4-bit (1.16) and 2-bit (1.20) types, by number:
  // Debian's onnx.proto may predate them.
  case kOnnxFloat8E4M3FN:
    return b.getFloat8E4M3FNType();
  case kOnnxFloat8E4M3FNUZ:
    return b.getFloat8E4M3FNUZType();
  case kOnnxFloat8E5M2:
    return b.getFloat8E5M2Type();
  case kOnnxFloat8E5M2FNUZ:
    return b.getFloat8E5M2FNUZType();
  case kOnnxUint4:
    return b.getIntegerType(4, false);
  case kOnnxInt4:
    return b.getIntegerType(4);
  case kOnnxUint2:
    return b.getIntegerType(2, false);
  case kOnnxInt2:
    return b.getIntegerType(2);
  case kOnnxFloat4E2M1:
    return azg::Float4E2M1FNType::get(context);
  case kOnnxFloat8E8M0:
    return azg::Float8E8M0FNUType::get(context);
  default:
    return nullptr;
  }
}

static size_t bitWidthOf(Type type) {
  return type.isInteger(1) ? 8 : type.getIntOrFloatBitWidth();
}

/// Converts a tensor stored in typed fields (float_data, int32_data, ...)
/// to little-endian raw bytes.
static bool typedFieldBytes(const onnx::TensorProto &t, Type elementType,
                            int64_t count, std::vector<char> &out) {
  size_t width = bitWidthOf(elementType) / 8;
  int64_t stored;
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    stored = t.float_data_size();
    break;
  case onnx::TensorProto::DOUBLE:
    stored = t.double_data_size();
    break;
  case onnx::TensorProto::INT64:
    stored = t.int64_data_size();
    break;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    stored = t.uint64_data_size();
    break;
  default:
    stored = t.int32_data_size();
    break;
  }
  // Checked before allocating: the count comes from untrusted dims.
  if (stored != count)
    return false;
  out.resize(count * width);
  auto store = [&](int64_t i, uint64_t bits) {
    memcpy(out.data() + i * width, &bits, width); // little-endian host
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    if (t.float_data_size() != count)
      return false;
    memcpy(out.data(), t.float_data().data(), count * 4);
    return true;
  case onnx::TensorProto::DOUBLE:
    if (t.double_data_size() != count)
      return false;
    memcpy(out.data(), t.double_data().data(), count * 8);
    return true;
  case onnx::TensorProto::INT64:
    if (t.int64_data_size() != count)
      return false;
    memcpy(out.data(), t.int64_data().data(), count * 8);
    return true;
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    if (t.uint64_data_size() != count)
      return false;
    for (int64_t i = 0; i < count; ++i)
      store(i, t.uint64_data(i));
    return true;
  default:
    // int8/16/32, uint8/16, bool, float16 and bfloat16 bits: int32_data.
    if (t.int32_data_size() != count)
      return false;
    for (int64_t i = 0; i < count; ++i)
      store(i, uint64_t(uint32_t(t.int32_data(i))));
    return true;
  }
}

/// A resource key MLIR prints without quoting.
static std::string resourceKey(llvm::StringRef name) {
  std::string key;
  for (char c : name)
    key += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  if (key.empty() || llvm::isDigit(key[0]) || key[0] == '.')
    key = "w_" + key;
  return key;
}

FailureOr<ElementsAttr>
GraphImporter::importTensor(const onnx::TensorProto &tensor,
                            std::string &error) {
  std::string label = "tensor '" + tensor.name() + "'";
  if (tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUint4 ||
      tensor.data_type() == kOnnxInt2 || tensor.data_type() == kOnnxUint2)
    return importPackedCodes(tensor, error);
  Type elementType = convertElementType(tensor.data_type(), &context_);
  if (!elementType) {
    error = label + " has data type " + std::to_string(tensor.data_type()) +
            ", which azc does not support";
    return failure();
  }
  if (isStorageOnlyType(elementType)) {
    error = label + " is a constant of FLOAT4E2M1 or FLOAT8E8M0, which azc "
                    "takes only as graph inputs and cast results";
    return failure();
  }
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0) {
      error = label + " has a negative dim";
      return failure();
    }
    shape.push_back(dim);
    if (llvm::MulOverflow(count, dim, count) || count > (int64_t(1) << 48)) {
      error = label + " has more elements than azc supports";
      return failure();
    }
  }
  auto type = RankedTensorType::get(shape, elementType);
  size_t width = bitWidthOf(elementType) / 8;

  TensorBytes bytes;
  if (!file_.rawBytes(tensor, bytes, error))
    return failure();
  std::shared_ptr<std::vector<char>> converted;
  if (!bytes.data && count > 0) {
    converted = std::make_shared<std::vector<char>>();
    if (!typedFieldBytes(tensor, elementType, count, *converted)) {
      error = label + " holds no data, or a number of values that does not "
                      "match its shape";
      return failure();
    }
    bytes.data = converted->data();
    bytes.size = converted->size();
    bytes.owner = converted;
  }
  if (bytes.size != size_t(count) * width) {
    error = label + " has " + std::to_string(bytes.size) +
            " bytes of data, but its shape and type need " +
            std::to_string(size_t(count) * width);
    return failure();
  }

  ArrayRef<char> data(bytes.data, bytes.size);
  if (elementType.isInteger(1)) {
    // DenseElementsAttr packs i1 as bits; ONNX stores one byte per bool.
    SmallVector<bool> values;
    for (char c : data)
      values.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, values));
  }
  if (count <= options_.maxInlineElements)
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, data));

  // Large tensors: a resource blob over the mapped bytes when they are
  // aligned for their element type, else over an aligned copy.
  size_t alignment = std::min<size_t>(width, 8);
  AsmResourceBlob blob;
  if (reinterpret_cast<uintptr_t>(bytes.data) % alignment == 0) {
    std::shared_ptr<const void> owner = bytes.owner;
    blob = AsmResourceBlob(
        data, alignment,
        [owner](void *, size_t, size_t) mutable { owner.reset(); },
        /*dataIsMutable=*/false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignment);
  }
  return cast<ElementsAttr>(DenseResourceElementsAttr::get(
      type, resourceKey(tensor.name()), std::move(blob)));
}

/// An INT4/UINT4 or INT2/UINT2 tensor (two or four codes a byte, low bits
/// first, in raw_data or one byte per int32_data entry) as i8 / ui8, one
/// code an element: DequantizeLinear reads it like any 8-bit tensor, and
/// azg-keep-quantized-weights packs 4-bit codes into 4 bits again.
FailureOr<ElementsAttr>
GraphImporter::importPackedCodes(const onnx::TensorProto &tensor,
                                 std::string &error) {
  std::string label = "tensor '" + tensor.name() + "'";
  const bool isSigned =
      tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxInt2;
  const int bits =
      tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUint4 ? 4
                                                                          : 2;
  const int perByte = 8 / bits;
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || llvm::MulOverflow(count, dim, count) ||
        count > (int64_t(1) << 48)) {
      error = label + " has a negative dim or too many elements";
      return failure();
    }
    shape.push_back(dim);
  }
  const size_t packed = size_t(count + perByte - 1) / perByte;
  TensorBytes bytes;
  if (!file_.rawBytes(tensor, bytes, error))
    return failure();
  std::vector<uint8_t> fromFields;
  if (!bytes.data && count > 0) {
    for (int32_t v : tensor.int32_data())
      fromFields.push_back(uint8_t(v));
    bytes.data = reinterpret_cast<const char *>(fromFields.data());
    bytes.size = fromFields.size();
  }
  if (bytes.size != packed) {
    error = label + " has " + std::to_string(bytes.size) +
            " bytes of 4-bit data, but its shape needs " +
            std::to_string(packed);
    return failure();
  }
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocate(size_t(count), alignof(uint64_t));
  MutableArrayRef<char> codes = blob.getMutableData();
  for (int64_t i = 0; i < count; ++i) {
    int code = (uint8_t(bytes.data[i / perByte]) >> (bits * (i % perByte))) &
               ((1 << bits) - 1);
    if (isSigned && code >= (1 << (bits - 1)))
      code -= 1 << bits;
    codes[i] = char(code);
  }
  auto type = RankedTensorType::get(
      shape, IntegerType::get(&context_, 8,
                              isSigned ? IntegerType::Signless
                                       : IntegerType::Unsigned));
  if (count <= options_.maxInlineElements)
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(codes.data(), codes.size())));
  return cast<ElementsAttr>(DenseResourceElementsAttr::get(
      type, resourceKey(tensor.name()), std::move(blob)));
}

//===----------------------------------------------------------------------===//
// Op importer registry
//===----------------------------------------------------------------------===//

static const std::vector<OpImporter> &opImporterTable() {
  static const std::vector<OpImporter> table = [] {
    std::vector<OpImporter> t;
    addMathImporters(t);
    addShapeImporters(t);
    addTransformerImporters(t);
    addRecurrentImporters(t);
    addFlexAttentionImporters(t);
    addClassicMlImporters(t);
    addSpectralImporters(t);
    addDataDependentImporters(t);
    addCompositeImporters(t);
    addControlFlowImporters(t);
    addSignalImporters(t);
    addImageImporters(t);
    addSequenceImporters(t);
    return t;
  }();
  return table;
}

const OpImporter *azc::onnx_frontend::findOpImporter(llvm::StringRef domain,
                                                     llvm::StringRef opType,
                                                     int64_t opset) {
  if (domain == "ai.onnx")
    domain = "";
  const OpImporter *best = nullptr;
  for (const OpImporter &entry : opImporterTable())
    if (entry.domain == domain && entry.opType == opType &&
        entry.sinceVersion <= opset &&
        (!best || entry.sinceVersion > best->sinceVersion))
      best = &entry;
  return best;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

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

//===----------------------------------------------------------------------===//
// Graph import
//===----------------------------------------------------------------------===//

/// The element type of a sequence graph input (an optional sequence too),
/// or null.
static const onnx::TypeProto::Tensor *
inputSequenceType(const onnx::ValueInfoProto &input) {
  const onnx::TypeProto *type = &input.type();
  if (type->has_optional_type())
    type = &type->optional_type().elem_type();
  if (type->has_sequence_type() &&
      type->sequence_type().elem_type().has_tensor_type())
    return &type->sequence_type().elem_type().tensor_type();
  return nullptr;
}

/// The tensor type of a graph input: its own, or the element type of an
/// optional tensor (an engine input is always given, so an optional graph
/// input is taken as present); null for sequences and maps.
static const onnx::TypeProto::Tensor *
inputTensorType(const onnx::ValueInfoProto &input) {
  const onnx::TypeProto &type = input.type();
  if (type.has_tensor_type())
    return &type.tensor_type();
  if (type.has_optional_type() &&
      type.optional_type().elem_type().has_tensor_type())
    return &type.optional_type().elem_type().tensor_type();
  return nullptr;
}

std::string azc::onnx_frontend::nodeLabel(const onnx::NodeProto &node) {
  std::string label = "node '" + node.name() + "' (" + node.op_type() + ")";
  if (node.name().empty())
    label = "node " + node.op_type() + " producing '" +
            (node.output_size() ? node.output(0) : std::string("?")) + "'";
  return label;
}

/// Calls `visit` on each graph held in `node`'s attributes (If branches,
/// Loop and Scan bodies).
static void
forEachSubgraph(const onnx::NodeProto &node,
                llvm::function_ref<void(const onnx::GraphProto &)> visit) {
  for (const onnx::AttributeProto &attribute : node.attribute()) {
    if (attribute.has_g())
      visit(attribute.g());
    for (const onnx::GraphProto &graph : attribute.graphs())
      visit(graph);
  }
}

bool GraphImporter::checkSupported(std::string &error) {
  // op type (with domain and opset) -> the nodes that use it, in the main
  // graph or any subgraph (so that a loop body's unsupported op is reported
  // before anything is unrolled).
  std::map<std::string, std::vector<std::string>> unsupported;
  size_t count = 0;
  // A call of a model-local function is supported when its body is; each
  // function body is checked once, with its own opsets.
  std::set<const onnx::FunctionProto *> checkedFunctions;
  std::function<void(const onnx::GraphProto &)> checkGraph;
  using Nodes = google::protobuf::RepeatedPtrField<onnx::NodeProto>;
  std::function<void(const Nodes &)> checkNodes = [&](const Nodes &nodes) {
    for (const onnx::NodeProto &node : nodes) {
      forEachSubgraph(node, checkGraph);
      std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
      if (const onnx::FunctionProto *function =
              findFunction(domain, node.op_type())) {
        if (checkedFunctions.insert(function).second) {
          functionOpsets_.push_back(functionOpsetMap(*function));
          checkNodes(function->node());
          functionOpsets_.pop_back();
        }
        continue;
      }
      int64_t opset = opsetOf(domain);
      if (opset && findOpImporter(domain, node.op_type(), opset))
        continue;
      std::string key = node.op_type() + " (" +
                        (domain.empty() ? "ai.onnx" : domain) + " opset " +
                        (opset ? std::to_string(opset)
                               : std::string("not imported by the model")) +
                        ")";
      unsupported[key].push_back(node.name().empty() ? "<unnamed>"
                                                     : node.name());
      ++count;
    }
  };
  checkGraph = [&](const onnx::GraphProto &graph) { checkNodes(graph.node()); };
  checkGraph(file_.model().graph());
  if (unsupported.empty())
    return true;
  error = file_.path() + ": " + std::to_string(count) + " node" +
          (count == 1 ? "" : "s") + " use" + (count == 1 ? "s" : "") +
          " ops azc does not support:";
  for (auto &[key, names] : unsupported) {
    error += "\n  " + key + ": ";
    for (size_t i = 0; i < names.size(); ++i) {
      if (i == 8) {
        error += ", ... (" + std::to_string(names.size()) + " in all)";
        break;
      }
      error += (i ? ", " : "") + names[i];
    }
  }
  return false;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node) {
  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  if (const onnx::FunctionProto *function =
          findFunction(domain, node.op_type()))
    return importFunctionCall(node, *function);
  int64_t opset = opsetOf(domain);
  const OpImporter *importer = findOpImporter(domain, node.op_type(), opset);
  for (int i = 0; i < importer->minInputs; ++i)
    if (i >= node.input_size() || node.input(i).empty()) {
      errors_.push_back(nodeLabel(node) + ": needs at least " +
                        std::to_string(importer->minInputs) + " input" +
                        (importer->minInputs == 1 ? "" : "s") + ", has " +
                        std::to_string(node.input_size()));
      return failure();
    }
  for (const std::string &name : node.input())
    if (!name.empty() && !lookupValue(name)) {
      errors_.push_back(nodeLabel(node) + ": input '" + name +
                        "' is not a graph input, an initializer or the output "
                        "of an earlier node");
      return failure();
    }
  if (failed(checkDataDependentReads(node)))
    return failure();
  if (!takesNonTensorInputs(domain, node.op_type()))
    for (const std::string &name : node.input()) {
      Value value = name.empty() ? nullptr : lookupValue(name);
      if (value && !isa<RankedTensorType>(value.getType())) {
        errors_.push_back(
            nodeLabel(node) + ": input '" + name + "' is " +
            (isEmptyOptional(value) ? "an empty optional" : "a sequence") +
            ", and " + node.op_type() + " takes tensors");
        return failure();
      }
    }
  Location loc =
      NameLoc::get(builder_.getStringAttr(node.name().empty() ? node.op_type()
                                                              : node.name()),
                   FileLineColLoc::get(&context_, file_.path(), 0, 0));
  currentNode_ = nodeLabel(node);
  NodeContext nodeContext(*this, node, opset, loc);
  if (failed(importer->fn(nodeContext)))
    return failure();
  recordDataDependentOutputs(node);
  return success();
}

/// An output whose size the input values decide is allocated at its upper
/// bound: a node reading it would compute with the bound as its size. Only
/// graph outputs, and Identity (which computes nothing), may take it.
LogicalResult
GraphImporter::checkDataDependentReads(const onnx::NodeProto &node) {
  if (node.op_type() == "Identity" && node.domain().empty())
    return success();
  for (const std::string &name : node.input()) {
    Value value = name.empty() ? nullptr : lookupValue(name);
    auto it =
        value ? dataDependentOutputs_.find(value) : dataDependentOutputs_.end();
    if (it == dataDependentOutputs_.end())
      continue;
    std::string reader = node.name().empty() ? "node " + node.op_type()
                                             : "node '" + node.name() + "' (" +
                                                   node.op_type() + ")";
    errors_.push_back(it->second +
                      ": its size depends on the input values, so only a "
                      "graph output may take it (" +
                      reader + " reads it)");
    return failure();
  }
  return success();
}

void GraphImporter::recordDataDependentOutputs(const onnx::NodeProto &node) {
  for (const std::string &name : node.output()) {
    Value value = name.empty() ? nullptr : lookupValue(name);
    if (!value || !azg::dataDependentDim(value) ||
        dataDependentOutputs_.count(value))
      continue;
    dataDependentOutputs_[value] =
        (node.name().empty()
             ? "node " + node.op_type()
             : "node '" + node.name() + "' (" + node.op_type() + ")") +
        " producing '" + name + "'";
  }
}

LogicalResult GraphImporter::importNodes(const onnx::GraphProto &graph) {
  for (const onnx::NodeProto &node : graph.node())
    if (failed(importNode(node)))
      return failure();
  return success();
}

FailureOr<Value>
GraphImporter::importInitializer(const onnx::TensorProto &tensor) {
  std::string message;
  FailureOr<ElementsAttr> value = importTensor(tensor, message);
  if (failed(value)) {
    errors_.push_back(message);
    return failure();
  }
  Location loc =
      NameLoc::get(builder_.getStringAttr(tensor.name()),
                   FileLineColLoc::get(&context_, file_.path(), 0, 0));
  if (isa<DenseResourceElementsAttr>(*value))
    return builder_.create<azg::WeightOp>(loc, tensor.name(), *value)
        .getOutput();
  return builder_.create<azg::ConstantOp>(loc, *value).getOutput();
}

FailureOr<SmallVector<Value>>
GraphImporter::importSubgraph(const onnx::GraphProto &graph, ValueRange inputs,
                              const Twine &instance) {
  // The owning node's label: errors of nodes inside the instance say where
  // they were raised, and the owner's importer reports under its own label
  // again once the instance is imported.
  std::string owner = currentNode_;
  std::string label = instance.str();
  size_t firstInnerError = errors_.size();
  auto fail = [&](const std::string &ownError) {
    for (size_t i = firstInnerError; i < errors_.size(); ++i)
      errors_[i] += " (in " + label + " of " + owner + ")";
    if (!ownError.empty())
      errors_.push_back(owner + ": " + ownError);
    currentNode_ = owner;
    scopes_.pop_back();
    return failure();
  };

  scopes_.emplace_back();
  if (size_t(graph.input_size()) != inputs.size())
    return fail(label + " declares " + std::to_string(graph.input_size()) +
                " inputs, where " + std::to_string(inputs.size()) +
                " are passed to it");
  for (auto [formal, value] : llvm::zip(graph.input(), inputs))
    bindValue(formal.name(), value);
  for (const onnx::TensorProto &tensor : graph.initializer()) {
    // Imported at the first instance, which comes before (and so
    // dominates) every later one in the straight-line program.
    Value &shared = subgraphInitializers_[&tensor];
    if (!shared) {
      FailureOr<Value> value = importInitializer(tensor);
      if (failed(value))
        return fail("");
      shared = *value;
    }
    bindValue(tensor.name(), shared);
  }
  if (failed(importNodes(graph)))
    return fail("");

  SmallVector<Value> outputs;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    const onnx::TypeProto &type = output.type();
    if (type.has_map_type() || type.has_sparse_tensor_type())
      return fail(label + " returns '" + output.name() +
                  "', which is a map or a sparse tensor (not supported: "
                  "engine values are tensors)");
    Value value = lookupValue(output.name());
    if (!value)
      return fail(label + " returns '" + output.name() +
                  "', which no node of it or of the graphs around it "
                  "produces");
    outputs.push_back(value);
  }
  currentNode_ = owner;
  scopes_.pop_back();
  return outputs;
}

OwningOpRef<ModuleOp> GraphImporter::run(std::string &error) {
  const onnx::ModelProto &model = file_.model();
  const onnx::GraphProto &graph = model.graph();
  for (const onnx::OperatorSetIdProto &opset : model.opset_import())
    opsets_[opset.domain() == "ai.onnx" ? "" : opset.domain()] =
        opset.version();
  if (model.opset_import_size() == 0)
    opsets_[""] = 1; // IR version 1-2 models predate opset_import.
  if (!checkSupported(error))
    return nullptr;

  // Errors from here on are diagnostics: collect them with the node that
  // raised them.
  ScopedDiagnosticHandler handler(&context_, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      errors_.push_back((currentNode_.empty() ? "" : currentNode_ + ": ") +
                        diag.str());
    return success();
  });
  auto fail = [&]() -> OwningOpRef<ModuleOp> {
    error = file_.path() + ": " +
            (errors_.empty() ? std::string("import failed") : errors_.front());
    return nullptr;
  };

  // Names are collected from every graph: a branch or body reads names of
  // the graphs around it.
  std::function<void(const onnx::GraphProto &)> collectUsedNames =
      [&](const onnx::GraphProto &g) {
        for (const onnx::NodeProto &node : g.node()) {
          for (const std::string &name : node.input())
            usedNames_.insert(name);
          forEachSubgraph(node, collectUsedNames);
        }
        for (const onnx::ValueInfoProto &output : g.output())
          usedNames_.insert(output.name());
      };
  collectUsedNames(graph);
  for (const onnx::FunctionProto &function : model.functions()) {
    onnx::GraphProto body; // the names only
    *body.mutable_node() = function.node();
    for (const std::string &output : function.output())
      body.add_output()->set_name(output);
    collectUsedNames(body);
  }
  scopes_.emplace_back();

  Location fileLoc = FileLineColLoc::get(&context_, file_.path(), 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  module->getOperation()->setAttr(
      "azg.source",
      builder_.getStringAttr(llvm::sys::path::filename(file_.path())));
  module->getOperation()->setAttr("azg.opset",
                                  builder_.getI64IntegerAttr(opsets_[""]));
  if (!model.producer_name().empty())
    module->getOperation()->setAttr(
        "azg.producer", builder_.getStringAttr(model.producer_name() + " " +
                                               model.producer_version()));

  // Arguments: graph inputs that are not initializers.
  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &t : graph.initializer())
    initializerNames.insert(t.name());
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> argNames;
  for (auto &[fixedName, spec] : options_.fixedInputs) {
    const std::string &name = fixedName; // lambdas cannot capture bindings
    bool found = llvm::any_of(graph.input(), [&](const auto &input) {
      return input.name() == name && !initializerNames.contains(name);
    });
    if (!found) {
      errors_.push_back("--input-value " + name + "=" + spec +
                        ": the model has no graph input '" + name + "'");
      return fail();
    }
  }
  for (auto &[name, length] : options_.sequenceLengths) {
    const std::string &sequenceName = name;
    bool found = llvm::any_of(graph.input(), [&](const auto &input) {
      return input.name() == sequenceName && inputSequenceType(input);
    });
    if (!found) {
      errors_.push_back("--sequence-length " + name + "=" +
                        std::to_string(length) +
                        ": the model has no sequence input '" + name + "'");
      return fail();
    }
  }
  // A declared tensor type as an argument named `name`; its named dims
  // are prefixed with `dimPrefix`.
  auto addArgument = [&](const std::string &name,
                         const onnx::TypeProto::Tensor &tensorType,
                         const std::string &dimPrefix) -> LogicalResult {
    Type elementType = convertElementType(tensorType.elem_type(), &context_);
    if (!elementType) {
      errors_.push_back("graph input '" + name + "' has data type " +
                        std::to_string(tensorType.elem_type()) +
                        ", which azc does not support");
      return failure();
    }
    SmallVector<int64_t> shape;
    SmallVector<Attribute> dimNames;
    bool anyNamed = false;
    if (!tensorType.has_shape()) {
      // Without a declared shape, the profile's --input-shape gives one.
      auto rank = options_.declaredRanks.find(name);
      if (rank == options_.declaredRanks.end()) {
        errors_.push_back("graph input '" + name +
                          "' has no shape; azc needs at least its rank: give "
                          "its shape with --input-shape " +
                          name + ":AxBx...");
        return failure();
      }
      shape.assign(rank->second, ShapedType::kDynamic);
    }
    for (const auto &dim : tensorType.shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() >= 0) {
        shape.push_back(dim.dim_value());
        dimNames.push_back(builder_.getStringAttr(""));
      } else {
        shape.push_back(ShapedType::kDynamic);
        dimNames.push_back(builder_.getStringAttr(
            dim.dim_param().empty() ? "" : dimPrefix + dim.dim_param()));
        anyNamed |= !dim.dim_param().empty();
      }
    }
    argTypes.push_back(RankedTensorType::get(shape, elementType));
    SmallVector<NamedAttribute> attrs = {
        builder_.getNamedAttr(azg::kNameAttr, builder_.getStringAttr(name))};
    if (anyNamed)
      attrs.push_back(builder_.getNamedAttr(azg::kDimNamesAttr,
                                            builder_.getArrayAttr(dimNames)));
    argAttrs.push_back(builder_.getDictionaryAttr(attrs));
    argNames.push_back(name);
    return success();
  };
  // Sequence inputs: name -> the indices of their element arguments.
  std::vector<std::pair<std::string, SmallVector<size_t>>> sequences;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (initializerNames.contains(input.name()))
      continue;
    // A sequence of a length given at build is one argument per element,
    // NAME[i], each with dims of its own (the elements of a list may
    // differ in shape): a named dim P of element i is NAME[i].P.
    if (const onnx::TypeProto::Tensor *elementType = inputSequenceType(input)) {
      auto length = options_.sequenceLengths.find(input.name());
      if (length == options_.sequenceLengths.end()) {
        errors_.push_back(
            "graph input '" + input.name() +
            "' is a sequence: give its length with --sequence-length " +
            input.name() + "=N, and the engine takes its elements as inputs " +
            input.name() + "[0] ... " + input.name() + "[N-1]");
        return fail();
      }
      SmallVector<size_t> elements;
      for (int64_t i = 0; i < length->second; ++i) {
        std::string element = input.name() + "[" + std::to_string(i) + "]";
        elements.push_back(argTypes.size());
        if (failed(addArgument(element, *elementType, element + ".")))
          return fail();
      }
      sequences.emplace_back(input.name(), std::move(elements));
      continue;
    }
    if (!inputTensorType(input)) {
      errors_.push_back("graph input '" + input.name() +
                        "' is not a tensor or a sequence of tensors: an "
                        "engine's inputs are tensors");
      return fail();
    }
    const onnx::TypeProto::Tensor &tensorType = *inputTensorType(input);
    auto fixedSpec = options_.fixedInputs.find(input.name());
    if (fixedSpec == options_.fixedInputs.end()) {
      if (failed(addArgument(input.name(), tensorType, "")))
        return fail();
      continue;
    }
    // Fixed at build: the input keeps its place in the signature, but
    // every node reads the constant, so importers see its value.
    Type elementType = convertElementType(tensorType.elem_type(), &context_);
    if (!elementType) {
      errors_.push_back("graph input '" + input.name() + "' has data type " +
                        std::to_string(tensorType.elem_type()) +
                        ", which azc does not support");
      return fail();
    }
    std::string message;
    ElementsAttr value =
        fixedValue(input, elementType, fixedSpec->second, message);
    if (!value) {
      errors_.push_back(message);
      return fail();
    }
    fixedValues_[input.name()] = value;
    argTypes.push_back(cast<RankedTensorType>(value.getType()));
    argAttrs.push_back(builder_.getDictionaryAttr(
        {builder_.getNamedAttr(azg::kNameAttr,
                               builder_.getStringAttr(input.name())),
         builder_.getNamedAttr(azg::kFixedValueAttr, value)}));
    argNames.push_back(input.name());
  }

  auto func = func::FuncOp::create(fileLoc, "main",
                                   builder_.getFunctionType(argTypes, {}));
  module->push_back(func);
  func.setAllArgAttrs(argAttrs);
  Block *body = func.addEntryBlock();
  builder_.setInsertionPointToStart(body);
  SmallVector<bool> isElement(argNames.size(), false);
  for (auto &[name, elements] : sequences) {
    SmallVector<Value> values;
    for (size_t index : elements) {
      isElement[index] = true;
      values.push_back(body->getArgument(index));
    }
    bindValue(name, makeSequence(builder_, fileLoc, values));
  }
  for (auto [index, name] : llvm::enumerate(argNames)) {
    if (isElement[index])
      continue; // its name is the engine's, not the graph's
    auto fixed = fixedValues_.find(name);
    bindValue(name,
              fixed == fixedValues_.end()
                  ? Value(body->getArgument(index))
                  : builder_.create<azg::ConstantOp>(fileLoc, fixed->second)
                        .getOutput());
  }

  for (const onnx::TensorProto &tensor : graph.initializer()) {
    currentNode_ = "initializer '" + tensor.name() + "'";
    FailureOr<Value> value = importInitializer(tensor);
    if (failed(value))
      return fail();
    bindValue(tensor.name(), *value);
  }
  currentNode_.clear();

  if (failed(importNodes(graph)))
    return fail();
  currentNode_.clear();

  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    Value value = lookupValue(output.name());
    if (!value) {
      errors_.push_back("graph output '" + output.name() +
                        "' is not produced by any node");
      return fail();
    }
    if (isEmptyOptional(value)) {
      errors_.push_back("graph output '" + output.name() +
                        "' is an empty optional; an engine's outputs are "
                        "tensors");
      return fail();
    }
    auto addResult = [&](Value result, const std::string &name) {
      results.push_back(result);
      resultAttrs.push_back(builder_.getDictionaryAttr({builder_.getNamedAttr(
          azg::kNameAttr, builder_.getStringAttr(name))}));
    };
    // A sequence, whose length is known at build, is one output per
    // element: NAME[0], NAME[1], ...
    if (std::optional<SmallVector<Value>> elements = sequenceElements(value)) {
      for (auto [i, element] : llvm::enumerate(*elements))
        addResult(element, output.name() + "[" + std::to_string(i) + "]");
      continue;
    }
    addResult(value, output.name());
  }
  eraseImportOnlyValues(func);
  builder_.create<func::ReturnOp>(fileLoc, results);
  func.setFunctionType(
      builder_.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setAllResultAttrs(resultAttrs);

  if (failed(verify(*module))) {
    if (errors_.empty())
      errors_.push_back("the imported IR does not verify");
    errors_.front() =
        "internal error: imported IR does not verify: " + errors_.front();
    return fail();
  }
  return module;
}

OwningOpRef<ModuleOp> azc::onnx_frontend::importOnnxFile(
    MLIRContext &context, const std::string &path, const ImportOptions &options,
    std::string &error) {
  context.loadDialect<azg::AzgDialect, func::FuncDialect>();
  std::unique_ptr<ModelFile> file = ModelFile::load(path, error);
  if (!file)
    return nullptr;
  GraphImporter importer(context, *file, options);
  return importer.run(error);
}

ElementsAttr azc::onnx_frontend::readTensorFile(MLIRContext &context,
                                                const std::string &path,
                                                std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  onnx::TensorProto tensor;
  if (!buffer || !tensor.ParseFromArray((*buffer)->getBufferStart(),
                                        int((*buffer)->getBufferSize()))) {
    error = path + ": not a readable ONNX TensorProto file";
    return nullptr;
  }
  Type elementType = convertElementType(tensor.data_type(), &context);
  if (!elementType || isStorageOnlyType(elementType)) {
    error = path + ": data type " + std::to_string(tensor.data_type()) +
            " is not supported";
    return nullptr;
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > (int64_t(1) << 40) / d)) {
      error = path + ": bad dims";
      return nullptr;
    }
    count *= d;
  }
  auto type = RankedTensorType::get(shape, elementType);
  std::vector<char> bytes;
  size_t width = std::max<size_t>(1, bitWidthOf(elementType) / 8);
  if (tensor.has_raw_data()) {
    bytes.assign(tensor.raw_data().begin(), tensor.raw_data().end());
  } else if (!typedFieldBytes(tensor, elementType, count, bytes)) {
    error = path + ": holds a number of values that does not match its dims";
    return nullptr;
  }
  if (bytes.size() != size_t(count) * width) {
    error = path + ": holds " + std::to_string(bytes.size()) +
            " bytes, its dims and type need " + std::to_string(count * width);
    return nullptr;
  }
  if (elementType.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return DenseElementsAttr::get(type, values);
  }
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

ElementsAttr GraphImporter::fixedValue(const onnx::ValueInfoProto &input,
                                       Type elementType,
                                       const std::string &spec,
                                       std::string &error) {
  const auto &dims = inputTensorType(input)->shape().dim();
  std::string label = "--input-value " + input.name() + "=" + spec;
  ElementsAttr value;
  if (llvm::StringRef(spec).ends_with(".pb")) {
    value = readTensorFile(context_, spec, error);
    if (!value)
      return nullptr;
  } else {
    SmallVector<StringRef> parts;
    llvm::StringRef(spec).split(parts, ',');
    SmallVector<int64_t> shape;
    if (dims.size() != 0)
      shape.push_back(int64_t(parts.size()));
    auto type = RankedTensorType::get(shape, elementType);
    SmallVector<Attribute> elements;
    for (StringRef part : parts) {
      int64_t integer;
      double real;
      if (isa<IntegerType>(elementType) &&
          !part.trim().getAsInteger(10, integer))
        elements.push_back(builder_.getIntegerAttr(elementType, integer));
      else if (isa<FloatType>(elementType) && !part.trim().getAsDouble(real))
        elements.push_back(builder_.getFloatAttr(elementType, real));
      else {
        error =
            label + ": '" + part.str() + "' is not a value of the input's type";
        return nullptr;
      }
    }
    if (int64_t(elements.size()) != type.getNumElements()) {
      error = label + ": the input is a scalar; give one value";
      return nullptr;
    }
    value = DenseElementsAttr::get(type, elements);
  }
  auto type = cast<RankedTensorType>(value.getType());
  bool fits =
      type.getElementType() == elementType && type.getRank() == dims.size();
  for (int d = 0; fits && d < dims.size(); ++d)
    fits =
        !dims[d].has_dim_value() || dims[d].dim_value() == type.getDimSize(d);
  if (!fits) {
    error = label + ": the value's type does not fit graph input '" +
            input.name() + "'";
    return nullptr;
  }
  return value;
}
