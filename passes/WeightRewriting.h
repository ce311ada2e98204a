//===- WeightRewriting.h - reading and replacing constant weights -*- C++
//-*-===//
//
// What the passes that rewrite matmul weights share: reading a product's
// constant f32 weight (through a transpose), making resource-backed
// weights, and folding a per-channel scale of an input into the
// normalization that makes it.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_PASSES_WEIGHTREWRITING_H
#define AZC_PASSES_WEIGHTREWRITING_H

#include "dialects/azg/AzgDialect.h"
#include "passes/WeightQuantizer.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/GlobPattern.h"

#include <optional>
#include <string>
#include <vector>

namespace azc {

using quant::WeightView;

/// A constant f32 weight matrix, read as W [K, N], and its name.
struct ConstantWeight {
  std::vector<float> data;
  int64_t K = 0, N = 0;
  bool transposed = false; ///< data is [N, K]
  std::string name;

  WeightView view() const {
    return transposed ? WeightView{data.data(), K, N, 1, K}
                      : WeightView{data.data(), K, N, N, 1};
  }
};

/// The `count` floats of the f32 constant `attr` (a resource blob or dense
/// elements, splats included), or nothing.
std::optional<std::vector<float>> constantFloats(mlir::ElementsAttr attr,
                                                 int64_t count);

/// A constant 2-D matrix (a weight or constant op), seen through an
/// optional [1, 0] transpose: its elements as stored, their type, its name
/// and whether a transpose was passed.
struct ConstantMatrix {
  mlir::ElementsAttr attr;
  mlir::RankedTensorType type; ///< of the stored elements
  std::string name;
  bool transposed = false;
};
std::optional<ConstantMatrix> constantMatrix(mlir::Value value);

/// Reads `value` if it is a constant f32 2-D tensor (a weight or constant),
/// optionally through a [1, 0] transpose; `transpose` says whether the
/// stored matrix is [N, K] rather than [K, N].
std::optional<ConstantWeight> readWeight(mlir::Value value, bool transpose);

/// The stored bytes of a constant tensor (a weight or constant op of static
/// shape, splats expanded), or nothing.
std::optional<std::vector<char>> constantBytes(mlir::Value value);

/// A resource-backed weight named `name` holding `bytes` as `type`.
mlir::Value makeWeight(mlir::OpBuilder &builder, mlir::Location loc,
                       llvm::StringRef name, mlir::RankedTensorType type,
                       llvm::ArrayRef<char> bytes);

/// The same for passes of the optimization pipeline, which a dynamic build
/// runs once per point of its shape grid: the blob is keyed by its content,
/// so equal weights made at each point are one weight in the engine.
mlir::Value makeSharedWeight(mlir::OpBuilder &builder, mlir::Location loc,
                             llvm::StringRef name, mlir::RankedTensorType type,
                             llvm::ArrayRef<char> bytes);

template <typename T> llvm::ArrayRef<char> asBytes(const std::vector<T> &v) {
  return llvm::ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                              v.size() * sizeof(T));
}

/// The weight a matmul multiplies its f32 input with, when constant.
std::optional<ConstantWeight> matmulWeight(azg::MatMulOp op);
/// The same for gemm(a, B, c) = a @ op(B) + c with alpha = 1 (and beta = 1
/// with c).
std::optional<ConstantWeight> gemmWeight(azg::GemmOp op);
/// The weight of a matmul or gemm (findQuantizableProducts' ops).
std::optional<ConstantWeight> productWeight(mlir::Operation *op);

/// The weight-name globs of an `exclude` option; on a bad one, an error on
/// `func` naming it and failure.
mlir::LogicalResult parseWeightGlobs(mlir::Operation *func,
                                     llvm::ArrayRef<std::string> texts,
                                     std::vector<llvm::GlobPattern> &globs);

/// The floats of a constant f32 tensor of `size` elements.
std::optional<std::vector<float>> constantVector(mlir::Value value,
                                                 int64_t size);

/// Patterns folding mul(norm(x), c), c a constant per-channel vector, into
/// the LayerNorm or RMSNorm (its scale and bias times c), when the norm has
/// that mul as its one user.
void populateFoldScaleIntoNormPatterns(mlir::RewritePatternSet &patterns);

} // namespace azc

#endif // AZC_PASSES_WEIGHTREWRITING_H
