//===- SpectralImporters.cpp - DFT and STFT as matrix products ------------===//
//
// ONNX's DFT and STFT have static lengths, so each transform is a product
// with constant cosine and sine matrices over the signal axis, moved last:
// the GEMM kernels then do the work, and a transform of N points costs
// what an N x K matrix product does (the lengths exports use are short:
// audio frames, positional features).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// A [rows, columns] f32 constant with entry (i, k) = f(i, k).
template <typename F>
FailureOr<Value> constantMatrix(NodeContext &n, int64_t rows, int64_t columns,
                                F &&f) {
  if (failed(n.checkSynthesizedSize({rows, columns},
                                    "the transform's twiddle matrix")))
    return failure();
  SmallVector<float> values;
  values.reserve(rows * columns);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < columns; ++k)
      values.push_back(float(f(i, k)));
  auto type =
      RankedTensorType::get({rows, columns}, Builder(n.context()).getF32Type());
  return Value(n.builder().create<azg::ConstantOp>(
      n.loc(), DenseElementsAttr::get(type, ArrayRef<float>(values))));
}

/// The angle 2 pi i k / N, reduced modulo N first, which keeps it small
/// and exact.
double twiddle(int64_t i, int64_t k, int64_t length) {
  return 2 * M_PI * double((i * k) % length) / double(length);
}

FailureOr<Value> matmul(NodeContext &n, Value a, Value m) {
  return n.make<azg::MatMulOp>(a, m, Value(), Value(), azg::ActivationAttr(),
                               FloatAttr(), FloatAttr());
}

/// `v` truncated or zero-padded along its last dim to `length`.
FailureOr<Value> fitLastDim(NodeContext &n, Value v, int64_t length) {
  RankedTensorType type = typeOf(v);
  int64_t rank = type.getRank(), have = type.getDimSize(rank - 1);
  if (have == length)
    return v;
  Builder b(n.context());
  SmallVector<int64_t> pads(2 * rank, 0);
  pads[2 * rank - 1] = length - have; // negative pads crop
  return n.make<azg::PadOp>(v, b.getDenseI64ArrayAttr(pads),
                            b.getStringAttr("constant"), b.getF64FloatAttr(0));
}

/// The signal of `x` ([..., N at `axis`, ..., 1 or 2]) as real and
/// imaginary parts (null when real), each with the signal axis last.
struct Parts {
  Value re, im;
  SmallVector<int64_t> inversePerm; ///< puts the signal axis back
};
FailureOr<Parts> splitParts(NodeContext &n, Value x, int64_t axis) {
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  Builder b(n.context());
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank - 1; ++i)
    if (i != axis)
      perm.push_back(i);
  perm.push_back(axis);
  Parts parts;
  parts.inversePerm.resize(rank - 1);
  for (auto [i, p] : llvm::enumerate(perm))
    parts.inversePerm[p] = i;
  auto part = [&](int64_t index) -> FailureOr<Value> {
    TRY(picked, n.make<azg::GatherOp>(x, n.constantI64({index}, true),
                                      b.getI64IntegerAttr(rank - 1)));
    return n.make<azg::TransposeOp>(picked, b.getDenseI64ArrayAttr(perm));
  };
  FailureOr<Value> re = part(0);
  if (failed(re))
    return failure();
  parts.re = *re;
  if (type.getDimSize(rank - 1) == 2) {
    FailureOr<Value> im = part(1);
    if (failed(im))
      return failure();
    parts.im = *im;
  }
  return parts;
}

/// Parts back in the input's layout, stacked along a new last dim.
FailureOr<Value> joinParts(NodeContext &n, ArrayRef<Value> values,
                           ArrayRef<int64_t> inversePerm) {
  Builder b(n.context());
  int64_t rank = int64_t(inversePerm.size()) + 1;
  SmallVector<Value> parts;
  for (Value v : values) {
    TRY(back, n.make<azg::TransposeOp>(v, b.getDenseI64ArrayAttr(inversePerm)));
    TRY(expanded,
        n.make<azg::UnsqueezeOp>(back, b.getDenseI64ArrayAttr({rank - 1})));
    parts.push_back(expanded);
  }
  if (parts.size() == 1)
    return parts.front();
  return n.make<azg::ConcatOp>(ValueRange(parts),
                               b.getI64IntegerAttr(rank - 1));
}

/// The forward or inverse transform of (re, im) along their last dim, of
/// `length` points, keeping `bins` outputs: re' = re cos + im sin and
/// im' = im cos - re sin forward; the signs of the sine terms flip and the
/// result is divided by N inverse.
FailureOr<std::pair<Value, Value>> transform(NodeContext &n, Value re, Value im,
                                             int64_t length, int64_t bins,
                                             bool inverse) {
  TRY(cosines, constantMatrix(n, length, bins, [&](int64_t i, int64_t k) {
        return std::cos(twiddle(i, k, length));
      }));
  TRY(sines, constantMatrix(n, length, bins, [&](int64_t i, int64_t k) {
        return std::sin(twiddle(i, k, length));
      }));
  TRY(reCos, matmul(n, re, cosines));
  TRY(reSin, matmul(n, re, sines));
  Value outRe = reCos, outIm;
  TRY(negReSin, n.make<azg::NegOp>(reSin));
  outIm = inverse ? reSin : negReSin;
  if (im) {
    TRY(imCos, matmul(n, im, cosines));
    TRY(imSin, matmul(n, im, sines));
    TRY(newRe, inverse ? n.make<azg::SubOp>(reCos, imSin)
                       : n.make<azg::AddOp>(reCos, imSin));
    TRY(newIm, inverse ? n.make<azg::AddOp>(imCos, reSin)
                       : n.make<azg::SubOp>(imCos, reSin));
    outRe = newRe;
    outIm = newIm;
  }
  if (inverse) {
    TRY(scaledRe, n.make<azg::DivOp>(outRe, n.constantLike(outRe, length)));
    TRY(scaledIm, n.make<azg::DivOp>(outIm, n.constantLike(outIm, length)));
    outRe = scaledRe;
    outIm = scaledIm;
  }
  return std::make_pair(outRe, outIm);
}

/// The real signal of N points whose spectrum is Hermitian with (re, im)
/// its first N / 2 + 1 bins (numpy's irfft): every other bin k counts
/// twice, as k and N - k, and the imaginary parts of bins 0 and N / 2
/// drop out (their sines vanish).
FailureOr<Value> inverseOnesided(NodeContext &n, Value re, Value im,
                                 int64_t length) {
  int64_t bins = length / 2 + 1;
  auto weight = [&](int64_t k) {
    return (k == 0 || 2 * k == length) ? 1.0 : 2.0;
  };
  TRY(cosines, constantMatrix(n, bins, length, [&](int64_t k, int64_t i) {
        return weight(k) * std::cos(twiddle(k, i, length)) / double(length);
      }));
  TRY(fittedRe, fitLastDim(n, re, bins));
  TRY(signal, matmul(n, fittedRe, cosines));
  if (!im)
    return signal;
  TRY(sines, constantMatrix(n, bins, length, [&](int64_t k, int64_t i) {
        return weight(k) * std::sin(twiddle(k, i, length)) / double(length);
      }));
  TRY(fittedIm, fitLastDim(n, im, bins));
  TRY(imSin, matmul(n, fittedIm, sines));
  return n.make<azg::SubOp>(signal, imSin);
}

/// DFT (opset 17, 20): forward, inverse, onesided forward (the first
/// N / 2 + 1 bins) and onesided inverse (a real signal from half a
/// spectrum), along any axis but the first and the last.
LogicalResult importDft(NodeContext &n) {
  Value x = n.input(0);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  if (!type.getElementType().isF32())
    return n.error("DFT is supported for float32");
  if (rank < 3 || type.isDynamicDim(rank - 1) ||
      (type.getDimSize(rank - 1) != 1 && type.getDimSize(rank - 1) != 2))
    return n.error("DFT input must end in a dim of 1 (real) or 2 (complex)");
  // Opset 20 moved axis from an attribute (default 1) to an optional
  // scalar input (default -2, the last signal dim).
  int64_t givenAxis = n.attrInt("axis", 1);
  if (n.opset() >= 20) {
    givenAxis = -2;
    if (n.input(2)) {
      FailureOr<SmallVector<int64_t>> given = n.constantInts(2, "axis");
      if (failed(given))
        return failure();
      if (given->size() != 1)
        return n.error("axis must be a scalar");
      givenAxis = given->front();
    }
  }
  int64_t axis = givenAxis < 0 ? givenAxis + rank : givenAxis;
  if (axis < 1 || axis >= rank - 1)
    return n.error("axis " + Twine(givenAxis) + " is out of range for a rank-" +
                   Twine(rank) + " input");
  bool inverse = n.attrInt("inverse", 0) != 0;
  bool onesided = n.attrInt("onesided", 0) != 0;
  FailureOr<Parts> parts = splitParts(n, x, axis);
  if (failed(parts))
    return failure();
  int64_t given = type.getDimSize(axis);
  if (ShapedType::isDynamic(given))
    return n.error("DFT needs a static signal length");
  // Without dft_length: the input's length, or 2 (K - 1) points from K
  // onesided bins.
  int64_t length = inverse && onesided ? 2 * (given - 1) : given;
  if (n.input(1)) {
    FailureOr<SmallVector<int64_t>> wanted = n.constantInts(1, "dft_length");
    if (failed(wanted))
      return failure();
    if (wanted->size() != 1 || wanted->front() < 1)
      return n.error("dft_length must be a positive scalar");
    length = wanted->front();
  }
  if (length < 1)
    return n.error("the transform has no points");
  if (inverse && onesided) {
    TRY(signal, inverseOnesided(n, parts->re, parts->im, length));
    return n.setResult(joinParts(n, {signal}, parts->inversePerm));
  }
  // Truncate or zero-pad the signal to dft_length.
  TRY(re, fitLastDim(n, parts->re, length));
  Value im;
  if (parts->im) {
    TRY(fittedIm, fitLastDim(n, parts->im, length));
    im = fittedIm;
  }
  int64_t bins = onesided ? length / 2 + 1 : length;
  FailureOr<std::pair<Value, Value>> result =
      transform(n, re, im, length, bins, inverse);
  if (failed(result))
    return failure();
  return n.setResult(
      joinParts(n, {result->first, result->second}, parts->inversePerm));
}

/// STFT (opset 17): frames of frame_length samples every frame_step, each
/// multiplied by the window and transformed ([batch, frames, bins, 2]; the
/// first N / 2 + 1 bins when onesided, the default for a real signal).
/// The frames are one gather of constant indices.
LogicalResult importStft(NodeContext &n) {
  Value signal = n.input(0), window = n.input(2);
  RankedTensorType type = typeOf(signal);
  Builder b(n.context());
  if (type.getRank() != 3 || !type.getElementType().isF32() ||
      type.isDynamicDim(1) ||
      (type.getDimSize(2) != 1 && type.getDimSize(2) != 2))
    return n.error("STFT takes a float32 [batch, length, 1 or 2] signal of "
                   "static length");
  FailureOr<SmallVector<int64_t>> step = n.constantInts(1, "frame_step");
  if (failed(step))
    return failure();
  int64_t frameLength = -1;
  if (window) {
    RankedTensorType windowType = typeOf(window);
    if (windowType.getRank() != 1 || windowType.isDynamicDim(0))
      return n.error("the window must be 1-D and static");
    frameLength = windowType.getDimSize(0);
  }
  if (n.input(3)) {
    FailureOr<SmallVector<int64_t>> given = n.constantInts(3, "frame_length");
    if (failed(given))
      return failure();
    if (given->size() != 1 || (frameLength >= 0 && frameLength != (*given)[0]))
      return n.error("frame_length must be a scalar equal to the window's "
                     "length");
    frameLength = (*given)[0];
  }
  int64_t length = type.getDimSize(1);
  if (frameLength < 0) // neither a window nor a frame_length: one frame
    frameLength = length;
  if (step->size() != 1 || (*step)[0] < 1 || frameLength < 1 ||
      frameLength > length)
    return n.error("needs a positive frame_step and a frame_length (or "
                   "window) of 1 to the signal's " +
                   Twine(length) + " samples");
  int64_t frames = 1 + (length - frameLength) / (*step)[0];
  SmallVector<int64_t> indices;
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t i = 0; i < frameLength; ++i)
      indices.push_back(f * (*step)[0] + i);
  auto indexType = RankedTensorType::get({frames, frameLength}, b.getI64Type());
  Value frameIndices = n.builder().create<azg::ConstantOp>(
      n.loc(), DenseIntElementsAttr::get(indexType, ArrayRef(indices)));
  // [batch, frames, frame_length, 1 or 2]
  TRY(framed,
      n.make<azg::GatherOp>(signal, frameIndices, b.getI64IntegerAttr(1)));
  Value windowed = framed;
  if (window) {
    TRY(column, n.make<azg::ReshapeOp>(
                    window, n.constantI64({1, 1, frameLength, 1}), UnitAttr()));
    TRY(product, n.make<azg::MulOp>(framed, column));
    windowed = product;
  }
  bool complex = type.getDimSize(2) == 2;
  bool onesided = n.attrInt("onesided", 1) != 0;
  if (complex && onesided)
    return n.error("a onesided STFT needs a real signal");
  FailureOr<Parts> parts = splitParts(n, windowed, 2);
  if (failed(parts))
    return failure();
  int64_t bins = onesided ? frameLength / 2 + 1 : frameLength;
  FailureOr<std::pair<Value, Value>> result =
      transform(n, parts->re, parts->im, frameLength, bins, false);
  if (failed(result))
    return failure();
  return n.setResult(
      joinParts(n, {result->first, result->second}, parts->inversePerm));
}

} // namespace

void azc::onnx_frontend::addSpectralImporters(std::vector<OpImporter> &t) {
  t.push_back({"", "DFT", 17, importDft, 1});
  t.push_back({"", "STFT", 17, importStft, 2});
}
