//===- cast.h - f16, bf16 and fp8 conversions, nearest even ----*- C++ -*-===//
//
// Conversions between float and the narrow storage types the kernels read
// and write: IEEE half, bfloat16 and the FP8 formats. Every
// narrowing rounds to nearest, ties to even, as the hardware and the
// reference frameworks do, so results match them bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_CAST_H
#define AZR_CPU_CAST_H

#include <cstdint>

namespace azr::cpu {

uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t b);

/// The value of an FP8 E4M3 code (OCP "E4M3FN": bias 7, no infinities,
/// 0x7F and 0xFF NaN, largest finite 448).
float e4m3ToFloat(uint8_t code);
/// The values of all 256 E4M3 codes: decoding as one load.
const float *e4m3Values();
/// The E4M3 code nearest `f`, ties to even. Magnitudes beyond 448 saturate
/// to +-448 rather than becoming NaN (the format has no infinity); NaN
/// stays NaN.
uint8_t floatToE4M3(float f);

/// The four FP8 formats of ONNX. E4M3FN and E5M2 are the OCP formats;
/// the FNUZ variants have no negative zero and no infinity, their one NaN
/// is 0x80, and their exponent bias is one larger.
enum class Fp8Format { E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ };

/// The value of an FP8 code.
float fp8ToFloat(Fp8Format format, uint8_t code);
/// The code nearest `f`, ties to even. A magnitude that rounds beyond the
/// largest finite value (and an infinity) becomes that largest value when
/// `saturate`, else infinity (E5M2) or NaN (the formats without infinity),
/// as ONNX Cast and QuantizeLinear specify.
uint8_t floatToFp8(Fp8Format format, float f, bool saturate);

/// OCP MX FP4 (E2M1), a code in a byte's low 4 bits: 0, 0.5, 1, 1.5, 2, 3,
/// 4, 6 and their negatives.
float fp4ToFloat(uint8_t code);
/// The nearest code, ties to even; saturating (no infinity), NaN to 0x8.
uint8_t floatToFp4(float f);

/// OCP MX E8M0 scale: 2^(code - 127), 0xFF NaN.
float e8m0ToFloat(uint8_t code);
enum class E8M0Rounding { Up, Down, Nearest };
/// The power of two of |f|'s exponent, rounded as ONNX Cast's round_mode
/// says; at the top, saturate keeps 2^127 where rounding would give NaN.
uint8_t floatToE8M0(float f, bool saturate, E8M0Rounding rounding);

/// `d` rounded to float with round-to-odd, for a second correct rounding to
/// a narrower type.
float doubleToFloatRoundToOdd(double d);

} // namespace azr::cpu

#endif // AZR_CPU_CAST_H
