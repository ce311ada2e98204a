//===- WeightRewriting.cpp - reading and replacing constant weights -------===//

#include "passes/WeightRewriting.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"

#include <cstring>

using namespace mlir;
using namespace azc;
using namespace azc::azg;

namespace {

bool isF32(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType().isF32();
}

} // namespace

/// The `count` floats of the f32 constant `attr` (a resource blob or dense
/// elements, splats included), or nothing.
std::optional<std::vector<float>> azc::constantFloats(ElementsAttr attr,
                                                      int64_t count) {
  std::vector<float> data(static_cast<size_t>(count));
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != data.size() * 4)
      return std::nullopt;
    std::memcpy(data.data(), blob->getData().data(), data.size() * 4);
    return data;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    llvm::copy(dense.getValues<float>(), data.begin());
    return data;
  }
  return std::nullopt;
}

std::optional<ConstantMatrix> azc::constantMatrix(Value value) {
  ConstantMatrix m;
  if (auto t = value.getDefiningOp<TransposeOp>()) {
    if (t.getPerm().size() != 2 || t.getPerm()[0] != 1)
      return std::nullopt;
    value = t.getInput();
    m.transposed = true;
  }
  m.type = dyn_cast<RankedTensorType>(value.getType());
  if (!m.type || m.type.getRank() != 2 || !m.type.hasStaticShape())
    return std::nullopt;
  if (auto weight = value.getDefiningOp<WeightOp>()) {
    m.attr = weight.getValue();
    m.name = weight.getName().str();
  } else if (auto constant = value.getDefiningOp<ConstantOp>()) {
    m.attr = constant.getValue();
    m.name = "constant";
  } else {
    return std::nullopt;
  }
  return m;
}

std::optional<ConstantWeight> azc::readWeight(Value value, bool transpose) {
  std::optional<ConstantMatrix> m = constantMatrix(value);
  if (!m || !m->type.getElementType().isF32())
    return std::nullopt;
  std::optional<std::vector<float>> data =
      constantFloats(m->attr, m->type.getNumElements());
  if (!data)
    return std::nullopt;
  ConstantWeight w;
  w.name = m->name;
  w.data = std::move(*data);
  w.transposed = transpose != m->transposed;
  w.K = m->type.getDimSize(w.transposed ? 1 : 0);
  w.N = m->type.getDimSize(w.transposed ? 0 : 1);
  return w;
}

std::optional<std::vector<char>> azc::constantBytes(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape() || type.getElementTypeBitWidth() % 8 != 0)
    return std::nullopt;
  ElementsAttr attr;
  if (auto weight = value.getDefiningOp<WeightOp>())
    attr = weight.getValue();
  else if (auto constant = value.getDefiningOp<ConstantOp>())
    attr = constant.getValue();
  else
    return std::nullopt;
  const size_t width = type.getElementTypeBitWidth() / 8;
  const size_t size = size_t(type.getNumElements()) * width;
  std::vector<char> bytes(size);
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size)
      return std::nullopt;
    std::memcpy(bytes.data(), blob->getData().data(), size);
    return bytes;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat() && raw.size() == width) {
      for (size_t i = 0; i < size; i += width)
        std::memcpy(bytes.data() + i, raw.data(), width);
      return bytes;
    }
    if (raw.size() != size)
      return std::nullopt;
    std::memcpy(bytes.data(), raw.data(), size);
    return bytes;
  }
  return std::nullopt;
}

/// A resource-backed weight named `name` holding `bytes` as `type`.
Value azc::makeWeight(OpBuilder &rewriter, Location loc, StringRef name,
                      RankedTensorType type, ArrayRef<char> bytes) {
  std::string key;
  for (char c : name)
    key += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  auto attr = DenseResourceElementsAttr::get(type, "q_" + key, std::move(blob));
  return rewriter.create<WeightOp>(loc, name, attr);
}

/// The weight a matmul multiplies its input with, when the pass can
/// quantize it.
std::optional<ConstantWeight> azc::matmulWeight(MatMulOp op) {
  if (!isF32(op.getLhs()) ||
      cast<RankedTensorType>(op.getLhs().getType()).getRank() < 1)
    return std::nullopt;
  return readWeight(op.getRhs(), false);
}

/// The same for gemm(a, B, c) = a @ op(B) + c with alpha = 1.
std::optional<ConstantWeight> azc::gemmWeight(GemmOp op) {
  if (!isF32(op.getA()) || op.getTransA() ||
      op.getAlpha().convertToFloat() != 1.0f ||
      (op.getC() && op.getBeta().convertToFloat() != 1.0f))
    return std::nullopt;
  return readWeight(op.getB(), op.getTransB());
}

LogicalResult azc::parseWeightGlobs(Operation *func,
                                    ArrayRef<std::string> texts,
                                    std::vector<llvm::GlobPattern> &globs) {
  for (const std::string &text : texts) {
    llvm::Expected<llvm::GlobPattern> glob = llvm::GlobPattern::create(text);
    if (!glob)
      return func->emitError("bad layer pattern '")
             << text << "': " << llvm::toString(glob.takeError());
    globs.push_back(std::move(*glob));
  }
  return success();
}

/// A resource-backed weight named `name` holding `bytes` as `type`. The
/// blob is keyed by its content, so that compiling the same import twice
/// (a dynamic build compiles one copy per point of its shape grid) reuses
/// the first one: equal constants make equal plans.
Value azc::makeSharedWeight(OpBuilder &rewriter, Location loc, StringRef name,
                            RankedTensorType type, ArrayRef<char> bytes) {
  std::string key = "shared_";
  for (char c : name)
    key += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  key += "_" +
         llvm::utohexstr(llvm::xxh3_64bits(ArrayRef<uint8_t>(
             reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size())));
  auto &manager =
      DenseResourceElementsHandle::getManagerInterface(rewriter.getContext());
  DialectResourceBlobManager::BlobEntry *entry =
      manager.getBlobManager().lookup(key);
  if (entry && entry->getBlob() && entry->getBlob()->getData() == bytes) {
    DenseResourceElementsHandle handle(
        entry, cast<BuiltinDialect>(manager.getDialect()));
    return rewriter.create<WeightOp>(
        loc, name, DenseResourceElementsAttr::get(type, handle));
  }
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  auto attr = DenseResourceElementsAttr::get(type, key, std::move(blob));
  return rewriter.create<WeightOp>(loc, name, attr);
}

std::optional<ConstantWeight> azc::productWeight(Operation *op) {
  if (auto matmul = dyn_cast<MatMulOp>(op))
    return matmulWeight(matmul);
  if (auto gemm = dyn_cast<GemmOp>(op))
    return gemmWeight(gemm);
  return std::nullopt;
}

/// The floats of a constant f32 tensor of `size` elements.
std::optional<std::vector<float>> azc::constantVector(Value value,
                                                      int64_t size) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  ElementsAttr attr;
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape() ||
      type.getNumElements() != size || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  return constantFloats(attr, size);
}

namespace {

/// mul(norm(x) with scale g and bias b, c) = norm(x) with scale g * c and
/// bias b * c, when the norm is over the last dim only, its one user is
/// the mul and g, b, c are constant vectors of that dim.
template <typename NormOp> struct FoldScaleIntoNorm : OpRewritePattern<MulOp> {
  using OpRewritePattern<MulOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    auto norm = mul.getLhs().template getDefiningOp<NormOp>();
    if (!norm || !norm->hasOneUse())
      return failure();
    auto type = cast<RankedTensorType>(norm.getOutput().getType());
    const int64_t rank = type.getRank(), K = type.getShape().back();
    if (rank == 0 || ShapedType::isDynamic(K) ||
        (norm.getAxis() != -1 && norm.getAxis() != rank - 1))
      return failure();
    std::optional<std::vector<float>> c = constantVector(mul.getRhs(), K);
    std::optional<std::vector<float>> g = constantVector(norm.getScale(), K);
    if (!c || !g)
      return failure();
    auto vectorType = RankedTensorType::get({K}, rewriter.getF32Type());
    for (int64_t k = 0; k < K; ++k)
      (*g)[k] *= (*c)[k];
    SmallVector<Value> operands = {norm.getInput(),
                                   makeWeight(rewriter, norm.getLoc(),
                                              "folded_input_scale", vectorType,
                                              asBytes(*g))};
    if constexpr (std::is_same_v<NormOp, LayerNormOp>) {
      if (Value bias = norm.getBias()) {
        std::optional<std::vector<float>> b = constantVector(bias, K);
        if (!b)
          return failure();
        for (int64_t k = 0; k < K; ++k)
          (*b)[k] *= (*c)[k];
        operands.push_back(makeWeight(rewriter, norm.getLoc(),
                                      "folded_input_bias", vectorType,
                                      asBytes(*b)));
      }
    }
    auto folded =
        rewriter.create<NormOp>(norm.getLoc(), operands, norm->getAttrs());
    rewriter.replaceOp(mul, folded->getResults());
    rewriter.eraseOp(norm);
    return success();
  }
};

} // namespace

void azc::populateFoldScaleIntoNormPatterns(RewritePatternSet &patterns) {
  patterns.add<FoldScaleIntoNorm<RmsNormOp>, FoldScaleIntoNorm<LayerNormOp>>(
      patterns.getContext());
}
