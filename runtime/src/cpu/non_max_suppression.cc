//===- non_max_suppression.cc - greedy box selection per class ------------===//
//
// ONNX NonMaxSuppression: for each batch and class, boxes whose score
// passes the threshold are taken in order of decreasing score (ties: the
// lower box index first), and a box is kept unless its IoU with a box
// already kept for that class exceeds the threshold, until the class has
// max_output_boxes_per_class. The result is [batch, class, box] rows in
// that order, dense at their count (a prefix of the [bound, 3] buffer),
// with the count in the last result. Arithmetic is in f32, as in the ONNX
// reference and onnxruntime, so boxes on the IoU boundary agree with them.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <numeric>

namespace azr::cpu {
namespace {

/// A box as its extent on each axis, min before max.
struct Box {
  float x0, x1, y0, y1;

  /// From [y1, x1, y2, x2] (any two opposite corners) or, with
  /// `centerPoint`, [x_center, y_center, width, height].
  static Box read(const float *b, bool centerPoint) {
    if (centerPoint) {
      float halfW = b[2] / 2, halfH = b[3] / 2;
      return {b[0] - halfW, b[0] + halfW, b[1] - halfH, b[1] + halfH};
    }
    return {std::min(b[1], b[3]), std::max(b[1], b[3]), std::min(b[0], b[2]),
            std::max(b[0], b[2])};
  }
  float area() const { return (x1 - x0) * (y1 - y0); }
};

/// Whether `a` and `b` overlap by more than `threshold` (intersection over
/// union); degenerate boxes and empty intersections never do.
bool suppresses(const Box &a, const Box &b, float threshold) {
  float ix0 = std::max(a.x0, b.x0), ix1 = std::min(a.x1, b.x1);
  if (ix1 <= ix0)
    return false;
  float iy0 = std::max(a.y0, b.y0), iy1 = std::min(a.y1, b.y1);
  if (iy1 <= iy0)
    return false;
  float intersection = (ix1 - ix0) * (iy1 - iy0);
  float areaA = a.area(), areaB = b.area();
  float unionArea = areaA + areaB - intersection;
  if (intersection <= 0 || areaA <= 0 || areaB <= 0 || unionArea <= 0)
    return false;
  return intersection / unionArea > threshold;
}

azr_status_t nonMaxSuppressionKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "non_max_suppression", 2, 2, 2));
  const Tensor &boxes = context.input(0), &scores = context.input(1);
  const Tensor &out = context.output(0), &extent = context.output(1);
  const Attrs &attrs = *context.attrs;
  if (boxes.dtype != DType::f32 || scores.dtype != DType::f32 ||
      boxes.rank != 3 || boxes.dims[2] != 4 || scores.rank != 3 ||
      scores.dims[0] != boxes.dims[0] || scores.dims[2] != boxes.dims[1])
    return AZR_INVALID("non_max_suppression: boxes %s and scores %s are not "
                       "f32 [B, N, 4] and [B, C, N]",
                       shapeString(boxes).c_str(), shapeString(scores).c_str());
  if (out.dtype != DType::i64 || out.rank != 2 || out.dims[1] != 3 ||
      extent.dtype != DType::i64 || extent.numel() != 1)
    return AZR_INVALID("non_max_suppression: results %s and %s are not i64 "
                       "[M, 3] and an i64 scalar",
                       shapeString(out).c_str(), shapeString(extent).c_str());
  const int64_t batches = boxes.dims[0], boxCount = boxes.dims[1];
  const int64_t classes = scores.dims[1], capacity = out.dims[0];
  const int64_t perClass =
      std::max<int64_t>(0, attrs.getInt("max_output_boxes_per_class", 0));
  const bool centerPoint = attrs.getInt("center_point_box", 0) != 0;
  const float iouThreshold = float(attrs.getFloat("iou_threshold", 0));
  const bool hasScoreThreshold = attrs.has("score_threshold");
  const float scoreThreshold = float(attrs.getFloat("score_threshold", 0));

  int64_t *selected = out.as<int64_t>();
  int64_t count = 0;
  std::vector<int64_t> candidates;
  std::vector<Box> kept;
  for (int64_t b = 0; b < batches; ++b) {
    const float *batchBoxes = boxes.as<float>() + b * boxCount * 4;
    for (int64_t c = 0; c < classes; ++c) {
      const float *classScores =
          scores.as<float>() + (b * classes + c) * boxCount;
      candidates.clear();
      for (int64_t i = 0; i < boxCount; ++i)
        if (!hasScoreThreshold || classScores[i] > scoreThreshold)
          candidates.push_back(i);
      // Decreasing score, the lower index first on ties; NaN scores last
      // (the comparison must stay a strict weak order).
      std::sort(candidates.begin(), candidates.end(),
                [&](int64_t i, int64_t j) {
                  float p = classScores[i], q = classScores[j];
                  bool pNan = std::isnan(p), qNan = std::isnan(q);
                  if (pNan != qNan)
                    return qNan;
                  if (!pNan && p != q)
                    return p > q;
                  return i < j;
                });
      kept.clear();
      for (int64_t i : candidates) {
        if (int64_t(kept.size()) >= perClass)
          break;
        Box box = Box::read(batchBoxes + i * 4, centerPoint);
        bool keep = true;
        for (const Box &other : kept)
          if (suppresses(box, other, iouThreshold)) {
            keep = false;
            break;
          }
        if (!keep)
          continue;
        if (count >= capacity)
          return AZR_INVALID("non_max_suppression: more than the %lld boxes "
                             "the result has room for",
                             (long long)capacity);
        kept.push_back(box);
        selected[count * 3] = b;
        selected[count * 3 + 1] = c;
        selected[count * 3 + 2] = i;
        ++count;
      }
    }
  }
  *extent.as<int64_t>() = count;
  return nullptr;
}

} // namespace

void addNonMaxSuppressionKernels(KernelTable &table) {
  table.push_back({"non_max_suppression", guarded<nonMaxSuppressionKernel>});
}

} // namespace azr::cpu
