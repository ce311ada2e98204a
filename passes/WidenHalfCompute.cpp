//===- WidenHalfCompute.cpp - f16/bf16 storage, f32 arithmetic ------------===//
//
// Models exported in f16 or bf16 keep their tensors in 16 bits, but the
// CPU kernels compute in f32: CPUs without AVX-512 FP16 have no half
// arithmetic, and widening is exact. This pass rewrites every arithmetic
// op with an f16 or bf16 operand or result to take f32 operands (casts in)
// and give f32 results (casts back out), so the model keeps its 16-bit
// storage and semantics at every op boundary while each op runs on the
// f32 kernels. An op correctly rounded in f32 and then rounded to f16 or
// bf16 equals the op correctly rounded in the 16-bit type (f32 has more
// than twice their precision plus two bits), so elementwise results are
// exactly what half-precision arithmetic would give; matmuls and
// reductions accumulate in f32, as onnxruntime's CPU kernels do. Data
// movement (reshape, transpose, gather, concat, ...) keeps its 16-bit
// operands.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "llvm/ADT/StringSet.h"

namespace azc {
#define GEN_PASS_DEF_WIDENHALFCOMPUTE
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// The ops that compute on float values (not merely move them).
bool computes(Operation *op) {
  static const llvm::StringSet<> kArithmetic = {"matmul",
                                                "gemm",
                                                "conv",
                                                "conv_transpose",
                                                "max_pool",
                                                "avg_pool",
                                                "add",
                                                "sub",
                                                "mul",
                                                "div",
                                                "pow",
                                                "max",
                                                "min",
                                                "equal",
                                                "less",
                                                "less_equal",
                                                "greater",
                                                "greater_equal",
                                                "neg",
                                                "abs",
                                                "exp",
                                                "log",
                                                "sqrt",
                                                "reciprocal",
                                                "erf",
                                                "tanh",
                                                "sigmoid",
                                                "relu",
                                                "silu",
                                                "floor",
                                                "ceil",
                                                "gelu",
                                                "clip",
                                                "reduce_sum",
                                                "reduce_mean",
                                                "reduce_max",
                                                "reduce_min",
                                                "reduce_prod",
                                                "softmax",
                                                "layer_norm",
                                                "rms_norm",
                                                "acos",
                                                "asin",
                                                "atan",
                                                "cos",
                                                "sin",
                                                "tan",
                                                "cosh",
                                                "sinh",
                                                "acosh",
                                                "asinh",
                                                "atanh",
                                                "softplus",
                                                "softsign",
                                                "hard_swish",
                                                "round",
                                                "leaky_relu",
                                                "elu",
                                                "selu",
                                                "hard_sigmoid",
                                                "thresholded_relu",
                                                "celu",
                                                "sign",
                                                "isnan",
                                                "isinf",
                                                "prelu",
                                                "mod",
                                                "reduce_l1",
                                                "reduce_l2",
                                                "reduce_log_sum",
                                                "reduce_log_sum_exp",
                                                "reduce_sum_square",
                                                "log_softmax",
                                                "hardmax",
                                                "argmax",
                                                "argmin",
                                                "cumsum",
                                                "lrn",
                                                "grid_sample",
                                                "resize",
                                                "roi_align",
                                                "top_k",
                                                "det",
                                                "rotary_embedding"};
  return kArithmetic.contains(op->getName().stripDialect());
}

bool isHalf(Type type) {
  Type element = getElementTypeOrSelf(type);
  return element.isF16() || element.isBF16();
}

Type widened(Type type) {
  return cast<RankedTensorType>(type).clone(
      Float32Type::get(type.getContext()));
}

struct WidenHalfComputePass
    : azc::impl::WidenHalfComputeBase<WidenHalfComputePass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (op->getDialect() && isa<AzgDialect>(op->getDialect()) &&
          computes(op) &&
          (llvm::any_of(op->getOperandTypes(), isHalf) ||
           llvm::any_of(op->getResultTypes(), isHalf)) &&
          llvm::all_of(op->getOperandTypes(),
                       llvm::IsaPred<RankedTensorType>) &&
          llvm::all_of(op->getResultTypes(), llvm::IsaPred<RankedTensorType>))
        ops.push_back(op);
    });
    OpBuilder builder(&getContext());
    for (Operation *op : ops) {
      builder.setInsertionPoint(op);
      for (OpOperand &operand : op->getOpOperands())
        if (isHalf(operand.get().getType()))
          operand.set(
              builder.create<CastOp>(op->getLoc(), operand.get(),
                                     TypeAttr::get(builder.getF32Type())));
      builder.setInsertionPointAfter(op);
      for (OpResult result : op->getResults()) {
        Type original = result.getType();
        if (!isHalf(original))
          continue;
        result.setType(widened(original));
        auto back = builder.create<CastOp>(
            op->getLoc(), result,
            TypeAttr::get(getElementTypeOrSelf(original)));
        result.replaceAllUsesExcept(back.getOutput(), back);
      }
    }
  }
};

} // namespace
