//===- thread_pool.cc - a persistent pool for parallelFor -----------------===//
//
// A decode step is hundreds of short parallel calls (a token of a 1B
// decoder: ~150 weight products of 0.1-0.3 ms, and the norms and adds
// between them). Waking a sleeping worker through a condition variable
// costs a system call and a context switch on each side, tens of
// microseconds on a busy virtual machine: a tenth of such a step. So the
// workers, and the caller waiting for them, first spin for a short while
// (kSpin) on atomics before they sleep; a pool left idle longer than that
// costs no CPU.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernels.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace azr::cpu {
namespace {

constexpr std::chrono::microseconds kSpin{200};

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// Spins until done() or kSpin has passed; returns done().
template <class Done> bool spinUntil(const Done &done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done())
        return true;
      relax();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return done();
  }
}

// Set on pool threads and on a caller while it runs a job: a nested
// parallelFor then runs inline instead of waiting on busy workers.
thread_local bool insideParallelFor = false;

class PersistentPool final : public ThreadPool {
public:
  explicit PersistentPool(int threads) {
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { workerLoop(); });
  }

  ~PersistentPool() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread &worker : workers_)
      worker.join();
  }

  int numThreads() const override { return int(workers_.size()) + 1; }

  void parallelFor(int64_t n, int64_t minChunk,
                   const std::function<void(int64_t, int64_t)> &body) override {
    if (n <= 0)
      return;
    minChunk = std::max<int64_t>(1, minChunk);
    const int64_t chunks = std::min<int64_t>(numThreads(), n / minChunk);
    if (chunks <= 1 || insideParallelFor) {
      body(0, n);
      return;
    }
    // One job at a time: callers from several threads queue here.
    std::lock_guard<std::mutex> callerLock(callerMutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      n_ = n;
      numChunks_ = chunks;
      nextChunk_.store(0);
      busyWorkers_.store(int(workers_.size()));
      error_ = nullptr;
      // Published last: a spinning worker that sees it sees the job.
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    insideParallelFor = true;
    runChunks();
    insideParallelFor = false;
    auto finished = [this] {
      return busyWorkers_.load(std::memory_order_acquire) == 0;
    };
    if (!spinUntil(finished)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, finished);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = nullptr;
    if (error_)
      std::rethrow_exception(error_);
  }

private:
  // Chunk c covers [c*n/chunks, (c+1)*n/chunks): contiguous, each at least
  // minChunk long since chunks <= n/minChunk.
  void runChunks() {
    for (;;) {
      const int64_t c = nextChunk_.fetch_add(1);
      if (c >= numChunks_)
        return;
      const int64_t begin = c * n_ / numChunks_;
      const int64_t end = (c + 1) * n_ / numChunks_;
      try {
        (*body_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_)
          error_ = std::current_exception();
      }
    }
  }

  void workerLoop() {
    insideParallelFor = true;
    uint64_t seen = 0;
    for (;;) {
      auto woken = [&] {
        return stop_.load(std::memory_order_acquire) ||
               generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spinUntil(woken)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, woken);
      }
      if (stop_.load())
        return;
      seen = generation_.load(std::memory_order_acquire);
      runChunks();
      if (busyWorkers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Through the mutex: a caller that found workers busy and went to
        // sleep holds it from that check until it waits.
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex callerMutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> busyWorkers_{0};
  const std::function<void(int64_t, int64_t)> *body_ = nullptr;
  int64_t n_ = 0, numChunks_ = 0;
  std::atomic<int64_t> nextChunk_{0};
  std::exception_ptr error_;
};

} // namespace

std::unique_ptr<ThreadPool> makeThreadPool(int threads) {
  return std::make_unique<PersistentPool>(std::max(1, threads));
}

} // namespace azr::cpu
