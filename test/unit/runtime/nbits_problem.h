//===- nbits_problem.h - matmul_nbits test problems and references -*- C++
//-*-===//
//
// A random matmul_nbits problem (onnxruntime's MatMulNBits layout, every
// byte random, padding included), the kernel run on it, and two
// references: a double-precision sum of dequantized weights (check) and
// the documented int8 computation replayed exactly (checkInt8). With
// `packed`, the same weights go through matmul_nbits_packed, stored in its
// panels by the layout's definition (NBitsPanels).
//
//===----------------------------------------------------------------------===//

#ifndef AZR_TEST_NBITS_PROBLEM_H
#define AZR_TEST_NBITS_PROBLEM_H

#include "kernel_test_util.h"

#include "cpu/cast.h"
#include "cpu/matmul_nbits.h"

#include <cmath>
#include <string>
#include <vector>

namespace azr_test {

using namespace azr::cpu;

struct Shape {
  Dims aDims; // [..., M, K]
  int64_t N, blockSize;
  int bits;
  bool zeroPoints, bias, halfScales;
};

struct Problem {
  Shape s;
  int64_t K, M, kBlocks, blobSize, zpStride;
  std::vector<float> a, scales, bias, out;
  std::vector<uint16_t> halfScales;
  std::vector<uint8_t> b, zp;
  int64_t accuracyLevel = 0;
  /// Codebook weights ("nf4", "fp8_e4m3"; "int": integer codes) and
  /// double-quantized (i8) scales.
  std::string format = "int";
  std::vector<int8_t> scaleCodes;
  std::vector<float> scaleSteps;
  /// Static activation quantization ("int8", "fp8_e4m3"; "": none).
  std::string inputFormat;
  float inputScale = 0.0f;
  /// Run matmul_nbits_packed (int8 activations) on the weights in panels.
  bool packed = false;
  std::vector<uint8_t> panelCodes, panelZp;
  std::vector<float> panelScales;
  std::vector<uint16_t> panelHalfScales;

  Problem(const Shape &shape, unsigned seed) : s(shape) {
    K = s.aDims.back();
    M = numel(s.aDims) / K;
    kBlocks = (K + s.blockSize - 1) / s.blockSize;
    blobSize = s.blockSize * s.bits / 8;
    zpStride = (kBlocks * s.bits + 7) / 8;
    a = randomValues(numel(s.aDims), seed);
    // Every byte random: the padding past K in the last block and past the
    // last zero point must not matter.
    b = randomInts<uint8_t>(s.N * kBlocks * blobSize, seed + 1, 0, 255);
    scales = randomValues(s.N * kBlocks, seed + 2, -0.1, 0.1);
    if (s.halfScales) {
      halfScales.resize(scales.size());
      for (size_t i = 0; i < scales.size(); ++i) {
        halfScales[i] = floatToHalf(scales[i]);
        scales[i] = halfToFloat(halfScales[i]);
      }
    }
    if (s.zeroPoints)
      zp = randomInts<uint8_t>(s.N * zpStride, seed + 3, 0, 255);
    if (s.bias)
      bias = randomValues(s.N, seed + 4);
    Dims outDims = s.aDims;
    outDims.back() = s.N;
    out.assign(size_t(numel(outDims)), NAN);
  }

  Dims outDims() const {
    Dims d = s.aDims;
    d.back() = s.N;
    return d;
  }

  MapAttrs attrs() const {
    MapAttrs at;
    at.ints = {
        {"K", K}, {"N", s.N}, {"bits", s.bits}, {"block_size", s.blockSize}};
    if (accuracyLevel)
      at.ints["accuracy_level"] = accuracyLevel;
    if (format != "int")
      at.strings["weight_format"] = format;
    if (!inputFormat.empty()) {
      at.strings["input_format"] = inputFormat;
      at.floats["input_scale"] = inputScale;
    }
    return at;
  }

  /// Double-quantizes the scales: int8 codes, a step and an offset per 256.
  void quantizeScales(unsigned seed) {
    const int64_t count = s.N * kBlocks, groups = (count + 255) / 256;
    scaleCodes = randomInts<int8_t>(count, seed, -127, 127);
    scaleSteps = randomValues(2 * groups, seed + 1, 0.0005, 0.001);
    for (int64_t i = 0; i < count; ++i)
      scales[size_t(i)] =
          float(scaleCodes[size_t(i)]) * scaleSteps[size_t(2 * (i / 256))] +
          scaleSteps[size_t(2 * (i / 256) + 1)];
  }

  std::vector<Tensor> inputs() {
    std::vector<Tensor> in = {
        f32(a, s.aDims), view(b, DType::u8, {s.N, kBlocks, blobSize}),
        !scaleCodes.empty() ? view(scaleCodes, DType::i8, {s.N * kBlocks})
        : s.halfScales      ? view(halfScales, DType::f16, {s.N * kBlocks})
                            : f32(scales, {s.N * kBlocks})};
    in.push_back(s.zeroPoints ? view(zp, DType::u8, {s.N * zpStride})
                              : Tensor());
    in.push_back(s.bias ? f32(bias, {s.N}) : Tensor());
    if (!scaleCodes.empty()) {
      in.push_back(Tensor());
      in.push_back(f32(scaleSteps, {int64_t(scaleSteps.size()) / 2, 2}));
    }
    return in;
  }

  std::string run(ThreadPool *pool = nullptr) {
    if (packed)
      return runPacked(pool);
    return azr_test::run("matmul_nbits", inputs(), {f32(out, outDims())},
                         attrs(), pool);
  }

  /// The weight in matmul_nbits_packed's panels, placed code by code as
  /// NBitsPanels documents them (padding codes past K copied too: the
  /// kernel must ignore them there as well).
  void packPanels() {
    const int64_t panels = (s.N + 31) / 32, Kp = kBlocks * s.blockSize;
    const int64_t perStep = s.bits == 4 ? 8 : 4, steps = Kp / perStep;
    panelCodes.assign(size_t(panels * steps * 128), 0);
    panelScales.assign(size_t(panels * kBlocks * 32), 0.0f);
    panelHalfScales.assign(panelScales.size(), 0);
    panelZp.assign(panelScales.size(), 0);
    for (int64_t n = 0; n < s.N; ++n) {
      const int64_t p = n / 32, c = n % 32;
      for (int64_t k = 0; k < Kp; ++k) {
        const int64_t t = k / perStep, j = k % perStep;
        uint8_t &byte = panelCodes[size_t((p * steps + t) * 128 + c * 4 +
                                          (s.bits == 4 ? j % 4 : j))];
        byte |= uint8_t(code(n, k) << (s.bits == 4 && j >= 4 ? 4 : 0));
      }
      for (int64_t blk = 0; blk < kBlocks; ++blk) {
        const size_t i = size_t((p * kBlocks + blk) * 32 + c);
        panelScales[i] = scales[size_t(n * kBlocks + blk)];
        if (s.halfScales)
          panelHalfScales[i] = halfScales[size_t(n * kBlocks + blk)];
        panelZp[i] = uint8_t(zeroPoint(n, blk));
      }
    }
  }

  std::string runPacked(ThreadPool *pool) {
    packPanels();
    const int64_t panels = (s.N + 31) / 32;
    const int64_t steps = kBlocks * s.blockSize / (s.bits == 4 ? 8 : 4);
    std::vector<Tensor> in = {
        f32(a, s.aDims), view(panelCodes, DType::u8, {panels, steps, 32, 4}),
        s.halfScales ? view(panelHalfScales, DType::f16, {panels, kBlocks, 32})
                     : f32(panelScales, {panels, kBlocks, 32}),
        s.zeroPoints ? view(panelZp, DType::u8, {panels, kBlocks, 32})
                     : Tensor(),
        s.bias ? f32(bias, {s.N}) : Tensor()};
    MapAttrs at;
    at.ints = {
        {"K", K}, {"N", s.N}, {"bits", s.bits}, {"block_size", s.blockSize}};
    if (!inputFormat.empty()) {
      at.strings["input_format"] = inputFormat;
      at.floats["input_scale"] = inputScale;
    }
    return azr_test::run("matmul_nbits_packed", in, {f32(out, outDims())}, at,
                         pool);
  }

  int code(int64_t n, int64_t k) const {
    const uint8_t *col = b.data() + n * kBlocks * blobSize;
    return s.bits == 8 ? col[k] : (col[k / 2] >> ((k & 1) * 4)) & 0xF;
  }
  int zeroPoint(int64_t n, int64_t blk) const {
    if (!s.zeroPoints)
      return 1 << (s.bits - 1);
    if (s.bits == 8)
      return zp[size_t(n * zpStride + blk)];
    return (zp[size_t(n * zpStride + blk / 2)] >> ((blk & 1) * 4)) & 0xF;
  }

  /// The value of weight code c (less its zero point for integer codes).
  double codeValue(int c, int64_t n, int64_t blk) const {
    static const double nf4[16] = {-1.0,
                                   -0.6961928009986877,
                                   -0.5250730514526367,
                                   -0.39491748809814453,
                                   -0.28444138169288635,
                                   -0.18477343022823334,
                                   -0.09105003625154495,
                                   0.0,
                                   0.07958029955625534,
                                   0.16093020141124725,
                                   0.24611230194568634,
                                   0.33791524171829224,
                                   0.44070982933044434,
                                   0.5626170039176941,
                                   0.7229568362236023,
                                   1.0};
    if (format == "nf4")
      return double(float(nf4[c]));
    if (format == "fp8_e4m3")
      return e4m3(c);
    return double(c - zeroPoint(n, blk));
  }

  /// E4M3 code c by its definition: sign, 4 exponent bits biased by 7, 3
  /// mantissa bits, subnormals at exponent 0, S.1111.111 NaN.
  static double e4m3(int c) {
    const int e = (c >> 3) & 15, m = c & 7;
    const double sign = (c & 128) ? -1.0 : 1.0;
    if (e == 15 && m == 7)
      return NAN;
    return sign * (e == 0 ? m / 8.0 * std::pow(2.0, -6)
                          : (1 + m / 8.0) * std::pow(2.0, e - 7));
  }

  /// Activation x as the kernel multiplies it: rounded to the static grid
  /// (nearest, ties to even; int8 saturating at +-127 steps, E4M3 at
  /// +-448) when inputFormat says so.
  double activation(float x) const {
    if (inputFormat.empty())
      return x;
    const float v = x / inputScale;
    if (inputFormat == "int8")
      return double(float(
          std::nearbyint(std::min(127.0f, std::max(-127.0f, v))) * inputScale));
    // The nearest finite E4M3 value by search; ties to the even code.
    double best = 0;
    int bestCode = 0;
    for (int c = 0; c < 256; ++c) {
      const double value = e4m3(c);
      if (std::isnan(value))
        continue;
      const double d = std::fabs(value - v), bd = std::fabs(best - v);
      if (d < bd || (d == bd && (c & 1) == 0 && (bestCode & 1) == 1)) {
        best = value;
        bestCode = c;
      }
    }
    return double(float(best) * inputScale);
  }

  void check() const {
    std::vector<double> act(a.size());
    for (size_t i = 0; i < a.size(); ++i)
      act[i] = activation(a[i]);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        double sum = s.bias ? bias[size_t(n)] : 0.0;
        double magnitude = std::fabs(sum);
        for (int64_t k = 0; k < K; ++k) {
          const int64_t blk = k / s.blockSize;
          const double w = codeValue(code(n, k), n, blk) *
                           double(scales[size_t(n * kBlocks + blk)]);
          const double term = act[size_t(m * K + k)] * w;
          sum += term;
          magnitude += std::fabs(term);
        }
        // Each term is rounded at most twice (dequantized weight or block
        // scale, product) and each of at most K + 2 sums once, all by at most
        // 2^-24 relative, on values bounded by the sum of |terms|.
        const double bound =
            double(K + 4) * std::ldexp(1.0, -23) * magnitude + 1e-30;
        ASSERT_LE(std::fabs(out[size_t(m * s.N + n)] - sum), bound)
            << nbitsPath(s.blockSize).name << " bits=" << s.bits
            << " block=" << s.blockSize << " M=" << M << " N=" << s.N
            << " K=" << K << " zp=" << s.zeroPoints << " bias=" << s.bias
            << " f16=" << s.halfScales << " format=" << format
            << " i8 scales=" << !scaleCodes.empty() << " input=" << inputFormat
            << " at (" << m << ", " << n << ")";
      }
  }

  /// accuracy_level 4: each A element is replaced by sa * q, sa = amax / 127
  /// of its block and |q - a / sa| <= 1/2, so it moves by at most sa / 2
  /// (plus float rounding of a * (127 / amax), far below 10^-3 of that);
  /// on top, float rounding as in check() of values bounded by the sum of
  /// |terms| plus that quantization error. Then, much tighter, against the
  /// int8 computation replayed exactly.
  void checkInt8() const {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        double sum = s.bias ? bias[size_t(n)] : 0.0;
        double magnitude = std::fabs(sum), quantization = 0;
        for (int64_t blk = 0; blk < kBlocks; ++blk) {
          const int64_t k0 = blk * s.blockSize;
          const int64_t k1 = std::min(K, k0 + s.blockSize);
          double amax = 0, weights = 0;
          for (int64_t k = k0; k < k1; ++k) {
            const double w = double(code(n, k) - zeroPoint(n, blk)) *
                             double(scales[size_t(n * kBlocks + blk)]);
            const double term = double(a[size_t(m * K + k)]) * w;
            sum += term;
            magnitude += std::fabs(term);
            weights += std::fabs(w);
            amax = std::max(amax, std::fabs(double(a[size_t(m * K + k)])));
          }
          quantization += 0.5 * 1.001 * (amax / 127) * weights;
        }
        const double bound =
            quantization +
            double(K + 8) * std::ldexp(1.0, -23) * (magnitude + quantization) +
            1e-30;
        // The documented int8 numerics replayed exactly: then only the float
        // sums of scaled integer partial sums round.
        double replay = s.bias ? bias[size_t(n)] : 0.0;
        double terms = std::fabs(replay);
        for (int64_t blk = 0; blk < kBlocks; ++blk) {
          const int64_t k0 = blk * s.blockSize;
          const int64_t k1 = std::min(K, k0 + s.blockSize);
          float amax = 0.0f;
          for (int64_t k = k0; k < k1; ++k)
            amax = std::max(amax, std::fabs(a[size_t(m * K + k)]));
          const float sa = amax / 127.0f;
          const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
          int64_t dot = 0, dotMagnitude = 0;
          for (int64_t k = k0; k < k1; ++k) {
            const int64_t product =
                int64_t(std::nearbyint(a[size_t(m * K + k)] * inv)) *
                (code(n, k) - zeroPoint(n, blk));
            dot += product;
            dotMagnitude += product < 0 ? -product : product;
          }
          const double scale = double(sa * scales[size_t(n * kBlocks + blk)]);
          replay += scale * double(dot);
          // Partial sums of the block (per SIMD lane) may round too.
          terms += std::fabs(scale) * double(dotMagnitude);
        }
        ASSERT_LE(std::fabs(out[size_t(m * s.N + n)] - replay),
                  double(K + 8) * std::ldexp(1.0, -23) * terms + 1e-30)
            << "int8 replay, bits=" << s.bits << " block=" << s.blockSize
            << " M=" << M << " N=" << s.N << " K=" << K << " at (" << m << ", "
            << n << ")";
        ASSERT_LE(std::fabs(out[size_t(m * s.N + n)] - sum), bound)
            << "int8 bits=" << s.bits << " block=" << s.blockSize << " M=" << M
            << " N=" << s.N << " K=" << K << " zp=" << s.zeroPoints
            << " bias=" << s.bias << " f16=" << s.halfScales << " at (" << m
            << ", " << n << ")";
      }
  }
};

} // namespace azr_test

#endif // AZR_TEST_NBITS_PROBLEM_H
