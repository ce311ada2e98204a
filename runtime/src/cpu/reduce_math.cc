//===- reduce_math.cc - norm reductions, log_softmax, hardmax, argmax -----===//
//
// ONNX semantics: reduce_l1, reduce_l2, reduce_log_sum, reduce_log_sum_exp,
// reduce_sum_square (axes/keepdims as the other reduce_* kernels: empty
// axes reduce everything), log_softmax and hardmax (axis = -1), argmax and
// argmin (axis = 0, keepdims = 1, select_last_index = 0), and det (the
// determinant of each matrix in the last two dims, by LU decomposition
// with partial pivoting in double).
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace azr::cpu {
namespace {

enum class Norm { l1, l2, logSum, logSumExp, sumSquare };

template <Norm N, class T>
T reduceOne(const ReductionShape &s, const T *x, int64_t base) {
  if constexpr (std::is_integral_v<T>) {
    // Integers wrap in their own width, computed unsigned.
    uint64_t acc = 0;
    s.forEach(base, [&](int64_t at) {
      const uint64_t v = uint64_t(x[at]);
      if constexpr (N == Norm::l1 && std::is_signed_v<T>)
        acc += x[at] < T(0) ? uint64_t(0) - v : v;
      else if constexpr (N == Norm::l1)
        acc += v;
      else
        acc += v * v;
    });
    return T(acc);
  } else if constexpr (N == Norm::logSumExp) {
    // max + log(sum e^(x - max)): no term exceeds 1, so nothing overflows.
    double best = -std::numeric_limits<double>::infinity();
    bool nan = false;
    s.forEach(base, [&](int64_t at) {
      nan = nan || std::isnan(x[at]);
      best = std::max(best, double(x[at]));
    });
    if (nan)
      return std::numeric_limits<T>::quiet_NaN();
    if (std::isinf(best)) // all -inf (or empty): -inf; any +inf: +inf
      return T(best);
    double sum = 0;
    s.forEach(base, [&](int64_t at) { sum += std::exp(double(x[at]) - best); });
    return T(best + std::log(sum));
  } else {
    double acc = 0; // floats accumulate in double
    s.forEach(base, [&](int64_t at) {
      const double v = double(x[at]);
      if constexpr (N == Norm::l1)
        acc += std::fabs(v);
      else if constexpr (N == Norm::logSum)
        acc += v;
      else
        acc += v * v;
    });
    if constexpr (N == Norm::l2)
      return T(std::sqrt(acc));
    else if constexpr (N == Norm::logSum)
      return T(std::log(acc));
    else
      return T(acc);
  }
}

template <Norm N> azr_status_t normKernel(const KernelContext &context) {
  static const char *const names[] = {"reduce_l1", "reduce_l2",
                                      "reduce_log_sum", "reduce_log_sum_exp",
                                      "reduce_sum_square"};
  const char *op = names[int(N)];
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  ReductionShape s;
  AZR_RETURN_IF_ERROR(s.init(op, in, out, *context.attrs));
  auto run = [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    context.pool->parallelFor(
        s.outputs, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.count)),
        [&](int64_t begin, int64_t end) {
          for (int64_t o = begin; o < end; ++o)
            y[o] = reduceOne<N>(s, x, s.baseOffset(o));
        });
    return nullptr;
  };
  if constexpr (N == Norm::l1 || N == Norm::sumSquare)
    return dispatchArith(in.dtype, op, run);
  else
    return dispatchFloat(in.dtype, op, run);
}

//===----------------------------------------------------------------------===//
// Along one axis: log_softmax, hardmax, argmax, argmin
//===----------------------------------------------------------------------===//

/// The input as [outer, n, inner] around `axis`.
struct AxisShape {
  int64_t axis = 0, outer = 1, n = 1, inner = 1;
};

azr_status_t makeAxisShape(const char *op, const Tensor &in,
                           int64_t defaultAxis, const Attrs &attrs,
                           AxisShape &s) {
  s.axis = attrs.getInt("axis", defaultAxis);
  if (in.rank == 0 || !normalizeAxis(s.axis, in.rank))
    return AZR_INVALID("%s: axis %lld is out of range for %s", op,
                       (long long)attrs.getInt("axis", defaultAxis),
                       shapeString(in).c_str());
  for (int d = 0; d < in.rank; ++d)
    (d < s.axis ? s.outer : d > s.axis ? s.inner : s.n) *= in.dims[d];
  return nullptr;
}

azr_status_t logSoftmaxKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "log_softmax", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.dtype != out.dtype || in.numel() != out.numel())
    return AZR_INVALID("log_softmax: result %s does not match %s",
                       shapeString(out).c_str(), shapeString(in).c_str());
  AxisShape s;
  AZR_RETURN_IF_ERROR(makeAxisShape("log_softmax", in, -1, *context.attrs, s));
  return dispatchFloat(in.dtype, "log_softmax", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    forEachLaneBlock(
        *context.pool, s.outer, s.n, s.inner,
        [&](int64_t first, int64_t lanes, int64_t) {
          // x - max - log(sum e^(x - max)), in double.
          double best[kLanes], sum[kLanes];
          const T *src = x + first;
          T *dst = y + first;
          std::fill(best, best + lanes, -INFINITY);
          std::fill(sum, sum + lanes, 0.0);
          for (int64_t k = 0; k < s.n; ++k)
            for (int64_t i = 0; i < lanes; ++i)
              best[i] = std::max(best[i], double(src[k * s.inner + i]));
          for (int64_t k = 0; k < s.n; ++k)
            for (int64_t i = 0; i < lanes; ++i)
              sum[i] += std::exp(double(src[k * s.inner + i]) - best[i]);
          for (int64_t i = 0; i < lanes; ++i)
            sum[i] = std::log(sum[i]);
          for (int64_t k = 0; k < s.n; ++k)
            for (int64_t i = 0; i < lanes; ++i)
              dst[k * s.inner + i] =
                  T(double(src[k * s.inner + i]) - best[i] - sum[i]);
        });
    return nullptr;
  });
}

// Whether v replaces best as the extreme so far when scanning in increasing
// index order. NaN counts as the extreme (as numpy's argmax/argmin): the
// first NaN wins, or the last one with `last`; ties go the same way.
template <bool Max, class V> bool beats(V v, V best, bool last) {
  if constexpr (std::is_floating_point_v<V>) {
    if (std::isnan(best))
      return last && std::isnan(v);
    if (std::isnan(v))
      return true;
  }
  if (last)
    return Max ? v >= best : v <= best;
  return Max ? v > best : v < best;
}

/// Finds the index of the extreme along the axis for each of `lanes`
/// adjacent positions starting at `src`, reading values through `load`.
template <bool Max, class T, class Load>
void extremeIndex(const T *src, int64_t lanes, const AxisShape &s, bool last,
                  Load load, int64_t *index) {
  using V = decltype(load(T()));
  V best[kLanes];
  for (int64_t i = 0; i < lanes; ++i) {
    best[i] = load(src[i]);
    index[i] = 0;
  }
  for (int64_t k = 1; k < s.n; ++k)
    for (int64_t i = 0; i < lanes; ++i) {
      const V v = load(src[k * s.inner + i]);
      if (beats<Max>(v, best[i], last)) {
        best[i] = v;
        index[i] = k;
      }
    }
}

azr_status_t hardmaxKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "hardmax", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.dtype != out.dtype || in.numel() != out.numel())
    return AZR_INVALID("hardmax: result %s does not match %s",
                       shapeString(out).c_str(), shapeString(in).c_str());
  AxisShape s;
  AZR_RETURN_IF_ERROR(makeAxisShape("hardmax", in, -1, *context.attrs, s));
  if (s.n == 0)
    return nullptr;
  return dispatchFloat(in.dtype, "hardmax", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    forEachLaneBlock(
        *context.pool, s.outer, s.n, s.inner,
        [&](int64_t first, int64_t lanes, int64_t) {
          int64_t index[kLanes];
          extremeIndex<true>(
              x + first, lanes, s, false, [](T v) { return v; }, index);
          for (int64_t k = 0; k < s.n; ++k)
            for (int64_t i = 0; i < lanes; ++i)
              y[first + k * s.inner + i] = index[i] == k ? T(1) : T(0);
        });
    return nullptr;
  });
}

template <bool Max> azr_status_t argKernel(const KernelContext &context) {
  const char *op = Max ? "argmax" : "argmin";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  const Attrs &attrs = *context.attrs;
  AxisShape s;
  AZR_RETURN_IF_ERROR(makeAxisShape(op, in, 0, attrs, s));
  // The result is the input's shape with the axis dim 1 (keepdims) or gone.
  const bool keepdims = attrs.getInt("keepdims", 1) != 0;
  bool ok = out.dtype == DType::i64 && out.rank == in.rank - !keepdims;
  for (int d = 0, r = 0; ok && d < in.rank; ++d) {
    if (d == s.axis && !keepdims)
      continue;
    ok = out.dims[r++] == (d == s.axis ? 1 : in.dims[d]);
  }
  if (!ok)
    return AZR_INVALID("%s: result %s does not match reducing axis %lld of %s "
                       "(keepdims %d)",
                       op, shapeString(out).c_str(), (long long)s.axis,
                       shapeString(in).c_str(), int(keepdims));
  if (s.n == 0 && out.numel() != 0)
    return AZR_INVALID("%s: axis %lld of %s is empty", op, (long long)s.axis,
                       shapeString(in).c_str());
  if (out.numel() == 0)
    return nullptr;
  const bool last = attrs.getInt("select_last_index", 0) != 0;
  int64_t *y = out.as<int64_t>();
  auto run = [&](auto tag, auto load) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    forEachLaneBlock(*context.pool, s.outer, s.n, s.inner,
                     [&](int64_t first, int64_t lanes, int64_t result) {
                       extremeIndex<Max>(x + first, lanes, s, last, load,
                                         y + result);
                     });
    return nullptr;
  };
  if (in.dtype == DType::f16)
    return run(uint16_t(), [](uint16_t h) { return halfToFloat(h); });
  if (in.dtype == DType::bf16)
    return run(uint16_t(), [](uint16_t h) { return bf16ToFloat(h); });
  return dispatchArith(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    return run(tag, [](T v) { return v; });
  });
}

azr_status_t detKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "det", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  bool ok = in.rank >= 2 && out.rank == in.rank - 2 && out.dtype == in.dtype &&
            in.dims[in.rank - 1] == in.dims[in.rank - 2];
  for (int d = 0; ok && d < out.rank; ++d)
    ok = out.dims[d] == in.dims[d];
  if (!ok)
    return AZR_INVALID("det: %s -> %s, expected square matrices and the "
                       "batch dims",
                       shapeString(in).c_str(), shapeString(out).c_str());
  const int64_t n = in.dims[in.rank - 1], count = out.numel();
  return dispatchFloat(in.dtype, "det", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *src = in.as<const T>();
    T *dst = out.as<T>();
    context.pool->parallelFor(count, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> a(size_t(n * n));
      for (int64_t m = begin; m < end; ++m) {
        for (int64_t i = 0; i < n * n; ++i)
          a[size_t(i)] = double(src[m * n * n + i]);
        double det = 1;
        for (int64_t col = 0; col < n && det != 0; ++col) {
          int64_t pivot = col;
          for (int64_t r = col + 1; r < n; ++r)
            if (std::abs(a[size_t(r * n + col)]) >
                std::abs(a[size_t(pivot * n + col)]))
              pivot = r;
          if (a[size_t(pivot * n + col)] == 0) {
            det = 0;
            break;
          }
          if (pivot != col) {
            for (int64_t c = 0; c < n; ++c)
              std::swap(a[size_t(pivot * n + c)], a[size_t(col * n + c)]);
            det = -det;
          }
          const double p = a[size_t(col * n + col)];
          det *= p;
          for (int64_t r = col + 1; r < n; ++r) {
            const double f = a[size_t(r * n + col)] / p;
            for (int64_t c = col; c < n; ++c)
              a[size_t(r * n + c)] -= f * a[size_t(col * n + c)];
          }
        }
        dst[m] = T(det);
      }
    });
    return nullptr;
  });
}

} // namespace

void addReduceMathKernels(KernelTable &table) {
  table.insert(table.end(),
               {{"det", guarded<detKernel>},
                {"reduce_l1", guarded<normKernel<Norm::l1>>},
                {"reduce_l2", guarded<normKernel<Norm::l2>>},
                {"reduce_log_sum", guarded<normKernel<Norm::logSum>>},
                {"reduce_log_sum_exp", guarded<normKernel<Norm::logSumExp>>},
                {"reduce_sum_square", guarded<normKernel<Norm::sumSquare>>},
                {"log_softmax", guarded<logSoftmaxKernel>},
                {"hardmax", guarded<hardmaxKernel>},
                {"argmax", guarded<argKernel<true>>},
                {"argmin", guarded<argKernel<false>>}});
}

} // namespace azr::cpu
