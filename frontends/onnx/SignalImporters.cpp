//===- SignalImporters.cpp - ONNX window and mel filter ops ---------------===//
//
// HannWindow, HammingWindow, BlackmanWindow and MelWeightMatrix depend only
// on their scalar inputs, which also set the result's shape: an engine
// fixes shapes at build, so those inputs must be constants and the whole
// result is computed here, in double, and rounded once to the output type.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImporterContext.h"

#include <cmath>

using namespace mlir;
using namespace azc;
using namespace azc::onnx_frontend;

namespace {

/// Input `i` as one constant number, whatever its type; failure (reported,
/// naming the input) when it is not a constant scalar.
FailureOr<double> constantNumber(NodeContext &n, size_t i, StringRef what) {
  DenseElementsAttr attr;
  if (!n.input(i) || !matchPattern(n.input(i), m_Constant(&attr)))
    return n.error(Twine(what) + " (input " + Twine(i) +
                   ") must be a constant; computed values are not supported");
  if (attr.getNumElements() != 1)
    return n.error(Twine(what) + " must be a scalar");
  if (auto intType = dyn_cast<IntegerType>(attr.getElementType())) {
    APInt v = attr.getSplatValue<APInt>();
    return intType.isUnsigned() ? double(v.getZExtValue())
                                : double(v.getSExtValue());
  }
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// The element type `output_datatype` names (float by default).
FailureOr<Type> outputType(NodeContext &n) {
  Type type = convertElementType(
      n.attrInt("output_datatype", onnx::TensorProto::FLOAT), n.context());
  if (!type)
    return n.error("unsupported output_datatype " +
                   Twine(n.attrInt("output_datatype", 0)));
  return type;
}

enum class Window { hann, hamming, blackman };

/// The windows as generalized cosine windows,
///   w[k] = a0 - a1 cos(2 pi k / N) + a2 cos(4 pi k / N),
/// with N the size when `periodic` (the default), else size - 1.
template <Window kind> LogicalResult importWindow(NodeContext &n) {
  FailureOr<double> size = constantNumber(n, 0, "size");
  FailureOr<Type> type = outputType(n);
  if (failed(size) || failed(type))
    return failure();
  if (*size < 0 || *size != std::floor(*size) || *size > (1 << 24))
    return n.error("size must be a non-negative integer of at most 2^24");
  int64_t count = int64_t(*size);
  double denominator = n.attrInt("periodic", 1) ? *size : *size - 1;
  double a0, a1, a2 = 0;
  switch (kind) {
  case Window::hann:
    a0 = a1 = 0.5;
    break;
  case Window::hamming:
    a0 = 25.0 / 46.0; // ONNX's alpha, not the rounded 0.54
    a1 = 1 - a0;
    break;
  case Window::blackman:
    a0 = 0.42;
    a1 = 0.5;
    a2 = 0.08;
    break;
  }
  SmallVector<double> values;
  for (int64_t k = 0; k < count; ++k) {
    double angle = 2 * M_PI * double(k) / denominator;
    values.push_back(a0 - a1 * std::cos(angle) + a2 * std::cos(2 * angle));
  }
  return n.setResult(n.constantTensor(*type, {count}, values));
}

/// MelWeightMatrix: triangular filters over the DFT bins, one column per mel
/// band, evenly spaced in mel = 2595 log10(1 + hz / 700). The band edges are
/// rounded down to DFT bins as ONNX's reference computes them, with the
/// hertz inputs in their own (usually float) precision.
LogicalResult importMelWeightMatrix(NodeContext &n) {
  FailureOr<double> melBins = constantNumber(n, 0, "num_mel_bins");
  FailureOr<double> dftLength = constantNumber(n, 1, "dft_length");
  FailureOr<double> sampleRate = constantNumber(n, 2, "sample_rate");
  FailureOr<double> lower = constantNumber(n, 3, "lower_edge_hertz");
  FailureOr<double> upper = constantNumber(n, 4, "upper_edge_hertz");
  FailureOr<Type> type = outputType(n);
  if (failed(melBins) || failed(dftLength) || failed(sampleRate) ||
      failed(lower) || failed(upper) || failed(type))
    return failure();
  if (*melBins < 1 || *dftLength < 1 || *sampleRate <= 0 ||
      *melBins > (1 << 16) || *dftLength > (1 << 24))
    return n.error("num_mel_bins, dft_length and sample_rate must be "
                   "positive (and of a sensible size)");
  int64_t bands = int64_t(*melBins);
  int64_t spectrumBins = int64_t(*dftLength) / 2 + 1;
  bool singleHertz = getElementTypeOrSelf(n.input(3).getType()).isF32() ||
                     getElementTypeOrSelf(n.input(3).getType()).isF16();
  auto toMel = [&](double hz) {
    if (!singleHertz)
      return 2595 * std::log1p(hz / 700) / std::log(10.0);
    float scaled = float(hz) / 700.0f;
    float mel = 2595.0f * float(std::log1p(double(scaled)));
    return double(mel) / std::log(10.0);
  };
  double low = toMel(*lower), high = toMel(*upper);
  double step = (high - low) / double(bands + 2);
  SmallVector<int64_t> edges;
  for (int64_t i = 0; i < bands + 2; ++i) {
    double mel = double(i) * step + low;
    double hz = 700 * std::expm1(mel / 2595 * std::log(10.0));
    double bin = std::floor((*dftLength + 1) * hz / *sampleRate);
    if (!(bin >= 0 && bin < double(spectrumBins)))
      return n.error("the mel band edges fall outside the DFT bins");
    edges.push_back(int64_t(bin));
  }
  if (failed(n.checkSynthesizedSize({spectrumBins, bands}, "the matrix")))
    return failure();
  SmallVector<double> values(spectrumBins * bands, 0.0);
  auto at = [&](int64_t bin, int64_t band) -> double & {
    return values[bin * bands + band];
  };
  for (int64_t band = 0; band < bands; ++band) {
    int64_t left = edges[band], center = edges[band + 1],
            right = edges[band + 2];
    if (center == left)
      at(center, band) = 1;
    for (int64_t j = left; center > left && j <= center; ++j)
      at(j, band) = double(j - left) / double(center - left);
    for (int64_t j = center; j < right; ++j)
      at(j, band) = double(right - j) / double(right - center);
  }
  return n.setResult(n.constantTensor(*type, {spectrumBins, bands}, values));
}

} // namespace

void azc::onnx_frontend::addSignalImporters(std::vector<OpImporter> &t) {
  auto add = [&](const char *op, int64_t since, ImportFn fn,
                 int minInputs = 1) {
    t.push_back({"", op, since, std::move(fn), minInputs});
  };
  add("HannWindow", 17, importWindow<Window::hann>);
  add("HammingWindow", 17, importWindow<Window::hamming>);
  add("BlackmanWindow", 17, importWindow<Window::blackman>);
  add("MelWeightMatrix", 17, importMelWeightMatrix, 5);
}
