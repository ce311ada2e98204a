//===- ModelFile.h - a parsed ONNX file and where its bytes live -*- C++
//-*-===//
//
// Parses a ModelProto from a mapped file and keeps track of where each
// initializer's bytes are: inside the model file (located by a scan of the
// protobuf wire format, so they need not be copied) or in an external data
// file (mapped on first use).
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_ONNX_MODELFILE_H
#define AZC_FRONTENDS_ONNX_MODELFILE_H

#include "onnx/onnx_pb.h" // onnx-ml.pb.h with ONNX_API defined

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>

namespace azc::onnx_frontend {

/// Bytes of a tensor and whatever keeps them alive (a mapping or a copy).
struct TensorBytes {
  const char *data = nullptr;
  size_t size = 0;
  std::shared_ptr<const void> owner;
};

class ModelFile {
public:
  /// Maps and parses `path`. On failure returns null with `error` set.
  static std::unique_ptr<ModelFile> load(const std::string &path,
                                         std::string &error);

  const onnx::ModelProto &model() const { return model_; }
  const std::string &path() const { return path_; }

  /// The raw little-endian bytes of `tensor`, for tensors stored as
  /// raw_data or as external data; false with `error` set on a bad
  /// reference. Typed-field tensors (float_data, ...) return an empty
  /// TensorBytes and true: the caller converts those itself.
  bool rawBytes(const onnx::TensorProto &tensor, TensorBytes &bytes,
                std::string &error);

private:
  ModelFile() = default;
  void locateInitializerBytes();
  bool externalBytes(const onnx::TensorProto &tensor, TensorBytes &bytes,
                     std::string &error);

  std::string path_;
  std::string directory_;
  std::shared_ptr<llvm::MemoryBuffer> buffer_;
  onnx::ModelProto model_;
  /// Initializer name -> where its raw_data sits in buffer_.
  struct Span {
    size_t offset, size;
  };
  llvm::StringMap<Span> rawDataSpans_;
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> externalFiles_;
};

} // namespace azc::onnx_frontend

#endif // AZC_FRONTENDS_ONNX_MODELFILE_H
