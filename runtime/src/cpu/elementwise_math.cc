//===- elementwise_math.cc - math, activation, sign, mod, xor kernels -----===//
//
// ONNX semantics: trigonometric and hyperbolic functions, the parameterized
// activations (attribute names and defaults as in ONNX), sign, isnan, isinf,
// prelu, mod and xor.
//
//===----------------------------------------------------------------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <limits>
#include <type_traits>

namespace azr::cpu {
namespace {

enum class MathOp {
  acos,
  asin,
  atan,
  cos,
  sin,
  tan,
  cosh,
  sinh,
  acosh,
  asinh,
  atanh,
  softplus,
  softsign,
  hardSwish,
  round,
  leakyRelu,
  elu,
  selu,
  hardSigmoid,
  thresholdedRelu,
  celu
};

const char *const kMathNames[] = {
    "acos",       "asin",     "atan",     "cos",          "sin",
    "tan",        "cosh",     "sinh",     "acosh",        "asinh",
    "atanh",      "softplus", "softsign", "hard_swish",   "round",
    "leaky_relu", "elu",      "selu",     "hard_sigmoid", "thresholded_relu",
    "celu"};

/// The float attributes of the parameterized activations, as T.
template <class T> struct Params {
  T alpha = 0, beta = 0, gamma = 0;
};

// Clamps into [0, 1]; NaN passes through (std::min/max would drop it).
template <class T> T clamp01(T v) {
  return v < T(0) ? T(0) : v > T(1) ? T(1) : v;
}

template <MathOp Op, class T> T apply(T x, const Params<T> &p) {
  if constexpr (Op == MathOp::acos)
    return std::acos(x);
  else if constexpr (Op == MathOp::asin)
    return std::asin(x);
  else if constexpr (Op == MathOp::atan)
    return std::atan(x);
  else if constexpr (Op == MathOp::cos)
    return std::cos(x);
  else if constexpr (Op == MathOp::sin)
    return std::sin(x);
  else if constexpr (Op == MathOp::tan)
    return std::tan(x);
  else if constexpr (Op == MathOp::cosh)
    return std::cosh(x);
  else if constexpr (Op == MathOp::sinh)
    return std::sinh(x);
  else if constexpr (Op == MathOp::acosh)
    return std::acosh(x);
  else if constexpr (Op == MathOp::asinh)
    return std::asinh(x);
  else if constexpr (Op == MathOp::atanh)
    return std::atanh(x);
  else if constexpr (Op == MathOp::softplus)
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): e^-|x| <= 1 never overflows.
    return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  else if constexpr (Op == MathOp::softsign)
    // x / (1 + |x|) would be inf / inf = NaN at the infinities.
    return std::isinf(x) ? std::copysign(T(1), x) : x / (T(1) + std::fabs(x));
  else if constexpr (Op == MathOp::hardSwish)
    return x * clamp01(x / T(6) + T(0.5));
  else if constexpr (Op == MathOp::round)
    return std::nearbyint(x); // the default mode rounds half to even
  else if constexpr (Op == MathOp::leakyRelu)
    return x < T(0) ? p.alpha * x : x;
  else if constexpr (Op == MathOp::elu)
    return x < T(0) ? p.alpha * std::expm1(x) : x;
  else if constexpr (Op == MathOp::selu)
    return x <= T(0) ? p.gamma * (p.alpha * std::expm1(x)) : p.gamma * x;
  else if constexpr (Op == MathOp::hardSigmoid)
    return clamp01(p.alpha * x + p.beta);
  else if constexpr (Op == MathOp::thresholdedRelu)
    return x > p.alpha ? x : T(0);
  else
    // max(0, x) + min(0, alpha * (e^(x/alpha) - 1)); NaN stays NaN.
    return x > T(0) ? x : x <= T(0) ? p.alpha * std::expm1(x / p.alpha) : x;
}

// Same-shape operands: plain loops split into contiguous chunks.
template <class F>
void parallelElements(ThreadPool &pool, int64_t n, F &&body) {
  pool.parallelFor(n, 16384,
                   [&](int64_t begin, int64_t end) { body(begin, end); });
}

azr_status_t checkSameShape(const char *op, const Tensor &in, const Tensor &out,
                            DType outType) {
  if (out.dtype != outType || in.rank != out.rank ||
      !std::equal(in.dims, in.dims + in.rank, out.dims))
    return AZR_INVALID("%s: result %s does not match operand %s", op,
                       shapeString(out).c_str(), shapeString(in).c_str());
  return nullptr;
}

template <MathOp Op> azr_status_t mathKernel(const KernelContext &context) {
  const char *op = kMathNames[int(Op)];
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape(op, in, out, in.dtype));
  const Attrs &attrs = *context.attrs;
  double alpha = 0, beta = 0, gamma = 0;
  switch (Op) {
  case MathOp::leakyRelu:
    alpha = attrs.getFloat("alpha", 0.01);
    break;
  case MathOp::elu:
  case MathOp::thresholdedRelu:
  case MathOp::celu:
    alpha = attrs.getFloat("alpha", 1.0);
    break;
  case MathOp::selu:
    alpha = attrs.getFloat("alpha", 1.67326319217681884765625);
    gamma = attrs.getFloat("gamma", 1.05070102214813232421875);
    break;
  case MathOp::hardSigmoid:
    alpha = attrs.getFloat("alpha", 0.2);
    beta = attrs.getFloat("beta", 0.5);
    break;
  default:
    break;
  }
  if (Op == MathOp::celu && alpha == 0)
    return AZR_INVALID("celu: alpha must not be zero");
  return dispatchFloat(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const Params<T> p = {T(alpha), T(beta), T(gamma)};
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    parallelElements(*context.pool, in.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        y[i] = apply<Op>(x[i], p);
    });
    return nullptr;
  });
}

azr_status_t signKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "sign", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape("sign", in, out, in.dtype));
  return dispatchArith(in.dtype, "sign", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    parallelElements(*context.pool, in.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T v = x[i];
        // Zero and NaN fail both comparisons and map to themselves.
        if constexpr (std::is_unsigned_v<T>)
          y[i] = v > T(0) ? T(1) : T(0);
        else
          y[i] = v > T(0) ? T(1) : v < T(0) ? T(-1) : v;
      }
    });
    return nullptr;
  });
}

template <bool IsInf>
azr_status_t classifyKernel(const KernelContext &context) {
  const char *op = IsInf ? "isinf" : "isnan";
  AZR_RETURN_IF_ERROR(checkArity(context, op, 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape(op, in, out, DType::i1));
  const bool positive = context.attrs->getInt("detect_positive", 1) != 0;
  const bool negative = context.attrs->getInt("detect_negative", 1) != 0;
  return dispatchFloat(in.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    uint8_t *y = out.as<uint8_t>();
    parallelElements(*context.pool, in.numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T v = x[i];
        if constexpr (IsInf)
          y[i] = std::isinf(v) && (v > 0 ? positive : negative);
        else
          y[i] = std::isnan(v);
      }
    });
    return nullptr;
  });
}

//===----------------------------------------------------------------------===//
// Binary: prelu, mod, xor
//===----------------------------------------------------------------------===//

/// Runs `f(a, b)` over two broadcast operands into a dense result.
template <class T, class Out, class F>
void runBinary(const BroadcastPlan &plan, ThreadPool &pool, const T *lhs,
               const T *rhs, Out *out, F f) {
  plan.forEachRow(pool, [&](int64_t o, const int64_t *offsets,
                            const int64_t *strides, int64_t n) {
    const T *a = lhs + offsets[0];
    const T *b = rhs + offsets[1];
    Out *z = out + o;
    if (strides[0] == 1 && strides[1] == 1) {
      for (int64_t i = 0; i < n; ++i)
        z[i] = f(a[i], b[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        z[i] = f(a[i * strides[0]], b[i * strides[1]]);
    }
  });
}

azr_status_t preluKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "prelu", 2, 2, 1));
  const Tensor &in = context.input(0), &slope = context.input(1);
  const Tensor &out = context.output(0);
  AZR_RETURN_IF_ERROR(checkSameShape("prelu", in, out, in.dtype));
  if (slope.dtype != in.dtype)
    return AZR_INVALID("prelu: slope has dtype %s, input %s",
                       dtypeName(slope.dtype), dtypeName(in.dtype));
  const Tensor *inputs[] = {&in, &slope};
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(plan.init("prelu", out, inputs, 2));
  return dispatchFloat(in.dtype, "prelu", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    runBinary(plan, *context.pool, in.as<const T>(), slope.as<const T>(),
              out.as<T>(), [](T x, T s) { return x < T(0) ? s * x : x; });
    return nullptr;
  });
}

// The remainder of a / b with the sign of a (C) or of b (Python); b != 0
// for integers.
template <class T> T remainder(T a, T b, bool truncated) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    if (!truncated && r != T(0) && (r < T(0)) != (b < T(0)))
      r += b;
    return r;
  } else if constexpr (std::is_unsigned_v<T>) {
    return T(a % b);
  } else {
    if (b == T(-1)) // INT_MIN % -1 overflows; the remainder is 0
      return T(0);
    T r = T(a % b);
    if (!truncated && r != T(0) && (r < T(0)) != (b < T(0)))
      r = T(r + b); // |r| < |b| and opposite signs: cannot overflow
    return r;
  }
}

azr_status_t modKernel(const KernelContext &context) {
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(planBinary("mod", context, false, plan));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  const bool truncated = context.attrs->getInt("fmod", 0) != 0;
  if (lhs.dtype == DType::f16) { // in float, rounded back to half
    runBinary(plan, *context.pool, lhs.as<const uint16_t>(),
              rhs.as<const uint16_t>(), out.as<uint16_t>(),
              [truncated](uint16_t a, uint16_t b) {
                return floatToHalf(
                    remainder(halfToFloat(a), halfToFloat(b), truncated));
              });
    return nullptr;
  }
  return dispatchArith(lhs.dtype, "mod", [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    const T *divisor = rhs.as<const T>();
    if constexpr (std::is_integral_v<T>) {
      for (int64_t i = 0, n = rhs.numel(); i < n; ++i)
        if (divisor[i] == 0)
          return AZR_INVALID("mod: integer modulus by zero (divisor element "
                             "%lld)",
                             (long long)i);
    }
    runBinary(plan, *context.pool, lhs.as<const T>(), divisor, out.as<T>(),
              [truncated](T a, T b) { return remainder(a, b, truncated); });
    return nullptr;
  });
}

/// Calls `run` with a value of the integer C++ type of `type`, or returns
/// the unsupported-dtype error of `op`.
template <class Run>
azr_status_t dispatchInteger(DType type, const char *op, Run &&run) {
  switch (type) {
  case DType::i8:
    return run(int8_t());
  case DType::i16:
    return run(int16_t());
  case DType::i32:
    return run(int32_t());
  case DType::i64:
    return run(int64_t());
  case DType::u8:
    return run(uint8_t());
  case DType::u16:
    return run(uint16_t());
  case DType::u32:
    return run(uint32_t());
  case DType::u64:
    return run(uint64_t());
  default:
    return unsupportedDtype(op, type);
  }
}

/// Shifts as ONNX defines them: a shift amount outside [0, bits) gives 0,
/// or, shifting a negative signed value right, -1 (all sign bits); signed
/// left shifts wrap as their unsigned bits do; signed right shifts are
/// arithmetic.
azr_status_t bitShiftKernel(const KernelContext &context) {
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(planBinary("bit_shift", context, false, plan));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  const bool left = context.attrs->getInt("left", 1) != 0;
  auto run = [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    using U = std::make_unsigned_t<T>;
    runBinary(plan, *context.pool, lhs.as<const T>(), rhs.as<const T>(),
              out.as<T>(), [left](T a, T b) {
                if (b < 0 || b >= T(sizeof(T) * 8))
                  return !left && a < 0 ? T(-1) : T(0);
                if (left)
                  return T(U(U(a) << U(b)));
                return T(a >> b); // arithmetic for signed T
              });
    return nullptr;
  };
  return dispatchInteger(lhs.dtype, "bit_shift", run);
}

enum class BitwiseOp { bitAnd, bitOr, bitXor };

constexpr const char *bitwiseName(BitwiseOp op) {
  return op == BitwiseOp::bitAnd  ? "bitwise_and"
         : op == BitwiseOp::bitOr ? "bitwise_or"
                                  : "bitwise_xor";
}

/// BitwiseAnd/Or/Xor on integers of one dtype, with broadcasting. The bits
/// do not depend on signedness, so the result is the operation on the
/// two's complement bits either way.
template <BitwiseOp Op>
azr_status_t bitwiseKernel(const KernelContext &context) {
  constexpr const char *op = bitwiseName(Op);
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(planBinary(op, context, false, plan));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  return dispatchInteger(lhs.dtype, op, [&](auto tag) -> azr_status_t {
    using T = decltype(tag);
    runBinary(plan, *context.pool, lhs.as<const T>(), rhs.as<const T>(),
              out.as<T>(), [](T a, T b) {
                if constexpr (Op == BitwiseOp::bitAnd)
                  return T(a & b);
                else if constexpr (Op == BitwiseOp::bitOr)
                  return T(a | b);
                else
                  return T(a ^ b);
              });
    return nullptr;
  });
}

azr_status_t bitwiseNotKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "bitwise_not", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (out.dtype != in.dtype || out.rank != in.rank ||
      !std::equal(in.dims, in.dims + in.rank, out.dims))
    return AZR_INVALID("bitwise_not: %s %s -> %s %s", dtypeName(in.dtype),
                       shapeString(in).c_str(), dtypeName(out.dtype),
                       shapeString(out).c_str());
  return dispatchInteger(in.dtype, "bitwise_not", [&](auto tag) {
    using T = decltype(tag);
    const T *x = in.as<const T>();
    T *y = out.as<T>();
    context.pool->parallelFor(in.numel(), 16384,
                              [&](int64_t begin, int64_t end) {
                                for (int64_t i = begin; i < end; ++i)
                                  y[i] = T(~x[i]);
                              });
    return azr_status_t(nullptr);
  });
}

azr_status_t xorKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "xor", 2, 2, 1));
  const Tensor &lhs = context.input(0), &rhs = context.input(1);
  const Tensor &out = context.output(0);
  if (lhs.dtype != DType::i1 || rhs.dtype != DType::i1 ||
      out.dtype != DType::i1)
    return AZR_INVALID("xor: dtypes %s, %s -> %s, expected i1",
                       dtypeName(lhs.dtype), dtypeName(rhs.dtype),
                       dtypeName(out.dtype));
  const Tensor *inputs[] = {&lhs, &rhs};
  BroadcastPlan plan;
  AZR_RETURN_IF_ERROR(plan.init("xor", out, inputs, 2));
  runBinary(plan, *context.pool, lhs.as<const uint8_t>(),
            rhs.as<const uint8_t>(), out.as<uint8_t>(),
            [](uint8_t a, uint8_t b) { return uint8_t((a != 0) != (b != 0)); });
  return nullptr;
}

} // namespace

void addElementwiseMathKernels(KernelTable &table) {
  table.insert(
      table.end(),
      {{"acos", guarded<mathKernel<MathOp::acos>>},
       {"asin", guarded<mathKernel<MathOp::asin>>},
       {"atan", guarded<mathKernel<MathOp::atan>>},
       {"cos", guarded<mathKernel<MathOp::cos>>},
       {"sin", guarded<mathKernel<MathOp::sin>>},
       {"tan", guarded<mathKernel<MathOp::tan>>},
       {"cosh", guarded<mathKernel<MathOp::cosh>>},
       {"sinh", guarded<mathKernel<MathOp::sinh>>},
       {"acosh", guarded<mathKernel<MathOp::acosh>>},
       {"asinh", guarded<mathKernel<MathOp::asinh>>},
       {"atanh", guarded<mathKernel<MathOp::atanh>>},
       {"softplus", guarded<mathKernel<MathOp::softplus>>},
       {"softsign", guarded<mathKernel<MathOp::softsign>>},
       {"hard_swish", guarded<mathKernel<MathOp::hardSwish>>},
       {"round", guarded<mathKernel<MathOp::round>>},
       {"leaky_relu", guarded<mathKernel<MathOp::leakyRelu>>},
       {"elu", guarded<mathKernel<MathOp::elu>>},
       {"selu", guarded<mathKernel<MathOp::selu>>},
       {"hard_sigmoid", guarded<mathKernel<MathOp::hardSigmoid>>},
       {"thresholded_relu", guarded<mathKernel<MathOp::thresholdedRelu>>},
       {"celu", guarded<mathKernel<MathOp::celu>>},
       {"sign", guarded<signKernel>},
       {"isnan", guarded<classifyKernel<false>>},
       {"isinf", guarded<classifyKernel<true>>},
       {"prelu", guarded<preluKernel>},
       {"mod", guarded<modKernel>},
       {"xor", guarded<xorKernel>},
       {"bit_shift", guarded<bitShiftKernel>},
       {"bitwise_and", guarded<bitwiseKernel<BitwiseOp::bitAnd>>},
       {"bitwise_or", guarded<bitwiseKernel<BitwiseOp::bitOr>>},
       {"bitwise_xor", guarded<bitwiseKernel<BitwiseOp::bitXor>>},
       {"bitwise_not", guarded<bitwiseNotKernel>}});
}

} // namespace azr::cpu
