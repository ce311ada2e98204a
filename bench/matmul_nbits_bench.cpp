// matmul_nbits_bench: the 4096 x 4096 matrix-vector product (M = 1, a decode
// step) through the matmul_nbits kernel at 4 and 8 bits (f32 activations,
// and int8 ones: accuracy_level 4) and through the f32 matmul kernel, with
// 1 and 2 threads. Prints the minimum time over rounds x runs, the weight
// bytes streamed per second (codes + f32 scales for the quantized kernel)
// and their share of two ceilings:
//  - "membw": this machine's streaming-read bandwidth measured the way
//    bench/membw.cpp does (each thread sums its share of a 1 GiB buffer),
//    best pass of each round;
//  - "read": the time to merely read (sum) the same bytes on the same
//    threads, measured like the kernel. On a shared machine the best of
//    many short runs catches moments when both cores are free, which
//    membw's long passes rarely do, so this is the fairer ceiling.
// Then the same weights with 128 rows (a prefill), in GFLOP/s.
//
// Every run reads a different copy of the weights, enough copies (320 MiB)
// to exceed the last-level cache several times over, so the figures are
// DRAM-bound rather than cache-bound; "hot" repeats one copy
// (cache-resident when it fits) for comparison. Rounds interleave all
// measurements so that a busy spell does not land on one of them alone.
//   matmul_nbits_bench [RUNS [ROUNDS [FILTER]]]
// FILTER keeps the kernels whose name contains it ("zp", "int8", "f32").

#include "cpu/kernels.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using azr::cpu::DType;
using azr::cpu::KernelContext;
using azr::cpu::MapAttrs;
using azr::cpu::Tensor;
using azr::cpu::ThreadPool;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kK = 4096, kN = 4096;
constexpr size_t kStreamBytes = size_t(320) << 20; // copies of the weights

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Streaming-read GB/s with `threads` threads over `mib` MiB, best of 5.
double memoryBandwidth(int threads, size_t mib) {
  const size_t count = mib * (size_t(1) << 20) / sizeof(uint64_t);
  std::vector<uint64_t> data(count, 1);
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        size_t begin = count * size_t(t) / size_t(threads);
        size_t end = count * size_t(t + 1) / size_t(threads);
        uint64_t sum = 0;
        for (size_t i = begin; i < end; ++i)
          sum += data[i];
        sums[size_t(t)] = sum;
      });
    for (std::thread &w : workers)
      w.join();
    best = std::max(best, double(count * sizeof(uint64_t)) /
                              seconds(start, Clock::now()) / 1e9);
  }
  uint64_t check = 0;
  for (uint64_t s : sums)
    check += s;
  if (check != count)
    std::abort();
  return best;
}

Tensor tensor(void *data, DType type, std::vector<int64_t> dims) {
  Tensor t;
  t.data = data;
  t.dtype = type;
  t.rank = int(dims.size());
  std::copy(dims.begin(), dims.end(), t.dims);
  return t;
}

struct Weights {
  std::vector<uint8_t> b, zeroPoints;
  std::vector<float> scales, f32;
};

struct Config {
  const char *name;
  int bits; // 0: f32 matmul
  int64_t blockSize;
  int64_t accuracyLevel; // 4: int8 activations
  bool zeroPoints;       // per-block zero points (asymmetric codes)
  bool packed = false;   // matmul_nbits_packed: weights in int8 panels
  int64_t zpStride() const {
    // Packed: a byte per block; else onnxruntime's packed codes.
    return bits == 4 && !packed ? (kK / blockSize + 1) / 2 : kK / blockSize;
  }
  size_t bytes() const {
    if (!bits)
      return size_t(kK * kN * 4);
    return size_t(kN * kK * bits / 8 + kN * (kK / blockSize) * 4 +
                  (zeroPoints ? kN * zpStride() : 0));
  }
};

/// Minimum seconds to only read (sum) the same bytes as a call, on the same
/// threads, over `runs` reads rotating over `copies`: the ceiling a
/// bandwidth-bound kernel is measured against under the same conditions
/// (short windows pick quiet moments of a shared machine that membw's
/// 1 GiB passes rarely get).
double timeRead(std::vector<Weights> &copies, ThreadPool &pool, int runs) {
  double best = 1e30;
  uint64_t total = 0;
  for (int r = 0; r < runs + 1; ++r) {
    Weights &w = copies[size_t(r) % copies.size()];
    const uint64_t *parts[2] = {
        w.f32.empty() ? reinterpret_cast<const uint64_t *>(w.b.data())
                      : reinterpret_cast<const uint64_t *>(w.f32.data()),
        reinterpret_cast<const uint64_t *>(w.scales.data())};
    const int64_t words[2] = {
        int64_t(w.f32.empty() ? w.b.size() / 8 : w.f32.size() / 2),
        int64_t(w.scales.size() / 2)};
    std::vector<uint64_t> sums(size_t(pool.numThreads()) * 8, 0);
    auto start = Clock::now();
    pool.parallelFor(pool.numThreads(), 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        for (int p = 0; p < 2; ++p) {
          const int64_t n = words[p], threads = pool.numThreads();
          uint64_t sum = 0;
          for (int64_t i = n * t / threads; i < n * (t + 1) / threads; ++i)
            sum += parts[p][i];
          sums[size_t(t) * 8] += sum;
        }
    });
    auto end = Clock::now();
    for (uint64_t x : sums)
      total += x;
    if (r > 0)
      best = std::min(best, seconds(start, end));
  }
  if (total == 42)
    std::printf(" ");
  return best;
}

/// Minimum seconds per call over `runs` calls, rotating over `copies`.
double timeConfig(const Config &c, std::vector<Weights> &copies,
                  ThreadPool &pool, int runs, size_t useCopies, int64_t M = 1) {
  std::vector<float> a(static_cast<size_t>(M * kK), 0.5f);
  std::vector<float> y(static_cast<size_t>(M * kN));
  MapAttrs attrs;
  const char *op = c.packed ? "matmul_nbits_packed"
                   : c.bits ? "matmul_nbits"
                            : "matmul";
  if (c.bits)
    attrs.ints = {{"K", kK},
                  {"N", kN},
                  {"bits", c.bits},
                  {"block_size", c.blockSize},
                  {"accuracy_level", c.accuracyLevel}};
  if (c.packed)
    attrs.ints.erase("accuracy_level");
  azr::cpu::KernelFn fn = azr::cpu::findKernel(op);
  double best = 1e30;
  for (int r = 0; r < runs + 1; ++r) {
    Weights &w = copies[size_t(r) % useCopies];
    std::vector<Tensor> in;
    if (c.packed) {
      // Random bytes are random codes in any layout.
      const int64_t blocks = kK / c.blockSize, panels = kN / 32;
      in = {tensor(a.data(), DType::f32, {M, kK}),
            tensor(w.b.data(), DType::u8, {panels, kK * c.bits / 32, 32, 4}),
            tensor(w.scales.data(), DType::f32, {panels, blocks, 32})};
      if (c.zeroPoints)
        in.push_back(
            tensor(w.zeroPoints.data(), DType::u8, {panels, blocks, 32}));
    } else if (c.bits) {
      const int64_t blocks = kK / c.blockSize;
      in = {
          tensor(a.data(), DType::f32, {M, kK}),
          tensor(w.b.data(), DType::u8, {kN, blocks, c.blockSize * c.bits / 8}),
          tensor(w.scales.data(), DType::f32, {kN * blocks})};
      if (c.zeroPoints)
        in.push_back(
            tensor(w.zeroPoints.data(), DType::u8, {kN * c.zpStride()}));
    } else {
      in = {tensor(a.data(), DType::f32, {M, kK}),
            tensor(w.f32.data(), DType::f32, {kK, kN})};
    }
    Tensor out = tensor(y.data(), DType::f32, {M, kN});
    KernelContext context;
    context.inputs = in.data();
    context.numInputs = int(in.size());
    context.outputs = &out;
    context.numOutputs = 1;
    context.attrs = &attrs;
    context.pool = &pool;
    auto start = Clock::now();
    azr_status_t status = fn(context);
    auto end = Clock::now();
    if (status) {
      std::fprintf(stderr, "%s: %s\n", op, azr_status_message(status));
      std::exit(1);
    }
    if (r > 0) // the first call warms the pool up
      best = std::min(best, seconds(start, end));
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  const int runs = argc > 1 ? std::max(1, atoi(argv[1])) : 50;
  const int rounds = argc > 2 ? std::max(1, atoi(argv[2])) : 5;
  const std::string filter = argc > 3 ? argv[3] : "";
  const Config allConfigs[] = {
      {"nbits 4-bit/32", 4, 32, 0, false},
      {"nbits 4-bit/32 zp", 4, 32, 0, true},
      {"nbits 4-bit/128", 4, 128, 0, false},
      {"nbits 8-bit/32", 8, 32, 0, false},
      {"nbits 4-bit/32 int8", 4, 32, 4, false},
      {"nbits 4-bit/32 zp int8", 4, 32, 4, true},
      {"nbits 8-bit/32 int8", 8, 32, 4, false},
      {"packed 4-bit/32 int8", 4, 32, 4, false, true},
      {"packed 4-bit/32 zp int8", 4, 32, 4, true, true},
      {"packed 8-bit/32 int8", 8, 32, 4, false, true},
      {"matmul f32", 0, 0, 0, false}};
  std::vector<Config> configs;
  for (const Config &c : allConfigs)
    if (std::string(c.name).find(filter) != std::string::npos)
      configs.push_back(c);
  const size_t kConfigs = configs.size();
  std::mt19937 rng(1);
  std::vector<std::vector<Weights>> weights(kConfigs);
  for (size_t i = 0; i < kConfigs; ++i) {
    const Config &c = configs[i];
    weights[i].resize(std::max<size_t>(2, kStreamBytes / c.bytes()));
    for (Weights &w : weights[i]) {
      if (c.bits) {
        w.b.resize(size_t(kN * kK * c.bits / 8));
        for (uint8_t &x : w.b)
          x = uint8_t(rng());
        w.scales.assign(size_t(kN * (kK / c.blockSize)), 0.01f);
        if (c.zeroPoints) {
          w.zeroPoints.resize(size_t(kN * c.zpStride()));
          for (uint8_t &x : w.zeroPoints)
            x = uint8_t(rng());
        }
      } else {
        w.f32.assign(size_t(kK * kN), 0.25f);
      }
    }
  }
  std::unique_ptr<ThreadPool> pools[2] = {azr::cpu::makeThreadPool(1),
                                          azr::cpu::makeThreadPool(2)};
  // Rounds interleave every measurement, so that a busy spell on a shared
  // machine does not land on one of them alone; each keeps its best.
  double bandwidth[2] = {0, 0};
  std::vector<std::array<double, 2>> cold(configs.size()), hot(configs.size()),
      read(configs.size());
  for (size_t i = 0; i < kConfigs; ++i)
    for (int t = 0; t < 2; ++t)
      cold[i][t] = hot[i][t] = read[i][t] = 1e30;
  for (int round = 0; round < rounds; ++round) {
    for (int t = 0; t < 2; ++t)
      bandwidth[t] = std::max(bandwidth[t], memoryBandwidth(t + 1, 1024));
    for (size_t i = 0; i < kConfigs; ++i)
      for (int t = 0; t < 2; ++t) {
        std::vector<Weights> &w = weights[i];
        cold[i][t] = std::min(
            cold[i][t], timeConfig(configs[i], w, *pools[t], runs, w.size()));
        hot[i][t] =
            std::min(hot[i][t], timeConfig(configs[i], w, *pools[t], runs, 1));
        read[i][t] = std::min(read[i][t], timeRead(w, *pools[t], runs));
      }
  }
  std::printf("streaming-read bandwidth (best of %d x 5 passes over 1 GiB): "
              "1 thread %.2f GB/s, 2 threads %.2f GB/s\n",
              rounds, bandwidth[0], bandwidth[1]);
  std::printf("4096x4096 matvec, minimum of %d rounds x %d runs\n", rounds,
              runs);
  std::printf("%-22s %7s %6s %8s %7s %8s %8s %8s %9s %7s\n", "kernel",
              "threads", "MiB", "ms", "GB/s", "of membw", "read ms", "of read",
              "hot ms", "GB/s");
  for (size_t i = 0; i < kConfigs; ++i)
    for (int t = 0; t < 2; ++t) {
      const double bytes = double(configs[i].bytes());
      const double rate = bytes / cold[i][t] / 1e9;
      std::printf("%-22s %7d %6.1f %8.3f %7.2f %7.0f%% %8.3f %7.0f%% %9.3f "
                  "%7.2f\n",
                  configs[i].name, t + 1, bytes / (1 << 20), cold[i][t] * 1e3,
                  rate, 100 * rate / bandwidth[t], read[i][t] * 1e3,
                  100 * read[i][t] / cold[i][t], hot[i][t] * 1e3,
                  bytes / hot[i][t] / 1e9);
    }
  // Prefill: many rows, compute-bound; the quantized kernel dequantizes B
  // into the f32 GEMM's panels, so the f32 GEMM is its ceiling.
  constexpr int64_t kRows = 128;
  std::printf("\n%lld x 4096 x 4096 (prefill), minimum of %d runs\n",
              (long long)kRows, std::max(2, runs / 5));
  std::printf("%-22s %7s %8s %8s\n", "kernel", "threads", "ms", "GFLOP/s");
  for (size_t i = 0; i < kConfigs; ++i)
    for (int t = 0; t < 2; ++t) {
      const double sec = timeConfig(configs[i], weights[i], *pools[t],
                                    std::max(2, runs / 5), 1, kRows);
      std::printf("%-22s %7d %8.2f %8.1f\n", configs[i].name, t + 1, sec * 1e3,
                  2.0 * kRows * kK * kN / sec / 1e9);
    }
  return 0;
}
