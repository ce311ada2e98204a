//===- resize.cc - resize (ONNX Resize and Upsample) ----------------------===//
//
// Each result dim i samples input dim i at x_original(x) by the
// coordinate_transformation_mode, with `scales` (f64, one per dim: the
// factor the coordinates use) and `roi` (f64, begins then ends, for
// tf_crop_and_resize). Every output value is the tensor product of per-dim
// taps: 1 (nearest, by nearest_mode), 2 (linear) or 4 (cubic, Keys with
// cubic_coeff_a), indices clamped to the input (its edge values repeat),
// with exclude_outside renormalizing the taps inside. With antialias, a
// downsampled dim (scale < 1) stretches the linear or cubic filter by
// 1 / scale, so that every input value within its support contributes,
// and the taps are normalized to sum to 1. As the ONNX reference computes
// it.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <cmath>

namespace azr::cpu {
namespace {

struct DimTaps {
  int count = 0;
  std::vector<int64_t> index;   // out x count
  std::vector<double> weight;   // out x count
  std::vector<uint8_t> outside; // tf_crop_and_resize extrapolation
};

azr_status_t resizeKernel(const KernelContext &context) {
  const char *op = "resize";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 3, 1));
  const Tensor &x = context.input(0), &scales = context.input(1);
  const Tensor &out = context.output(0);
  const int rank = x.rank;
  const bool hasRoi = context.numInputs > 2 && context.input(2).present();
  if (out.rank != rank || out.dtype != x.dtype || scales.dtype != DType::f64 ||
      scales.numel() != rank ||
      (hasRoi && (context.input(2).dtype != DType::f64 ||
                  context.input(2).numel() != 2 * rank)))
    return AZR_INVALID("%s: input %s, scales %s and result %s do not fit", op,
                       shapeString(x).c_str(), shapeString(scales).c_str(),
                       shapeString(out).c_str());
  const Attrs &attrs = *context.attrs;
  const std::string mode = attrs.getString("mode", "nearest");
  const std::string coords =
      attrs.getString("coordinate_transformation_mode", "half_pixel");
  const std::string nearestMode =
      attrs.getString("nearest_mode", "round_prefer_floor");
  const double a = attrs.getFloat("cubic_coeff_a", -0.75);
  const bool excludeOutside = attrs.getInt("exclude_outside", 0) != 0;
  const bool antialias = attrs.getInt("antialias", 0) != 0;
  const double extrapolation = attrs.getFloat("extrapolation_value", 0.0);
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return AZR_INVALID("%s: unknown mode '%s'", op, mode.c_str());
  if (coords != "half_pixel" && coords != "pytorch_half_pixel" &&
      coords != "align_corners" && coords != "asymmetric" &&
      coords != "tf_half_pixel_for_nn" && coords != "tf_crop_and_resize" &&
      coords != "half_pixel_symmetric")
    return AZR_INVALID("%s: unknown coordinate_transformation_mode '%s'", op,
                       coords.c_str());
  if (nearestMode != "round_prefer_floor" &&
      nearestMode != "round_prefer_ceil" && nearestMode != "floor" &&
      nearestMode != "ceil")
    return AZR_INVALID("%s: unknown nearest_mode '%s'", op,
                       nearestMode.c_str());
  if (antialias && mode == "nearest")
    return AZR_INVALID("%s: antialias needs linear or cubic mode", op);
  if (coords == "tf_crop_and_resize" && !hasRoi)
    return AZR_INVALID("%s: tf_crop_and_resize needs a roi", op);
  if (mode != "nearest" && x.dtype != DType::f32 && x.dtype != DType::f64)
    return AZR_INVALID("%s: %s interpolation needs a float input, got %s", op,
                       mode.c_str(), dtypeName(x.dtype));
  for (int d = 0; d < rank; ++d)
    if (x.dims[d] == 0 && out.dims[d] != 0)
      return AZR_INVALID("%s: cannot resize an empty dim to %lld", op,
                         (long long)out.dims[d]);
  if (out.numel() == 0)
    return nullptr;
  const double *scale = scales.as<const double>();
  const double *roi = hasRoi ? context.input(2).as<const double>() : nullptr;

  auto cubic = [a](double t) {
    t = std::abs(t);
    if (t <= 1)
      return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2)
      return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0.0;
  };
  auto triangle = [](double t) { return std::max(0.0, 1 - std::abs(t)); };
  // The filter's support (1 for linear, 2 for cubic) widened by 1 / scale
  // when antialiasing a downsampled dim: its first tap's offset from the
  // sample's left neighbour, as the reference computes it.
  auto antialiasStart = [&](double filterScale) {
    const double support = mode == "linear" ? 1.0 : 2.0;
    return int64_t(std::floor(-support / filterScale) + 1);
  };
  std::vector<DimTaps> taps(static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d) {
    DimTaps &t = taps[size_t(d)];
    const int64_t in = x.dims[d], n = out.dims[d];
    const double s = scale[d], outWidth = s * double(in);
    t.count = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
    const double filterScale = std::min(s, 1.0);
    int64_t start = 0; // the first antialiasing tap's offset
    if (antialias) {
      // 2 / scale (linear) or 4 / scale (cubic) taps per output, about
      // 2 or 4 per input value; a scale far below 1 / in (an output size
      // out of proportion to the input) is refused before it is allocated.
      const double needed =
          2 * std::ceil((mode == "linear" ? 1 : 2) / filterScale);
      if (!(needed * double(n) <= double(int64_t(1) << 26)))
        return AZR_INVALID("%s: antialiasing dim %d of %lld to %lld with "
                           "scale %g needs too many taps",
                           op, d, (long long)in, (long long)n, s);
      start = antialiasStart(filterScale);
      t.count = int(2 - 2 * start);
    }
    t.index.resize(size_t(n * t.count));
    t.weight.resize(size_t(n * t.count));
    t.outside.assign(size_t(n), 0);
    for (int64_t o = 0; o < n; ++o) {
      const double y = double(o);
      double xo;
      if (coords == "half_pixel")
        xo = (y + 0.5) / s - 0.5;
      else if (coords == "pytorch_half_pixel")
        xo = outWidth == 1 ? -0.5 : (y + 0.5) / s - 0.5;
      else if (coords == "align_corners")
        xo = outWidth == 1 ? 0 : y * double(in - 1) / (outWidth - 1);
      else if (coords == "asymmetric")
        xo = y / s;
      else if (coords == "tf_half_pixel_for_nn")
        xo = (y + 0.5) / s;
      else if (coords == "half_pixel_symmetric") {
        const double adjustment = double(n) / outWidth;
        const double center = double(in) / 2;
        xo = center * (1 - adjustment) + (y + 0.5) / s - 0.5;
      } else {
        const double begin = roi[d], end = roi[rank + d];
        xo = outWidth == 1
                 ? (end - begin) * double(in - 1) / 2
                 : y * (end - begin) * double(in - 1) / (outWidth - 1);
        xo += begin * double(in - 1);
        t.outside[size_t(o)] = xo < 0 || xo > double(in - 1);
      }
      const double base = std::floor(xo), frac = xo - base;
      int64_t *index = t.index.data() + o * t.count;
      double *weight = t.weight.data() + o * t.count;
      if (t.count == 1) {
        int64_t pick = int64_t(base);
        if (frac != 0) {
          bool up = nearestMode == "ceil" ||
                    (nearestMode == "round_prefer_floor" && frac > 0.5) ||
                    (nearestMode == "round_prefer_ceil" && frac >= 0.5);
          pick += up ? 1 : 0;
        }
        index[0] = std::clamp<int64_t>(pick, 0, in - 1);
        weight[0] = 1;
        continue;
      }
      if (antialias) {
        // Taps at offsets start.. from the left neighbour, which is the
        // sample itself minus one when it falls on a whole index (ratio in
        // (0, 1], as in the reference), weighted by the stretched filter
        // and normalized.
        const double left = frac == 0 ? base - 1 : base;
        const double ratio = xo - left;
        double sum = 0;
        for (int k = 0; k < t.count; ++k) {
          const int64_t offset = start + k, i = int64_t(left) + offset;
          const double at = (double(offset) - ratio) * filterScale;
          weight[k] = mode == "linear" ? triangle(at) : cubic(at);
          sum += weight[k];
          index[k] = i;
        }
        double inside = 0;
        for (int k = 0; k < t.count; ++k) {
          weight[k] /= sum;
          if (excludeOutside && (index[k] < 0 || index[k] >= in))
            weight[k] = 0;
          inside += weight[k];
          index[k] = std::clamp<int64_t>(index[k], 0, in - 1);
        }
        if (excludeOutside && inside != 0)
          for (int k = 0; k < t.count; ++k)
            weight[k] /= inside;
        continue;
      }
      const int64_t first = int64_t(base) - (t.count == 4 ? 1 : 0);
      double sum = 0;
      for (int k = 0; k < t.count; ++k) {
        const int64_t i = first + k;
        weight[k] =
            t.count == 2 ? (k == 0 ? 1 - frac : frac) : cubic(double(i) - xo);
        if (excludeOutside && (i < 0 || i >= in))
          weight[k] = 0;
        sum += weight[k];
        index[k] = std::clamp<int64_t>(i, 0, in - 1);
      }
      if (excludeOutside && sum != 0)
        for (int k = 0; k < t.count; ++k)
          weight[k] /= sum;
    }
  }

  int64_t inStrides[kMaxRank];
  for (int64_t d = rank - 1, s = 1; d >= 0; --d) {
    inStrides[d] = s;
    s *= x.dims[d];
  }
  return dispatchArith(x.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *src = x.as<const T>();
    T *dst = out.as<T>();
    context.pool->parallelFor(out.numel(), 64, [&](int64_t begin, int64_t end) {
      int64_t coord[kMaxRank];
      for (int64_t p = begin; p < end; ++p) {
        int64_t rest = p, combos = 1;
        bool outside = false;
        for (int d = rank - 1; d >= 0; --d) {
          coord[d] = rest % out.dims[d];
          rest /= out.dims[d];
          outside = outside || taps[size_t(d)].outside[size_t(coord[d])];
          combos *= taps[size_t(d)].count;
        }
        if (outside) {
          dst[p] = T(extrapolation);
          continue;
        }
        double sum = 0;
        for (int64_t k = 0; k < combos; ++k) {
          int64_t r = k, offset = 0;
          double w = 1;
          for (int d = rank - 1; d >= 0; --d) {
            const DimTaps &t = taps[size_t(d)];
            const int j = int(r % t.count);
            r /= t.count;
            const size_t at = size_t(coord[d] * t.count + j);
            w *= t.weight[at];
            offset += t.index[at] * inStrides[d];
          }
          sum += w * double(src[offset]);
        }
        dst[p] = T(sum);
      }
    });
    return nullptr;
  });
}

} // namespace

void addResizeKernels(KernelTable &table) {
  table.push_back({"resize", guarded<resizeKernel>});
}

} // namespace azr::cpu
