//===- CompositeImporters.cpp - ONNX ops lowered to other azg ops ---------===//
//
// Importers for ONNX ops that are compositions of ops azg already has: the
// loss functions (gathers and reductions), DepthToSpace and SpaceToDepth
// (reshape, transpose, reshape) and Einsum (diagonals, reductions and a
// batched matmul or broadcast product). Lowering them here keeps the
// runtime's kernel set small.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/StringExtras.h"

#include <map>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Chains FailureOr results: the first failure stops the importer.
#define TRY(var, expr)                                                         \
  FailureOr<Value> var##OrFailure = (expr);                                    \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  Value var = *var##OrFailure;

/// The reduction shared by the losses: none keeps the per-element loss,
/// sum adds everything, mean divides the sum by the total weight (or by the
/// element count when there are no weights).
FailureOr<Value> reduceLoss(NodeContext &n, Value loss, Value weights) {
  std::string reduction = n.attrString("reduction", "mean");
  if (reduction == "none")
    return loss;
  Builder b(n.context());
  auto all = [&](Value v) {
    return n.make<azg::ReduceSumOp>(v, b.getDenseI64ArrayAttr({}),
                                    b.getBoolAttr(false));
  };
  if (reduction == "sum")
    return all(loss);
  if (reduction != "mean")
    return n.error("unknown reduction '" + reduction + "'");
  if (!weights)
    return n.make<azg::ReduceMeanOp>(loss, b.getDenseI64ArrayAttr({}),
                                     b.getBoolAttr(false));
  TRY(total, all(loss));
  TRY(weight, all(weights));
  return n.make<azg::DivOp>(total, weight);
}

/// NegativeLogLikelihoodLoss on log-probabilities `input` (N x C x d1 ...)
/// and class indices `target` (N x d1 ...), with optional per-class
/// `weight` (C): loss = -input[n, target[n, d], d] * weight[target[n, d]],
/// zero where target equals ignore_index.
FailureOr<Value> negativeLogLikelihood(NodeContext &n, Value input,
                                       Value target, Value weight) {
  RankedTensorType inputType = typeOf(input), targetType = typeOf(target);
  if (inputType.getRank() < 2 ||
      targetType.getRank() != inputType.getRank() - 1)
    return n.error("input must be N x C x ... and target N x ...");
  Builder b(n.context());
  Value safeTarget = target, mask;
  if (n.attr("ignore_index")) {
    Value ignored = n.constantScalar(targetType.getElementType(),
                                     double(n.attrInt("ignore_index", 0)));
    TRY(isIgnored, n.make<azg::EqualOp>(target, ignored));
    TRY(safe,
        n.make<azg::WhereOp>(isIgnored, n.constantLike(target, 0), target));
    TRY(keep, n.make<azg::NotOp>(isIgnored));
    safeTarget = safe;
    mask = keep;
  }
  TRY(index, n.make<azg::UnsqueezeOp>(safeTarget, b.getDenseI64ArrayAttr({1})));
  TRY(picked,
      n.make<azg::GatherElementsOp>(input, index, b.getI64IntegerAttr(1)));
  TRY(squeezed, n.make<azg::SqueezeOp>(picked, b.getDenseI64ArrayAttr({1})));
  TRY(loss, n.make<azg::NegOp>(squeezed));

  Value weights; // per-element weights, null when all are 1
  if (weight) {
    TRY(gathered,
        n.make<azg::GatherOp>(weight, safeTarget, b.getI64IntegerAttr(0)));
    weights = gathered;
  }
  if (mask) {
    Value one = n.constantLike(input, 1), zero = n.constantLike(input, 0);
    TRY(masked, n.make<azg::WhereOp>(mask, weights ? weights : one, zero));
    weights = masked;
  }
  if (weights) {
    TRY(weighted, n.make<azg::MulOp>(loss, weights));
    loss = weighted;
  }
  return reduceLoss(n, loss, weights);
}

LogicalResult importNllLoss(NodeContext &n) {
  return n.setResult(
      negativeLogLikelihood(n, n.input(0), n.input(1), n.input(2)));
}

/// SoftmaxCrossEntropyLoss: NegativeLogLikelihoodLoss of LogSoftmax over
/// the class axis; the optional second output is that log-probability.
LogicalResult importSoftmaxCrossEntropy(NodeContext &n) {
  Builder b(n.context());
  TRY(logProb, n.make<azg::LogSoftmaxOp>(n.input(0), b.getI64IntegerAttr(1)));
  TRY(loss, negativeLogLikelihood(n, logProb, n.input(1), n.input(2)));
  return n.setResults({loss, logProb});
}

//===----------------------------------------------------------------------===//
// DepthToSpace, SpaceToDepth
//===----------------------------------------------------------------------===//

/// reshape(input, split) -> transpose(perm) -> reshape(to joined).
FailureOr<Value> reshapeTransposeReshape(NodeContext &n, Value input,
                                         ArrayRef<int64_t> split,
                                         ArrayRef<int64_t> perm,
                                         ArrayRef<int64_t> joined) {
  Builder b(n.context());
  TRY(blocks, n.make<azg::ReshapeOp>(input, n.constantI64(split), UnitAttr()));
  TRY(moved, n.make<azg::TransposeOp>(blocks, b.getDenseI64ArrayAttr(perm)));
  return n.make<azg::ReshapeOp>(moved, n.constantI64(joined), UnitAttr());
}

/// DepthToSpace (DCR or CRD order) and SpaceToDepth on N x C x H x W with
/// static C, H and W.
template <bool toSpace> LogicalResult importBlockShuffle(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType type = typeOf(x);
  int64_t bs = n.attrInt("blocksize", 0);
  if (type.getRank() != 4 || bs < 1)
    return n.error("needs a 4-D input and a positive blocksize");
  int64_t batch = type.getDimSize(0), c = type.getDimSize(1),
          h = type.getDimSize(2), w = type.getDimSize(3);
  if (ShapedType::isDynamic(c) || ShapedType::isDynamic(h) ||
      ShapedType::isDynamic(w))
    return n.error("needs static channel and spatial dims");
  int64_t nd = ShapedType::isDynamic(batch) ? 0 : batch; // 0 copies N
  if constexpr (toSpace) {
    if (c % (bs * bs))
      return n.error("channels must be divisible by blocksize^2");
    int64_t cOut = c / (bs * bs);
    std::string mode = n.attrString("mode", "DCR");
    if (mode == "DCR")
      return n.setResult(reshapeTransposeReshape(n, x, {nd, bs, bs, cOut, h, w},
                                                 {0, 3, 4, 1, 5, 2},
                                                 {nd, cOut, h * bs, w * bs}));
    if (mode == "CRD")
      return n.setResult(reshapeTransposeReshape(n, x, {nd, cOut, bs, bs, h, w},
                                                 {0, 1, 4, 2, 5, 3},
                                                 {nd, cOut, h * bs, w * bs}));
    return n.error("unknown mode '" + mode + "'");
  } else {
    if (h % bs || w % bs)
      return n.error("spatial dims must be divisible by blocksize");
    return n.setResult(reshapeTransposeReshape(
        n, x, {nd, c, h / bs, bs, w / bs, bs}, {0, 3, 5, 1, 2, 4},
        {nd, c * bs * bs, h / bs, w / bs}));
  }
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// An operand with one label per dim: letters as themselves, the dims an
/// ellipsis covers as 256 + their position among the ellipsis dims.
struct Labeled {
  Value value;
  SmallVector<int> labels;
};

/// Parses one term ("ab...c") for an operand of `rank` dims (or, for the
/// output, `rank` < 0: the ellipsis stands for all `ellipsisRank` dims).
FailureOr<SmallVector<int>> parseTerm(NodeContext &n, StringRef term,
                                      int64_t rank, int64_t &ellipsisRank) {
  SmallVector<int> labels;
  size_t dots = term.find("...");
  StringRef before = term.substr(0, dots);
  StringRef after = dots == StringRef::npos ? "" : term.substr(dots + 3);
  for (StringRef part : {before, after})
    for (char c : part)
      if (!llvm::isAlpha(c))
        return n.error("bad Einsum term '" + term + "'");
  int64_t letters = before.size() + after.size();
  int64_t covered = 0;
  if (dots != StringRef::npos) {
    covered = rank < 0 ? ellipsisRank : rank - letters;
    if (covered < 0)
      return n.error("Einsum term '" + term + "' has more labels than dims");
    ellipsisRank = std::max(ellipsisRank, covered);
  } else if (rank >= 0 && letters != rank) {
    return n.error("Einsum term '" + term + "' does not match rank " +
                   Twine(rank));
  }
  for (char c : before)
    labels.push_back(c);
  // Ellipsis dims align at the right, as broadcasting does.
  for (int64_t i = 0; i < covered; ++i)
    labels.push_back(256 + int(ellipsisRank - covered + i));
  for (char c : after)
    labels.push_back(c);
  return labels;
}

/// Removes repeated labels by taking diagonals: where(eye, x, 0) summed
/// over the second dim of each repeated pair.
LogicalResult takeDiagonals(NodeContext &n, Labeled &op) {
  Builder b(n.context());
  for (;;) {
    int64_t p = -1, q = -1;
    for (size_t i = 0; i < op.labels.size() && p < 0; ++i)
      for (size_t j = i + 1; j < op.labels.size(); ++j)
        if (op.labels[i] == op.labels[j]) {
          p = i;
          q = j;
          break;
        }
    if (p < 0)
      return success();
    RankedTensorType type = typeOf(op.value);
    int64_t size = type.getDimSize(p);
    if (ShapedType::isDynamic(size) || size != type.getDimSize(q))
      return n.error("Einsum diagonals need equal static dims");
    SmallVector<int64_t> maskShape(type.getRank(), 1);
    maskShape[p] = maskShape[q] = size;
    SmallVector<bool> eye;
    for (int64_t i = 0; i < size; ++i)
      for (int64_t j = 0; j < size; ++j)
        eye.push_back(i == j);
    Value mask = n.builder().create<azg::ConstantOp>(
        n.loc(), DenseElementsAttr::get(
                     RankedTensorType::get(maskShape, b.getI1Type()), eye));
    TRY(masked,
        n.make<azg::WhereOp>(mask, op.value, n.constantLike(op.value, 0)));
    TRY(summed, n.make<azg::ReduceSumOp>(masked, b.getDenseI64ArrayAttr({q}),
                                         b.getBoolAttr(false)));
    op.value = summed;
    op.labels.erase(op.labels.begin() + q);
  }
}

/// Sums over the dims whose labels satisfy `drop`.
LogicalResult sumLabels(NodeContext &n, Labeled &op,
                        function_ref<bool(int)> drop) {
  SmallVector<int64_t> axes;
  SmallVector<int> kept;
  for (auto [i, label] : llvm::enumerate(op.labels)) {
    if (drop(label))
      axes.push_back(i);
    else
      kept.push_back(label);
  }
  if (axes.empty())
    return success();
  Builder b(n.context());
  FailureOr<Value> summed = n.make<azg::ReduceSumOp>(
      op.value, b.getDenseI64ArrayAttr(axes), b.getBoolAttr(false));
  if (failed(summed))
    return failure();
  op.value = *summed;
  op.labels = kept;
  return success();
}

/// Transposes `op` so its labels follow `order` (labels not in `order`
/// are an error of the caller); a no-op when they already do.
FailureOr<Value> permuteTo(NodeContext &n, const Labeled &op,
                           ArrayRef<int> order) {
  SmallVector<int64_t> perm;
  for (int label : order)
    for (auto [i, have] : llvm::enumerate(op.labels))
      if (have == label)
        perm.push_back(i);
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return op.value;
  Builder b(n.context());
  return n.make<azg::TransposeOp>(op.value, b.getDenseI64ArrayAttr(perm));
}

/// Two operands as one batched matmul: [batch, left, contracted] @
/// [batch, contracted, right], reshaped and transposed to the output.
/// Fails quietly (returns a null Value) when shapes do not allow it.
FailureOr<Value> einsumMatMul(NodeContext &n, const Labeled &a,
                              const Labeled &b, ArrayRef<int> output) {
  auto has = [](const Labeled &op, int label) {
    return llvm::is_contained(op.labels, label);
  };
  SmallVector<int> batch, left, right, contracted;
  for (int label : a.labels) {
    bool inB = has(b, label), inOut = llvm::is_contained(output, label);
    (inB ? (inOut ? batch : contracted) : left).push_back(label);
  }
  for (int label : b.labels)
    if (!has(a, label))
      right.push_back(label);
  auto sizeOf = [](const Labeled &op, int label) {
    for (auto [i, have] : llvm::enumerate(op.labels))
      if (have == label)
        return typeOf(op.value).getDimSize(i);
    return int64_t(1);
  };
  auto product = [&](const Labeled &op, ArrayRef<int> labels) {
    int64_t p = 1;
    for (int label : labels) {
      int64_t size = sizeOf(op, label);
      if (ShapedType::isDynamic(size))
        return ShapedType::kDynamic;
      p *= size;
    }
    return p;
  };
  SmallVector<int64_t> resultShape;
  for (int label : batch) {
    int64_t sa = sizeOf(a, label), sb = sizeOf(b, label);
    if (ShapedType::isDynamic(sa) || sa != sb)
      return Value();
    resultShape.push_back(sa);
  }
  for (int label : contracted)
    if (sizeOf(a, label) != sizeOf(b, label))
      return Value();
  for (int label : left)
    resultShape.push_back(sizeOf(a, label));
  for (int label : right)
    resultShape.push_back(sizeOf(b, label));
  int64_t batchSize = product(a, batch), l = product(a, left),
          k = product(a, contracted), r = product(b, right);
  if (ShapedType::isDynamic(batchSize) || ShapedType::isDynamic(l) ||
      ShapedType::isDynamic(k) || ShapedType::isDynamic(r))
    return Value();

  SmallVector<int> aOrder(batch), bOrder(batch);
  aOrder.append(left);
  aOrder.append(contracted);
  bOrder.append(contracted);
  bOrder.append(right);
  TRY(aMoved, permuteTo(n, a, aOrder));
  TRY(bMoved, permuteTo(n, b, bOrder));
  TRY(aFlat, n.make<azg::ReshapeOp>(aMoved, n.constantI64({batchSize, l, k}),
                                    UnitAttr()));
  TRY(bFlat, n.make<azg::ReshapeOp>(bMoved, n.constantI64({batchSize, k, r}),
                                    UnitAttr()));
  TRY(product3,
      n.make<azg::MatMulOp>(aFlat, bFlat, Value(), Value(),
                            azg::ActivationAttr(), FloatAttr(), FloatAttr()));
  TRY(shaped,
      n.make<azg::ReshapeOp>(product3, n.constantI64(resultShape), UnitAttr()));
  Labeled result{shaped, batch};
  result.labels.append(left);
  result.labels.append(right);
  return permuteTo(n, result, output);
}

LogicalResult importEinsum(NodeContext &n) {
  std::string equation;
  for (char c : n.attrString("equation", ""))
    if (c != ' ')
      equation += c;
  StringRef eq(equation);
  size_t arrow = eq.find("->");
  StringRef lhs = eq.substr(0, arrow);
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if ((int64_t)terms.size() != (int64_t)n.numInputs())
    return n.error("Einsum equation '" + equation + "' has " +
                   Twine(terms.size()) + " inputs, the node " +
                   Twine(n.numInputs()));
  int64_t ellipsisRank = 0;
  SmallVector<Labeled> ops;
  // Ellipsis ranks may differ between operands: parse twice so that every
  // operand aligns its ellipsis dims with the widest one.
  for (int pass = 0; pass < 2; ++pass) {
    ops.clear();
    for (auto [i, term] : llvm::enumerate(terms)) {
      FailureOr<SmallVector<int>> labels =
          parseTerm(n, term, typeOf(n.input(i)).getRank(), ellipsisRank);
      if (failed(labels))
        return failure();
      ops.push_back({n.input(i), *labels});
    }
  }
  SmallVector<int> output;
  if (arrow != StringRef::npos) {
    FailureOr<SmallVector<int>> labels =
        parseTerm(n, eq.substr(arrow + 2), -1, ellipsisRank);
    if (failed(labels))
      return failure();
    output = *labels;
  } else {
    // Implicit output: the ellipsis dims, then the letters used once, in
    // alphabetical order.
    for (int64_t i = 0; i < ellipsisRank; ++i)
      output.push_back(256 + int(i));
    std::map<int, int> uses;
    for (const Labeled &op : ops)
      for (int label : op.labels)
        if (label < 256)
          ++uses[label];
    for (auto [label, count] : uses)
      if (count == 1)
        output.push_back(label);
  }
  for (Labeled &op : ops)
    if (failed(takeDiagonals(n, op)))
      return failure();
  for (int label : output) {
    bool found = false;
    for (const Labeled &op : ops)
      found = found || llvm::is_contained(op.labels, label);
    if (!found)
      return n.error("Einsum output label is not in any input");
  }
  // Labels only one operand has and the output lacks are summed at once.
  for (size_t i = 0; i < ops.size(); ++i)
    if (failed(sumLabels(n, ops[i], [&](int label) {
          if (llvm::is_contained(output, label))
            return false;
          for (size_t j = 0; j < ops.size(); ++j)
            if (j != i && llvm::is_contained(ops[j].labels, label))
              return false;
          return true;
        })))
      return failure();

  // The CPU matmul kernel is f32.
  if (ops.size() == 2 && getElementTypeOrSelf(ops[0].value.getType()).isF32()) {
    TRY(viaMatMul, einsumMatMul(n, ops[0], ops[1], output));
    if (viaMatMul)
      return n.setResults(viaMatMul);
  }

  // The general case: every operand laid out over all labels (output ones
  // first, size-1 where it lacks them), multiplied, then the non-output
  // labels summed.
  SmallVector<int> all(output);
  for (const Labeled &op : ops)
    for (int label : op.labels)
      if (!llvm::is_contained(all, label))
        all.push_back(label);
  Builder b(n.context());
  Value product;
  for (const Labeled &op : ops) {
    SmallVector<int> order;
    for (int label : all)
      if (llvm::is_contained(op.labels, label))
        order.push_back(label);
    TRY(moved, permuteTo(n, op, order));
    SmallVector<int64_t> missing;
    for (auto [i, label] : llvm::enumerate(all))
      if (!llvm::is_contained(op.labels, label))
        missing.push_back(i);
    Value full = moved;
    if (!missing.empty()) {
      TRY(expanded,
          n.make<azg::UnsqueezeOp>(moved, b.getDenseI64ArrayAttr(missing)));
      full = expanded;
    }
    if (!product) {
      product = full;
      continue;
    }
    TRY(multiplied, n.make<azg::MulOp>(product, full));
    product = multiplied;
  }
  Labeled result{product, all};
  if (failed(sumLabels(n, result, [&](int label) {
        return !llvm::is_contained(output, label);
      })))
    return failure();
  return n.setResults(result.value);
}

} // namespace

void azc::onnx_frontend::addCompositeImporters(std::vector<OpImporter> &t) {
  // minInputs: how many leading inputs must be present.
  auto add = [&](const char *op, int64_t since, ImportFn fn,
                 int minInputs = 1) {
    t.push_back({"", op, since, std::move(fn), minInputs});
  };
  add("NegativeLogLikelihoodLoss", 12, importNllLoss, 2);
  add("SoftmaxCrossEntropyLoss", 12, importSoftmaxCrossEntropy, 2);
  add("DepthToSpace", 1, importBlockShuffle<true>);
  add("SpaceToDepth", 1, importBlockShuffle<false>);
  add("Einsum", 12, importEinsum);
}
