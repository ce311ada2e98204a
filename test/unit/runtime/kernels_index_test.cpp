// Tests of the CPU kernels in index_ops.cc (trilu, gather_elements, cumsum,
// cumprod, pad) and bitcast against naive loops and the examples of the ONNX
// operator documentation, plus random garbage for every kernel added with them.
//
// Everything here is exact (element moves, integer sums) except cumsum on
// floats, whose bound is stated where used.

#include "kernel_test_util.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace azr_test;

namespace {

//===----------------------------------------------------------------------===//
// trilu
//===----------------------------------------------------------------------===//

template <class T> void checkTrilu(DType type, const Dims &dims) {
  const int64_t rows = dims[dims.size() - 2], cols = dims.back();
  std::vector<T> x(size_t(numel(dims)));
  std::iota(x.begin(), x.end(), T(1));
  const int64_t big = std::numeric_limits<int64_t>::max();
  for (int upper : {0, 1})
    for (int64_t k :
         {int64_t(0), int64_t(1), int64_t(-1), int64_t(3), int64_t(-4),
          int64_t(-100), int64_t(100), big, -big - 1}) {
      MapAttrs attrs;
      attrs.ints["upper"] = upper;
      attrs.ints["k"] = k;
      std::vector<T> y(x.size(), T(99));
      ASSERT_OK(
          run("trilu", {view(x, type, dims)}, {view(y, type, dims)}, attrs));
      for (int64_t f = 0; f < numel(dims); ++f) {
        const int64_t i = (f / cols) % rows, j = f % cols;
        // j - i >= k (upper) or <= k (lower), in wide enough arithmetic.
        const long double diff = (long double)j - i;
        const bool keep =
            upper ? diff >= (long double)k : diff <= (long double)k;
        ASSERT_EQ(y[size_t(f)], keep ? x[size_t(f)] : T(0))
            << "upper " << upper << " k " << k << " at " << f;
      }
    }
}

TEST(CpuTrilu, AllDiagonalsAnyDtype) {
  checkTrilu<float>(DType::f32, {4, 5});       // ONNX examples' shape
  checkTrilu<int8_t>(DType::i8, {2, 3, 5, 3}); // batched, tall
  checkTrilu<double>(DType::f64, {1, 6});
  checkTrilu<uint16_t>(DType::bf16, {3, 1, 7}); // bytes: zero = all-zero
  std::vector<float> v(5), w(5);
  EXPECT_NE(run("trilu", {f32(v, {5})}, {f32(w, {5})}), ""); // rank 1
  EXPECT_NE(run("trilu", {f32(v, {1, 5})}, {f32(w, {5, 1})}), "");
  std::vector<float> empty;
  EXPECT_OK(run("trilu", {f32(empty, {3, 0})}, {f32(empty, {3, 0})}));
}

//===----------------------------------------------------------------------===//
// gather_elements
//===----------------------------------------------------------------------===//

TEST(CpuGatherElements, OnnxExamples) {
  std::vector<float> d = {1, 2, 3, 4}, y(4);
  std::vector<int64_t> i = {0, 0, 1, 0};
  MapAttrs axis1;
  axis1.ints["axis"] = 1;
  ASSERT_OK(run("gather_elements",
                {f32(d, {2, 2}), view(i, DType::i64, {2, 2})}, {f32(y, {2, 2})},
                axis1));
  EXPECT_EQ(y, (std::vector<float>{1, 1, 4, 3}));
  std::vector<float> d3 = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y3(6);
  std::vector<int32_t> i3 = {1, 2, 0, 2, 0, 0};
  ASSERT_OK(run("gather_elements",
                {f32(d3, {3, 3}), view(i3, DType::i32, {2, 3})},
                {f32(y3, {2, 3})}));
  EXPECT_EQ(y3, (std::vector<float>{4, 8, 3, 7, 2, 3}));
  std::vector<int32_t> neg = {-1, -2, 0, -2, 0, 0};
  ASSERT_OK(run("gather_elements",
                {f32(d3, {3, 3}), view(neg, DType::i32, {2, 3})},
                {f32(y3, {2, 3})}));
  EXPECT_EQ(y3, (std::vector<float>{7, 5, 3, 4, 2, 3}));
}

TEST(CpuGatherElements, MatchesReferenceEveryAxis) {
  const Dims data = {3, 4, 5, 2}, idx = {2, 4, 7, 1};
  std::vector<uint16_t> x(size_t(numel(data)));
  std::iota(x.begin(), x.end(), uint16_t(0));
  for (int64_t axis : {0, 1, 2, 3, -1}) {
    const int64_t a = axis < 0 ? axis + 4 : axis;
    Dims id = idx;
    id[size_t(a)] = 7; // any size along the axis
    for (size_t d = 0; d < 4; ++d)
      if (int64_t(d) != a)
        id[d] = std::min(id[d], data[d]);
    const int64_t dim = data[size_t(a)];
    auto indices = randomInts<int64_t>(numel(id), unsigned(50 + a), int(-dim),
                                       int(dim - 1));
    std::vector<uint16_t> y(size_t(numel(id)));
    MapAttrs attrs;
    attrs.ints["axis"] = axis;
    ASSERT_OK(run("gather_elements",
                  {view(x, DType::u16, data), view(indices, DType::i64, id)},
                  {view(y, DType::u16, id)}, attrs));
    for (int64_t f = 0; f < numel(id); ++f) {
      Dims c = unflatten(f, id);
      const int64_t v = indices[size_t(f)];
      c[size_t(a)] = v < 0 ? v + dim : v;
      ASSERT_EQ(y[size_t(f)], x[size_t(flatten(c, data))]) << axis << " " << f;
    }
  }
}

TEST(CpuGatherElements, Errors) {
  std::vector<float> d(6), y(4);
  for (int32_t bad : {3, -4}) {
    std::vector<int32_t> i = {0, 1, bad, 2};
    const std::string r =
        run("gather_elements", {f32(d, {3, 2}), view(i, DType::i32, {2, 2})},
            {f32(y, {2, 2})});
    EXPECT_TRUE(contains(r, "INVALID_ARGUMENT")) << r;
    EXPECT_TRUE(contains(r, "index " + std::to_string(bad))) << r;
    EXPECT_TRUE(contains(r, "[-3, 3)")) << r;
  }
  std::vector<int64_t> ok = {0, 1, 2, 0}, wide(9);
  // Ranks differ; a non-axis dim of indices exceeds data's; float indices;
  // result shape is not the indices shape; axis out of range.
  EXPECT_NE(run("gather_elements", {f32(d, {6}), view(ok, DType::i64, {2, 2})},
                {f32(y, {2, 2})}),
            "");
  std::vector<float> y9(9);
  EXPECT_NE(run("gather_elements",
                {f32(d, {3, 2}), view(wide, DType::i64, {3, 3})},
                {f32(y9, {3, 3})}),
            "");
  std::vector<float> fi(4);
  EXPECT_NE(run("gather_elements", {f32(d, {3, 2}), f32(fi, {2, 2})},
                {f32(y, {2, 2})}),
            "");
  EXPECT_NE(run("gather_elements",
                {f32(d, {3, 2}), view(ok, DType::i64, {2, 2})}, {f32(y, {4})}),
            "");
  MapAttrs axis;
  axis.ints["axis"] = 2;
  EXPECT_NE(run("gather_elements",
                {f32(d, {3, 2}), view(ok, DType::i64, {2, 2})},
                {f32(y, {2, 2})}, axis),
            "");
}

//===----------------------------------------------------------------------===//
// cumsum
//===----------------------------------------------------------------------===//

TEST(CpuCumSum, OnnxExamples) {
  std::vector<double> x = {1, 2, 3, 4, 5}, y(5);
  struct {
    int exclusive, reverse;
    std::vector<double> expected;
  } cases[] = {{0, 0, {1, 3, 6, 10, 15}},
               {1, 0, {0, 1, 3, 6, 10}},
               {0, 1, {15, 14, 12, 9, 5}},
               {1, 1, {14, 12, 9, 5, 0}}};
  for (auto &c : cases) {
    MapAttrs attrs;
    attrs.ints["axis"] = 0;
    attrs.ints["exclusive"] = c.exclusive;
    attrs.ints["reverse"] = c.reverse;
    ASSERT_OK(run("cumsum", {f64(x, {5})}, {f64(y, {5})}, attrs));
    EXPECT_EQ(y, c.expected) << c.exclusive << c.reverse;
  }
  std::vector<float> m = {1, 2, 3, 4, 5, 6}, my(6);
  MapAttrs axis0, axisLast;
  axis0.ints["axis"] = 0;
  axisLast.ints["axis"] = -1;
  ASSERT_OK(run("cumsum", {f32(m, {2, 3})}, {f32(my, {2, 3})}, axis0));
  EXPECT_EQ(my, (std::vector<float>{1, 2, 3, 5, 7, 9}));
  ASSERT_OK(run("cumsum", {f32(m, {2, 3})}, {f32(my, {2, 3})}, axisLast));
  EXPECT_EQ(my, (std::vector<float>{1, 3, 6, 4, 9, 15}));
  // In place (the executor may alias result and operand).
  ASSERT_OK(run("cumsum", {f32(m, {2, 3})}, {f32(m, {2, 3})}, axisLast));
  EXPECT_EQ(m, (std::vector<float>{1, 3, 6, 4, 9, 15}));
}

TEST(CpuCumProd, OnnxExamplesAndWraps) {
  // The ONNX CumProd examples on 1..5; small integer products are exact
  // in double.
  std::vector<double> x = {1, 2, 3, 4, 5}, y(5);
  struct {
    int exclusive, reverse;
    std::vector<double> expected;
  } cases[] = {{0, 0, {1, 2, 6, 24, 120}},
               {1, 0, {1, 1, 2, 6, 24}},
               {0, 1, {120, 120, 60, 20, 5}},
               {1, 1, {120, 60, 20, 5, 1}}};
  for (auto &c : cases) {
    MapAttrs attrs;
    attrs.ints["axis"] = 0;
    attrs.ints["exclusive"] = c.exclusive;
    attrs.ints["reverse"] = c.reverse;
    ASSERT_OK(run("cumprod", {f64(x, {5})}, {f64(y, {5})}, attrs));
    EXPECT_EQ(y, c.expected) << c.exclusive << c.reverse;
  }
  std::vector<float> m = {1, 2, 3, 4, 5, 6}, my(6);
  MapAttrs axis0, axisLast;
  axis0.ints["axis"] = 0;
  axisLast.ints["axis"] = -1;
  ASSERT_OK(run("cumprod", {f32(m, {2, 3})}, {f32(my, {2, 3})}, axis0));
  EXPECT_EQ(my, (std::vector<float>{1, 2, 3, 4, 10, 18}));
  ASSERT_OK(run("cumprod", {f32(m, {2, 3})}, {f32(my, {2, 3})}, axisLast));
  EXPECT_EQ(my, (std::vector<float>{1, 2, 6, 4, 20, 120}));
  // Signed products keep their sign; i8 wraps: 16 * 16 = 256 -> 0, and
  // -3 * 100 = -300 -> -300 + 256 = -44.
  std::vector<int8_t> s = {-3, 100, 2}, sy(3), w = {16, 16, 5}, wy(3);
  ASSERT_OK(run("cumprod", {view(s, DType::i8, {3})},
                {view(sy, DType::i8, {3})}, axis0));
  EXPECT_EQ(sy, (std::vector<int8_t>{-3, -44, -88}));
  ASSERT_OK(run("cumprod", {view(w, DType::i8, {3})},
                {view(wy, DType::i8, {3})}, axis0));
  EXPECT_EQ(wy, (std::vector<int8_t>{16, 0, 0}));
  std::vector<uint8_t> b = {1, 0};
  EXPECT_NE(run("cumprod", {view(b, DType::i1, {2})}, {view(b, DType::i1, {2})},
                axis0),
            "");
}

TEST(CpuCumSum, MatchesReferenceAndWraps) {
  const Dims dims = {3, 40, 301}; // inner beyond one block of lanes
  auto x = randomValues<float>(numel(dims), 55);
  auto xi = randomInts<int32_t>(numel(dims), 56, -1000000000, 1000000000);
  for (int64_t axis : {0, 1, 2})
    for (int flags = 0; flags < 4; ++flags) {
      MapAttrs attrs;
      attrs.ints["axis"] = axis;
      attrs.ints["exclusive"] = flags & 1;
      attrs.ints["reverse"] = flags >> 1;
      std::vector<float> y(x.size());
      std::vector<int32_t> yi(x.size());
      ASSERT_OK(run("cumsum", {f32(x, dims)}, {f32(y, dims)}, attrs));
      ASSERT_OK(run("cumsum", {view(xi, DType::i32, dims)},
                    {view(yi, DType::i32, dims)}, attrs));
      const Dims s = stridesOf(dims);
      const int64_t n = dims[size_t(axis)], st = s[size_t(axis)];
      for (int64_t f = 0; f < numel(dims); ++f) {
        const int64_t k = unflatten(f, dims)[size_t(axis)], base = f - k * st;
        double sum = 0;
        uint32_t isum = 0; // wraps like two's complement i32
        for (int64_t j = 0; j < n; ++j) {
          const bool in = (flags >> 1) ? (flags & 1 ? j > k : j >= k)
                                       : (flags & 1 ? j < k : j <= k);
          if (in) {
            sum += x[size_t(base + j * st)];
            isum += uint32_t(xi[size_t(base + j * st)]);
          }
        }
        // Summed in double, rounded once: half an ulp of the sum plus the
        // double error (negligible); sums of <= 301 values in [-1, 1].
        ASSERT_NEAR(y[size_t(f)], sum, 1e-7 * std::max(1.0, std::fabs(sum)));
        ASSERT_EQ(yi[size_t(f)], int32_t(isum)) << axis << flags << f;
      }
    }
  std::vector<uint8_t> u = {200, 100, 1}, uy(3);
  MapAttrs a0;
  a0.ints["axis"] = 0;
  ASSERT_OK(
      run("cumsum", {view(u, DType::u8, {3})}, {view(uy, DType::u8, {3})}, a0));
  EXPECT_EQ(uy, (std::vector<uint8_t>{200, 44, 45}));
  // No axis, axis out of range, shape mismatch, bool input.
  std::vector<float> v(6), w(6);
  EXPECT_NE(run("cumsum", {f32(v, {6})}, {f32(w, {6})}), "");
  MapAttrs far;
  far.ints["axis"] = 1;
  EXPECT_NE(run("cumsum", {f32(v, {6})}, {f32(w, {6})}, far), "");
  EXPECT_NE(run("cumsum", {f32(v, {2, 3})}, {f32(w, {3, 2})}, a0), "");
  std::vector<uint8_t> b(2);
  EXPECT_NE(
      run("cumsum", {view(b, DType::i1, {2})}, {view(b, DType::i1, {2})}, a0),
      "");
}

//===----------------------------------------------------------------------===//
// pad
//===----------------------------------------------------------------------===//

// Reference pad, numpy style: crop every dim by its negative pads, then pad
// one dim at a time; reflect grows in chunks of at most n - 1 elements
// mirrored about the current edge, as numpy.pad does.
std::vector<double> referencePad(std::vector<double> x, Dims dims,
                                 const Dims &pads, const std::string &mode,
                                 double value) {
  const size_t rank = dims.size();
  auto alongDim = [&](size_t d, auto edit) { // edit(line) -> new line
    Dims outDims = dims;
    outDims[d] = int64_t(edit(std::vector<double>(size_t(dims[d]))).size());
    std::vector<double> out(size_t(numel(outDims)));
    const Dims s = stridesOf(dims), os = stridesOf(outDims);
    for (int64_t f = 0; f < numel(outDims); ++f) {
      Dims c = unflatten(f, outDims);
      if (c[d] != 0)
        continue;
      std::vector<double> line;
      for (int64_t k = 0; k < dims[d]; ++k) {
        c[d] = k;
        line.push_back(x[size_t(flatten(c, dims))]);
      }
      line = edit(line);
      for (int64_t k = 0; k < outDims[d]; ++k)
        out[size_t(f + k * os[d])] = line[size_t(k)];
    }
    x = out;
    dims = outDims;
  };
  for (size_t d = 0; d < rank; ++d)
    alongDim(d, [&](std::vector<double> line) {
      const int64_t b = std::max<int64_t>(0, -pads[d]);
      const int64_t e = std::max<int64_t>(0, -pads[rank + d]);
      return std::vector<double>(line.begin() + b, line.end() - e);
    });
  for (size_t d = 0; d < rank; ++d)
    alongDim(d, [&](std::vector<double> line) {
      int64_t b = std::max<int64_t>(0, pads[d]);
      int64_t e = std::max<int64_t>(0, pads[rank + d]);
      const int64_t n = int64_t(line.size());
      if (mode == "constant" || (n == 0 && b + e == 0)) {
        line.insert(line.begin(), size_t(b), value);
        line.insert(line.end(), size_t(e), value);
      } else if (mode == "edge" || n == 1) {
        line.insert(line.begin(), size_t(b), line.front());
        line.insert(line.end(), size_t(e), line.back());
      } else {
        while (b > 0) {
          const int64_t chunk = std::min(b, n - 1);
          std::vector<double> head(line.begin() + 1, line.begin() + 1 + chunk);
          line.insert(line.begin(), head.rbegin(), head.rend());
          b -= chunk;
        }
        while (e > 0) {
          const int64_t chunk = std::min(e, n - 1);
          std::vector<double> tail(line.end() - 1 - chunk, line.end() - 1);
          line.insert(line.end(), tail.rbegin(), tail.rend());
          e -= chunk;
        }
      }
      return line;
    });
  return x;
}

TEST(CpuPad, OnnxExamples) {
  std::vector<float> x = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f}, y(12);
  MapAttrs attrs;
  attrs.intLists["pads"] = {0, 2, 0, 0};
  ASSERT_OK(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 4})}, attrs));
  EXPECT_EQ(y, (std::vector<float>{0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0,
                                   4.5f, 5.7f}));
  attrs.strings["mode"] = "reflect";
  ASSERT_OK(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 4})}, attrs));
  EXPECT_EQ(y, (std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f,
                                   3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
  attrs.strings["mode"] = "edge";
  ASSERT_OK(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 4})}, attrs));
  EXPECT_EQ(y, (std::vector<float>{1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f,
                                   3.4f, 4.5f, 4.5f, 4.5f, 5.7f}));
}

TEST(CpuPad, WrapRepeatsTheInput) {
  // numpy.pad(x, ((0, 0), (3, 2)), mode="wrap") on rows [1 2], [3 4]; then
  // a crop of the first row before wrapping (ONNX crops, then pads).
  std::vector<float> x = {1, 2, 3, 4}, y(14);
  MapAttrs attrs;
  attrs.strings["mode"] = "wrap";
  attrs.intLists["pads"] = {0, 3, 0, 2};
  ASSERT_OK(run("pad", {f32(x, {2, 2})}, {f32(y, {2, 7})}, attrs));
  EXPECT_EQ(y, (std::vector<float>{2, 1, 2, 1, 2, 1, 2, 4, 3, 4, 3, 4, 3, 4}));
  attrs.intLists["pads"] = {-1, 1, 1, 0};
  std::vector<float> c(6);
  ASSERT_OK(run("pad", {f32(x, {2, 2})}, {f32(c, {2, 3})}, attrs));
  EXPECT_EQ(c, (std::vector<float>{4, 3, 4, 4, 3, 4}));
}

//===----------------------------------------------------------------------===//
// bitcast
//===----------------------------------------------------------------------===//

TEST(CpuBitcast, KeepsTheBytes) {
  // 1.0f is 0x3F800000 and -2.0f is 0xC0000000 (IEEE 754).
  std::vector<float> f = {1.0f, -2.0f};
  std::vector<int32_t> i(2);
  ASSERT_OK(run("bitcast", {f32(f, {2})}, {view(i, DType::i32, {2})}));
  EXPECT_EQ(i, (std::vector<int32_t>{0x3F800000, int32_t(0xC0000000)}));
  std::vector<float> back(2);
  ASSERT_OK(run("bitcast", {view(i, DType::i32, {2})}, {f32(back, {2})}));
  EXPECT_EQ(back, f);
  // Bytes read as booleans: nonzero is true.
  std::vector<uint8_t> bytes = {0, 1, 7}, flags(3, 9);
  ASSERT_OK(run("bitcast", {view(bytes, DType::u8, {3})},
                {view(flags, DType::i1, {3})}));
  EXPECT_EQ(flags, (std::vector<uint8_t>{0, 1, 1}));
  // Sizes and shapes must agree.
  std::vector<int64_t> wide(2);
  EXPECT_NE(run("bitcast", {f32(f, {2})}, {view(wide, DType::i64, {2})}), "");
  EXPECT_NE(run("bitcast", {f32(f, {2})}, {view(i, DType::i32, {1, 2})}), "");
}

TEST(CpuPad, MatchesNumpyReferenceWithCrops) {
  const Dims dims = {3, 4, 5};
  std::vector<double> x(60);
  std::iota(x.begin(), x.end(), 1.0);
  const struct {
    Dims pads;
    bool emptyAfterCrop; // then reflect and edge have nothing to extend
  } cases[] = {
      {{1, 0, 2, 0, 3, 1}, false},       // plain
      {{-1, 2, 0, 1, -2, 7}, false},     // crops and a reflect wider than dim
      {{0, -3, -1, 0, 0, -4}, false},    // crops only, down to one column
      {{5, 0, 0, 6, 1, 1}, false},       // reflect 3 rows by 5 and 6: repeats
      {{-1, -2, -4, -1, -1, -1}, false}, // empty result
      {{0, 0, -5, 0, 0, 2}, true},       // a dim cropped away, then padded
  };
  for (const auto &c : cases)
    for (const char *mode : {"constant", "reflect", "edge"}) {
      const Dims &pads = c.pads;
      SCOPED_TRACE(::testing::Message() << mode << " pads " << pads[0] << ","
                                        << pads[1] << "," << pads[2] << ",...");
      Dims outDims(3);
      for (size_t d = 0; d < 3; ++d)
        outDims[d] = dims[d] + pads[d] + pads[d + 3];
      MapAttrs attrs;
      attrs.intLists["pads"] = pads;
      attrs.strings["mode"] = mode;
      attrs.floats["value"] = -7.5;
      std::vector<double> y(size_t(numel(outDims)), 1e300);
      const std::string r =
          run("pad", {f64(x, dims)}, {f64(y, outDims)}, attrs);
      if (c.emptyAfterCrop && std::string(mode) != "constant") {
        EXPECT_TRUE(contains(r, "empty")) << r;
        continue;
      }
      ASSERT_OK(r);
      EXPECT_EQ(y, referencePad(x, dims, pads, mode, -7.5));
    }
}

TEST(CpuPad, ConstantPerDtypeAndErrors) {
  std::vector<int8_t> i8 = {1, 2}, i8y(4);
  MapAttrs attrs;
  attrs.intLists["pads"] = {1, 1};
  attrs.floats["value"] = -5;
  ASSERT_OK(run("pad", {view(i8, DType::i8, {2})}, {view(i8y, DType::i8, {4})},
                attrs));
  EXPECT_EQ(i8y, (std::vector<int8_t>{-5, 1, 2, -5}));
  std::vector<uint16_t> h = {0x3C00}, hy(3);
  attrs.floats["value"] = 1.5; // f16 0x3E00
  ASSERT_OK(run("pad", {view(h, DType::f16, {1})}, {view(hy, DType::f16, {3})},
                attrs));
  EXPECT_EQ(hy, (std::vector<uint16_t>{0x3E00, 0x3C00, 0x3E00}));
  attrs.floats["value"] = 1;
  std::vector<uint8_t> b = {0}, by(3);
  ASSERT_OK(
      run("pad", {view(b, DType::i1, {1})}, {view(by, DType::i1, {3})}, attrs));
  EXPECT_EQ(by, (std::vector<uint8_t>{1, 0, 1}));
  // A constant the dtype cannot hold.
  for (double bad : {2.5, 128.0, -129.0, double(NAN)}) {
    attrs.floats["value"] = bad;
    EXPECT_TRUE(contains(run("pad", {view(i8, DType::i8, {2})},
                             {view(i8y, DType::i8, {4})}, attrs),
                         "constant"))
        << bad;
  }
  std::vector<uint64_t> u = {1}, uy(3);
  attrs.floats["value"] = 18446744073709549568.0; // 2^64 - 2048: fits
  ASSERT_OK(run("pad", {view(u, DType::u64, {1})}, {view(uy, DType::u64, {3})},
                attrs));
  EXPECT_EQ(uy[0], 18446744073709549568ull);
  attrs.floats["value"] = 18446744073709551616.0; // 2^64: does not
  EXPECT_NE(run("pad", {view(u, DType::u64, {1})}, {view(uy, DType::u64, {3})},
                attrs),
            "");
  // Rank 0: nothing to pad.
  std::vector<float> s = {4}, sy(1);
  MapAttrs none;
  ASSERT_OK(run("pad", {f32(s, {})}, {f32(sy, {})}, none));
  EXPECT_EQ(sy[0], 4.0f);
  // Wrong pad count, result shape, mode; crops beyond the dim; overflow.
  std::vector<float> x(6), y(12);
  MapAttrs p;
  p.intLists["pads"] = {0, 2, 0};
  EXPECT_NE(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 4})}, p), "");
  p.intLists["pads"] = {0, 2, 0, 1};
  EXPECT_NE(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 4})}, p), "");
  p.intLists["pads"] = {0, 2, 0, 0};
  p.strings["mode"] = "circular";
  EXPECT_TRUE(
      contains(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 4})}, p), "mode"));
  p.strings["mode"] = "constant";
  p.intLists["pads"] = {-4, 0, 4, 0};
  EXPECT_NE(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 2})}, p), "");
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  p.intLists["pads"] = {lo, 0, hi, 0};
  EXPECT_NE(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 2})}, p), "");
  p.intLists["pads"] = {hi, 0, hi, 0};
  EXPECT_NE(run("pad", {f32(x, {3, 2})}, {f32(y, {3, 2})}, p), "");
}

//===----------------------------------------------------------------------===//
// Registry and garbage inputs for the kernels added here and in the math
// and reduce files.
//===----------------------------------------------------------------------===//

const char *const kNewOps[] = {"acos",
                               "asin",
                               "atan",
                               "cos",
                               "sin",
                               "tan",
                               "cosh",
                               "sinh",
                               "acosh",
                               "asinh",
                               "atanh",
                               "softplus",
                               "softsign",
                               "hard_swish",
                               "round",
                               "leaky_relu",
                               "elu",
                               "selu",
                               "hard_sigmoid",
                               "thresholded_relu",
                               "celu",
                               "sign",
                               "isnan",
                               "isinf",
                               "prelu",
                               "mod",
                               "xor",
                               "reduce_l1",
                               "reduce_l2",
                               "reduce_log_sum",
                               "reduce_log_sum_exp",
                               "reduce_sum_square",
                               "log_softmax",
                               "hardmax",
                               "argmax",
                               "argmin",
                               "trilu",
                               "gather_elements",
                               "cumsum",
                               "pad"};

TEST(CpuRegistry, NewOpsHaveKernels) {
  const std::vector<std::string> names = azr::cpu::kernelNames();
  for (const char *op : kNewOps) {
    EXPECT_NE(azr::cpu::findKernel(op), nullptr) << op;
    EXPECT_NE(std::find(names.begin(), names.end(), op), names.end()) << op;
  }
}

// Random shapes, dtypes, contents and the attributes these kernels read,
// drawn near a common shape so that many calls get past validation: none
// may crash or touch memory outside its tensors (AddressSanitizer checks
// the latter).
TEST(CpuKernels, NewKernelsSurviveGarbage) {
  std::mt19937 rng(1234);
  auto pick = [&](int n) { return int(rng() % unsigned(n)); };
  int succeeded = 0;
  for (const char *op : kNewOps)
    for (int trial = 0; trial < 300; ++trial) {
      Tensor base;
      base.rank = pick(5);
      for (int d = 0; d < base.rank; ++d)
        base.dims[d] = pick(5);
      const DType common = pick(2) ? DType::f32 : DType(pick(13));
      std::vector<std::vector<uint8_t>> storage;
      auto makeTensor = [&](DType type) {
        Tensor t = base;
        if (pick(4) == 0)
          for (int d = 0; d < t.rank; ++d)
            t.dims[d] = pick(2) ? 1 : pick(6);
        if (pick(5) == 0)
          t.rank = pick(5);
        t.dtype = pick(5) ? type : DType(pick(13));
        storage.emplace_back(t.bytes());
        for (uint8_t &byte : storage.back())
          byte = uint8_t(pick(3) == 0 ? rng() : pick(4));
        t.data = storage.back().empty() ? nullptr : storage.back().data();
        return t;
      };
      const std::string name = op;
      const bool binary = name == "prelu" || name == "mod" || name == "xor" ||
                          name == "gather_elements";
      std::vector<Tensor> inputs = {makeTensor(common)};
      if (binary != (pick(10) == 0)) // now and then a wrong operand count
        inputs.push_back(makeTensor(pick(2) ? DType::i64 : common));
      const bool toIndex = std::string(op).rfind("arg", 0) == 0;
      const bool toBool = std::string(op) == "isnan" ||
                          std::string(op) == "isinf" ||
                          std::string(op) == "xor";
      std::vector<Tensor> outputs = {makeTensor(toIndex  ? DType::i64
                                                : toBool ? DType::i1
                                                         : common)};
      MapAttrs attrs;
      for (const char *key : {"axis", "keepdims", "select_last_index", "k",
                              "upper", "exclusive", "reverse", "fmod"})
        if (pick(2))
          attrs.ints[key] =
              pick(2) ? pick(5) - 2 : int64_t(rng()) - (1ll << 31);
      for (const char *key : {"axes", "pads"})
        if (pick(2)) {
          std::vector<int64_t> v(size_t(pick(2) ? 2 * base.rank : pick(9)));
          for (int64_t &x : v)
            x = pick(8) ? pick(7) - 3 : int64_t(rng()) << 32;
          attrs.intLists[key] = v;
        }
      const char *modes[] = {"constant", "reflect", "edge", "bogus"};
      attrs.strings["mode"] = modes[pick(4)];
      if (pick(2))
        attrs.floats["value"] = pick(2) ? double(pick(5)) : 0.5;
      if (pick(2))
        attrs.floats["alpha"] = pick(3) - 1;
      if (run(op, inputs, outputs, attrs).empty())
        ++succeeded;
    }
  // Sanity check that the fuzzing reaches the kernels' bodies at all.
  EXPECT_GT(succeeded, 1000);
}

} // namespace

TEST(CpuTfIdfVectorizer, CountsSkipGramsOnceEachAndWeighs) {
  // Pool: unigrams {2}, {3} (columns 0, 1), bigram {2, 3} (column 2).
  // Row 0 = 2 3 2 5 3: unigram 2 twice, 3 twice; bigram (2,3) at distance
  // 1 (positions 0-1) and distance 2 (positions 2-4): twice with skips up
  // to 1. Row 1 = 3 3 3 3 3: unigram 3 five times, never a (2,3).
  std::vector<int64_t> tokens = {2, 3, 2, 5, 3, 3, 3, 3, 3, 3};
  std::vector<float> counts(6), weights = {0.5f, 2.0f, 4.0f};
  MapAttrs attrs;
  attrs.ints["min_gram_length"] = 1;
  attrs.ints["max_gram_length"] = 2;
  attrs.ints["max_skip_count"] = 1;
  attrs.intLists["ngram_counts"] = {0, 2};
  attrs.intLists["ngram_indexes"] = {0, 1, 2};
  attrs.intLists["pool"] = {2, 3, 2, 3};
  attrs.strings["mode"] = "TF";
  ASSERT_OK(run("tfidf_vectorizer", {view(tokens, DType::i64, {2, 5})},
                {f32(counts, {2, 3})}, attrs));
  EXPECT_EQ(counts, (std::vector<float>{2, 2, 2, 0, 5, 0}));
  attrs.strings["mode"] = "TFIDF";
  ASSERT_OK(run("tfidf_vectorizer",
                {view(tokens, DType::i64, {2, 5}), f32(weights, {3})},
                {f32(counts, {2, 3})}, attrs));
  EXPECT_EQ(counts, (std::vector<float>{1, 4, 8, 0, 10, 0}));
  attrs.strings["mode"] = "IDF";
  ASSERT_OK(run("tfidf_vectorizer",
                {view(tokens, DType::i64, {2, 5}), f32(weights, {3})},
                {f32(counts, {2, 3})}, attrs));
  EXPECT_EQ(counts, (std::vector<float>{0.5f, 2, 4, 0, 2, 0}));
  // Only bigrams counted: the unigrams of the pool are left out.
  attrs.strings["mode"] = "TF";
  attrs.ints["min_gram_length"] = 2;
  ASSERT_OK(run("tfidf_vectorizer", {view(tokens, DType::i64, {2, 5})},
                {f32(counts, {2, 3})}, attrs));
  EXPECT_EQ(counts, (std::vector<float>{0, 0, 2, 0, 0, 0}));
  // An index past the result's columns is refused.
  attrs.intLists["ngram_indexes"] = {0, 1, 7};
  EXPECT_NE(run("tfidf_vectorizer", {view(tokens, DType::i64, {2, 5})},
                {f32(counts, {2, 3})}, attrs),
            "");
}

TEST(CpuTreeEnsemble, WalksEachTreeAndAggregatesPerTarget) {
  // Tree 0 (root node 0): x0 <= 1 ? leaf 0 (target 0, +10)
  //                               : node 1: x1 in {3, 5} ? leaf 1 (t1, +1)
  //                                                      : leaf 2 (t0, +2).
  // Tree 1 (root node 2): x1 > 4 ? leaf 3 (t1, +100) : leaf 4 (t1, +200);
  // a NaN x1 goes the true way there.
  std::vector<double> x = {0.5, 3, 2, 5, 2, 4, 0, NAN};
  std::vector<double> splits = {1, 0, 4}, weights = {10, 1, 2, 100, 200};
  std::vector<double> members = {3, 5, NAN}, y(8);
  MapAttrs attrs;
  attrs.intLists["nodes_featureids"] = {0, 1, 1};
  attrs.intLists["nodes_modes"] = {0, 6, 3};
  attrs.intLists["nodes_truenodeids"] = {0, 1, 3};
  attrs.intLists["nodes_falsenodeids"] = {1, 2, 4};
  attrs.intLists["nodes_trueleafs"] = {1, 1, 1};
  attrs.intLists["nodes_falseleafs"] = {0, 1, 1};
  attrs.intLists["nodes_missing_value_tracks_true"] = {0, 0, 1};
  attrs.intLists["leaf_targetids"] = {0, 1, 0, 1, 1};
  attrs.intLists["tree_roots"] = {0, 2};
  attrs.ints["aggregate_function"] = 1; // sum
  ASSERT_OK(run(
      "tree_ensemble",
      {f64(x, {4, 2}), f64(splits, {3}), f64(weights, {5}), f64(members, {3})},
      {f64(y, {4, 2})}, attrs));
  // Row (0.5, 3): leaf 0 -> t0 10; 3 > 4 no -> t1 200.
  // Row (2, 5): 5 in {3,5} -> t1 1; 5 > 4 -> t1 100.
  // Row (2, 4): 4 not in set -> t0 2; 4 > 4 no -> t1 200.
  // Row (0, NaN): leaf 0 -> t0 10; NaN tracks true -> t1 100.
  EXPECT_EQ(y, (std::vector<double>{10, 200, 0, 101, 2, 200, 10, 100}));
  attrs.ints["aggregate_function"] = 3; // max
  ASSERT_OK(run(
      "tree_ensemble",
      {f64(x, {4, 2}), f64(splits, {3}), f64(weights, {5}), f64(members, {3})},
      {f64(y, {4, 2})}, attrs));
  EXPECT_EQ(y[3], 100); // max(1, 100)
  // A cycle (node 1's false child back to a node that loops) is refused.
  attrs.intLists["nodes_falseleafs"] = {0, 0, 1};
  attrs.intLists["nodes_falsenodeids"] = {1, 1, 4};
  EXPECT_NE(run("tree_ensemble",
                {f64(x, {4, 2}), f64(splits, {3}), f64(weights, {5}),
                 f64(members, {3})},
                {f64(y, {4, 2})}, attrs),
            "");
}
