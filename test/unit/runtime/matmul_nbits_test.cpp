// The matmul_nbits kernel (onnxruntime's MatMulNBits with float
// activations) against a double-precision reference that dequantizes by
// hand, on awkward shapes: K not a multiple of the block size (the last
// block partial, its padding codes garbage that must be ignored), N and M
// around the tile sizes, 4 and 8 bits, with and without zero points and
// bias, f32 and f16 scales, through decode (few rows) and tiles (many
// rows). CTest runs these once per ISA path as well
// (azr_kernels_on_*), forcing the narrower ones with AZR_CPU_DISABLE.

#include "nbits_problem.h"

#include <cmath>
#include <cstdio>

using namespace azr::cpu;
using namespace azr_test;

namespace {

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
