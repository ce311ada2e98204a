// matmul_nbits_packed: weights stored in the int8 tiles' panels at build.
// Against the same references as matmul_nbits (the int8 computation
// replayed exactly where there is an int8 path, else the double sum), on
// the same awkward shapes, and bit for bit against matmul_nbits' own tiles,
// which pack the same panels at run time. CTest runs these once per ISA
// path too (azr_kernels_on_*): without VNNI the panels go through the f32
// tile.

#include "nbits_problem.h"

#include <cstdio>

using namespace azr::cpu;
using namespace azr_test;

namespace {

TEST(CpuMatMulNBitsPacked, MatchesReferencesOnAwkwardShapes) {
  const bool int8Path = nbitsInt8Path() != nullptr;
  std::printf("matmul_nbits_packed: %s\n",
              int8Path ? "avx512_vnni panels" : "f32 tiles (no int8 path)");
  std::mt19937 flags(21);
  unsigned seed = 30000;
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
            p.packed = true;
            ASSERT_OK(p.run());
            if (int8Path)
              p.checkInt8();
            else
              p.check();
            if (HasFatalFailure())
              return;
          }
}

TEST(CpuMatMulNBitsPacked, EqualsMatmulNBitsTilesBitForBit) {
  if (!nbitsInt8Path())
    GTEST_SKIP() << "no int8 path on this CPU: both are f32, in different "
                    "orders";
  unsigned seed = 31000;
  for (int bits : {4, 8})
    for (int64_t M : {int64_t(5), int64_t(150)})
      for (bool zp : {false, true}) {
        Problem unpacked({{M, 300}, 75, 32, bits, zp, true, bits == 4}, seed++);
        unpacked.accuracyLevel = 4;
        Problem packed = unpacked;
        packed.packed = true;
        ASSERT_OK(unpacked.run());
        ASSERT_OK(packed.run());
        EXPECT_EQ(packed.out, unpacked.out)
            << "bits=" << bits << " M=" << M << " zp=" << zp;
      }
}

// Static int8 inputs: rounded to the grid (saturating), then multiplied
// exactly in int8 or, without the int8 path, in f32.
TEST(CpuMatMulNBitsPacked, StaticInputScale) {
  unsigned seed = 32000;
  for (int bits : {4, 8})
    for (int64_t M : {int64_t(1), int64_t(5), int64_t(150)}) {
      seed += 7;
      Problem p({{M, 200}, 33, 32, bits, (seed & 1) != 0, true, false}, seed);
      p.packed = true;
      p.inputFormat = "int8";
      p.inputScale = 0.8f / 127; // activations in [-1, 1]: some saturate
      ASSERT_OK(p.run());
      p.check();
      if (HasFatalFailure())
        return;
    }
}

TEST(CpuMatMulNBitsPacked, SameBitsOnAnyThreadCount) {
  Problem one({{70, 300}, 200, 32, 4, true, true, false}, 5);
  one.packed = true;
  Problem two = one;
  auto pool = makeThreadPool(2);
  ASSERT_OK(one.run());
  ASSERT_OK(two.run(pool.get()));
  EXPECT_EQ(one.out, two.out);
}

TEST(CpuMatMulNBitsPacked, RefusesBadShapesAndAttributes) {
  Problem p({{2, 64}, 40, 32, 4, true, false, false}, 9);
  p.packPanels();
  const int64_t kBlocks = 2;
  auto runWith = [&](const Tensor &codes, const Tensor &scales,
                     const Tensor &zp, MapAttrs at) {
    return run("matmul_nbits_packed", {f32(p.a, {2, 64}), codes, scales, zp},
               {f32(p.out, {2, 40})}, at);
  };
  auto expectRefused = [&](const std::string &status, const char *part) {
    EXPECT_TRUE(contains(status, "INVALID_ARGUMENT") && contains(status, part))
        << status;
  };
  MapAttrs good;
  good.ints = {{"K", 64}, {"N", 40}, {"bits", 4}, {"block_size", 32}};
  const Tensor codes = view(p.panelCodes, DType::u8, {2, 8, 32, 4});
  const Tensor scales = f32(p.panelScales, {2, kBlocks, 32});
  const Tensor zp = view(p.panelZp, DType::u8, {2, kBlocks, 32});
  ASSERT_OK(runWith(codes, scales, zp, good));
  expectRefused(
      runWith(view(p.panelCodes, DType::u8, {1, 16, 32, 4}), scales, zp, good),
      "weight must be u8 [2, 8, 32, 4]");
  expectRefused(runWith(codes, f32(p.panelScales, {2, 32, kBlocks}), zp, good),
                "scales must be");
  expectRefused(runWith(codes, scales,
                        view(p.panelZp, DType::u8, {1, 2 * kBlocks, 32}), good),
                "zero_points must be");
  MapAttrs badBlock = good;
  badBlock.ints["block_size"] = 512;
  expectRefused(runWith(codes, scales, zp, badBlock), "block_size");
  MapAttrs fp8 = good;
  fp8.strings["input_format"] = "fp8_e4m3";
  fp8.floats["input_scale"] = 0.01f;
  expectRefused(runWith(codes, scales, zp, fp8), "input_format must be int8");
  MapAttrs noScale = good;
  noScale.strings["input_format"] = "int8";
  expectRefused(runWith(codes, scales, zp, noScale), "input_scale");
}

} // namespace
