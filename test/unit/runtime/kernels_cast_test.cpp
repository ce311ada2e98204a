//===- kernels_cast_test.cpp - casts to and from FP8 and 4/2-bit integers -===//
//
// The expected values are the formats' definitions worked by hand: the
// largest finite value, the smallest subnormal, the NaN and infinity codes
// of each FP8 format (as the OCP FP8 specification and ONNX's FNUZ table
// give them), and ties between neighbouring codes. No tolerance: every
// conversion here is exact or rounds to one defined code.
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "kernel_test_util.h"

#include <cmath>
#include <limits>

using namespace azr::cpu;
using namespace azr_test;

namespace {

struct Fp8Case {
  Fp8Format format;
  DType dtype;
  float largest, smallestSubnormal;
  uint8_t largestCode, nanCode;
  int infinityCode; // -1 when the format has none
};

const Fp8Case kFormats[] = {
    {Fp8Format::E4M3FN, DType::f8e4m3fn, 448.0f, 0x1p-9f, 0x7E, 0x7F, -1},
    {Fp8Format::E4M3FNUZ, DType::f8e4m3fnuz, 240.0f, 0x1p-10f, 0x7F, 0x80, -1},
    {Fp8Format::E5M2, DType::f8e5m2, 57344.0f, 0x1p-16f, 0x7B, 0x7F, 0x7C},
    {Fp8Format::E5M2FNUZ, DType::f8e5m2fnuz, 57344.0f, 0x1p-17f, 0x7F, 0x80,
     -1},
};

TEST(CastFp8, DefiningValuesOfEachFormat) {
  for (const Fp8Case &c : kFormats) {
    SCOPED_TRACE(dtypeName(c.dtype));
    EXPECT_EQ(fp8ToFloat(c.format, c.largestCode), c.largest);
    EXPECT_EQ(fp8ToFloat(c.format, 0x01), c.smallestSubnormal);
    EXPECT_EQ(fp8ToFloat(c.format, 0x80 | c.largestCode), -c.largest);
    EXPECT_TRUE(std::isnan(fp8ToFloat(c.format, c.nanCode)));
    if (c.infinityCode >= 0)
      EXPECT_EQ(fp8ToFloat(c.format, uint8_t(c.infinityCode)),
                std::numeric_limits<float>::infinity());
    EXPECT_EQ(fp8ToFloat(c.format, 0x00), 0.0f);
  }
}

TEST(CastFp8, EveryFiniteCodeRoundTripsAndMidpointsTieToEven) {
  for (const Fp8Case &c : kFormats) {
    SCOPED_TRACE(dtypeName(c.dtype));
    for (int code = 0; code <= c.largestCode; ++code) {
      const float value = fp8ToFloat(c.format, uint8_t(code));
      ASSERT_EQ(floatToFp8(c.format, value, true), code) << value;
      if (code == c.largestCode)
        continue;
      // Halfway to the next code: the even code (last bit 0) wins.
      const float next = fp8ToFloat(c.format, uint8_t(code + 1));
      const float middle = (value + next) / 2; // exact: few bits
      const int even = code % 2 == 0 ? code : code + 1;
      ASSERT_EQ(floatToFp8(c.format, middle, true), even) << middle;
      ASSERT_EQ(floatToFp8(c.format, std::nextafter(middle, 0.0f), true), code);
    }
  }
}

TEST(CastFp8, OverflowSaturatesOrBecomesInfinityOrNan) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const Fp8Case &c : kFormats) {
    SCOPED_TRACE(dtypeName(c.dtype));
    for (float big : {c.largest * 2, 1e30f, inf}) {
      EXPECT_EQ(floatToFp8(c.format, big, true), c.largestCode);
      EXPECT_EQ(floatToFp8(c.format, -big, true), 0x80 | c.largestCode);
      const uint8_t unsaturated = floatToFp8(c.format, big, false);
      if (c.infinityCode >= 0)
        EXPECT_EQ(unsaturated, c.infinityCode);
      else
        EXPECT_TRUE(std::isnan(fp8ToFloat(c.format, unsaturated)));
    }
    EXPECT_TRUE(std::isnan(fp8ToFloat(
        c.format,
        floatToFp8(c.format, std::numeric_limits<float>::quiet_NaN(), true))));
    // Negative zero has a code only where zero is signed.
    const bool signedZero =
        c.format == Fp8Format::E4M3FN || c.format == Fp8Format::E5M2;
    EXPECT_EQ(floatToFp8(c.format, -0.0f, true), signedZero ? 0x80 : 0x00);
  }
}

TEST(CastFp8, AgreesWithTheKvCacheE4M3Encoder) {
  // floatToE4M3 is the KV cache's own encoder, written separately.
  for (float f = -500.0f; f <= 500.0f; f += 0.0625f)
    ASSERT_EQ(floatToFp8(Fp8Format::E4M3FN, f, true), floatToE4M3(f)) << f;
  for (int e = -14; e <= 0; ++e)
    for (float m : {1.0f, 1.0625f, 1.5f, 1.9375f})
      ASSERT_EQ(floatToFp8(Fp8Format::E4M3FN, std::ldexp(m, e), true),
                floatToE4M3(std::ldexp(m, e)));
}

TEST(CastFp8, KernelConvertsF32AndF16AndHonoursSaturate) {
  std::vector<float> x = {0.5f, -3.0f, 1e6f, 0.1f};
  std::vector<uint8_t> y(4);
  ASSERT_OK(
      run("cast", {view(x, DType::f32, {4})}, {view(y, DType::f8e5m2, {4})}));
  // 0.5 = 1.0 * 2^-1 (exponent field 14); -3 = 1.5 * 2^1; 0.1 rounds to
  // 0.09375 = 1.5 * 2^-4 (field 11, mantissa 10b).
  EXPECT_EQ(y, (std::vector<uint8_t>{0x38, 0xC2, 0x7B, 0x2E}));
  MapAttrs noSaturate;
  noSaturate.ints["saturate"] = 0;
  ASSERT_OK(run("cast", {view(x, DType::f32, {4})},
                {view(y, DType::f8e5m2, {4})}, noSaturate));
  EXPECT_EQ(y[2], 0x7C); // infinity
  std::vector<float> back(4);
  ASSERT_OK(run("cast", {view(y, DType::f8e5m2, {4})},
                {view(back, DType::f32, {4})}));
  EXPECT_EQ(back[1], -3.0f);
  EXPECT_EQ(back[3], 0.09375f);
  std::vector<uint16_t> half = {0x3C00, 0xC000}; // 1.0, -2.0
  std::vector<uint8_t> e4m3(2);
  ASSERT_OK(run("cast", {view(half, DType::f16, {2})},
                {view(e4m3, DType::f8e4m3fnuz, {2})}));
  // Bias 8: 1.0 has exponent field 8, -2.0 field 9 and the sign.
  EXPECT_EQ(e4m3, (std::vector<uint8_t>{0x40, 0xC8}));
}

TEST(CastNarrowInt, WrapsLikeTwosComplementAndSignExtends) {
  std::vector<float> x = {-9.0f, -8.0f, 7.0f, 8.0f, 15.0f, 2.7f, -2.7f};
  std::vector<int8_t> i4(7);
  ASSERT_OK(
      run("cast", {view(x, DType::f32, {7})}, {view(i4, DType::i4, {7})}));
  // Floats truncate toward zero, then wrap modulo 16 into [-8, 7].
  EXPECT_EQ(i4, (std::vector<int8_t>{7, -8, 7, -8, -1, 2, -2}));
  std::vector<uint8_t> u2(7);
  ASSERT_OK(
      run("cast", {view(x, DType::f32, {7})}, {view(u2, DType::u2, {7})}));
  EXPECT_EQ(u2, (std::vector<uint8_t>{3, 0, 3, 0, 3, 2, 2}));
  std::vector<int8_t> i2(7);
  ASSERT_OK(
      run("cast", {view(x, DType::f32, {7})}, {view(i2, DType::i2, {7})}));
  EXPECT_EQ(i2, (std::vector<int8_t>{-1, 0, -1, 0, -1, -2, -2}));
  std::vector<float> back(7);
  ASSERT_OK(
      run("cast", {view(i4, DType::i4, {7})}, {view(back, DType::f32, {7})}));
  EXPECT_EQ(back, (std::vector<float>{7, -8, 7, -8, -1, 2, -2}));
}

TEST(CastFp4, EveryCodeRoundTripsTiesGoEvenAndBeyondSixSaturates) {
  const float magnitudes[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (uint8_t code = 0; code < 16; ++code) {
    const float value = fp4ToFloat(code);
    EXPECT_EQ(std::fabs(value), magnitudes[code & 7]);
    EXPECT_EQ(std::signbit(value), (code & 8) != 0);
    EXPECT_EQ(floatToFp4(value), code);
  }
  // Halfway points: 0.25 (0 or 0.5), 1.25 (1 or 1.5), 2.5, 3.5, 5: the
  // even code wins (codes 0, 2, 4, 6, 6).
  EXPECT_EQ(floatToFp4(0.25f), 0);
  EXPECT_EQ(floatToFp4(1.25f), 2);
  EXPECT_EQ(floatToFp4(2.5f), 4);
  EXPECT_EQ(floatToFp4(3.5f), 6);
  EXPECT_EQ(floatToFp4(5.0f), 6);
  EXPECT_EQ(floatToFp4(5.01f), 7);
  EXPECT_EQ(floatToFp4(-1e30f), 0xF);
  EXPECT_EQ(floatToFp4(std::numeric_limits<float>::infinity()), 7);
  EXPECT_EQ(floatToFp4(std::numeric_limits<float>::quiet_NaN()), 0x8);
}

TEST(CastE8M0, PowersOfTwoAndTheThreeRoundingModes) {
  EXPECT_EQ(e8m0ToFloat(127), 1.0f);
  EXPECT_EQ(e8m0ToFloat(0), std::ldexp(1.0f, -127));
  EXPECT_EQ(e8m0ToFloat(254), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(e8m0ToFloat(255)));
  const bool saturate = true;
  // 1.5 = 1.1b * 2^0: up -> 2, down -> 1, nearest (the half) -> 2.
  EXPECT_EQ(floatToE8M0(1.5f, saturate, E8M0Rounding::Up), 128);
  EXPECT_EQ(floatToE8M0(1.5f, saturate, E8M0Rounding::Down), 127);
  EXPECT_EQ(floatToE8M0(1.5f, saturate, E8M0Rounding::Nearest), 128);
  // 1.25 is below the half: nearest goes down, up still goes up.
  EXPECT_EQ(floatToE8M0(1.25f, saturate, E8M0Rounding::Nearest), 127);
  EXPECT_EQ(floatToE8M0(1.25f, saturate, E8M0Rounding::Up), 128);
  EXPECT_EQ(floatToE8M0(-4.0f, saturate, E8M0Rounding::Up), 129); // no sign
  // Just under 2^128 rounds up to NaN unless saturating.
  const float top = std::numeric_limits<float>::max();
  EXPECT_EQ(floatToE8M0(top, true, E8M0Rounding::Up), 254);
  EXPECT_EQ(floatToE8M0(top, false, E8M0Rounding::Up), 255);
  EXPECT_EQ(floatToE8M0(std::numeric_limits<float>::infinity(), true,
                        E8M0Rounding::Up),
            255);
  // Through the kernel, with round_mode as an attribute.
  std::vector<float> x = {1.5f, 3.0f};
  std::vector<uint8_t> y(2);
  MapAttrs down;
  down.strings["round_mode"] = "down";
  ASSERT_OK(run("cast", {view(x, DType::f32, {2})},
                {view(y, DType::f8e8m0fnu, {2})}, down));
  EXPECT_EQ(y, (std::vector<uint8_t>{127, 128}));
}

} // namespace
