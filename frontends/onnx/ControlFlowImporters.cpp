//===- ControlFlowImporters.cpp - If, Loop and Scan, resolved at import ---===//
//
// An azc engine is one straight-line program, so control flow is resolved
// while importing: If imports only the branch its condition selects, and
// Loop and Scan import one copy of their body per iteration. That needs
// what decides the control flow to be known at build: If's condition and
// Loop's trip count and conditions must fold to constants (a graph input
// they come from can be fixed with azc build --input-value), and Scan's
// iteration count is the static length of its scan inputs.
//
// Each branch or body copy is imported in its own scope of names: its
// formal inputs are bound to the values of the iteration, it reads names
// of the graphs around it, and only its outputs flow on.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// The graph attribute `name` of the node, or null.
const onnx::GraphProto *graphAttr(NodeContext &n, StringRef name) {
  const onnx::AttributeProto *attribute = n.attr(name);
  return attribute && attribute->has_g() ? &attribute->g() : nullptr;
}

/// The value of a one-element integer or boolean constant, or nothing when
/// `value` is absent or not (yet) a constant.
std::optional<APInt> constantScalar(Value value) {
  DenseIntElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)) ||
      attr.getNumElements() != 1)
    return std::nullopt;
  return *attr.getValues<APInt>().begin();
}

std::optional<bool> constantCondition(Value value) {
  std::optional<APInt> scalar = constantScalar(value);
  if (!scalar)
    return std::nullopt;
  return !scalar->isZero();
}

/// The error for a control input that does not fold: the wording "(input
/// N) must be a constant" tells tools which input to fix at build.
LogicalResult notConstant(NodeContext &n, StringRef what, int index) {
  return n.error(what + " (input " + Twine(index) +
                 ") must be a constant at build; an engine is one "
                 "straight-line program, so azc resolves " +
                 n.node().op_type() +
                 " while importing (fix the graph inputs it is computed "
                 "from with azc build --input-value)");
}

Value constantBool(NodeContext &n, bool value) {
  auto type = RankedTensorType::get({}, n.builder().getI1Type());
  return n.builder().create<azg::ConstantOp>(
      n.loc(), DenseElementsAttr::get(type, ArrayRef<bool>{value}));
}

/// Stacks equally shaped `parts` along a new dim `axis` of the result.
FailureOr<Value> stack(NodeContext &n, ArrayRef<Value> parts, int64_t axis) {
  Builder b(n.context());
  SmallVector<Value> expanded;
  for (Value part : parts) {
    FailureOr<Value> unsqueezed =
        n.make<azg::UnsqueezeOp>(part, b.getDenseI64ArrayAttr({axis}));
    if (failed(unsqueezed))
      return failure();
    expanded.push_back(*unsqueezed);
  }
  if (expanded.size() == 1)
    return expanded.front();
  return n.make<azg::ConcatOp>(ValueRange(expanded), b.getI64IntegerAttr(axis));
}

/// Element `index` of `value` along `axis`, that dim dropped.
FailureOr<Value> takeAt(NodeContext &n, Value value, int64_t index,
                        int64_t axis) {
  Builder b(n.context());
  return n.make<azg::GatherOp>(value, n.constantI64({index}, /*scalar=*/true),
                               b.getI64IntegerAttr(axis));
}

//===----------------------------------------------------------------------===//
// If
//===----------------------------------------------------------------------===//

LogicalResult importIf(NodeContext &n) {
  std::optional<bool> condition = constantCondition(n.input(0));
  if (!condition)
    return notConstant(n, "the condition", 0);
  StringRef branchName = *condition ? "then_branch" : "else_branch";
  const onnx::GraphProto *branch = graphAttr(n, branchName);
  if (!branch)
    return n.error("has no " + branchName + " graph");
  FailureOr<SmallVector<Value>> outputs =
      n.importSubgraph(*branch, {}, "the " + branchName);
  if (failed(outputs))
    return failure();
  if (outputs->size() < size_t(n.node().output_size()))
    return n.error("the " + branchName + " returns " + Twine(outputs->size()) +
                   " values for " + Twine(n.node().output_size()) + " outputs");
  return n.setResults(*outputs);
}

//===----------------------------------------------------------------------===//
// Loop
//===----------------------------------------------------------------------===//

/// Loop(M, cond, v_initial...) with body (iteration_num, cond, v...) ->
/// (cond, v..., scan...): runs while i < M (when M is given) and cond
/// (when cond is given; the body's condition output is then read after
/// each iteration). Outputs the final v..., then each scan value of every
/// iteration stacked along a new dim 0.
LogicalResult importLoop(NodeContext &n) {
  const onnx::GraphProto *body = graphAttr(n, "body");
  if (!body)
    return n.error("has no body graph");
  if (n.numInputs() < 2)
    return n.error("needs inputs M and cond (either may be empty)");
  const size_t numCarried = n.numInputs() - 2;
  if (size_t(body->input_size()) != numCarried + 2 ||
      size_t(body->output_size()) < numCarried + 1)
    return n.error("the body must take the iteration number, the condition "
                   "and the " +
                   Twine(numCarried) +
                   " loop-carried values, and return the condition and "
                   "those values (then any scan outputs)");
  const size_t numScans = body->output_size() - 1 - numCarried;

  std::optional<int64_t> tripCount;
  if (n.input(0)) {
    std::optional<APInt> count = constantScalar(n.input(0));
    if (!count)
      return notConstant(n, "the trip count", 0);
    tripCount = count->getSExtValue();
  }
  const bool conditionGiven = bool(n.input(1));
  bool condition = true;
  if (conditionGiven) {
    std::optional<bool> initial = constantCondition(n.input(1));
    if (!initial)
      return notConstant(n, "the condition", 1);
    condition = *initial;
  }
  if (!tripCount && !conditionGiven)
    return n.error("has neither a trip count nor a condition, so it never "
                   "ends");

  SmallVector<Value> carried;
  for (size_t i = 0; i < numCarried; ++i) {
    if (!n.input(2 + i))
      return n.error("loop-carried input " + Twine(2 + i) + " is empty");
    carried.push_back(n.input(2 + i));
  }
  SmallVector<SmallVector<Value>> scans(numScans);
  for (int64_t iteration = 0;
       condition && (!tripCount || iteration < *tripCount); ++iteration) {
    if (failed(n.countUnrolledBody()))
      return failure();
    SmallVector<Value> bodyInputs = {n.constantI64({iteration}, true),
                                     constantBool(n, condition)};
    bodyInputs.append(carried);
    FailureOr<SmallVector<Value>> outputs = n.importSubgraph(
        *body, bodyInputs, "iteration " + Twine(iteration) + " of the body");
    if (failed(outputs))
      return failure();
    // Without a cond input the body's condition output is ignored, as in
    // a for loop.
    if (conditionGiven) {
      std::optional<bool> next = constantCondition((*outputs)[0]);
      if (!next)
        return n.error("the body's condition output does not fold to a "
                       "constant (iteration " +
                       Twine(iteration) +
                       "); an engine cannot decide at run time when a loop "
                       "ends");
      condition = *next;
    }
    carried.assign(outputs->begin() + 1, outputs->begin() + 1 + numCarried);
    for (size_t k = 0; k < numScans; ++k) {
      Value scanned = (*outputs)[1 + numCarried + k];
      if (!isa<RankedTensorType>(scanned.getType()))
        return n.error("scan output " + Twine(numCarried + k) +
                       " is not a tensor, and scan outputs stack tensors");
      scans[k].push_back(scanned);
    }
  }

  SmallVector<Value> results(carried);
  for (size_t k = 0; k < numScans; ++k) {
    if (scans[k].empty()) {
      if (n.isOutputUsed(numCarried + k))
        return n.error("the loop runs no iteration, so the shape of scan "
                       "output " +
                       Twine(numCarried + k) + " is unknown");
      break;
    }
    FailureOr<Value> stacked = stack(n, scans[k], 0);
    if (failed(stacked))
      return failure();
    results.push_back(*stacked);
  }
  return n.setResults(results);
}

//===----------------------------------------------------------------------===//
// Scan
//===----------------------------------------------------------------------===//

/// How the scan inputs are cut and the scan outputs put together.
struct ScanLayout {
  SmallVector<int64_t> inputAxes, inputDirections;
  SmallVector<int64_t> outputAxes, outputDirections;
};

/// Unrolls a Scan body over `length` iterations: iteration t reads element
/// t (or length-1-t, reversed) of each scan input along its axis, and the
/// states it returns feed the next. Returns the final states, then each
/// scan output stacked along its axis (in reverse order when reversed).
FailureOr<SmallVector<Value>>
unrollScan(NodeContext &n, const onnx::GraphProto &body,
           ValueRange initialStates, ValueRange scanInputs,
           const ScanLayout &layout, int64_t length) {
  const size_t numStates = initialStates.size();
  const size_t numScanOutputs = body.output_size() - numStates;
  SmallVector<Value> states(initialStates);
  SmallVector<SmallVector<Value>> scans(numScanOutputs);
  for (int64_t t = 0; t < length; ++t) {
    if (failed(n.countUnrolledBody()))
      return failure();
    SmallVector<Value> bodyInputs(states);
    for (auto [j, input] : llvm::enumerate(scanInputs)) {
      int64_t index = layout.inputDirections[j] ? length - 1 - t : t;
      FailureOr<Value> element = takeAt(n, input, index, layout.inputAxes[j]);
      if (failed(element))
        return failure();
      bodyInputs.push_back(*element);
    }
    FailureOr<SmallVector<Value>> outputs = n.importSubgraph(
        body, bodyInputs, "iteration " + Twine(t) + " of the body");
    if (failed(outputs))
      return failure();
    states.assign(outputs->begin(), outputs->begin() + numStates);
    for (size_t k = 0; k < numScanOutputs; ++k) {
      Value scanned = (*outputs)[numStates + k];
      if (!isa<RankedTensorType>(scanned.getType()))
        return n.error("scan output " + Twine(k) +
                       " is not a tensor, and scan outputs stack tensors");
      scans[k].push_back(scanned);
    }
  }

  SmallVector<Value> results(states);
  for (size_t k = 0; k < numScanOutputs; ++k) {
    if (scans[k].empty())
      return n.error("the scan inputs have length 0, so the shapes of the "
                     "scan outputs are unknown");
    if (layout.outputDirections[k])
      std::reverse(scans[k].begin(), scans[k].end());
    int64_t rank =
        cast<RankedTensorType>(scans[k].front().getType()).getRank() + 1;
    int64_t axis = layout.outputAxes[k];
    if (axis < -rank || axis >= rank)
      return n.error("scan_output_axes[" + Twine(k) + "] = " + Twine(axis) +
                     " is out of range for a rank " + Twine(rank) + " output");
    FailureOr<Value> stacked =
        stack(n, scans[k], axis < 0 ? axis + rank : axis);
    if (failed(stacked))
      return failure();
    results.push_back(*stacked);
  }
  return results;
}

/// An int list attribute of `count` entries, `fallback` each when absent.
FailureOr<SmallVector<int64_t>> perValueAttr(NodeContext &n, StringRef name,
                                             size_t count, int64_t fallback) {
  std::optional<SmallVector<int64_t>> values = n.attrInts(name);
  if (!values)
    return SmallVector<int64_t>(count, fallback);
  if (values->size() != count) {
    (void)n.error(name + " has " + Twine(values->size()) + " entries for " +
                  Twine(count) + " values");
    return failure();
  }
  return *values;
}

/// The common static length of the scan inputs along their axes (made
/// non-negative in place).
FailureOr<int64_t> scanLength(NodeContext &n, ValueRange scanInputs,
                              MutableArrayRef<int64_t> axes) {
  std::optional<int64_t> length;
  for (auto [j, input] : llvm::enumerate(scanInputs)) {
    auto type = cast<RankedTensorType>(input.getType());
    int64_t rank = type.getRank();
    if (axes[j] < -rank || axes[j] >= rank)
      return n.error("the axis of scan input " + Twine(j) +
                     " is out of range for its rank " + Twine(rank));
    if (axes[j] < 0)
      axes[j] += rank;
    int64_t size = type.getDimSize(axes[j]);
    if (ShapedType::isDynamic(size))
      return n.error("scan input " + Twine(j) +
                     " has a dynamic length; an engine unrolls Scan at build, "
                     "so the number of iterations must be static");
    if (length && *length != size)
      return n.error("the scan inputs have different lengths (" +
                     Twine(*length) + " and " + Twine(size) + ")");
    length = size;
  }
  if (!length)
    return n.error("has no scan inputs");
  return *length;
}

/// Checks the body's arity against the node's states and scan inputs.
LogicalResult checkScanBody(NodeContext &n, const onnx::GraphProto *body,
                            size_t numStates, size_t numScanInputs) {
  if (!body)
    return n.error("has no body graph");
  if (size_t(body->input_size()) != numStates + numScanInputs ||
      size_t(body->output_size()) < numStates)
    return n.error("the body must take the " + Twine(numStates) +
                   " states and " + Twine(numScanInputs) +
                   " scan elements, and return the states first");
  return success();
}

/// Scan (opset 9 on): inputs are the initial states, then the scan inputs,
/// cut along scan_input_axes; scan outputs are stacked along
/// scan_output_axes.
LogicalResult importScan(NodeContext &n) {
  const onnx::GraphProto *body = graphAttr(n, "body");
  int64_t numScanInputs = n.attrInt("num_scan_inputs", 0);
  if (numScanInputs < 1 || size_t(numScanInputs) > n.numInputs())
    return n.error("num_scan_inputs must be between 1 and the number of "
                   "inputs");
  const size_t numStates = n.numInputs() - numScanInputs;
  if (failed(checkScanBody(n, body, numStates, numScanInputs)))
    return failure();
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n.numInputs(); ++i) {
    if (!n.input(i))
      return n.error("input " + Twine(i) + " is empty");
    inputs.push_back(n.input(i));
  }
  const size_t numScanOutputs = body->output_size() - numStates;
  ScanLayout layout;
  auto inputAxes = perValueAttr(n, "scan_input_axes", numScanInputs, 0);
  auto inputDirections =
      perValueAttr(n, "scan_input_directions", numScanInputs, 0);
  auto outputAxes = perValueAttr(n, "scan_output_axes", numScanOutputs, 0);
  auto outputDirections =
      perValueAttr(n, "scan_output_directions", numScanOutputs, 0);
  if (failed(inputAxes) || failed(inputDirections) || failed(outputAxes) ||
      failed(outputDirections))
    return failure();
  layout = {*inputAxes, *inputDirections, *outputAxes, *outputDirections};
  ValueRange scanInputs = ValueRange(inputs).drop_front(numStates);
  FailureOr<int64_t> length = scanLength(n, scanInputs, layout.inputAxes);
  if (failed(length))
    return failure();
  FailureOr<SmallVector<Value>> results =
      unrollScan(n, *body, ValueRange(inputs).take_front(numStates), scanInputs,
                 layout, *length);
  if (failed(results))
    return failure();
  return n.setResults(*results);
}

/// Scan opset 8: inputs are sequence_lens (optional), the initial states,
/// then the scan inputs, all with a leading batch dim; the scan inputs are
/// cut along dim 1. Each batch entry is scanned on its own and the results
/// stacked along the batch dim again.
LogicalResult importScan8(NodeContext &n) {
  const onnx::GraphProto *body = graphAttr(n, "body");
  int64_t numScanInputs = n.attrInt("num_scan_inputs", 0);
  if (numScanInputs < 1 || size_t(numScanInputs) + 1 > n.numInputs())
    return n.error("num_scan_inputs must be between 1 and the number of "
                   "inputs after sequence_lens");
  const size_t numStates = n.numInputs() - 1 - numScanInputs;
  if (failed(checkScanBody(n, body, numStates, numScanInputs)))
    return failure();
  SmallVector<Value> inputs;
  for (size_t i = 1; i < n.numInputs(); ++i) {
    if (!n.input(i))
      return n.error("input " + Twine(i) + " is empty");
    auto type = cast<RankedTensorType>(n.input(i).getType());
    if (type.getRank() < (i > numStates ? 2 : 1) ||
        ShapedType::isDynamic(type.getDimSize(0)))
      return n.error("input " + Twine(i) +
                     " needs a static batch dim (and a sequence dim for scan "
                     "inputs)");
    inputs.push_back(n.input(i));
  }
  const size_t numScanOutputs = body->output_size() - numStates;
  FailureOr<SmallVector<int64_t>> directions =
      perValueAttr(n, "directions", numScanInputs, 0);
  if (failed(directions))
    return failure();
  ScanLayout layout{SmallVector<int64_t>(numScanInputs, 1), *directions,
                    SmallVector<int64_t>(numScanOutputs, 0),
                    SmallVector<int64_t>(numScanOutputs, 0)};
  ValueRange scanInputs = ValueRange(inputs).drop_front(numStates);
  FailureOr<int64_t> length = scanLength(n, scanInputs, layout.inputAxes);
  if (failed(length))
    return failure();
  // Within one batch entry the sequence dim is dim 0.
  layout.inputAxes.assign(numScanInputs, 0);

  // Lengths shorter than the sequence would need per-entry masking; only
  // the full length (the common case, and the default) is supported.
  if (n.input(0)) {
    DenseIntElementsAttr lengths;
    if (!matchPattern(n.input(0), m_Constant(&lengths)))
      return notConstant(n, "sequence_lens", 0);
    for (const APInt &entry : lengths.getValues<APInt>())
      if (entry.getSExtValue() != *length)
        return n.error("sequence_lens other than the full length " +
                       Twine(*length) + " are not supported");
  }

  int64_t batch =
      cast<RankedTensorType>(inputs.front().getType()).getDimSize(0);
  if (batch < 1)
    return n.error("the batch is empty");
  SmallVector<SmallVector<Value>> perEntry(numStates + numScanOutputs);
  for (int64_t b = 0; b < batch; ++b) {
    SmallVector<Value> entryInputs;
    for (Value input : inputs) {
      FailureOr<Value> entry = takeAt(n, input, b, 0);
      if (failed(entry))
        return failure();
      entryInputs.push_back(*entry);
    }
    FailureOr<SmallVector<Value>> results = unrollScan(
        n, *body, ValueRange(entryInputs).take_front(numStates),
        ValueRange(entryInputs).drop_front(numStates), layout, *length);
    if (failed(results))
      return failure();
    for (auto [i, result] : llvm::enumerate(*results))
      perEntry[i].push_back(result);
  }
  SmallVector<Value> results;
  for (ArrayRef<Value> entries : perEntry) {
    FailureOr<Value> stacked = stack(n, entries, 0);
    if (failed(stacked))
      return failure();
    results.push_back(*stacked);
  }
  return n.setResults(results);
}

} // namespace

void azc::onnx_frontend::addControlFlowImporters(std::vector<OpImporter> &t) {
  // Loop's M and cond, and Scan 8's sequence_lens, may be empty names.
  t.push_back({"", "If", 1, importIf, 1, /*takesNonTensors=*/true});
  t.push_back({"", "Loop", 1, importLoop, 0, /*takesNonTensors=*/true});
  t.push_back({"", "Scan", 8, importScan8, 0});
  t.push_back({"", "Scan", 9, importScan, 1});
}
