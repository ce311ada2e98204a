//===- KeepQuantizedWeights.cpp - QDQ weights stay in 4 or 8 bits ---------===//
//
// A QDQ model (quantization-aware training, onnxruntime's quantize_static)
// stores each matmul weight as integer codes and dequantizes them in the
// graph: `matmul(x, dequantize(codes, scale, zero_point))`. Left alone, the
// engine would widen the codes to an f32 copy on every run. This pass
// instead hands the codes to `azg.matmul_nbits`, whose kernel unpacks each
// block as it reads it: the engine stores 8 (or 4) bits a weight. The
// rewrite is exact: each code becomes an unsigned code (+128 or +8 for
// signed ones) with its zero point shifted alike, every kernel block lies
// where the scale and zero point do not change along K (per-tensor and
// per-channel scales repeat in every block; a blocked scale's block_size
// must be a multiple of the kernel's), and the kernel computes each weight
// as `float(code - zero_point) * scale`, as DequantizeLinear does. A
// weight whose codes and zero points fit 4 bits is stored in 4. Products
// the kernel cannot express (scales varying along K within 16 values,
// codes wider than 8 bits, non-f32 activations) keep their dequantize.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightRewriting.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"

#include <cstring>
#include <numeric>

namespace azc {
#define GEN_PASS_DEF_KEEPQUANTIZEDWEIGHTS
#include "passes/Passes.h.inc"
} // namespace azc

using namespace mlir;
using namespace azc::azg;

namespace {

/// The elements of a constant (a weight, a constant, or a reshape of one).
ElementsAttr constantOf(Value value) {
  while (auto reshape = value.getDefiningOp<ReshapeOp>())
    value = reshape.getInput();
  ElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return {};
  return attr;
}

/// The raw little-endian bytes of `attr`, splats expanded.
std::optional<std::vector<char>> rawBytes(ElementsAttr attr, size_t width) {
  const size_t count = size_t(attr.getNumElements());
  std::vector<char> bytes(count * width);
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes.size())
      return std::nullopt;
    std::memcpy(bytes.data(), blob->getData().data(), bytes.size());
    return bytes;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    if (raw.size() != width)
      return std::nullopt;
    for (size_t i = 0; i < count; ++i)
      std::memcpy(bytes.data() + i * width, raw.data(), width);
  } else {
    if (raw.size() != bytes.size())
      return std::nullopt;
    std::memcpy(bytes.data(), raw.data(), bytes.size());
  }
  return bytes;
}

/// A dequantize of constants, read as W [K, N] with integer codes: element
/// (k, n) is (code - zero point) * scale, each from the constants.
struct QuantizedWeight {
  int64_t K = 0, N = 0;
  bool isSigned = false;
  std::vector<int32_t> codes; ///< [K, N]
  std::vector<float> scale;   ///< per element's group
  std::vector<int32_t> zero;  ///< per element's group
  std::vector<int64_t> group; ///< [K, N]: index into scale and zero
  std::string name;
};

/// Reads `value` = dequantize(codes [2-D], scale, zero point) of constant
/// 8-bit operands, optionally through a [1, 0] transpose. `transposed`
/// says that the product reads the stored matrix as [N, K].
std::optional<QuantizedWeight> readWeight(Value value, bool transposed) {
  if (auto t = value.getDefiningOp<TransposeOp>()) {
    if (t.getPerm().size() != 2 || t.getPerm()[0] != 1)
      return std::nullopt;
    value = t.getInput();
    transposed = !transposed;
  }
  auto dq = value.getDefiningOp<DequantizeOp>();
  if (!dq)
    return std::nullopt;
  auto type = cast<RankedTensorType>(dq.getInput().getType());
  auto element = dyn_cast<IntegerType>(type.getElementType());
  if (type.getRank() != 2 || !type.hasStaticShape() || !element ||
      element.getWidth() != 8)
    return std::nullopt;
  ElementsAttr codesAttr = constantOf(dq.getInput());
  ElementsAttr scaleAttr = constantOf(dq.getScale());
  ElementsAttr zeroAttr =
      dq.getZeroPoint() ? constantOf(dq.getZeroPoint()) : ElementsAttr();
  if (!codesAttr || !scaleAttr || (dq.getZeroPoint() && !zeroAttr))
    return std::nullopt;
  std::optional<std::vector<char>> codes = rawBytes(codesAttr, 1);
  std::optional<std::vector<char>> scaleBytes = rawBytes(scaleAttr, 4);
  std::optional<std::vector<char>> zeroBytes =
      zeroAttr ? rawBytes(zeroAttr, 1) : std::vector<char>();
  if (!codes || !scaleBytes || !zeroBytes)
    return std::nullopt;

  QuantizedWeight w;
  w.isSigned = !element.isUnsigned();
  const int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  w.K = transposed ? cols : rows;
  w.N = transposed ? rows : cols;
  const int64_t groups = int64_t(scaleBytes->size() / 4);
  w.scale.resize(size_t(groups));
  std::memcpy(w.scale.data(), scaleBytes->data(), scaleBytes->size());
  w.zero.assign(size_t(groups), 0);
  for (size_t i = 0; i < zeroBytes->size() && i < w.zero.size(); ++i)
    w.zero[i] = w.isSigned ? int32_t(int8_t((*zeroBytes)[i]))
                           : int32_t(uint8_t((*zeroBytes)[i]));
  // The group of stored element (r, c), as the dequantize kernel picks it.
  const int64_t axis = dq.getAxis(), block = dq.getBlockSize();
  auto groupOf = [&](int64_t r, int64_t c) -> int64_t {
    if (groups == 1 && block == 0)
      return 0;
    if (block == 0)
      return axis == 0 ? r : c;
    if (axis == 0)
      return (r / block) * cols + c;
    return r * ((cols + block - 1) / block) + c / block;
  };
  w.codes.resize(size_t(rows * cols));
  w.group.resize(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t k = transposed ? c : r, n = transposed ? r : c;
      const char byte = (*codes)[size_t(r * cols + c)];
      w.codes[size_t(k * w.N + n)] =
          w.isSigned ? int32_t(int8_t(byte)) : int32_t(uint8_t(byte));
      const int64_t g = groupOf(r, c);
      if (g < 0 || g >= groups)
        return std::nullopt;
      w.group[size_t(k * w.N + n)] = g;
    }
  if (auto weight = dq.getInput().getDefiningOp<WeightOp>())
    w.name = weight.getName().str();
  else
    w.name = "constant";
  return w;
}

/// The weight in matmul_nbits' layout.
struct NBitsWeight {
  int64_t bits = 8, block = 16, blocks = 0;
  std::vector<uint8_t> codes;      ///< [N, blocks, block * bits / 8]
  std::vector<float> scales;       ///< [N, blocks]
  std::vector<uint8_t> zeroPoints; ///< [N, ceil(blocks * bits / 8)], or none
};

/// Packs `w` for matmul_nbits, or nothing when its scales or zero points
/// change along K within every block size the kernel takes.
std::optional<NBitsWeight> pack(const QuantizedWeight &w) {
  // Every kernel block must lie where (scale, zero point) stays the same:
  // block sizes dividing each position along K where it changes.
  int64_t changes = 0;
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 1; k < w.K; ++k) {
      const int64_t a = w.group[size_t((k - 1) * w.N + n)];
      const int64_t b = w.group[size_t(k * w.N + n)];
      if (a != b && (w.scale[size_t(a)] != w.scale[size_t(b)] ||
                     w.zero[size_t(a)] != w.zero[size_t(b)]))
        changes = std::gcd(changes, k);
    }
  // 4 bits when every code and zero point fits, shifted like 8 bits'.
  const int32_t offset4 = w.isSigned ? 8 : 0;
  bool fits4 = true;
  for (int32_t c : w.codes)
    fits4 &= c + offset4 >= 0 && c + offset4 <= 15;
  for (int32_t z : w.zero)
    fits4 &= z + offset4 >= 0 && z + offset4 <= 15;
  NBitsWeight out;
  out.bits = fits4 ? 4 : 8;
  const int32_t offset = fits4 ? offset4 : (w.isSigned ? 128 : 0);
  // The block size with the fewest bytes (codes with padding, scales, zero
  // points), the larger on a tie; at most 256, the blocks the kernel's
  // tile path reads in one pass.
  int64_t best = 0, bestBytes = 0;
  for (int64_t block = 256; block >= 16; block /= 2) {
    if (changes != 0 && changes % block != 0)
      continue;
    const int64_t blocks = (w.K + block - 1) / block;
    const int64_t bytes = w.N * (blocks * block * out.bits / 8 + blocks * 4 +
                                 (blocks * out.bits + 7) / 8);
    if (!best || bytes < bestBytes) {
      best = block;
      bestBytes = bytes;
    }
  }
  if (!best)
    return std::nullopt;
  out.block = best;
  out.blocks = (w.K + best - 1) / best;
  const int64_t blob = best * out.bits / 8;
  const int64_t zpRow = (out.blocks * out.bits + 7) / 8;
  out.codes.assign(size_t(w.N * out.blocks * blob), 0);
  out.scales.resize(size_t(w.N * out.blocks));
  std::vector<uint8_t> zeros(size_t(w.N * zpRow), 0);
  bool allDefault = true;
  const int32_t defaultZero = 1 << (out.bits - 1);
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t b = 0; b < out.blocks; ++b) {
      const int64_t g = w.group[size_t(b * best * w.N + n)];
      out.scales[size_t(n * out.blocks + b)] = w.scale[size_t(g)];
      const int32_t zero = w.zero[size_t(g)] + offset;
      allDefault &= zero == defaultZero;
      if (out.bits == 8)
        zeros[size_t(n * zpRow + b)] = uint8_t(zero);
      else
        zeros[size_t(n * zpRow + b / 2)] |= uint8_t(zero << (4 * (b % 2)));
      // Padding past K holds the zero point: it is never read.
      for (int64_t i = 0; i < best; ++i) {
        const int64_t k = b * best + i;
        const int32_t code =
            k < w.K ? w.codes[size_t(k * w.N + n)] + offset : zero;
        uint8_t &byte =
            out.codes[size_t((n * out.blocks + b) * blob + i * out.bits / 8)];
        if (out.bits == 8)
          byte = uint8_t(code);
        else
          byte |= uint8_t(code << (4 * (i % 2)));
      }
    }
  if (!allDefault)
    out.zeroPoints = std::move(zeros);
  return out;
}

/// Replaces `op` by input @ weight in matmul_nbits, with the epilogue
/// operands given and `op`'s epilogue attributes.
LogicalResult replace(Operation *op, Value input, const QuantizedWeight &w,
                      Value bias, Value residual, PatternRewriter &rewriter) {
  std::optional<NBitsWeight> packed = pack(w);
  if (!packed)
    return rewriter.notifyMatchFailure(op, "scales change along K");
  Location loc = op->getLoc();
  MLIRContext *context = op->getContext();
  Type u8 = IntegerType::get(context, 8, IntegerType::Unsigned);
  const std::string base = w.name + ".q" + std::to_string(packed->bits);
  Value codes = azc::makeSharedWeight(
      rewriter, loc, base,
      RankedTensorType::get(
          {w.N, packed->blocks, packed->block * packed->bits / 8}, u8),
      azc::asBytes(packed->codes));
  Value scales = azc::makeSharedWeight(
      rewriter, loc, base + ".scales",
      RankedTensorType::get({w.N, packed->blocks}, rewriter.getF32Type()),
      azc::asBytes(packed->scales));
  Value zeroPoints;
  if (!packed->zeroPoints.empty())
    zeroPoints = azc::makeSharedWeight(
        rewriter, loc, base + ".zero_points",
        RankedTensorType::get({w.N, int64_t(packed->zeroPoints.size()) / w.N},
                              u8),
        azc::asBytes(packed->zeroPoints));
  auto i64 = [&](int64_t v) { return rewriter.getI64IntegerAttr(v); };
  auto activation = op->getAttrOfType<ActivationAttr>("activation");
  auto nbits = rewriter.create<MatMulNBitsOp>(
      loc, input, codes, scales, zeroPoints, bias, residual, Value(), i64(w.K),
      i64(w.N), i64(packed->bits), i64(packed->block), i64(0),
      rewriter.getStringAttr("int"), StringAttr(), FloatAttr(),
      activation ? activation : ActivationAttr::get(context, Activation::none),
      op->getAttrOfType<FloatAttr>("clip_min"),
      op->getAttrOfType<FloatAttr>("clip_max"));
  rewriter.replaceOp(op, nbits.getOutput());
  return success();
}

bool isF32(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  return type.getElementType().isF32() && type.getRank() >= 1;
}

/// matmul(x, dequantize(W)) with W [K, N] (or [N, K] through a transpose).
struct MatMulOfDequantized : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32(op.getLhs()))
      return failure();
    std::optional<QuantizedWeight> w = readWeight(op.getRhs(), false);
    if (!w)
      return failure();
    // The kernel's bias is [N]; a bias of another shape stays an addend.
    Value bias = op.getBias(), residual = op.getResidual();
    if (bias &&
        cast<RankedTensorType>(bias.getType()).getNumElements() != w->N) {
      if (residual)
        return failure();
      std::swap(bias, residual);
    }
    return replace(op, op.getLhs(), *w, bias, residual, rewriter);
  }
};

/// gemm(a, dequantize(B), c) = a @ op(B) + c, with alpha = 1, no trans_a,
/// and c a bias row or (beta = 1) a residual.
struct GemmOfDequantized : OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32(op.getA()) || op.getTransA() ||
        op.getAlpha().convertToFloat() != 1.0f ||
        (op.getC() && op.getBeta().convertToFloat() != 1.0f))
      return failure();
    std::optional<QuantizedWeight> w = readWeight(op.getB(), op.getTransB());
    if (!w)
      return failure();
    Value bias, residual;
    if (Value c = op.getC()) {
      auto type = cast<RankedTensorType>(c.getType());
      bool isRow = matchPattern(c, m_Constant()) && type.hasStaticShape() &&
                   type.getNumElements() == w->N &&
                   type.getShape().back() == w->N;
      (isRow ? bias : residual) = c;
    }
    return replace(op, op.getA(), *w, bias, residual, rewriter);
  }
};

struct KeepQuantizedWeightsPass
    : azc::impl::KeepQuantizedWeightsBase<KeepQuantizedWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MatMulOfDequantized, GemmOfDequantized>(&getContext());
    // Only the products and the dequantizes they leave unused change.
    SmallVector<Operation *> worklist;
    getOperation().walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp, DequantizeOp, TransposeOp, WeightOp,
              ConstantOp>(op))
        worklist.push_back(op);
    });
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingOps;
    if (failed(applyOpPatternsAndFold(worklist, std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
