//===- OnnxImporter.h - ONNX ModelProto to azg ------------------*- C++ -*-===//
//
// The ONNX frontend's one entry point. Weights are not copied: tensors above
// a few elements become dense_resource blobs that point into the mmapped
// model file or its external data files, and keep those mappings alive.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_ONNX_ONNXIMPORTER_H
#define AZC_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <string>

namespace azc::onnx_frontend {

struct ImportOptions {
  /// Tensors with at most this many elements are imported as inline
  /// constants (foldable); larger ones as resource blobs.
  int64_t maxInlineElements = 64;
  /// Graph inputs fixed at build, name -> FILE.pb or "V,V,...": nodes read
  /// the constant (so an input that sets a shape can), the argument keeps
  /// its place and records the value in `azg.fixed_value`.
  std::map<std::string, std::string> fixedInputs;
  /// Sequence graph inputs, name -> length: each becomes that many tensor
  /// arguments NAME[0] ... NAME[N-1].
  std::map<std::string, int64_t> sequenceLengths;
  /// Ranks for graph inputs the model declares without a shape, by name
  /// (from the build profile's --input-shape, which then sizes them).
  std::map<std::string, int64_t> declaredRanks;
};

/// Imports the ONNX model at `path` into a module holding `func.func @main`.
/// On failure returns null and sets `error` to one message naming the file
/// and, where it applies, the node, tensor and reason. The context must have
/// the azg and func dialects loaded (done here if not).
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &context,
                                                 const std::string &path,
                                                 const ImportOptions &options,
                                                 std::string &error);

/// Reads an ONNX TensorProto file (.pb, as the backend test data holds) into
/// an inline constant; null with `error` naming the file.
mlir::ElementsAttr readTensorFile(mlir::MLIRContext &context,
                                  const std::string &path, std::string &error);

} // namespace azc::onnx_frontend

#endif // AZC_FRONTENDS_ONNX_ONNXIMPORTER_H
