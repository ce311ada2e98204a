//===- selection.cc - nonzero, compress and unique kernels ----------------===//
//
// Ops whose result size depends on the input values. The executor allocates
// each such result at the upper bound the compiler computed; the kernel
// writes the data densely at its actual size (a prefix of the buffer) and
// that size into its last result, an i64 scalar the session reads after
// the run to report the output's dims. A kernel never writes past the
// bound: a result too small for the data is an error.
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <numeric>

namespace azr::cpu {
namespace {

/// Checks that `extent` is an i64 scalar and stores `count` in it.
azr_status_t writeExtent(const char *op, const Tensor &extent, int64_t count) {
  if (extent.dtype != DType::i64 || extent.numel() != 1)
    return AZR_INVALID("%s: the size result must be an i64 scalar, got %s %s",
                       op, dtypeName(extent.dtype),
                       shapeString(extent).c_str());
  *extent.as<int64_t>() = count;
  return nullptr;
}

/// Element values as something ordered: floats (f16 and bf16 widened) as
/// double with every NaN after every number and equal to every other NaN,
/// as NumPy's unique collapses them; integers as themselves.
template <class T> auto orderKey(T x) {
  if constexpr (std::is_same_v<T, Half>)
    return double(halfToFloat(x.bits));
  else if constexpr (std::is_same_v<T, BFloat>)
    return double(bf16ToFloat(x.bits));
  else if constexpr (std::is_same_v<T, Bool>)
    return int(x.value != 0);
  else if constexpr (std::is_floating_point_v<T>)
    return double(x);
  else
    return x;
}

template <class K> bool keyLess(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) {
    if (std::isnan(a) || std::isnan(b))
      return !std::isnan(a) && std::isnan(b);
  }
  return a < b;
}

template <class T> bool isNonZero(T x) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat>)
    return (x.bits & 0x7fff) != 0; // +0 and -0 are zero
  else if constexpr (std::is_same_v<T, Bool>)
    return x.value != 0;
  else
    return x != T(0);
}

//===----------------------------------------------------------------------===//
// nonzero
//===----------------------------------------------------------------------===//

azr_status_t nonZeroKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "nonzero", 1, 1, 2));
  const Tensor &in = context.input(0), &out = context.output(0);
  const int rank = in.rank;
  if (out.dtype != DType::i64 || out.rank != 2 || out.dims[0] != rank)
    return AZR_INVALID("nonzero: result %s %s is not i64 [%d, N]",
                       dtypeName(out.dtype), shapeString(out).c_str(), rank);
  const int64_t capacity = out.dims[1];
  std::vector<int64_t> flat; // flat indices of the nonzero elements
  AZR_RETURN_IF_ERROR(dispatchAll(in.dtype, "nonzero", [&](auto tag) {
    using T = decltype(tag);
    const T *x = in.as<T>();
    for (int64_t i = 0, n = in.numel(); i < n; ++i)
      if (isNonZero(x[i]))
        flat.push_back(i);
    return azr_status_t(nullptr);
  }));
  const int64_t count = int64_t(flat.size());
  if (count > capacity)
    return AZR_INVALID("nonzero: %lld nonzero elements, room for %lld",
                       (long long)count, (long long)capacity);
  // Row d holds every element's coordinate d: [rank, count], dense.
  int64_t *indices = out.as<int64_t>();
  for (int64_t j = 0; j < count; ++j) {
    int64_t rest = flat[j];
    for (int d = rank - 1; d >= 0; --d) {
      indices[d * count + j] = rest % in.dims[d];
      rest /= in.dims[d];
    }
  }
  return writeExtent("nonzero", context.output(1), count);
}

//===----------------------------------------------------------------------===//
// compress
//===----------------------------------------------------------------------===//

/// The input viewed as [outer, n, inner] around the axis (the whole input
/// flattened, n = numel, without one).
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
  int axis = -1; ///< -1: flattened

  bool init(const Tensor &in, const Attrs &attrs) {
    if (!attrs.has("axis")) {
      n = in.numel();
      return true;
    }
    int64_t a = attrs.getInt("axis", 0);
    if (!normalizeAxis(a, in.rank))
      return false;
    axis = int(a);
    for (int d = 0; d < in.rank; ++d)
      (d < axis ? outer : d == axis ? n : inner) *= in.dims[d];
    return true;
  }
  /// Whether `result` is `in` with the axis (or the flattened input) cut
  /// to `bound`, the size the compiler reserved.
  bool fitsResult(const Tensor &in, const Tensor &result,
                  int64_t &bound) const {
    if (axis < 0) {
      bound = result.rank == 1 ? result.dims[0] : -1;
      return result.rank == 1;
    }
    if (result.rank != in.rank)
      return false;
    for (int d = 0; d < in.rank; ++d)
      if (d != axis && result.dims[d] != in.dims[d])
        return false;
    bound = result.dims[axis];
    return true;
  }
};

azr_status_t compressKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "compress", 2, 2, 2));
  const Tensor &in = context.input(0), &condition = context.input(1);
  const Tensor &out = context.output(0);
  AxisView view;
  int64_t bound = 0;
  if (!view.init(in, *context.attrs))
    return AZR_INVALID("compress: axis %lld is outside rank %d",
                       (long long)context.attrs->getInt("axis", 0), in.rank);
  if (condition.dtype != DType::i1 || condition.rank != 1 ||
      out.dtype != in.dtype || !view.fitsResult(in, out, bound))
    return AZR_INVALID("compress: data %s, condition %s %s and result %s "
                       "disagree",
                       shapeString(in).c_str(), dtypeName(condition.dtype),
                       shapeString(condition).c_str(),
                       shapeString(out).c_str());
  // Conditions past the end of the axis may only be false (NumPy refuses
  // an index there).
  const uint8_t *keep = condition.as<uint8_t>();
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < condition.dims[0]; ++i) {
    if (!keep[i])
      continue;
    if (i >= view.n)
      return AZR_INVALID("compress: condition %lld is true, past the %lld "
                         "slices of the data",
                         (long long)i, (long long)view.n);
    kept.push_back(i);
  }
  const int64_t count = int64_t(kept.size());
  if (count > bound)
    return AZR_INVALID("compress: %lld slices kept, room for %lld",
                       (long long)count, (long long)bound);
  const size_t slice = size_t(view.inner) * dtypeSize(in.dtype);
  const uint8_t *src = in.as<uint8_t>();
  uint8_t *dst = out.as<uint8_t>();
  for (int64_t o = 0; o < view.outer; ++o)
    for (int64_t j = 0; j < count; ++j)
      std::memcpy(dst + (o * count + j) * slice,
                  src + (o * view.n + kept[j]) * slice, slice);
  return writeExtent("compress", context.output(1), count);
}

//===----------------------------------------------------------------------===//
// unique
//===----------------------------------------------------------------------===//

/// Unique slices along the axis (elements, without one): groups[u] lists
/// the slices equal to unique slice u, the first occurrence first; groups
/// are in ascending order when `sorted`, else in order of first occurrence.
template <class T>
std::vector<std::vector<int64_t>> uniqueGroups(const T *x, const AxisView &v,
                                               bool sorted) {
  // Slice j's elements in (outer, inner) row-major order, compared
  // lexicographically, as NumPy's unique along an axis compares them.
  auto at = [&](int64_t j, int64_t k) {
    return orderKey(
        x[(k / v.inner) * v.n * v.inner + j * v.inner + k % v.inner]);
  };
  const int64_t length = v.outer * v.inner;
  auto compare = [&](int64_t a, int64_t b) {
    for (int64_t k = 0; k < length; ++k) {
      auto p = at(a, k), q = at(b, k);
      if (keyLess(p, q))
        return -1;
      if (keyLess(q, p))
        return 1;
    }
    return 0;
  };
  std::vector<int64_t> order(size_t(v.n));
  std::iota(order.begin(), order.end(), 0);
  // Equal slices by position: each group starts with its first occurrence.
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    int c = compare(a, b);
    return c < 0 || (c == 0 && a < b);
  });
  std::vector<std::vector<int64_t>> groups;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || compare(order[i - 1], order[i]) != 0)
      groups.emplace_back();
    groups.back().push_back(order[i]);
  }
  if (!sorted)
    std::sort(groups.begin(), groups.end(),
              [](const auto &a, const auto &b) { return a[0] < b[0]; });
  return groups;
}

azr_status_t uniqueKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "unique", 1, 1, 5));
  const Tensor &in = context.input(0), &y = context.output(0);
  const Tensor &indices = context.output(1), &inverse = context.output(2);
  const Tensor &counts = context.output(3);
  AxisView view;
  int64_t bound = 0;
  if (!view.init(in, *context.attrs))
    return AZR_INVALID("unique: axis %lld is outside rank %d",
                       (long long)context.attrs->getInt("axis", 0), in.rank);
  auto isIndexList = [](const Tensor &t, int64_t length) {
    return t.dtype == DType::i64 && t.rank == 1 && t.dims[0] == length;
  };
  if (y.dtype != in.dtype || !view.fitsResult(in, y, bound) ||
      !isIndexList(indices, bound) || !isIndexList(counts, bound) ||
      !isIndexList(inverse, view.n))
    return AZR_INVALID("unique: input %s and results %s, %s, %s, %s disagree",
                       shapeString(in).c_str(), shapeString(y).c_str(),
                       shapeString(indices).c_str(),
                       shapeString(inverse).c_str(),
                       shapeString(counts).c_str());
  const bool sorted = context.attrs->getInt("sorted", 1) != 0;
  std::vector<std::vector<int64_t>> groups;
  AZR_RETURN_IF_ERROR(dispatchAll(in.dtype, "unique", [&](auto tag) {
    groups = uniqueGroups(in.as<decltype(tag)>(), view, sorted);
    return azr_status_t(nullptr);
  }));
  const int64_t count = int64_t(groups.size());
  if (count > bound)
    return AZR_INVALID("unique: %lld unique slices, room for %lld",
                       (long long)count, (long long)bound);
  const size_t slice = size_t(view.inner) * dtypeSize(in.dtype);
  const uint8_t *src = in.as<uint8_t>();
  uint8_t *dst = y.as<uint8_t>();
  for (int64_t u = 0; u < count; ++u) {
    const int64_t first = groups[u][0];
    indices.as<int64_t>()[u] = first;
    counts.as<int64_t>()[u] = int64_t(groups[u].size());
    for (int64_t j : groups[u])
      inverse.as<int64_t>()[j] = u;
    for (int64_t o = 0; o < view.outer; ++o)
      std::memcpy(dst + (o * count + u) * slice,
                  src + (o * view.n + first) * slice, slice);
  }
  return writeExtent("unique", context.output(4), count);
}

} // namespace

void addSelectionKernels(KernelTable &table) {
  table.push_back({"nonzero", guarded<nonZeroKernel>});
  table.push_back({"compress", guarded<compressKernel>});
  table.push_back({"unique", guarded<uniqueKernel>});
}

} // namespace azr::cpu
