//===- DecoderBuilder.cpp - a checkpoint's decoder as azg IR --------------===//
//
// Builds `func.func @main` for a decoder-only language model from its
// checkpoint, in the KV-cache form ONNX decoder exports use, so both
// compile the same way:
//
//   (input_ids, position_ids: i64[batch, sequence],
//    past_key_L, past_value_L: f32[batch, kv_heads, past, head_dim] ...)
//     -> (logits: f32[batch, sequence, vocab],
//         present_key_L, present_value_L: f32[batch, kv_heads,
//                                             past + sequence, head_dim] ...)
//
// Token t of the chunk attends to every cached token and to the chunk's
// tokens up to itself (`azg.attention` with `causal`, so no mask tensor is
// built); position_ids says where each token sits, as in ONNX exports, so
// `azg-page-kv-cache` can drop the concatenated cache without touching the
// positions. Rotary embeddings are computed from the positions at run time
// (cos and sin of position x inverse frequency, in f32 as the reference
// implementation does), so no table sized by the maximum context is stored.
//
// Linear weights are stored [out, in] in Llama-family checkpoints; the
// matmul kernels read [in, out], so those are transposed (and f16/bf16
// widened to f32) once, here. GPT-2's Conv1D weights are already [in, out]
// and f32 ones are used in place from the mapping.
//
//===----------------------------------------------------------------------===//

#include "frontends/safetensors/Checkpoint.h"
#include "frontends/safetensors/SafetensorsImporter.h"

#include "dialects/azg/AzgDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/Path.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace azc;
using namespace azc::safetensors;

namespace {

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 0x1f,
           mantissa = h & 0x3ff, bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else { // subnormal: normalize
      exponent = 127 - 15 + 1;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | exponent << 23 | (mantissa & 0x3ff) << 13;
    }
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | mantissa << 13;
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

class DecoderBuilder {
public:
  DecoderBuilder(MLIRContext &context, const Checkpoint &checkpoint,
                 std::string &error)
      : context(context), builder(&context), checkpoint(checkpoint),
        config(checkpoint.config()), error(error),
        loc(NameLoc::get(builder.getStringAttr(
            llvm::sys::path::filename(checkpoint.folder())))) {}

  OwningOpRef<ModuleOp> build();

private:
  /// Creates OpTy, then infers its result type; null after an error.
  template <typename OpTy, typename... Args> Value make(Args &&...args) {
    if (!error.empty())
      return nullptr;
    OperationState state(loc, OpTy::getOperationName());
    SmallVector<Type> placeholder(1, NoneType::get(&context));
    OpTy::build(builder, state, TypeRange(placeholder),
                std::forward<Args>(args)...);
    SmallVector<Type> types;
    if (failed(OpTy::inferReturnTypes(&context, loc, state.operands,
                                      state.attributes.getDictionary(&context),
                                      state.getRawProperties(), state.regions,
                                      types))) {
      error = checkpoint.folder() + ": building " +
              OpTy::getOperationName().str() + " failed: " + lastDiagnostic;
      return nullptr;
    }
    state.types.assign(types.begin(), types.end());
    return builder.create(state)->getResult(0);
  }

  Value i64s(ArrayRef<int64_t> values, bool scalar = false) {
    auto type = RankedTensorType::get(
        scalar ? ArrayRef<int64_t>{}
               : ArrayRef<int64_t>{int64_t(values.size())},
        builder.getI64Type());
    return builder.create<azg::ConstantOp>(
        loc, DenseIntElementsAttr::get(type, values));
  }
  Value f32(float value, ArrayRef<int64_t> shape = {}) {
    auto type = RankedTensorType::get(shape, builder.getF32Type());
    return builder.create<azg::ConstantOp>(loc,
                                           DenseElementsAttr::get(type, value));
  }

  /// Checkpoint tensor `name` of `shape` as an f32 weight, [in, out] when
  /// `transpose` (the tensor is [out, in]).
  Value weight(const std::string &name, std::vector<int64_t> shape,
               bool transpose = false);

  Value reshape(Value x, ArrayRef<int64_t> shape) {
    return make<azg::ReshapeOp>(x, i64s(shape), UnitAttr());
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    return make<azg::TransposeOp>(x, builder.getDenseI64ArrayAttr(perm));
  }
  Value slice(Value x, int64_t axis, int64_t begin, int64_t end) {
    return make<azg::SliceOp>(x, i64s({begin}), i64s({end}), i64s({axis}),
                              i64s({1}));
  }
  Value linear(Value x, Value w, Value bias = nullptr) {
    return make<azg::MatMulOp>(x, w, bias, Value(), azg::Activation::none,
                               FloatAttr(), FloatAttr());
  }
  Value layerNorm(Value x, const std::string &prefix);
  Value rmsNorm(Value x, const std::string &name);
  Value rotate(Value x, Value cos, Value sin);
  /// Causal self-attention of one layer over the cache; returns the context
  /// [batch, sequence, heads * head_dim] and sets the new cache entries.
  Value attention(Value q, Value k, Value v, Value pastK, Value pastV,
                  Value &presentK, Value &presentV);
  /// [batch, heads, sequence, head_dim] from [batch, sequence, heads*dim].
  Value splitHeads(Value x, int64_t heads) {
    return transpose(reshape(x, {0, 0, heads, config.headDim}), {0, 2, 1, 3});
  }

  MLIRContext &context;
  OpBuilder builder;
  const Checkpoint &checkpoint;
  const DecoderConfig &config;
  std::string &error;
  std::string lastDiagnostic;
  Location loc;
};

Value DecoderBuilder::weight(const std::string &name,
                             std::vector<int64_t> shape, bool transpose) {
  if (!error.empty())
    return nullptr;
  const TensorView *view = checkpoint.tensor(name, shape, error);
  if (!view)
    return nullptr;
  if (view->dtype != DType::F32 && view->dtype != DType::F16 &&
      view->dtype != DType::BF16) {
    error = checkpoint.folder() + ": tensor '" + name + "' is " +
            dtypeName(view->dtype) + "; weights must be F32, F16 or BF16";
    return nullptr;
  }
  std::vector<int64_t> outShape = shape;
  if (transpose)
    std::swap(outShape[0], outShape[1]);
  auto type = RankedTensorType::get(outShape, builder.getF32Type());
  AsmResourceBlob blob;
  bool aligned = reinterpret_cast<uintptr_t>(view->data) % 4 == 0;
  if (view->dtype == DType::F32 && !transpose && aligned) {
    std::shared_ptr<const void> owner = view->owner;
    blob = AsmResourceBlob(
        ArrayRef<char>(view->data, view->size), 4,
        [owner](void *, size_t, size_t) mutable { owner.reset(); },
        /*dataIsMutable=*/false);
  } else {
    size_t count = view->size / dtypeSize(view->dtype);
    std::vector<float> values(count);
    for (size_t i = 0; i < count; ++i) {
      float v;
      if (view->dtype == DType::F32) {
        memcpy(&v, view->data + 4 * i, 4);
      } else {
        uint16_t h;
        memcpy(&h, view->data + 2 * i, 2);
        if (view->dtype == DType::F16) {
          v = halfToFloat(h);
        } else {
          uint32_t bits = uint32_t(h) << 16;
          memcpy(&v, &bits, 4);
        }
      }
      values[i] = v;
    }
    if (transpose) {
      std::vector<float> transposed(count);
      int64_t rows = shape[0], cols = shape[1];
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          transposed[size_t(c * rows + r)] = values[size_t(r * cols + c)];
      values.swap(transposed);
    }
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(reinterpret_cast<const char *>(values.data()),
                       values.size() * 4),
        64);
  }
  std::string key;
  for (char c : name + (transpose ? ".T" : ""))
    key += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'
               ? c
               : '_';
  auto value =
      DenseResourceElementsAttr::get(type, "w_" + key, std::move(blob));
  return builder.create<azg::WeightOp>(
      NameLoc::get(builder.getStringAttr(name)), name,
      cast<ElementsAttr>(value));
}

Value DecoderBuilder::layerNorm(Value x, const std::string &prefix) {
  Value scale = weight(prefix + ".weight", {config.hidden});
  Value bias = weight(prefix + ".bias", {config.hidden});
  return make<azg::LayerNormOp>(x, scale, bias, builder.getI64IntegerAttr(-1),
                                builder.getF32FloatAttr(config.normEpsilon));
}

Value DecoderBuilder::rmsNorm(Value x, const std::string &name) {
  return make<azg::RmsNormOp>(x, weight(name, {config.hidden}),
                              builder.getI64IntegerAttr(-1),
                              builder.getF32FloatAttr(config.normEpsilon));
}

/// x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1] for the two
/// halves of the rotated dims (the Llama convention).
Value DecoderBuilder::rotate(Value x, Value cos, Value sin) {
  int64_t half = config.rope.dim / 2;
  Value x1 = slice(x, 3, 0, half), x2 = slice(x, 3, half, config.rope.dim);
  Value rotated = make<azg::ConcatOp>(ValueRange{make<azg::NegOp>(x2), x1},
                                      builder.getI64IntegerAttr(3));
  return make<azg::AddOp>(make<azg::MulOp>(x, cos),
                          make<azg::MulOp>(rotated, sin));
}

Value DecoderBuilder::attention(Value q, Value k, Value v, Value pastK,
                                Value pastV, Value &presentK, Value &presentV) {
  presentK =
      make<azg::ConcatOp>(ValueRange{pastK, k}, builder.getI64IntegerAttr(2));
  presentV =
      make<azg::ConcatOp>(ValueRange{pastV, v}, builder.getI64IntegerAttr(2));
  // Grouped-query heads are the op's business: no repeated cache copies.
  Value context = make<azg::AttentionOp>(
      q, presentK, presentV,
      builder.getF32FloatAttr(float(1.0 / std::sqrt(double(config.headDim)))),
      builder.getBoolAttr(true));
  return reshape(transpose(context, {0, 2, 1, 3}),
                 {0, 0, config.heads * config.headDim});
}

OwningOpRef<ModuleOp> DecoderBuilder::build() {
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    lastDiagnostic = d.str();
    return success();
  });
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  const int64_t D = config.hidden, hd = config.headDim, V = config.vocab;
  const int64_t dyn = ShapedType::kDynamic;

  // Signature.
  SmallVector<Type> argTypes = {
      RankedTensorType::get({dyn, dyn}, builder.getI64Type())};
  SmallVector<DictionaryAttr> argAttrs;
  auto names = [&](StringRef name, ArrayRef<StringRef> dims) {
    SmallVector<Attribute> dimNames;
    for (StringRef dim : dims)
      dimNames.push_back(builder.getStringAttr(dim));
    return builder.getDictionaryAttr(
        {builder.getNamedAttr(azg::kNameAttr, builder.getStringAttr(name)),
         builder.getNamedAttr(azg::kDimNamesAttr,
                              builder.getArrayAttr(dimNames))});
  };
  argAttrs.push_back(names("input_ids", {"batch", "sequence"}));
  argTypes.push_back(argTypes[0]);
  argAttrs.push_back(names("position_ids", {"batch", "sequence"}));
  auto cacheType = RankedTensorType::get({dyn, config.kvHeads, dyn, hd},
                                         builder.getF32Type());
  std::vector<std::string> cacheNames;
  for (int64_t l = 0; l < config.layers; ++l)
    for (const char *kind : {"key", "value"}) {
      cacheNames.push_back(std::string("past_") + kind + "_" +
                           std::to_string(l));
      argTypes.push_back(cacheType);
      argAttrs.push_back(names(cacheNames.back(), {"batch", "", "past", ""}));
    }
  auto func =
      func::FuncOp::create(loc, "main", builder.getFunctionType(argTypes, {}));
  module->push_back(func);
  func.setAllArgAttrs(argAttrs);
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  Value ids = body->getArgument(0), positions = body->getArgument(1);
  constexpr unsigned kFirstCacheArg = 2;

  Value x;
  Value cos, sin;
  bool llama = config.family == "llama";
  if (llama) {
    x = make<azg::GatherOp>(weight("model.embed_tokens.weight", {V, D}), ids,
                            builder.getI64IntegerAttr(0));
    // inv_freq[i] = theta^(-2i / dim), rescaled as rope_scaling says.
    int64_t half = config.rope.dim / 2;
    std::vector<float> inverse(static_cast<size_t>(half));
    const RopeConfig &rope = config.rope;
    for (int64_t i = 0; i < half; ++i) {
      double freq = 1.0 / std::pow(rope.theta, double(2 * i) / rope.dim);
      if (rope.scaling == "linear") {
        freq /= rope.factor;
      } else if (rope.scaling == "llama3") {
        double lowWavelen = rope.originalMaxPositions / rope.lowFreqFactor;
        double highWavelen = rope.originalMaxPositions / rope.highFreqFactor;
        double wavelen = 2 * M_PI / freq;
        if (wavelen > lowWavelen) {
          freq /= rope.factor;
        } else if (wavelen >= highWavelen) {
          double smooth =
              (rope.originalMaxPositions / wavelen - rope.lowFreqFactor) /
              (rope.highFreqFactor - rope.lowFreqFactor);
          freq = (1 - smooth) * freq / rope.factor + smooth * freq;
        }
      }
      inverse[size_t(i)] = float(freq);
    }
    auto freqType = RankedTensorType::get({1, half}, builder.getF32Type());
    Value inv = builder.create<azg::ConstantOp>(
        loc, DenseElementsAttr::get(freqType, ArrayRef<float>(inverse)));
    // [batch, sequence, half] angles; cos and sin [batch, 1, sequence, dim]
    // broadcast over the heads.
    Value angles = make<azg::MulOp>(
        make<azg::UnsqueezeOp>(
            make<azg::CastOp>(positions, TypeAttr::get(builder.getF32Type())),
            builder.getDenseI64ArrayAttr({2})),
        inv);
    Value both = make<azg::UnsqueezeOp>(
        make<azg::ConcatOp>(ValueRange{angles, angles},
                            builder.getI64IntegerAttr(2)),
        builder.getDenseI64ArrayAttr({1}));
    cos = make<azg::CosOp>(both);
    sin = make<azg::SinOp>(both);
  } else {
    std::string p = checkpoint.has("wte.weight") ? "" : "transformer.";
    x = make<azg::AddOp>(
        make<azg::GatherOp>(weight(p + "wte.weight", {V, D}), ids,
                            builder.getI64IntegerAttr(0)),
        make<azg::GatherOp>(weight(p + "wpe.weight", {config.maxPositions, D}),
                            positions, builder.getI64IntegerAttr(0)));
  }

  SmallVector<Value> presents;
  for (int64_t l = 0; l < config.layers && error.empty(); ++l) {
    Value pastK = body->getArgument(kFirstCacheArg + 2 * l);
    Value pastV = body->getArgument(kFirstCacheArg + 2 * l + 1);
    Value presentK, presentV, context;
    if (llama) {
      std::string p = "model.layers." + std::to_string(l) + ".";
      Value n = rmsNorm(x, p + "input_layernorm.weight");
      auto projection = [&](const char *name, int64_t heads) {
        std::string w = p + "self_attn." + name;
        Value bias =
            config.attentionBias ? weight(w + ".bias", {heads * hd}) : Value();
        return splitHeads(
            linear(n, weight(w + ".weight", {heads * hd, D}, true), bias),
            heads);
      };
      Value q = rotate(projection("q_proj", config.heads), cos, sin);
      Value k = rotate(projection("k_proj", config.kvHeads), cos, sin);
      Value v = projection("v_proj", config.kvHeads);
      context = attention(q, k, v, pastK, pastV, presentK, presentV);
      x = make<azg::AddOp>(
          x, linear(context, weight(p + "self_attn.o_proj.weight",
                                    {D, config.heads * hd}, true)));
      Value n2 = rmsNorm(x, p + "post_attention_layernorm.weight");
      int64_t I = config.intermediate;
      Value gate = linear(n2, weight(p + "mlp.gate_proj.weight", {I, D}, true));
      Value up = linear(n2, weight(p + "mlp.up_proj.weight", {I, D}, true));
      Value act = config.activation == "silu"
                      ? make<azg::SiluOp>(gate)
                      : make<azg::GeluOp>(gate, UnitAttr());
      x = make<azg::AddOp>(
          x, linear(make<azg::MulOp>(act, up),
                    weight(p + "mlp.down_proj.weight", {D, I}, true)));
    } else {
      std::string p = (checkpoint.has("wte.weight") ? "h." : "transformer.h.") +
                      std::to_string(l) + ".";
      Value n = layerNorm(x, p + "ln_1");
      Value qkv = linear(n, weight(p + "attn.c_attn.weight", {D, 3 * D}),
                         weight(p + "attn.c_attn.bias", {3 * D}));
      Value q = splitHeads(slice(qkv, 2, 0, D), config.heads);
      Value k = splitHeads(slice(qkv, 2, D, 2 * D), config.heads);
      Value v = splitHeads(slice(qkv, 2, 2 * D, 3 * D), config.heads);
      context = attention(q, k, v, pastK, pastV, presentK, presentV);
      x = make<azg::AddOp>(x, linear(context,
                                     weight(p + "attn.c_proj.weight", {D, D}),
                                     weight(p + "attn.c_proj.bias", {D})));
      Value n2 = layerNorm(x, p + "ln_2");
      int64_t I = config.intermediate;
      Value h = linear(n2, weight(p + "mlp.c_fc.weight", {D, I}),
                       weight(p + "mlp.c_fc.bias", {I}));
      h = make<azg::GeluOp>(
          h, config.activation == "gelu" ? UnitAttr() : builder.getUnitAttr());
      x = make<azg::AddOp>(x, linear(h, weight(p + "mlp.c_proj.weight", {I, D}),
                                     weight(p + "mlp.c_proj.bias", {D})));
    }
    presents.push_back(presentK);
    presents.push_back(presentV);
  }

  Value logits;
  if (llama) {
    Value n = rmsNorm(x, "model.norm.weight");
    bool tied = config.tiedEmbeddings || !checkpoint.has("lm_head.weight");
    logits =
        linear(n, weight(tied ? "model.embed_tokens.weight" : "lm_head.weight",
                         {V, D}, true));
  } else {
    std::string p = checkpoint.has("wte.weight") ? "" : "transformer.";
    logits = linear(layerNorm(x, p + "ln_f"),
                    weight(p + "wte.weight", {V, D}, true));
  }
  if (!error.empty())
    return nullptr;

  SmallVector<Value> results = {logits};
  results.append(presents.begin(), presents.end());
  builder.create<func::ReturnOp>(loc, results);
  func.setFunctionType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setResultAttr(0, azg::kNameAttr, builder.getStringAttr("logits"));
  for (size_t i = 0; i < cacheNames.size(); ++i) {
    std::string name = cacheNames[i];
    name.replace(0, 4, "present");
    func.setResultAttr(unsigned(i + 1), azg::kNameAttr,
                       builder.getStringAttr(name));
  }
  return module;
}

} // namespace

OwningOpRef<ModuleOp> azc::safetensors::importCheckpoint(
    MLIRContext &context, const std::string &folder, std::string &error) {
  context.loadDialect<azg::AzgDialect, func::FuncDialect>();
  std::unique_ptr<Checkpoint> checkpoint = Checkpoint::open(folder, error);
  if (!checkpoint)
    return nullptr;
  return DecoderBuilder(context, *checkpoint, error).build();
}
