//===- cast.cc - the cast kernel and f16/bf16 conversions -----------------===//

#include "cpu/cast.h"
#include "cpu/kernel_util.h"

#include <array>
#include <limits>
#include <type_traits>

namespace azr::cpu {

static uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  const uint32_t x = bitsOf(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7FFFFFFF;
  if (ax > 0x7F800000) // NaN: keep it quiet and keep the top payload bits
    return uint16_t(sign | 0x7E00 | ((ax >> 13) & 0x3FF));
  if (ax >= 0x477FF000) // >= 65520 rounds to infinity
    return uint16_t(sign | 0x7C00);
  if (ax < 0x38800000) {
    // Below the smallest normal half (2^-14): adding 0.5 puts the half
    // subnormal unit 2^-24 in the last mantissa bit, so the FPU's
    // round-to-nearest-even does the rounding.
    const float shifted = floatOf(ax) + 0.5f;
    return uint16_t(sign | (bitsOf(shifted) - bitsOf(0.5f)));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to
  // nearest even; a carry out of the mantissa correctly bumps the exponent.
  const uint32_t odd = (ax >> 13) & 1;
  ax += 0xC8000000u + 0xFFF + odd;
  return uint16_t(sign | (ax >> 13));
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  if (exponent == 0) {
    const float magnitude = float(mantissa) * 0x1p-24f; // exact
    return floatOf(sign | bitsOf(magnitude));
  }
  if (exponent == 31)
    return floatOf(sign | 0x7F800000 | (mantissa << 13));
  return floatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t floatToBf16(float f) {
  const uint32_t x = bitsOf(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000)
    return uint16_t((x >> 16) | 0x40); // quiet NaN
  return uint16_t((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

float bf16ToFloat(uint16_t b) { return floatOf(uint32_t(b) << 16); }

float e4m3ToFloat(uint8_t code) {
  const int exponent = (code >> 3) & 0xF, mantissa = code & 7;
  float magnitude;
  if (exponent == 0xF && mantissa == 7)
    magnitude = std::numeric_limits<float>::quiet_NaN();
  else if (exponent == 0)
    magnitude = std::ldexp(float(mantissa), -9); // subnormal: m / 8 * 2^-6
  else
    magnitude = std::ldexp(1.0f + float(mantissa) / 8.0f, exponent - 7);
  return (code & 0x80) ? -magnitude : magnitude;
}

const float *e4m3Values() {
  static const std::array<float, 256> values = [] {
    std::array<float, 256> v;
    for (int code = 0; code < 256; ++code)
      v[size_t(code)] = e4m3ToFloat(uint8_t(code));
    return v;
  }();
  return values.data();
}

uint8_t floatToE4M3(float f) {
  const uint32_t x = bitsOf(f);
  const uint8_t sign = uint8_t((x >> 24) & 0x80);
  const uint32_t ax = x & 0x7FFFFFFF;
  if (ax > 0x7F800000)
    return uint8_t(sign | 0x7F);
  if (ax >= bitsOf(448.0f))
    return uint8_t(sign | 0x7E);
  if (ax < bitsOf(0x1p-6f)) {
    // Subnormals are multiples of 2^-9, code = value * 2^9: scaling by a
    // power of two is exact, and nearbyint rounds ties to even. 8 * 2^-9
    // (a carry into the smallest normal) is code 8, as it should be.
    return uint8_t(sign | uint8_t(std::nearbyint(floatOf(ax) * 512.0f)));
  }
  // Normal: round the 23 mantissa bits to 3, ties to even; a carry bumps
  // the exponent, which is then still right. Rebias 127 -> 7.
  const uint32_t rounded = ax + 0x7FFFF + ((ax >> 20) & 1);
  const uint32_t code = ((rounded >> 20) - ((127 - 7) << 3)) & 0xFF;
  return uint8_t(sign | std::min<uint32_t>(code, 0x7E));
}

float doubleToFloatRoundToOdd(double d) {
  // Rounding to odd at float precision and then to nearest even at 11 or 8
  // bits gives the correctly rounded result (float has >= 2 spare bits);
  // plain double -> float -> half could round twice.
  float f = float(d);
  if (std::isnan(d) || double(f) == d || std::isinf(d))
    return f;
  if (std::fabs(double(f)) > std::fabs(d))
    f = std::nextafter(f, 0.0f);
  return floatOf(bitsOf(f) | 1);
}

// Integers wider than float's 24-bit significand: keep the top 24 bits and
// OR every dropped bit into the last one (round to odd), which is exact.
static float integerToFloatRoundToOdd(uint64_t magnitude, bool negative) {
  int shift = 0;
  while ((magnitude >> shift) >= (uint64_t(1) << 24))
    ++shift;
  uint64_t kept = magnitude >> shift;
  if (shift && (magnitude & ((uint64_t(1) << shift) - 1)))
    kept |= 1;
  const float f = std::ldexp(float(kept), shift);
  return negative ? -f : f;
}

namespace {

// Every source element is first read as one of: double (floats), int64_t or
// uint64_t (integers, exact) or bool; then written to the destination type.
template <class S> auto load(S x) {
  if constexpr (std::is_same_v<S, Half>)
    return double(halfToFloat(x.bits));
  else if constexpr (std::is_same_v<S, BFloat>)
    return double(bf16ToFloat(x.bits));
  else if constexpr (std::is_same_v<S, Bool>)
    return x.value != 0;
  else if constexpr (std::is_floating_point_v<S>)
    return double(x);
  else if constexpr (std::is_signed_v<S>)
    return int64_t(x);
  else
    return uint64_t(x);
}

// Float to integer truncates toward zero like a C cast; NaN and
// out-of-range values (undefined behaviour in C++) saturate instead.
template <class D> D floatToInt(double v) {
  if (std::isnan(v))
    return D(0);
  if (v <= double(std::numeric_limits<D>::lowest()))
    return std::numeric_limits<D>::lowest();
  if (v >= double(std::numeric_limits<D>::max()))
    return std::numeric_limits<D>::max();
  return D(v);
}

template <class D, class V> D store(V v) {
  if constexpr (std::is_same_v<D, Bool>) {
    return Bool{uint8_t(v != V(0))};
  } else if constexpr (std::is_same_v<D, Half> || std::is_same_v<D, BFloat>) {
    float f;
    if constexpr (std::is_same_v<V, double>)
      f = doubleToFloatRoundToOdd(v);
    else if constexpr (std::is_same_v<V, bool>)
      f = v ? 1.0f : 0.0f;
    else if constexpr (std::is_signed_v<V>)
      f = integerToFloatRoundToOdd(
          v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v), v < 0);
    else
      f = integerToFloatRoundToOdd(v, false);
    if constexpr (std::is_same_v<D, Half>)
      return Half{floatToHalf(f)};
    else
      return BFloat{floatToBf16(f)};
  } else if constexpr (std::is_floating_point_v<D>) {
    return D(v);
  } else if constexpr (std::is_same_v<V, double>) {
    return floatToInt<D>(v);
  } else {
    return D(v); // integer to integer wraps modulo 2^bits
  }
}

azr_status_t castKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "cast", 1, 1, 1));
  const Tensor &in = context.input(0), &out = context.output(0);
  if (in.numel() != out.numel())
    return AZR_INVALID("cast: result %s does not match %s",
                       shapeString(out).c_str(), shapeString(in).c_str());
  if (in.dtype == out.dtype) {
    if (in.data != out.data && in.bytes())
      std::memmove(out.data, in.data, in.bytes());
    return nullptr;
  }
  return dispatchAll(in.dtype, "cast", [&](auto source) {
    using S = decltype(source);
    return dispatchAll(out.dtype, "cast", [&](auto dest) -> azr_status_t {
      using D = decltype(dest);
      const S *x = in.as<const S>();
      D *y = out.as<D>();
      context.pool->parallelFor(in.numel(), 16384,
                                [&](int64_t begin, int64_t end) {
                                  for (int64_t i = begin; i < end; ++i)
                                    y[i] = store<D>(load(x[i]));
                                });
      return nullptr;
    });
  });
}

} // namespace

void addCastKernels(KernelTable &table) {
  table.push_back({"cast", guarded<castKernel>});
}

} // namespace azr::cpu
