//===- AzgDialect.h - the azg graph dialect ---------------------*- C++ -*-===//
//
// Include this to use azg: the dialect, its attributes and its ops.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_DIALECTS_AZG_AZGDIALECT_H
#define AZC_DIALECTS_AZG_AZGDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TensorEncoding.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/azg/AzgDialect.h.inc"
#include "dialects/azg/AzgEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/azg/AzgAttrs.h.inc"
#define GET_TYPEDEF_CLASSES
#include "dialects/azg/AzgTypes.h.inc"

#include "dialects/azg/AzgInterfaces.h.inc"

namespace azc::azg {

/// Result types agree with inferred ones when element types are equal and
/// the shapes agree wherever both are static.
bool areCompatibleResultTypes(mlir::TypeRange lhs, mlir::TypeRange rhs);

/// NumPy broadcasting of `operands`; the element type is `elementType`, or
/// the first operand's when null.
llvm::LogicalResult inferBroadcastResult(
    std::optional<mlir::Location> loc, llvm::ArrayRef<mlir::Value> operands,
    mlir::Type elementType, llvm::SmallVectorImpl<mlir::Type> &results);

/// Result type of a reduction of `input` over `axes` (empty: all).
llvm::LogicalResult inferReduction(std::optional<mlir::Location> loc,
                                   mlir::Value input,
                                   llvm::ArrayRef<int64_t> axes, bool keepdims,
                                   llvm::SmallVectorImpl<mlir::Type> &results);

/// Broadcast shape of two shapes (kDynamic where unknown); failure when two
/// static dims differ and neither is 1.
llvm::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs);

/// Normalizes a possibly negative axis into [0, rank); failure if out of
/// range.
llvm::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// When `value` is a result whose size its operands' values decide (see
/// DataDependentSizeOpInterface): the dim they decide; else nullopt.
std::optional<int64_t> dataDependentDim(mlir::Value value);

/// Name of the argument attribute that holds a function input's symbolic
/// dim names (an array of strings, "" for static or unnamed dims).
constexpr llvm::StringLiteral kDimNamesAttr = "azg.dim_names";

/// Name of the argument and result attribute holding the model's name for a
/// function input or output.
constexpr llvm::StringLiteral kNameAttr = "azg.name";

/// Argument attribute: the value an input was fixed to at build
/// (azc build --input-value); every use reads a constant instead.
constexpr llvm::StringLiteral kFixedValueAttr = "azg.fixed_value";

/// Function attribute set by azg-page-kv-cache: the layout of the paged KV
/// cache the function's paged_attention ops use (a dictionary of layers,
/// kv_heads, head_dim, tokens_per_block, max_blocks and dtype).
constexpr llvm::StringLiteral kKvCacheAttr = "azg.kv_cache";

/// Columns per panel of an azg.matmul_packed weight: the width of the
/// AVX-512 GEMM tile that reads the panels in place (the runtime's
/// kPrepackedPanelWidth).
constexpr int64_t kPackedPanelWidth = 32;

} // namespace azc::azg

#define GET_OP_CLASSES
#include "dialects/azg/AzgOps.h.inc"

#endif // AZC_DIALECTS_AZG_AZGDIALECT_H
