//===- cast.h - f16 and bf16 conversions, round to nearest even -*- C++ -*-===//

#ifndef AZR_CPU_CAST_H
#define AZR_CPU_CAST_H

#include <cstdint>

namespace azr::cpu {

uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t b);

/// `d` rounded to float with round-to-odd, for a second correct rounding to
/// a narrower type.
float doubleToFloatRoundToOdd(double d);

} // namespace azr::cpu

#endif // AZR_CPU_CAST_H
