// Tests of the CPU kernels in scatter_gather.cc (gather_nd, scatter_nd,
// scatter_elements, top_k), grid_sample.cc (grid_sample, roi_align) and
// resize.cc against the ONNX documentation's
// examples, hand-computed values and naive loops written from the operator
// definitions, plus random garbage. Everything here is exact except
// grid_sample's interpolation, whose bound is stated where used.

#include "kernel_test_util.h"

#include <algorithm>
#include <cstring>

using namespace azr_test;

namespace {

Tensor i64(std::vector<int64_t> &data, Dims dims) {
  return view(data, DType::i64, std::move(dims));
}

//===----------------------------------------------------------------------===//
// gather_nd
//===----------------------------------------------------------------------===//

TEST(CpuGatherNd, OnnxExamples) {
  // Example 1: data [[0,1],[2,3]], indices [[0,0],[1,1]] -> [0,3].
  std::vector<int64_t> data = {0, 1, 2, 3}, idx = {0, 0, 1, 1}, out(2);
  ASSERT_OK(
      run("gather_nd", {i64(data, {2, 2}), i64(idx, {2, 2})}, {i64(out, {2})}));
  EXPECT_EQ(out, (std::vector<int64_t>{0, 3}));
  // Example 2: indices [[1],[0]] -> rows [[2,3],[0,1]].
  std::vector<int64_t> rows = {1, 0}, picked(4);
  ASSERT_OK(run("gather_nd", {i64(data, {2, 2}), i64(rows, {2, 1})},
                {i64(picked, {2, 2})}));
  EXPECT_EQ(picked, (std::vector<int64_t>{2, 3, 0, 1}));
  // Example 5: batch_dims = 1, data [[[0,1],[2,3]],[[4,5],[6,7]]],
  // indices [[1],[0]] -> [[2,3],[4,5]].
  std::vector<int64_t> cube = {0, 1, 2, 3, 4, 5, 6, 7}, batched(4);
  MapAttrs attrs;
  attrs.ints["batch_dims"] = 1;
  ASSERT_OK(run("gather_nd", {i64(cube, {2, 2, 2}), i64(rows, {2, 1})},
                {i64(batched, {2, 2})}, attrs));
  EXPECT_EQ(batched, (std::vector<int64_t>{2, 3, 4, 5}));
}

TEST(CpuGatherNd, MatchesReferenceWithNegativeIndices) {
  const Dims dataDims = {3, 4, 5};
  auto data = randomValues(numel(dataDims), 40);
  // k = 2: indices of shape 2 x 3 x 2 address rows of 5.
  std::vector<int64_t> idx = randomInts<int64_t>(12, 41, -3, 2);
  for (size_t i = 1; i < idx.size(); i += 2)
    idx[i] = idx[i] % 4; // in [-3, 3] for the second dim
  std::vector<float> out(2 * 3 * 5);
  ASSERT_OK(run("gather_nd", {f32(data, dataDims), i64(idx, {2, 3, 2})},
                {f32(out, {2, 3, 5})}));
  for (int64_t t = 0; t < 6; ++t) {
    int64_t a = idx[size_t(2 * t)], b = idx[size_t(2 * t + 1)];
    a += a < 0 ? 3 : 0;
    b += b < 0 ? 4 : 0;
    for (int64_t j = 0; j < 5; ++j)
      ASSERT_EQ(out[size_t(t * 5 + j)], data[size_t((a * 4 + b) * 5 + j)]);
  }
}

TEST(CpuGatherNd, Errors) {
  std::vector<int64_t> data = {0, 1, 2, 3}, bad = {0, 2}, out(1);
  EXPECT_TRUE(contains(
      run("gather_nd", {i64(data, {2, 2}), i64(bad, {1, 2})}, {i64(out, {1})}),
      "out of range"));
  std::vector<int64_t> big = {0, 0, 0}, out2(1);
  EXPECT_NE(
      run("gather_nd", {i64(data, {2, 2}), i64(big, {1, 3})}, {i64(out2, {1})}),
      "");
}

//===----------------------------------------------------------------------===//
// scatter_nd
//===----------------------------------------------------------------------===//

TEST(CpuScatterNd, OnnxExamplesAndReductions) {
  // Example 1: data [1..8], indices [[4],[3],[1],[7]], updates [9,10,11,12]
  // -> [1,11,3,10,9,6,7,12].
  std::vector<float> data = {1, 2, 3, 4, 5, 6, 7, 8}, updates = {9, 10, 11, 12};
  std::vector<int64_t> idx = {4, 3, 1, 7};
  std::vector<float> out(8);
  ASSERT_OK(run("scatter_nd",
                {f32(data, {8}), i64(idx, {4, 1}), f32(updates, {4})},
                {f32(out, {8})}));
  EXPECT_EQ(out, (std::vector<float>{1, 11, 3, 10, 9, 6, 7, 12}));
  // Duplicates with add and mul combine every update.
  std::vector<int64_t> twice = {1, 1};
  std::vector<float> two = {10, 3};
  MapAttrs add, mul, max, min;
  add.strings["reduction"] = "add";
  mul.strings["reduction"] = "mul";
  max.strings["reduction"] = "max";
  min.strings["reduction"] = "min";
  ASSERT_OK(run("scatter_nd",
                {f32(data, {8}), i64(twice, {2, 1}), f32(two, {2})},
                {f32(out, {8})}, add));
  EXPECT_EQ(out[1], 15.0f);
  ASSERT_OK(run("scatter_nd",
                {f32(data, {8}), i64(twice, {2, 1}), f32(two, {2})},
                {f32(out, {8})}, mul));
  EXPECT_EQ(out[1], 60.0f);
  ASSERT_OK(run("scatter_nd",
                {f32(data, {8}), i64(twice, {2, 1}), f32(two, {2})},
                {f32(out, {8})}, max));
  EXPECT_EQ(out[1], 10.0f);
  ASSERT_OK(run("scatter_nd",
                {f32(data, {8}), i64(twice, {2, 1}), f32(two, {2})},
                {f32(out, {8})}, min));
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_EQ(out[0], 1.0f);
}

TEST(CpuScatterNd, SlicesMatchReference) {
  // data 4 x 3 x 2; indices 2 x 2 address (i, j) rows of 2.
  const Dims dataDims = {4, 3, 2};
  auto data = randomValues(numel(dataDims), 42);
  std::vector<int64_t> idx = {0, -1, 3, 1};
  auto updates = randomValues(2 * 2, 43);
  std::vector<float> out(size_t(numel(dataDims)));
  ASSERT_OK(run("scatter_nd",
                {f32(data, dataDims), i64(idx, {2, 2}), f32(updates, {2, 2})},
                {f32(out, dataDims)}));
  std::vector<float> expected = data;
  for (int64_t j = 0; j < 2; ++j) {
    expected[size_t((0 * 3 + 2) * 2 + j)] = updates[size_t(j)];
    expected[size_t((3 * 3 + 1) * 2 + j)] = updates[size_t(2 + j)];
  }
  EXPECT_EQ(out, expected);
  std::vector<int64_t> bad = {4, 0};
  EXPECT_TRUE(contains(
      run("scatter_nd",
          {f32(data, dataDims), i64(bad, {1, 2}), f32(updates, {1, 2})},
          {f32(out, dataDims)}),
      "out of range"));
}

//===----------------------------------------------------------------------===//
// scatter_elements
//===----------------------------------------------------------------------===//

TEST(CpuScatterElements, OnnxExamples) {
  // Example 1 (axis 0): data zeros 3x3, indices [[1,0,2],[0,2,1]],
  // updates [[1,1.1,1.2],[2,2.1,2.2]].
  std::vector<float> data(9, 0.0f), updates = {1, 1.1f, 1.2f, 2, 2.1f, 2.2f};
  std::vector<int64_t> idx = {1, 0, 2, 0, 2, 1};
  std::vector<float> out(9);
  ASSERT_OK(run("scatter_elements",
                {f32(data, {3, 3}), i64(idx, {2, 3}), f32(updates, {2, 3})},
                {f32(out, {3, 3})}));
  EXPECT_EQ(out, (std::vector<float>{2, 1.1f, 0, 1, 0, 2.2f, 0, 2.1f, 1.2f}));
  // Example 2 (axis 1, negative index): data [[1,2,3,4,5]], indices
  // [[1,-2]], updates [[1.1,2.1]] -> [[1,1.1,3,2.1,5]].
  std::vector<float> row = {1, 2, 3, 4, 5}, two = {1.1f, 2.1f}, got(5);
  std::vector<int64_t> at = {1, -2};
  MapAttrs axis1;
  axis1.ints["axis"] = 1;
  ASSERT_OK(run("scatter_elements",
                {f32(row, {1, 5}), i64(at, {1, 2}), f32(two, {1, 2})},
                {f32(got, {1, 5})}, axis1));
  EXPECT_EQ(got, (std::vector<float>{1, 1.1f, 3, 2.1f, 5}));
  // Duplicate indices with add.
  std::vector<int64_t> dup = {1, 1};
  axis1.strings["reduction"] = "add";
  ASSERT_OK(run("scatter_elements",
                {f32(row, {1, 5}), i64(dup, {1, 2}), f32(two, {1, 2})},
                {f32(got, {1, 5})}, axis1));
  EXPECT_FLOAT_EQ(got[1], 2 + 1.1f + 2.1f);
}

TEST(CpuScatterElements, MatchesReferenceForIntegers) {
  const Dims dataDims = {3, 4, 2}, idxDims = {2, 3, 2};
  auto data = randomInts<int32_t>(numel(dataDims), 44, -50, 50);
  auto updates = randomInts<int32_t>(numel(idxDims), 45, -50, 50);
  auto idx = randomInts<int64_t>(numel(idxDims), 46, -4, 3);
  for (int64_t axis : {1, -2}) {
    MapAttrs attrs;
    attrs.ints["axis"] = axis;
    std::vector<int32_t> out(size_t(numel(dataDims)));
    ASSERT_OK(run("scatter_elements",
                  {view(data, DType::i32, dataDims), i64(idx, idxDims),
                   view(updates, DType::i32, idxDims)},
                  {view(out, DType::i32, dataDims)}, attrs));
    std::vector<int32_t> expected = data;
    for (int64_t i = 0; i < numel(idxDims); ++i) {
      Dims c = unflatten(i, idxDims);
      c[1] = idx[size_t(i)] < 0 ? idx[size_t(i)] + 4 : idx[size_t(i)];
      expected[size_t(flatten(c, dataDims))] = updates[size_t(i)];
    }
    EXPECT_EQ(out, expected) << "axis " << axis;
  }
  std::vector<int32_t> out(size_t(numel(dataDims)));
  MapAttrs bogus;
  bogus.ints["axis"] = 1;
  bogus.strings["reduction"] = "bogus";
  EXPECT_NE(run("scatter_elements",
                {view(data, DType::i32, dataDims), i64(idx, idxDims),
                 view(updates, DType::i32, idxDims)},
                {view(out, DType::i32, dataDims)}, bogus),
            "");
}

//===----------------------------------------------------------------------===//
// grid_sample
//===----------------------------------------------------------------------===//

std::vector<float> sample(const std::vector<float> &x, const Dims &xDims,
                          std::vector<float> grid, const Dims &gridDims,
                          const MapAttrs &attrs) {
  std::vector<float> in = x;
  Dims outDims = {xDims[0], xDims[1]};
  for (size_t d = 1; d + 1 < gridDims.size(); ++d)
    outDims.push_back(gridDims[d]);
  std::vector<float> out(size_t(numel(outDims)));
  EXPECT_OK(run("grid_sample", {f32(in, xDims), f32(grid, gridDims)},
                {f32(out, outDims)}, attrs));
  return out;
}

TEST(CpuGridSample, HandComputedModesAndPadding) {
  // X = [[1, 2], [3, 4]]; grid points are (x, y).
  const std::vector<float> x = {1, 2, 3, 4};
  const Dims xDims = {1, 1, 2, 2};
  MapAttrs corners;
  corners.ints["align_corners"] = 1;
  // Corners, the center (bilinear mean) and the top right.
  auto y = sample(x, xDims, {-1, -1, 1, 1, 0, 0, 1, -1}, {1, 1, 4, 2}, corners);
  EXPECT_EQ(y, (std::vector<float>{1, 4, 2.5f, 2}));
  // Nearest rounds half to even: the center (0.5, 0.5) reads (0, 0).
  corners.strings["mode"] = "nearest";
  y = sample(x, xDims, {0, 0, 0.9f, -0.9f}, {1, 1, 2, 2}, corners);
  EXPECT_EQ(y, (std::vector<float>{1, 2}));
  // Cubic at pixel centers is the pixel.
  corners.strings["mode"] = "cubic";
  y = sample(x, xDims, {1, -1, -1, 1}, {1, 1, 2, 2}, corners);
  EXPECT_NEAR(y[0], 2, 1e-6);
  EXPECT_NEAR(y[1], 3, 1e-6);

  // Without align_corners (-1, -1) is the outer corner of pixel (0, 0):
  // position (-0.5, -0.5), whose taps straddle the border.
  MapAttrs zeros, border, reflection;
  border.strings["padding_mode"] = "border";
  reflection.strings["padding_mode"] = "reflection";
  EXPECT_EQ(sample(x, xDims, {-1, -1}, {1, 1, 1, 2}, zeros)[0], 0.25f);
  EXPECT_EQ(sample(x, xDims, {-1, -1}, {1, 1, 1, 2}, border)[0], 1.0f);
  EXPECT_EQ(sample(x, xDims, {-1, -1}, {1, 1, 1, 2}, reflection)[0], 1.0f);
  // Far outside: zeros reads nothing; border clamps to the corner; x = 3
  // (position 3.5) reflects twice to -0.5, whose taps both read column 0,
  // and y = 1 (position 1.5) reads row 1.
  EXPECT_EQ(sample(x, xDims, {3, 1}, {1, 1, 1, 2}, zeros)[0], 0.0f);
  EXPECT_EQ(sample(x, xDims, {3, 1}, {1, 1, 1, 2}, border)[0], 4.0f);
  EXPECT_EQ(sample(x, xDims, {3, 1}, {1, 1, 1, 2}, reflection)[0], 3.0f);
}

TEST(CpuGridSample, OnnxBicubicExample) {
  // The ONNX documentation's bicubic example, the expected values from the
  // onnx package's reference implementation.
  const std::vector<float> x = {0, 1, 2, 3, 4, 5};
  const std::vector<float> grid = {-1, -1, -0.5f, -0.5f, -0.2f, -0.2f, 0, 0,
                                   0,  0,  -0.2f, -0.2f, 0.5f,  0.5f,  1, 1};
  MapAttrs attrs;
  attrs.strings["mode"] = "cubic";
  auto y = sample(x, {1, 1, 3, 2}, grid, {1, 2, 4, 2}, attrs);
  const double expected[] = {-0.140625, 0.3828125, 1.7555516, 2.96875,
                             2.96875,   1.7555516, 5.1445312, 1.390625};
  for (size_t i = 0; i < 8; ++i)
    EXPECT_NEAR(y[i], expected[i], 1e-6) << i;
}

TEST(CpuGridSample, VolumetricLinearIsTrilinear) {
  // x(d, h, w) = 100 d + 10 h + w is linear, so trilinear sampling inside
  // the volume reproduces it exactly at any position.
  const Dims xDims = {1, 2, 3, 4, 5};
  std::vector<float> x(size_t(numel(xDims)));
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t d = 0; d < 3; ++d)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w)
          x[size_t(((c * 3 + d) * 4 + h) * 5 + w)] =
              float(100 * d + 10 * h + w + 1000 * c);
  MapAttrs corners;
  corners.ints["align_corners"] = 1;
  // 1 x 2 x 3 points, each (x, y, z).
  auto grid = randomValues(2 * 3 * 3, 50, -1.0, 1.0);
  auto y = sample(x, xDims, grid, {1, 1, 2, 3, 3}, corners);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t p = 0; p < 6; ++p) {
      const double w = (grid[size_t(p * 3)] + 1) / 2 * 4;
      const double h = (grid[size_t(p * 3 + 1)] + 1) / 2 * 3;
      const double d = (grid[size_t(p * 3 + 2)] + 1) / 2 * 2;
      EXPECT_NEAR(y[size_t(c * 6 + p)], 100 * d + 10 * h + w + 1000 * c, 1e-3)
          << c << " " << p;
    }
  std::vector<float> out(12);
  MapAttrs bad;
  bad.strings["mode"] = "bogus";
  EXPECT_NE(run("grid_sample", {f32(x, xDims), f32(grid, {1, 1, 2, 3, 3})},
                {f32(out, {1, 2, 1, 2, 3})}, bad),
            "");
  EXPECT_NE(run("grid_sample", {f32(x, xDims), f32(grid, {1, 1, 2, 9})},
                {f32(out, {1, 2, 1, 2, 3})}, corners),
            "");
}

//===----------------------------------------------------------------------===//
// top_k
//===----------------------------------------------------------------------===//

TEST(CpuTopK, MatchesSortAlongEveryAxis) {
  // Small integers make ties common: equal values keep index order.
  const Dims dims = {3, 5, 4};
  auto x = randomInts<int32_t>(numel(dims), 90, 0, 4);
  for (int64_t axis : {0, 1, 2, -1})
    for (int largest : {0, 1}) {
      const int64_t a = axis < 0 ? axis + 3 : axis, k = dims[size_t(a)] - 1;
      Dims outDims = dims;
      outDims[size_t(a)] = k;
      std::vector<int32_t> values(size_t(numel(outDims)));
      std::vector<int64_t> indices(values.size());
      MapAttrs attrs;
      attrs.ints["k"] = k;
      attrs.ints["axis"] = axis;
      attrs.ints["largest"] = largest;
      ASSERT_OK(run("top_k", {view(x, DType::i32, dims)},
                    {view(values, DType::i32, outDims),
                     view(indices, DType::i64, outDims)},
                    attrs));
      for (int64_t o = 0; o < numel(outDims); ++o) {
        Dims c = unflatten(o, outDims);
        // The reference: the line sorted by value, ties by index.
        std::vector<std::pair<int32_t, int64_t>> line;
        for (int64_t j = 0; j < dims[size_t(a)]; ++j) {
          Dims at = c;
          at[size_t(a)] = j;
          line.push_back({x[size_t(flatten(at, dims))], j});
        }
        std::sort(line.begin(), line.end(), [&](const auto &p, const auto &q) {
          if (p.first != q.first)
            return largest ? p.first > q.first : p.first < q.first;
          return p.second < q.second;
        });
        const auto &want = line[size_t(c[size_t(a)])];
        ASSERT_EQ(values[size_t(o)], want.first) << axis << " " << o;
        ASSERT_EQ(indices[size_t(o)], want.second) << axis << " " << o;
      }
    }
  std::vector<int32_t> v(12);
  std::vector<int64_t> i(12);
  MapAttrs tooMany;
  tooMany.ints["k"] = 5;
  EXPECT_NE(
      run("top_k", {view(x, DType::i32, dims)},
          {view(v, DType::i32, {3, 5, 5}), view(i, DType::i64, {3, 5, 5})},
          tooMany),
      "");
}

//===----------------------------------------------------------------------===//
// roi_align
//===----------------------------------------------------------------------===//

TEST(CpuRoiAlign, AveragesOfLinearDataAndMax) {
  // x(y, x) = 10 y + x: bilinear samples are exact, so each bin's average
  // is x at the mean of its sample positions. half_pixel, roi (0, 0, 4, 4),
  // 2 x 2 bins of 2 x 2 samples at -0.5 + {0.5, 1.5} (+ 2): rows 0 and 1,
  // 2 and 3 (3 is the last row, read as is).
  std::vector<float> x(16);
  for (int64_t i = 0; i < 16; ++i)
    x[size_t(i)] = float(10 * (i / 4) + i % 4);
  std::vector<float> rois = {0, 0, 4, 4, 0, 0, 2, 2}, out(8);
  std::vector<int64_t> batch = {0, 0};
  MapAttrs attrs;
  attrs.ints["output_height"] = 2;
  attrs.ints["output_width"] = 2;
  ASSERT_OK(run(
      "roi_align",
      {f32(x, {1, 1, 4, 4}), f32(rois, {2, 4}), view(batch, DType::i64, {2})},
      {f32(out, {2, 1, 2, 2})}, attrs));
  EXPECT_NEAR(out[0], 5.5, 1e-5);
  EXPECT_NEAR(out[1], 7.5, 1e-5);
  EXPECT_NEAR(out[2], 25.5, 1e-5);
  EXPECT_NEAR(out[3], 27.5, 1e-5);
  // Max of a constant image at whole-pixel samples is the constant:
  // output_half_pixel, roi (0, 0, 2, 2), one sample per bin at (1, 1).
  std::vector<float> ones(16, 3.0f), one(2);
  MapAttrs max;
  max.strings["mode"] = "max";
  max.strings["coordinate_transformation_mode"] = "output_half_pixel";
  max.ints["sampling_ratio"] = 1;
  ASSERT_OK(run("roi_align",
                {f32(ones, {1, 1, 4, 4}), f32(rois, {2, 4}),
                 view(batch, DType::i64, {2})},
                {f32(one, {2, 1, 1, 1})}, max));
  EXPECT_EQ(one[1], 3.0f);
  std::vector<int64_t> bad = {0, 1};
  EXPECT_NE(
      run("roi_align",
          {f32(x, {1, 1, 4, 4}), f32(rois, {2, 4}), view(bad, DType::i64, {2})},
          {f32(out, {2, 1, 2, 2})}, attrs),
      "");
}

//===----------------------------------------------------------------------===//
// resize
//===----------------------------------------------------------------------===//

std::vector<float> resize(std::vector<float> x, const Dims &in,
                          const Dims &outDims, std::vector<double> scales,
                          const MapAttrs &attrs, std::vector<double> roi = {}) {
  std::vector<float> out(size_t(numel(outDims)));
  std::vector<Tensor> inputs = {f32(x, in),
                                f64(scales, {int64_t(scales.size())})};
  if (!roi.empty())
    inputs.push_back(f64(roi, {int64_t(roi.size())}));
  EXPECT_OK(run("resize", inputs, {f32(out, outDims)}, attrs));
  return out;
}

TEST(CpuResize, NearestModesAndCoordinates) {
  // 2x nearest upsampling, asymmetric + floor: every pixel repeats.
  MapAttrs upsample;
  upsample.strings["coordinate_transformation_mode"] = "asymmetric";
  upsample.strings["nearest_mode"] = "floor";
  auto y =
      resize({1, 2, 3, 4}, {1, 1, 2, 2}, {1, 1, 4, 4}, {1, 1, 2, 2}, upsample);
  EXPECT_EQ(
      y, (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // half_pixel, 4 -> 3 (scale 0.75): positions 1/6, 1.5, 17/6, and the
  // tie at 1.5 goes down with round_prefer_floor, up with _ceil.
  MapAttrs floorTie, ceilTie;
  ceilTie.strings["nearest_mode"] = "round_prefer_ceil";
  EXPECT_EQ(resize({10, 20, 30, 40}, {4}, {3}, {0.75}, floorTie),
            (std::vector<float>{10, 20, 40}));
  EXPECT_EQ(resize({10, 20, 30, 40}, {4}, {3}, {0.75}, ceilTie),
            (std::vector<float>{10, 30, 40}));
}

TEST(CpuResize, LinearAndCubicReproduceLinearData) {
  // Linear interpolation, and cubic with a = -0.5 (Keys' third-order
  // kernel), are exact on linear data wherever the taps stay inside.
  std::vector<float> ramp = {0, 1, 2, 3, 4, 5, 6, 7};
  MapAttrs linear, cubic;
  linear.strings["mode"] = "linear";
  linear.strings["coordinate_transformation_mode"] = "align_corners";
  auto y = resize(ramp, {8}, {15}, {15.0 / 8}, linear);
  for (int64_t i = 0; i < 15; ++i)
    EXPECT_NEAR(y[size_t(i)], i * 7.0 / 14, 1e-5) << i;
  cubic.strings["mode"] = "cubic";
  cubic.floats["cubic_coeff_a"] = -0.5;
  y = resize(ramp, {8}, {16}, {2.0}, cubic); // half_pixel: x / 2 - 0.25
  for (int64_t i = 4; i < 12; ++i)
    EXPECT_NEAR(y[size_t(i)], (i + 0.5) / 2 - 0.5, 1e-5) << i;
  // Near the border the edge value repeats: position -0.25 reads 0.
  EXPECT_NEAR(resize(ramp, {8}, {16}, {2.0},
                     [] {
                       MapAttrs a;
                       a.strings["mode"] = "linear";
                       return a;
                     }())[0],
              0.0, 1e-6);
}

TEST(CpuResize, ExcludeOutsideAndCropExtrapolation) {
  // Cubic at position -0.25 of [1, 1, 1, 1]: the taps outside get weight 0
  // and the rest are renormalized, so a constant stays constant either way.
  MapAttrs cubic;
  cubic.strings["mode"] = "cubic";
  cubic.ints["exclude_outside"] = 1;
  for (float v : resize({1, 1, 1, 1}, {4}, {8}, {2.0}, cubic))
    EXPECT_NEAR(v, 1.0, 1e-6);
  // tf_crop_and_resize over roi [0.5, 1.5] of [0, 10, 20]: x * 1 + 1, with
  // positions beyond 2 extrapolated.
  MapAttrs crop;
  crop.strings["mode"] = "linear";
  crop.strings["coordinate_transformation_mode"] = "tf_crop_and_resize";
  crop.floats["extrapolation_value"] = -1;
  auto y = resize({0, 10, 20}, {3}, {3}, {1.0}, crop, {0.5, 1.5});
  EXPECT_NEAR(y[0], 10, 1e-5); // position 1
  EXPECT_NEAR(y[1], 20, 1e-5); // position 2
  EXPECT_EQ(y[2], -1.0f);      // position 3: outside
  std::vector<float> x(4), out(4);
  std::vector<float> notF64 = {1};
  EXPECT_NE(run("resize", {f32(x, {4}), f32(notF64, {1})}, {f32(out, {4})}),
            "");
}

TEST(CpuResize, AntialiasStretchesTheFilterWhenDownsampling) {
  // Halving 8 values (half_pixel: samples at 2o + 0.5) with antialias
  // stretches the filter to twice its support. Linear: a triangle of
  // half-width 2, taps at -1.5, -0.5, 0.5, 1.5 from the sample weighing
  // 1/8, 3/8, 3/8, 1/8; cubic (a = -0.75): 8 taps at -3.5 .. 3.5 weighing
  // k(t / 2) / 2 = -9/512, -27/512, 67/512, 225/512 and mirrored. On an
  // impulse of 8 at index 3 the outputs are those weights times 8, worked
  // out by hand (and equal to the ONNX reference's). The weights are
  // dyadic, so the f32 results are exact up to the sum's rounding: 1e-6.
  const std::vector<float> impulse = {0, 0, 0, 8, 0, 0, 0, 0};
  MapAttrs linear, cubic, plainLinear;
  linear.strings["mode"] = "linear";
  linear.ints["antialias"] = 1;
  cubic.strings["mode"] = "cubic";
  cubic.ints["antialias"] = 1;
  plainLinear.strings["mode"] = "linear";
  auto expectNear = [](const std::vector<float> &got,
                       const std::vector<float> &want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-6) << i;
  };
  expectNear(resize(impulse, {8}, {4}, {0.5}, linear), {0, 3, 1, 0});
  expectNear(resize(impulse, {8}, {4}, {0.5}, cubic),
             {-0.421875f, 3.515625f, 1.046875f, -0.140625f});
  // Without antialias, linear reads only the two neighbours of 2o + 0.5.
  expectNear(resize(impulse, {8}, {4}, {0.5}, plainLinear), {0, 4, 0, 0});
  // exclude_outside drops the taps beyond the edges and renormalizes:
  // output 0 of the ramp 0..7 reads indices 0, 1, 2 with 3/8, 3/8, 1/8,
  // so (3/8 + 2/8) / (7/8) = 5/7; output 3 reads 5, 6, 7 with 1/8, 3/8,
  // 3/8: (5 + 18 + 21) / 8 / (7/8) = 44/7.
  const std::vector<float> ramp = {0, 1, 2, 3, 4, 5, 6, 7};
  linear.ints["exclude_outside"] = 1;
  auto y = resize(ramp, {8}, {4}, {0.5}, linear);
  EXPECT_NEAR(y[0], 5.0 / 7, 1e-6);
  EXPECT_NEAR(y[3], 44.0 / 7, 1e-6);
  // Upsampling keeps the plain filter: antialias changes nothing there.
  expectNear(resize(ramp, {8}, {16}, {2.0}, cubic),
             resize(ramp, {8}, {16}, {2.0}, [] {
               MapAttrs a;
               a.strings["mode"] = "cubic";
               return a;
             }()));
  // Nearest has no filter to stretch.
  std::vector<float> in = impulse, out(4);
  std::vector<double> half = {0.5};
  MapAttrs nearest;
  nearest.ints["antialias"] = 1;
  EXPECT_NE(
      run("resize", {f32(in, {8}), f64(half, {1})}, {f32(out, {4})}, nearest),
      "");
}

// Random shapes, dtypes and contents, half the time shaped to fit so the
// kernels' bodies run: no call may crash or write outside its tensors
// (AddressSanitizer checks the latter).
TEST(CpuScatterGather, SurviveGarbage) {
  std::mt19937 rng(99);
  auto pick = [&](int n) { return int(rng() % unsigned(n)); };
  int succeeded = 0;
  for (const char *op : {"gather_nd", "scatter_nd", "scatter_elements"})
    for (int trial = 0; trial < 400; ++trial) {
      std::vector<std::vector<uint8_t>> storage;
      const bool fit = pick(2);
      auto makeTensor = [&](DType type, Dims dims) {
        Tensor t;
        if (!fit)
          dims.resize(size_t(1 + pick(3)));
        t.rank = int(dims.size());
        for (int d = 0; d < t.rank; ++d)
          t.dims[d] = fit ? dims[size_t(d)] : 1 + pick(3);
        t.dtype = pick(8) ? type : DType(pick(13));
        storage.emplace_back(t.bytes());
        for (uint8_t &byte : storage.back())
          byte = uint8_t(pick(4) == 0 ? rng() : pick(3));
        if (t.dtype == DType::i64) // small, sometimes negative indices
          for (size_t i = 0; i + 8 <= storage.back().size(); i += 8) {
            int64_t v = pick(8) - 4;
            std::memcpy(storage.back().data() + i, &v, 8);
          }
        t.data = storage.back().empty() ? nullptr : storage.back().data();
        return t;
      };
      const std::string name = op;
      const Dims data = {3, 2};
      std::vector<Tensor> inputs = {makeTensor(DType::f32, data)};
      std::vector<Tensor> outputs;
      if (name == "scatter_elements") {
        inputs.push_back(makeTensor(DType::i64, {2, 2}));
        inputs.push_back(makeTensor(DType::f32, {2, 2}));
        outputs.push_back(makeTensor(DType::f32, data));
      } else {
        inputs.push_back(makeTensor(DType::i64, {2, 1}));
        if (name == "scatter_nd")
          inputs.push_back(makeTensor(DType::f32, {2, 2}));
        outputs.push_back(
            makeTensor(DType::f32, name == "scatter_nd" ? data : Dims{2, 2}));
      }
      MapAttrs attrs;
      attrs.ints["axis"] = pick(5) - 2;
      if (pick(2))
        attrs.ints["batch_dims"] = pick(3);
      const char *reductions[] = {"none", "add", "mul", "max", "min"};
      attrs.strings["reduction"] = reductions[pick(5)];
      if (run(op, inputs, outputs, attrs).empty())
        ++succeeded;
    }
  EXPECT_GT(succeeded, 100);
}

} // namespace
