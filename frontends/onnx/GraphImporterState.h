//===- GraphImporterState.h - the graph importer's state --------*- C++ -*-===//
//
// The state of one model's import, shared by GraphImporter.cpp (graphs,
// nodes, tensors) and LocalFunctions.cpp (model-local functions). Not part
// of the frontend's interface: OnnxImporter.h is.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_ONNX_GRAPHIMPORTERSTATE_H
#define AZC_FRONTENDS_ONNX_GRAPHIMPORTERSTATE_H

#include "frontends/onnx/ImporterContext.h"
#include "frontends/onnx/ModelFile.h"
#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace azc::onnx_frontend {

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &context, ModelFile &file,
                const ImportOptions &options)
      : context_(context), file_(file), options_(options), builder_(&context) {}

  mlir::OwningOpRef<mlir::ModuleOp> run(std::string &error);

  mlir::MLIRContext &context_;
  ModelFile &file_;
  const ImportOptions &options_;
  mlir::OpBuilder builder_;
  /// Values by name, one map per graph instance being imported: the main
  /// graph's, then one per If branch, loop body or function call inside
  /// it. Lookups go from the innermost scope out, so a subgraph sees the
  /// names of the graphs around it and its own names shadow theirs.
  std::vector<llvm::StringMap<mlir::Value>> scopes_;
  /// Names read by nodes or graph outputs, in any graph of the model.
  llvm::StringSet<> usedNames_;
  /// Subgraph initializers, imported once and shared by every instance.
  llvm::DenseMap<const onnx::TensorProto *, mlir::Value> subgraphInitializers_;
  /// Loop and Scan body copies imported so far, all nodes together.
  int64_t unrolledBodies_ = 0;
  /// The model's opsets by domain ("" for ai.onnx).
  std::map<std::string, int64_t> opsets_;
  std::vector<std::string> errors_;
  std::string currentNode_;
  /// Outputs whose size depends on the input values (NonZero's, Unique's),
  /// with the node and name that produce them, for the refusal of a node
  /// that reads one.
  llvm::DenseMap<mlir::Value, std::string> dataDependentOutputs_;
  mlir::LogicalResult checkDataDependentReads(const onnx::NodeProto &node);
  void recordDataDependentOutputs(const onnx::NodeProto &node);

  mlir::FailureOr<mlir::ElementsAttr>
  importTensor(const onnx::TensorProto &tensor, std::string &error);
  mlir::FailureOr<mlir::ElementsAttr>
  importPackedCodes(const onnx::TensorProto &tensor, std::string &error);
  /// A SparseTensorProto (an initializer, or Constant's sparse_value),
  /// densified.
  mlir::FailureOr<mlir::ElementsAttr>
  importSparseTensor(const onnx::SparseTensorProto &sparse, std::string &error);
  /// The dense bytes of the sparse tensors imported so far.
  int64_t sparseDenseBytes_ = 0;
  static constexpr int64_t kMaxSparseDenseBytes = int64_t(1) << 30;
  /// The value `spec` (a TensorProto file, or V,V,...) fixes `input` to.
  mlir::ElementsAttr fixedValue(const onnx::ValueInfoProto &input,
                                mlir::Type elementType, const std::string &spec,
                                std::string &error);
  llvm::StringMap<mlir::ElementsAttr> fixedValues_;
  bool checkSupported(std::string &error);
  mlir::LogicalResult importNode(const onnx::NodeProto &node);
  mlir::LogicalResult importNodes(const onnx::GraphProto &graph);
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  importSubgraph(const onnx::GraphProto &graph, mlir::ValueRange inputs,
                 const llvm::Twine &instance);
  mlir::FailureOr<mlir::Value>
  importInitializer(const onnx::TensorProto &tensor);
  /// A weight (large) or constant op holding `value`, named `name`.
  mlir::Value makeConstant(const std::string &name, mlir::ElementsAttr value);

  mlir::Value lookupValue(llvm::StringRef name) const {
    for (const llvm::StringMap<mlir::Value> &scope : llvm::reverse(scopes_))
      if (mlir::Value value = scope.lookup(name))
        return value;
    return nullptr;
  }
  void bindValue(llvm::StringRef name, mlir::Value value) {
    scopes_.back()[name] = value;
  }

  // Model-local functions (LocalFunctions.cpp).
  /// The model's function that `node` calls (same domain, name and
  /// overload), or null.
  const onnx::FunctionProto *findFunction(const onnx::NodeProto &node) const;
  /// The opset `domain` binds to where a node is imported: the innermost
  /// function's own opset_import, else the model's (0 when neither has it).
  int64_t opsetOf(const std::string &domain) const;
  /// Imports a call of `function` by `node` inline: the body, with the
  /// node's inputs, attributes and outputs bound to the function's.
  mlir::LogicalResult importFunctionCall(const onnx::NodeProto &node,
                                         const onnx::FunctionProto &function);
  /// Function bodies as graphs, kept for the whole import: subgraph
  /// initializers are looked up by address.
  std::deque<onnx::GraphProto> functionBodies_;
  /// The opset_import of each function being imported, innermost last.
  std::vector<std::map<std::string, int64_t>> functionOpsets_;
  /// The functions whose calls are being imported, innermost last.
  std::vector<const onnx::FunctionProto *> callStack_;
};

/// "node 'NAME' (OP)", or "node OP producing 'OUTPUT'" when unnamed.
std::string nodeLabel(const onnx::NodeProto &node);
/// A function's opset_import by domain ("" for ai.onnx).
std::map<std::string, int64_t>
functionOpsetMap(const onnx::FunctionProto &function);

} // namespace azc::onnx_frontend

#endif // AZC_FRONTENDS_ONNX_GRAPHIMPORTERSTATE_H
