//===- reduce_norm.cc - reductions, softmax, layer/rms_norm and lrn -------===//

#include "cpu/kernel_util.h"

#include <limits>
#include <type_traits>

namespace azr::cpu {
namespace {

enum class Reduce { sum, mean, max, min, prod };

template <Reduce R, class T>
void reduce(const ReductionShape &s, const T *in, T *out, ThreadPool &pool) {
  // Floats accumulate sums and products in double; integers wrap in their
  // own width, computed unsigned.
  using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;
  pool.parallelFor(
      s.outputs, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.count)),
      [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          Acc acc = R == Reduce::prod ? Acc(1) : Acc(0);
          T best = R == Reduce::max ? std::numeric_limits<T>::lowest()
                                    : std::numeric_limits<T>::max();
          if constexpr (!std::is_integral_v<T>)
            best = R == Reduce::max ? -std::numeric_limits<T>::infinity()
                                    : std::numeric_limits<T>::infinity();
          s.forEach(s.baseOffset(o), [&](int64_t at) {
            const T v = in[at];
            if constexpr (R == Reduce::sum || R == Reduce::mean)
              acc += Acc(v);
            else if constexpr (R == Reduce::prod)
              acc *= Acc(v);
            else if constexpr (R == Reduce::max)
              best = v > best || v != v ? v : best;
            else
              best = v < best || v != v ? v : best;
          });
          if constexpr (R == Reduce::max || R == Reduce::min)
            out[o] = best;
          else if constexpr (R == Reduce::mean) {
            if constexpr (std::is_signed_v<T> && std::is_integral_v<T>)
              out[o] = s.count ? T(int64_t(acc) / s.count) : T(0);
            else if constexpr (std::is_integral_v<T>)
              out[o] = s.count ? T(acc / uint64_t(s.count)) : T(0);
            else
              out[o] = T(acc / double(s.count));
          } else
            out[o] = T(acc);
        }
      });
}

template <Reduce R> azr_status_t reduceKernel(const KernelContext &context) {
  static const char *const names[] = {"reduce_sum", "reduce_mean", "reduce_max",
                                      "reduce_min", "reduce_prod"};
  const char *op = names[int(R)];
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  ReductionShape s;
  AZR_RETURN_IF_ERROR(s.init(op, in, out, *context.attrs));
  if constexpr (R == Reduce::max || R == Reduce::min) {
    // Booleans (bytes 0 or 1): max is any, min is all. An empty set gives
    // the identity, 0 or 255 as bytes, so false or true once normalized.
    if (in.dtype == DType::i1 && out.dtype == DType::i1) {
      uint8_t *y = out.as<uint8_t>();
      reduce<R>(s, in.as<const uint8_t>(), y, *context.pool);
      for (int64_t i = 0; i < out.numel(); ++i)
        y[i] = y[i] != 0;
      return nullptr;
    }
  }
  return dispatchArith(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    reduce<R>(s, in.as<const T>(), out.as<T>(), *context.pool);
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

azr_status_t softmaxKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "softmax", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.dtype != out.dtype || in.numel() != out.numel())
    return AZR_INVALID("softmax: result %s does not match %s",
                       shapeString(out).c_str(), shapeString(in).c_str());
  int64_t axis = context.attrs->getInt("axis", -1);
  if (in.rank == 0 || !normalizeAxis(axis, in.rank))
    return AZR_INVALID("softmax: axis %lld is out of range for %s",
                       (long long)context.attrs->getInt("axis", -1),
                       shapeString(in).c_str());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d)
    outer *= in.dims[d];
  for (int d = int(axis) + 1; d < in.rank; ++d)
    inner *= in.dims[d];
  const int64_t n = in.dims[axis];
  if (in.dtype == DType::f32 && inner == 1) {
    // The common case (last axis, f32): rows through the vector exp.
    const float *x = in.as<const float>();
    float *y = out.as<float>();
    const VectorMath &math = vectorMath();
    context.pool->parallelFor(
        outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n)),
        [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            const float *src = x + r * n;
            float *dst = y + r * n;
            float best = -std::numeric_limits<float>::infinity();
            for (int64_t k = 0; k < n; ++k)
              best = std::max(best, src[k]);
            const float inverse = 1.0f / math.expShiftSum(src, best, dst, n);
            for (int64_t k = 0; k < n; ++k)
              dst[k] *= inverse;
          }
        });
    return nullptr;
  }
  return dispatchFloat(in.dtype, "softmax", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    // Subtracting each lane's max keeps exp from overflowing.
    forEachLaneBlock(*context.pool, outer, n, inner,
                     [&](int64_t first, int64_t lanes, int64_t) {
                       T best[kLanes];
                       double sum[kLanes];
                       const T *src = x + first;
                       T *dst = y + first;
                       std::fill(best, best + lanes,
                                 -std::numeric_limits<T>::infinity());
                       std::fill(sum, sum + lanes, 0.0);
                       for (int64_t k = 0; k < n; ++k)
                         for (int64_t i = 0; i < lanes; ++i)
                           best[i] = std::max(best[i], src[k * inner + i]);
                       for (int64_t k = 0; k < n; ++k)
                         for (int64_t i = 0; i < lanes; ++i) {
                           const T e = std::exp(src[k * inner + i] - best[i]);
                           dst[k * inner + i] = e;
                           sum[i] += double(e);
                         }
                       for (int64_t i = 0; i < lanes; ++i)
                         sum[i] = 1.0 / sum[i];
                       for (int64_t k = 0; k < n; ++k)
                         for (int64_t i = 0; i < lanes; ++i)
                           dst[k * inner + i] = T(dst[k * inner + i] * sum[i]);
                     });
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// layer_norm and rms_norm
//===----------------------------------------------------------------------===//

// Materializes `t` broadcast to the normalized dims (in.dims[axis:]), so the
// row loop reads scale and bias densely.
template <class T>
azr_status_t expandParam(const char *op, const char *what, const Tensor &t,
                         const Tensor &in, int axis, ThreadPool &pool,
                         std::vector<T> &values) {
  if (t.dtype != in.dtype)
    return AZR_INVALID("%s: %s has dtype %s, input %s", op, what,
                       dtypeName(t.dtype), dtypeName(in.dtype));
  Tensor view = t;
  // Leading unit dims beyond the normalized rank do not matter.
  while (view.rank > in.rank - axis && view.dims[0] == 1) {
    std::copy(view.dims + 1, view.dims + view.rank, view.dims);
    --view.rank;
  }
  const int rank = in.rank - axis;
  int64_t strides[kMaxRank];
  if (!broadcastStrides(view, rank, in.dims + axis, strides))
    return AZR_INVALID("%s: %s %s does not broadcast to the normalized dims "
                       "of %s from axis %d",
                       op, what, shapeString(t).c_str(),
                       shapeString(in).c_str(), axis);
  int64_t size = 1;
  for (int d = axis; d < in.rank; ++d)
    size *= in.dims[d];
  values.resize(size_t(size));
  copyStrided(values.data(), t.data, rank, in.dims + axis, strides, sizeof(T),
              pool);
  return nullptr;
}

template <bool IsRms> azr_status_t normKernel(const KernelContext &context) {
  const char *op = IsRms ? "rms_norm" : "layer_norm";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, IsRms ? 2 : 3, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.dtype != out.dtype || in.numel() != out.numel())
    return AZR_INVALID("%s: result %s does not match %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  int64_t axis = context.attrs->getInt("axis", -1);
  if (!normalizeAxis(axis, in.rank))
    return AZR_INVALID("%s: axis %lld is out of range for %s", op,
                       (long long)context.attrs->getInt("axis", -1),
                       shapeString(in).c_str());
  const double epsilon =
      context.attrs->getFloat("epsilon", IsRms ? 1e-6 : 1e-5);
  int64_t rows = 1, size = 1;
  for (int d = 0; d < in.rank; ++d)
    (d < axis ? rows : size) *= in.dims[d];
  const bool hasBias =
      !IsRms && context.numInputs > 2 && context.input(2).present();
  return dispatchFloat(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    std::vector<T> scale, bias;
    AZR_RETURN_IF_ERROR(expandParam<T>(op, "scale", context.input(1), in,
                                       int(axis), *context.pool, scale));
    if (hasBias)
      AZR_RETURN_IF_ERROR(expandParam<T>(op, "bias", context.input(2), in,
                                         int(axis), *context.pool, bias));
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    context.pool->parallelFor(
        rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, size)),
        [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            const T *src = x + r * size;
            T *dst = y + r * size;
            // Two passes in double: the variance of (x - mean) does not
            // cancel catastrophically the way E[x^2] - mean^2 can.
            double mean = 0.0;
            if (!IsRms) {
              for (int64_t i = 0; i < size; ++i)
                mean += double(src[i]);
              mean /= double(size);
            }
            double squares = 0.0;
            for (int64_t i = 0; i < size; ++i) {
              const double centered = double(src[i]) - mean;
              squares += centered * centered;
            }
            const T inv = T(1.0 / std::sqrt(squares / double(size) + epsilon));
            const T m = T(mean);
            for (int64_t i = 0; i < size; ++i)
              dst[i] = (src[i] - m) * inv * scale[size_t(i)] +
                       (hasBias ? bias[size_t(i)] : T(0));
          }
        });
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// lrn
//===----------------------------------------------------------------------===//

// ONNX LRN over the channels of an N x C x D1 x ... x Dk input:
//   y = x / (bias + alpha / size * sum of x[c']^2)^beta
// with c' in [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] clipped to
// [0, C - 1]. Sums and the power are computed in double, rounded once.
azr_status_t lrnKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "lrn", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.dtype != out.dtype || in.rank != out.rank ||
      !std::equal(in.dims, in.dims + in.rank, out.dims))
    return AZR_INVALID("lrn: result %s does not match %s",
                       shapeString(out).c_str(), shapeString(in).c_str());
  if (in.rank < 2)
    return AZR_INVALID("lrn: input %s is not N x C x ...",
                       shapeString(in).c_str());
  const Attrs &attrs = *context.attrs;
  const int64_t size = attrs.getInt("size", 0);
  if (!attrs.has("size") || size <= 0)
    return AZR_INVALID("lrn: size %lld is missing or not positive",
                       (long long)size);
  if (in.dtype != DType::f32)
    return unsupportedDtype("lrn", in.dtype);
  const double scale = attrs.getFloat("alpha", 1e-4) / double(size);
  const double beta = attrs.getFloat("beta", 0.75);
  const double bias = attrs.getFloat("bias", 1.0);
  const int64_t channels = in.dims[1];
  const int64_t before = (size - 1) / 2, after = size / 2;
  int64_t inner = 1;
  for (int d = 2; d < in.rank; ++d)
    inner *= in.dims[d];
  const float *x = in.as<const float>();
  float *y = out.as<float>();
  // Each window reads neighbours that an in-place run would have overwritten.
  std::vector<float> copy;
  if (in.data == out.data && in.numel()) {
    copy.assign(x, x + in.numel());
    x = copy.data();
  }
  forEachLaneBlock(*context.pool, in.dims[0], channels, inner,
                   [&](int64_t first, int64_t lanes, int64_t) {
                     double sum[kLanes];
                     for (int64_t c = 0; c < channels; ++c) {
                       std::fill(sum, sum + lanes, 0.0);
                       const int64_t lo = std::max<int64_t>(0, c - before);
                       const int64_t hi = std::min(channels - 1, c + after);
                       for (int64_t k = lo; k <= hi; ++k) {
                         const float *src = x + first + k * inner;
                         for (int64_t i = 0; i < lanes; ++i)
                           sum[i] += double(src[i]) * double(src[i]);
                       }
                       const float *src = x + first + c * inner;
                       float *dst = y + first + c * inner;
                       for (int64_t i = 0; i < lanes; ++i)
                         dst[i] = float(double(src[i]) /
                                        std::pow(bias + scale * sum[i], beta));
                     }
                   });
  return nullptr;
}

} // namespace

void addReduceNormKernels(KernelTable &table) {
  table.insert(table.end(),
               {{"reduce_sum", guarded<reduceKernel<Reduce::sum>>},
                {"reduce_mean", guarded<reduceKernel<Reduce::mean>>},
                {"reduce_max", guarded<reduceKernel<Reduce::max>>},
                {"reduce_min", guarded<reduceKernel<Reduce::min>>},
                {"reduce_prod", guarded<reduceKernel<Reduce::prod>>},
                {"softmax", guarded<softmaxKernel>},
                {"layer_norm", guarded<normKernel<false>>},
                {"rms_norm", guarded<normKernel<true>>},
                {"lrn", guarded<lrnKernel>}});
}

} // namespace azr::cpu
