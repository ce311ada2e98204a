// peak: the arithmetic ceilings of these cores, measured the way membw
// measures memory: each of N threads runs independent chains of the widest
// multiply-add this build's CPU has (16 per thread, more than the
// latency x throughput of any core here), for a fixed count, and the best
// of 5 passes is printed.
//   peak [THREADS]
// prints two lines, "fp32 GFLOP/s" (an FMA is 2 operations a lane) and
// "int8 GOP/s" (vpdpbusd: 4 multiply-adds a 32-bit lane; 0 without VNNI).
// Built with -march=native like membw: the ceiling of the machine it runs
// on.

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

constexpr int kChains = 16;
constexpr int64_t kIterations = 20'000'000;

#if defined(__AVX512F__)
using FloatVec = __m512;
constexpr int kFloatLanes = 16;
inline FloatVec fma(FloatVec a, FloatVec b, FloatVec c) {
  return _mm512_fmadd_ps(a, b, c);
}
inline FloatVec splat(float x) { return _mm512_set1_ps(x); }
inline float sum(FloatVec x) { return _mm512_reduce_add_ps(x); }
#elif defined(__AVX2__) && defined(__FMA__)
using FloatVec = __m256;
constexpr int kFloatLanes = 8;
inline FloatVec fma(FloatVec a, FloatVec b, FloatVec c) {
  return _mm256_fmadd_ps(a, b, c);
}
inline FloatVec splat(float x) { return _mm256_set1_ps(x); }
inline float sum(FloatVec x) {
  alignas(32) float v[8];
  _mm256_store_ps(v, x);
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#else
using FloatVec = float;
constexpr int kFloatLanes = 1;
inline FloatVec fma(FloatVec a, FloatVec b, FloatVec c) { return a * b + c; }
inline FloatVec splat(float x) { return x; }
inline float sum(FloatVec x) { return x; }
#endif

/// Operations one thread performed; `sink` keeps the chains alive.
double floatChains(float seed, float *sink) {
  FloatVec acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = splat(seed * float(i));
  const FloatVec a = splat(0.999999f), b = splat(1e-7f);
  for (int64_t it = 0; it < kIterations; ++it)
    for (int i = 0; i < kChains; ++i)
      acc[i] = fma(acc[i], a, b);
  float total = 0;
  for (int i = 0; i < kChains; ++i)
    total += sum(acc[i]);
  *sink = total;
  return 2.0 * kFloatLanes * kChains * double(kIterations);
}

double int8Chains(int seed, float *sink) {
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_epi32(seed + i);
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
  for (int64_t it = 0; it < kIterations; ++it)
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_dpbusd_epi32(acc[i], u, s);
  int64_t total = 0;
  for (int i = 0; i < kChains; ++i)
    total += _mm512_reduce_add_epi32(acc[i]);
  *sink = float(total);
  // 16 lanes x 4 multiply-adds, 2 operations each.
  return 2.0 * 64 * kChains * double(kIterations);
#else
  (void)seed;
  *sink = 0;
  return 0;
#endif
}

template <class Chains> double best(int threads, Chains chains) {
  double bestRate = 0;
  std::vector<float> sinks(size_t(threads) * 16);
  for (int pass = 0; pass < 5; ++pass) {
    std::vector<double> ops(static_cast<size_t>(threads));
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        ops[size_t(t)] = chains(t + pass, &sinks[size_t(t) * 16]);
      });
    for (std::thread &w : workers)
      w.join();
    const double seconds = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    double total = 0;
    for (double o : ops)
      total += o;
    bestRate = std::max(bestRate, total / seconds / 1e9);
  }
  float check = 0;
  for (float s : sinks)
    check += s;
  if (check == 1.2345f)
    std::printf(" ");
  return bestRate;
}

} // namespace

int main(int argc, char **argv) {
  const int threads = argc > 1 ? std::max(1, atoi(argv[1])) : 2;
  std::printf("fp32 GFLOP/s %.1f\n",
              best(threads, [](int seed, float *sink) {
                return floatChains(float(seed) * 1e-3f, sink);
              }));
  std::printf("int8 GOP/s %.1f\n", best(threads, [](int seed, float *sink) {
                return int8Chains(seed, sink);
              }));
  return 0;
}
