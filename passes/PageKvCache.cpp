//===- PageKvCache.cpp - attention reads and writes a paged KV cache ------===//
//
// In the KV-cache form a decoder takes each layer's cache as an input,
// appends the chunk's keys and values with a concat, attends, and returns
// the concatenation for the next run: each step copies the whole cache in
// and out, and a batch's sequences must all have one length. This pass
// finds each causal `azg.attention` whose keys and values are
// `concat(past argument, chunk)` returned as outputs, and turns it into
// `azg.paged_attention` on layer L of a cache the runtime owns, in blocks of
// `tokens-per-block` tokens that a block table maps per sequence (vLLM's
// layout, TensorRT-LLM's --paged_kv_cache). The past arguments and present
// results leave the signature; `kv_block_table` and `kv_past_lengths` join
// it, and the cache's layout is recorded as `azg.kv_cache` on the function
// for the engine. Positions are already inputs (position_ids), so nothing
// else depends on the cache's shape. Signature surgery is not a local
// rewrite, so this is one walk over the function rather than patterns; a
// model whose attention cannot be paged is an error naming the op, never a
// half-paged function.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/azg/AzgDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/BitVector.h"

namespace azc {
#define GEN_PASS_DEF_PAGEKVCACHE
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// An attention whose keys and values are the cache inputs extended by the
/// chunk, and returned as the cache outputs.
struct CachedAttention {
  AttentionOp attention;
  ConcatOp keys, values;
  BlockArgument pastKeys, pastValues;
};

/// `concat(past argument, chunk)` along the sequence, used only by the
/// attention and the return; else null.
ConcatOp cacheConcat(Value value, AttentionOp attention, BlockArgument &past) {
  auto concat = value.getDefiningOp<ConcatOp>();
  if (!concat || concat.getInputs().size() != 2 ||
      (concat.getAxis() != 2 && concat.getAxis() != -2))
    return {};
  past = dyn_cast<BlockArgument>(concat.getInputs()[0]);
  if (!past || !past.hasOneUse())
    return {};
  for (Operation *user : concat->getUsers())
    if (user != attention && !isa<func::ReturnOp>(user))
      return {};
  return concat;
}

std::optional<int64_t> storageBits(StringRef dtype) {
  return llvm::StringSwitch<std::optional<int64_t>>(dtype)
      .Case("f32", 32)
      .Cases("fp16", "bf16", 16)
      .Cases("int8", "fp8", 8)
      .Default(std::nullopt);
}

struct PageKvCache : azc::impl::PageKvCacheBase<PageKvCache> {
  using PageKvCacheBase::PageKvCacheBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (tokensPerBlock <= 0 || maxBlocks <= 0) {
      func.emitError("azg-page-kv-cache needs positive tokens-per-block and "
                     "max-blocks, got ")
          << tokensPerBlock << " and " << maxBlocks;
      return signalPassFailure();
    }
    if (!storageBits(kvDtype)) {
      func.emitError("unknown KV-cache dtype '")
          << kvDtype << "'; expected f32, fp16, bf16, int8 or fp8";
      return signalPassFailure();
    }
    SmallVector<CachedAttention> layers;
    WalkResult walk = func.walk([&](AttentionOp attention) {
      CachedAttention layer{attention, {}, {}, {}, {}};
      layer.keys = cacheConcat(attention.getKey(), attention, layer.pastKeys);
      layer.values =
          cacheConcat(attention.getValue(), attention, layer.pastValues);
      auto element = attention.getQuery().getType().getElementType();
      if (!attention.getCausal() || !layer.keys || !layer.values ||
          !element.isF32()) {
        attention.emitError("cannot page this attention: it must be causal, "
                            "in f32, over concat(past input, chunk) keys "
                            "and values that are returned as the cache");
        return WalkResult::interrupt();
      }
      layers.push_back(layer);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    if (layers.empty()) {
      func.emitError("azg-page-kv-cache: the model has no attention over a "
                     "KV cache (past_*/present_* inputs and outputs) to page");
      return signalPassFailure();
    }

    Builder b(&getContext());
    auto keyType = cast<RankedTensorType>(layers[0].pastKeys.getType());
    for (CachedAttention &layer : layers) {
      auto type = cast<RankedTensorType>(layer.pastKeys.getType());
      if (type.getRank() != 4 || type.isDynamicDim(1) || type.isDynamicDim(3) ||
          type.getDimSize(1) != keyType.getDimSize(1) ||
          type.getDimSize(3) != keyType.getDimSize(3) ||
          type != layer.pastValues.getType()) {
        layer.attention.emitError("the paged cache needs one static "
                                  "[batch, kv_heads, past, head_dim] shape "
                                  "for every layer's keys and values, got ")
            << type << " and " << layer.pastValues.getType();
        return signalPassFailure();
      }
    }
    int64_t batch = keyType.getDimSize(0);
    auto tableType = RankedTensorType::get({batch, maxBlocks}, b.getI32Type());
    auto lengthsType = RankedTensorType::get({batch}, b.getI32Type());
    auto names = [&](StringRef name, ArrayRef<StringRef> dims) {
      SmallVector<Attribute> dimNames;
      for (StringRef dim : dims)
        dimNames.push_back(b.getStringAttr(dim));
      return b.getDictionaryAttr(
          {b.getNamedAttr(kNameAttr, b.getStringAttr(name)),
           b.getNamedAttr(kDimNamesAttr, b.getArrayAttr(dimNames))});
    };
    unsigned first = func.getNumArguments();
    Location loc = func.getLoc();
    func.insertArguments({first, first}, {tableType, lengthsType},
                         {names("kv_block_table", {"batch", ""}),
                          names("kv_past_lengths", {"batch"})},
                         {loc, loc});
    Value table = func.getArgument(first),
          lengths = func.getArgument(first + 1);

    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    llvm::BitVector deadResults(ret.getNumOperands()),
        deadArgs(func.getNumArguments());
    for (auto [index, layer] : llvm::enumerate(layers)) {
      AttentionOp attention = layer.attention;
      OpBuilder builder(attention);
      auto paged = builder.create<PagedAttentionOp>(
          attention.getLoc(), attention.getQuery(), layer.keys.getInputs()[1],
          layer.values.getInputs()[1], table, lengths,
          builder.getI64IntegerAttr(int64_t(index)), attention.getScaleAttr());
      attention.replaceAllUsesWith(paged.getOutput());
      attention.erase();
      for (OpOperand &use : ret->getOpOperands())
        if (use.get() == layer.keys || use.get() == layer.values)
          deadResults.set(use.getOperandNumber());
      deadArgs.set(layer.pastKeys.getArgNumber());
      deadArgs.set(layer.pastValues.getArgNumber());
    }
    ret->eraseOperands(deadResults);
    func.eraseResults(deadResults);
    for (CachedAttention &layer : layers) {
      layer.keys.erase();
      layer.values.erase();
    }
    func.eraseArguments(deadArgs);

    func->setAttr(
        kKvCacheAttr,
        b.getDictionaryAttr({
            b.getNamedAttr("layers",
                           b.getI64IntegerAttr(int64_t(layers.size()))),
            b.getNamedAttr("kv_heads",
                           b.getI64IntegerAttr(keyType.getDimSize(1))),
            b.getNamedAttr("head_dim",
                           b.getI64IntegerAttr(keyType.getDimSize(3))),
            b.getNamedAttr("tokens_per_block",
                           b.getI64IntegerAttr(tokensPerBlock)),
            b.getNamedAttr("max_blocks", b.getI64IntegerAttr(maxBlocks)),
            b.getNamedAttr("dtype", b.getStringAttr(kvDtype)),
        }));
  }
};

} // namespace
