//===- thread_pool.cc - a persistent pool for parallelFor -----------------===//

#include "cpu/kernels.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace azr::cpu {
namespace {

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
      stop_ = true;
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
      busyWorkers_ = int(workers_.size());
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    insideParallelFor = true;
    runChunks();
    insideParallelFor = false;
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busyWorkers_ == 0; });
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
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_)
          return;
        seen = generation_;
      }
      runChunks();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busyWorkers_ == 0)
        done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex callerMutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  int busyWorkers_ = 0;
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
