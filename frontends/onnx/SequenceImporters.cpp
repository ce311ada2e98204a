//===- SequenceImporters.cpp - Sequence and Optional values at import -----===//
//
// ONNX's sequences and optionals hold tensors, but an engine is one
// straight-line program over tensors. As with control flow, azc resolves
// them while it imports: a sequence is the list of the tensor values it
// holds, which every sequence op (insert, erase, at, split, concat, map)
// edits at build, so positions and lengths must be known then. Each such
// value is an import-only marker op (an unrealized_conversion_cast to
// `none` whose operands are the elements) so that it lives in the same
// name scopes as tensors and flows through If branches and Loop bodies
// unchanged; the graph importer erases the markers once the graph is
// built and returns a sequence graph output as one output per element.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

static constexpr llvm::StringLiteral kSequenceMarker = "azc.onnx_sequence";
static constexpr llvm::StringLiteral kEmptyOptionalMarker =
    "azc.onnx_empty_optional";

static Value makeMarker(OpBuilder &builder, Location loc, ValueRange elements,
                        StringRef kind) {
  auto op = builder.create<UnrealizedConversionCastOp>(
      loc, TypeRange{builder.getNoneType()}, elements);
  op->setAttr(kind, builder.getUnitAttr());
  return op.getResult(0);
}

static Operation *markerOp(Value v, StringRef kind) {
  Operation *op = v ? v.getDefiningOp() : nullptr;
  return op && isa<UnrealizedConversionCastOp>(op) && op->hasAttr(kind)
             ? op
             : nullptr;
}

Value azc::onnx_frontend::makeSequence(OpBuilder &builder, Location loc,
                                       ValueRange elements) {
  return makeMarker(builder, loc, elements, kSequenceMarker);
}

Value azc::onnx_frontend::makeSequence(NodeContext &n, ValueRange elements) {
  return makeSequence(n.builder(), n.loc(), elements);
}

std::optional<SmallVector<Value>>
azc::onnx_frontend::sequenceElements(Value v) {
  Operation *op = markerOp(v, kSequenceMarker);
  if (!op)
    return std::nullopt;
  return SmallVector<Value>(op->getOperands());
}

bool azc::onnx_frontend::isEmptyOptional(Value v) {
  return markerOp(v, kEmptyOptionalMarker) != nullptr;
}

void azc::onnx_frontend::eraseImportOnlyValues(Operation *root) {
  SmallVector<Operation *> markers;
  root->walk([&](UnrealizedConversionCastOp op) {
    if (op->hasAttr(kSequenceMarker) || op->hasAttr(kEmptyOptionalMarker))
      markers.push_back(op);
  });
  for (Operation *op : markers)
    op->erase();
}

namespace {

/// The most tensors one split makes: each is a value of the program.
constexpr int64_t kMaxSequenceLength = 4096;

/// Input `i` as a sequence's elements; failure (reported) when it is not
/// one.
FailureOr<SmallVector<Value>> sequenceInput(NodeContext &n, size_t i) {
  std::optional<SmallVector<Value>> elements = sequenceElements(n.input(i));
  if (!elements) {
    (void)n.error("input " + Twine(i) + " ('" + n.node().input(i) +
                  "') is not a sequence");
    return failure();
  }
  return *elements;
}

/// Optional position input `i` as an index into `length` elements (or
/// `length + 1` places to insert at, when `insert`); `otherwise` when
/// absent. Negative positions count from the back, as ONNX defines.
FailureOr<int64_t> position(NodeContext &n, size_t i, int64_t length,
                            bool insert, int64_t otherwise) {
  if (!n.input(i))
    return otherwise;
  FailureOr<SmallVector<int64_t>> given = n.constantInts(i, "position");
  if (failed(given))
    return failure();
  if (given->size() != 1) {
    (void)n.error("position must be a scalar");
    return failure();
  }
  int64_t at = given->front(), places = insert ? length + 1 : length;
  if (at < -length || at >= places) {
    (void)n.error("position " + Twine(at) +
                  " is out of range for a sequence of " + Twine(length) +
                  " tensors");
    return failure();
  }
  return at < 0 ? at + length : at;
}

LogicalResult importSequenceEmpty(NodeContext &n) {
  return n.setResults(makeSequence(n, {}));
}

LogicalResult importSequenceConstruct(NodeContext &n) {
  SmallVector<Value> elements;
  for (size_t i = 0; i < n.numInputs(); ++i) {
    if (!n.input(i) || !isa<RankedTensorType>(n.input(i).getType()))
      return n.error("input " + Twine(i) + " is not a tensor");
    elements.push_back(n.input(i));
  }
  return n.setResults(makeSequence(n, elements));
}

LogicalResult importSequenceInsert(NodeContext &n) {
  FailureOr<SmallVector<Value>> elements = sequenceInput(n, 0);
  if (failed(elements))
    return failure();
  if (!isa<RankedTensorType>(n.input(1).getType()))
    return n.error("input 1 is not a tensor");
  int64_t length = elements->size();
  FailureOr<int64_t> at = position(n, 2, length, /*insert=*/true, length);
  if (failed(at))
    return failure();
  elements->insert(elements->begin() + *at, n.input(1));
  return n.setResults(makeSequence(n, *elements));
}

LogicalResult importSequenceErase(NodeContext &n) {
  FailureOr<SmallVector<Value>> elements = sequenceInput(n, 0);
  if (failed(elements))
    return failure();
  int64_t length = elements->size();
  if (length == 0)
    return n.error("erases from an empty sequence");
  FailureOr<int64_t> at = position(n, 1, length, /*insert=*/false, length - 1);
  if (failed(at))
    return failure();
  elements->erase(elements->begin() + *at);
  return n.setResults(makeSequence(n, *elements));
}

LogicalResult importSequenceAt(NodeContext &n) {
  FailureOr<SmallVector<Value>> elements = sequenceInput(n, 0);
  if (failed(elements))
    return failure();
  FailureOr<int64_t> at = position(n, 1, elements->size(), false, 0);
  if (failed(at))
    return failure();
  return n.setResults((*elements)[*at]);
}

LogicalResult importSequenceLength(NodeContext &n) {
  FailureOr<SmallVector<Value>> elements = sequenceInput(n, 0);
  if (failed(elements))
    return failure();
  return n.setResults(n.constantI64({int64_t(elements->size())}, true));
}

/// SplitToSequence: pieces of the sizes `split` lists, or of its scalar
/// size (the last piece smaller), or (without it) of size 1, squeezed
/// unless keepdims.
LogicalResult importSplitToSequence(NodeContext &n) {
  RankedTensorType type = typeOf(n.input(0));
  FailureOr<int64_t> axis = n.attrAxis("axis", 0, type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  bool squeeze = false;
  FailureOr<SmallVector<int64_t>> split =
      n.input(1) ? n.constantInts(1, "split") : SmallVector<int64_t>();
  if (failed(split))
    return failure();
  if (n.input(1) && typeOf(n.input(1)).getRank() > 1)
    return n.error("split must be a scalar or a 1-D list of sizes");
  bool sizesGiven = n.input(1) && typeOf(n.input(1)).getRank() == 1;
  // Only explicit sizes give the sequence's length without the dim's.
  if (ShapedType::isDynamic(dim) && !sizesGiven)
    return n.error("splitting a dynamic dim needs explicit split sizes: the "
                   "sequence's length must be known at build");
  int64_t chunk = n.input(1) && !sizesGiven ? split->front() : 1;
  if (chunk < 1)
    return n.error("split must be positive");
  int64_t length =
      sizesGiven ? int64_t(split->size()) : (dim + chunk - 1) / chunk;
  if (length > kMaxSequenceLength)
    return n.error("would make a sequence of " + Twine(length) +
                   " tensors; azc builds at most " + Twine(kMaxSequenceLength));
  if (n.input(1)) {
    if (!sizesGiven) {
      int64_t size = chunk;
      for (int64_t offset = 0; offset < dim; offset += size)
        sizes.push_back(std::min(size, dim - offset));
    } else {
      sizes = *split;
      int64_t total = 0;
      for (int64_t size : sizes) {
        if (size < 0)
          return n.error("split sizes must not be negative");
        total += size;
      }
      if (!ShapedType::isDynamic(dim) && total != dim)
        return n.error("split sizes add up to " + Twine(total) +
                       ", not the axis's " + Twine(dim));
    }
  } else {
    sizes.assign(dim, 1);
    squeeze = n.attrInt("keepdims", 1) == 0;
  }
  Builder b(n.context());
  SmallVector<Value> pieces;
  if (!sizes.empty()) {
    FailureOr<Operation *> split = n.create<azg::SplitOp>(
        sizes.size(), n.input(0), b.getI64IntegerAttr(*axis),
        b.getDenseI64ArrayAttr(sizes));
    if (failed(split))
      return failure();
    pieces.append((*split)->result_begin(), (*split)->result_end());
  }
  if (squeeze)
    for (Value &piece : pieces) {
      TRY(squeezed,
          n.make<azg::SqueezeOp>(piece, b.getDenseI64ArrayAttr({*axis})));
      piece = squeezed;
    }
  return n.setResults(makeSequence(n, pieces));
}

/// ConcatFromSequence: the elements joined along `axis`, or stacked along a
/// new one when new_axis.
LogicalResult importConcatFromSequence(NodeContext &n) {
  FailureOr<SmallVector<Value>> elements = sequenceInput(n, 0);
  if (failed(elements))
    return failure();
  if (elements->empty())
    return n.error("concatenates an empty sequence, whose shape is unknown");
  if (!n.attr("axis"))
    return n.error("needs an axis");
  bool stack = n.attrInt("new_axis", 0) != 0;
  int64_t rank = typeOf(elements->front()).getRank() + (stack ? 1 : 0);
  FailureOr<int64_t> axis = n.attrAxis("axis", 0, rank);
  if (failed(axis))
    return failure();
  Builder b(n.context());
  SmallVector<Value> parts;
  for (Value element : *elements) {
    if (!stack) {
      parts.push_back(element);
      continue;
    }
    TRY(expanded,
        n.make<azg::UnsqueezeOp>(element, b.getDenseI64ArrayAttr({*axis})));
    parts.push_back(expanded);
  }
  return n.setResult(
      n.make<azg::ConcatOp>(ValueRange(parts), b.getI64IntegerAttr(*axis)));
}

/// SequenceMap: the body once per position of the input sequences (which
/// must have one length), reading element i of each sequence input and
/// every tensor input whole; each body output collects into a sequence.
LogicalResult importSequenceMap(NodeContext &n) {
  const onnx::AttributeProto *body = n.attr("body");
  if (!body || !body->has_g())
    return n.error("needs a body graph");
  // Each input's elements (nullopt for a tensor input), read once.
  SmallVector<std::optional<SmallVector<Value>>> inputs;
  std::optional<int64_t> length;
  for (size_t i = 0; i < n.numInputs(); ++i) {
    std::optional<SmallVector<Value>> &elements =
        inputs.emplace_back(sequenceElements(n.input(i)));
    if (i == 0 && !elements)
      return n.error("input 0 is not a sequence");
    if (!elements)
      continue;
    if (length && *length != int64_t(elements->size()))
      return n.error("its input sequences differ in length (" + Twine(*length) +
                     " and " + Twine(elements->size()) + ")");
    length = elements->size();
  }
  SmallVector<SmallVector<Value>> outputs(body->g().output_size());
  for (int64_t position = 0; position < *length; ++position) {
    if (failed(n.countUnrolledBody()))
      return failure();
    SmallVector<Value> bodyInputs;
    for (auto [i, elements] : llvm::enumerate(inputs))
      bodyInputs.push_back(elements ? (*elements)[position] : n.input(i));
    FailureOr<SmallVector<Value>> results = n.importSubgraph(
        body->g(), bodyInputs, "position " + Twine(position) + " of the body");
    if (failed(results))
      return failure();
    for (auto [k, result] : llvm::enumerate(*results)) {
      if (!isa<RankedTensorType>(result.getType()))
        return n.error("the body's output " + Twine(k) + " is not a tensor");
      outputs[k].push_back(result);
    }
  }
  SmallVector<Value> sequences;
  for (ArrayRef<Value> elements : outputs)
    sequences.push_back(makeSequence(n, elements));
  return n.setResults(sequences);
}

/// Optional: its input when given, else an empty optional.
LogicalResult importOptional(NodeContext &n) {
  if (Value given = n.input(0))
    return n.setResults(given);
  return n.setResults(
      makeMarker(n.builder(), n.loc(), {}, kEmptyOptionalMarker));
}

LogicalResult importOptionalHasElement(NodeContext &n) {
  Value given = n.input(0);
  bool has = given && !isEmptyOptional(given);
  Builder b(n.context());
  auto type = RankedTensorType::get({}, b.getI1Type());
  return n.setResults(
      n.builder()
          .create<azg::ConstantOp>(n.loc(), DenseElementsAttr::get(type, has))
          .getOutput());
}

LogicalResult importOptionalGetElement(NodeContext &n) {
  if (isEmptyOptional(n.input(0)))
    return n.error("input 0 ('" + n.node().input(0) +
                   "') is an empty optional, which holds no element");
  return n.setResults(n.input(0));
}

} // namespace

void azc::onnx_frontend::addSequenceImporters(std::vector<OpImporter> &t) {
  // Ops that build sequences from tensors, then ops that read sequences
  // and optionals.
  t.push_back({"", "SequenceEmpty", 11, importSequenceEmpty, 0});
  t.push_back({"", "SequenceConstruct", 11, importSequenceConstruct, 1});
  t.push_back({"", "SplitToSequence", 11, importSplitToSequence, 1});
  auto reader = [&](const char *op, int64_t since, ImportFn fn, int minInputs) {
    t.push_back({"", op, since, fn, minInputs, /*takesNonTensors=*/true});
  };
  reader("SequenceInsert", 11, importSequenceInsert, 2);
  reader("SequenceErase", 11, importSequenceErase, 1);
  reader("SequenceAt", 11, importSequenceAt, 2);
  reader("SequenceLength", 11, importSequenceLength, 1);
  reader("ConcatFromSequence", 11, importConcatFromSequence, 1);
  reader("SequenceMap", 17, importSequenceMap, 1);
  reader("Optional", 15, importOptional, 0);
  reader("OptionalHasElement", 15, importOptionalHasElement, 0);
  reader("OptionalGetElement", 15, importOptionalGetElement, 1);
}
