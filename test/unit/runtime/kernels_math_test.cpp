// Tests of the CPU math kernels (elementwise_math.cc, reduce_math.cc)
// against std:: math functions evaluated in double, naive loops and the
// examples of the ONNX operator documentation.
//
// Tolerances: integer results, selections (argmax, hardmax, sign, isnan)
// and exactly representable results are compared exactly. f32 results are
// compared with references in double; each bound is justified where used.

#include "cpu/cast.h"
#include "kernel_test_util.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace azr_test;

namespace {

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

struct UnaryCase {
  const char *op;
  double lo, hi; // the input domain sampled
  double (*ref)(double x, const MapAttrs &attrs);
};

double attr(const MapAttrs &a, const char *name, double otherwise) {
  return a.getFloat(name, otherwise);
}

const UnaryCase kUnary[] = {
    {"acos", -0.999, 0.999,
     [](double x, const MapAttrs &) { return std::acos(x); }},
    {"asin", -0.999, 0.999,
     [](double x, const MapAttrs &) { return std::asin(x); }},
    {"atan", -20, 20, [](double x, const MapAttrs &) { return std::atan(x); }},
    {"cos", -6, 6, [](double x, const MapAttrs &) { return std::cos(x); }},
    {"sin", -6, 6, [](double x, const MapAttrs &) { return std::sin(x); }},
    {"tan", -1.4, 1.4, [](double x, const MapAttrs &) { return std::tan(x); }},
    {"cosh", -5, 5, [](double x, const MapAttrs &) { return std::cosh(x); }},
    {"sinh", -5, 5, [](double x, const MapAttrs &) { return std::sinh(x); }},
    {"acosh", 1, 50, [](double x, const MapAttrs &) { return std::acosh(x); }},
    {"asinh", -50, 50,
     [](double x, const MapAttrs &) { return std::asinh(x); }},
    {"atanh", -0.99, 0.99,
     [](double x, const MapAttrs &) { return std::atanh(x); }},
    {"softplus", -30, 30,
     [](double x, const MapAttrs &) { return std::log(1 + std::exp(x)); }},
    {"softsign", -50, 50,
     [](double x, const MapAttrs &) { return x / (1 + std::fabs(x)); }},
    {"hard_swish", -5, 5,
     [](double x, const MapAttrs &) {
       return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
     }},
    {"leaky_relu", -5, 5,
     [](double x, const MapAttrs &a) {
       return x < 0 ? attr(a, "alpha", 0.01) * x : x;
     }},
    {"elu", -5, 5,
     [](double x, const MapAttrs &a) {
       return x < 0 ? attr(a, "alpha", 1.0) * (std::exp(x) - 1) : x;
     }},
    {"selu", -5, 5,
     [](double x, const MapAttrs &a) {
       const double alpha = attr(a, "alpha", 1.67326319217681884765625);
       const double gamma = attr(a, "gamma", 1.05070102214813232421875);
       return x <= 0 ? gamma * (alpha * std::exp(x) - alpha) : gamma * x;
     }},
    {"hard_sigmoid", -5, 5,
     [](double x, const MapAttrs &a) {
       return std::max(0.0, std::min(1.0, attr(a, "alpha", 0.2) * x +
                                              attr(a, "beta", 0.5)));
     }},
    {"thresholded_relu", -3, 3,
     [](double x, const MapAttrs &a) {
       return x > attr(a, "alpha", 1.0) ? x : 0.0;
     }},
    {"celu", -5, 5,
     [](double x, const MapAttrs &a) {
       const double alpha = attr(a, "alpha", 1.0);
       return std::max(0.0, x) +
              std::min(0.0, alpha * (std::exp(x / alpha) - 1));
     }},
};

// The float parameters given as attributes: ONNX's defaults (attributes
// absent), then other values.
MapAttrs customAttrs() {
  MapAttrs a;
  a.floats["alpha"] = 0.7;
  a.floats["beta"] = 0.25;
  a.floats["gamma"] = 2.5;
  return a;
}

TEST(CpuMath, UnaryFloatMatchesStdInDouble) {
  for (const UnaryCase &c : kUnary)
    for (const MapAttrs &attrs : {MapAttrs(), customAttrs()}) {
      SCOPED_TRACE(c.op);
      const Dims dims = {3, 7, 11}; // 231: not a multiple of any vector width
      auto x = randomValues<float>(numel(dims), 5, c.lo, c.hi);
      std::vector<float> y(x.size());
      ASSERT_OK(run(c.op, {f32(x, dims)}, {f32(y, dims)}, attrs));
      for (size_t i = 0; i < x.size(); ++i) {
        const double e = c.ref(x[i], attrs);
        // float libm is within a few ulps of the result; the activations
        // also round alpha/beta/gamma to float (relative 6e-8 each) and do
        // two or three float operations: 1e-6 relative plus 1e-7 absolute
        // (results near 0 where cancellation happens, e.g. sin near pi).
        ASSERT_NEAR(y[i], e, 1e-6 * std::fabs(e) + 1e-7) << "x = " << x[i];
      }
      std::vector<double> xd(x.begin(), x.end()), yd(x.size());
      ASSERT_OK(run(c.op, {f64(xd, dims)}, {f64(yd, dims)}, attrs));
      for (size_t i = 0; i < xd.size(); ++i) {
        const double e = c.ref(xd[i], attrs);
        // double libm and expm1/log1p rewritings of the reference formula:
        // a few ulps relative to the result plus 1e-15 absolute (where the
        // naive reference exp(x) - 1 cancels).
        ASSERT_NEAR(yd[i], e, 1e-13 * std::fabs(e) + 1e-15) << xd[i];
      }
    }
}

TEST(CpuMath, UnaryOnnxExamplesAndSpecialValues) {
  std::vector<float> x = {-1, 0, 1}, y(3);
  MapAttrs a;
  a.floats["alpha"] = 2;
  a.floats["gamma"] = 3;
  ASSERT_OK(run("selu", {f32(x, {3})}, {f32(y, {3})}, a));
  EXPECT_NEAR(y[0], -3.79272318, 1e-6); // ONNX doc values, 9 digits
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 3.0f);
  ASSERT_OK(run("elu", {f32(x, {3})}, {f32(y, {3})}, a));
  EXPECT_NEAR(y[0], -1.26424112, 1e-6);
  EXPECT_EQ(y[2], 1.0f);
  ASSERT_OK(run("celu", {f32(x, {3})}, {f32(y, {3})}, a));
  EXPECT_NEAR(y[0], 2 * (std::exp(-0.5) - 1), 1e-6);
  MapAttrs hs;
  hs.floats["alpha"] = 0.5;
  hs.floats["beta"] = 0.6;
  ASSERT_OK(run("hard_sigmoid", {f32(x, {3})}, {f32(y, {3})}, hs));
  EXPECT_NEAR(y[0], 0.1, 1e-7);
  EXPECT_NEAR(y[1], 0.6, 1e-7);
  EXPECT_EQ(y[2], 1.0f);
  std::vector<float> t = {-1.5f, 0, 1.2f, 2, 2.2f}, ty(5);
  ASSERT_OK(run("thresholded_relu", {f32(t, {5})}, {f32(ty, {5})}, a));
  EXPECT_EQ(ty, (std::vector<float>{0, 0, 0, 0, 2.2f}));

  // round: half to even, as the ONNX example.
  std::vector<float> r = {0.1f,  0.5f,  0.9f,  1.2f,  1.5f,  1.8f,
                          2.3f,  2.5f,  2.7f,  -1.1f, -1.5f, -1.9f,
                          -2.2f, -2.5f, -2.8f, -0.5f},
                     ry(16);
  ASSERT_OK(run("round", {f32(r, {16})}, {f32(ry, {16})}));
  EXPECT_EQ(ry, (std::vector<float>{0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2,
                                    -2, -3, -0.0f}));
  EXPECT_TRUE(std::signbit(ry[15])); // -0.5 rounds to -0

  // softplus does not overflow; softsign is +-1 at the infinities; NaN
  // propagates through every op.
  std::vector<double> big = {1000, -1000, 40}, by(3);
  ASSERT_OK(run("softplus", {f64(big, {3})}, {f64(by, {3})}));
  EXPECT_EQ(by[0], 1000.0);
  EXPECT_EQ(by[1], 0.0); // e^-1000 underflows
  EXPECT_NEAR(by[2], 40 + std::exp(-40.0), 1e-14);
  std::vector<float> fbig = {100, -100, 89}, fy(3);
  ASSERT_OK(run("softplus", {f32(fbig, {3})}, {f32(fy, {3})}));
  EXPECT_EQ(fy[0], 100.0f);
  EXPECT_NEAR(fy[1], std::exp(-100.0), 1e-45); // subnormal float
  EXPECT_EQ(fy[2], 89.0f);                     // e^89 overflows float
  std::vector<float> inf = {INFINITY, -INFINITY}, iy(2);
  ASSERT_OK(run("softsign", {f32(inf, {2})}, {f32(iy, {2})}));
  EXPECT_EQ(iy, (std::vector<float>{1, -1}));
  std::vector<float> nan = {NAN}, ny(1);
  for (const UnaryCase &c : kUnary) {
    ASSERT_OK(run(c.op, {f32(nan, {1})}, {f32(ny, {1})}));
    // thresholded_relu: NaN > alpha is false, so 0.
    if (std::string(c.op) != "thresholded_relu") {
      EXPECT_TRUE(std::isnan(ny[0])) << c.op;
    }
  }
}

TEST(CpuMath, UnaryErrors) {
  std::vector<int32_t> i(4), o(4);
  const std::string r =
      run("sin", {view(i, DType::i32, {4})}, {view(o, DType::i32, {4})});
  EXPECT_TRUE(contains(r, "UNIMPLEMENTED")) << r;
  EXPECT_TRUE(contains(r, "i32")) << r;
  std::vector<float> x(6), y(6);
  EXPECT_TRUE(contains(run("cos", {f32(x, {2, 3})}, {f32(y, {3, 2})}),
                       "INVALID_ARGUMENT"));
  std::vector<double> yd(6);
  EXPECT_NE(run("elu", {f32(x, {6})}, {f64(yd, {6})}), "");
  MapAttrs zero;
  zero.floats["alpha"] = 0;
  EXPECT_NE(run("celu", {f32(x, {6})}, {f32(y, {6})}, zero), "");
}

TEST(CpuMath, SignEveryNumericDtype) {
  std::vector<int8_t> i8 = {-128, -1, 0, 1, 127}, i8y(5);
  ASSERT_OK(
      run("sign", {view(i8, DType::i8, {5})}, {view(i8y, DType::i8, {5})}));
  EXPECT_EQ(i8y, (std::vector<int8_t>{-1, -1, 0, 1, 1}));
  std::vector<uint64_t> u = {0, 1, ~uint64_t(0)}, uy(3);
  ASSERT_OK(
      run("sign", {view(u, DType::u64, {3})}, {view(uy, DType::u64, {3})}));
  EXPECT_EQ(uy, (std::vector<uint64_t>{0, 1, 1}));
  std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), 5}, i64y(2);
  ASSERT_OK(
      run("sign", {view(i64, DType::i64, {2})}, {view(i64y, DType::i64, {2})}));
  EXPECT_EQ(i64y, (std::vector<int64_t>{-1, 1}));
  std::vector<float> f = {-INFINITY, -2.5f, -0.0f, 0, 1e-40f, NAN}, fy(6);
  ASSERT_OK(run("sign", {f32(f, {2, 3})}, {f32(fy, {2, 3})}));
  EXPECT_EQ(fy[0], -1.0f);
  EXPECT_EQ(fy[1], -1.0f);
  EXPECT_EQ(fy[2], 0.0f);
  EXPECT_EQ(fy[3], 0.0f);
  EXPECT_EQ(fy[4], 1.0f); // subnormal
  EXPECT_TRUE(std::isnan(fy[5]));
  std::vector<uint8_t> b(2), by(2);
  EXPECT_TRUE(contains(
      run("sign", {view(b, DType::i1, {2})}, {view(by, DType::i1, {2})}),
      "UNIMPLEMENTED"));
}

TEST(CpuMath, IsNanIsInf) {
  std::vector<float> x = {-1.2f, NAN, INFINITY, 2.8f, -INFINITY, INFINITY};
  std::vector<uint8_t> y(6);
  ASSERT_OK(run("isnan", {f32(x, {6})}, {view(y, DType::i1, {6})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 1, 0, 0, 0, 0}));
  ASSERT_OK(run("isinf", {f32(x, {6})}, {view(y, DType::i1, {6})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 0, 1, 0, 1, 1}));
  MapAttrs positive;
  positive.ints["detect_negative"] = 0;
  ASSERT_OK(run("isinf", {f32(x, {6})}, {view(y, DType::i1, {6})}, positive));
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 0, 1, 0, 0, 1}));
  MapAttrs negative;
  negative.ints["detect_positive"] = 0;
  std::vector<double> xd(x.begin(), x.end());
  ASSERT_OK(
      run("isinf", {f64(xd, {2, 3})}, {view(y, DType::i1, {2, 3})}, negative));
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 0, 0, 0, 1, 0}));
  std::vector<float> wrong(6);
  EXPECT_NE(run("isnan", {f32(x, {6})}, {f32(wrong, {6})}), "");
}

//===----------------------------------------------------------------------===//
// Binary: prelu, mod, xor
//===----------------------------------------------------------------------===//

TEST(CpuMath, PreluBroadcastsSlope) {
  const Dims dims = {2, 3, 5};
  auto x = randomValues<float>(30, 7, -2, 2);
  for (Dims slopeDims : {Dims{3, 1}, Dims{5}, Dims{}, Dims{2, 3, 5}}) {
    auto slope = randomValues<float>(numel(slopeDims), 8);
    std::vector<float> y(30);
    ASSERT_OK(
        run("prelu", {f32(x, dims), f32(slope, slopeDims)}, {f32(y, dims)}));
    for (int64_t i = 0; i < 30; ++i) {
      const float s =
          slope[size_t(broadcastOffset(unflatten(i, dims), slopeDims))];
      const float v = x[size_t(i)];
      ASSERT_EQ(y[size_t(i)], v < 0 ? s * v : v) << i; // one float product
    }
  }
  std::vector<float> slope(4), y(30);
  EXPECT_NE(run("prelu", {f32(x, dims), f32(slope, {4})}, {f32(y, dims)}), "");
  // The result has the input's shape; slope may not enlarge it.
  std::vector<float> big(60), s2(60);
  EXPECT_NE(run("prelu", {f32(x, dims), f32(s2, {2, 2, 3, 5})},
                {f32(big, {2, 2, 3, 5})}),
            "");
}

TEST(CpuMath, ModOnnxExamplesBothSigns) {
  std::vector<int32_t> a = {-4, 7, 5, 4, -7, 8}, b = {2, -3, 8, -2, 3, 5}, y(6);
  auto i32 = [](std::vector<int32_t> &v) { return view(v, DType::i32, {6}); };
  ASSERT_OK(run("mod", {i32(a), i32(b)}, {i32(y)}));
  EXPECT_EQ(y, (std::vector<int32_t>{0, -2, 5, 0, 2, 3})); // sign of divisor
  MapAttrs fmod;
  fmod.ints["fmod"] = 1;
  ASSERT_OK(run("mod", {i32(a), i32(b)}, {i32(y)}, fmod));
  EXPECT_EQ(y, (std::vector<int32_t>{0, 1, 5, 0, -1, 3})); // sign of dividend

  std::vector<float> fa = {-4.3f, 7.2f, 5.0f, 4.3f, -7.2f, 8.0f},
                     fb = {2.1f, -3.4f, 8.0f, -2.1f, 3.4f, 5.0f}, fy(6);
  ASSERT_OK(run("mod", {f32(fa, {6}), f32(fb, {6})}, {f32(fy, {6})}, fmod));
  const double onnx[] = {-0.1, 0.4, 5., 0.1, -0.4, 3.};
  ASSERT_OK(run("mod", {f32(fa, {6}), f32(fb, {6})}, {f32(fy, {6})}, fmod));
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(fy[size_t(i)], onnx[i], 1e-6); // fmod is exact; decimals not
  ASSERT_OK(run("mod", {f32(fa, {6}), f32(fb, {6})}, {f32(fy, {6})}));
  for (int i = 0; i < 6; ++i) {
    // Python's %: fmod, then + divisor where the signs differ. The one
    // float addition rounds: half an ulp of |b| <= 8, below 1e-6.
    double r = std::fmod(double(fa[size_t(i)]), double(fb[size_t(i)]));
    if (r != 0 && (r < 0) != (fb[size_t(i)] < 0))
      r += fb[size_t(i)];
    EXPECT_NEAR(fy[size_t(i)], r, 1e-6) << i;
    EXPECT_TRUE(fy[size_t(i)] == 0 ||
                (fy[size_t(i)] < 0) == (fb[size_t(i)] < 0));
  }

  // Broadcast, ONNX mod_broadcast: arange(30) [3, 2, 5] % [7].
  std::vector<int64_t> r(30), seven = {7}, ry(30);
  for (int i = 0; i < 30; ++i)
    r[size_t(i)] = i;
  ASSERT_OK(run("mod",
                {view(r, DType::i64, {3, 2, 5}), view(seven, DType::i64, {1})},
                {view(ry, DType::i64, {3, 2, 5})}));
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(ry[size_t(i)], i % 7);

  // Integer extremes: INT8_MIN % -1 is 0, not a trap; unsigned types.
  std::vector<int8_t> m = {-128, -128, 127}, d = {-1, 3, -128}, my(3);
  ASSERT_OK(run("mod", {view(m, DType::i8, {3}), view(d, DType::i8, {3})},
                {view(my, DType::i8, {3})}));
  EXPECT_EQ(my, (std::vector<int8_t>{0, 1, -1})); // -128 = -43*3 + 1
  std::vector<uint32_t> ua = {7, 4000000000u}, ub = {3, 7}, uy(2);
  ASSERT_OK(run("mod", {view(ua, DType::u32, {2}), view(ub, DType::u32, {2})},
                {view(uy, DType::u32, {2})}));
  EXPECT_EQ(uy, (std::vector<uint32_t>{1, 4000000000u % 7}));

  // Integer modulus by zero is an error; float by zero is NaN.
  b[3] = 0;
  const std::string err = run("mod", {i32(a), i32(b)}, {i32(y)});
  EXPECT_TRUE(contains(err, "INVALID_ARGUMENT") && contains(err, "zero"))
      << err;
  fb[1] = 0;
  ASSERT_OK(run("mod", {f32(fa, {6}), f32(fb, {6})}, {f32(fy, {6})}));
  EXPECT_TRUE(std::isnan(fy[1]));
  EXPECT_NE(run("mod", {i32(a), f32(fb, {6})}, {i32(y)}), "");
}

// f16 operands are computed in float and rounded back: exact for these
// values, whose results are representable halves.
TEST(CpuMath, HalfBinaryOpsAndMod) {
  using azr::cpu::floatToHalf;
  using azr::cpu::halfToFloat;
  auto half = [](std::vector<float> values) {
    std::vector<uint16_t> bits;
    for (float v : values)
      bits.push_back(floatToHalf(v));
    return bits;
  };
  auto h16 = [](std::vector<uint16_t> &v, Dims dims) {
    return view(v, DType::f16, std::move(dims));
  };
  std::vector<uint16_t> a = half({1.0f, -1.5f, 3.0f, 0.5f}),
                        b = half({2.0f, 0.5f, 2.0f, -0.25f}), y(4);
  auto values = [&](const std::vector<uint16_t> &bits) {
    std::vector<float> v;
    for (uint16_t x : bits)
      v.push_back(halfToFloat(x));
    return v;
  };
  ASSERT_OK(run("max", {h16(a, {4}), h16(b, {4})}, {h16(y, {4})}));
  EXPECT_EQ(values(y), (std::vector<float>{2.0f, 0.5f, 3.0f, 0.5f}));
  ASSERT_OK(run("min", {h16(a, {4}), h16(b, {4})}, {h16(y, {4})}));
  EXPECT_EQ(values(y), (std::vector<float>{1.0f, -1.5f, 2.0f, -0.25f}));
  ASSERT_OK(run("add", {h16(a, {4}), h16(b, {4})}, {h16(y, {4})}));
  EXPECT_EQ(values(y), (std::vector<float>{3.0f, -1.0f, 5.0f, 0.25f}));
  std::vector<uint8_t> less(4);
  ASSERT_OK(
      run("less", {h16(a, {4}), h16(b, {4})}, {view(less, DType::i1, {4})}));
  EXPECT_EQ(less, (std::vector<uint8_t>{1, 1, 0, 0}));
  // Broadcast a scalar divisor; Python's % takes the divisor's sign.
  std::vector<uint16_t> two = half({2.0f});
  ASSERT_OK(run("mod", {h16(a, {4}), h16(two, {1})}, {h16(y, {4})}));
  EXPECT_EQ(values(y), (std::vector<float>{1.0f, 0.5f, 1.0f, 0.5f}));
  MapAttrs fmod;
  fmod.ints["fmod"] = 1;
  ASSERT_OK(run("mod", {h16(a, {4}), h16(two, {1})}, {h16(y, {4})}, fmod));
  EXPECT_EQ(values(y), (std::vector<float>{1.0f, -1.5f, 1.0f, 0.5f}));
}

TEST(CpuMath, BitwiseOpsOnEveryIntegerWidth) {
  // Hand-computed bit patterns; integer results compare exactly.
  std::vector<uint8_t> a = {0xF0, 0x0F, 0xAA, 0xFF}, b = {0xCC}, y(4);
  auto u8 = [](std::vector<uint8_t> &v, Dims d) {
    return view(v, DType::u8, d);
  };
  ASSERT_OK(run("bitwise_and", {u8(a, {4}), u8(b, {1})}, {u8(y, {4})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0xC0, 0x0C, 0x88, 0xCC}));
  ASSERT_OK(run("bitwise_or", {u8(a, {4}), u8(b, {1})}, {u8(y, {4})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0xFC, 0xCF, 0xEE, 0xFF}));
  ASSERT_OK(run("bitwise_xor", {u8(a, {4}), u8(b, {1})}, {u8(y, {4})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0x3C, 0xC3, 0x66, 0x33}));
  ASSERT_OK(run("bitwise_not", {u8(a, {4})}, {u8(y, {4})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0x0F, 0xF0, 0x55, 0x00}));
  // Signed values act on their two's complement bits.
  std::vector<int16_t> s = {-1, -2, 5, INT16_MIN}, t = {3, 3, -1, -1}, r(4);
  auto i16 = [](std::vector<int16_t> &v) { return view(v, DType::i16, {4}); };
  ASSERT_OK(run("bitwise_and", {i16(s), i16(t)}, {i16(r)}));
  EXPECT_EQ(r, (std::vector<int16_t>{3, 2, 5, INT16_MIN}));
  ASSERT_OK(run("bitwise_not", {i16(s)}, {i16(r)}));
  EXPECT_EQ(r, (std::vector<int16_t>{0, 1, -6, INT16_MAX}));
  // 2 x 1 against 3 on u64, with the top bit set.
  std::vector<uint64_t> col = {uint64_t(1) << 63, 6}, row = {1, 2, 3}, o(6);
  ASSERT_OK(run("bitwise_or",
                {view(col, DType::u64, {2, 1}), view(row, DType::u64, {3})},
                {view(o, DType::u64, {2, 3})}));
  const uint64_t top = uint64_t(1) << 63;
  EXPECT_EQ(o, (std::vector<uint64_t>{top | 1, top | 2, top | 3, 7, 6, 7}));
  // Floats, booleans and mixed dtypes are refused.
  std::vector<float> f(4);
  EXPECT_NE(run("bitwise_and",
                {view(f, DType::f32, {4}), view(f, DType::f32, {4})},
                {view(f, DType::f32, {4})}),
            "");
  EXPECT_NE(run("bitwise_not", {view(f, DType::f32, {4})},
                {view(f, DType::f32, {4})}),
            "");
  EXPECT_NE(run("bitwise_xor", {u8(a, {4}), i16(s)}, {u8(y, {4})}), "");
}

TEST(CpuMath, BitShiftSignedUnsignedAndWideShifts) {
  std::vector<uint8_t> x = {16, 4, 1, 255}, s = {1, 2, 3, 8}, y(4);
  auto u8 = [](std::vector<uint8_t> &v) { return view(v, DType::u8, {4}); };
  MapAttrs left, right;
  left.ints["left"] = 1;
  right.ints["left"] = 0;
  ASSERT_OK(run("bit_shift", {u8(x), u8(s)}, {u8(y)}, left));
  EXPECT_EQ(y, (std::vector<uint8_t>{32, 16, 8, 0})); // wraps; 8 bits -> 0
  ASSERT_OK(run("bit_shift", {u8(x), u8(s)}, {u8(y)}, right));
  EXPECT_EQ(y, (std::vector<uint8_t>{8, 1, 0, 0}));
  // Broadcast a scalar shift on u64, and shifts past 63.
  std::vector<uint64_t> big = {1, 3, uint64_t(1) << 63}, one = {62}, by(3);
  ASSERT_OK(run("bit_shift",
                {view(big, DType::u64, {3}), view(one, DType::u64, {1})},
                {view(by, DType::u64, {3})}, left));
  EXPECT_EQ(by,
            (std::vector<uint64_t>{uint64_t(1) << 62, uint64_t(3) << 62, 0}));
  std::vector<uint64_t> far = {70};
  ASSERT_OK(run("bit_shift",
                {view(big, DType::u64, {3}), view(far, DType::u64, {1})},
                {view(by, DType::u64, {3})}, right));
  EXPECT_EQ(by, (std::vector<uint64_t>{0, 0, 0}));
  // Signed (opset 28): right shifts are arithmetic, left shifts wrap, and an
  // amount outside [0, 32) gives 0, or -1 for a negative value shifted right
  // (as onnx.reference computes them).
  std::vector<int32_t> v = {-8, 5, INT32_MIN, -1}, by32 = {1, 31, 1, 40}, r(4);
  auto i32 = [](std::vector<int32_t> &t) { return view(t, DType::i32, {4}); };
  ASSERT_OK(run("bit_shift", {i32(v), i32(by32)}, {i32(r)}, right));
  EXPECT_EQ(r, (std::vector<int32_t>{-4, 0, INT32_MIN / 2, -1}));
  ASSERT_OK(run("bit_shift", {i32(v), i32(by32)}, {i32(r)}, left));
  EXPECT_EQ(r, (std::vector<int32_t>{-16, INT32_MIN, 0, 0}));
  std::vector<int32_t> negative = {-1, -1, -1, -1};
  ASSERT_OK(run("bit_shift", {i32(v), i32(negative)}, {i32(r)}, right));
  EXPECT_EQ(r, (std::vector<int32_t>{-1, 0, -1, -1}));
  // Float operands are refused.
  std::vector<float> f(4);
  EXPECT_NE(run("bit_shift",
                {view(f, DType::f32, {4}), view(f, DType::f32, {4})},
                {view(f, DType::f32, {4})}, left),
            "");
}

// matmul_integer against int64 loops written from the definition, with
// batch broadcasting, 1-D promotion and scalar / per-row / per-column zero
// points; exact.
TEST(CpuMatMulInteger, MatchesReference) {
  struct Case {
    Dims lhs, rhs, out;
    bool lhsZeroPerRow, rhsZeroPerColumn;
  };
  const Case cases[] = {
      {{4, 3}, {3, 2}, {4, 2}, false, false},
      {{2, 1, 3, 5}, {3, 5, 4}, {2, 3, 3, 4}, true, true},
      {{5}, {5, 3}, {3}, false, true},
      {{2, 3, 5}, {5}, {2, 3}, true, false},
  };
  unsigned seed = 60;
  for (const Case &c : cases) {
    auto a = randomInts<uint8_t>(numel(c.lhs), seed++, 0, 255);
    auto b = randomInts<int8_t>(numel(c.rhs), seed++, -128, 127);
    const int64_t K = c.lhs.back();
    const int64_t M = c.lhs.size() == 1 ? 1 : c.lhs[c.lhs.size() - 2];
    const int64_t N = c.rhs.size() == 1 ? 1 : c.rhs.back();
    auto za = randomInts<uint8_t>(c.lhsZeroPerRow ? M : 1, seed++, 0, 255);
    auto zb = randomInts<int8_t>(c.rhsZeroPerColumn ? N : 1, seed++, -128, 127);
    std::vector<int32_t> out(size_t(numel(c.out)));
    ASSERT_OK(run("matmul_integer",
                  {view(a, DType::u8, c.lhs), view(b, DType::i8, c.rhs),
                   view(za, DType::u8, {int64_t(za.size())}),
                   view(zb, DType::i8, {int64_t(zb.size())})},
                  {view(out, DType::i32, c.out)}));
    // Reference over the result's batch, padding operands to batch + 2-D.
    Dims l = c.lhs, r = c.rhs;
    if (l.size() == 1)
      l.insert(l.begin(), 1);
    if (r.size() == 1)
      r.push_back(1);
    Dims batch(c.out.begin(),
               c.out.end() - (c.lhs.size() > 1) - (c.rhs.size() > 1));
    Dims lb(l.begin(), l.end() - 2), rb(r.begin(), r.end() - 2);
    for (int64_t bi = 0; bi < std::max<int64_t>(1, numel(batch)); ++bi) {
      Dims coord = batch.empty() ? Dims() : unflatten(bi, batch);
      const int64_t lo = lb.empty() ? 0 : broadcastOffset(coord, lb);
      const int64_t ro = rb.empty() ? 0 : broadcastOffset(coord, rb);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t sum = 0;
          for (int64_t k = 0; k < K; ++k)
            sum += (int64_t(a[size_t((lo * M + m) * K + k)]) -
                    za[size_t(c.lhsZeroPerRow ? m : 0)]) *
                   (int64_t(b[size_t((ro * K + k) * N + n)]) -
                    zb[size_t(c.rhsZeroPerColumn ? n : 0)]);
          ASSERT_EQ(out[size_t((bi * M + m) * N + n)], sum)
              << bi << " " << m << " " << n;
        }
    }
  }
  std::vector<uint8_t> a(6);
  std::vector<int32_t> out(4);
  EXPECT_NE(run("matmul_integer",
                {view(a, DType::u8, {2, 3}), view(a, DType::u8, {2, 3})},
                {view(out, DType::i32, {2, 2})}),
            "");
  std::vector<float> f(6);
  EXPECT_NE(run("matmul_integer", {f32(f, {2, 3}), f32(f, {3, 2})},
                {view(out, DType::i32, {2, 2})}),
            "");
}

// dequantize against the definition: float(x - zp) * scale, rounded once,
// so results are compared exactly. Per tensor, per axis (first, middle and
// last dim), blocked along either dim with a partial last block, 8-, 16-
// and 32-bit codes, with and without zero points.
TEST(CpuDequantize, MatchesDefinition) {
  struct Case {
    Dims in;
    int64_t axis, block;
    Dims scale; ///< {} = one element (per tensor)
    bool zeroPoint;
  };
  const Case cases[] = {
      {{3, 4, 5}, 0, 0, {}, true},         {{3, 4, 5}, 0, 0, {3}, true},
      {{3, 4, 5}, 1, 0, {4}, false},       {{3, 4, 5}, 2, 0, {5}, true},
      {{7, 6}, 0, 3, {3, 6}, true},        {{7, 6}, 1, 4, {7, 2}, true},
      {{2, 9, 3}, 1, 4, {2, 3, 3}, false},
  };
  unsigned seed = 70;
  for (const Case &c : cases)
    for (DType type : {DType::i8, DType::u8, DType::i16, DType::i32}) {
      const int64_t groups = c.scale.empty() ? 1 : numel(c.scale);
      std::vector<float> scale(static_cast<size_t>(groups));
      for (size_t i = 0; i < scale.size(); ++i)
        scale[i] = 0.01f * float(i + 3) / 7.0f;
      auto codes = randomInts<int32_t>(numel(c.in), seed++, -128, 127);
      auto zeros = randomInts<int32_t>(groups, seed++, -128, 127);
      if (type == DType::u8) {
        for (int32_t &v : codes)
          v += 128;
        for (int32_t &v : zeros)
          v += 128;
      } else if (type == DType::i16) {
        for (int32_t &v : codes)
          v *= 200;
      }
      std::vector<int8_t> c8(codes.begin(), codes.end()),
          z8(zeros.begin(), zeros.end());
      std::vector<uint8_t> u8(codes.begin(), codes.end()),
          zu8(zeros.begin(), zeros.end());
      std::vector<int16_t> c16(codes.begin(), codes.end()),
          z16(zeros.begin(), zeros.end());
      auto typed = [&](bool zero) -> Tensor {
        Dims shape = zero ? c.scale : c.in;
        switch (type) {
        case DType::i8:
          return zero ? view(z8, type, shape) : view(c8, type, shape);
        case DType::u8:
          return zero ? view(zu8, type, shape) : view(u8, type, shape);
        case DType::i16:
          return zero ? view(z16, type, shape) : view(c16, type, shape);
        default:
          return zero ? view(zeros, type, shape) : view(codes, type, shape);
        }
      };
      std::vector<float> out(size_t(numel(c.in)));
      MapAttrs attrs;
      attrs.ints["axis"] = c.axis;
      attrs.ints["block_size"] = c.block;
      std::vector<Tensor> inputs = {typed(false), f32(scale, c.scale)};
      if (c.zeroPoint)
        inputs.push_back(typed(true));
      ASSERT_OK(run("dequantize", inputs, {f32(out, c.in)}, attrs));
      for (int64_t i = 0; i < numel(c.in); ++i) {
        Dims at = unflatten(i, c.in);
        int64_t g = 0;
        if (!c.scale.empty() && c.block == 0) {
          g = at[size_t(c.axis)];
        } else if (c.block > 0) {
          Dims blockAt = at;
          blockAt[size_t(c.axis)] /= c.block;
          for (size_t d = 0; d < blockAt.size(); ++d)
            g = g * c.scale[d] + blockAt[d];
        }
        const int64_t z = c.zeroPoint ? zeros[size_t(g)] : 0;
        ASSERT_EQ(out[size_t(i)],
                  float(int64_t(codes[size_t(i)]) - z) * scale[size_t(g)])
            << dtypeName(type) << " case " << (&c - cases) << " at " << i;
      }
    }
  // A scale that fits no dim, and a float input, are refused.
  std::vector<int8_t> x(12);
  std::vector<float> s(5), out(12);
  MapAttrs axis1;
  axis1.ints["axis"] = 1;
  EXPECT_NE(run("dequantize", {view(x, DType::i8, {3, 4}), f32(s, {5})},
                {f32(out, {3, 4})}, axis1),
            "");
  EXPECT_NE(
      run("dequantize", {f32(out, {3, 4}), f32(s, {1})}, {f32(out, {3, 4})}),
      "");
}

// conv_integer against int64 loops over each output element, with groups,
// strides, dilations, asymmetric pads and per-channel weight zero points.
TEST(CpuConvInteger, MatchesReference) {
  const Dims in = {2, 4, 6, 5}, wd = {6, 2, 3, 2};
  const Dims strides = {2, 1}, pads = {1, 0, 1, 1}, dilations = {1, 2};
  const int64_t group = 2, Cg = 2, Mg = 3;
  const Dims outDims = {2, 6, 3, 4}; // (6+2-3)/2+1, (5+1-3)/1+1
  auto x = randomInts<int8_t>(numel(in), 70, -128, 127);
  auto w = randomInts<uint8_t>(numel(wd), 71, 0, 255);
  std::vector<int8_t> xz = {-3};
  auto wz = randomInts<uint8_t>(6, 72, 0, 255);
  MapAttrs attrs;
  attrs.intLists["strides"] = strides;
  attrs.intLists["pads"] = pads;
  attrs.intLists["dilations"] = dilations;
  attrs.ints["group"] = group;
  std::vector<int32_t> out(size_t(numel(outDims)));
  ASSERT_OK(run("conv_integer",
                {view(x, DType::i8, in), view(w, DType::u8, wd),
                 view(xz, DType::i8, {}), view(wz, DType::u8, {6})},
                {view(out, DType::i32, outDims)}, attrs));
  for (int64_t o = 0; o < numel(outDims); ++o) {
    const Dims c = unflatten(o, outDims);
    const int64_t b = c[0], m = c[1], g = m / Mg;
    int64_t sum = 0;
    for (int64_t ci = 0; ci < Cg; ++ci)
      for (int64_t kh = 0; kh < 3; ++kh)
        for (int64_t kw = 0; kw < 2; ++kw) {
          const int64_t h = c[2] * 2 - 1 + kh, wpos = c[3] - 0 + kw * 2;
          if (h < 0 || h >= 6 || wpos < 0 || wpos >= 5)
            continue;
          const int64_t xv = x[size_t(flatten({b, g * Cg + ci, h, wpos}, in))];
          const int64_t wv = w[size_t(flatten({m, ci, kh, kw}, wd))];
          sum += (xv - xz[0]) * (wv - wz[size_t(m)]);
        }
    ASSERT_EQ(out[size_t(o)], sum) << o;
  }
  std::vector<int32_t> wrong(4);
  EXPECT_NE(run("conv_integer",
                {view(x, DType::i8, in), view(w, DType::u8, wd)},
                {view(wrong, DType::i32, {1, 1, 2, 2})}, attrs),
            "");
}

// Determinant by cofactor expansion along the first row: independent of
// the kernel's LU decomposition.
double cofactorDet(const std::vector<double> &a, int64_t n) {
  if (n == 1)
    return a[0];
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    std::vector<double> minor;
    for (int64_t r = 1; r < n; ++r)
      for (int64_t c = 0; c < n; ++c)
        if (c != j)
          minor.push_back(a[size_t(r * n + c)]);
    sum += (j % 2 ? -1 : 1) * a[size_t(j)] * cofactorDet(minor, n - 1);
  }
  return sum;
}

TEST(CpuDet, MatchesCofactorExpansion) {
  for (int64_t n : {1, 2, 3, 5}) {
    const Dims dims = {2, 3, n, n};
    auto x = randomValues<double>(numel(dims), unsigned(80 + n), -2.0, 2.0);
    std::vector<double> y(6);
    ASSERT_OK(run("det", {f64(x, dims)}, {f64(y, {2, 3})}));
    for (int64_t m = 0; m < 6; ++m) {
      std::vector<double> a(x.begin() + m * n * n, x.begin() + (m + 1) * n * n);
      EXPECT_NEAR(y[size_t(m)], cofactorDet(a, n), 1e-9) << n << " " << m;
    }
  }
  // A row swap flips the sign; a singular matrix gives 0; f32 works.
  std::vector<float> swap = {0, 1, 1, 0}, singular = {1, 2, 2, 4}, out(1);
  ASSERT_OK(run("det", {f32(swap, {2, 2})}, {f32(out, {})}));
  EXPECT_EQ(out[0], -1.0f);
  ASSERT_OK(run("det", {f32(singular, {2, 2})}, {f32(out, {})}));
  EXPECT_EQ(out[0], 0.0f);
  std::vector<float> rect(6);
  EXPECT_NE(run("det", {f32(rect, {2, 3})}, {f32(out, {})}), "");
}

TEST(CpuMath, XorBroadcasts) {
  std::vector<uint8_t> a = {0, 1}, b = {0, 1, 2}, y(6);
  ASSERT_OK(run("xor", {view(a, DType::i1, {2, 1}), view(b, DType::i1, {3})},
                {view(y, DType::i1, {2, 3})}));
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 1, 1, 1, 0, 0})); // 2 reads as true
  std::vector<int32_t> i(2);
  EXPECT_NE(run("xor", {view(i, DType::i32, {2}), view(i, DType::i32, {2})},
                {view(y, DType::i1, {2})}),
            "");
}

} // namespace
