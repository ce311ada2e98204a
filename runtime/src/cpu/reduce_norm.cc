//===- reduce_norm.cc - reductions, softmax, layer_norm and rms_norm ------===//

#include "cpu/kernel_util.h"

#include <limits>
#include <type_traits>

namespace azr::cpu {
namespace {

enum class Reduce { sum, mean, max, min, prod };

/// Input dims split into kept and reduced ones (size-1 dims dropped,
/// neighbours of the same kind merged), each with its input stride. The
/// result is dense over the kept dims in order, keepdims or not.
struct ReductionShape {
  int numKept = 0, numReduced = 0;
  int64_t kept[kMaxRank], keptStride[kMaxRank];
  int64_t reduced[kMaxRank], reducedStride[kMaxRank];
  int64_t outputs = 1, count = 1;
};

void addDim(int64_t size, int64_t stride, int &num, int64_t *dims,
            int64_t *strides, bool extendsLast) {
  if (extendsLast && num > 0) {
    dims[num - 1] *= size;
    strides[num - 1] = stride;
  } else {
    dims[num] = size;
    strides[num++] = stride;
  }
}

template <Reduce R, class T>
void reduce(const ReductionShape &s, const T *in, T *out, ThreadPool &pool) {
  // Floats accumulate sums and products in double; integers wrap in their
  // own width, computed unsigned.
  using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;
  const int last = s.numReduced - 1;
  const int64_t innerLen = last >= 0 ? s.reduced[last] : 1;
  const int64_t innerStride = last >= 0 ? s.reducedStride[last] : 0;
  pool.parallelFor(
      s.outputs, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.count)),
      [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          int64_t base = 0, rest = o;
          for (int d = s.numKept - 1; d >= 0; --d) {
            base += (rest % s.kept[d]) * s.keptStride[d];
            rest /= s.kept[d];
          }
          Acc acc = R == Reduce::prod ? Acc(1) : Acc(0);
          T best = R == Reduce::max ? std::numeric_limits<T>::lowest()
                                    : std::numeric_limits<T>::max();
          if constexpr (!std::is_integral_v<T>)
            best = R == Reduce::max ? -std::numeric_limits<T>::infinity()
                                    : std::numeric_limits<T>::infinity();
          // Odometer over the outer reduced dims, a loop over the last one.
          int64_t coord[kMaxRank] = {};
          for (int64_t done = 0; done < s.count && innerLen > 0;
               done += innerLen) {
            int64_t offset = base;
            for (int d = 0; d < last; ++d)
              offset += coord[d] * s.reducedStride[d];
            const T *x = in + offset;
            for (int64_t i = 0; i < innerLen; ++i) {
              const T v = x[i * innerStride];
              if constexpr (R == Reduce::sum || R == Reduce::mean)
                acc += Acc(v);
              else if constexpr (R == Reduce::prod)
                acc *= Acc(v);
              else if constexpr (R == Reduce::max)
                best = v > best || v != v ? v : best;
              else
                best = v < best || v != v ? v : best;
            }
            for (int d = last - 1; d >= 0; --d) {
              if (++coord[d] < s.reduced[d])
                break;
              coord[d] = 0;
            }
          }
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
  if (in.dtype != out.dtype)
    return AZR_INVALID("%s: dtype %s -> %s", op, dtypeName(in.dtype),
                       dtypeName(out.dtype));
  bool isReduced[kMaxRank] = {};
  std::vector<int64_t> axes = context.attrs->getInts("axes");
  for (int64_t axis : axes) {
    if (!normalizeAxis(axis, in.rank))
      return AZR_INVALID("%s: axis %lld is out of range for rank %d", op,
                         (long long)axis, in.rank);
    isReduced[axis] = true;
  }
  ReductionShape s;
  int64_t stride = in.numel() ? 1 : 0;
  bool lastWasReduced = false, any = false;
  int64_t strides[kMaxRank];
  for (int d = in.rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= in.dims[d];
  }
  for (int d = 0; d < in.rank; ++d) {
    const bool r = axes.empty() || isReduced[d];
    (r ? s.count : s.outputs) *= in.dims[d];
    if (in.dims[d] == 1)
      continue;
    if (r)
      addDim(in.dims[d], strides[d], s.numReduced, s.reduced, s.reducedStride,
             any && lastWasReduced);
    else
      addDim(in.dims[d], strides[d], s.numKept, s.kept, s.keptStride,
             any && !lastWasReduced);
    lastWasReduced = r;
    any = true;
  }
  if (out.numel() != s.outputs)
    return AZR_INVALID("%s: result %s does not match reducing %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
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
  return dispatchFloat(in.dtype, "softmax", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    // Work units are (outer index, block of up to kLanes inner positions);
    // subtracting each lane's max keeps exp from overflowing.
    constexpr int64_t kLanes = 256;
    const int64_t blocks = (inner + kLanes - 1) / kLanes;
    context.pool->parallelFor(
        outer * blocks,
        std::max<int64_t>(
            1, 8192 / std::max<int64_t>(1, n * std::min(inner, kLanes))),
        [&](int64_t begin, int64_t end) {
          T best[kLanes];
          double sum[kLanes];
          for (int64_t u = begin; u < end; ++u) {
            const int64_t o = u / blocks, i0 = (u % blocks) * kLanes;
            const int64_t lanes = std::min(kLanes, inner - i0);
            const T *src = x + o * n * inner + i0;
            T *dst = y + o * n * inner + i0;
            std::fill(best, best + lanes, -std::numeric_limits<T>::infinity());
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
          }
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
                {"rms_norm", guarded<normKernel<true>>}});
}

} // namespace azr::cpu
