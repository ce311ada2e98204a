// membw: streaming-read bandwidth of this machine, measured the way the
// benchmarks' decode phase reads weights: each of N threads sums its share
// of a buffer far larger than the caches. Prints GB/s (median of 5 passes).
//   membw [THREADS] [MiB]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  size_t mib = argc > 2 ? size_t(atol(argv[2])) : 1024;
  // Integer sums: unlike floating point, the compiler may reorder them into
  // wide vector adds, so the loop is limited by memory, not add latency.
  size_t count = mib * (1u << 20) / sizeof(uint64_t);
  std::vector<uint64_t> data(count, 1);
  std::vector<uint64_t> sums(threads);
  std::vector<double> rates;
  for (int pass = 0; pass < 5; ++pass) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        size_t begin = count * t / threads, end = count * (t + 1) / threads;
        uint64_t sum = 0;
        for (size_t i = begin; i < end; ++i)
          sum += data[i];
        sums[t] = sum;
      });
    for (std::thread &w : workers)
      w.join();
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    rates.push_back(count * sizeof(uint64_t) / seconds / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  uint64_t check = 0;
  for (uint64_t s : sums)
    check += s;
  printf("%.2f\n", rates[2]);
  return check == count ? 0 : 1;
}
