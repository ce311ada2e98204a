//===- index_ops.cc - trilu, gather_elements, cumulative and pad kernels --===//
//
// ONNX semantics, with the operands ONNX passes as tensors (trilu's k,
// cumsum's and cumprod's axis, pad's pads and constant value) given as
// attributes.
// trilu, gather_elements and pad move elements as bytes, so they work for
// every dtype.
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <limits>
#include <type_traits>

namespace azr::cpu {
namespace {

void denseStrides(const Tensor &t, int64_t *strides) {
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= t.dims[d];
  }
}

bool sameShape(const Tensor &a, const Tensor &b) {
  return a.dtype == b.dtype && a.rank == b.rank &&
         std::equal(a.dims, a.dims + a.rank, b.dims);
}

/// An unsigned integer type of `Size` bytes, to move elements as.
template <size_t Size>
using Bits = std::conditional_t<
    Size == 1, uint8_t,
    std::conditional_t<Size == 2, uint16_t,
                       std::conditional_t<Size == 4, uint32_t, uint64_t>>>;

/// Calls f(Bits<N>()) for the element size of `type`.
template <class F> void dispatchSize(DType type, F &&f) {
  switch (dtypeSize(type)) {
  case 1:
    return f(uint8_t());
  case 2:
    return f(uint16_t());
  case 4:
    return f(uint32_t());
  default:
    return f(uint64_t());
  }
}

//===----------------------------------------------------------------------===//
// trilu
//===----------------------------------------------------------------------===//

azr_status_t triluKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "trilu", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.rank < 2 || !sameShape(in, out))
    return AZR_INVALID("trilu: %s -> %s, expected equal shapes of rank >= 2",
                       shapeString(in).c_str(), shapeString(out).c_str());
  const bool upper = context.attrs->getInt("upper", 1) != 0;
  const int64_t rows = in.dims[in.rank - 2], cols = in.dims[in.rank - 1];
  // Beyond +-(rows + cols) every k keeps all or nothing; clamping avoids
  // overflow in i + k.
  const int64_t k = std::clamp<int64_t>(context.attrs->getInt("k", 0),
                                        -(rows + cols), rows + cols);
  const size_t elem = dtypeSize(in.dtype);
  const int64_t rowBytes = cols * int64_t(elem);
  if (rowBytes == 0)
    return nullptr;
  const char *src = static_cast<const char *>(in.data);
  char *dst = static_cast<char *>(out.data);
  context.pool->parallelFor(
      in.numel() / cols, std::max<int64_t>(1, 65536 / rowBytes),
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t i = r % rows;
          // upper keeps j - i >= k, lower keeps j - i <= k.
          const int64_t first = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
          const int64_t last =
              upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
          char *row = dst + r * rowBytes;
          const char *from = src + r * rowBytes;
          if (last > first)
            std::memmove(row + first * int64_t(elem),
                         from + first * int64_t(elem),
                         size_t(last - first) * elem);
          std::memset(row, 0, size_t(first) * elem);
          std::memset(row + last * int64_t(elem), 0,
                      size_t(cols - last) * elem);
        }
      });
  return nullptr;
}

//===----------------------------------------------------------------------===//
// gather_elements
//===----------------------------------------------------------------------===//

int64_t indexAt(const Tensor &t, int64_t i) {
  return t.dtype == DType::i32 ? int64_t(t.as<const int32_t>()[i])
                               : t.as<const int64_t>()[i];
}

azr_status_t gatherElementsKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "gather_elements", 2, 2, 1));
  const Tensor &data = context.input(0), &indices = context.input(1);
  const Tensor &out = context.output(0);
  if (indices.dtype != DType::i32 && indices.dtype != DType::i64)
    return AZR_INVALID("gather_elements: indices have dtype %s, expected i32 "
                       "or i64",
                       dtypeName(indices.dtype));
  int64_t axis = context.attrs->getInt("axis", 0);
  if (!normalizeAxis(axis, data.rank))
    return AZR_INVALID("gather_elements: axis %lld is out of range for %s",
                       (long long)context.attrs->getInt("axis", 0),
                       shapeString(data).c_str());
  bool ok = indices.rank == data.rank && out.dtype == data.dtype &&
            out.rank == indices.rank &&
            std::equal(out.dims, out.dims + out.rank, indices.dims);
  for (int d = 0; ok && d < data.rank; ++d)
    ok = d == axis || indices.dims[d] <= data.dims[d];
  if (!ok)
    return AZR_INVALID("gather_elements: data %s, indices %s and result %s "
                       "do not fit",
                       shapeString(data).c_str(), shapeString(indices).c_str(),
                       shapeString(out).c_str());
  const int64_t dim = data.dims[axis], n = indices.numel();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = indexAt(indices, i);
    if (index < -dim || index >= dim)
      return AZR_INVALID("gather_elements: index %lld (element %lld of "
                         "indices) is out of range [%lld, %lld) for axis "
                         "%lld of %s",
                         (long long)index, (long long)i, (long long)-dim,
                         (long long)dim, (long long)axis,
                         shapeString(data).c_str());
  }
  if (n == 0)
    return nullptr;
  int64_t strides[kMaxRank];
  denseStrides(data, strides);
  const int last = out.rank - 1;
  const int64_t cols = out.dims[last];
  dispatchSize(data.dtype, [&](auto tag) {
    using E = decltype(tag);
    const E *src = data.as<const E>();
    E *dst = out.as<E>();
    context.pool->parallelFor(n / cols, std::max<int64_t>(1, 16384 / cols),
                              [&](int64_t begin, int64_t end) {
                                for (int64_t r = begin; r < end; ++r) {
                                  // The data offset of the row's coordinates,
                                  // less the axis.
                                  int64_t base = 0, rest = r;
                                  for (int d = last - 1; d >= 0; --d) {
                                    if (d != axis)
                                      base += (rest % out.dims[d]) * strides[d];
                                    rest /= out.dims[d];
                                  }
                                  for (int64_t j = 0; j < cols; ++j) {
                                    int64_t index =
                                        indexAt(indices, r * cols + j);
                                    index += index < 0 ? dim : 0;
                                    const int64_t at =
                                        base + index * strides[axis] +
                                        (last == axis ? 0 : j * strides[last]);
                                    dst[r * cols + j] = src[at];
                                  }
                                }
                              });
  });
  return nullptr;
}

//===----------------------------------------------------------------------===//
// cumsum
//===----------------------------------------------------------------------===//

// cumsum and cumprod: a running sum or product along `axis`. Floats
// accumulate in double; integers wrap, computed unsigned.
template <bool Product>
azr_status_t cumulativeKernel(const KernelContext &context) {
  constexpr const char *op = Product ? "cumprod" : "cumsum";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (!sameShape(in, out))
    return AZR_INVALID("%s: result %s does not match %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  const Attrs &attrs = *context.attrs;
  int64_t axis = attrs.getInt("axis", 0);
  if (!attrs.has("axis") || !normalizeAxis(axis, in.rank))
    return AZR_INVALID("%s: axis %lld is missing or out of range for %s", op,
                       (long long)attrs.getInt("axis", 0),
                       shapeString(in).c_str());
  const bool exclusive = attrs.getInt("exclusive", 0) != 0;
  const bool reverse = attrs.getInt("reverse", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < in.rank; ++d)
    (d < axis ? outer : inner) *= d == axis ? 1 : in.dims[d];
  const int64_t n = in.dims[axis];
  return dispatchArith(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;
    const Acc identity = Product ? Acc(1) : Acc(0);
    // Signed integers widen by sign extension, so that the low bits of the
    // unsigned product are those of the signed one.
    auto widen = [](T v) {
      if constexpr (std::is_integral_v<T>)
        return Acc(int64_t(v));
      else
        return Acc(v);
    };
    auto combine = [](Acc a, Acc b) { return Product ? a * b : a + b; };
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    forEachLaneBlock(*context.pool, outer, n, inner,
                     [&](int64_t first, int64_t lanes, int64_t) {
                       Acc acc[kLanes];
                       std::fill(acc, acc + lanes, identity);
                       for (int64_t step = 0; step < n; ++step) {
                         const int64_t k = reverse ? n - 1 - step : step;
                         const int64_t at = first + k * inner;
                         for (int64_t i = 0; i < lanes; ++i) {
                           const T v = x[at + i]; // read first: y may alias x
                           if (exclusive) {
                             y[at + i] = T(acc[i]);
                             acc[i] = combine(acc[i], widen(v));
                           } else {
                             acc[i] = combine(acc[i], widen(v));
                             y[at + i] = T(acc[i]);
                           }
                         }
                       }
                     });
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// pad
//===----------------------------------------------------------------------===//

// The constant `value` as a T, if T holds it: integers need an integral
// value in range.
template <class T> bool constantAs(double value, T &result) {
  if constexpr (std::is_floating_point_v<T>) {
    result = T(value);
    return true;
  } else {
    constexpr int digits = std::numeric_limits<T>::digits;
    const double limit = std::ldexp(1.0, digits); // 2^digits, exact
    const double lowest = std::is_signed_v<T> ? -limit : 0.0;
    if (!(value >= lowest && value < limit) || std::trunc(value) != value)
      return false;
    result = T(value);
    return true;
  }
}

azr_status_t constantBits(DType type, double value, uint64_t &bits) {
  bool ok = true;
  auto store = [&](auto v) {
    ok = constantAs(value, v);
    std::memcpy(&bits, &v, sizeof v);
  };
  bits = 0;
  switch (type) {
  case DType::f16:
    bits = floatToHalf(doubleToFloatRoundToOdd(value));
    break;
  case DType::bf16:
    bits = floatToBf16(doubleToFloatRoundToOdd(value));
    break;
  case DType::i1:
    ok = value == 0 || value == 1;
    bits = value == 1;
    break;
  default:
    dispatchArith(type, "pad", [&](auto tag) -> azr_status_t {
      store(tag);
      return nullptr;
    });
  }
  if (!ok)
    return AZR_INVALID("pad: the constant %g is not a %s value", value,
                       dtypeName(type));
  return nullptr;
}

azr_status_t padKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "pad", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  const Attrs &attrs = *context.attrs;
  const std::vector<int64_t> pads = attrs.getInts("pads");
  const std::string mode = attrs.getString("mode", "constant");
  const int rank = in.rank;
  if (out.dtype != in.dtype || out.rank != rank ||
      pads.size() != size_t(2 * rank))
    return AZR_INVALID("pad: %zu pads for %s -> %s", pads.size(),
                       shapeString(in).c_str(), shapeString(out).c_str());
  const bool constant = mode == "constant", edge = mode == "edge";
  const bool wrap = mode == "wrap";
  if (!constant && !edge && !wrap && mode != "reflect")
    return AZR_INVALID("pad: unknown mode '%s'", mode.c_str());
  uint64_t fill = 0;
  if (constant)
    AZR_RETURN_IF_ERROR(
        constantBits(in.dtype, attrs.getFloat("value", 0.0), fill));
  // Negative pads crop first (ONNX slices, then pads), so each dim reads the
  // window [lo, lo + size) of the input; map[d][i] is the input index for
  // output index i, or -1 for the constant.
  std::vector<int64_t> map[kMaxRank];
  for (int d = 0; d < rank; ++d) {
    const int64_t begin = pads[size_t(d)], end = pads[size_t(rank + d)];
    const int64_t n = in.dims[d];
    // Checked in steps: no crop may exceed the dim, nothing may overflow.
    const bool cropsFit = begin >= -n && end >= -n;
    const int64_t lo = cropsFit && begin < 0 ? -begin : 0;
    const int64_t hi = cropsFit && end < 0 ? -end : 0;
    int64_t expected = 0;
    if (!cropsFit || hi > n - lo ||
        __builtin_add_overflow(n, begin, &expected) ||
        __builtin_add_overflow(expected, end, &expected) ||
        expected != out.dims[d])
      return AZR_INVALID("pad: pads %lld, %lld on dim %d of %s do not give %s",
                         (long long)begin, (long long)end, d,
                         shapeString(in).c_str(), shapeString(out).c_str());
    const int64_t size = n - lo - hi, front = begin > 0 ? begin : 0;
    if (!constant && size == 0 && out.dims[d] > 0)
      return AZR_INVALID("pad: %s mode cannot pad dim %d, empty after "
                         "cropping",
                         mode.c_str(), d);
    map[d].resize(size_t(out.dims[d]));
    for (int64_t i = 0; i < out.dims[d]; ++i) {
      int64_t t = i - front;
      if (t < 0 || t >= size) {
        if (constant) {
          map[d][size_t(i)] = -1;
          continue;
        }
        if (edge) {
          t = std::clamp<int64_t>(t, 0, size - 1);
        } else if (wrap) {
          t %= size;
          t += t < 0 ? size : 0;
        } else if (size == 1) {
          t = 0;
        } else { // reflect without repeating the edge: period 2 * (size - 1)
          const int64_t period = 2 * (size - 1);
          t %= period;
          t += t < 0 ? period : 0;
          t = t < size ? t : period - t;
        }
      }
      map[d][size_t(i)] = lo + t;
    }
  }
  const int64_t total = out.numel();
  if (total == 0)
    return nullptr;
  if (rank == 0) {
    std::memcpy(out.data, in.data, dtypeSize(in.dtype));
    return nullptr;
  }
  int64_t strides[kMaxRank];
  denseStrides(in, strides);
  const int64_t cols = out.dims[rank - 1];
  const int64_t *inner = map[rank - 1].data();
  dispatchSize(in.dtype, [&](auto tag) {
    using E = decltype(tag);
    E value;
    std::memcpy(&value, &fill, sizeof value);
    const E *src = in.as<const E>();
    E *dst = out.as<E>();
    context.pool->parallelFor(
        total / cols, std::max<int64_t>(1, 16384 / cols),
        [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            E *row = dst + r * cols;
            int64_t base = 0, rest = r;
            bool isConstant = false;
            for (int d = rank - 2; d >= 0; --d) {
              const int64_t from = map[d][size_t(rest % out.dims[d])];
              rest /= out.dims[d];
              isConstant = isConstant || from < 0;
              base += from * strides[d];
            }
            if (isConstant) {
              std::fill(row, row + cols, value);
              continue;
            }
            for (int64_t j = 0; j < cols; ++j)
              row[j] = inner[j] < 0 ? value : src[base + inner[j]];
          }
        });
  });
  return nullptr;
}

} // namespace

void addIndexKernels(KernelTable &table) {
  table.insert(table.end(), {{"trilu", guarded<triluKernel>},
                             {"gather_elements", guarded<gatherElementsKernel>},
                             {"cumsum", guarded<cumulativeKernel<false>>},
                             {"cumprod", guarded<cumulativeKernel<true>>},
                             {"pad", guarded<padKernel>}});
}

} // namespace azr::cpu
