// One persistent pool of worker threads for the CPU backend. parallel_for splits a range
// into contiguous chunks, runs them on the workers and the calling thread, and returns
// when all are done. Dispatch allocates nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace es::backend::cpu {

class ThreadPool {
 public:
  /// `n_threads` in total, the caller included (0: hardware concurrency).
  explicit ThreadPool(uint32_t n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  [[nodiscard]] uint32_t n_threads() const noexcept { return n_threads_; }

  /// Calls fn(begin, end, thread_index) over [0, n) split into contiguous chunks of at
  /// least `min_chunk` items. Chunks are handed out dynamically (a few per thread), so a
  /// thread that is descheduled or got heavier chunks does not hold the others back;
  /// thread_index (< n_threads()) identifies the calling thread, for per-thread scratch.
  /// Not reentrant.
  template <typename Fn>
  void parallel_for(size_t n, size_t min_chunk, Fn&& fn) {
    if (n == 0) return;
    const size_t max_chunks = (n + min_chunk - 1) / std::max<size_t>(min_chunk, 1);
    const size_t n_chunks = std::min<size_t>(size_t{n_threads_} * kChunksPerThread, max_chunks);
    if (n_chunks <= 1 || n_threads_ == 1) {
      fn(size_t{0}, n, uint32_t{0});
      return;
    }
    std::atomic<size_t> next{0};
    auto body = [&fn, &next, n, n_chunks](uint32_t thread) {
      for (size_t c = next.fetch_add(1, std::memory_order_relaxed); c < n_chunks;
           c = next.fetch_add(1, std::memory_order_relaxed)) {
        fn(n * c / n_chunks, n * (c + 1) / n_chunks, thread);
      }
    };
    using Body = decltype(body);
    const auto n_tasks = static_cast<uint32_t>(std::min<size_t>(n_threads_, n_chunks));
    run(n_tasks, &body, [](void* ctx, uint32_t thread) { (*static_cast<Body*>(ctx))(thread); });
  }

 private:
  static constexpr size_t kChunksPerThread = 4;
  using TaskFn = void (*)(void* ctx, uint32_t index);
  /// Runs call(ctx, i) for i in [0, n_tasks): task 0 on the caller, the rest on workers.
  void run(uint32_t n_tasks, void* ctx, TaskFn call);
  void worker(uint32_t index);

  uint32_t n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  void* task_ctx_ = nullptr;
  TaskFn task_call_ = nullptr;
  uint32_t n_tasks_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint32_t> pending_{0};
  bool stop_ = false;
};

}  // namespace es::backend::cpu
