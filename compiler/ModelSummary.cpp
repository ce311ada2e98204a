//===- ModelSummary.cpp - parameters and FLOPs of an azg module -----------===//
//
// FLOPs count the arithmetic a straightforward implementation performs: a
// multiply-add is 2, an elementwise op one per output element, a
// normalization a handful per element. They are exact for matmul, gemm and
// conv, which dominate every model azc targets.
//
//===----------------------------------------------------------------------===//

#include "compiler/ModelSummary.h"

#include "dialects/azg/AzgDialect.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace azc;

namespace {

std::optional<int64_t> elementsOf(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  return type.getNumElements();
}

} // namespace

std::optional<int64_t> azc::flopsOf(Operation *op) {
  using namespace azc::azg;
  if (isa<ConstantOp, WeightOp, ReshapeOp, TransposeOp, ConcatOp, SliceOp,
          GatherOp, SplitOp, SqueezeOp, UnsqueezeOp, ExpandOp, ShapeOfOp,
          CastOp, RangeOp, TriluOp, GatherElementsOp, PadOp>(op))
    return 0;
  std::optional<int64_t> out =
      op->getNumResults() ? elementsOf(op->getResult(0)) : 0;
  if (!out)
    return std::nullopt;
  return llvm::TypeSwitch<Operation *, std::optional<int64_t>>(op)
      .Case([&](MatMulOp m) -> std::optional<int64_t> {
        auto lhs = cast<RankedTensorType>(m.getLhs().getType());
        if (lhs.isDynamicDim(lhs.getRank() - 1))
          return std::nullopt;
        return 2 * *out * lhs.getShape().back();
      })
      .Case([&](AttentionOp a) -> std::optional<int64_t> {
        // Scores and the weighted sum: two products over the T keys.
        auto key = cast<RankedTensorType>(a.getKey().getType());
        if (key.isDynamicDim(2))
          return std::nullopt;
        return 4 * *out * key.getDimSize(2);
      })
      .Case([&](MatMulNBitsOp m) -> std::optional<int64_t> {
        return 2 * *out * m.getK();
      })
      .Case([&](MatMulNBitsPackedOp m) -> std::optional<int64_t> {
        return 2 * *out * m.getK();
      })
      .Case([&](MatMulPackedOp m) -> std::optional<int64_t> {
        return 2 * *out *
               cast<RankedTensorType>(m.getWeight().getType()).getDimSize(1);
      })
      .Case([&](MatMulHalfOp m) -> std::optional<int64_t> {
        return 2 * *out *
               cast<RankedTensorType>(m.getWeight().getType()).getDimSize(1);
      })
      .Case([&](GemmOp g) -> std::optional<int64_t> {
        auto a = cast<RankedTensorType>(g.getA().getType());
        int64_t k = a.getDimSize(g.getTransA() ? 0 : 1);
        if (ShapedType::isDynamic(k))
          return std::nullopt;
        return 2 * *out * k;
      })
      .Case([&](ConvOp c) -> std::optional<int64_t> {
        auto w = cast<RankedTensorType>(c.getWeight().getType());
        if (!w.hasStaticShape())
          return std::nullopt;
        // Each output element: C/group x kernel multiply-adds.
        return 2 * *out * (w.getNumElements() / w.getDimSize(0));
      })
      .Case<MaxPoolOp, AvgPoolOp>([&](auto p) -> std::optional<int64_t> {
        int64_t window = 1;
        for (int64_t k : p.getKernelShape())
          window *= k;
        return *out * window;
      })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp>(
          [&](Operation *r) { return elementsOf(r->getOperand(0)); })
      .Case<SoftmaxOp, LogSoftmaxOp>(
          [&](auto) -> std::optional<int64_t> { return 5 * *out; })
      .Case<LayerNormOp, RmsNormOp>(
          [&](auto) -> std::optional<int64_t> { return 8 * *out; })
      .Default([&](Operation *) -> std::optional<int64_t> { return *out; });
}

std::optional<int64_t> ModelSummary::totalFlops() const {
  int64_t total = 0;
  for (auto &[name, stats] : ops) {
    if (!stats.flops)
      return std::nullopt;
    total += *stats.flops;
  }
  return total;
}

ModelSummary azc::summarize(ModuleOp module) {
  ModelSummary summary;
  module.walk([&](Operation *op) {
    if (op->getDialect() == nullptr ||
        op->getDialect()->getNamespace() != "azg")
      return;
    if (isa<azg::WeightOp, azg::ConstantOp>(op)) {
      auto type = cast<RankedTensorType>(op->getResult(0).getType());
      if (isa<azg::WeightOp>(op) || isa<FloatType>(type.getElementType())) {
        summary.parameters += type.getNumElements();
        summary.parameterBytes +=
            type.getNumElements() *
            std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
        summary.weightTensors += isa<azg::WeightOp>(op);
      }
    }
    OpStats &stats = summary.ops[op->getName().getStringRef().str()];
    ++stats.count;
    std::optional<int64_t> flops = flopsOf(op);
    if (!flops || !stats.flops)
      stats.flops = std::nullopt;
    else
      *stats.flops += *flops;
  });
  return summary;
}

static std::string humanCount(double value) {
  const char *units[] = {"", "K", "M", "G", "T", "P"};
  int unit = 0;
  while (value >= 1000 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(unit ? "%.2f%s" : "%.0f%s", value, units[unit]);
  return text;
}

void azc::printSummary(const ModelSummary &summary, llvm::raw_ostream &os) {
  os << "parameters: " << humanCount(summary.parameters) << " ("
     << summary.parameters << " in " << summary.weightTensors
     << " weight tensors, " << humanCount(summary.parameterBytes) << "B)\n";
  std::optional<int64_t> total = summary.totalFlops();
  os << "FLOPs per run: "
     << (total ? humanCount(*total)
               : std::string("depend on dynamic dims (fix them with --dims "
                             "or --input-shape)"))
     << "\n";
  os << llvm::left_justify("op", 20) << llvm::right_justify("count", 9)
     << llvm::right_justify("FLOPs", 15) << "\n";
  for (auto &[name, stats] : summary.ops) {
    if (name == "azg.constant" || name == "azg.weight")
      continue;
    os << llvm::format(
        "%-20s %8lld %14s\n", name.c_str(), (long long)stats.count,
        stats.flops ? humanCount(*stats.flops).c_str() : "dynamic");
  }
}
