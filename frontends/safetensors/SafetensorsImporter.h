//===- SafetensorsImporter.h - checkpoint folder to azg ---------*- C++ -*-===//
//
// The safetensors frontend's entry point: a Hugging Face-style checkpoint
// folder (config.json, model.safetensors or shards with their index) of a
// Llama, Mistral, Qwen2 or GPT-2 decoder becomes `func.func @main` in the
// KV-cache form ONNX decoder exports use (see DecoderBuilder.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef AZC_FRONTENDS_SAFETENSORS_SAFETENSORSIMPORTER_H
#define AZC_FRONTENDS_SAFETENSORS_SAFETENSORSIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace azc::safetensors {

/// Null with `error` (naming the file, tensor or config key) on failure.
mlir::OwningOpRef<mlir::ModuleOp> importCheckpoint(mlir::MLIRContext &context,
                                                   const std::string &folder,
                                                   std::string &error);

} // namespace azc::safetensors

#endif // AZC_FRONTENDS_SAFETENSORS_SAFETENSORSIMPORTER_H
