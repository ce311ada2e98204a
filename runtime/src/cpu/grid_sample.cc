//===- grid_sample.cc - grid_sample (ONNX GridSample) ---------------------===//
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

} // namespace

void addGridSampleKernels(KernelTable &table) {
  table.push_back({"grid_sample", guarded<gridSampleKernel>});
}

} // namespace azr::cpu
