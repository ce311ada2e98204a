//===- data_movement.cc - shape, copy, gather and slice kernels -----------===//
//
// These work for every dtype: they move elements as bytes.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <limits>

namespace azr::cpu {
namespace {

void denseStrides(const Tensor &t, int64_t *strides) {
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= t.dims[d];
  }
}

// Product of dims [begin, end).
int64_t span(const Tensor &t, int begin, int end) {
  int64_t n = 1;
  for (int d = begin; d < end; ++d)
    n *= t.dims[d];
  return n;
}

azr_status_t readIndexTensor(const char *op, const char *what, const Tensor &t,
                             std::vector<int64_t> &values) {
  if (t.dtype != DType::i32 && t.dtype != DType::i64)
    return AZR_INVALID("%s: %s has dtype %s, expected i32 or i64", op, what,
                       dtypeName(t.dtype));
  values.resize(size_t(t.numel()));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = t.dtype == DType::i32 ? int64_t(t.as<const int32_t>()[i])
                                      : t.as<const int64_t>()[i];
  return nullptr;
}

// reshape, squeeze and unsqueeze: the same bytes under another shape.
azr_status_t copyKernel(const KernelContext &context, const char *op,
                        int maxInputs) {
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, maxInputs, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.dtype != out.dtype || in.numel() != out.numel())
    return AZR_INVALID("%s: result %s does not hold the elements of %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  if (in.data != out.data && in.bytes())
    std::memmove(out.data, in.data, in.bytes());
  return nullptr;
}

// bitcast: the same bytes as another dtype of the same size. A byte read
// as i1 is true when nonzero, so the result is always a valid boolean.
azr_status_t bitcastKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "bitcast", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (dtypeSize(in.dtype) != dtypeSize(out.dtype) || in.rank != out.rank ||
      !std::equal(in.dims, in.dims + in.rank, out.dims))
    return AZR_INVALID("bitcast: %s %s -> %s %s needs the same shape and "
                       "element size",
                       dtypeName(in.dtype), shapeString(in).c_str(),
                       dtypeName(out.dtype), shapeString(out).c_str());
  if (out.dtype == DType::i1 && in.dtype != DType::i1) {
    const uint8_t *x = in.as<const uint8_t>();
    uint8_t *y = out.as<uint8_t>();
    for (int64_t i = 0, n = in.numel(); i < n; ++i)
      y[i] = x[i] != 0;
    return nullptr;
  }
  if (in.data != out.data && in.bytes())
    std::memmove(out.data, in.data, in.bytes());
  return nullptr;
}

azr_status_t reshapeKernel(const KernelContext &context) {
  return copyKernel(context, "reshape", 2);
}
azr_status_t squeezeKernel(const KernelContext &context) {
  return copyKernel(context, "squeeze", 1);
}
azr_status_t unsqueezeKernel(const KernelContext &context) {
  return copyKernel(context, "unsqueeze", 1);
}

azr_status_t shapeOfKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "shape_of", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (out.dtype != DType::i64 || out.numel() != in.rank)
    return AZR_INVALID("shape_of: result %s cannot hold the shape of %s",
                       shapeString(out).c_str(), shapeString(in).c_str());
  std::copy(in.dims, in.dims + in.rank, out.as<int64_t>());
  return nullptr;
}

azr_status_t expandKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "expand", 1, 2, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  int64_t strides[kMaxRank];
  if (in.dtype != out.dtype ||
      !broadcastStrides(in, out.rank, out.dims, strides))
    return AZR_INVALID("expand: %s does not broadcast to %s",
                       shapeString(in).c_str(), shapeString(out).c_str());
  copyStrided(out.data, in.data, out.rank, out.dims, strides,
              dtypeSize(in.dtype), *context.pool);
  return nullptr;
}

azr_status_t transposeKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "transpose", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  const std::vector<int64_t> perm = context.attrs->getInts("perm");
  if (in.dtype != out.dtype || perm.size() != size_t(in.rank) ||
      out.rank != in.rank)
    return AZR_INVALID("transpose: perm of %zu dims for %s -> %s", perm.size(),
                       shapeString(in).c_str(), shapeString(out).c_str());
  int64_t inStrides[kMaxRank], strides[kMaxRank];
  bool used[kMaxRank] = {};
  denseStrides(in, inStrides);
  for (int d = 0; d < in.rank; ++d) {
    const int64_t p = perm[size_t(d)];
    if (p < 0 || p >= in.rank || used[p] || out.dims[d] != in.dims[p])
      return AZR_INVALID("transpose: perm entry %d (%lld) is invalid for %s "
                         "-> %s",
                         d, (long long)p, shapeString(in).c_str(),
                         shapeString(out).c_str());
    used[p] = true;
    strides[d] = inStrides[p];
  }
  copyStrided(out.data, in.data, out.rank, out.dims, strides,
              dtypeSize(in.dtype), *context.pool);
  return nullptr;
}

azr_status_t concatKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "concat", 1, 1 << 20, 1));
  const Tensor &out = context.output(0);
  int64_t axis = context.attrs->getInt("axis", 0);
  if (!normalizeAxis(axis, out.rank))
    return AZR_INVALID("concat: axis %lld is out of range for %s",
                       (long long)context.attrs->getInt("axis", 0),
                       shapeString(out).c_str());
  int64_t total = 0;
  for (int i = 0; i < context.numInputs; ++i) {
    const Tensor &in = context.input(i);
    bool ok = in.dtype == out.dtype && in.rank == out.rank;
    for (int d = 0; ok && d < in.rank; ++d)
      ok = d == axis || in.dims[d] == out.dims[d];
    if (!ok)
      return AZR_INVALID("concat: operand %d %s does not fit result %s", i,
                         shapeString(in).c_str(), shapeString(out).c_str());
    total += in.dims[axis];
  }
  if (total != out.dims[axis])
    return AZR_INVALID("concat: operands sum to %lld along axis %lld, result "
                       "has %lld",
                       (long long)total, (long long)axis,
                       (long long)out.dims[axis]);
  const size_t elem = dtypeSize(out.dtype);
  const int64_t outer = span(out, 0, int(axis));
  const int64_t rowBytes = span(out, int(axis), out.rank) * int64_t(elem);
  char *dst = static_cast<char *>(out.data);
  context.pool->parallelFor(
      outer, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, rowBytes)),
      [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          char *row = dst + o * rowBytes;
          for (int i = 0; i < context.numInputs; ++i) {
            const Tensor &in = context.input(i);
            const int64_t bytes = span(in, int(axis), in.rank) * int64_t(elem);
            if (bytes)
              std::memcpy(row, static_cast<const char *>(in.data) + o * bytes,
                          size_t(bytes));
            row += bytes;
          }
        }
      });
  return nullptr;
}

azr_status_t splitKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "split", 1, 1, -1));
  const Tensor &in = context.input(0);
  int64_t axis = context.attrs->getInt("axis", 0);
  const std::vector<int64_t> sizes = context.attrs->getInts("sizes");
  if (!normalizeAxis(axis, in.rank) ||
      sizes.size() != size_t(context.numOutputs))
    return AZR_INVALID("split: axis %lld and %zu sizes for %s into %d results",
                       (long long)context.attrs->getInt("axis", 0),
                       sizes.size(), shapeString(in).c_str(),
                       context.numOutputs);
  int64_t total = 0;
  for (int i = 0; i < context.numOutputs; ++i) {
    const Tensor &out = context.output(i);
    bool ok = out.dtype == in.dtype && out.rank == in.rank &&
              sizes[size_t(i)] >= 0 && out.dims[axis] == sizes[size_t(i)];
    for (int d = 0; ok && d < in.rank; ++d)
      ok = d == axis || in.dims[d] == out.dims[d];
    if (!ok)
      return AZR_INVALID("split: result %d %s does not fit %s", i,
                         shapeString(out).c_str(), shapeString(in).c_str());
    total += sizes[size_t(i)];
  }
  if (total != in.dims[axis])
    return AZR_INVALID("split: sizes sum to %lld, dim %lld is %lld",
                       (long long)total, (long long)axis,
                       (long long)in.dims[axis]);
  const size_t elem = dtypeSize(in.dtype);
  const int64_t outer = span(in, 0, int(axis));
  const int64_t rowBytes = span(in, int(axis), in.rank) * int64_t(elem);
  const char *src = static_cast<const char *>(in.data);
  context.pool->parallelFor(
      outer, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, rowBytes)),
      [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          const char *row = src + o * rowBytes;
          for (int i = 0; i < context.numOutputs; ++i) {
            const Tensor &out = context.output(i);
            const int64_t bytes =
                span(out, int(axis), out.rank) * int64_t(elem);
            if (bytes)
              std::memcpy(static_cast<char *>(out.data) + o * bytes, row,
                          size_t(bytes));
            row += bytes;
          }
        }
      });
  return nullptr;
}

azr_status_t sliceKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "slice", 3, 5, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  std::vector<int64_t> starts, ends, axes, steps;
  AZR_RETURN_IF_ERROR(
      readIndexTensor("slice", "starts", context.input(1), starts));
  AZR_RETURN_IF_ERROR(readIndexTensor("slice", "ends", context.input(2), ends));
  if (context.numInputs > 3 && context.input(3).present())
    AZR_RETURN_IF_ERROR(
        readIndexTensor("slice", "axes", context.input(3), axes));
  else
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  if (context.numInputs > 4 && context.input(4).present())
    AZR_RETURN_IF_ERROR(
        readIndexTensor("slice", "steps", context.input(4), steps));
  else
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size() || in.dtype != out.dtype ||
      out.rank != in.rank)
    return AZR_INVALID("slice: %zu starts, %zu ends, %zu axes, %zu steps for "
                       "%s -> %s",
                       starts.size(), ends.size(), axes.size(), steps.size(),
                       shapeString(in).c_str(), shapeString(out).c_str());
  int64_t first[kMaxRank] = {}, step[kMaxRank], count[kMaxRank];
  bool seen[kMaxRank] = {};
  for (int d = 0; d < in.rank; ++d) {
    step[d] = 1;
    count[d] = in.dims[d];
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes[i];
    if (!normalizeAxis(axis, in.rank) || seen[axis] || steps[i] == 0)
      return AZR_INVALID("slice: axis %lld (step %lld) is invalid for %s",
                         (long long)axes[i], (long long)steps[i],
                         shapeString(in).c_str());
    seen[axis] = true;
    // ONNX clamping: negative indices count from the back, then starts and
    // ends clamp to [0, dim] (step > 0) or [0, dim-1] / [-1, dim-1].
    const int64_t dim = in.dims[axis];
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t n;
    if (dim == 0) {
      n = 0;
    } else if (steps[i] > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      n = end > start ? (end - start - 1) / steps[i] + 1 : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      n = start > end ? (start - end - 1) / -steps[i] + 1 : 0;
    }
    first[axis] = n ? start : 0;
    step[axis] = steps[i];
    count[axis] = n;
  }
  int64_t inStrides[kMaxRank], strides[kMaxRank], offset = 0;
  denseStrides(in, inStrides);
  for (int d = 0; d < in.rank; ++d) {
    if (out.dims[d] != count[d])
      return AZR_INVALID("slice: result dim %d is %lld, the slice has %lld", d,
                         (long long)out.dims[d], (long long)count[d]);
    offset += first[d] * inStrides[d];
    strides[d] = step[d] * inStrides[d];
  }
  if (out.numel() == 0)
    return nullptr;
  const size_t elem = dtypeSize(in.dtype);
  copyStrided(out.data, static_cast<const char *>(in.data) + offset * elem,
              out.rank, out.dims, strides, elem, *context.pool);
  return nullptr;
}

azr_status_t gatherKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "gather", 2, 2, 1));
  const Tensor &data = context.input(0), &out = context.output(0);
  std::vector<int64_t> indices;
  AZR_RETURN_IF_ERROR(
      readIndexTensor("gather", "indices", context.input(1), indices));
  int64_t axis = context.attrs->getInt("axis", 0);
  if (!normalizeAxis(axis, data.rank))
    return AZR_INVALID("gather: axis %lld is out of range for %s",
                       (long long)context.attrs->getInt("axis", 0),
                       shapeString(data).c_str());
  const int64_t dim = data.dims[axis];
  const int64_t outer = span(data, 0, int(axis));
  const int64_t inner = span(data, int(axis) + 1, data.rank);
  const int64_t n = int64_t(indices.size());
  if (out.dtype != data.dtype || out.numel() != outer * n * inner)
    return AZR_INVALID("gather: result %s does not match data %s and %lld "
                       "indices",
                       shapeString(out).c_str(), shapeString(data).c_str(),
                       (long long)n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t &index = indices[size_t(i)];
    if (index < -dim || index >= dim)
      return AZR_INVALID("gather: index %lld (element %lld of indices) is out "
                         "of range [%lld, %lld) for axis %lld of %s",
                         (long long)index, (long long)i, (long long)-dim,
                         (long long)dim, (long long)axis,
                         shapeString(data).c_str());
    if (index < 0)
      index += dim;
  }
  const int64_t bytes = inner * int64_t(dtypeSize(data.dtype));
  const char *src = static_cast<const char *>(data.data);
  char *dst = static_cast<char *>(out.data);
  if (bytes == 0)
    return nullptr;
  context.pool->parallelFor(
      outer * n, std::max<int64_t>(1, 65536 / bytes),
      [&](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) {
          const int64_t o = u / n, index = indices[size_t(u % n)];
          std::memcpy(dst + u * bytes, src + (o * dim + index) * bytes,
                      size_t(bytes));
        }
      });
  return nullptr;
}

azr_status_t rangeKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "range", 3, 3, 1));
  const Tensor &out = context.output(0);
  for (int i = 0; i < 3; ++i)
    if (context.input(i).numel() != 1 || context.input(i).dtype != out.dtype)
      return AZR_INVALID("range: operand %d %s must be a scalar of the "
                         "result's dtype %s",
                         i, shapeString(context.input(i)).c_str(),
                         dtypeName(out.dtype));
  return dispatchArith(out.dtype, "range", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T start = *context.input(0).as<const T>();
    const T delta = *context.input(2).as<const T>();
    if (delta == T(0))
      return AZR_INVALID("range: delta is zero");
    T *y = out.as<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) {
      if constexpr (std::is_integral_v<T>)
        y[i] = T(uint64_t(start) + uint64_t(i) * uint64_t(delta));
      else
        y[i] = start + T(i) * delta;
    }
    return nullptr;
  });
}

} // namespace

void addDataMovementKernels(KernelTable &table) {
  table.insert(table.end(), {{"reshape", guarded<reshapeKernel>},
                             {"squeeze", guarded<squeezeKernel>},
                             {"unsqueeze", guarded<unsqueezeKernel>},
                             {"shape_of", guarded<shapeOfKernel>},
                             {"expand", guarded<expandKernel>},
                             {"transpose", guarded<transposeKernel>},
                             {"concat", guarded<concatKernel>},
                             {"split", guarded<splitKernel>},
                             {"slice", guarded<sliceKernel>},
                             {"gather", guarded<gatherKernel>},
                             {"range", guarded<rangeKernel>},
                             {"bitcast", guarded<bitcastKernel>}});
}

} // namespace azr::cpu
