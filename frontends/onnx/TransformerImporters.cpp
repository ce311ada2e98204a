//===- TransformerImporters.cpp - transformer LLM ops to azg --------------===//
//
// Importers for the ops that transformer exports use beyond the core ONNX
// set: onnxruntime's com.microsoft contrib ops (SkipLayerNormalization,
// the GELU variants, RotaryEmbedding, MatMulNBits, GroupQueryAttention),
// SimplifiedLayerNormalization as onnxruntime registers it in the default
// domain, and the RotaryEmbedding and Attention of opsets 23 and later. Each
// follows onnxruntime's CPU semantics and is composed from azg ops; only rotary
// embeddings have an op of their own. Configurations that cannot be
// expressed exactly are refused with a message naming them
// (docs/transformer-ops.md lists them).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// Builds a chain of azg ops for one node. After the first failure (already
/// reported by NodeContext) every further call returns a null Value, so a
/// chain is checked once, with ok(), at its end.
class Emitter {
public:
  explicit Emitter(NodeContext &n) : n(n), b(n.context()) {}

  bool ok() const { return ok_; }

  template <typename OpTy, typename... Args> Value op(Args &&...args) {
    if (!ok_)
      return Value();
    FailureOr<Value> v = n.make<OpTy>(std::forward<Args>(args)...);
    if (failed(v)) {
      ok_ = false;
      return Value();
    }
    return *v;
  }

  Value add(Value x, Value y) { return op<azg::AddOp>(x, y); }
  Value mul(Value x, Value y) { return op<azg::MulOp>(x, y); }
  Value div(Value x, Value y) { return op<azg::DivOp>(x, y); }
  Value scalarLike(Value like, double value) {
    return ok_ ? n.constantLike(like, value) : Value();
  }
  Value reshape(Value x, ArrayRef<int64_t> shape) {
    return op<azg::ReshapeOp>(x, n.constantI64(shape), UnitAttr());
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    return op<azg::TransposeOp>(x, b.getDenseI64ArrayAttr(perm));
  }
  Value concat(ValueRange xs, int64_t axis) {
    return op<azg::ConcatOp>(xs, b.getI64IntegerAttr(axis));
  }
  Value matmul(Value x, Value y, Value bias = Value()) {
    return op<azg::MatMulOp>(x, y, bias, Value(), azg::ActivationAttr(),
                             FloatAttr(), FloatAttr());
  }
  Value unsqueeze(Value x, ArrayRef<int64_t> axes) {
    return op<azg::UnsqueezeOp>(x, b.getDenseI64ArrayAttr(axes));
  }
  Value gather(Value data, Value indices, int64_t axis) {
    return op<azg::GatherOp>(data, indices, b.getI64IntegerAttr(axis));
  }
  /// Dim `axis` of `x` as an i64 scalar: a constant when static.
  Value dim(Value x, int64_t axis) {
    if (!ok_)
      return Value();
    int64_t size = typeOf(x).getDimSize(axis);
    if (!ShapedType::isDynamic(size))
      return n.constantI64({size}, /*scalar=*/true);
    Value shape = op<azg::ShapeOfOp>(x);
    return gather(shape, n.constantI64({axis}, /*scalar=*/true), 0);
  }
  /// start, start + 1, ..., limit - 1 as i64 (start and limit i64 scalars).
  Value range(Value start, Value limit) {
    return op<azg::RangeOp>(start, limit, n.constantI64({1}, /*scalar=*/true));
  }

  NodeContext &n;
  Builder b;

private:
  bool ok_ = true;
};

/// An attribute that must be a positive integer.
FailureOr<int64_t> positiveAttr(NodeContext &n, StringRef name) {
  int64_t value = n.attrInt(name, 0);
  if (value <= 0) {
    (void)n.error(Twine(name) + " must be a positive integer, got " +
                  Twine(value));
    return failure();
  }
  return value;
}

/// A static dim; reports `what` when it is dynamic.
FailureOr<int64_t> staticDim(NodeContext &n, Value v, int64_t axis,
                             const Twine &what) {
  int64_t size = typeOf(v).getDimSize(axis);
  if (ShapedType::isDynamic(size)) {
    (void)n.error(what + " must have a static size");
    return failure();
  }
  return size;
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

/// SkipLayerNormalization and SkipSimplifiedLayerNormalization:
/// norm(input + skip + bias) over the last dim, and the sum as output 3.
template <bool isRms> LogicalResult importSkipNorm(NodeContext &n) {
  if (n.isOutputUsed(1) || n.isOutputUsed(2))
    return n.error("the mean and inv_std_var outputs are not supported (they "
                   "are training-time statistics)");
  Value beta = isRms ? Value() : n.input(3);
  Value bias = n.input(isRms ? 3 : 4);
  Emitter e(n);
  Value sum = e.add(n.input(0), n.input(1));
  if (bias)
    sum = e.add(sum, bias);
  FloatAttr epsilon = e.b.getF32FloatAttr(n.attrFloat("epsilon", 1e-12f));
  IntegerAttr axis = e.b.getI64IntegerAttr(-1);
  Value out =
      isRms ? e.op<azg::RmsNormOp>(sum, n.input(2), axis, epsilon)
            : e.op<azg::LayerNormOp>(sum, n.input(2), beta, axis, epsilon);
  if (!e.ok())
    return failure();
  if (!n.isOutputUsed(3))
    return n.setResults(out);
  return n.setResults({out, Value(), Value(), sum});
}

/// SimplifiedLayerNormalization: RMS normalization from `axis` on.
LogicalResult importSimplifiedLayerNorm(NodeContext &n) {
  if (n.isOutputUsed(1))
    return n.error("the inv_std_var output is not supported");
  Builder b(n.context());
  return n.setResult(n.make<azg::RmsNormOp>(
      n.input(0), n.input(1), b.getI64IntegerAttr(n.attrInt("axis", -1)),
      b.getF32FloatAttr(n.attrFloat("epsilon", 1e-5f))));
}

//===----------------------------------------------------------------------===//
// GELU variants
//===----------------------------------------------------------------------===//

/// Gelu (erf), BiasGelu (erf of a + b) and FastGelu (tanh, optional bias).
template <bool tanh> LogicalResult importGeluVariant(NodeContext &n) {
  Emitter e(n);
  Value x = n.input(0);
  if (n.input(1))
    x = e.add(x, n.input(1));
  UnitAttr approx = tanh ? UnitAttr::get(n.context()) : UnitAttr();
  Value out = e.op<azg::GeluOp>(x, approx);
  if (!e.ok())
    return failure();
  return n.setResults(out);
}

/// x * sigmoid(alpha * x): SiLU when alpha is 1.
Value swish(Emitter &e, Value x, float alpha) {
  return alpha == 1.0f
             ? e.op<azg::SiluOp>(x)
             : e.mul(x, e.op<azg::SigmoidOp>(e.mul(x, e.scalarLike(x, alpha))));
}

/// QuickGelu (com.microsoft), and ONNX Swish (opset 24), whose alpha
/// defaults differ: x * sigmoid(alpha * x).
template <int DefaultAlphaMilli> LogicalResult importSwish(NodeContext &n) {
  Emitter e(n);
  Value out =
      swish(e, n.input(0), n.attrFloat("alpha", DefaultAlphaMilli / 1000.0f));
  if (!e.ok())
    return failure();
  return n.setResults(out);
}

/// SwiGLU (opset 28): Swish_alpha(A) * B, A and B of one shape.
LogicalResult importSwiGlu(NodeContext &n) {
  if (n.input(0).getType() != n.input(1).getType())
    return n.error("A and B must have the same type and shape (SwiGLU does "
                   "not broadcast)");
  Emitter e(n);
  Value out =
      e.mul(swish(e, n.input(0), n.attrFloat("alpha", 1.0f)), n.input(1));
  if (!e.ok())
    return failure();
  return n.setResults(out);
}

//===----------------------------------------------------------------------===//
// Rotary embeddings
//===----------------------------------------------------------------------===//

/// cos/sin rows for positions: `cache` [max, R/2] gathered at the i64
/// `positions` ([S] -> [1, S, R/2], or [B, S] -> [B, S, R/2]).
Value anglesAt(Emitter &e, Value cache, Value positions) {
  Value rows = e.gather(cache, positions, 0);
  if (e.ok() && typeOf(positions).getRank() == 1)
    rows = e.unsqueeze(rows, {0});
  return rows;
}

/// Rotates `x` ([B, S, hidden] with `heads` heads, or 4-D [B, N, S, H]) by
/// `cos`/`sin` of shape [1 or B, S, R/2].
Value rotate(Emitter &e, Value x, int64_t heads, Value cos, Value sin,
             bool interleaved) {
  if (!e.ok())
    return Value();
  RankedTensorType type = typeOf(x);
  bool is3d = type.getRank() == 3;
  Value x4 = x;
  if (is3d) {
    int64_t hidden = type.getDimSize(2);
    x4 = e.reshape(x, {0, 0, heads, hidden / heads});
  }
  Value out = e.op<azg::RotaryEmbeddingOp>(
      x4, cos, sin, e.b.getBoolAttr(interleaved), e.b.getBoolAttr(!is3d));
  if (is3d)
    out = e.reshape(out, {0, 0, type.getDimSize(2)});
  return out;
}

/// Head size and head count of a rotary input: 3-D [B, S, hidden] needs
/// `numHeads` (or takes the head size from `headSizeHint`); 4-D is
/// [B, N, S, H].
LogicalResult rotaryHeads(NodeContext &n, Value x, int64_t numHeads,
                          int64_t headSizeHint, int64_t &heads,
                          int64_t &headSize) {
  RankedTensorType type = typeOf(x);
  if (type.getRank() == 4) {
    FailureOr<int64_t> h = staticDim(n, x, 3, "the head size (input dim 3)");
    FailureOr<int64_t> count = staticDim(n, x, 1, "input dim 1 (heads)");
    if (failed(h) || failed(count))
      return failure();
    headSize = *h;
    heads = *count;
    return success();
  }
  if (type.getRank() != 3)
    return n.error("input must be 3-D [batch, sequence, hidden] or 4-D "
                   "[batch, heads, sequence, head], got rank " +
                   Twine(type.getRank()));
  FailureOr<int64_t> hidden = staticDim(n, x, 2, "the hidden size (dim 2)");
  if (failed(hidden))
    return failure();
  if (numHeads > 0) {
    heads = numHeads;
  } else if (headSizeHint > 0 && *hidden % headSizeHint == 0) {
    heads = *hidden / headSizeHint;
  } else {
    return n.error("num_heads is required for a 3-D input");
  }
  if (*hidden % heads != 0)
    return n.error("hidden size " + Twine(*hidden) + " does not divide into " +
                   Twine(heads) + " heads");
  headSize = *hidden / heads;
  return success();
}

/// com.microsoft RotaryEmbedding: input, position_ids ([B, S], or one
/// element: the first position, the others following), cos_cache and
/// sin_cache [max, R/2].
LogicalResult importMsRotary(NodeContext &n) {
  if (n.attrInt("is_packed_batching", 0) != 0)
    return n.error("is_packed_batching=1 is not supported");
  Value x = n.input(0), positions = n.input(1), cosCache = n.input(2),
        sinCache = n.input(3);
  if (typeOf(cosCache).getRank() != 2 || typeOf(sinCache).getRank() != 2)
    return n.error("cos_cache and sin_cache must be 2-D [max positions, "
                   "rotary dim / 2]");
  FailureOr<int64_t> half = staticDim(n, cosCache, 1, "cos_cache dim 1");
  if (failed(half))
    return failure();
  int64_t rotaryDim = n.attrInt("rotary_embedding_dim", 0);
  int64_t numHeads = n.attrInt("num_heads", 0);
  if (rotaryDim > 0 && numHeads <= 0)
    return n.error("num_heads is required with rotary_embedding_dim");
  int64_t heads, headSize;
  // Without rotary_embedding_dim onnxruntime takes the head size from the
  // cache: the whole head rotates.
  if (failed(rotaryHeads(n, x, numHeads, rotaryDim > 0 ? 0 : 2 * *half, heads,
                         headSize)))
    return failure();
  if (rotaryDim == 0)
    rotaryDim = headSize;
  if (rotaryDim > headSize || rotaryDim % 2 != 0)
    return n.error("rotary_embedding_dim " + Twine(rotaryDim) +
                   " must be even and at most the head size " +
                   Twine(headSize));
  if (2 * *half != rotaryDim)
    return n.error("cos_cache has " + Twine(*half) + " columns; rotating " +
                   Twine(rotaryDim) + " elements needs " +
                   Twine(rotaryDim / 2));
  if (getElementTypeOrSelf(positions.getType()) !=
      IntegerType::get(n.context(), 64))
    return n.error("position_ids must be int64");

  Emitter e(n);
  RankedTensorType posType = typeOf(positions);
  Value ids = positions;
  if (posType.getRank() != 2) {
    if (!posType.hasStaticShape() || posType.getNumElements() != 1)
      return n.error("position_ids must be [batch, sequence] or hold one "
                     "element (the first position)");
    // One element: positions start, start + 1, ... for every batch entry,
    // as start + [0, S) so that the length stays known when start is not.
    Value start = e.reshape(positions, {});
    int64_t seqAxis = typeOf(x).getRank() == 4 ? 2 : 1;
    ids = e.add(e.range(n.constantI64({0}, true), e.dim(x, seqAxis)), start);
  }
  Value cos = anglesAt(e, cosCache, ids);
  Value sin = anglesAt(e, sinCache, ids);
  Value out = rotate(e, x, heads, cos, sin, n.attrInt("interleaved", 0) != 0);
  if (!e.ok())
    return failure();
  return n.setResults(out);
}

/// ai.onnx RotaryEmbedding (opset 23): X, cos_cache, sin_cache and optional
/// position_ids. With position_ids the caches are [max, R/2] and gathered;
/// without, they are already [B, S, R/2].
LogicalResult importOnnxRotary(NodeContext &n) {
  Value x = n.input(0), cosCache = n.input(1), sinCache = n.input(2),
        positions = n.input(3);
  int64_t heads, headSize;
  if (failed(rotaryHeads(n, x, n.attrInt("num_heads", 0), 0, heads, headSize)))
    return failure();
  int64_t rotaryDim = n.attrInt("rotary_embedding_dim", 0);
  if (rotaryDim == 0)
    rotaryDim = headSize;
  if (rotaryDim > headSize || rotaryDim % 2 != 0)
    return n.error("rotary_embedding_dim " + Twine(rotaryDim) +
                   " must be even and at most the head size " +
                   Twine(headSize));
  int64_t cacheRank = positions ? 2 : 3;
  if (typeOf(cosCache).getRank() != cacheRank ||
      typeOf(sinCache).getRank() != cacheRank)
    return n.error(positions ? "with position_ids, cos_cache and sin_cache "
                               "must be 2-D [max positions, rotary dim / 2]"
                             : "without position_ids, cos_cache and "
                               "sin_cache must be 3-D [batch, sequence, "
                               "rotary dim / 2]");
  int64_t half = typeOf(cosCache).getDimSize(cacheRank - 1);
  if (!ShapedType::isDynamic(half) && 2 * half != rotaryDim)
    return n.error("the caches have " + Twine(half) + " columns; rotating " +
                   Twine(rotaryDim) + " elements needs " +
                   Twine(rotaryDim / 2));
  Emitter e(n);
  Value cos = cosCache, sin = sinCache;
  if (positions) {
    if (typeOf(positions).getRank() != 2)
      return n.error("position_ids must be 2-D [batch, sequence]");
    cos = anglesAt(e, cosCache, positions);
    sin = anglesAt(e, sinCache, positions);
  }
  Value out = rotate(e, x, heads, cos, sin, n.attrInt("interleaved", 0) != 0);
  if (!e.ok())
    return failure();
  return n.setResults(out);
}

//===----------------------------------------------------------------------===//
// MatMulNBits
//===----------------------------------------------------------------------===//

/// The raw little-endian bytes of a constant input: a view of the
/// constant's own storage, or of `copy` for a splat.
struct ConstantBytes {
  ArrayRef<char> bytes;
  std::vector<char> copy;
};

/// Reads constant input `i` (an initializer or Constant), or reports that
/// it is not one, naming `what`.
LogicalResult constantBytes(NodeContext &n, size_t i, StringRef what,
                            ConstantBytes &out) {
  Value v = n.input(i);
  ElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return n.error(Twine(what) + " (input " + Twine(i) +
                   ") must be a constant initializer; quantized weights "
                   "computed at run time are not supported");
  Type element = attr.getElementType();
  if (element.isInteger(1))
    return n.error(Twine(what) + " must not be bool");
  size_t width = element.getIntOrFloatBitWidth() / 8;
  size_t count = attr.getNumElements();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return n.error(Twine(what) + " has no data");
    out.bytes = blob->getData();
  } else if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> data = dense.getRawData();
    if (dense.isSplat()) {
      for (size_t k = 0; k < count; ++k)
        out.copy.insert(out.copy.end(), data.begin(), data.begin() + width);
      out.bytes = out.copy;
    } else {
      out.bytes = data;
    }
  } else {
    return n.error(Twine(what) + " holds an unsupported kind of constant");
  }
  if (out.bytes.size() != count * width)
    return n.error(Twine(what) + " holds " + Twine(out.bytes.size()) +
                   " bytes, expected " + Twine(count * width));
  return success();
}

/// Float values of a constant f32/f16/bf16 input.
FailureOr<std::vector<float>> constantFloats(NodeContext &n, size_t i,
                                             StringRef what) {
  ConstantBytes data;
  if (failed(constantBytes(n, i, what, data)))
    return failure();
  ArrayRef<char> *bytes = &data.bytes;
  Type element = getElementTypeOrSelf(n.input(i).getType());
  std::vector<float> values;
  if (element.isF32()) {
    values.resize(bytes->size() / 4);
    memcpy(values.data(), bytes->data(), bytes->size());
    return values;
  }
  if (!element.isF16() && !element.isBF16()) {
    (void)n.error(Twine(what) + " must be float, float16 or bfloat16");
    return failure();
  }
  const llvm::fltSemantics &semantics =
      element.isF16() ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat();
  for (size_t k = 0; k + 1 < bytes->size(); k += 2) {
    uint16_t bits;
    memcpy(&bits, bytes->data() + k, 2);
    values.push_back(
        llvm::APFloat(semantics, llvm::APInt(16, bits)).convertToFloat());
  }
  return values;
}

/// MatMulNBits: A [..., K] times a block-quantized B [N, K], whose codes are
/// packed low bits first, `bits` each, in blocks of `block_size` along K;
/// each block has a scale and a zero point (default 2^(bits-1)), packed the
/// same way or given as floats: y = A @ W^T (+ bias).
LogicalResult importMatMulNBits(NodeContext &n) {
  if (n.attrInt("weight_prepacked", 0) != 0)
    return n.error("weight_prepacked=1 is not supported");
  FailureOr<int64_t> kAttr = positiveAttr(n, "K"), nAttr = positiveAttr(n, "N"),
                     blockAttr = positiveAttr(n, "block_size");
  if (failed(kAttr) || failed(nAttr) || failed(blockAttr))
    return failure();
  int64_t K = *kAttr, N = *nAttr, block = *blockAttr;
  int64_t bits = n.attrInt("bits", 4);
  if (bits != 2 && bits != 4 && bits != 8)
    return n.error("bits=" + Twine(bits) + " is not supported (2, 4 or 8)");
  if (block < 16 || (block & (block - 1)) != 0)
    return n.error("block_size must be a power of 2 and at least 16, got " +
                   Twine(block));
  Value a = n.input(0);
  Type aElement = getElementTypeOrSelf(a.getType());
  if (!aElement.isF32() && !aElement.isF16())
    return n.error("A must be float or float16");
  if (typeOf(a).getRank() == 0)
    return n.error("A must have at least one dim");
  int64_t aK = typeOf(a).getShape().back();
  if (!ShapedType::isDynamic(aK) && aK != K)
    return n.error("A has " + Twine(aK) + " columns but K is " + Twine(K));

  const int64_t blocks = (K + block - 1) / block;
  const int64_t blob = block * bits / 8;
  const int64_t perByte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  if (getElementTypeOrSelf(n.input(1).getType()) !=
      IntegerType::get(n.context(), 8, IntegerType::Unsigned))
    return n.error("B must be uint8");
  ConstantBytes codeData;
  if (failed(constantBytes(n, 1, "B", codeData)))
    return failure();
  ArrayRef<char> codes = codeData.bytes;
  FailureOr<std::vector<float>> scales = constantFloats(n, 2, "scales");
  if (failed(scales))
    return failure();
  if ((int64_t)codes.size() != N * blocks * blob)
    return n.error("B holds " + Twine(codes.size()) + " bytes; N=" + Twine(N) +
                   ", K=" + Twine(K) + ", bits=" + Twine(bits) +
                   ", block_size=" + Twine(block) + " need " +
                   Twine(N * blocks * blob));
  if ((int64_t)scales->size() != N * blocks)
    return n.error("scales holds " + Twine(scales->size()) +
                   " values, expected N * blocks = " + Twine(N * blocks));

  // Zero points: absent (2^(bits-1)), packed like the codes with each row
  // padded to whole bytes, or one float per block.
  std::vector<float> zeroPoints(N * blocks, float(1 << (bits - 1)));
  if (Value zp = n.input(3)) {
    Type zpElement = getElementTypeOrSelf(zp.getType());
    if (isa<FloatType>(zpElement)) {
      FailureOr<std::vector<float>> given = constantFloats(n, 3, "zero_points");
      if (failed(given))
        return failure();
      if ((int64_t)given->size() != N * blocks)
        return n.error("float zero_points holds " + Twine(given->size()) +
                       " values, expected " + Twine(N * blocks));
      zeroPoints = *given;
    } else {
      if (zpElement != IntegerType::get(n.context(), 8, IntegerType::Unsigned))
        return n.error("zero_points must be uint8 or the scales' type");
      ConstantBytes packedData;
      if (failed(constantBytes(n, 3, "zero_points", packedData)))
        return failure();
      ArrayRef<char> *packed = &packedData.bytes;
      int64_t rowBytes = (blocks * bits + 7) / 8;
      if ((int64_t)packed->size() != N * rowBytes)
        return n.error("uint8 zero_points holds " + Twine(packed->size()) +
                       " bytes, expected " + Twine(N * rowBytes));
      for (int64_t r = 0; r < N; ++r)
        for (int64_t k = 0; k < blocks; ++k) {
          uint8_t byte = (*packed)[r * rowBytes + k / perByte];
          zeroPoints[r * blocks + k] =
              float((byte >> (bits * (k % perByte))) & mask);
        }
    }
  }

  // g_idx (act-order quantization): the block whose scale and zero point
  // row k uses; by default k / block_size.
  std::vector<int64_t> group(K);
  for (int64_t k = 0; k < K; ++k)
    group[k] = k / block;
  if (n.input(4)) {
    // onnxruntime's CPU kernel reads packed zero points as if absent when
    // g_idx is given; with no agreed meaning, they are refused.
    if (n.input(3) &&
        !isa<FloatType>(getElementTypeOrSelf(n.input(3).getType())))
      return n.error("g_idx with uint8 zero_points is not supported "
                     "(onnxruntime ignores those zero points); float zero "
                     "points or none are");
    FailureOr<SmallVector<int64_t>> given = n.constantInts(4, "g_idx");
    if (failed(given))
      return failure();
    if ((int64_t)given->size() != K)
      return n.error("g_idx has " + Twine(given->size()) +
                     " entries, expected K = " + Twine(K));
    for (int64_t k = 0; k < K; ++k) {
      if ((*given)[k] < 0 || (*given)[k] >= blocks)
        return n.error("g_idx[" + Twine(k) + "] = " + Twine((*given)[k]) +
                       " is not a block index below " + Twine(blocks));
      group[k] = (*given)[k];
    }
  }

  // The layouts azg.matmul_nbits reads stay quantized: the kernel unpacks
  // each block as it reads it.
  Value zp = n.input(3), bias = n.input(5);
  auto isF32Value = [](Value v) {
    return getElementTypeOrSelf(v.getType()).isF32();
  };
  if (bits != 2 && aElement.isF32() && !n.input(4) &&
      typeOf(n.input(1)).getRank() == 3 && isF32Value(n.input(2)) &&
      (!zp || !isa<FloatType>(getElementTypeOrSelf(zp.getType()))) &&
      (!bias || isF32Value(bias))) {
    auto i64 = [&](int64_t v) { return n.builder().getI64IntegerAttr(v); };
    auto op = n.builder().create<azg::MatMulNBitsOp>(
        n.loc(), a, n.input(1), n.input(2), zp, bias, Value(), Value(), i64(K),
        i64(N), i64(bits), i64(block), i64(n.attrInt("accuracy_level", 0)),
        n.builder().getStringAttr("int"), StringAttr(), FloatAttr(),
        azg::ActivationAttr::get(n.context(), azg::Activation::none),
        FloatAttr(), FloatAttr());
    return n.setResults(op.getOutput());
  }

  // Elsewhere (2 bits, float zero points, g_idx, f16 activations) the
  // weight is dequantized here into a [K, N] constant of A's type.
  // W^T [K, N]: element (k, r) = (code - zero point) * scale, written
  // straight into the blob the weight will own (f16: rounded once).
  const bool isF32 = aElement.isF32();
  const size_t width = isF32 ? 4 : 2;
  AsmResourceBlob data =
      HeapAsmResourceBlob::allocate(size_t(K * N) * width, width);
  char *dst = data.getMutableData().data();
  for (int64_t r = 0; r < N; ++r)
    for (int64_t k = 0; k < K; ++k) {
      int64_t blk = k / block, inBlock = k % block;
      uint8_t byte = codes[(r * blocks + blk) * blob + inBlock / perByte];
      float code = float((byte >> (bits * (inBlock % perByte))) & mask);
      int64_t g = r * blocks + group[k];
      float value = (code - zeroPoints[g]) * (*scales)[g];
      char *at = dst + (k * N + r) * width;
      if (isF32) {
        memcpy(at, &value, 4);
      } else {
        bool lost;
        llvm::APFloat half(value);
        half.convert(llvm::APFloat::IEEEhalf(),
                     llvm::APFloat::rmNearestTiesToEven, &lost);
        uint16_t bitsOut = uint16_t(half.bitcastToAPInt().getZExtValue());
        memcpy(at, &bitsOut, 2);
      }
    }
  auto weightType = RankedTensorType::get({K, N}, aElement);
  std::string name = n.node().input(1) + ".dequantized";
  std::string key;
  for (char c : name)
    key += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  if (key.empty() || !llvm::isAlpha(key[0]))
    key = "w_" + key;
  auto attr = DenseResourceElementsAttr::get(weightType, key, std::move(data));
  Value w = n.builder().create<azg::WeightOp>(n.loc(), name, attr);
  Emitter e(n);
  Value out = e.matmul(a, w, n.input(5));
  if (!e.ok())
    return failure();
  return n.setResults(out);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// The pieces of scaled dot-product attention shared by GroupQueryAttention
/// and the opset-23 Attention. Q is [B, N, Sq, H], K [B, kvN, T, H] and V
/// [B, kvN, T, Hv] with T the total (past + new) length and N a multiple of
/// kvN: query head h reads key/value head h / (N / kvN).
struct AttentionSpec {
  int64_t heads = 0, kvHeads = 0;
  float scale = 0;
  float softcap = 0;
  bool causal = false;
  Value pastLength; ///< i64 scalar (null: 0): query i sits at pastLength + i
  /// i64 [B] (or null): batch entry b has valid[b] keys, the last Sq of
  /// them the new tokens; keys from valid[b] on are masked.
  Value validKeys;
  /// Sliding window around a query at position p: keys j with
  /// p - left <= j (when left >= 0) and j <= p + right (when right >= 0).
  int64_t left = -1, right = -1;
  Value mask; ///< bool (true attends) or additive; may be null
  /// An extra logit per row that only adds to the softmax denominator
  /// (attention sinks; 0 for onnxruntime's smooth softmax), broadcast to
  /// [B, N, Sq, 1]; may be null.
  Value sink;
  /// Give rows whose every key is masked zero probabilities (else NaN).
  bool zeroMaskedRows = false;
};

/// Stages of the [B, N, Sq, T] scores attend() can hand out.
enum class ScoreStage { scaled, softcapped, masked, probabilities };

/// softmax(scale * Q K^T (softcapped, masked)) V, as [B, N, Sq, Hv]. With
/// `stage`, `*scoresOut` receives the scores at that stage.
Value attend(Emitter &e, Value q, Value k, Value v, const AttentionSpec &s,
             std::optional<ScoreStage> stage = std::nullopt,
             Value *scoresOut = nullptr) {
  if (!e.ok())
    return Value();
  auto capture = [&](ScoreStage at, Value scores) {
    if (stage == at)
      *scoresOut = scores;
  };
  int64_t groups = s.heads / s.kvHeads;
  // Grouped heads share one K/V head: [B, kvN, G * Sq, H] against
  // [B, kvN, H, T] multiplies each query head by its own K/V head, with no
  // copy of K or V.
  Value qg = groups > 1 ? e.reshape(q, {0, s.kvHeads, -1, 0}) : q;
  Value scores = e.matmul(qg, e.transpose(k, {0, 1, 3, 2}));
  if (groups > 1)
    scores = e.reshape(scores, {0, s.heads, -1, 0});
  scores = e.mul(scores, e.scalarLike(q, s.scale));
  capture(ScoreStage::scaled, scores);
  if (s.softcap > 0) {
    Value cap = e.scalarLike(q, s.softcap);
    scores = e.mul(e.op<azg::TanhOp>(e.div(scores, cap)), cap);
  }
  capture(ScoreStage::softcapped, scores);
  if (s.mask) {
    if (getElementTypeOrSelf(s.mask.getType()).isInteger(1))
      scores = e.op<azg::WhereOp>(
          s.mask, scores,
          e.scalarLike(q, -std::numeric_limits<double>::infinity()));
    else
      scores = e.add(scores, s.mask);
  }
  // The causal / window / padding mask: [Sq, T], or [B, 1, Sq, T] with
  // per-batch valid key counts.
  Value allowed;
  if (s.causal || s.left >= 0 || s.right >= 0 || s.validKeys) {
    // Query i sits at position p = pastLength + i, or valid[b] - Sq + i
    // (the new tokens end the valid keys); causal: key j <= p.
    NodeContext &n = e.n;
    Value zero = n.constantI64({0}, true);
    Value rows = e.reshape(e.range(zero, e.dim(q, 2)), {-1, 1});
    Value cols = e.range(zero, e.dim(k, 2));
    auto both = [&](Value a, Value b) {
      return a ? e.op<azg::AndOp>(a, b) : b;
    };
    if (s.validKeys) {
      Value valid = e.reshape(s.validKeys, {-1, 1, 1, 1});
      rows = e.add(rows, e.op<azg::SubOp>(valid, e.dim(q, 2)));
      allowed = e.op<azg::LessOp>(cols, valid);
    } else if (s.pastLength) {
      rows = e.add(rows, s.pastLength);
    }
    if (s.causal)
      allowed = both(allowed, e.op<azg::LessEqualOp>(cols, rows));
    if (s.left >= 0)
      allowed =
          both(allowed, e.op<azg::GreaterEqualOp>(
                            cols, e.add(rows, n.constantI64({-s.left}, true))));
    if (s.right >= 0)
      allowed =
          both(allowed, e.op<azg::LessEqualOp>(
                            cols, e.add(rows, n.constantI64({s.right}, true))));
    scores = e.op<azg::WhereOp>(
        allowed, scores,
        e.scalarLike(q, -std::numeric_limits<double>::infinity()));
  }
  capture(ScoreStage::masked, scores);
  Value probs;
  if (!s.sink) {
    probs = e.op<azg::SoftmaxOp>(scores, e.b.getI64IntegerAttr(-1));
  } else {
    // softmax over the row with the sink appended, without the sink's
    // column: exp(x - m) / (sum exp(x - m) + exp(sink - m)), m the max of
    // the row and the sink.
    auto axes = e.b.getDenseI64ArrayAttr({-1});
    auto keep = e.b.getBoolAttr(true);
    Value m =
        e.op<azg::MaxOp>(e.op<azg::ReduceMaxOp>(scores, axes, keep), s.sink);
    Value ex = e.op<azg::ExpOp>(e.op<azg::SubOp>(scores, m));
    Value denom = e.add(e.op<azg::ReduceSumOp>(ex, axes, keep),
                        e.op<azg::ExpOp>(e.op<azg::SubOp>(s.sink, m)));
    probs = e.div(ex, denom);
  }
  if (s.zeroMaskedRows && (s.mask || allowed)) {
    // Rows whose every key is masked: softmax of all -inf is NaN; the ONNX
    // reference and onnxruntime give zeros. Decided on the masks alone, as
    // they do, so NaN scores stay NaN.
    Value zeroF = e.scalarLike(q, 0.0);
    Value negInf = e.scalarLike(q, -std::numeric_limits<double>::infinity());
    Value bias;
    if (s.mask)
      bias = getElementTypeOrSelf(s.mask.getType()).isInteger(1)
                 ? e.op<azg::WhereOp>(s.mask, zeroF, negInf)
                 : s.mask;
    if (allowed) {
      Value frontier = e.op<azg::WhereOp>(allowed, zeroF, negInf);
      bias = bias ? e.add(bias, frontier) : frontier;
    }
    Value rowMax = e.op<azg::ReduceMaxOp>(bias, e.b.getDenseI64ArrayAttr({-1}),
                                          e.b.getBoolAttr(true));
    Value dead = e.op<azg::EqualOp>(rowMax, negInf);
    probs = e.op<azg::WhereOp>(dead, zeroF, probs);
  }
  capture(ScoreStage::probabilities, probs);
  Value pg = groups > 1 ? e.reshape(probs, {0, s.kvHeads, -1, 0}) : probs;
  Value out = e.matmul(pg, v);
  if (groups > 1)
    out = e.reshape(out, {0, s.heads, -1, 0});
  return out;
}

/// [B, S, heads * H] -> [B, heads, S, H].
Value splitHeads(Emitter &e, Value x, int64_t heads) {
  if (!e.ok())
    return Value();
  int64_t hidden = typeOf(x).getDimSize(2);
  return e.transpose(e.reshape(x, {0, 0, heads, hidden / heads}), {0, 2, 1, 3});
}

/// [B, heads, S, H] -> [B, S, heads * H].
Value mergeHeads(Emitter &e, Value x) {
  if (!e.ok())
    return Value();
  RankedTensorType type = typeOf(x);
  return e.reshape(e.transpose(x, {0, 2, 1, 3}),
                   {0, 0, type.getDimSize(1) * type.getDimSize(3)});
}

/// com.microsoft GroupQueryAttention with the same past length P for every
/// batch entry: seqlens_k is P + S - 1 everywhere and total_sequence_length
/// is P + S, where P is past_key's sequence dim (0 without past).
LogicalResult importGroupQueryAttention(NodeContext &n) {
  static const char *const unsupportedInputs[] = {
      nullptr,         nullptr,        nullptr,   nullptr,   nullptr,
      nullptr,         nullptr,        nullptr,   nullptr,   "position_ids",
      nullptr,         nullptr,        "k_scale", "v_scale", "q_norm_weight",
      "k_norm_weight", "query_seqlens"};
  for (size_t i = 9; i < n.numInputs() && i < std::size(unsupportedInputs); ++i)
    if (unsupportedInputs[i] && n.input(i))
      return n.error(Twine("the ") + unsupportedInputs[i] +
                     " input is not supported");
  if (n.numInputs() > std::size(unsupportedInputs))
    return n.error("inputs beyond query_seqlens are not supported");
  if (n.attrInt("kv_cache_bit_width", 0) != 0 ||
      n.attrString("k_quant_type", "NONE") != "NONE" ||
      n.attrString("v_quant_type", "NONE") != "NONE")
    return n.error("a quantized KV cache is not supported");
  if (n.attrInt("sliding_window_cache", 0) != 0)
    return n.error("sliding_window_cache=1 (window-sized KV buffers) is not "
                   "supported");
  if (n.attrInt("qk_output", 0) != 0 || n.isOutputUsed(3))
    return n.error("the output_qk output is not supported");
  FailureOr<int64_t> headsAttr = positiveAttr(n, "num_heads"),
                     kvHeadsAttr = positiveAttr(n, "kv_num_heads");
  if (failed(headsAttr) || failed(kvHeadsAttr))
    return failure();
  int64_t heads = *headsAttr, kvHeads = *kvHeadsAttr;
  if (heads % kvHeads != 0)
    return n.error("num_heads " + Twine(heads) +
                   " is not a multiple of kv_num_heads " + Twine(kvHeads));
  Value query = n.input(0), key = n.input(1), value = n.input(2);
  Value pastKey = n.input(3), pastValue = n.input(4);
  if (typeOf(query).getRank() != 3)
    return n.error("query must be 3-D [batch, sequence, hidden]");
  if (!key != !value)
    return n.error("key and value must be given together");
  if (!pastKey != !pastValue)
    return n.error("past_key and past_value must be given together");
  FailureOr<int64_t> hidden = staticDim(n, query, 2, "query's hidden size");
  if (failed(hidden))
    return failure();

  Emitter e(n);
  int64_t headSize;
  if (!key) {
    // Packed QKV: query is [B, S, (N + 2 kvN) * H].
    if (*hidden % (heads + 2 * kvHeads) != 0)
      return n.error("packed QKV hidden size " + Twine(*hidden) +
                     " does not divide into num_heads + 2 * kv_num_heads");
    headSize = *hidden / (heads + 2 * kvHeads);
    FailureOr<Operation *> split = n.create<azg::SplitOp>(
        3, query, e.b.getI64IntegerAttr(2),
        e.b.getDenseI64ArrayAttr(
            {heads * headSize, kvHeads * headSize, kvHeads * headSize}));
    if (failed(split))
      return failure();
    query = (*split)->getResult(0);
    key = (*split)->getResult(1);
    value = (*split)->getResult(2);
  } else {
    if (*hidden % heads != 0)
      return n.error("query hidden size " + Twine(*hidden) +
                     " does not divide into " + Twine(heads) + " heads");
    headSize = *hidden / heads;
    for (Value kv : {key, value}) {
      RankedTensorType type = typeOf(kv);
      if (type.getRank() != 3 || type.getDimSize(2) != kvHeads * headSize)
        return n.error("key and value must be [batch, sequence, " +
                       Twine(kvHeads * headSize) + "], got " +
                       Twine(type.getRank()) + "-D");
    }
  }
  int64_t querySeq = typeOf(query).getDimSize(1),
          keySeq = typeOf(key).getDimSize(1);
  if (!ShapedType::isDynamic(querySeq) && !ShapedType::isDynamic(keySeq) &&
      querySeq != keySeq)
    return n.error("key has " + Twine(keySeq) + " new tokens but query has " +
                   Twine(querySeq) + "; they must be equal");
  // The past length P: past_key's dim 2, static or not.
  int64_t pastLength = 0;
  Value past = n.constantI64({0}, true);
  if (pastKey) {
    auto conflicts = [](int64_t dim, int64_t expected) {
      return !ShapedType::isDynamic(dim) && dim != expected;
    };
    for (Value pastTensor : {pastKey, pastValue}) {
      RankedTensorType type = typeOf(pastTensor);
      if (type.getRank() != 4 || conflicts(type.getDimSize(1), kvHeads) ||
          conflicts(type.getDimSize(3), headSize))
        return n.error("past_key and past_value must be [batch, " +
                       Twine(kvHeads) + ", past, " + Twine(headSize) + "]");
    }
    pastLength = typeOf(pastKey).getDimSize(2);
    past = e.dim(pastKey, 2);
  }
  // seqlens_k and total_sequence_length must describe that uniform past;
  // checked here when they are constants and the lengths static.
  DenseIntElementsAttr seqlens, total;
  int64_t seq = typeOf(n.input(0)).getDimSize(1);
  if (!ShapedType::isDynamic(seq) && !ShapedType::isDynamic(pastLength)) {
    if (matchPattern(n.input(6), m_Constant(&total)))
      for (const APInt &t : total.getValues<APInt>())
        if (t.getSExtValue() != pastLength + seq)
          return n.error("total_sequence_length is " + Twine(t.getSExtValue()) +
                         ", but past (" + Twine(pastLength) + ") + sequence (" +
                         Twine(seq) + ") is " + Twine(pastLength + seq));
    if (matchPattern(n.input(5), m_Constant(&seqlens)))
      for (const APInt &t : seqlens.getValues<APInt>())
        if (t.getSExtValue() != pastLength + seq - 1)
          return n.error("seqlens_k must be past + sequence - 1 = " +
                         Twine(pastLength + seq - 1) +
                         " for every batch entry (a uniform past length)");
  }

  Value q = splitHeads(e, query, heads);
  Value k = splitHeads(e, key, kvHeads);
  Value v = splitHeads(e, value, kvHeads);
  if (n.attrInt("do_rotary", 0) != 0) {
    Value cosCache = n.input(7), sinCache = n.input(8);
    if (!cosCache || !sinCache)
      return n.error("do_rotary needs cos_cache and sin_cache");
    if (typeOf(cosCache).getRank() != 2)
      return n.error("cos_cache must be 2-D [max positions, rotary dim / 2]");
    int64_t half = typeOf(cosCache).getDimSize(1);
    if (ShapedType::isDynamic(half) || 2 * half > headSize)
      return n.error("cos_cache must have a static width of at most half "
                     "the head size");
    // New tokens sit at positions P .. P + S - 1.
    Value ids = e.add(e.range(n.constantI64({0}, true), e.dim(q, 2)), past);
    Value cos = anglesAt(e, cosCache, ids);
    Value sin = anglesAt(e, sinCache, ids);
    bool interleaved = n.attrInt("rotary_interleaved", 0) != 0;
    q = rotate(e, q, heads, cos, sin, interleaved);
    k = rotate(e, k, kvHeads, cos, sin, interleaved);
  }
  Value presentKey = pastKey ? e.concat({pastKey, k}, 2) : k;
  Value presentValue = pastValue ? e.concat({pastValue, v}, 2) : v;

  AttentionSpec spec;
  spec.heads = heads;
  spec.kvHeads = kvHeads;
  spec.scale = n.attrFloat("scale", 0.0f);
  if (spec.scale == 0.0f)
    spec.scale = float(1.0 / std::sqrt(double(headSize)));
  spec.softcap = n.attrFloat("softcap", 0.0f);
  spec.causal = n.attrInt("causal", 1) != 0;
  spec.pastLength = past;
  int64_t window = n.attrInt("local_window_size", -1);
  if (window == 0 || window < -1)
    return n.error("local_window_size must be -1 or positive, got " +
                   Twine(window));
  if (window > 0 && !spec.causal)
    return n.error("local_window_size needs causal=1");
  // onnxruntime's window holds the query's own key and the w - 1 before.
  if (window > 0)
    spec.left = window - 1;
  // attention_bias: added like an additive mask.
  spec.mask = n.input(10);
  if (Value sink = n.input(11)) {
    RankedTensorType type = typeOf(sink);
    if (type.getRank() != 1 || type.getDimSize(0) != heads)
      return n.error("head_sink must be 1-D with num_heads (" + Twine(heads) +
                     ") elements");
    spec.sink = e.reshape(sink, {1, heads, 1, 1});
  } else if (n.attrInt("smooth_softmax", 0) > 0) {
    spec.sink = e.scalarLike(n.input(0), 0.0);
  }
  // Plain causal attention over the cache is one op: the kernel fuses it,
  // and azg-page-kv-cache can move the cache into the runtime.
  const bool plain = spec.causal && spec.left < 0 && !spec.mask && !spec.sink &&
                     spec.softcap == 0.0f;
  Value out = mergeHeads(
      e, plain ? e.op<azg::AttentionOp>(q, presentKey, presentValue,
                                        e.b.getF32FloatAttr(spec.scale),
                                        e.b.getBoolAttr(true))
               : attend(e, q, presentKey, presentValue, spec));
  if (!e.ok())
    return failure();
  return n.setResults({out, presentKey, presentValue});
}

/// ai.onnx Attention (opsets 23 to 25): 3-D [B, S, heads * H] inputs (with
/// q_num_heads / kv_num_heads) or 4-D [B, heads, S, H].
LogicalResult importOnnxAttention(NodeContext &n) {
  Value query = n.input(0), key = n.input(1), value = n.input(2);
  Value mask = n.input(3), pastKey = n.input(4), pastValue = n.input(5);
  if (!pastKey != !pastValue)
    return n.error("past_key and past_value must be given together");
  int64_t rank = typeOf(query).getRank();
  if ((rank != 3 && rank != 4) || typeOf(key).getRank() != rank ||
      typeOf(value).getRank() != rank)
    return n.error("Q, K and V must all be 3-D or all 4-D");
  Emitter e(n);
  int64_t heads, kvHeads;
  Value q = query, k = key, v = value;
  if (rank == 3) {
    FailureOr<int64_t> qh = positiveAttr(n, "q_num_heads"),
                       kvh = positiveAttr(n, "kv_num_heads");
    if (failed(qh) || failed(kvh))
      return failure();
    heads = *qh;
    kvHeads = *kvh;
    const std::pair<Value, int64_t> inputs[] = {
        {query, heads}, {key, kvHeads}, {value, kvHeads}};
    for (auto [x, count] : inputs) {
      FailureOr<int64_t> hidden = staticDim(n, x, 2, "the hidden size");
      if (failed(hidden))
        return failure();
      if (*hidden % count != 0)
        return n.error("hidden size " + Twine(*hidden) +
                       " does not divide into " + Twine(count) + " heads");
    }
    q = splitHeads(e, query, heads);
    k = splitHeads(e, key, kvHeads);
    v = splitHeads(e, value, kvHeads);
  } else {
    FailureOr<int64_t> qh = staticDim(n, query, 1, "Q's head count");
    FailureOr<int64_t> kvh = staticDim(n, key, 1, "K's head count");
    if (failed(qh) || failed(kvh))
      return failure();
    heads = *qh;
    kvHeads = *kvh;
  }
  if (heads % kvHeads != 0)
    return n.error("q_num_heads " + Twine(heads) +
                   " is not a multiple of kv_num_heads " + Twine(kvHeads));
  FailureOr<int64_t> headSize =
      rank == 3 ? FailureOr<int64_t>(typeOf(query).getDimSize(2) / heads)
                : staticDim(n, query, 3, "Q's head size");
  if (failed(headSize))
    return failure();

  Value pastLength;
  if (pastKey) {
    pastLength = e.dim(pastKey, 2);
    k = e.concat({pastKey, k}, 2);
    v = e.concat({pastValue, v}, 2);
  }

  AttentionSpec spec;
  spec.heads = heads;
  spec.kvHeads = kvHeads;
  spec.scale = n.attr("scale") ? n.attrFloat("scale", 1.0f)
                               : float(1.0 / std::sqrt(double(*headSize)));
  spec.softcap = n.attrFloat("softcap", 0.0f);
  spec.causal = n.attrInt("is_causal", 0) != 0;
  spec.pastLength = pastLength;
  spec.zeroMaskedRows = true;
  // Opset 24's nonpad_kv_seqlen: a static KV buffer with valid[b] keys.
  if (Value valid = n.input(6)) {
    if (pastKey)
      return n.error("nonpad_kv_seqlen cannot be combined with past_key");
    if (typeOf(valid).getRank() != 1 ||
        !getElementTypeOrSelf(valid.getType()).isInteger(64))
      return n.error("nonpad_kv_seqlen must be a 1-D int64 tensor");
    spec.validKeys = valid;
  }
  // Opset 25's sliding window, around each query's position.
  spec.left = n.attrInt("left_window_size", -1);
  spec.right = n.attrInt("right_window_size", -1);
  if (spec.left < -1 || spec.right < -1)
    return n.error("left_window_size and right_window_size must be -1 or "
                   "non-negative");
  if (mask) {
    // A mask shorter than the total length is padded with "masked".
    RankedTensorType maskType = typeOf(mask);
    int64_t maskLength = maskType.getShape().empty()
                             ? ShapedType::kDynamic
                             : maskType.getShape().back();
    int64_t total = e.ok() ? typeOf(k).getDimSize(2) : ShapedType::kDynamic;
    if (!ShapedType::isDynamic(maskLength) && !ShapedType::isDynamic(total) &&
        maskLength < total) {
      bool isBool = maskType.getElementType().isInteger(1);
      SmallVector<int64_t> pads(2 * maskType.getRank(), 0);
      pads.back() = total - maskLength;
      mask = e.op<azg::PadOp>(
          mask, e.b.getDenseI64ArrayAttr(pads), e.b.getStringAttr("constant"),
          e.b.getF64FloatAttr(
              isBool ? 0.0 : -std::numeric_limits<double>::infinity()));
    }
    spec.mask = mask;
  }
  // qk_matmul_output_mode: 0 the scaled Q K^T, 1 after softcap, 2 after
  // the masks, 3 the softmax (as onnxruntime computes them).
  std::optional<ScoreStage> stage;
  Value scores;
  if (n.isOutputUsed(3)) {
    int64_t mode = n.attrInt("qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3)
      return n.error("qk_matmul_output_mode " + Twine(mode) +
                     " is not 0, 1, 2 or 3");
    stage = ScoreStage(mode);
  }
  Value out = attend(e, q, k, v, spec, stage, &scores);
  if (rank == 3)
    out = mergeHeads(e, out);
  if (!e.ok())
    return failure();
  return n.setResults({out, k, v, scores});
}

} // namespace

void azc::onnx_frontend::addTransformerImporters(std::vector<OpImporter> &t) {
  // minInputs: how many leading inputs must be present.
  auto add = [&](const char *domain, const char *op, int64_t since, ImportFn fn,
                 int minInputs) {
    t.push_back({domain, op, since, std::move(fn), minInputs});
  };
  const char *ms = "com.microsoft";
  add(ms, "SkipLayerNormalization", 1, importSkipNorm<false>, 3);
  add(ms, "SkipSimplifiedLayerNormalization", 1, importSkipNorm<true>, 3);
  add("", "SimplifiedLayerNormalization", 1, importSimplifiedLayerNorm, 2);
  add(ms, "Gelu", 1, importGeluVariant<false>, 1);
  add(ms, "BiasGelu", 1, importGeluVariant<false>, 2);
  add(ms, "FastGelu", 1, importGeluVariant<true>, 1);
  add(ms, "QuickGelu", 1, importSwish<1702>, 1);
  add("", "Swish", 24, importSwish<1000>, 1);
  add("", "SwiGLU", 28, importSwiGlu, 2);
  add(ms, "RotaryEmbedding", 1, importMsRotary, 4);
  add("", "RotaryEmbedding", 23, importOnnxRotary, 3);
  add(ms, "MatMulNBits", 1, importMatMulNBits, 3);
  add(ms, "GroupQueryAttention", 1, importGroupQueryAttention, 1);
  add("", "Attention", 23, importOnnxAttention, 3);
}
