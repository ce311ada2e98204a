//===- vector_math_avx2.cc - fast_math.h's loops for AVX2 -------------===//
//
// Compiled for this ISA inside a target region (isa_target.h), so the
// branchless loops vectorize to it; used only when cpuid reports the ISA
// (vectorMath()).
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/isa_target.h"

AZR_TARGET_AVX2_BEGIN

#include "cpu/fast_math.h"

azr::cpu::VectorMath azr::cpu::vectorMathAvx2() {
  return {"avx2",
          fastmath::geluLoop,
          fastmath::geluTanhLoop,
          fastmath::siluLoop,
          fastmath::sigmoidLoop,
          fastmath::tanhLoop,
          fastmath::expShiftSum};
}

AZR_TARGET_END
