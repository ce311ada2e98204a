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
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <map>
#include <set>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

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
      if (const onnx::FunctionProto *function = findFunction(node)) {
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
  if (const onnx::FunctionProto *function = findFunction(node))
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
  if (!importer->takesNonTensors)
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
  return makeConstant(tensor.name(), *value);
}

Value GraphImporter::makeConstant(const std::string &name, ElementsAttr value) {
  Location loc =
      NameLoc::get(builder_.getStringAttr(name),
                   FileLineColLoc::get(&context_, file_.path(), 0, 0));
  if (isa<DenseResourceElementsAttr>(value))
    return builder_.create<azg::WeightOp>(loc, name, value).getOutput();
  return builder_.create<azg::ConstantOp>(loc, value).getOutput();
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
  for (const onnx::SparseTensorProto &t : graph.sparse_initializer())
    initializerNames.insert(t.values().name());
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> argNames;
  // Flags that name graph inputs must name inputs the model has, of the
  // kind the flag takes.
  auto hasInput = [&](const std::string &name, bool sequence) {
    return llvm::any_of(graph.input(), [&](const onnx::ValueInfoProto &input) {
      return input.name() == name && !initializerNames.contains(name) &&
             bool(inputSequenceType(input)) == sequence;
    });
  };
  for (auto &[name, spec] : options_.fixedInputs)
    if (!hasInput(name, /*sequence=*/false)) {
      errors_.push_back("--input-value " + name + "=" + spec +
                        ": the model has no graph input '" + name + "'");
      return fail();
    }
  for (auto &[name, length] : options_.sequenceLengths)
    if (!hasInput(name, /*sequence=*/true)) {
      errors_.push_back("--sequence-length " + name + "=" +
                        std::to_string(length) +
                        ": the model has no sequence input '" + name + "'");
      return fail();
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
  // Sparse initializers, densified: the kernels are dense. The name is
  // their values' name.
  for (const onnx::SparseTensorProto &sparse : graph.sparse_initializer()) {
    currentNode_ = "initializer '" + sparse.values().name() + "'";
    std::string message;
    FailureOr<ElementsAttr> value = importSparseTensor(sparse, message);
    if (failed(value)) {
      errors_.push_back(message);
      return fail();
    }
    bindValue(sparse.values().name(),
              makeConstant(sparse.values().name(), *value));
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
