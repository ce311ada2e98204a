// Tests of the CPU kernels in reduce_math.cc: the norm-like reductions,
// log_softmax, hardmax, argmax and argmin, against naive loops in double
// and the examples of the ONNX operator documentation.

#include "kernel_test_util.h"

#include <cmath>
#include <limits>

using namespace azr_test;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Naive reduction of `x` over `axes` (empty: all) in double: returns per
// output element the list of reduced values, in input order.
std::vector<std::vector<double>> groups(const std::vector<double> &x,
                                        const Dims &dims, Dims axes) {
  if (axes.empty())
    for (size_t d = 0; d < dims.size(); ++d)
      axes.push_back(int64_t(d));
  Dims kept;
  std::vector<bool> reduced(dims.size());
  for (int64_t a : axes)
    reduced[size_t(a < 0 ? a + int64_t(dims.size()) : a)] = true;
  for (size_t d = 0; d < dims.size(); ++d)
    if (!reduced[d])
      kept.push_back(dims[d]);
  std::vector<std::vector<double>> out(size_t(numel(kept)));
  for (int64_t i = 0; i < numel(dims); ++i) {
    const Dims c = unflatten(i, dims);
    Dims k;
    for (size_t d = 0; d < dims.size(); ++d)
      if (!reduced[d])
        k.push_back(c[d]);
    out[size_t(flatten(k, kept))].push_back(x[size_t(i)]);
  }
  return out;
}

double referenceReduce(const std::string &op, const std::vector<double> &v) {
  double s = 0, m = -kInf;
  for (double x : v) {
    if (op == "reduce_l1")
      s += std::fabs(x);
    else if (op == "reduce_l2" || op == "reduce_sum_square")
      s += x * x;
    else if (op == "reduce_log_sum")
      s += x;
    else
      m = std::max(m, x);
  }
  if (op == "reduce_l2")
    return std::sqrt(s);
  if (op == "reduce_log_sum")
    return std::log(s);
  if (op == "reduce_log_sum_exp") {
    for (double x : v)
      s += std::exp(x - m);
    return m + std::log(s);
  }
  return s;
}

const char *const kReduceOps[] = {"reduce_l1", "reduce_l2", "reduce_log_sum",
                                  "reduce_log_sum_exp", "reduce_sum_square"};

TEST(CpuReduceMath, FloatOpsAxesAndKeepdims) {
  const Dims dims = {3, 5, 7};
  // Positive values so that log_sum is defined; log_sum_exp gets the
  // shifted copy below with large magnitudes.
  auto x = randomValues<float>(105, 30, 0.1, 3.0);
  for (const char *op : kReduceOps)
    for (Dims axes : {Dims{}, Dims{1}, Dims{0, 2}, Dims{-1}, Dims{0, 1, 2}})
      for (int keepdims : {0, 1}) {
        SCOPED_TRACE(::testing::Message() << op << " axes " << axes.size()
                                          << " keepdims " << keepdims);
        std::vector<float> in = x;
        if (std::string(op) == "reduce_log_sum_exp")
          for (float &v : in)
            v = v * 300 - 400; // e^v overflows float and double for most
        std::vector<double> ind(in.begin(), in.end());
        const auto ref = groups(ind, dims, axes);
        Dims outDims;
        for (size_t d = 0; d < 3; ++d) {
          bool r = axes.empty();
          for (int64_t a : axes)
            r = r || (a < 0 ? a + 3 : a) == int64_t(d);
          if (!r || keepdims)
            outDims.push_back(r ? 1 : dims[d]);
        }
        MapAttrs attrs;
        attrs.intLists["axes"] = axes;
        attrs.ints["keepdims"] = keepdims;
        std::vector<float> y(ref.size());
        ASSERT_OK(run(op, {f32(in, dims)}, {f32(y, outDims)}, attrs));
        std::vector<double> yd(ref.size());
        ASSERT_OK(run(op, {f64(ind, dims)}, {f64(yd, outDims)}, attrs));
        for (size_t o = 0; o < ref.size(); ++o) {
          const double e = referenceReduce(op, ref[o]);
          // The kernel accumulates in double like the reference; f32 adds
          // one rounding of the result (6e-8 relative): 2e-7.
          ASSERT_NEAR(y[o], e, 2e-7 * std::fabs(e)) << o;
          // f64: summation order may differ: <= 105 * 1.1e-16 relative.
          ASSERT_NEAR(yd[o], e, 1e-13 * std::fabs(e)) << o;
        }
      }
}

TEST(CpuReduceMath, LogSumExpSpecialValuesAndEmpty) {
  MapAttrs last;
  last.intLists["axes"] = {1};
  std::vector<double> x = {1000, 1000, -kInf, -kInf, kInf, 0,
                           NAN,  1,    -kInf, 5,     2,    -1000},
                      y(4);
  ASSERT_OK(run("reduce_log_sum_exp", {f64(x, {4, 3})}, {f64(y, {4})}, last));
  // 1000 + log(2 + e^-inf); all -inf; +inf; NaN.
  EXPECT_NEAR(y[0], 1000 + std::log(2.0), 1e-12);
  // Row 1: {-inf, kInf, 0} -> +inf. Row 2: {NaN, 1, -inf}. Row 3: finite.
  EXPECT_EQ(y[1], kInf);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_NEAR(y[3], 5 + std::log(1 + std::exp(-3.0)), 1e-14);
  std::vector<double> ninf = {-kInf, -kInf}, one(1);
  ASSERT_OK(run("reduce_log_sum_exp", {f64(ninf, {2})}, {f64(one, {})}));
  EXPECT_EQ(one[0], -kInf);
  // Reducing an empty dim: sums are 0, logs of them -inf.
  std::vector<float> empty, e3(3);
  MapAttrs first;
  first.intLists["axes"] = {0};
  for (const char *op : kReduceOps) {
    ASSERT_OK(run(op, {f32(empty, {0, 3})}, {f32(e3, {1, 3})}, first));
    const bool isLog = std::string(op).find("log") != std::string::npos;
    EXPECT_EQ(e3[2], isLog ? -INFINITY : 0.0f) << op;
  }
}

TEST(CpuReduceMath, IntegersWrapAndErrors) {
  std::vector<int32_t> x = {-3, 4, -5, 65536, 65536, 1}, y(2);
  MapAttrs attrs;
  attrs.intLists["axes"] = {1};
  ASSERT_OK(run("reduce_l1", {view(x, DType::i32, {2, 3})},
                {view(y, DType::i32, {2})}, attrs));
  EXPECT_EQ(y, (std::vector<int32_t>{12, 131073}));
  ASSERT_OK(run("reduce_sum_square", {view(x, DType::i32, {2, 3})},
                {view(y, DType::i32, {2})}, attrs));
  // 2 * 2^32 + 1 wraps to 1 in 32 bits.
  EXPECT_EQ(y, (std::vector<int32_t>{50, 1}));
  std::vector<int8_t> m = {-128, 1}, my(1);
  ASSERT_OK(
      run("reduce_l1", {view(m, DType::i8, {2})}, {view(my, DType::i8, {})}));
  EXPECT_EQ(my[0], -127); // |-128| wraps to -128, + 1
  std::vector<uint16_t> u = {300, 400}, uy(1);
  ASSERT_OK(run("reduce_sum_square", {view(u, DType::u16, {2})},
                {view(uy, DType::u16, {1})}));
  EXPECT_EQ(uy[0], uint16_t(250000 % 65536));
  const std::string r = run("reduce_l2", {view(x, DType::i32, {2, 3})},
                            {view(y, DType::i32, {2})}, attrs);
  EXPECT_TRUE(contains(r, "UNIMPLEMENTED")) << r;
  std::vector<float> f(6), g(4);
  attrs.intLists["axes"] = {2};
  EXPECT_TRUE(contains(run("reduce_l1", {f32(f, {2, 3})}, {f32(g, {2})}, attrs),
                       "axis"));
  attrs.intLists["axes"] = {1};
  EXPECT_NE(run("reduce_l1", {f32(f, {2, 3})}, {f32(g, {4})}, attrs), "");
}

// Booleans: reduce_max is "any", reduce_min "all"; over an empty set they
// give the identities, false and true (ONNX's reduce_*_bool tests).
TEST(CpuReduceMath, BooleanMaxIsAnyMinIsAll) {
  std::vector<uint8_t> x = {0, 1, 0, 1, 1, 1}, y(2);
  MapAttrs attrs;
  attrs.intLists["axes"] = {1};
  ASSERT_OK(run("reduce_max", {view(x, DType::i1, {2, 3})},
                {view(y, DType::i1, {2})}, attrs));
  EXPECT_EQ(y, (std::vector<uint8_t>{1, 1}));
  ASSERT_OK(run("reduce_min", {view(x, DType::i1, {2, 3})},
                {view(y, DType::i1, {2})}, attrs));
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 1}));
  std::vector<uint8_t> empty, e(2);
  ASSERT_OK(run("reduce_max", {view(empty, DType::i1, {2, 0})},
                {view(e, DType::i1, {2})}, attrs));
  EXPECT_EQ(e, (std::vector<uint8_t>{0, 0}));
  ASSERT_OK(run("reduce_min", {view(empty, DType::i1, {2, 0})},
                {view(e, DType::i1, {2})}, attrs));
  EXPECT_EQ(e, (std::vector<uint8_t>{1, 1}));
}

TEST(CpuLogSoftmax, OnnxExampleAndAxes) {
  std::vector<float> x = {-1, 0, 1}, y(3);
  ASSERT_OK(run("log_softmax", {f32(x, {1, 3})}, {f32(y, {1, 3})}));
  const double onnx[] = {-2.40760596, -1.40760596, -0.40760596};
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(y[size_t(i)], onnx[i], 1e-7);
  // Values far apart and huge: no overflow, no log(0).
  std::vector<float> big = {10000, 0, -10000}, by(3);
  ASSERT_OK(run("log_softmax", {f32(big, {3})}, {f32(by, {3})}));
  EXPECT_EQ(by, (std::vector<float>{0, -10000, -20000}));
  // [3, 5, 300]: inner size beyond one block of lanes, every axis.
  const Dims dims = {3, 5, 300};
  auto z = randomValues<float>(numel(dims), 62, -30, 30);
  for (int64_t axis : {0, 1, 2, -2}) {
    MapAttrs attrs;
    attrs.ints["axis"] = axis;
    std::vector<float> out(z.size());
    ASSERT_OK(run("log_softmax", {f32(z, dims)}, {f32(out, dims)}, attrs));
    const int64_t a = axis < 0 ? axis + 3 : axis;
    const Dims s = stridesOf(dims);
    for (int64_t i = 0; i < numel(dims); ++i) {
      const Dims c = unflatten(i, dims);
      const int64_t base = i - c[size_t(a)] * s[size_t(a)];
      double m = -kInf, sum = 0;
      for (int64_t k = 0; k < dims[size_t(a)]; ++k)
        m = std::max(m, double(z[size_t(base + k * s[size_t(a)])]));
      for (int64_t k = 0; k < dims[size_t(a)]; ++k)
        sum += std::exp(z[size_t(base + k * s[size_t(a)])] - m);
      const double e = z[size_t(i)] - m - std::log(sum);
      // Computed in double, rounded once to float: half an ulp of |e| <= 70.
      ASSERT_NEAR(out[size_t(i)], e, 1e-7 * std::max(1.0, std::fabs(e)));
    }
  }
  MapAttrs bad;
  bad.ints["axis"] = 3;
  std::vector<float> out(z.size());
  EXPECT_NE(run("log_softmax", {f32(z, dims)}, {f32(out, dims)}, bad), "");
}

TEST(CpuHardmax, OnnxExamplesAndTies) {
  std::vector<float> x = {3, 0, 1, 2, 2, 5, 1, 0, 0, 1, 3, 2, 0, 1, 2, 3};
  std::vector<float> y(16);
  ASSERT_OK(run("hardmax", {f32(x, {4, 4})}, {f32(y, {4, 4})}));
  EXPECT_EQ(
      y, (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
  std::vector<double> ties = {1, 1, 1, 1}, ty(4);
  ASSERT_OK(run("hardmax", {f64(ties, {1, 1, 4})}, {f64(ty, {1, 1, 4})}));
  EXPECT_EQ(ty, (std::vector<double>{1, 0, 0, 0}));
  // axis 0 of [3, 2]: columns.
  std::vector<float> c = {1, 9, 7, 9, 7, 2}, cy(6);
  MapAttrs attrs;
  attrs.ints["axis"] = 0;
  ASSERT_OK(run("hardmax", {f32(c, {3, 2})}, {f32(cy, {3, 2})}, attrs));
  EXPECT_EQ(cy, (std::vector<float>{0, 1, 1, 0, 0, 0}));
  std::vector<int32_t> i(4);
  EXPECT_TRUE(contains(
      run("hardmax", {view(i, DType::i32, {4})}, {view(i, DType::i32, {4})}),
      "UNIMPLEMENTED"));
}

// Naive argmax/argmin along `axis` of a [outer, n, inner] tensor.
template <class T>
std::vector<int64_t> referenceArg(const std::vector<T> &x, int64_t outer,
                                  int64_t n, int64_t inner, bool max,
                                  bool last) {
  std::vector<int64_t> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        const T v = x[size_t((o * n + k) * inner + i)];
        const T b = x[size_t((o * n + best) * inner + i)];
        if (max ? (v > b || (last && v == b)) : (v < b || (last && v == b)))
          best = k;
      }
      out.push_back(best);
    }
  return out;
}

template <class T> void checkArg(DType type) {
  // [2, 7, 300]: inner beyond a block of lanes; few distinct values: ties.
  const Dims dims = {2, 7, 300};
  auto x = randomInts<T>(numel(dims), 40, 0, 5);
  for (const char *op : {"argmax", "argmin"})
    for (int last : {0, 1})
      for (int keepdims : {0, 1}) {
        MapAttrs attrs;
        attrs.ints["axis"] = -2;
        attrs.ints["select_last_index"] = last;
        attrs.ints["keepdims"] = keepdims;
        std::vector<int64_t> y(600);
        ASSERT_OK(run(
            op, {view(x, type, dims)},
            {view(y, DType::i64, keepdims ? Dims{2, 1, 300} : Dims{2, 300})},
            attrs));
        EXPECT_EQ(y, referenceArg(x, 2, 7, 300, op[3] == 'm' && op[4] == 'a',
                                  last != 0))
            << op << " " << azr::cpu::dtypeName(type) << " last " << last;
      }
}

TEST(CpuArgMax, EveryDtypeTiesBothWays) {
  checkArg<int8_t>(DType::i8);
  checkArg<uint16_t>(DType::u16);
  checkArg<int32_t>(DType::i32);
  checkArg<int64_t>(DType::i64);
  checkArg<uint64_t>(DType::u64);
  checkArg<float>(DType::f32);
  checkArg<double>(DType::f64);
}

TEST(CpuArgMax, OnnxExamplesNanAndErrors) {
  std::vector<int32_t> d = {2, 1, 3, 10};
  std::vector<int64_t> y(2);
  ASSERT_OK(run("argmax", {view(d, DType::i32, {2, 2})},
                {view(y, DType::i64, {1, 2})}));
  EXPECT_EQ(y, (std::vector<int64_t>{1, 1}));
  MapAttrs axis1;
  axis1.ints["axis"] = 1;
  ASSERT_OK(run("argmin", {view(d, DType::i32, {2, 2})},
                {view(y, DType::i64, {2, 1})}, axis1));
  EXPECT_EQ(y, (std::vector<int64_t>{1, 0}));
  // f16 and bf16 compare as floats: 0x3C00 = 1.0, 0xC000 = -2.0.
  std::vector<uint16_t> h = {0x3C00, 0xC000, 0x0000};
  std::vector<int64_t> one(1);
  ASSERT_OK(
      run("argmin", {view(h, DType::f16, {3})}, {view(one, DType::i64, {1})}));
  EXPECT_EQ(one[0], 1);
  std::vector<uint16_t> bf = {0x3F80, 0x4000, 0xBF80}; // 1, 2, -1
  ASSERT_OK(run("argmax", {view(bf, DType::bf16, {3})},
                {view(one, DType::i64, {1})}));
  EXPECT_EQ(one[0], 1);
  // NaN is the extreme either way, as numpy: the first NaN, or the last.
  std::vector<float> n = {1, NAN, 3, NAN, -1};
  ASSERT_OK(run("argmax", {f32(n, {5})}, {view(one, DType::i64, {1})}));
  EXPECT_EQ(one[0], 1);
  ASSERT_OK(run("argmin", {f32(n, {5})}, {view(one, DType::i64, {1})}));
  EXPECT_EQ(one[0], 1);
  MapAttrs lastIndex;
  lastIndex.ints["select_last_index"] = 1;
  ASSERT_OK(
      run("argmax", {f32(n, {5})}, {view(one, DType::i64, {1})}, lastIndex));
  EXPECT_EQ(one[0], 3);
  // Wrong result shape or dtype, empty axis, bad axis.
  EXPECT_NE(
      run("argmax", {view(d, DType::i32, {2, 2})}, {view(y, DType::i64, {2})}),
      ""); // keepdims: [1, 2]
  std::vector<int32_t> yi(2);
  EXPECT_NE(run("argmax", {view(d, DType::i32, {2, 2})},
                {view(yi, DType::i32, {1, 2})}),
            "");
  std::vector<float> empty;
  EXPECT_NE(run("argmax", {f32(empty, {0, 2})}, {view(y, DType::i64, {1, 2})}),
            "");
  MapAttrs far;
  far.ints["axis"] = -3;
  EXPECT_NE(run("argmax", {view(d, DType::i32, {2, 2})},
                {view(y, DType::i64, {1, 2})}, far),
            "");
}

} // namespace
