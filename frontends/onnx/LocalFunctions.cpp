//===- LocalFunctions.cpp - model-local functions, inlined at each call ---===//
//
// An ONNX model may define functions of its own (ModelProto.functions):
// exporters write one per module or composite op, and nodes call them by
// (domain, name). azc inlines each call while importing, as onnxruntime
// does, so the rest of the compiler never sees a call: the body is imported
// as a subgraph in its own scope of names, with the caller's inputs bound
// to the function's formal inputs (an omitted optional one reads as
// absent), each attribute reference (ref_attr_name) replaced by the
// caller's attribute or the function's default, and the formal outputs
// bound to the caller's outputs. The body's ops bind to the function's own
// opset_import. A function that calls itself, directly or not, is refused.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/GraphImporterState.h"

#include "llvm/ADT/STLExtras.h"

#include <google/protobuf/unknown_field_set.h>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

// Fields newer than the onnx.proto azc builds against, which arrive among
// the unknown fields: FunctionProto.attribute_proto (IR version 9, the
// attributes with defaults) and the overload names of IR version 10
// (NodeProto.overload, FunctionProto.overload), which tell apart functions
// of one domain and name.
constexpr int kFunctionAttributeProtoField = 11;
constexpr int kNodeOverloadField = 8, kFunctionOverloadField = 13;

/// Unknown length-delimited field `number` of `message`, or "".
std::string unknownString(const google::protobuf::Message &message,
                          int number) {
  const google::protobuf::UnknownFieldSet &unknown =
      message.GetReflection()->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i)
    if (unknown.field(i).number() == number &&
        unknown.field(i).type() ==
            google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      return unknown.field(i).length_delimited();
  return "";
}

std::vector<onnx::AttributeProto>
attributeDefaults(const onnx::FunctionProto &function) {
  std::vector<onnx::AttributeProto> defaults;
  const google::protobuf::UnknownFieldSet &unknown = function.unknown_fields();
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField &field = unknown.field(i);
    onnx::AttributeProto attribute;
    if (field.number() == kFunctionAttributeProtoField &&
        field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED &&
        attribute.ParseFromString(field.length_delimited()))
      defaults.push_back(std::move(attribute));
  }
  return defaults;
}

/// What a body node's attribute references resolve against.
struct CallSite {
  const onnx::NodeProto &caller;
  const std::vector<onnx::AttributeProto> &defaults;
  /// Formal inputs the caller leaves out: references read as absent.
  const llvm::StringSet<> &omitted;

  const onnx::AttributeProto *lookup(const std::string &name) const {
    for (const onnx::AttributeProto &attribute : caller.attribute())
      if (attribute.name() == name)
        return &attribute;
    for (const onnx::AttributeProto &attribute : defaults)
      if (attribute.name() == name)
        return &attribute;
    return nullptr;
  }
};

void instantiate(onnx::NodeProto &node, const CallSite &call);

/// Resolves the references of every node of `graph`, nested graphs too.
void instantiate(onnx::GraphProto &graph, const CallSite &call) {
  for (onnx::NodeProto &node : *graph.mutable_node())
    instantiate(node, call);
}

/// `node` of the body as this call runs it: omitted inputs made absent, an
/// attribute that refers to one of the function's replaced by its value
/// (or dropped when the caller gives none and there is no default).
void instantiate(onnx::NodeProto &node, const CallSite &call) {
  for (std::string &input : *node.mutable_input())
    if (call.omitted.contains(input))
      input.clear();
  google::protobuf::RepeatedPtrField<onnx::AttributeProto> resolved;
  for (const onnx::AttributeProto &attribute : node.attribute()) {
    if (attribute.ref_attr_name().empty()) {
      onnx::AttributeProto *copy = resolved.Add();
      *copy = attribute;
      if (copy->has_g())
        instantiate(*copy->mutable_g(), call);
      for (onnx::GraphProto &graph : *copy->mutable_graphs())
        instantiate(graph, call);
      continue;
    }
    if (const onnx::AttributeProto *value =
            call.lookup(attribute.ref_attr_name())) {
      onnx::AttributeProto *copy = resolved.Add();
      *copy = *value;
      copy->set_name(attribute.name());
    }
  }
  node.mutable_attribute()->Swap(&resolved);
}

} // namespace

const onnx::FunctionProto *
GraphImporter::findFunction(const onnx::NodeProto &node) const {
  if (file_.model().functions_size() == 0)
    return nullptr;
  auto withoutDefault = [](StringRef domain) {
    return domain == "ai.onnx" ? StringRef() : domain;
  };
  std::string overload = unknownString(node, kNodeOverloadField);
  for (const onnx::FunctionProto &function : file_.model().functions())
    if (withoutDefault(function.domain()) == withoutDefault(node.domain()) &&
        function.name() == node.op_type() &&
        unknownString(function, kFunctionOverloadField) == overload)
      return &function;
  return nullptr;
}

std::map<std::string, int64_t>
azc::onnx_frontend::functionOpsetMap(const onnx::FunctionProto &function) {
  std::map<std::string, int64_t> opsets;
  for (const onnx::OperatorSetIdProto &opset : function.opset_import())
    opsets[opset.domain() == "ai.onnx" ? "" : opset.domain()] = opset.version();
  return opsets;
}

int64_t GraphImporter::opsetOf(const std::string &domain) const {
  for (const auto &opsets : llvm::reverse(functionOpsets_)) {
    auto found = opsets.find(domain);
    if (found != opsets.end())
      return found->second;
  }
  auto found = opsets_.find(domain);
  return found == opsets_.end() ? 0 : found->second;
}

LogicalResult
GraphImporter::importFunctionCall(const onnx::NodeProto &node,
                                  const onnx::FunctionProto &function) {
  std::string label = nodeLabel(node);
  std::string name =
      (function.domain().empty() ? "" : function.domain() + ".") +
      function.name();
  if (llvm::is_contained(callStack_, &function)) {
    errors_.push_back(label + ": function " + name +
                      " calls itself; azc inlines every call, so a function "
                      "must not recurse");
    return failure();
  }
  if (node.output_size() > function.output_size()) {
    errors_.push_back(label + ": has " + std::to_string(node.output_size()) +
                      " outputs, and function " + name + " returns " +
                      std::to_string(function.output_size()));
    return failure();
  }
  if (node.input_size() > function.input_size()) {
    errors_.push_back(label + ": has " + std::to_string(node.input_size()) +
                      " inputs, and function " + name + " takes " +
                      std::to_string(function.input_size()));
    return failure();
  }

  // The body as a graph: the formal inputs the caller gives, the nodes with
  // their references resolved, the formal outputs.
  onnx::GraphProto &body = functionBodies_.emplace_back();
  SmallVector<Value> inputs;
  llvm::StringSet<> omitted;
  for (auto [i, formal] : llvm::enumerate(function.input())) {
    const std::string actual =
        i < size_t(node.input_size()) ? node.input(i) : "";
    if (actual.empty()) {
      omitted.insert(formal);
      continue;
    }
    Value value = lookupValue(actual);
    if (!value) {
      errors_.push_back(label + ": input '" + actual +
                        "' is not a graph input, an initializer or the output "
                        "of an earlier node");
      return failure();
    }
    body.add_input()->set_name(formal);
    inputs.push_back(value);
  }
  std::vector<onnx::AttributeProto> defaults = attributeDefaults(function);
  CallSite call{node, defaults, omitted};
  for (const onnx::NodeProto &bodyNode : function.node()) {
    onnx::NodeProto *copy = body.add_node();
    *copy = bodyNode;
    instantiate(*copy, call);
  }
  for (const std::string &formal : function.output())
    body.add_output()->set_name(formal);

  currentNode_ = label;
  callStack_.push_back(&function);
  functionOpsets_.push_back(functionOpsetMap(function));
  FailureOr<SmallVector<Value>> results =
      importSubgraph(body, inputs, "the body of function " + name);
  functionOpsets_.pop_back();
  callStack_.pop_back();
  if (failed(results))
    return failure();
  for (auto [output, value] : llvm::zip(node.output(), *results))
    if (!output.empty())
      bindValue(output, value);
  return success();
}
