//===- ModelSummary.h - parameters and FLOPs of an azg module ---*- C++ -*-===//

#ifndef AZC_COMPILER_MODELSUMMARY_H
#define AZC_COMPILER_MODELSUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>

namespace azc {

struct OpStats {
  int64_t count = 0;
  /// Floating-point operations (a multiply-add counts 2); nullopt when some
  /// instance has dynamic dims.
  std::optional<int64_t> flops = 0;
};

struct ModelSummary {
  int64_t parameters = 0;     ///< elements of weights and float constants
  int64_t parameterBytes = 0; ///< their storage size
  int64_t weightTensors = 0;
  std::map<std::string, OpStats> ops; ///< by op name, e.g. "azg.matmul"
  std::optional<int64_t> totalFlops() const;
};

/// FLOPs of one op (0 for data movement); nullopt when dims are dynamic.
std::optional<int64_t> flopsOf(mlir::Operation *op);

/// Counts parameters and per-op FLOPs of every function in `module`.
ModelSummary summarize(mlir::ModuleOp module);

/// Prints `summary` as a table.
void printSummary(const ModelSummary &summary, llvm::raw_ostream &os);

} // namespace azc

#endif // AZC_COMPILER_MODELSUMMARY_H
