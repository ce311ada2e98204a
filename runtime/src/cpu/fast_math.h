//===- fast_math.h - branchless float exp, erfc and activations -*- C++ -*-===//
//
// Activation epilogues and softmax spend their time in exp and erf. libm's
// are scalar calls; these are branchless (selects, no tables), so loops
// over them vectorize, and each ISA file compiles the loops with its own
// flags (vector_math_*.cc). Accuracy: exp within a few ulp (Cody-Waite
// range reduction, degree-7 Taylor polynomial on |r| <= ln2/2, whose
// truncation is below 3e-9); erfc with relative
// error below 1.2e-7 (the Chebyshev-fitted form in Numerical Recipes,
// 6.2), so GELU keeps relative accuracy in its negative tail. Everything
// here has internal linkage: each file that includes it (portable, AVX2,
// AVX-512) keeps its own copy, compiled for its own ISA.
//
//===----------------------------------------------------------------------===//

#ifndef AZR_CPU_FAST_MATH_H
#define AZR_CPU_FAST_MATH_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace azr::cpu::fastmath {

static inline float fastExp(float x) {
  // Below -87.3 the result is under FLT_MIN: 0. Above 88.7 it overflows.
  const float clamped = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  const float n = std::nearbyint(clamped * 1.44269504088896341f);
  const float r =
      (clamped - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  float p = 1.98412698e-4f;
  p = p * r + 1.38888892e-3f;
  p = p * r + 8.33333377e-3f;
  p = p * r + 4.16666679e-2f;
  p = p * r + 1.66666672e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  float result = p * scale;
  result = x < -87.3f ? 0.0f : result;
  result = x > 88.7f ? INFINITY : result;
  return x != x ? x : result; // NaN stays NaN
}

/// erfc(z) for any z.
static inline float fastErfc(float z) {
  const float a = std::fabs(z);
  const float t = 1.0f / (1.0f + 0.5f * a);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float e = t * fastExp(-a * a + p);
  return z >= 0.0f ? e : 2.0f - e;
}

static inline float gelu(float x) {
  return 0.5f * x * fastErfc(-0.70710678118654752f * x);
}
static inline float tanhApprox(float y) {
  const float c = y > 9.0f ? 9.0f : (y < -9.0f ? -9.0f : y);
  const float e = fastExp(2.0f * c);
  return y != y ? y : (e - 1.0f) / (e + 1.0f);
}
static inline float geluTanh(float x) {
  const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + tanhApprox(inner));
}
static inline float sigmoid(float x) { return 1.0f / (1.0f + fastExp(-x)); }

// The loops each ISA file instantiates.
static inline void geluLoop(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = gelu(x[i]);
}
static inline void geluTanhLoop(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = geluTanh(x[i]);
}
static inline void siluLoop(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = x[i] * sigmoid(x[i]);
}
static inline void sigmoidLoop(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = sigmoid(x[i]);
}
static inline void tanhLoop(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = tanhApprox(x[i]);
}
/// y = exp(x - shift); returns the sum of y. The sum runs in 16 interleaved
/// partial sums, an order fixed by n alone, so it vectorizes without
/// reassociation and gives the same result on every path width.
static inline float expShiftSum(const float *x, float shift, float *y,
                                int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = fastExp(x[i] - shift);
  float partial[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j)
      partial[j] += y[i + j];
  for (int j = 0; i + j < n; ++j)
    partial[j] += y[i + j];
  float sum = 0.0f;
  for (float p : partial)
    sum += p;
  return sum;
}

} // namespace azr::cpu::fastmath

#endif // AZR_CPU_FAST_MATH_H
