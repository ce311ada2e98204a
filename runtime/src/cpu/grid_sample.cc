//===- grid_sample.cc - grid_sample and roi_align ------------------------===//
//
// roi_align (ONNX RoiAlign): each region of interest (x1, y1, x2, y2,
// scaled by spatial_scale and shifted by half a pixel with half_pixel) is
// split into output_height x output_width bins, each sampled on a
// sampling_ratio grid (adaptive when 0) by bilinear interpolation; the bin
// value is the samples' average, or with mode max the largest weighted
// corner term of any sample, as the ONNX reference and onnxruntime compute
// it.
//
// Samples X (N x C x D1 x ... x Dr) at the normalized positions of grid
// (N x O1 x ... x Or x r, the last dim in x, y, z... order, i.e. the
// innermost spatial dim first). Each output value is a tensor product of
// per-dim taps: 1 (nearest), 2 (linear) or 4 (cubic, Keys with a = -0.75)
// indices and weights, the indices outside the input resolved by
// padding_mode (zeros: the tap reads 0; border: clamped; reflection:
// reflected at the borders).
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <cmath>

namespace azr::cpu {
namespace {

enum class Mode { nearest, linear, cubic };
enum class Padding { zeros, border, reflection };

/// Reflects x into [lo, hi] off the nearer border, repeatedly.
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0)
    return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = int64_t(dx / range);
    const double r = dx - double(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = int64_t(dx / range);
    const double r = dx - double(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

void cubicWeights(double t, double *w) {
  const double a = -0.75;
  auto near = [&](double x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };
  auto far = [&](double x) {
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  };
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

struct Taps {
  int count = 0;
  int64_t index[4] = {}; // -1: reads zero
  double weight[4] = {};
};

azr_status_t gridSampleKernel(const KernelContext &context) {
  const char *op = "grid_sample";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 2, 1));
  const Tensor &x = context.input(0), &grid = context.input(1);
  const Tensor &out = context.output(0);
  const int r = x.rank - 2;
  bool ok = r >= 1 && grid.rank == x.rank && grid.dims[grid.rank - 1] == r &&
            grid.dims[0] == x.dims[0] && out.rank == x.rank &&
            out.dims[0] == x.dims[0] && out.dims[1] == x.dims[1] &&
            grid.dtype == x.dtype && out.dtype == x.dtype;
  for (int d = 0; ok && d < r; ++d)
    ok = out.dims[d + 2] == grid.dims[d + 1] && x.dims[d + 2] > 0;
  if (!ok)
    return AZR_INVALID("%s: X %s, grid %s and result %s do not fit", op,
                       shapeString(x).c_str(), shapeString(grid).c_str(),
                       shapeString(out).c_str());
  const std::string modeName = context.attrs->getString("mode", "linear");
  const std::string paddingName =
      context.attrs->getString("padding_mode", "zeros");
  Mode mode;
  if (modeName == "nearest")
    mode = Mode::nearest;
  else if (modeName == "linear")
    mode = Mode::linear;
  else if (modeName == "cubic")
    mode = Mode::cubic;
  else
    return AZR_INVALID("%s: unknown mode '%s'", op, modeName.c_str());
  Padding padding;
  if (paddingName == "zeros")
    padding = Padding::zeros;
  else if (paddingName == "border")
    padding = Padding::border;
  else if (paddingName == "reflection")
    padding = Padding::reflection;
  else
    return AZR_INVALID("%s: unknown padding_mode '%s'", op,
                       paddingName.c_str());
  const bool alignCorners = context.attrs->getInt("align_corners", 0) != 0;
  const int64_t N = x.dims[0], C = x.dims[1];
  int64_t inSize = 1, outSize = 1;
  for (int d = 0; d < r; ++d) {
    inSize *= x.dims[d + 2];
    outSize *= out.dims[d + 2];
  }
  if (out.numel() == 0)
    return nullptr;

  return dispatchFloat(x.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *src = x.as<const T>(), *g = grid.as<const T>();
    T *dst = out.as<T>();
    context.pool->parallelFor(N * outSize, 16, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t n = p / outSize, o = p % outSize;
        const T *coords = g + p * r;
        Taps taps[kMaxRank];
        int64_t combos = 1;
        for (int d = 0; d < r; ++d) {
          const int64_t size = x.dims[d + 2];
          const double lo = alignCorners ? 0.0 : -0.5;
          const double hi = alignCorners ? double(size - 1) : size - 0.5;
          const double normalized = double(coords[r - 1 - d]);
          double v = alignCorners ? (normalized + 1) / 2 * double(size - 1)
                                  : ((normalized + 1) * double(size) - 1) / 2;
          if (mode == Mode::nearest)
            v = std::nearbyint(v); // half to even
          if (v < lo || v > hi) {
            if (padding == Padding::border)
              v = std::clamp(v, 0.0, double(size - 1));
            else if (padding == Padding::reflection)
              v = reflect(v, lo, hi);
          }
          Taps &t = taps[d];
          if (mode == Mode::nearest) {
            t.count = 1;
            t.index[0] = int64_t(v);
            t.weight[0] = 1;
          } else {
            const double base = std::floor(v), frac = v - base;
            if (mode == Mode::linear) {
              t.count = 2;
              t.weight[0] = 1 - frac;
              t.weight[1] = frac;
            } else {
              t.count = 4;
              cubicWeights(frac, t.weight);
            }
            const int64_t first = int64_t(base) - (mode == Mode::cubic);
            for (int k = 0; k < t.count; ++k)
              t.index[k] = first + k;
          }
          // Indices outside the input: zero, clamped or reflected.
          for (int k = 0; k < t.count; ++k) {
            int64_t &i = t.index[k];
            if (i >= 0 && i < size)
              continue;
            if (padding == Padding::zeros)
              i = -1;
            else if (padding == Padding::border)
              i = std::clamp<int64_t>(i, 0, size - 1);
            else
              i = std::clamp<int64_t>(int64_t(reflect(double(i), lo, hi)), 0,
                                      size - 1);
          }
          combos *= t.count;
        }
        for (int64_t c = 0; c < C; ++c) {
          const T *plane = src + (n * C + c) * inSize;
          double sum = 0;
          for (int64_t k = 0; k < combos; ++k) {
            int64_t rest = k, offset = 0;
            double weight = 1;
            bool zero = false;
            for (int d = r - 1; d >= 0; --d) {
              const Taps &t = taps[d];
              const int j = int(rest % t.count);
              rest /= t.count;
              zero = zero || t.index[j] < 0;
              weight *= t.weight[j];
            }
            if (zero)
              continue;
            rest = k;
            int64_t stride = 1;
            for (int d = r - 1; d >= 0; --d) {
              const Taps &t = taps[d];
              offset += t.index[rest % t.count] * stride;
              rest /= t.count;
              stride *= x.dims[d + 2];
            }
            sum += weight * double(plane[offset]);
          }
          dst[(n * C + c) * outSize + o] = T(sum);
        }
      }
    });
    return nullptr;
  });
}

azr_status_t roiAlignKernel(const KernelContext &context) {
  const char *op = "roi_align";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 3, 1));
  const Tensor &x = context.input(0), &rois = context.input(1);
  const Tensor &batchIndices = context.input(2), &out = context.output(0);
  const Attrs &attrs = *context.attrs;
  const int64_t oh = attrs.getInt("output_height", 1),
                ow = attrs.getInt("output_width", 1);
  const int64_t ratio = attrs.getInt("sampling_ratio", 0);
  const double scale = attrs.getFloat("spatial_scale", 1.0);
  const std::string mode = attrs.getString("mode", "avg");
  const std::string coords =
      attrs.getString("coordinate_transformation_mode", "half_pixel");
  if (x.rank != 4 || rois.rank != 2 || rois.dims[1] != 4 ||
      batchIndices.rank != 1 || batchIndices.dims[0] != rois.dims[0] ||
      (batchIndices.dtype != DType::i64 && batchIndices.dtype != DType::i32) ||
      rois.dtype != x.dtype || out.dtype != x.dtype || out.rank != 4 ||
      out.dims[0] != rois.dims[0] || out.dims[1] != x.dims[1] ||
      out.dims[2] != oh || out.dims[3] != ow || oh < 1 || ow < 1 || ratio < 0)
    return AZR_INVALID("%s: X %s, rois %s, batch_indices %s and result %s do "
                       "not fit",
                       op, shapeString(x).c_str(), shapeString(rois).c_str(),
                       shapeString(batchIndices).c_str(),
                       shapeString(out).c_str());
  if (mode != "avg" && mode != "max")
    return AZR_INVALID("%s: unknown mode '%s'", op, mode.c_str());
  if (coords != "half_pixel" && coords != "output_half_pixel")
    return AZR_INVALID("%s: unknown coordinate_transformation_mode '%s'", op,
                       coords.c_str());
  const int64_t R = rois.dims[0], C = x.dims[1], H = x.dims[2], W = x.dims[3];
  for (int64_t r = 0; r < R; ++r) {
    const int64_t b = batchIndices.dtype == DType::i64
                          ? batchIndices.as<const int64_t>()[r]
                          : batchIndices.as<const int32_t>()[r];
    if (b < 0 || b >= x.dims[0])
      return AZR_INVALID("%s: batch index %lld of roi %lld is out of range", op,
                         (long long)b, (long long)r);
  }
  const bool halfPixel = coords == "half_pixel", isMax = mode == "max";
  return dispatchFloat(x.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *src = x.as<const T>(), *box = rois.as<const T>();
    T *dst = out.as<T>();
    context.pool->parallelFor(R * C, 1, [&](int64_t begin, int64_t end) {
      for (int64_t rc = begin; rc < end; ++rc) {
        const int64_t r = rc / C, c = rc % C;
        const int64_t b = batchIndices.dtype == DType::i64
                              ? batchIndices.as<const int64_t>()[r]
                              : batchIndices.as<const int32_t>()[r];
        const T *plane = src + (b * C + c) * H * W;
        const double offset = halfPixel ? 0.5 : 0.0;
        const double x1 = double(box[r * 4]) * scale - offset;
        const double y1 = double(box[r * 4 + 1]) * scale - offset;
        double roiW = double(box[r * 4 + 2]) * scale - offset - x1;
        double roiH = double(box[r * 4 + 3]) * scale - offset - y1;
        if (!halfPixel) {
          roiW = std::max(roiW, 1.0);
          roiH = std::max(roiH, 1.0);
        }
        const double binH = roiH / double(oh), binW = roiW / double(ow);
        const int64_t gridH =
            ratio > 0 ? ratio : int64_t(std::ceil(roiH / double(oh)));
        const int64_t gridW =
            ratio > 0 ? ratio : int64_t(std::ceil(roiW / double(ow)));
        const double count = double(std::max<int64_t>(gridH * gridW, 1));
        for (int64_t ph = 0; ph < oh; ++ph)
          for (int64_t pw = 0; pw < ow; ++pw) {
            double acc = 0;
            bool first = true;
            for (int64_t iy = 0; iy < gridH; ++iy)
              for (int64_t ix = 0; ix < gridW; ++ix) {
                double yy = y1 + double(ph) * binH +
                            (double(iy) + 0.5) * binH / double(gridH);
                double xx = x1 + double(pw) * binW +
                            (double(ix) + 0.5) * binW / double(gridW);
                double terms[4] = {0, 0, 0, 0};
                if (!(yy < -1.0 || yy > double(H) || xx < -1.0 ||
                      xx > double(W))) {
                  yy = std::max(yy, 0.0);
                  xx = std::max(xx, 0.0);
                  int64_t yl = int64_t(yy), xl = int64_t(xx), yh, xh;
                  if (yl >= H - 1) {
                    yh = yl = H - 1;
                    yy = double(yl);
                  } else {
                    yh = yl + 1;
                  }
                  if (xl >= W - 1) {
                    xh = xl = W - 1;
                    xx = double(xl);
                  } else {
                    xh = xl + 1;
                  }
                  const double ly = yy - double(yl), lx = xx - double(xl);
                  const double hy = 1 - ly, hx = 1 - lx;
                  terms[0] = hy * hx * double(plane[yl * W + xl]);
                  terms[1] = hy * lx * double(plane[yl * W + xh]);
                  terms[2] = ly * hx * double(plane[yh * W + xl]);
                  terms[3] = ly * lx * double(plane[yh * W + xh]);
                }
                if (isMax) {
                  for (double term : terms)
                    if (first || term > acc) {
                      acc = term;
                      first = false;
                    }
                } else {
                  acc += terms[0] + terms[1] + terms[2] + terms[3];
                }
              }
            dst[(rc * oh + ph) * ow + pw] = T(isMax ? acc : acc / count);
          }
      }
    });
    return nullptr;
  });
}

} // namespace

void addGridSampleKernels(KernelTable &table) {
  table.push_back({"grid_sample", guarded<gridSampleKernel>});
  table.push_back({"roi_align", guarded<roiAlignKernel>});
}

} // namespace azr::cpu
