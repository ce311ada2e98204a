//===- ImporterContext.h - state shared by the ONNX op importers -*- C++
//-*-===//
//
// The graph importer walks nodes in order and hands each to the importer
// registered for its (domain, op type, opset). A NodeContext gives that
// importer typed access to the node's inputs and attributes, builds azg ops
// with inferred result types (reporting, not aborting, when inference
// fails), and records the node's outputs.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_ONNX_IMPORTERCONTEXT_H
#define AZC_FRONTENDS_ONNX_IMPORTERCONTEXT_H

#include "dialects/azg/AzgDialect.h"
#include "frontends/onnx/ModelFile.h"
#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

#include <functional>

namespace azc::onnx_frontend {

class GraphImporter;

class NodeContext {
public:
  NodeContext(GraphImporter &graph, const onnx::NodeProto &node, int64_t opset,
              mlir::Location loc);

  const onnx::NodeProto &node() const { return node_; }
  int64_t opset() const { return opset_; }
  mlir::Location loc() const { return loc_; }
  mlir::OpBuilder &builder();
  mlir::MLIRContext *context();

  // Inputs. An absent optional input (missing or named "") is a null Value.
  size_t numInputs() const { return node_.input_size(); }
  mlir::Value input(size_t i) const;
  /// Input `i` as a constant integer list; failure (reported) when it is
  /// not a constant.
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  constantInts(size_t i, llvm::StringRef what);
  /// The node's `axes`: its constant input 1 when `fromInput` (the opsets
  /// where ONNX moved axes to an input; absent means none), else the
  /// attribute.
  mlir::FailureOr<llvm::SmallVector<int64_t>> axes(bool fromInput);
  /// Whether output `i` is used by a later node or the graph outputs.
  bool isOutputUsed(size_t i) const;

  // Attributes.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t otherwise) const;
  float attrFloat(llvm::StringRef name, float otherwise) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef otherwise) const;
  std::optional<llvm::SmallVector<int64_t>>
  attrInts(llvm::StringRef name) const;
  /// Attribute `name` (`otherwise` when absent) as an axis of a rank-`rank`
  /// value, negative ones counted from the back; failure (reported) when
  /// out of range.
  mlir::FailureOr<int64_t> attrAxis(llvm::StringRef name, int64_t otherwise,
                                    int64_t rank);

  // Values built for the node.
  mlir::Value constantI64(llvm::ArrayRef<int64_t> values, bool scalar = false);
  mlir::Value constantScalar(mlir::Type elementType, double value);
  mlir::Value constantLike(mlir::Value like, double value);
  /// A constant of `shape` holding `values` (row-major) rounded to the
  /// float or integer `elementType`.
  mlir::Value constantTensor(mlir::Type elementType,
                             llvm::ArrayRef<int64_t> shape,
                             llvm::ArrayRef<double> values);
  mlir::FailureOr<mlir::ElementsAttr> importTensor(const onnx::TensorProto &t);
  /// A SparseTensorProto, densified.
  mlir::FailureOr<mlir::ElementsAttr>
  importSparseTensor(const onnx::SparseTensorProto &t);
  /// Checks a constant an importer is about to compute (a DFT matrix, an
  /// identity mask, a window) before it allocates one: its dims come from
  /// the model, and a mistaken or hostile size must be refused with a
  /// message, not exhaust memory. Fails (reported, naming `what`) past
  /// kMaxSynthesizedElements elements or on a negative or dynamic dim.
  mlir::LogicalResult checkSynthesizedSize(llvm::ArrayRef<int64_t> shape,
                                           llvm::StringRef what);
  static constexpr int64_t kMaxSynthesizedElements = int64_t(1) << 24;

  /// Creates OpTy through its builder taking explicit result types, then
  /// infers the real ones. Inference errors are reported against the node.
  template <typename OpTy, typename... Args>
  mlir::FailureOr<mlir::Operation *> create(unsigned numResults,
                                            Args &&...args) {
    mlir::OperationState state(loc_, OpTy::getOperationName());
    llvm::SmallVector<mlir::Type> placeholders(numResults,
                                               mlir::NoneType::get(context()));
    OpTy::build(builder(), state, mlir::TypeRange(placeholders),
                std::forward<Args>(args)...);
    llvm::SmallVector<mlir::Type> types;
    if (mlir::failed(OpTy::inferReturnTypes(
            context(), loc_, state.operands,
            state.attributes.getDictionary(context()), state.getRawProperties(),
            state.regions, types)))
      return mlir::failure();
    state.types.assign(types.begin(), types.end());
    return builder().create(state);
  }
  /// create() for single-result ops, returning the result. An op that
  /// folds (small constant operands, static shapes) is replaced by its
  /// folded value at once, so that shape arithmetic written as ops (Shape,
  /// Size, Sub, ConstantOfShape, Concat) gives later importers constants.
  template <typename OpTy, typename... Args>
  mlir::FailureOr<mlir::Value> make(Args &&...args) {
    mlir::FailureOr<mlir::Operation *> op =
        create<OpTy>(1, std::forward<Args>(args)...);
    if (mlir::failed(op))
      return mlir::failure();
    return foldIfPossible(*op);
  }

  /// Binds the node's outputs, in order, to `values`.
  mlir::LogicalResult setResults(mlir::ValueRange values);
  mlir::LogicalResult setResult(mlir::FailureOr<mlir::Value> value);

  /// `op`'s single result, or the value it folds to (then `op` is erased).
  mlir::Value foldIfPossible(mlir::Operation *op);

  // Subgraphs (If branches, Loop and Scan bodies).
  /// Imports one instance of `graph`, an attribute of this node, after the
  /// ops built so far: its formal inputs are bound to `inputs`, it reads
  /// the names of the graphs around it, and the names it defines end with
  /// it. Returns the values of its outputs. `instance` names it in errors
  /// ("the then_branch", "iteration 3 of the body").
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  importSubgraph(const onnx::GraphProto &graph, mlir::ValueRange inputs,
                 const llvm::Twine &instance);
  /// Counts one more unrolled Loop or Scan body; fails (reported) past
  /// kMaxUnrolledBodies for the whole model, nested loops included.
  mlir::LogicalResult countUnrolledBody();

  /// Reports `message` against this node and returns failure.
  mlir::LogicalResult error(const llvm::Twine &message);

private:
  GraphImporter &graph_;
  const onnx::NodeProto &node_;
  int64_t opset_;
  mlir::Location loc_;
};

/// The most Loop and Scan body copies one model may unroll into: each copy
/// is built, and later compiled, as straight-line code.
constexpr int64_t kMaxUnrolledBodies = 4096;

using ImportFn = std::function<mlir::LogicalResult(NodeContext &)>;

struct OpImporter {
  std::string domain; ///< "" for the default ai.onnx domain
  std::string opType;
  int64_t sinceVersion;
  ImportFn fn;
  int minInputs = 1; ///< leading inputs that must be present
  /// Whether the importer may read sequences and optionals (sequence ops,
  /// Identity, If, Loop); every other importer is handed tensors only.
  bool takesNonTensors = false;
};

/// The importer for an op at an opset: the registered one with the greatest
/// sinceVersion <= opset, or null.
const OpImporter *findOpImporter(llvm::StringRef domain, llvm::StringRef opType,
                                 int64_t opset);

/// Registration, split by op family (*Importers.cpp).
void addMathImporters(std::vector<OpImporter> &table);
void addShapeImporters(std::vector<OpImporter> &table);
void addTransformerImporters(std::vector<OpImporter> &table);
void addCompositeImporters(std::vector<OpImporter> &table);
void addRecurrentImporters(std::vector<OpImporter> &table);
void addFlexAttentionImporters(std::vector<OpImporter> &table);
void addClassicMlImporters(std::vector<OpImporter> &table);
void addSpectralImporters(std::vector<OpImporter> &table);
void addDataDependentImporters(std::vector<OpImporter> &table);
void addControlFlowImporters(std::vector<OpImporter> &table);
void addSignalImporters(std::vector<OpImporter> &table);
void addImageImporters(std::vector<OpImporter> &table);
void addSequenceImporters(std::vector<OpImporter> &table);

// Sequence and Optional values, resolved at import (SequenceImporters.cpp):
// import-only marker values that the graph importer erases at the end.
/// A sequence of `elements`.
mlir::Value makeSequence(NodeContext &n, mlir::ValueRange elements);
mlir::Value makeSequence(mlir::OpBuilder &builder, mlir::Location loc,
                         mlir::ValueRange elements);
/// The elements of sequence `v`, or nullopt when `v` is not a sequence.
std::optional<llvm::SmallVector<mlir::Value>> sequenceElements(mlir::Value v);
/// Whether `v` is an Optional without an element.
bool isEmptyOptional(mlir::Value v);
/// Erases the markers under `root`, once nothing reads them.
void eraseImportOnlyValues(mlir::Operation *root);

/// A Conv-like node's window: strides, explicit pads and dilations from its
/// attributes (kernel_shape defaulting to the weight's spatial dims).
struct ConvWindow {
  llvm::SmallVector<int64_t> strides, pads, dilations;
};
mlir::FailureOr<ConvWindow> convWindow(NodeContext &n,
                                       mlir::RankedTensorType input,
                                       mlir::RankedTensorType weight);

/// Explicit begin/end pads for a sliding window over `input`'s spatial
/// dims (from dim 2), from `pads` or resolving auto_pad.
mlir::FailureOr<llvm::SmallVector<int64_t>>
windowPads(NodeContext &n, mlir::RankedTensorType input,
           llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
           llvm::ArrayRef<int64_t> dilations);

/// The ranked tensor type every importer's value has.
inline mlir::RankedTensorType typeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// Chains FailureOr<Value> results in importers: declares `var` as the
/// value of `expr`, or returns failure (already reported) from the caller.
#define TRY(var, expr)                                                         \
  mlir::FailureOr<mlir::Value> var##OrFailure = (expr);                        \
  if (mlir::failed(var##OrFailure))                                            \
    return mlir::failure();                                                    \
  mlir::Value var = *var##OrFailure;

/// (x - mean) / sqrt(variance + epsilon), the moments over `axes` (kept).
mlir::FailureOr<mlir::Value> standardize(NodeContext &n, mlir::Value x,
                                         llvm::ArrayRef<int64_t> axes,
                                         float epsilon);

/// The MLIR element type of an ONNX TensorProto data type, or null.
mlir::Type convertElementType(int32_t onnxType, mlir::MLIRContext *context);
/// FP4 E2M1 and FP8 E8M0, azg's own element types: no constant holds them
/// and only casts and quantization take them.
bool isStorageOnlyType(mlir::Type type);

} // namespace azc::onnx_frontend

#endif // AZC_FRONTENDS_ONNX_IMPORTERCONTEXT_H
