// The matmul_nbits kernel (onnxruntime's MatMulNBits with float
// activations) against a double-precision reference that dequantizes by
// hand, on awkward shapes: K not a multiple of the block size (the last
// block partial, its padding codes garbage that must be ignored), N and M
// around the tile sizes, 4 and 8 bits, with and without zero points and
// bias, f32 and f16 scales, through decode (few rows) and tiles (many
// rows). CTest runs these once per ISA path as well
// (azr_kernels_on_*), forcing the narrower ones with AZR_CPU_DISABLE.

#include "kernel_test_util.h"

#include "cpu/cast.h"
#include "cpu/matmul_nbits.h"

#include <cmath>
#include <cstdio>

using namespace azr::cpu;
using namespace azr_test;

namespace {

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
    return azr_test::run("matmul_nbits", inputs(), {f32(out, outDims())},
                         attrs(), pool);
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

TEST(CpuMatMulNBits, MatchesDoubleReferenceOnAwkwardShapes) {
  std::printf("matmul_nbits path: %s (block 16: %s)\n", nbitsPath(32).name,
              nbitsPath(16).name);
  std::mt19937 flags(11);
  unsigned seed = 100;
  for (int bits : {4, 8})
    for (int64_t blockSize : {16, 32, 128})
      for (int64_t K : {16, 100, 300})
        for (int64_t N : {1, 17, 257})
          for (int64_t M : {1, 3, 5, 73}) {
            const unsigned f = flags();
            Problem p({{M, K},
                       N,
                       blockSize,
                       bits,
                       (f & 1) != 0,
                       (f & 2) != 0,
                       (f & 4) != 0},
                      seed += 10);
            ASSERT_OK(p.run());
            p.check();
            if (HasFatalFailure())
              return;
          }
}

TEST(CpuMatMulNBits, TilesMatchDoubleReferenceOnAwkwardShapes) {
  // More rows than nbitsDecodeMaxRows: the packed f32 tiles.
  std::mt19937 flags(12);
  unsigned seed = 3000;
  for (int bits : {4, 8})
    for (int64_t blockSize : {16, 32, 128})
      for (int64_t K : {100, 300})
        for (int64_t N : {17, 257}) {
          const int64_t M = nbitsDecodeMaxRows(bits) + 1 + (seed % 7);
          const unsigned f = flags();
          Problem p({{M, K},
                     N,
                     blockSize,
                     bits,
                     (f & 1) != 0,
                     (f & 2) != 0,
                     (f & 4) != 0},
                    seed += 10);
          ASSERT_OK(p.run());
          p.check();
          if (HasFatalFailure())
            return;
        }
}

TEST(CpuMatMulNBits, Int8ActivationsWithinTheirRoundingBound) {
  // Without an int8 path (forced narrower ones too) level 4 is f32.
  const bool int8Path = nbitsInt8Path() != nullptr;
  std::printf("matmul_nbits accuracy_level 4: %s\n",
              int8Path ? "avx512_vnni" : "f32 (no int8 path)");
  std::mt19937 flags(13);
  unsigned seed = 7000;
  for (int bits : {4, 8})
    for (int64_t blockSize : {16, 32, 64, 128, 256})
      for (int64_t K : {40, 300})
        for (int64_t N : {1, 17, 75}) // 75: panels of 32 and tiles of 64
          for (int64_t M : {1, 3, 5, 150}) {
            const unsigned f = flags();
            Problem p({{M, K},
                       N,
                       blockSize,
                       bits,
                       (f & 1) != 0,
                       (f & 2) != 0,
                       (f & 4) != 0},
                      seed += 10);
            p.accuracyLevel = 4;
            ASSERT_OK(p.run());
            if (int8Path)
              p.checkInt8();
            else
              p.check();
            if (HasFatalFailure())
              return;
          }
  // The int8 mode really is a different computation (or exactly level 0's).
  Problem f32({{2, 300}, 17, 32, 4, true, false, false}, 5);
  Problem int8 = f32;
  int8.accuracyLevel = 4;
  ASSERT_OK(f32.run());
  ASSERT_OK(int8.run());
  if (int8Path)
    EXPECT_NE(f32.out, int8.out);
  else
    EXPECT_EQ(f32.out, int8.out);
  // Blocks past kNBitsInt8MaxBlock are computed in f32.
  Problem big({{3, 600}, 9, 512, 4, true, true, false}, 1);
  big.accuracyLevel = 4;
  ASSERT_OK(big.run());
  big.check();
}

// NF4 (with f32, f16 or double-quantized scales) and FP8 E4M3 codes through
// every path: decode, tiles, portable (the ctest runs per ISA).
TEST(CpuMatMulNBits, CodebookWeightsMatchDoubleReference) {
  unsigned seed = 9000;
  for (const char *format : {"nf4", "fp8_e4m3"})
    for (int scaleKind = 0; scaleKind < 3; ++scaleKind)
      for (int64_t blockSize : {16, 64})
        for (int64_t M : {int64_t(1), int64_t(3), int64_t(6), int64_t(150)}) {
          const int bits = std::string(format) == "nf4" ? 4 : 8;
          seed += 10;
          Problem p({{M, 300},
                     37,
                     blockSize,
                     bits,
                     false,
                     (seed & 16) != 0,
                     scaleKind == 1},
                    seed);
          p.format = format;
          // The E4M3 NaN codes (S.1111.111) are no weights.
          if (bits == 8)
            for (uint8_t &c : p.b)
              if ((c & 0x7F) == 0x7F)
                c ^= 1;
          if (scaleKind == 2)
            p.quantizeScales(seed + 5);
          ASSERT_OK(p.run());
          p.check();
          if (HasFatalFailure())
            return;
        }
}

// Static activation quantization: int8 (the int8 path where there is one,
// else rounded and multiplied in f32) and E4M3, against the rounded
// activations multiplied exactly. Some activations pass the grid's range
// and saturate.
TEST(CpuMatMulNBits, StaticInputQuantizationMatchesRoundedReference) {
  unsigned seed = 11000;
  for (const char *input : {"int8", "fp8_e4m3"})
    for (int bits : {4, 8})
      for (int64_t M : {int64_t(1), int64_t(5), int64_t(150)}) {
        seed += 10;
        Problem p({{M, 200}, 33, 32, bits, (seed & 32) != 0, true, false},
                  seed);
        p.inputFormat = input;
        // Activations are in [-1, 1]: amax 0.8 clips the largest.
        p.inputScale = std::string(input) == "int8" ? 0.8f / 127 : 0.8f / 448;
        ASSERT_OK(p.run());
        p.check();
        if (HasFatalFailure())
          return;
      }
  // Rounding really happens: the result differs from unquantized inputs.
  Problem plain({{2, 200}, 17, 32, 8, false, false, false}, 3);
  Problem quantized = plain;
  quantized.inputFormat = "int8";
  quantized.inputScale = 1.0f / 127;
  ASSERT_OK(plain.run());
  ASSERT_OK(quantized.run());
  EXPECT_NE(plain.out, quantized.out);
}

TEST(CpuMatMulNBits, EveryOptionalOperandCombination) {
  unsigned seed = 5000;
  for (int bits : {4, 8})
    for (int64_t M : {int64_t(1), int64_t(2), int64_t(4), int64_t(5),
                      nbitsDecodeMaxRows(bits) + 1})
      for (int options = 0; options < 8; ++options) {
        Problem p({{M, 200},
                   33,
                   64,
                   bits,
                   (options & 1) != 0,
                   (options & 2) != 0,
                   (options & 4) != 0},
                  seed += 10);
        ASSERT_OK(p.run());
        p.check();
        if (HasFatalFailure())
          return;
      }
}

// The epilogue of matmul: activation(product + bias + residual). With relu
// and clip the result is exactly the epilogue applied to the plain product,
// on the decode path (4 rows), the tiles (300 rows) and the int8 path.
TEST(CpuMatMulNBits, ResidualAndActivationEpilogue) {
  for (int64_t M : {int64_t(4), int64_t(300)})
    for (int64_t level : {int64_t(0), int64_t(4)}) {
      Problem p({{M, 96}, 40, 32, 4, true, true, false}, 500 + M);
      p.accuracyLevel = level;
      ASSERT_OK(p.run());
      const std::vector<float> plain = p.out;
      std::vector<float> residual = randomValues(M * 40, 600 + M);
      for (const char *activation : {"relu", "clip"}) {
        MapAttrs attrs = p.attrs();
        attrs.strings["activation"] = activation;
        if (std::string(activation) == "clip") {
          attrs.floats["clip_min"] = -0.5;
          attrs.floats["clip_max"] = 0.25;
        }
        std::vector<Tensor> in = p.inputs();
        in.push_back(f32(residual, p.outDims()));
        std::vector<float> out(plain.size(), NAN);
        ASSERT_OK(
            azr_test::run("matmul_nbits", in, {f32(out, p.outDims())}, attrs));
        for (size_t i = 0; i < out.size(); ++i) {
          const float sum = plain[i] + residual[i];
          const float want = std::string(activation) == "relu"
                                 ? std::max(sum, 0.0f)
                                 : std::min(std::max(sum, -0.5f), 0.25f);
          ASSERT_EQ(out[i], want)
              << activation << " M=" << M << " level=" << level << " at " << i;
        }
      }
    }
}

TEST(CpuMatMulNBits, LeadingDimsAreRows) {
  // [2, 2, K] is 4 rows (one decode group), [2, 3, K] 6 (two groups),
  // [3, 50, K] 150 (tiles); 1-D A is a row.
  for (const Dims &aDims :
       {Dims{2, 2, 96}, Dims{2, 3, 96}, Dims{3, 50, 96}, Dims{96}}) {
    Problem p({aDims, 40, 32, 4, true, true, false}, 77);
    ASSERT_OK(p.run());
    p.check();
  }
}

TEST(CpuMatMulNBits, LargeBlocksAndManyRows) {
  // Blocks longer than the packed K block of the tile, and more rows than
  // one row panel.
  Problem p({{300, 1100}, 70, 512, 4, true, false, true}, 99);
  ASSERT_OK(p.run());
  p.check();
  Problem q({{2, 1100}, 70, 1024, 8, false, true, false}, 98);
  ASSERT_OK(q.run());
  q.check();
}

TEST(CpuMatMulNBits, SameBitsOnAnyThreadCount) {
  auto one = makeThreadPool(1), two = makeThreadPool(2);
  for (int64_t M :
       {int64_t(1), int64_t(4), int64_t(9), nbitsDecodeMaxRows(4) + 3}) {
    Problem p({{M, 520}, 300, 32, 4, true, true, false}, 3);
    Problem q = p;
    ASSERT_OK(p.run(one.get()));
    ASSERT_OK(q.run(two.get()));
    EXPECT_EQ(p.out, q.out) << "M=" << M;
  }
}

TEST(CpuMatMulNBits, DecodedRowDoesNotDependOnItsGroup) {
  // Row 5 of 7 (in the second group of 4) alone gives the same bits.
  Problem all({{7, 300}, 40, 32, 4, true, false, true}, 8);
  ASSERT_OK(all.run());
  Problem one({{1, 300}, 40, 32, 4, true, false, true}, 8);
  one.b = all.b;
  one.scales = all.scales;
  one.halfScales = all.halfScales;
  one.zp = all.zp;
  std::copy(all.a.begin() + 5 * 300, all.a.begin() + 6 * 300, one.a.begin());
  ASSERT_OK(one.run());
  for (int64_t n = 0; n < 40; ++n)
    EXPECT_EQ(one.out[size_t(n)], all.out[size_t(5 * 40 + n)]) << n;
}

TEST(CpuMatMulNBits, RefusesBadShapesAndAttributes) {
  Problem good({{3, 100}, 17, 32, 4, true, true, false}, 1);
  ASSERT_OK(good.run());
  auto runWith = [&](std::vector<Tensor> in, const MapAttrs &attrs,
                     std::vector<Tensor> out = {}) {
    if (out.empty())
      out = {f32(good.out, good.outDims())};
    return run("matmul_nbits", in, out, attrs);
  };
  const MapAttrs attrs = good.attrs();
  auto withAttr = [&](const char *name, int64_t value) {
    MapAttrs at = attrs;
    at.ints[name] = value;
    return at;
  };
  auto expectRefused = [&](const std::string &status, const char *part) {
    EXPECT_TRUE(contains(status, "INVALID_ARGUMENT") && contains(status, part))
        << status;
  };
  std::vector<Tensor> in = good.inputs();

  MapAttrs noBits = attrs;
  noBits.ints.erase("bits");
  expectRefused(runWith(in, noBits), "missing attribute bits");
  expectRefused(runWith(in, withAttr("bits", 3)), "bits must be 4 or 8");
  expectRefused(runWith(in, withAttr("bits", 2)), "bits must be 4 or 8");
  expectRefused(runWith(in, withAttr("block_size", 24)), "power of two");
  expectRefused(runWith(in, withAttr("block_size", 8)), "power of two");
  expectRefused(runWith(in, withAttr("K", 0)), "K and N");
  expectRefused(runWith(in, withAttr("K", 99)), "does not end in K=99");
  expectRefused(runWith(in, withAttr("N", 16)), "b must be u8 [16, 4, 16]");
  expectRefused(runWith(in, withAttr("accuracy_level", 5)), "accuracy_level");
  expectRefused(runWith({in[0], in[1]}, attrs), "operands");

  std::vector<Tensor> bad = in;
  bad[1].dims[2] = 32; // an 8-bit blob with bits = 4
  expectRefused(runWith(bad, attrs), "blob size");
  bad = in;
  bad[2].dims[0] -= 1;
  expectRefused(runWith(bad, attrs), "scales must be f32, f16 or i8");
  bad = in;
  bad[2].dtype = DType::f64;
  expectRefused(runWith(bad, attrs), "scales must be f32, f16 or i8");
  bad = in;
  bad[3].dims[0] = 17 * 4; // unpacked 4-bit zero points
  expectRefused(runWith(bad, attrs), "zero_points must be packed u8");
  bad = in;
  bad[3].dtype = DType::i8;
  expectRefused(runWith(bad, attrs), "zero_points must be packed u8");
  bad = in;
  bad[4].dims[0] = 16;
  expectRefused(runWith(bad, attrs), "bias must be f32");
  bad = in;
  bad[0].dtype = DType::f64;
  expectRefused(runWith(bad, attrs), "a must be f32");

  auto withString = [&](const char *name, const char *value) {
    MapAttrs at = attrs;
    at.strings[name] = value;
    return at;
  };
  expectRefused(runWith(in, withString("weight_format", "nf5")),
                "weight_format must be int, nf4 or fp8_e4m3");
  expectRefused(runWith(in, withString("weight_format", "fp8_e4m3")),
                "weight_format fp8_e4m3 needs bits 8");
  expectRefused(runWith(in, withString("weight_format", "nf4")),
                "takes no zero points");
  expectRefused(runWith(in, withString("input_format", "int4")),
                "input_format must be int8 or fp8_e4m3");
  expectRefused(runWith(in, withString("input_format", "int8")),
                "needs a positive finite input_scale");
  bad = in;
  std::vector<int8_t> scaleCodes(17 * 4);
  bad[2] = view(scaleCodes, DType::i8, {17 * 4});
  expectRefused(runWith(bad, attrs), "i8 scales need scale_steps");

  std::vector<float> wrong(size_t(3 * 18));
  expectRefused(runWith(in, attrs, {f32(wrong, {3, 18})}), "result must be");
  expectRefused(runWith(in, attrs, {f32(wrong, {54})}), "result must be");
}

} // namespace
