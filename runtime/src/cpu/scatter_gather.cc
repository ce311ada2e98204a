//===- scatter_gather.cc - gather_nd, scatter_nd, scatter_elements, top_k -===//
//
// ONNX GatherND, ScatterND, ScatterElements and TopK (top_k: the k largest
// or smallest along an axis, sorted, ties in index order). Indices may be
// negative (counting from the back); an index out of range is an error,
// reported before anything is written. The scatters copy `data` to the result,
// then apply the updates in index order, so with duplicate indices and no
// reduction the last update wins, as in the ONNX reference.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace azr::cpu {
namespace {

int64_t indexAt(const Tensor &t, int64_t i) {
  return t.dtype == DType::i32 ? int64_t(t.as<const int32_t>()[i])
                               : t.as<const int64_t>()[i];
}

bool isIndexType(DType type) {
  return type == DType::i32 || type == DType::i64;
}

int64_t product(const int64_t *dims, int begin, int end) {
  int64_t n = 1;
  for (int d = begin; d < end; ++d)
    n *= dims[d];
  return n;
}

/// Reads a possibly negative index into [0, dim), or fails.
azr_status_t wrapIndex(const char *op, int64_t index, int64_t dim,
                       int64_t position, int64_t &out) {
  if (index < -dim || index >= dim)
    return AZR_INVALID("%s: index %lld (element %lld of indices) is out of "
                       "range [%lld, %lld)",
                       op, (long long)index, (long long)position,
                       (long long)-dim, (long long)dim);
  out = index < 0 ? index + dim : index;
  return nullptr;
}

enum class Reduction { none, add, mul, max, min };

azr_status_t parseReduction(const char *op, const Attrs &attrs,
                            Reduction &out) {
  const std::string name = attrs.getString("reduction", "none");
  if (name == "none")
    out = Reduction::none;
  else if (name == "add")
    out = Reduction::add;
  else if (name == "mul")
    out = Reduction::mul;
  else if (name == "max")
    out = Reduction::max;
  else if (name == "min")
    out = Reduction::min;
  else
    return AZR_INVALID("%s: unknown reduction '%s'", op, name.c_str());
  return nullptr;
}

/// dst[i] = reduction(dst[i], src[i]) for `count` elements.
template <class T>
void combine(Reduction reduction, T *dst, const T *src, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    switch (reduction) {
    case Reduction::none:
      dst[i] = src[i];
      break;
    case Reduction::add:
      dst[i] = T(dst[i] + src[i]);
      break;
    case Reduction::mul:
      dst[i] = T(dst[i] * src[i]);
      break;
    case Reduction::max:
      dst[i] = src[i] > dst[i] ? src[i] : dst[i];
      break;
    case Reduction::min:
      dst[i] = src[i] < dst[i] ? src[i] : dst[i];
      break;
    }
  }
}

/// Copies data to the result (unless they share storage), then applies
/// runs of `count` update elements at the data offsets in `offsets` (in
/// elements), in order.
azr_status_t scatterRuns(const char *op, Reduction reduction,
                         const Tensor &data, const Tensor &updates,
                         const Tensor &out, const std::vector<int64_t> &offsets,
                         int64_t count) {
  if (out.data != data.data && data.numel() > 0)
    std::memcpy(out.data, data.data, data.bytes());
  if (reduction == Reduction::none) {
    const size_t elem = dtypeSize(data.dtype);
    char *dst = static_cast<char *>(out.data);
    const char *src = static_cast<const char *>(updates.data);
    for (size_t r = 0; r < offsets.size(); ++r)
      std::memcpy(dst + offsets[r] * int64_t(elem),
                  src + int64_t(r) * count * int64_t(elem),
                  size_t(count) * elem);
    return nullptr;
  }
  return dispatchArith(data.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    T *dst = out.as<T>();
    const T *src = updates.as<const T>();
    for (size_t r = 0; r < offsets.size(); ++r)
      combine(reduction, dst + offsets[r], src + int64_t(r) * count, count);
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// gather_nd
//===----------------------------------------------------------------------===//

azr_status_t gatherNdKernel(const KernelContext &context) {
  const char *op = "gather_nd";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 2, 2, 1));
  const Tensor &data = context.input(0), &indices = context.input(1);
  const Tensor &out = context.output(0);
  if (!isIndexType(indices.dtype))
    return AZR_INVALID("%s: indices have dtype %s, expected i32 or i64", op,
                       dtypeName(indices.dtype));
  const int64_t b = context.attrs->getInt("batch_dims", 0);
  const int q = indices.rank, r = data.rank;
  const int64_t k = q > 0 ? indices.dims[q - 1] : -1;
  bool ok = q >= 1 && b >= 0 && b < q && b < r && k >= 1 && b + k <= r &&
            out.dtype == data.dtype && out.rank == q - 1 + r - int(b + k);
  for (int d = 0; ok && d < b; ++d)
    ok = indices.dims[d] == data.dims[d];
  for (int d = 0; ok && d < q - 1; ++d)
    ok = out.dims[d] == indices.dims[d];
  for (int d = int(b + k); ok && d < r; ++d)
    ok = out.dims[q - 1 + d - (b + k)] == data.dims[d];
  if (!ok)
    return AZR_INVALID("%s: data %s, indices %s, batch_dims %lld and result "
                       "%s do not fit",
                       op, shapeString(data).c_str(),
                       shapeString(indices).c_str(), (long long)b,
                       shapeString(out).c_str());
  const int64_t slice = product(data.dims, int(b + k), r);
  const int64_t batches = product(indices.dims, 0, int(b));
  const int64_t perBatch = product(indices.dims, int(b), q - 1);
  const int64_t batchStride = product(data.dims, int(b), r);
  int64_t strides[kMaxRank];
  for (int64_t d = r - 1, s = 1; d >= 0; --d) {
    strides[d] = s;
    s *= data.dims[d];
  }
  std::vector<int64_t> offsets(size_t(batches * perBatch));
  for (int64_t t = 0; t < batches * perBatch; ++t) {
    int64_t offset = (t / std::max<int64_t>(perBatch, 1)) * batchStride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t index;
      AZR_RETURN_IF_ERROR(wrapIndex(op, indexAt(indices, t * k + j),
                                    data.dims[b + j], t * k + j, index));
      offset += index * strides[b + j];
    }
    offsets[size_t(t)] = offset;
  }
  const size_t elem = dtypeSize(data.dtype);
  const char *src = static_cast<const char *>(data.data);
  char *dst = static_cast<char *>(out.data);
  for (size_t t = 0; t < offsets.size(); ++t)
    std::memcpy(dst + int64_t(t) * slice * int64_t(elem),
                src + offsets[t] * int64_t(elem), size_t(slice) * elem);
  return nullptr;
}

//===----------------------------------------------------------------------===//
// scatter_nd
//===----------------------------------------------------------------------===//

azr_status_t scatterNdKernel(const KernelContext &context) {
  const char *op = "scatter_nd";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 3, 1));
  const Tensor &data = context.input(0), &indices = context.input(1);
  const Tensor &updates = context.input(2), &out = context.output(0);
  Reduction reduction;
  AZR_RETURN_IF_ERROR(parseReduction(op, *context.attrs, reduction));
  if (!isIndexType(indices.dtype))
    return AZR_INVALID("%s: indices have dtype %s, expected i32 or i64", op,
                       dtypeName(indices.dtype));
  const int q = indices.rank, r = data.rank;
  const int64_t k = q > 0 ? indices.dims[q - 1] : -1;
  bool ok = q >= 1 && k >= 1 && k <= r && out.dtype == data.dtype &&
            updates.dtype == data.dtype && out.rank == r &&
            std::equal(out.dims, out.dims + r, data.dims) &&
            updates.rank == q - 1 + r - int(k);
  for (int d = 0; ok && d < q - 1; ++d)
    ok = updates.dims[d] == indices.dims[d];
  for (int d = int(k); ok && d < r; ++d)
    ok = updates.dims[q - 1 + d - k] == data.dims[d];
  if (!ok)
    return AZR_INVALID("%s: data %s, indices %s, updates %s and result %s do "
                       "not fit",
                       op, shapeString(data).c_str(),
                       shapeString(indices).c_str(),
                       shapeString(updates).c_str(), shapeString(out).c_str());
  int64_t strides[kMaxRank];
  for (int64_t d = r - 1, s = 1; d >= 0; --d) {
    strides[d] = s;
    s *= data.dims[d];
  }
  const int64_t runs = product(indices.dims, 0, q - 1);
  std::vector<int64_t> offsets(static_cast<size_t>(runs));
  for (int64_t t = 0; t < runs; ++t) {
    int64_t offset = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t index;
      AZR_RETURN_IF_ERROR(wrapIndex(op, indexAt(indices, t * k + j),
                                    data.dims[j], t * k + j, index));
      offset += index * strides[j];
    }
    offsets[size_t(t)] = offset;
  }
  return scatterRuns(op, reduction, data, updates, out, offsets,
                     product(data.dims, int(k), r));
}

//===----------------------------------------------------------------------===//
// scatter_elements
//===----------------------------------------------------------------------===//

azr_status_t scatterElementsKernel(const KernelContext &context) {
  const char *op = "scatter_elements";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 3, 3, 1));
  const Tensor &data = context.input(0), &indices = context.input(1);
  const Tensor &updates = context.input(2), &out = context.output(0);
  Reduction reduction;
  AZR_RETURN_IF_ERROR(parseReduction(op, *context.attrs, reduction));
  if (!isIndexType(indices.dtype))
    return AZR_INVALID("%s: indices have dtype %s, expected i32 or i64", op,
                       dtypeName(indices.dtype));
  int64_t axis = context.attrs->getInt("axis", 0);
  const int r = data.rank;
  if (!normalizeAxis(axis, r))
    return AZR_INVALID("%s: axis %lld is out of range for %s", op,
                       (long long)context.attrs->getInt("axis", 0),
                       shapeString(data).c_str());
  bool ok = indices.rank == r && updates.rank == r && out.dtype == data.dtype &&
            updates.dtype == data.dtype && out.rank == r &&
            std::equal(out.dims, out.dims + r, data.dims) &&
            std::equal(indices.dims, indices.dims + r, updates.dims);
  for (int d = 0; ok && d < r; ++d)
    ok = d == axis || indices.dims[d] <= data.dims[d];
  if (!ok)
    return AZR_INVALID("%s: data %s, indices %s, updates %s and result %s do "
                       "not fit",
                       op, shapeString(data).c_str(),
                       shapeString(indices).c_str(),
                       shapeString(updates).c_str(), shapeString(out).c_str());
  int64_t strides[kMaxRank];
  for (int64_t d = r - 1, s = 1; d >= 0; --d) {
    strides[d] = s;
    s *= data.dims[d];
  }
  const int64_t n = indices.numel();
  std::vector<int64_t> offsets(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t index;
    AZR_RETURN_IF_ERROR(
        wrapIndex(op, indexAt(indices, i), data.dims[axis], i, index));
    int64_t offset = 0, rest = i;
    for (int d = r - 1; d >= 0; --d) {
      const int64_t coord = d == axis ? index : rest % indices.dims[d];
      rest /= indices.dims[d];
      offset += coord * strides[d];
    }
    offsets[size_t(i)] = offset;
  }
  return scatterRuns(op, reduction, data, updates, out, offsets, 1);
}

azr_status_t topKKernel(const KernelContext &context) {
  const char *op = "top_k";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 2));
  const Tensor &in = context.input(0);
  const Tensor &values = context.output(0), &indices = context.output(1);
  int64_t axis = context.attrs->getInt("axis", -1);
  const int64_t k = context.attrs->getInt("k", -1);
  bool ok = normalizeAxis(axis, in.rank) && k >= 0 && k <= in.dims[axis] &&
            values.dtype == in.dtype && indices.dtype == DType::i64 &&
            values.rank == in.rank && indices.rank == in.rank;
  for (int d = 0; ok && d < in.rank; ++d)
    ok = values.dims[d] == (d == axis ? k : in.dims[d]) &&
         indices.dims[d] == values.dims[d];
  if (!ok)
    return AZR_INVALID("%s: input %s, k %lld, axis %lld and results %s, %s "
                       "do not fit",
                       op, shapeString(in).c_str(), (long long)k,
                       (long long)context.attrs->getInt("axis", -1),
                       shapeString(values).c_str(),
                       shapeString(indices).c_str());
  const bool largest = context.attrs->getInt("largest", 1) != 0;
  const int64_t n = in.dims[axis];
  int64_t inner = 1, outer = 1;
  for (int d = axis + 1; d < in.rank; ++d)
    inner *= in.dims[d];
  for (int d = 0; d < axis; ++d)
    outer *= in.dims[d];
  if (values.numel() == 0)
    return nullptr;
  return dispatchArith(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *src = in.as<const T>();
    T *dst = values.as<T>();
    int64_t *where = indices.as<int64_t>();
    context.pool->parallelFor(
        outer * inner, 1, [&](int64_t begin, int64_t end) {
          std::vector<int64_t> order(static_cast<size_t>(n));
          for (int64_t s = begin; s < end; ++s) {
            const int64_t o = s / inner, i = s % inner;
            const T *line = src + o * n * inner + i;
            for (int64_t j = 0; j < n; ++j)
              order[size_t(j)] = j;
            auto before = [&](int64_t a, int64_t b) {
              const T va = line[a * inner], vb = line[b * inner];
              if (va != vb)
                return largest ? va > vb : va < vb;
              return a < b;
            };
            std::partial_sort(order.begin(), order.begin() + k, order.end(),
                              before);
            for (int64_t j = 0; j < k; ++j) {
              const int64_t at = (o * k + j) * inner + i;
              dst[at] = line[order[size_t(j)] * inner];
              where[at] = order[size_t(j)];
            }
          }
        });
    return nullptr;
  });
}

} // namespace

void addScatterGatherKernels(KernelTable &table) {
  table.insert(table.end(),
               {{"gather_nd", guarded<gatherNdKernel>},
                {"scatter_nd", guarded<scatterNdKernel>},
                {"scatter_elements", guarded<scatterElementsKernel>},
                {"top_k", guarded<topKKernel>}});
}

} // namespace azr::cpu
