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

namespace {

/// The layout of an FP8 format, and the magnitude codes that bound it.
struct Fp8Layout {
  int mantissaBits, bias;
  bool hasInfinity;  // E5M2: IEEE-like, exponent all ones is inf or NaN
  bool unsignedZero; // FNUZ: 0x80 is the NaN, zero has no sign
  uint8_t largest;   // magnitude code of the largest finite value
  uint8_t nan;       // the NaN a conversion writes (with the sign bit)
};

Fp8Layout layoutOf(Fp8Format format) {
  switch (format) {
  case Fp8Format::E4M3FN:
    return {3, 7, false, false, 0x7E, 0x7F};
  case Fp8Format::E4M3FNUZ:
    return {3, 8, false, true, 0x7F, 0x80};
  case Fp8Format::E5M2:
    return {2, 15, true, false, 0x7B, 0x7F};
  case Fp8Format::E5M2FNUZ:
    return {2, 16, false, true, 0x7F, 0x80};
  }
  return {3, 7, false, false, 0x7E, 0x7F};
}

} // namespace

float fp8ToFloat(Fp8Format format, uint8_t code) {
  const Fp8Layout l = layoutOf(format);
  const int m = l.mantissaBits, e = 7 - m;
  const uint8_t magnitude = code & 0x7F;
  const bool negative = code & 0x80;
  if (l.unsignedZero && code == 0x80)
    return std::numeric_limits<float>::quiet_NaN();
  const int exponent = magnitude >> m, mantissa = magnitude & ((1 << m) - 1);
  float value;
  if (l.hasInfinity && exponent == (1 << e) - 1)
    value = mantissa ? std::numeric_limits<float>::quiet_NaN()
                     : std::numeric_limits<float>::infinity();
  else if (!l.hasInfinity && !l.unsignedZero && magnitude == 0x7F)
    value = std::numeric_limits<float>::quiet_NaN();
  else if (exponent == 0) // subnormal: mantissa units of 2^(1 - bias - m)
    value = std::ldexp(float(mantissa), 1 - l.bias - m);
  else
    value = std::ldexp(float((1 << m) + mantissa), exponent - l.bias - m);
  return negative ? -value : value;
}

uint8_t floatToFp8(Fp8Format format, float f, bool saturate) {
  const Fp8Layout l = layoutOf(format);
  const int m = l.mantissaBits;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  const uint8_t nan = l.unsignedZero ? l.nan : uint8_t(sign | l.nan);
  const uint8_t overflow = saturate        ? uint8_t(sign | l.largest)
                           : l.hasInfinity ? uint8_t(sign | (l.largest + 1))
                                           : nan;
  if (std::isnan(f))
    return nan;
  const float a = std::fabs(f);
  if (std::isinf(a))
    return overflow;
  uint32_t magnitude;
  const int minNormal = 1 - l.bias; // exponent of the smallest normal
  if (a < std::ldexp(1.0f, minNormal)) {
    // Subnormal units: scaling by a power of two is exact, nearbyint rounds
    // ties to even, and a carry to 2^m is the smallest normal's code.
    magnitude = uint32_t(std::nearbyint(std::ldexp(a, m - minNormal)));
  } else {
    int exponent;
    const float fraction = std::frexp(a, &exponent); // a = fraction * 2^exp
    // The mantissa, m bits after the leading one, rounded to nearest even.
    uint32_t mantissa =
        uint32_t(std::nearbyint(std::ldexp(fraction, m + 1) - float(1 << m)));
    int biased = exponent - 1 + l.bias;
    if (mantissa == (1u << m)) {
      mantissa = 0;
      ++biased;
    }
    if (biased > 0x7F >> m)
      return overflow;
    magnitude = (uint32_t(biased) << m) | mantissa;
  }
  if (magnitude > l.largest)
    return overflow;
  if (magnitude == 0 && l.unsignedZero)
    return 0;
  return uint8_t(sign | magnitude);
}

float fp4ToFloat(uint8_t code) {
  static const float magnitudes[8] = {0.0f, 0.5f, 1.0f, 1.5f,
                                      2.0f, 3.0f, 4.0f, 6.0f};
  const float value = magnitudes[code & 7];
  return (code & 8) ? -value : value;
}

uint8_t floatToFp4(float f) {
  // The eight magnitudes are few: find the two around |f| and round to
  // nearest, ties to the even code. Beyond 6 saturates (the format has no
  // infinity); NaN becomes 0x8, negative zero, as ml_dtypes and the ONNX
  // reference convert it.
  if (std::isnan(f))
    return 0x8;
  const uint8_t sign = std::signbit(f) ? 0x8 : 0;
  const float a = std::fabs(f);
  uint8_t code = 7;
  for (uint8_t i = 0; i < 7; ++i) {
    const float low = fp4ToFloat(i), high = fp4ToFloat(uint8_t(i + 1));
    if (a < high) {
      const float middle = (low + high) / 2;
      code = a < middle   ? i
             : a > middle ? uint8_t(i + 1)
                          : uint8_t(i + (i & 1));
      break;
    }
  }
  return uint8_t(sign | code);
}

float e8m0ToFloat(uint8_t code) {
  if (code == 0xFF)
    return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, int(code) - 127);
}

uint8_t floatToE8M0(float f, bool saturate, E8M0Rounding rounding) {
  // The exponent field of f is the code; its mantissa decides the rounding.
  // The sign is dropped (the format has none), NaN and infinity are 0xFF.
  const uint32_t bits = bitsOf(f);
  uint32_t exponent = (bits >> 23) & 0xFF;
  if (exponent == 0xFF)
    return 0xFF;
  const uint32_t mantissa = bits & 0x7FFFFF;
  bool up = false;
  if (rounding == E8M0Rounding::Up) {
    up = mantissa != 0;
  } else if (rounding == E8M0Rounding::Nearest) {
    // At or past the halfway point; a normal f's exponent counts as odd,
    // so an exact half rounds up there, as ONNX's definition has it.
    const bool half = mantissa & 0x400000;
    const bool rest = mantissa & 0x3FFFFF;
    up = half && (rest || exponent > 0);
  }
  if (up && !(saturate && exponent == 0xFE))
    ++exponent;
  return uint8_t(exponent); // 0xFE + 1 is 0xFF, NaN, when not saturating
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
/// Storage tags of the types only casts read and write: an FP8 code, and a
/// 4- or 2-bit integer held in a byte (sign-extended when signed).
template <Fp8Format F> struct Fp8 { uint8_t bits; };
template <int Bits, bool Signed> struct NarrowInt {
  using Storage = std::conditional_t<Signed, int8_t, uint8_t>;
  static constexpr int bits = Bits;
  Storage value;
};
template <Fp8Format F> constexpr Fp8Format fp8FormatOf(Fp8<F>) { return F; }
struct Fp4 {
  uint8_t bits;
};
struct E8M0 {
  uint8_t bits;
};
template <class T> constexpr bool isFp8 = false;
template <Fp8Format F> constexpr bool isFp8<Fp8<F>> = true;
template <class T> constexpr bool isNarrowInt = false;
template <int B, bool S> constexpr bool isNarrowInt<NarrowInt<B, S>> = true;

/// dispatchAll's types plus the FP8 and narrow integer tags.
template <class F> azr_status_t dispatchCast(DType type, F &&f) {
  switch (type) {
  case DType::f8e4m3fn:
    return f(Fp8<Fp8Format::E4M3FN>());
  case DType::f8e4m3fnuz:
    return f(Fp8<Fp8Format::E4M3FNUZ>());
  case DType::f8e5m2:
    return f(Fp8<Fp8Format::E5M2>());
  case DType::f8e5m2fnuz:
    return f(Fp8<Fp8Format::E5M2FNUZ>());
  case DType::i4:
    return f(NarrowInt<4, true>());
  case DType::u4:
    return f(NarrowInt<4, false>());
  case DType::i2:
    return f(NarrowInt<2, true>());
  case DType::u2:
    return f(NarrowInt<2, false>());
  case DType::f4e2m1fn:
    return f(Fp4());
  case DType::f8e8m0fnu:
    return f(E8M0());
  default:
    return dispatchAll(type, "cast", f);
  }
}

template <class S> auto load(S x) {
  if constexpr (std::is_same_v<S, Fp4>)
    return double(fp4ToFloat(x.bits));
  else if constexpr (std::is_same_v<S, E8M0>)
    return double(e8m0ToFloat(x.bits));
  else if constexpr (isFp8<S>)
    return double(fp8ToFloat(fp8FormatOf(x), x.bits));
  else if constexpr (isNarrowInt<S>)
    return std::conditional_t<std::is_signed_v<typename S::Storage>, int64_t,
                              uint64_t>(x.value);
  else if constexpr (std::is_same_v<S, Half>)
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

/// `v` reduced modulo 2^Bits into a NarrowInt: integers wrap, as ONNX casts
/// to INT4/INT2 do; floats first truncate toward zero.
template <class D, class V> D wrapNarrow(V v) {
  uint64_t whole;
  if constexpr (std::is_same_v<V, double>)
    whole = uint64_t(floatToInt<int64_t>(v));
  else
    whole = uint64_t(v);
  const uint64_t low = whole & ((uint64_t(1) << D::bits) - 1);
  if constexpr (std::is_signed_v<typename D::Storage>) {
    const int64_t signBit = int64_t(1) << (D::bits - 1);
    return D{int8_t((int64_t(low) ^ signBit) - signBit)};
  } else {
    return D{uint8_t(low)};
  }
}

/// What a cast node asks of conversions to FP8, FP4 and E8M0.
struct CastOptions {
  bool saturate = true;
  E8M0Rounding rounding = E8M0Rounding::Up;
};

template <class D, class V> D store(V v, const CastOptions &options) {
  if constexpr (isNarrowInt<D>) {
    return wrapNarrow<D>(v);
  } else if constexpr (std::is_same_v<D, E8M0>) {
    // ONNX converts to float32 first, then takes the exponent.
    const float f = std::is_same_v<V, bool> ? float(v ? 1 : 0) : float(v);
    return D{floatToE8M0(f, options.saturate, options.rounding)};
  } else if constexpr (isFp8<D> || std::is_same_v<D, Fp4>) {
    float f;
    if constexpr (std::is_same_v<V, double>)
      f = doubleToFloatRoundToOdd(v);
    else if constexpr (std::is_same_v<V, bool>)
      f = v ? 1.0f : 0.0f;
    else
      f = float(v); // integers: |v| far beyond FP8's range rounds alike
    if constexpr (std::is_same_v<D, Fp4>)
      return D{floatToFp4(f)};
    else
      return D{floatToFp8(fp8FormatOf(D()), f, options.saturate)};
  } else if constexpr (std::is_same_v<D, Bool>) {
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
  CastOptions options;
  options.saturate = context.attrs->getInt("saturate", 1) != 0;
  const std::string mode = context.attrs->getString("round_mode", "up");
  if (mode == "down")
    options.rounding = E8M0Rounding::Down;
  else if (mode == "nearest")
    options.rounding = E8M0Rounding::Nearest;
  else if (mode != "up")
    return AZR_INVALID("cast: round_mode '%s' is not up, down or nearest",
                       mode.c_str());
  return dispatchCast(in.dtype, [&](auto source) {
    using S = decltype(source);
    return dispatchCast(out.dtype, [&](auto dest) -> azr_status_t {
      using D = decltype(dest);
      const S *x = in.as<const S>();
      D *y = out.as<D>();
      context.pool->parallelFor(in.numel(), 16384,
                                [&](int64_t begin, int64_t end) {
                                  for (int64_t i = begin; i < end; ++i)
                                    y[i] = store<D>(load(x[i]), options);
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
