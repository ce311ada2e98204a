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

/// `d` rounded to float with round-to-odd, for a second correct rounding to
/// a narrower type.
float doubleToFloatRoundToOdd(double d);

} // namespace azr::cpu

#endif // AZR_CPU_CAST_H
