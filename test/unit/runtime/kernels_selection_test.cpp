// The kernels whose result size depends on the data: nonzero, compress,
// unique and non_max_suppression. Each result buffer is given at an upper
// bound larger than needed, as the compiler allocates it; the kernel must
// write the data densely at its actual size and that size into its last
// result. Expected values are worked out by hand (the ONNX operator
// examples where there is one); every result is an exact integer or a
// copied element, so comparisons are exact.

#include "kernel_test_util.h"

#include <cmath>
#include <limits>

using namespace azr_test;

namespace {

Tensor i64(std::vector<int64_t> &data, Dims dims) {
  return view(data, DType::i64, std::move(dims));
}

/// The first `n` elements of `v`: the dense prefix a kernel wrote.
template <class T> std::vector<T> prefix(const std::vector<T> &v, int64_t n) {
  return std::vector<T>(v.begin(), v.begin() + n);
}

TEST(CpuNonZero, IndicesOfNonZeroElementsRowMajor) {
  // [[1, 0], [1, 1]]: elements (0,0), (1,0), (1,1).
  std::vector<float> x = {1, 0, 1, 1};
  std::vector<int64_t> indices(2 * 6, -7), count = {-1};
  ASSERT_EQ(
      run("nonzero", {f32(x, {2, 2})}, {i64(indices, {2, 6}), i64(count, {})}),
      "");
  EXPECT_EQ(count[0], 3);
  // Dense [2, 3]: the rows, then the columns.
  EXPECT_EQ(prefix(indices, 6), (std::vector<int64_t>{0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(indices[6], -7); // Nothing written past the data.

  // -0 is zero, NaN is not; booleans and integers too.
  std::vector<float> signs = {-0.0f, std::numeric_limits<float>::quiet_NaN(),
                              0.0f};
  std::vector<int64_t> flat(3);
  ASSERT_EQ(
      run("nonzero", {f32(signs, {3})}, {i64(flat, {1, 3}), i64(count, {})}),
      "");
  EXPECT_EQ(count[0], 1);
  EXPECT_EQ(flat[0], 1);
  std::vector<uint8_t> flags = {0, 0, 1, 1};
  ASSERT_EQ(run("nonzero", {view(flags, DType::i1, {2, 2})},
                {i64(indices, {2, 4}), i64(count, {})}),
            "");
  EXPECT_EQ(count[0], 2);
  EXPECT_EQ(prefix(indices, 4), (std::vector<int64_t>{1, 1, 0, 1}));

  // A scalar: [0, 1] or [0, 0].
  std::vector<int32_t> scalar = {0};
  std::vector<int64_t> none(1);
  ASSERT_EQ(run("nonzero", {view(scalar, DType::i32, {})},
                {i64(none, {0, 1}), i64(count, {})}),
            "");
  EXPECT_EQ(count[0], 0);
}

TEST(CpuNonZero, RefusesTooSmallAResult) {
  std::vector<float> x = {1, 2, 3};
  std::vector<int64_t> indices(2), count(1);
  EXPECT_NE(
      run("nonzero", {f32(x, {3})}, {i64(indices, {1, 2}), i64(count, {})}),
      "");
  // The size result must be an i64 scalar.
  std::vector<float> wrong(1);
  EXPECT_NE(
      run("nonzero", {f32(x, {3})}, {i64(indices, {1, 3}), f32(wrong, {})}),
      "");
}

TEST(CpuCompress, AlongAnAxisAndFlattened) {
  // [[1, 2], [3, 4], [5, 6]]
  std::vector<float> x = {1, 2, 3, 4, 5, 6}, out(6, -1);
  std::vector<uint8_t> rows = {0, 1, 1};
  std::vector<int64_t> count(1);
  MapAttrs axis0;
  axis0.ints["axis"] = 0;
  ASSERT_EQ(run("compress", {f32(x, {3, 2}), view(rows, DType::i1, {3})},
                {f32(out, {3, 2}), i64(count, {})}, axis0),
            "");
  EXPECT_EQ(count[0], 2);
  EXPECT_EQ(prefix(out, 4), (std::vector<float>{3, 4, 5, 6}));

  // Axis -1 with a condition shorter than the axis: column 1 only.
  std::vector<uint8_t> columns = {0, 1};
  MapAttrs last;
  last.ints["axis"] = -1;
  ASSERT_EQ(run("compress", {f32(x, {3, 2}), view(columns, DType::i1, {2})},
                {f32(out, {3, 2}), i64(count, {})}, last),
            "");
  EXPECT_EQ(count[0], 1);
  EXPECT_EQ(prefix(out, 3), (std::vector<float>{2, 4, 6}));

  // No axis: the flattened input, condition of 5 for 6 elements.
  std::vector<uint8_t> elements = {0, 1, 0, 0, 1};
  ASSERT_EQ(run("compress", {f32(x, {3, 2}), view(elements, DType::i1, {5})},
                {f32(out, {5}), i64(count, {})}),
            "");
  EXPECT_EQ(count[0], 2);
  EXPECT_EQ(prefix(out, 2), (std::vector<float>{2, 5}));

  // A true condition past the axis is refused, as NumPy refuses it.
  std::vector<uint8_t> tooLong = {0, 0, 1};
  EXPECT_NE(run("compress", {f32(x, {3, 2}), view(tooLong, DType::i1, {3})},
                {f32(out, {3, 2}), i64(count, {})}, last),
            "");
}

TEST(CpuUnique, FlattenedSortedAndInOrderOfFirstOccurrence) {
  // The ONNX operator's example: [2, 1, 1, 3, 4, 3].
  std::vector<float> x = {2, 1, 1, 3, 4, 3}, y(6, -1);
  std::vector<int64_t> indices(6), inverse(6), counts(6), count(1);
  auto results = [&] {
    return std::vector<Tensor>{f32(y, {6}), i64(indices, {6}),
                               i64(inverse, {6}), i64(counts, {6}),
                               i64(count, {})};
  };
  ASSERT_EQ(run("unique", {f32(x, {6})}, results()), "");
  EXPECT_EQ(count[0], 4);
  EXPECT_EQ(prefix(y, 4), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(prefix(indices, 4), (std::vector<int64_t>{1, 0, 3, 4}));
  EXPECT_EQ(inverse, (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
  EXPECT_EQ(prefix(counts, 4), (std::vector<int64_t>{2, 1, 2, 1}));

  MapAttrs unsorted;
  unsorted.ints["sorted"] = 0;
  ASSERT_EQ(run("unique", {f32(x, {6})}, results(), unsorted), "");
  EXPECT_EQ(count[0], 4);
  EXPECT_EQ(prefix(y, 4), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_EQ(prefix(indices, 4), (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(inverse, (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(prefix(counts, 4), (std::vector<int64_t>{1, 2, 2, 1}));

  // NaNs sort last and count as one value, as NumPy's unique has it.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> withNan = {nan, 1, nan, 0, 0, 1};
  ASSERT_EQ(run("unique", {f32(withNan, {6})}, results()), "");
  EXPECT_EQ(count[0], 3);
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[1], 1);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(prefix(indices, 3), (std::vector<int64_t>{3, 1, 0}));
  EXPECT_EQ(prefix(counts, 3), (std::vector<int64_t>{2, 2, 2}));
}

TEST(CpuUnique, SlicesAlongAnAxis) {
  // The ONNX example along axis 0: rows [1,0,0], [1,0,0], [2,3,4].
  std::vector<int32_t> rows = {1, 0, 0, 1, 0, 0, 2, 3, 4}, y(9, -1);
  std::vector<int64_t> indices(3), inverse(3), counts(3), count(1);
  MapAttrs axis0;
  axis0.ints["axis"] = 0;
  ASSERT_EQ(run("unique", {view(rows, DType::i32, {3, 3})},
                {view(y, DType::i32, {3, 3}), i64(indices, {3}),
                 i64(inverse, {3}), i64(counts, {3}), i64(count, {})},
                axis0),
            "");
  EXPECT_EQ(count[0], 2);
  EXPECT_EQ(prefix(y, 6), (std::vector<int32_t>{1, 0, 0, 2, 3, 4}));
  EXPECT_EQ(prefix(indices, 2), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(inverse, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(prefix(counts, 2), (std::vector<int64_t>{2, 1}));

  // Along axis 1 of [2, 4, 2]: slices (over both outer rows) [1,1,1,1],
  // [0,1,0,1], [2,1,2,1], [0,1,0,1]; sorted: [0,1..], [1,1..], [2,1..].
  std::vector<float> x = {1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 1, 2, 1, 0, 1};
  std::vector<float> out(16, -1);
  MapAttrs axis1;
  axis1.ints["axis"] = 1;
  std::vector<int64_t> idx4(4), inv4(4), cnt4(4);
  ASSERT_EQ(run("unique", {f32(x, {2, 4, 2})},
                {f32(out, {2, 4, 2}), i64(idx4, {4}), i64(inv4, {4}),
                 i64(cnt4, {4}), i64(count, {})},
                axis1),
            "");
  EXPECT_EQ(count[0], 3);
  // Dense [2, 3, 2].
  EXPECT_EQ(prefix(out, 12),
            (std::vector<float>{0, 1, 1, 1, 2, 1, 0, 1, 1, 1, 2, 1}));
  EXPECT_EQ(prefix(idx4, 3), (std::vector<int64_t>{1, 0, 2}));
  EXPECT_EQ(inv4, (std::vector<int64_t>{1, 0, 2, 0}));
  EXPECT_EQ(prefix(cnt4, 3), (std::vector<int64_t>{2, 1, 1}));

  // Inverse indices must have one entry per slice.
  EXPECT_NE(run("unique", {f32(x, {2, 4, 2})},
                {f32(out, {2, 4, 2}), i64(idx4, {4}), i64(inv4, {3}),
                 i64(cnt4, {4}), i64(count, {})},
                axis1),
            "");
}

/// The ONNX suppress_by_IOU boxes ([y1, x1, y2, x2]): three unit squares
/// near x = 0 (overlapping by IoU 0.818), two near x = 10, one at 100.
std::vector<float> cornerBoxes() {
  return {0, 0,  1, 1,  0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
          0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100,   1, 101};
}

TEST(CpuNonMaxSuppression, KeepsTheBestBoxOfEachOverlappingGroup) {
  std::vector<float> boxes = cornerBoxes();
  std::vector<float> scores = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};
  std::vector<int64_t> selected(6 * 3, -7), count(1);
  MapAttrs attrs;
  attrs.ints["max_output_boxes_per_class"] = 3;
  attrs.floats["iou_threshold"] = 0.5;
  attrs.floats["score_threshold"] = 0.0;
  auto nms = [&](const MapAttrs &a, int64_t rows) {
    return run("non_max_suppression",
               {f32(boxes, {1, 6, 4}), f32(scores, {1, 1, 6})},
               {i64(selected, {rows, 3}), i64(count, {})}, a);
  };
  // By score: box 3 (0.95), 0 (0.9; far from 3), 1 and 2 (IoU 0.818 with
  // 0), 4 (IoU 0.818 with 3), 5 (0.3): the third kept.
  ASSERT_EQ(nms(attrs, 6), "");
  EXPECT_EQ(count[0], 3);
  EXPECT_EQ(prefix(selected, 9),
            (std::vector<int64_t>{0, 0, 3, 0, 0, 0, 0, 0, 5}));
  EXPECT_EQ(selected[9], -7);

  // A score threshold of 0.4 drops box 5.
  attrs.floats["score_threshold"] = 0.4;
  ASSERT_EQ(nms(attrs, 6), "");
  EXPECT_EQ(count[0], 2);
  EXPECT_EQ(prefix(selected, 6), (std::vector<int64_t>{0, 0, 3, 0, 0, 0}));

  // The same boxes as centers and sizes.
  boxes = {0.5f,  0.5f, 1, 1, 0.6f,  0.5f, 1, 1, 0.4f,   0.5f, 1, 1,
           10.5f, 0.5f, 1, 1, 10.6f, 0.5f, 1, 1, 100.5f, 0.5f, 1, 1};
  attrs.ints["center_point_box"] = 1;
  attrs.floats.erase("score_threshold");
  ASSERT_EQ(nms(attrs, 6), "");
  EXPECT_EQ(count[0], 3);
  EXPECT_EQ(prefix(selected, 9),
            (std::vector<int64_t>{0, 0, 3, 0, 0, 0, 0, 0, 5}));

  // Two boxes a class at most; a result with room for fewer is refused.
  attrs.ints["max_output_boxes_per_class"] = 2;
  ASSERT_EQ(nms(attrs, 2), "");
  EXPECT_EQ(count[0], 2);
  EXPECT_NE(nms(attrs, 1), "");
  // No boxes wanted: an empty result.
  attrs.ints["max_output_boxes_per_class"] = 0;
  ASSERT_EQ(nms(attrs, 0), "");
  EXPECT_EQ(count[0], 0);
}

TEST(CpuNonMaxSuppression, RowsByBatchThenClass) {
  // Two batches of the same boxes, two classes with the same scores: each
  // (batch, class) keeps boxes 3 and 0, in that order.
  std::vector<float> one = cornerBoxes(), boxes = one;
  boxes.insert(boxes.end(), one.begin(), one.end());
  std::vector<float> row = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f}, scores;
  for (int i = 0; i < 4; ++i)
    scores.insert(scores.end(), row.begin(), row.end());
  std::vector<int64_t> selected(8 * 3), count(1);
  MapAttrs attrs;
  attrs.ints["max_output_boxes_per_class"] = 2;
  attrs.floats["iou_threshold"] = 0.5;
  ASSERT_EQ(run("non_max_suppression",
                {f32(boxes, {2, 6, 4}), f32(scores, {2, 2, 6})},
                {i64(selected, {8, 3}), i64(count, {})}, attrs),
            "");
  EXPECT_EQ(count[0], 8);
  EXPECT_EQ(selected,
            (std::vector<int64_t>{0, 0, 3, 0, 0, 0, 0, 1, 3, 0, 1, 0,
                                  1, 0, 3, 1, 0, 0, 1, 1, 3, 1, 1, 0}));
  // Boxes must be [B, N, 4] with scores [B, C, N].
  EXPECT_NE(run("non_max_suppression",
                {f32(boxes, {2, 4, 6}), f32(scores, {2, 2, 6})},
                {i64(selected, {8, 3}), i64(count, {})}, attrs),
            "");
}

} // namespace
