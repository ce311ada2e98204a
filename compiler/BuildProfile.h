//===- BuildProfile.h - the run-time shape ranges of a build ----*- C++ -*-===//
//
// A model's inputs have symbolic dims ("batch", "sequence", or unnamed).
// The build profile sizes each one: fixed (--dims, --input-shape) or a range
// the engine must accept at run time (--shape-range, --max_batch_size,
// --max_input_len). Dims whose range holds more than one size become the
// engine's symbols; an input dim named by a sum of other dims' names
// ("past_sequence + 1", as exporters write) is that sum.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_COMPILER_BUILDPROFILE_H
#define AZC_COMPILER_BUILDPROFILE_H

#include "compiler/Plan.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace azc {

/// The most symbols one engine takes: its polynomials have 2^k terms and a
/// build lowers the model 2^k + 1 times.
constexpr size_t kMaxSymbols = 6;

/// One input dim: `constant` plus a linear term per symbol.
struct InputDim {
  int64_t constant = 0;
  std::vector<int64_t> coefficients; ///< per symbol
  int symbol = -1;                   ///< the symbol this dim is exactly, or -1
};

struct ResolvedProfile {
  std::vector<plan::Symbol> symbols;
  std::vector<std::string> inputNames;
  std::vector<std::vector<InputDim>> inputDims;
  std::vector<std::vector<std::string>> dimNames;

  /// Every input's shape ("NAME:D0xD1x...") with the symbols at `values`.
  std::vector<std::string>
  inputShapesAt(const std::vector<int64_t> &values) const;
};

/// Sizes every dynamic input dim of `main` from `profile`. On failure
/// returns false with `error` naming the input, dim or flag.
bool resolveProfile(mlir::func::FuncOp main, const ShapeProfile &profile,
                    ResolvedProfile &resolved, std::string &error);

} // namespace azc

#endif // AZC_COMPILER_BUILDPROFILE_H
