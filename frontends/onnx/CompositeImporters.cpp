//===- CompositeImporters.cpp - ONNX ops lowered to other azg ops ---------===//
//
// Importers for ONNX ops that are compositions of ops azg already has: the
// loss functions (gathers and reductions), DepthToSpace and SpaceToDepth
// (reshape, transpose, reshape), Einsum (diagonals, reductions and a
// batched matmul or broadcast product) and the recurrent layers RNN, GRU
// and LSTM (unrolled over their static sequence length), normalizations,
// quantization and a few elementwise ops. Lowering them here keeps the
// runtime's kernel set small.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

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
    // DCR: output channel (bh * bs + bw) * C + c; CRD (the inverse of
    // DepthToSpace's CRD): c * bs^2 + bh * bs + bw.
    std::string mode = n.attrString("mode", "DCR");
    if (mode != "DCR" && mode != "CRD")
      return n.error("unknown mode '" + mode + "'");
    return n.setResult(reshapeTransposeReshape(
        n, x, {nd, c, h / bs, bs, w / bs, bs},
        mode == "DCR" ? ArrayRef<int64_t>{0, 3, 5, 1, 2, 4}
                      : ArrayRef<int64_t>{0, 1, 3, 5, 2, 4},
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
    if (failed(n.checkSynthesizedSize({size, size}, "the diagonal mask")))
      return failure();
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

//===----------------------------------------------------------------------===//
// RNN, GRU, LSTM
//===----------------------------------------------------------------------===//

enum class Cell { rnn, gru, lstm };

/// The activations of a recurrent node, one list entry per use (per
/// direction), with their alpha/beta parameters.
struct Activation {
  std::string name;
  float alpha = 0, beta = 0;
};

FailureOr<SmallVector<Activation>>
recurrentActivations(NodeContext &n, Cell cell, int64_t directions) {
  SmallVector<std::string> names;
  if (const onnx::AttributeProto *a = n.attr("activations"))
    for (const std::string &name : a->strings())
      names.push_back(name);
  if (names.empty()) {
    SmallVector<std::string> defaults =
        cell == Cell::rnn ? SmallVector<std::string>{"Tanh"}
        : cell == Cell::gru
            ? SmallVector<std::string>{"Sigmoid", "Tanh"}
            : SmallVector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    for (int64_t d = 0; d < directions; ++d)
      names.append(defaults);
  }
  size_t perDirection = cell == Cell::rnn ? 1 : cell == Cell::gru ? 2 : 3;
  if (names.size() != perDirection * directions)
    return n.error("expected " + Twine(perDirection * directions) +
                   " activations, got " + Twine(names.size()));
  SmallVector<float> alphas, betas;
  if (const onnx::AttributeProto *a = n.attr("activation_alpha"))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (const onnx::AttributeProto *a = n.attr("activation_beta"))
    betas.assign(a->floats().begin(), a->floats().end());
  size_t nextAlpha = 0, nextBeta = 0;
  SmallVector<Activation> result;
  for (const std::string &name : names) {
    // Defaults are those of the ONNX operators of the same name.
    Activation act{name};
    float alpha = 0, beta = 0;
    bool takesAlpha = true, takesBeta = false;
    if (name == "LeakyRelu")
      alpha = 0.01f;
    else if (name == "ThresholdedRelu" || name == "Elu")
      alpha = 1.0f;
    else if (name == "HardSigmoid")
      alpha = 0.2f, beta = 0.5f, takesBeta = true;
    else if (name == "Affine" || name == "ScaledTanh")
      alpha = 1.0f, beta = 0.0f, takesBeta = true;
    else if (name == "Relu" || name == "Tanh" || name == "Sigmoid" ||
             name == "Softsign" || name == "Softplus")
      takesAlpha = false;
    else
      return n.error("activation '" + name + "' is not supported");
    if (takesAlpha && nextAlpha < alphas.size())
      alpha = alphas[nextAlpha++];
    if (takesBeta && nextBeta < betas.size())
      beta = betas[nextBeta++];
    act.alpha = alpha;
    act.beta = beta;
    result.push_back(act);
  }
  return result;
}

FailureOr<Value> applyActivation(NodeContext &n, const Activation &act,
                                 Value x) {
  Builder b(n.context());
  auto withAttrs =
      [&](FailureOr<Operation *> op,
          ArrayRef<std::pair<StringRef, float>> attrs) -> FailureOr<Value> {
    if (failed(op))
      return failure();
    for (auto [name, value] : attrs)
      (*op)->setAttr(name, b.getF32FloatAttr(value));
    return (*op)->getResult(0);
  };
  const std::string &name = act.name;
  if (name == "Relu")
    return n.make<azg::ReluOp>(x);
  if (name == "Tanh")
    return n.make<azg::TanhOp>(x);
  if (name == "Sigmoid")
    return n.make<azg::SigmoidOp>(x);
  if (name == "Softsign")
    return n.make<azg::SoftsignOp>(x);
  if (name == "Softplus")
    return n.make<azg::SoftplusOp>(x);
  if (name == "LeakyRelu")
    return withAttrs(n.create<azg::LeakyReluOp>(1, x), {{"alpha", act.alpha}});
  if (name == "ThresholdedRelu")
    return withAttrs(n.create<azg::ThresholdedReluOp>(1, x),
                     {{"alpha", act.alpha}});
  if (name == "Elu")
    return withAttrs(n.create<azg::EluOp>(1, x), {{"alpha", act.alpha}});
  if (name == "HardSigmoid")
    return withAttrs(n.create<azg::HardSigmoidOp>(1, x),
                     {{"alpha", act.alpha}, {"beta", act.beta}});
  if (name == "Affine") {
    TRY(scaled, n.make<azg::MulOp>(x, n.constantLike(x, act.alpha)));
    return n.make<azg::AddOp>(scaled, n.constantLike(x, act.beta));
  }
  // ScaledTanh: alpha * tanh(beta * x).
  TRY(inner, n.make<azg::MulOp>(x, n.constantLike(x, act.beta)));
  TRY(tanh, n.make<azg::TanhOp>(inner));
  return n.make<azg::MulOp>(tanh, n.constantLike(x, act.alpha));
}

/// Element `index` of dim 0, that dim dropped.
FailureOr<Value> takeAt(NodeContext &n, Value v, int64_t index) {
  Builder b(n.context());
  return n.make<azg::GatherOp>(v, n.constantI64({index}, /*scalar=*/true),
                               b.getI64IntegerAttr(0));
}

/// Splits the last dim of `v` into `parts` equal pieces.
FailureOr<SmallVector<Value>> splitLast(NodeContext &n, Value v,
                                        int64_t parts) {
  RankedTensorType type = typeOf(v);
  int64_t rank = type.getRank(), size = type.getDimSize(rank - 1);
  Builder b(n.context());
  FailureOr<Operation *> op = n.create<azg::SplitOp>(
      parts, v, b.getI64IntegerAttr(rank - 1),
      b.getDenseI64ArrayAttr(SmallVector<int64_t>(parts, size / parts)));
  if (failed(op))
    return failure();
  return SmallVector<Value>((*op)->getResults());
}

FailureOr<Value> transposed(NodeContext &n, Value v, ArrayRef<int64_t> perm) {
  Builder b(n.context());
  return n.make<azg::TransposeOp>(v, b.getDenseI64ArrayAttr(perm));
}

FailureOr<Value> matmul(NodeContext &n, Value a, Value b) {
  return n.make<azg::MatMulOp>(a, b, Value(), Value(), azg::ActivationAttr(),
                               FloatAttr(), FloatAttr());
}

/// RNN, GRU and LSTM, unrolled: per direction the input projection of
/// every step is one matmul, then each step adds the recurrent projection
/// and applies the cell. sequence_lens (when given) masks the steps at or
/// beyond each batch entry's length: the state keeps its value there and
/// Y is zero, which also makes the reverse direction start at each entry's
/// last valid step.
template <Cell cell> LogicalResult importRecurrent(NodeContext &n) {
  Value x = n.input(0), w = n.input(1), r = n.input(2);
  Value bias = n.input(3), seqLens = n.input(4), initialH = n.input(5);
  Value initialC = cell == Cell::lstm ? n.input(6) : Value();
  Value peepholes = cell == Cell::lstm ? n.input(7) : Value();
  const int64_t gates = cell == Cell::rnn ? 1 : cell == Cell::gru ? 3 : 4;
  int64_t hidden = n.attrInt("hidden_size", 0);
  bool batchFirst = n.attrInt("layout", 0) != 0;
  std::string direction = n.attrString("direction", "forward");
  int64_t directions = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && directions == 1)
    return n.error("unknown direction '" + direction + "'");
  if (!isa<Float32Type>(getElementTypeOrSelf(x.getType())))
    return n.error("recurrent layers are supported for float32");
  if (typeOf(x).getRank() != 3 || typeOf(w).getRank() != 3 ||
      typeOf(r).getRank() != 3)
    return n.error("X, W and R must be 3-D");
  if (hidden <= 0)
    hidden = typeOf(r).getDimSize(2);
  if (ShapedType::isDynamic(hidden) ||
      typeOf(w).getDimSize(1) != gates * hidden)
    return n.error("W does not have " + Twine(gates) + " x hidden_size rows");
  FailureOr<SmallVector<Activation>> activations =
      recurrentActivations(n, cell, directions);
  if (failed(activations))
    return failure();
  std::optional<float> clip;
  if (n.attr("clip"))
    clip = n.attrFloat("clip", 0);
  bool linearBeforeReset = n.attrInt("linear_before_reset", 0) != 0;
  bool inputForget = n.attrInt("input_forget", 0) != 0;
  Builder b(n.context());

  if (batchFirst) {
    TRY(timeMajor, transposed(n, x, {1, 0, 2}));
    x = timeMajor;
    for (Value *state : {&initialH, &initialC})
      if (*state) {
        TRY(dirMajor, transposed(n, *state, {1, 0, 2}));
        *state = dirMajor;
      }
  }
  int64_t steps = typeOf(x).getDimSize(0);
  if (ShapedType::isDynamic(steps))
    return n.error("recurrent layers need a static sequence length");

  // Per-step masks from sequence_lens: [batch, 1] booleans t < length.
  SmallVector<Value> masks;
  if (seqLens) {
    TRY(lengths, n.make<azg::CastOp>(seqLens, TypeAttr::get(b.getI64Type())));
    TRY(column, n.make<azg::UnsqueezeOp>(lengths, b.getDenseI64ArrayAttr({1})));
    for (int64_t t = 0; t < steps; ++t) {
      TRY(mask, n.make<azg::LessOp>(n.constantI64({t}, true), column));
      masks.push_back(mask);
    }
  }

  auto gate = [&](const Activation &act, Value v) -> FailureOr<Value> {
    if (clip) {
      FailureOr<Value> clipped = n.make<azg::ClipOp>(
          v, b.getF64FloatAttr(-*clip), b.getF64FloatAttr(*clip));
      if (failed(clipped))
        return failure();
      v = *clipped;
    }
    return applyActivation(n, act, v);
  };

  SmallVector<Value> ys, finalH, finalC;
  for (int64_t d = 0; d < directions; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    ArrayRef<Activation> acts =
        ArrayRef<Activation>(*activations)
            .slice(d * (activations->size() / directions),
                   activations->size() / directions);
    TRY(wd, takeAt(n, w, d));
    TRY(rd, takeAt(n, r, d));
    TRY(wt, transposed(n, wd, {1, 0})); // input x gates*hidden
    TRY(rt, transposed(n, rd, {1, 0})); // hidden x gates*hidden
    // The input projection of every step at once, with W's bias.
    TRY(projected, matmul(n, x, wt));
    Value wBias, rBias;
    if (bias) {
      TRY(bd, takeAt(n, bias, d));
      FailureOr<SmallVector<Value>> halves = splitLast(n, bd, 2);
      if (failed(halves))
        return failure();
      wBias = (*halves)[0];
      rBias = (*halves)[1];
      TRY(withBias, n.make<azg::AddOp>(projected, wBias));
      projected = withBias;
    }
    // GRU applies R's candidate-gate part separately (after the reset).
    Value rtGates = rt, rtCandidate, rBiasGates = rBias, rBiasCandidate;
    if (cell == Cell::gru) {
      FailureOr<SmallVector<Value>> parts = splitLast(n, rt, 3);
      if (failed(parts))
        return failure();
      TRY(zr, n.make<azg::ConcatOp>(ValueRange{(*parts)[0], (*parts)[1]},
                                    b.getI64IntegerAttr(1)));
      rtGates = zr;
      rtCandidate = (*parts)[2];
      if (rBias) {
        FailureOr<SmallVector<Value>> biasParts = splitLast(n, rBias, 3);
        if (failed(biasParts))
          return failure();
        TRY(zrBias,
            n.make<azg::ConcatOp>(ValueRange{(*biasParts)[0], (*biasParts)[1]},
                                  b.getI64IntegerAttr(0)));
        rBiasGates = zrBias;
        rBiasCandidate = (*biasParts)[2];
      }
    }
    SmallVector<Value> peep;
    if (peepholes) {
      TRY(pd, takeAt(n, peepholes, d));
      FailureOr<SmallVector<Value>> parts = splitLast(n, pd, 3);
      if (failed(parts))
        return failure();
      peep = *parts; // i, o, f
    }

    // Initial states: given, or zeros of [batch, hidden].
    TRY(firstStep, takeAt(n, projected, 0));
    FailureOr<SmallVector<Value>> firstParts = splitLast(n, firstStep, gates);
    if (failed(firstParts))
      return failure();
    Value zeros;
    {
      TRY(z, n.make<azg::MulOp>((*firstParts)[0],
                                n.constantLike((*firstParts)[0], 0)));
      zeros = z;
    }
    Value h = zeros, c = zeros;
    if (initialH) {
      TRY(h0, takeAt(n, initialH, d));
      h = h0;
    }
    if (initialC) {
      TRY(c0, takeAt(n, initialC, d));
      c = c0;
    }

    SmallVector<Value> outputs(steps);
    for (int64_t i = 0; i < steps; ++i) {
      int64_t t = reverse ? steps - 1 - i : i;
      TRY(xt, takeAt(n, projected, t));
      TRY(hr, matmul(n, h, rtGates));
      Value recurrent = hr;
      if (rBiasGates) {
        TRY(withBias, n.make<azg::AddOp>(hr, rBiasGates));
        recurrent = withBias;
      }
      Value newH, newC;
      if (cell == Cell::rnn) {
        TRY(sum, n.make<azg::AddOp>(xt, recurrent));
        TRY(ht, gate(acts[0], sum));
        newH = ht;
      } else if (cell == Cell::gru) {
        FailureOr<SmallVector<Value>> xParts = splitLast(n, xt, 3);
        FailureOr<SmallVector<Value>> hParts = splitLast(n, recurrent, 2);
        if (failed(xParts) || failed(hParts))
          return failure();
        TRY(zSum, n.make<azg::AddOp>((*xParts)[0], (*hParts)[0]));
        TRY(rSum, n.make<azg::AddOp>((*xParts)[1], (*hParts)[1]));
        TRY(z, gate(acts[0], zSum));
        TRY(reset, gate(acts[0], rSum));
        Value candidateIn;
        if (linearBeforeReset) {
          TRY(hh, matmul(n, h, rtCandidate));
          Value hhBiased = hh;
          if (rBiasCandidate) {
            TRY(withBias, n.make<azg::AddOp>(hh, rBiasCandidate));
            hhBiased = withBias;
          }
          TRY(gated, n.make<azg::MulOp>(reset, hhBiased));
          candidateIn = gated;
        } else {
          TRY(resetH, n.make<azg::MulOp>(reset, h));
          TRY(hh, matmul(n, resetH, rtCandidate));
          candidateIn = hh;
          if (rBiasCandidate) {
            TRY(withBias, n.make<azg::AddOp>(hh, rBiasCandidate));
            candidateIn = withBias;
          }
        }
        TRY(hSum, n.make<azg::AddOp>((*xParts)[2], candidateIn));
        TRY(candidate, gate(acts[1], hSum));
        // (1 - z) * candidate + z * h = candidate + z * (h - candidate)
        TRY(diff, n.make<azg::SubOp>(h, candidate));
        TRY(scaled, n.make<azg::MulOp>(z, diff));
        TRY(ht, n.make<azg::AddOp>(candidate, scaled));
        newH = ht;
      } else {
        TRY(sum, n.make<azg::AddOp>(xt, recurrent));
        FailureOr<SmallVector<Value>> parts = splitLast(n, sum, 4);
        if (failed(parts))
          return failure();
        Value iIn = (*parts)[0], oIn = (*parts)[1], fIn = (*parts)[2],
              cIn = (*parts)[3];
        if (!peep.empty()) {
          TRY(pi, n.make<azg::MulOp>(peep[0], c));
          TRY(pf, n.make<azg::MulOp>(peep[2], c));
          TRY(iPeep, n.make<azg::AddOp>(iIn, pi));
          TRY(fPeep, n.make<azg::AddOp>(fIn, pf));
          iIn = iPeep;
          fIn = fPeep;
        }
        TRY(it, gate(acts[0], iIn));
        Value ft;
        if (inputForget) {
          TRY(oneMinus, n.make<azg::SubOp>(n.constantLike(it, 1), it));
          ft = oneMinus;
        } else {
          TRY(f, gate(acts[0], fIn));
          ft = f;
        }
        TRY(candidate, gate(acts[1], cIn));
        TRY(keep, n.make<azg::MulOp>(ft, c));
        TRY(add, n.make<azg::MulOp>(it, candidate));
        TRY(ct, n.make<azg::AddOp>(keep, add));
        if (!peep.empty()) {
          TRY(po, n.make<azg::MulOp>(peep[1], ct));
          TRY(oPeep, n.make<azg::AddOp>(oIn, po));
          oIn = oPeep;
        }
        TRY(ot, gate(acts[0], oIn));
        TRY(cellOut, applyActivation(n, acts[2], ct));
        TRY(ht, n.make<azg::MulOp>(ot, cellOut));
        newH = ht;
        newC = ct;
      }
      Value out = newH;
      if (!masks.empty()) {
        TRY(kept, n.make<azg::WhereOp>(masks[t], newH, h));
        TRY(zeroed, n.make<azg::WhereOp>(masks[t], newH, zeros));
        newH = kept;
        out = zeroed;
        if (newC) {
          TRY(keptC, n.make<azg::WhereOp>(masks[t], newC, c));
          newC = keptC;
        }
      }
      h = newH;
      if (newC)
        c = newC;
      TRY(step, n.make<azg::UnsqueezeOp>(out, b.getDenseI64ArrayAttr({0})));
      outputs[t] = step;
    }
    TRY(y, n.make<azg::ConcatOp>(ValueRange(outputs), b.getI64IntegerAttr(0)));
    ys.push_back(y);
    finalH.push_back(h);
    finalC.push_back(c);
  }

  // Y: [steps, directions, batch, hidden]; Y_h, Y_c: [directions, batch,
  // hidden]; batch first with layout 1.
  auto stack = [&](ArrayRef<Value> values, int64_t axis) -> FailureOr<Value> {
    SmallVector<Value> expanded;
    for (Value v : values) {
      FailureOr<Value> e =
          n.make<azg::UnsqueezeOp>(v, b.getDenseI64ArrayAttr({axis}));
      if (failed(e))
        return failure();
      expanded.push_back(*e);
    }
    if (expanded.size() == 1)
      return expanded.front();
    return n.make<azg::ConcatOp>(ValueRange(expanded),
                                 b.getI64IntegerAttr(axis));
  };
  TRY(y, stack(ys, 1));
  TRY(yh, stack(finalH, 0));
  SmallVector<Value> results = {y, yh};
  if (cell == Cell::lstm) {
    TRY(yc, stack(finalC, 0));
    results.push_back(yc);
  }
  if (batchFirst) {
    TRY(yBatch, transposed(n, results[0], {2, 0, 1, 3}));
    results[0] = yBatch;
    for (size_t i = 1; i < results.size(); ++i) {
      TRY(state, transposed(n, results[i], {1, 0, 2}));
      results[i] = state;
    }
  }
  return n.setResults(results);
}

//===----------------------------------------------------------------------===//
// Normalizations, quantization and small elementwise compositions
//===----------------------------------------------------------------------===//

/// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0.
LogicalResult importShrink(NodeContext &n) {
  Value x = n.input(0);
  double lambd = n.attrFloat("lambd", 0.5f), bias = n.attrFloat("bias", 0.0f);
  TRY(below, n.make<azg::LessOp>(x, n.constantLike(x, -lambd)));
  TRY(above, n.make<azg::GreaterOp>(x, n.constantLike(x, lambd)));
  TRY(raised, n.make<azg::AddOp>(x, n.constantLike(x, bias)));
  TRY(lowered, n.make<azg::SubOp>(x, n.constantLike(x, bias)));
  TRY(upper, n.make<azg::WhereOp>(above, lowered, n.constantLike(x, 0)));
  return n.setResult(n.make<azg::WhereOp>(below, raised, upper));
}

/// EyeLike: ones on diagonal k of a static 2-D shape, in `dtype` (default
/// the input's).
LogicalResult importEyeLike(NodeContext &n) {
  RankedTensorType type = typeOf(n.input(0));
  if (type.getRank() != 2 || !type.hasStaticShape())
    return n.error("EyeLike needs a static 2-D input");
  Type element = type.getElementType();
  if (n.attr("dtype")) {
    element = convertElementType(n.attrInt("dtype", 0), n.context());
    if (!element)
      return n.error("dtype " + Twine(n.attrInt("dtype", 0)) +
                     " is not supported");
  }
  int64_t k = n.attrInt("k", 0), rows = type.getDimSize(0),
          cols = type.getDimSize(1);
  if (failed(n.checkSynthesizedSize({rows, cols}, "EyeLike's output")))
    return failure();
  SmallVector<bool> eye;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      eye.push_back(j - i == k);
  Builder b(n.context());
  Value mask = n.builder().create<azg::ConstantOp>(
      n.loc(), DenseElementsAttr::get(
                   RankedTensorType::get({rows, cols}, b.getI1Type()), eye));
  if (element.isInteger(1))
    return n.setResults(mask);
  return n.setResult(n.make<azg::CastOp>(mask, TypeAttr::get(element)));
}

} // namespace

FailureOr<Value> azc::onnx_frontend::standardize(NodeContext &n, Value x,
                                                 ArrayRef<int64_t> axes,
                                                 float epsilon) {
  Builder b(n.context());
  auto mean = [&](Value v) {
    return n.make<azg::ReduceMeanOp>(v, b.getDenseI64ArrayAttr(axes),
                                     b.getBoolAttr(true));
  };
  TRY(mu, mean(x));
  TRY(centered, n.make<azg::SubOp>(x, mu));
  TRY(squared, n.make<azg::MulOp>(centered, centered));
  TRY(variance, mean(squared));
  TRY(padded, n.make<azg::AddOp>(variance, n.constantLike(x, epsilon)));
  TRY(stddev, n.make<azg::SqrtOp>(padded));
  return n.make<azg::DivOp>(centered, stddev);
}

namespace {

/// `v` (1-D, one value per channel) shaped to broadcast along dim 1 of a
/// rank-`rank` tensor.
FailureOr<Value> perChannel(NodeContext &n, Value v, int64_t rank) {
  SmallVector<int64_t> shape(rank - 1, 1);
  shape[0] = -1;
  return n.make<azg::ReshapeOp>(v, n.constantI64(shape), UnitAttr());
}

/// InstanceNormalization: per sample and channel over the spatial dims,
/// (x - mean) / sqrt(var + epsilon) * scale[c] + bias[c].
LogicalResult importInstanceNorm(NodeContext &n) {
  Value x = n.input(0);
  int64_t rank = typeOf(x).getRank();
  if (rank < 3)
    return n.error("input must have rank >= 3");
  SmallVector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  TRY(normalized, standardize(n, x, axes, n.attrFloat("epsilon", 1e-5f)));
  TRY(scale, perChannel(n, n.input(1), rank));
  TRY(bias, perChannel(n, n.input(2), rank));
  TRY(scaled, n.make<azg::MulOp>(normalized, scale));
  return n.setResult(n.make<azg::AddOp>(scaled, bias));
}

/// MeanVarianceNormalization, as its ONNX function:
/// (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes`.
LogicalResult importMeanVarianceNorm(NodeContext &n) {
  Value x = n.input(0);
  SmallVector<int64_t> axes =
      n.attrInts("axes").value_or(SmallVector<int64_t>{0, 2, 3});
  Builder b(n.context());
  auto mean = [&](Value v) {
    return n.make<azg::ReduceMeanOp>(v, b.getDenseI64ArrayAttr(axes),
                                     b.getBoolAttr(true));
  };
  TRY(mu, mean(x));
  TRY(muSquared, n.make<azg::MulOp>(mu, mu));
  TRY(squared, n.make<azg::MulOp>(x, x));
  TRY(meanOfSquares, mean(squared));
  TRY(variance, n.make<azg::SubOp>(meanOfSquares, muSquared));
  TRY(stddev, n.make<azg::SqrtOp>(variance));
  TRY(padded, n.make<azg::AddOp>(stddev, n.constantLike(x, 1e-9)));
  TRY(centered, n.make<azg::SubOp>(x, mu));
  return n.setResult(n.make<azg::DivOp>(centered, padded));
}

/// A quantization parameter of one element, whatever its shape, as a
/// scalar: onnxruntime applies such a scale to the whole tensor, ignoring
/// `axis` (quantize_static writes a [1] scale for a 1-D bias, whose default
/// axis 1 does not exist).
FailureOr<Value> asScalar(NodeContext &n, Value v) {
  RankedTensorType type = typeOf(v);
  if (type.getRank() == 0)
    return v;
  return n.make<azg::ReshapeOp>(v, n.constantI64({}), UnitAttr());
}

bool hasOneElement(Value v) {
  RankedTensorType type = typeOf(v);
  return type.hasStaticShape() && type.getNumElements() == 1;
}

/// A per-axis quantization parameter (1-D, one value per slice of `axis`)
/// shaped to broadcast against a rank-`rank` tensor; one element is a
/// scalar.
FailureOr<Value> alongAxis(NodeContext &n, Value v, int64_t rank) {
  if (hasOneElement(v))
    return asScalar(n, v);
  RankedTensorType type = typeOf(v);
  if (type.getRank() != 1)
    return n.error("block-wise quantization parameters are not supported");
  FailureOr<int64_t> normalized = n.attrAxis("axis", 1, rank);
  if (failed(normalized))
    return failure();
  SmallVector<int64_t> shape(rank - *normalized, 1);
  shape[0] = -1;
  return n.make<azg::ReshapeOp>(v, n.constantI64(shape), UnitAttr());
}

/// DequantizeLinear of FP8 and FP4 codes: float(x) * scale, per tensor or per
/// axis (ONNX requires an FP8 zero point to be 0; it is subtracted all the
/// same). The code widens exactly to f32, so the product rounds once.
LogicalResult importDequantizeFp8(NodeContext &n) {
  Value x = n.input(0), zeroPoint = n.input(2);
  Builder b(n.context());
  if (n.attrInt("block_size", 0) != 0)
    return n.error("block-wise dequantization of FP8 is not supported");
  Type floatType = getElementTypeOrSelf(n.input(1).getType());
  if (n.attr("output_dtype") && n.attrInt("output_dtype", 0) != 0)
    floatType = convertElementType(n.attrInt("output_dtype", 0), n.context());
  if (!floatType || !isa<FloatType>(floatType) || floatType.isF64())
    return n.error("the result must be f32, f16 or bf16");
  int64_t rank = typeOf(x).getRank();
  TRY(scale, alongAxis(n, n.input(1), rank));
  if (!getElementTypeOrSelf(scale.getType()).isF32()) {
    TRY(wideScale, n.make<azg::CastOp>(scale, TypeAttr::get(b.getF32Type())));
    scale = wideScale;
  }
  TRY(value, n.make<azg::CastOp>(x, TypeAttr::get(b.getF32Type())));
  if (zeroPoint) {
    TRY(zp, alongAxis(n, zeroPoint, rank));
    TRY(zpf, n.make<azg::CastOp>(zp, TypeAttr::get(b.getF32Type())));
    TRY(shifted, n.make<azg::SubOp>(value, zpf));
    value = shifted;
  }
  TRY(result, n.make<azg::MulOp>(value, scale));
  if (!floatType.isF32())
    return n.setResult(n.make<azg::CastOp>(result, TypeAttr::get(floatType)));
  return n.setResult(result);
}

/// DequantizeLinear: (x - zero_point) * scale, in the scale's type (or
/// output_dtype), per tensor, per axis or (opset 21) per block of
/// block_size along the axis. The product is taken in f32 (onnxruntime
/// widens f16 scales the same way) and rounded once to a narrower type.
LogicalResult importDequantize(NodeContext &n) {
  Value x = n.input(0), scale = n.input(1), zeroPoint = n.input(2);
  Builder b(n.context());
  Type codeType = getElementTypeOrSelf(x.getType());
  if ((isa<FloatType>(codeType) && codeType.getIntOrFloatBitWidth() == 8) ||
      isa<azg::Float4E2M1FNType>(codeType))
    return importDequantizeFp8(n);
  // 4- and 2-bit codes held one a byte: dequantized as 8-bit ones.
  if (auto narrow = dyn_cast<IntegerType>(codeType);
      narrow && narrow.getWidth() > 1 && narrow.getWidth() < 8) {
    Type byte = narrow.isUnsigned() ? b.getIntegerType(8, /*isSigned=*/false)
                                    : b.getIntegerType(8);
    TRY(wide, n.make<azg::CastOp>(x, TypeAttr::get(byte)));
    x = wide;
    codeType = byte;
    if (zeroPoint) {
      TRY(wideZero, n.make<azg::CastOp>(zeroPoint, TypeAttr::get(byte)));
      zeroPoint = wideZero;
    }
  }
  auto integer = dyn_cast<IntegerType>(codeType);
  if (!integer || integer.getWidth() == 1 || integer.getWidth() > 32 ||
      (integer.getWidth() == 32 && integer.isUnsigned())) {
    std::string name;
    llvm::raw_string_ostream(name) << codeType;
    return n.error("DequantizeLinear of " + name +
                   " is not supported (8-, 16- and 32-bit integers are, and "
                   "4-bit initializers)");
  }
  Type floatType = getElementTypeOrSelf(scale.getType());
  if (!isa<FloatType>(floatType) || floatType.isF64())
    return n.error("the scale must be f32, f16 or bf16");
  if (n.attr("output_dtype") && n.attrInt("output_dtype", 0) != 0)
    floatType = convertElementType(n.attrInt("output_dtype", 0), n.context());
  if (!floatType || !isa<FloatType>(floatType) || floatType.isF64())
    return n.error("output_dtype must be f32, f16 or bf16");
  if (!getElementTypeOrSelf(scale.getType()).isF32()) {
    TRY(wide, n.make<azg::CastOp>(scale, TypeAttr::get(b.getF32Type())));
    scale = wide;
  }
  int64_t rank = typeOf(x).getRank();
  int64_t block = n.attrInt("block_size", 0);
  int64_t axis = 0;
  if (block < 0)
    return n.error("block_size must be >= 0, got " + Twine(block));
  if (hasOneElement(scale) && block == 0) {
    TRY(s, asScalar(n, scale));
    scale = s;
    if (zeroPoint) {
      TRY(z, asScalar(n, zeroPoint));
      zeroPoint = z;
    }
  } else {
    FailureOr<int64_t> normalized = n.attrAxis("axis", 1, rank);
    if (failed(normalized))
      return failure();
    axis = *normalized;
    int64_t want = block == 0 ? 1 : rank;
    if (typeOf(scale).getRank() != want)
      return n.error(block == 0 ? "a per-axis scale must be 1-D"
                                : "a blocked scale must have the input's rank");
  }
  TRY(result,
      n.make<azg::DequantizeOp>(x, scale, zeroPoint, b.getI64IntegerAttr(axis),
                                b.getI64IntegerAttr(block)));
  if (!floatType.isF32())
    return n.setResult(n.make<azg::CastOp>(result, TypeAttr::get(floatType)));
  return n.setResult(result);
}

/// The saturation range of a quantized type.
FailureOr<std::pair<double, double>> quantRange(NodeContext &n, Type type) {
  auto integer = dyn_cast<IntegerType>(type);
  if (!integer || integer.getWidth() == 1 || integer.getWidth() > 16)
    return n.error("quantization is supported to FP8 and to 2- to 16-bit "
                   "integers");
  unsigned bits = integer.getWidth();
  if (integer.isUnsigned())
    return std::make_pair(0.0, double((1 << bits) - 1));
  return std::make_pair(-double(1 << (bits - 1)),
                        double((1 << (bits - 1)) - 1));
}

/// saturate(round_half_even(x / scale) + zero_point), cast to `to`.
FailureOr<Value> quantize(NodeContext &n, Value x, Value scale, Value zeroPoint,
                          Type to) {
  Builder b(n.context());
  if (isa<FloatType, azg::Float4E2M1FNType>(to)) {
    // FP8, FP4: x / scale + zero_point, rounded and saturated (or not) by the
    // cast itself.
    TRY(scaled, n.make<azg::DivOp>(x, scale));
    Value shifted = scaled;
    if (zeroPoint) {
      TRY(zpf,
          n.make<azg::CastOp>(
              zeroPoint, TypeAttr::get(getElementTypeOrSelf(x.getType()))));
      TRY(add, n.make<azg::AddOp>(scaled, zpf));
      shifted = add;
    }
    return n.make<azg::CastOp>(shifted, TypeAttr::get(to),
                               b.getBoolAttr(n.attrInt("saturate", 1) != 0),
                               b.getStringAttr("up"));
  }
  FailureOr<std::pair<double, double>> range = quantRange(n, to);
  if (failed(range))
    return failure();
  Type floatType = getElementTypeOrSelf(x.getType());
  TRY(scaled, n.make<azg::DivOp>(x, scale));
  TRY(rounded, n.make<azg::RoundOp>(scaled));
  Value shifted = rounded;
  if (zeroPoint) {
    TRY(zpf, n.make<azg::CastOp>(zeroPoint, TypeAttr::get(floatType)));
    TRY(add, n.make<azg::AddOp>(rounded, zpf));
    shifted = add;
  }
  TRY(clipped, n.make<azg::ClipOp>(shifted, b.getF64FloatAttr(range->first),
                                   b.getF64FloatAttr(range->second)));
  return n.make<azg::CastOp>(clipped, TypeAttr::get(to));
}

/// A block-wise quantization parameter (the input's rank, ceil(D / block)
/// entries along `axis` where the input has D) repeated `block` times
/// along the axis and cut to D, so that it matches the input elementwise.
FailureOr<Value> expandBlocks(NodeContext &n, Value v, RankedTensorType input,
                              int64_t axis, int64_t block) {
  RankedTensorType type = typeOf(v);
  if (type.getRank() != input.getRank())
    return n.error("a blocked scale or zero point must have the input's rank");
  int64_t length = input.getDimSize(axis);
  if (ShapedType::isDynamic(length))
    return n.error("block-wise quantization needs a static size along axis " +
                   Twine(axis));
  for (int64_t i = 0; i < input.getRank(); ++i) {
    int64_t want =
        i == axis ? (length + block - 1) / block : input.getDimSize(i);
    int64_t have = type.getDimSize(i);
    if (!ShapedType::isDynamic(want) && !ShapedType::isDynamic(have) &&
        want != have)
      return n.error("a blocked scale or zero point has " + Twine(have) +
                     " entries in dim " + Twine(i) + ", expected " +
                     Twine(want) + " (block_size " + Twine(block) + ")");
  }
  if (failed(n.checkSynthesizedSize({length}, "the block index")))
    return failure();
  SmallVector<int64_t> blockOf;
  for (int64_t i = 0; i < length; ++i)
    blockOf.push_back(i / block);
  Builder b(n.context());
  return n.make<azg::GatherOp>(v, n.constantI64(blockOf),
                               b.getI64IntegerAttr(axis));
}

/// QuantizeLinear: to the zero point's type, uint8 without one; the scale
/// and zero point apply per tensor, per axis or (opset 21) per block of
/// block_size along the axis.
LogicalResult importQuantize(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType inputType = typeOf(x);
  int64_t rank = inputType.getRank();
  Builder b(n.context());
  Type to = n.input(2) ? getElementTypeOrSelf(n.input(2).getType())
                       : Type(b.getIntegerType(8, false));
  if (n.attr("output_dtype") && n.attrInt("output_dtype", 0) != 0)
    to = convertElementType(n.attrInt("output_dtype", 0), n.context());
  int64_t block = n.attrInt("block_size", 0);
  if (block < 0)
    return n.error("block_size must be >= 0, got " + Twine(block));
  // One element is a scalar whatever block_size says, as in the reference.
  auto parameter = [&](Value v) -> FailureOr<Value> {
    if (block == 0 || hasOneElement(v))
      return alongAxis(n, v, rank);
    FailureOr<int64_t> normalized = n.attrAxis("axis", 1, rank);
    if (failed(normalized))
      return failure();
    return expandBlocks(n, v, inputType, *normalized, block);
  };
  TRY(scale, parameter(n.input(1)));
  Value zeroPoint;
  if (n.input(2)) {
    TRY(zp, parameter(n.input(2)));
    zeroPoint = zp;
  }
  Type floatType = getElementTypeOrSelf(x.getType());
  if (getElementTypeOrSelf(scale.getType()) != floatType) {
    TRY(cast, n.make<azg::CastOp>(scale, TypeAttr::get(floatType)));
    scale = cast;
  }
  return n.setResult(quantize(n, x, scale, zeroPoint, to));
}

LogicalResult importMatMulInteger(NodeContext &n) {
  return n.setResult(n.make<azg::MatMulIntegerOp>(n.input(0), n.input(1),
                                                  n.input(2), n.input(3)));
}

/// QLinearMatMul: the exact integer product, scaled by a_scale * b_scale
/// in float, then quantized with y_scale and y_zero_point. A 1-D a_scale
/// (per row) is made a column.
LogicalResult importQLinearMatMul(NodeContext &n) {
  Value a = n.input(0), aScale = n.input(1), aZero = n.input(2);
  Value b = n.input(3), bScale = n.input(4), bZero = n.input(5);
  Value yScale = n.input(6), yZero = n.input(7);
  TRY(product, n.make<azg::MatMulIntegerOp>(a, b, aZero, bZero));
  Type floatType = getElementTypeOrSelf(aScale.getType());
  TRY(widened, n.make<azg::CastOp>(product, TypeAttr::get(floatType)));
  if (typeOf(aScale).getRank() == 1 && typeOf(aScale).getDimSize(0) != 1) {
    TRY(column,
        n.make<azg::ReshapeOp>(aScale, n.constantI64({-1, 1}), UnitAttr()));
    aScale = column;
  }
  TRY(scaledA, n.make<azg::MulOp>(widened, aScale));
  TRY(real, n.make<azg::MulOp>(scaledA, bScale));
  Builder builder(n.context());
  Type to = yZero ? getElementTypeOrSelf(yZero.getType())
                  : Type(builder.getIntegerType(8, false));
  return n.setResult(quantize(n, real, yScale, yZero, to));
}

/// conv_integer with the node's window attributes and the given operands.
FailureOr<Value> convInteger(NodeContext &n, Value x, Value w, Value xZero,
                             Value wZero) {
  FailureOr<ConvWindow> window = convWindow(n, typeOf(x), typeOf(w));
  if (failed(window))
    return failure();
  Builder b(n.context());
  return n.make<azg::ConvIntegerOp>(x, w, xZero, wZero,
                                    b.getDenseI64ArrayAttr(window->strides),
                                    b.getDenseI64ArrayAttr(window->pads),
                                    b.getDenseI64ArrayAttr(window->dilations),
                                    b.getI64IntegerAttr(n.attrInt("group", 1)));
}

LogicalResult importConvInteger(NodeContext &n) {
  return n.setResult(
      convInteger(n, n.input(0), n.input(1), n.input(2), n.input(3)));
}

/// QLinearConv: the exact integer convolution plus the int32 bias, scaled
/// by x_scale * w_scale (per output channel when w_scale is 1-D), then
/// quantized with y_scale and y_zero_point.
LogicalResult importQLinearConv(NodeContext &n) {
  Value x = n.input(0), xScale = n.input(1), xZero = n.input(2);
  Value w = n.input(3), wScale = n.input(4), wZero = n.input(5);
  Value yScale = n.input(6), yZero = n.input(7), bias = n.input(8);
  TRY(acc, convInteger(n, x, w, xZero, wZero));
  int64_t rank = typeOf(x).getRank();
  if (bias) {
    TRY(channels, perChannel(n, bias, rank));
    TRY(biased, n.make<azg::AddOp>(acc, channels));
    acc = biased;
  }
  Type floatType = getElementTypeOrSelf(xScale.getType());
  TRY(widened, n.make<azg::CastOp>(acc, TypeAttr::get(floatType)));
  if (typeOf(wScale).getNumElements() != 1) {
    TRY(channels, perChannel(n, wScale, rank));
    wScale = channels;
  }
  TRY(scaledX, n.make<azg::MulOp>(widened, xScale));
  TRY(real, n.make<azg::MulOp>(scaledX, wScale));
  Builder builder(n.context());
  Type to = yZero ? getElementTypeOrSelf(yZero.getType())
                  : Type(builder.getIntegerType(8, false));
  return n.setResult(quantize(n, real, yScale, yZero, to));
}

/// DynamicQuantizeLinear, as its ONNX function: uint8 with the scale and
/// zero point of the data's range extended to include 0.
LogicalResult importDynamicQuantize(NodeContext &n) {
  Value x = n.input(0);
  Builder b(n.context());
  TRY(lo, n.make<azg::ReduceMinOp>(x, b.getDenseI64ArrayAttr({}),
                                   b.getBoolAttr(false)));
  TRY(hi, n.make<azg::ReduceMaxOp>(x, b.getDenseI64ArrayAttr({}),
                                   b.getBoolAttr(false)));
  Value zero = n.constantLike(x, 0);
  TRY(loAdjusted, n.make<azg::MinOp>(lo, zero));
  TRY(hiAdjusted, n.make<azg::MaxOp>(hi, zero));
  TRY(range, n.make<azg::SubOp>(hiAdjusted, loAdjusted));
  TRY(scale, n.make<azg::DivOp>(range, n.constantLike(x, 255)));
  TRY(loScaled, n.make<azg::DivOp>(loAdjusted, scale));
  TRY(initial, n.make<azg::SubOp>(zero, loScaled));
  TRY(clipped, n.make<azg::ClipOp>(initial, b.getF64FloatAttr(0),
                                   b.getF64FloatAttr(255)));
  TRY(rounded, n.make<azg::RoundOp>(clipped));
  Type u8 = b.getIntegerType(8, false);
  TRY(zeroPoint, n.make<azg::CastOp>(rounded, TypeAttr::get(u8)));
  TRY(y, quantize(n, x, scale, zeroPoint, u8));
  return n.setResults({y, scale, zeroPoint});
}

//===----------------------------------------------------------------------===//
// Optimizer steps (ai.onnx.preview.training)
//===----------------------------------------------------------------------===//

/// The optimizers' inputs: R (learning rate), T (step count), then n
/// groups of n tensors each (X..., G..., and the optimizer's states).
struct OptimizerInputs {
  Value rate, count; // count as the rate's float type
  Value countInt;    // T as given
  int64_t n = 0;
  SmallVector<SmallVector<Value>> groups;
};

FailureOr<OptimizerInputs> optimizerInputs(NodeContext &n, int64_t groups) {
  OptimizerInputs in;
  int64_t tensors = int64_t(n.numInputs()) - 2;
  if (tensors <= 0 || tensors % groups != 0)
    return n.error("expected R, T and " + Twine(groups) +
                   " equal groups of tensors");
  in.n = tensors / groups;
  in.rate = n.input(0);
  in.countInt = n.input(1);
  FailureOr<Value> count = n.make<azg::CastOp>(
      in.countInt, TypeAttr::get(getElementTypeOrSelf(in.rate.getType())));
  if (failed(count))
    return failure();
  in.count = *count;
  for (int64_t g = 0; g < groups; ++g) {
    in.groups.emplace_back();
    for (int64_t i = 0; i < in.n; ++i) {
      if (!n.input(2 + g * in.n + i))
        return n.error("optimizer inputs must all be present");
      in.groups.back().push_back(n.input(2 + g * in.n + i));
    }
  }
  return in;
}

/// norm_coefficient * x + g.
FailureOr<Value> regularized(NodeContext &n, Value x, Value g) {
  TRY(decay, n.make<azg::MulOp>(
                 x, n.constantLike(x, n.attrFloat("norm_coefficient", 0))));
  return n.make<azg::AddOp>(decay, g);
}

/// `value` where T > 0, else `otherwise` (scalars).
FailureOr<Value> ifStarted(NodeContext &n, const OptimizerInputs &in,
                           Value value, Value otherwise) {
  TRY(started,
      n.make<azg::GreaterOp>(in.countInt, n.constantLike(in.countInt, 0)));
  return n.make<azg::WhereOp>(started, value, otherwise);
}

/// Adagrad, Momentum and Adam follow the formulas of their ONNX operator
/// documentation; R, X, G and the states share one float type.
LogicalResult importAdagrad(NodeContext &n) {
  FailureOr<OptimizerInputs> in = optimizerInputs(n, 3);
  if (failed(in))
    return failure();
  // r = R / (1 + T * decay_factor)
  TRY(decayed, n.make<azg::MulOp>(
                   in->count,
                   n.constantLike(in->count, n.attrFloat("decay_factor", 0))));
  TRY(denominator, n.make<azg::AddOp>(decayed, n.constantLike(in->count, 1)));
  TRY(rate, n.make<azg::DivOp>(in->rate, denominator));
  SmallVector<Value> xs, hs;
  for (int64_t i = 0; i < in->n; ++i) {
    Value x = in->groups[0][i], g = in->groups[1][i], h = in->groups[2][i];
    TRY(gr, regularized(n, x, g));
    TRY(squared, n.make<azg::MulOp>(gr, gr));
    TRY(hNew, n.make<azg::AddOp>(h, squared));
    TRY(root, n.make<azg::SqrtOp>(hNew));
    TRY(adaptive, n.make<azg::AddOp>(
                      root, n.constantLike(x, n.attrFloat("epsilon", 1e-6f))));
    TRY(step, n.make<azg::DivOp>(gr, adaptive));
    TRY(scaled, n.make<azg::MulOp>(rate, step));
    TRY(xNew, n.make<azg::SubOp>(x, scaled));
    xs.push_back(xNew);
    hs.push_back(hNew);
  }
  xs.append(hs);
  return n.setResults(xs);
}

LogicalResult importMomentum(NodeContext &n) {
  FailureOr<OptimizerInputs> in = optimizerInputs(n, 3);
  if (failed(in))
    return failure();
  std::string mode = n.attrString("mode", "standard");
  if (mode != "standard" && mode != "nesterov")
    return n.error("unknown mode '" + mode + "'");
  float alpha = n.attrFloat("alpha", 0), beta = n.attrFloat("beta", 0);
  // The gradient's coefficient is beta from the second step on, 1 before.
  TRY(betaAdjusted, ifStarted(n, *in, n.constantLike(in->rate, beta),
                              n.constantLike(in->rate, 1)));
  SmallVector<Value> xs, vs;
  for (int64_t i = 0; i < in->n; ++i) {
    Value x = in->groups[0][i], g = in->groups[1][i], v = in->groups[2][i];
    TRY(gr, regularized(n, x, g));
    TRY(kept, n.make<azg::MulOp>(v, n.constantLike(v, alpha)));
    TRY(added, n.make<azg::MulOp>(gr, betaAdjusted));
    TRY(vNew, n.make<azg::AddOp>(kept, added));
    Value direction = vNew;
    if (mode == "nesterov") {
      TRY(ahead, n.make<azg::MulOp>(vNew, n.constantLike(v, alpha)));
      TRY(sum, n.make<azg::AddOp>(gr, ahead));
      direction = sum;
    }
    TRY(step, n.make<azg::MulOp>(in->rate, direction));
    TRY(xNew, n.make<azg::SubOp>(x, step));
    xs.push_back(xNew);
    vs.push_back(vNew);
  }
  xs.append(vs);
  return n.setResults(xs);
}

LogicalResult importAdam(NodeContext &n) {
  FailureOr<OptimizerInputs> in = optimizerInputs(n, 4);
  if (failed(in))
    return failure();
  float alpha = n.attrFloat("alpha", 0.9f), beta = n.attrFloat("beta", 0.999f);
  Value r = in->rate;
  // R * sqrt(1 - beta^T) / (1 - alpha^T) once T > 0.
  TRY(betaT, n.make<azg::PowOp>(n.constantLike(r, beta), in->count));
  TRY(alphaT, n.make<azg::PowOp>(n.constantLike(r, alpha), in->count));
  TRY(betaRest, n.make<azg::SubOp>(n.constantLike(r, 1), betaT));
  TRY(alphaRest, n.make<azg::SubOp>(n.constantLike(r, 1), alphaT));
  TRY(root, n.make<azg::SqrtOp>(betaRest));
  TRY(scaledRate, n.make<azg::MulOp>(r, root));
  TRY(corrected, n.make<azg::DivOp>(scaledRate, alphaRest));
  TRY(rate, ifStarted(n, *in, corrected, r));
  float post = n.attrFloat("norm_coefficient_post", 0);
  SmallVector<Value> xs, vs, hs;
  for (int64_t i = 0; i < in->n; ++i) {
    Value x = in->groups[0][i], g = in->groups[1][i], v = in->groups[2][i],
          h = in->groups[3][i];
    TRY(gr, regularized(n, x, g));
    TRY(vKept, n.make<azg::MulOp>(v, n.constantLike(v, alpha)));
    TRY(vAdded, n.make<azg::MulOp>(gr, n.constantLike(v, 1 - alpha)));
    TRY(vNew, n.make<azg::AddOp>(vKept, vAdded));
    TRY(squared, n.make<azg::MulOp>(gr, gr));
    TRY(hKept, n.make<azg::MulOp>(h, n.constantLike(h, beta)));
    TRY(hAdded, n.make<azg::MulOp>(squared, n.constantLike(h, 1 - beta)));
    TRY(hNew, n.make<azg::AddOp>(hKept, hAdded));
    TRY(hRoot, n.make<azg::SqrtOp>(hNew));
    TRY(hSqrt, n.make<azg::AddOp>(
                   hRoot, n.constantLike(h, n.attrFloat("epsilon", 1e-6f))));
    TRY(ratio, n.make<azg::DivOp>(vNew, hSqrt));
    TRY(step, n.make<azg::MulOp>(rate, ratio));
    TRY(xNew, n.make<azg::SubOp>(x, step));
    Value xFinal = xNew;
    if (post != 0) {
      TRY(shrunk, n.make<azg::MulOp>(xNew, n.constantLike(x, 1 - post)));
      xFinal = shrunk;
    }
    xs.push_back(xFinal);
    vs.push_back(vNew);
    hs.push_back(hNew);
  }
  xs.append(vs);
  xs.append(hs);
  return n.setResults(xs);
}

/// MaxUnpool: zeros of the output shape (from output_shape when given as a
/// constant, else (in - 1) * stride + kernel - pads), with X scattered to
/// the flat positions in I, as MaxPool's Indices output numbers them.
/// output_shape is the shape the indices number, the pooled input's, as
/// onnxruntime and PyTorch read it and as the op's purpose (telling apart
/// input sizes that pool alike) needs; the ONNX reference instead unpools
/// into the inferred shape and pads that at the end, which cannot invert a
/// pool whose input the inferred shape is smaller than.
LogicalResult importMaxUnpool(NodeContext &n) {
  Value x = n.input(0), indices = n.input(1);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank(), spatial = rank - 2;
  if (spatial < 1 || !type.hasStaticShape())
    return n.error("MaxUnpool needs a static input of rank >= 3");
  std::optional<SmallVector<int64_t>> kernel = n.attrInts("kernel_shape");
  if (!kernel || (int64_t)kernel->size() != spatial)
    return n.error("kernel_shape needs one entry per spatial dim");
  SmallVector<int64_t> strides =
      n.attrInts("strides").value_or(SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> pads =
      n.attrInts("pads").value_or(SmallVector<int64_t>(2 * spatial, 0));
  if ((int64_t)strides.size() != spatial || (int64_t)pads.size() != 2 * spatial)
    return n.error("strides and pads do not match the spatial dims");
  SmallVector<int64_t> shape(type.getShape().take_front(2));
  if (n.input(2)) {
    FailureOr<SmallVector<int64_t>> given = n.constantInts(2, "output_shape");
    if (failed(given))
      return failure();
    if ((int64_t)given->size() != rank)
      return n.error("output_shape must have one entry per dim");
    shape = *given;
  } else {
    for (int64_t i = 0; i < spatial; ++i)
      shape.push_back((type.getDimSize(i + 2) - 1) * strides[i] + (*kernel)[i] -
                      pads[i] - pads[i + spatial]);
  }
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return n.error("MaxUnpool's output shape is negative");
    total *= d;
  }
  Builder b(n.context());
  // Expanded from a scalar: no output-sized constant in the engine.
  TRY(zeros,
      n.make<azg::ExpandOp>(n.constantLike(x, 0), n.constantI64({total})));
  TRY(flatIndices,
      n.make<azg::ReshapeOp>(indices, n.constantI64({-1}), UnitAttr()));
  TRY(flatValues, n.make<azg::ReshapeOp>(x, n.constantI64({-1}), UnitAttr()));
  TRY(scattered, n.make<azg::ScatterElementsOp>(zeros, flatIndices, flatValues,
                                                b.getI64IntegerAttr(0),
                                                b.getStringAttr("none")));
  return n.setResult(
      n.make<azg::ReshapeOp>(scattered, n.constantI64(shape), UnitAttr()));
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
  add("RNN", 7, importRecurrent<Cell::rnn>, 3);
  add("GRU", 7, importRecurrent<Cell::gru>, 3);
  add("LSTM", 7, importRecurrent<Cell::lstm>, 3);
  add("Shrink", 9, importShrink);
  add("EyeLike", 9, importEyeLike);
  add("InstanceNormalization", 6, importInstanceNorm, 3);
  add("MeanVarianceNormalization", 9, importMeanVarianceNorm);
  add("DequantizeLinear", 10, importDequantize, 2);
  add("QuantizeLinear", 10, importQuantize, 2);
  add("DynamicQuantizeLinear", 11, importDynamicQuantize);
  add("MatMulInteger", 10, importMatMulInteger, 2);
  add("QLinearMatMul", 10, importQLinearMatMul, 8);
  add("ConvInteger", 10, importConvInteger, 2);
  add("QLinearConv", 10, importQLinearConv, 8);
  add("MaxUnpool", 9, importMaxUnpool, 2);
  for (auto [op, fn] :
       {std::pair<const char *, ImportFn>{"Adagrad", importAdagrad},
        {"Momentum", importMomentum},
        {"Adam", importAdam}})
    t.push_back({"ai.onnx.preview.training", op, 1, fn, 2});
}
