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
// operands. A matmul by a constant 16-bit weight becomes
// `azg.matmul_half`, which keeps that weight in 16 bits in the engine
// rather than widening it on every run.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightRewriting.h"

#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/StringSet.h"

#include <cstring>

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
                                                "attention",
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

/// The bits of a constant 16-bit 2-D weight, read as W [K, N] (through a
/// [1, 0] transpose too) and returned [N, K] for matmul_half, with its name.
struct HalfWeight {
  std::vector<uint16_t> bits; ///< [N, K]
  int64_t K = 0, N = 0;
  std::string name;
};

std::optional<HalfWeight> readHalfWeight(Value value) {
  std::optional<azc::ConstantMatrix> m = azc::constantMatrix(value);
  if (!m || !isHalf(m->type))
    return std::nullopt;
  ElementsAttr attr = m->attr;
  RankedTensorType type = m->type;
  const bool transposed = m->transposed;
  HalfWeight w;
  w.name = m->name;
  // The stored matrix, [rows, cols] as its type says.
  const int64_t count = type.getNumElements();
  std::vector<uint16_t> stored(static_cast<size_t>(count), 0);
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != stored.size() * 2)
      return std::nullopt;
    std::memcpy(stored.data(), blob->getData().data(), stored.size() * 2);
  } else if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    size_t i = 0;
    for (const APFloat &v : dense.getValues<APFloat>())
      stored[i++] = uint16_t(v.bitcastToAPInt().getZExtValue());
  } else {
    return std::nullopt;
  }
  const int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  // Untransposed, the stored [K, N] is transposed into [N, K]; through a
  // transpose it is [N, K] already.
  w.K = transposed ? cols : rows;
  w.N = transposed ? rows : cols;
  if (transposed) {
    w.bits = std::move(stored);
  } else {
    w.bits.resize(stored.size());
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t n = 0; n < cols; ++n)
        w.bits[size_t(n * rows + k)] = stored[size_t(k * cols + n)];
  }
  return w;
}

/// matmul(x, W) with a constant 16-bit W as matmul_half, its 16-bit
/// operands cast to f32 and its result cast back.
bool replaceByHalfWeights(MatMulOp op, OpBuilder &builder) {
  std::optional<HalfWeight> w = readHalfWeight(op.getRhs());
  auto lhs = cast<RankedTensorType>(op.getLhs().getType());
  if (!w || lhs.getRank() < 1 ||
      getElementTypeOrSelf(op.getRhs().getType()) != lhs.getElementType() ||
      (op.getBias() &&
       cast<RankedTensorType>(op.getBias().getType()).getNumElements() != w->N))
    return false;
  builder.setInsertionPoint(op);
  auto widen = [&](Value v) -> Value {
    if (!v || !isHalf(v.getType()))
      return v;
    return builder.create<CastOp>(op.getLoc(), v,
                                  TypeAttr::get(builder.getF32Type()));
  };
  Value weight = azc::makeSharedWeight(
      builder, op.getLoc(), w->name + ".nk",
      RankedTensorType::get({w->N, w->K}, lhs.getElementType()),
      azc::asBytes(w->bits));
  Value bias = widen(op.getBias());
  if (bias && cast<RankedTensorType>(bias.getType()).getRank() != 1)
    bias = builder.create<ReshapeOp>(
        op.getLoc(), RankedTensorType::get({w->N}, builder.getF32Type()), bias,
        builder.create<ConstantOp>(
            op.getLoc(), DenseElementsAttr::get(
                             RankedTensorType::get({1}, builder.getI64Type()),
                             ArrayRef<int64_t>{w->N})));
  auto half = builder.create<MatMulHalfOp>(
      op.getLoc(), widen(op.getLhs()), weight, bias, widen(op.getResidual()),
      op.getActivationAttr(), op.getClipMinAttr(), op.getClipMaxAttr());
  auto back = builder.create<CastOp>(op.getLoc(), half.getOutput(),
                                     TypeAttr::get(lhs.getElementType()));
  op.getOutput().replaceAllUsesWith(back.getOutput());
  Operation *source = op.getRhs().getDefiningOp();
  op.erase();
  // The 16-bit weight (and its transpose) now unused goes.
  while (source && source->use_empty() &&
         isa<WeightOp, ConstantOp, TransposeOp>(source)) {
    Operation *next = isa<TransposeOp>(source)
                          ? source->getOperand(0).getDefiningOp()
                          : nullptr;
    source->erase();
    source = next;
  }
  return true;
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
      if (auto matmul = dyn_cast<MatMulOp>(op))
        if (replaceByHalfWeights(matmul, builder))
          continue;
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
