//===- elementwise.cc - binary, unary, clip and where kernels -------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <limits>
#include <type_traits>

namespace azr::cpu {
namespace {

// Signed integer overflow is undefined in C++; the kernels wrap instead, by
// computing in the unsigned type.
template <class T> using Wide = std::make_unsigned_t<T>;
template <class T> constexpr bool isInt = std::is_integral_v<T>;

template <class T> T wrapAdd(T a, T b) {
  if constexpr (isInt<T>)
    return T(Wide<T>(a) + Wide<T>(b));
  else
    return a + b;
}
template <class T> T wrapSub(T a, T b) {
  if constexpr (isInt<T>)
    return T(Wide<T>(a) - Wide<T>(b));
  else
    return a - b;
}
template <class T> T wrapMul(T a, T b) {
  if constexpr (isInt<T>)
    return T(Wide<T>(a) * Wide<T>(b));
  else
    return a * b;
}
template <class T> T wrapNeg(T a) {
  if constexpr (isInt<T>)
    return T(Wide<T>(0) - Wide<T>(a));
  else
    return -a;
}

template <class T> T divide(T a, T b) {
  if constexpr (isInt<T> && std::is_signed_v<T>)
    return b == T(-1) ? wrapNeg(a) : T(a / b); // INT_MIN / -1 overflows
  else
    return T(a / b);
}

template <class T> T power(T base, T exponent) {
  if constexpr (!isInt<T>) {
    return std::pow(base, exponent);
  } else {
    if constexpr (std::is_signed_v<T>)
      if (exponent < 0) // only |base| == 1 has an integral reciprocal
        return base == 1       ? T(1)
               : base == T(-1) ? T(exponent & 1 ? -1 : 1)
                               : T(0);
    T result = 1;
    for (auto e = Wide<T>(exponent); e; e >>= 1) {
      if (e & 1)
        result = wrapMul(result, base);
      base = wrapMul(base, base);
    }
    return result;
  }
}

template <class T> T maximum(T a, T b) {
  if constexpr (!isInt<T>)
    if (std::isnan(a) || std::isnan(b))
      return std::numeric_limits<T>::quiet_NaN();
  return a < b ? b : a;
}
template <class T> T minimum(T a, T b) {
  if constexpr (!isInt<T>)
    if (std::isnan(a) || std::isnan(b))
      return std::numeric_limits<T>::quiet_NaN();
  return b < a ? b : a;
}

enum class BinOp {
  add,
  sub,
  mul,
  div,
  pow,
  max,
  min,
  eq,
  lt,
  le,
  gt,
  ge,
  logicalAnd,
  logicalOr
};

template <BinOp Op, class T> auto apply(T a, T b) {
  if constexpr (Op == BinOp::add)
    return wrapAdd(a, b);
  else if constexpr (Op == BinOp::sub)
    return wrapSub(a, b);
  else if constexpr (Op == BinOp::mul)
    return wrapMul(a, b);
  else if constexpr (Op == BinOp::div)
    return divide(a, b);
  else if constexpr (Op == BinOp::pow)
    return power(a, b);
  else if constexpr (Op == BinOp::max)
    return maximum(a, b);
  else if constexpr (Op == BinOp::min)
    return minimum(a, b);
  else if constexpr (Op == BinOp::eq)
    return uint8_t(a == b);
  else if constexpr (Op == BinOp::lt)
    return uint8_t(a < b);
  else if constexpr (Op == BinOp::le)
    return uint8_t(a <= b);
  else if constexpr (Op == BinOp::gt)
    return uint8_t(a > b);
  else if constexpr (Op == BinOp::ge)
    return uint8_t(a >= b);
  else if constexpr (Op == BinOp::logicalAnd)
    return uint8_t(a != 0 && b != 0);
  else
    return uint8_t(a != 0 || b != 0);
}

template <BinOp Op, class T>
void runBinary(const BroadcastPlan &plan, ThreadPool &pool, const T *lhs,
               const T *rhs, void *result) {
  using Out = decltype(apply<Op>(T(), T()));
  Out *out = static_cast<Out *>(result);
  plan.forEachRow(pool, [&](int64_t o, const int64_t *offsets,
                            const int64_t *strides, int64_t n) {
    const T *__restrict a = lhs + offsets[0];
    const T *__restrict b = rhs + offsets[1];
    Out *__restrict z = out + o;
    // Separate loops per stride pattern so each one vectorizes.
    if (strides[0] == 1 && strides[1] == 1) {
      for (int64_t i = 0; i < n; ++i)
        z[i] = apply<Op>(a[i], b[i]);
    } else if (strides[0] == 1 && strides[1] == 0) {
      const T y = b[0];
      for (int64_t i = 0; i < n; ++i)
        z[i] = apply<Op>(a[i], y);
    } else if (strides[0] == 0 && strides[1] == 1) {
      const T x = a[0];
      for (int64_t i = 0; i < n; ++i)
        z[i] = apply<Op>(x, b[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        z[i] = apply<Op>(a[i * strides[0]], b[i * strides[1]]);
    }
  });
}

/// f16 operands: each element computed in float, then rounded back to
/// half (comparisons store their bool directly).
template <BinOp Op>
void runBinaryHalf(const BroadcastPlan &plan, ThreadPool &pool,
                   const uint16_t *lhs, const uint16_t *rhs, void *result) {
  plan.forEachRow(pool, [&](int64_t o, const int64_t *offsets,
                            const int64_t *strides, int64_t n) {
    const uint16_t *a = lhs + offsets[0];
    const uint16_t *b = rhs + offsets[1];
    for (int64_t i = 0; i < n; ++i) {
      const auto r = apply<Op>(halfToFloat(a[i * strides[0]]),
                               halfToFloat(b[i * strides[1]]));
      if constexpr (std::is_same_v<std::decay_t<decltype(r)>, uint8_t>)
        static_cast<uint8_t *>(result)[o + i] = r;
      else
        static_cast<uint16_t *>(result)[o + i] = floatToHalf(r);
    }
  });
}

constexpr bool isCompare(BinOp op) {
  return op == BinOp::eq || op == BinOp::lt || op == BinOp::le ||
         op == BinOp::gt || op == BinOp::ge;
}

template <BinOp Op> azr_status_t binaryKernel(const KernelContext &context) {
  static const char *const names[] = {
      "add",   "sub",  "mul",        "div",     "pow",           "max", "min",
      "equal", "less", "less_equal", "greater", "greater_equal", "and", "or"};
  const char *op = names[int(Op)];
  constexpr bool boolResult =
      isCompare(Op) || Op == BinOp::logicalAnd || Op == BinOp::logicalOr;
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(planBinary(op, context, boolResult, plan));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  ThreadPool &pool = *context.pool;
  if constexpr (Op == BinOp::logicalAnd || Op == BinOp::logicalOr) {
    if (lhs.dtype != DType::i1)
      return unsupportedDtype(op, lhs.dtype);
    runBinary<Op>(plan, pool, lhs.as<const uint8_t>(), rhs.as<const uint8_t>(),
                  out.data);
    return nullptr;
  } else {
    if (lhs.dtype == DType::f16) {
      runBinaryHalf<Op>(plan, pool, lhs.as<const uint16_t>(),
                        rhs.as<const uint16_t>(), out.data);
      return nullptr;
    }
    if (isCompare(Op) && lhs.dtype == DType::i1) {
      runBinary<Op>(plan, pool, lhs.as<const uint8_t>(),
                    rhs.as<const uint8_t>(), out.data);
      return nullptr;
    }
    return dispatchArith(lhs.dtype, op, [&](auto tag) -> azr_status_t {
      using T = decltype(tag);
      if constexpr (Op == BinOp::div && isInt<T>) {
        const T *divisor = rhs.as<const T>();
        for (int64_t i = 0, n = rhs.numel(); i < n; ++i)
          if (divisor[i] == 0)
            return AZR_INVALID("div: integer division by zero (divisor "
                               "element %lld)",
                               (long long)i);
      }
      runBinary<Op>(plan, pool, lhs.as<const T>(), rhs.as<const T>(), out.data);
      return nullptr;
    });
  }
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

enum class UnOp {
  neg,
  abs,
  relu,
  exp,
  log,
  sqrt,
  reciprocal,
  erf,
  tanh,
  sigmoid,
  silu,
  floor,
  ceil,
  gelu,
  geluTanh
};
constexpr bool floatOnly(UnOp op) {
  return op != UnOp::neg && op != UnOp::abs && op != UnOp::relu;
}

template <UnOp Op, class T> T apply(T x) {
  if constexpr (Op == UnOp::neg)
    return wrapNeg(x);
  else if constexpr (Op == UnOp::abs) {
    if constexpr (std::is_unsigned_v<T>)
      return x;
    else
      return x < 0 ? wrapNeg(x) : x;
  } else if constexpr (Op == UnOp::relu)
    return x > T(0) ? x : T(0);
  else if constexpr (Op == UnOp::exp)
    return std::exp(x);
  else if constexpr (Op == UnOp::log)
    return std::log(x);
  else if constexpr (Op == UnOp::sqrt)
    return std::sqrt(x);
  else if constexpr (Op == UnOp::reciprocal)
    return T(1) / x;
  else if constexpr (Op == UnOp::erf)
    return std::erf(x);
  else if constexpr (Op == UnOp::tanh)
    return std::tanh(x);
  else if constexpr (Op == UnOp::sigmoid)
    return T(1) / (T(1) + std::exp(-x));
  else if constexpr (Op == UnOp::silu)
    return x / (T(1) + std::exp(-x));
  else if constexpr (Op == UnOp::floor)
    return std::floor(x);
  else if constexpr (Op == UnOp::ceil)
    return std::ceil(x);
  else if constexpr (Op == UnOp::gelu)
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752)));
  else
    return T(0.5) * x *
           (T(1) +
            std::tanh(T(0.79788456080286536) * (x + T(0.044715) * x * x * x)));
}

// Same-shape operands: plain loops split into contiguous chunks.
template <class F>
void parallelElements(ThreadPool &pool, int64_t n, F &&body) {
  pool.parallelFor(n, 16384,
                   [&](int64_t begin, int64_t end) { body(begin, end); });
}

azr_status_t checkSameShape(const char *op, const Tensor &in,
                            const Tensor &out) {
  if (in.dtype != out.dtype || in.numel() != out.numel())
    return AZR_INVALID("%s: result %s does not match operand %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  return nullptr;
}

template <UnOp Op> azr_status_t unaryKernel(const KernelContext &context) {
  static const char *const names[] = {
      "neg",  "abs",     "relu", "exp",   "log",  "sqrt", "reciprocal", "erf",
      "tanh", "sigmoid", "silu", "floor", "ceil", "gelu", "gelu"};
  const char *op = names[int(Op)];
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape(op, in, out));
  auto run = [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    parallelElements(*context.pool, in.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        y[i] = apply<Op>(x[i]);
    });
    return nullptr;
  };
  if constexpr (floatOnly(Op))
    return dispatchFloat(in.dtype, op, run);
  else
    return dispatchArith(in.dtype, op, run);
}

azr_status_t geluKernel(const KernelContext &context) {
  if (context.attrs->has("tanh_approximation"))
    return unaryKernel<UnOp::geluTanh>(context);
  return unaryKernel<UnOp::gelu>(context);
}

azr_status_t notKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "not", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape("not", in, out));
  if (in.dtype != DType::i1)
    return unsupportedDtype("not", in.dtype);
  const uint8_t *x = in.as<const uint8_t>();
  uint8_t *y = out.as<uint8_t>();
  parallelElements(*context.pool, in.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      y[i] = x[i] == 0;
  });
  return nullptr;
}

// A double bound as a T bound: integers round inward and saturate.
template <class T> T toBound(double bound, bool isMin) {
  if constexpr (!isInt<T>) {
    return T(bound);
  } else {
    const double rounded = isMin ? std::ceil(bound) : std::floor(bound);
    if (!(rounded > double(std::numeric_limits<T>::lowest())))
      return std::numeric_limits<T>::lowest();
    if (!(rounded < double(std::numeric_limits<T>::max())))
      return std::numeric_limits<T>::max();
    return T(rounded);
  }
}

azr_status_t clipKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "clip", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape("clip", in, out));
  const Attrs &attrs = *context.attrs;
  const bool hasMin = attrs.has("min"), hasMax = attrs.has("max");
  return dispatchArith(in.dtype, "clip", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T lo = hasMin ? toBound<T>(attrs.getFloat("min", 0), true)
                        : std::numeric_limits<T>::lowest();
    const T hi = hasMax ? toBound<T>(attrs.getFloat("max", 0), false)
                        : std::numeric_limits<T>::max();
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    parallelElements(*context.pool, in.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v; // NaN compares false and passes through
      }
    });
    return nullptr;
  });
}

template <class T>
void selectRows(const BroadcastPlan &plan, ThreadPool &pool,
                const uint8_t *cond, const void *onTrue, const void *onFalse,
                void *result) {
  const T *t = static_cast<const T *>(onTrue);
  const T *f = static_cast<const T *>(onFalse);
  T *out = static_cast<T *>(result);
  plan.forEachRow(pool, [&](int64_t o, const int64_t *offsets,
                            const int64_t *strides, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      out[o + i] = cond[offsets[0] + i * strides[0]]
                       ? t[offsets[1] + i * strides[1]]
                       : f[offsets[2] + i * strides[2]];
  });
}

azr_status_t whereKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "where", 3, 3, 1));
  const Tensor &cond = context.input(0), &onTrue = context.input(1),
               &onFalse = context.input(2), &out = context.output(0);
  if (cond.dtype != DType::i1 || onTrue.dtype != out.dtype ||
      onFalse.dtype != out.dtype)
    return AZR_INVALID("where: dtypes %s, %s, %s -> %s do not fit",
                       dtypeName(cond.dtype), dtypeName(onTrue.dtype),
                       dtypeName(onFalse.dtype), dtypeName(out.dtype));
  const Tensor *inputs[] = {&cond, &onTrue, &onFalse};
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(plan.init("where", out, inputs, 3));
  const uint8_t *c = cond.as<const uint8_t>();
  switch (dtypeSize(out.dtype)) {
  case 1:
    selectRows<uint8_t>(plan, *context.pool, c, onTrue.data, onFalse.data,
                        out.data);
    break;
  case 2:
    selectRows<uint16_t>(plan, *context.pool, c, onTrue.data, onFalse.data,
                         out.data);
    break;
  case 4:
    selectRows<uint32_t>(plan, *context.pool, c, onTrue.data, onFalse.data,
                         out.data);
    break;
  default:
    selectRows<uint64_t>(plan, *context.pool, c, onTrue.data, onFalse.data,
                         out.data);
    break;
  }
  return nullptr;
}

} // namespace

void addElementwiseKernels(KernelTable &table) {
  table.insert(table.end(),
               {{"add", guarded<binaryKernel<BinOp::add>>},
                {"sub", guarded<binaryKernel<BinOp::sub>>},
                {"mul", guarded<binaryKernel<BinOp::mul>>},
                {"div", guarded<binaryKernel<BinOp::div>>},
                {"pow", guarded<binaryKernel<BinOp::pow>>},
                {"max", guarded<binaryKernel<BinOp::max>>},
                {"min", guarded<binaryKernel<BinOp::min>>},
                {"equal", guarded<binaryKernel<BinOp::eq>>},
                {"less", guarded<binaryKernel<BinOp::lt>>},
                {"less_equal", guarded<binaryKernel<BinOp::le>>},
                {"greater", guarded<binaryKernel<BinOp::gt>>},
                {"greater_equal", guarded<binaryKernel<BinOp::ge>>},
                {"and", guarded<binaryKernel<BinOp::logicalAnd>>},
                {"or", guarded<binaryKernel<BinOp::logicalOr>>},
                {"neg", guarded<unaryKernel<UnOp::neg>>},
                {"abs", guarded<unaryKernel<UnOp::abs>>},
                {"relu", guarded<unaryKernel<UnOp::relu>>},
                {"exp", guarded<unaryKernel<UnOp::exp>>},
                {"log", guarded<unaryKernel<UnOp::log>>},
                {"sqrt", guarded<unaryKernel<UnOp::sqrt>>},
                {"reciprocal", guarded<unaryKernel<UnOp::reciprocal>>},
                {"erf", guarded<unaryKernel<UnOp::erf>>},
                {"tanh", guarded<unaryKernel<UnOp::tanh>>},
                {"sigmoid", guarded<unaryKernel<UnOp::sigmoid>>},
                {"silu", guarded<unaryKernel<UnOp::silu>>},
                {"floor", guarded<unaryKernel<UnOp::floor>>},
                {"ceil", guarded<unaryKernel<UnOp::ceil>>},
                {"gelu", guarded<geluKernel>},
                {"not", guarded<notKernel>},
                {"clip", guarded<clipKernel>},
                {"where", guarded<whereKernel>}});
}

} // namespace azr::cpu
