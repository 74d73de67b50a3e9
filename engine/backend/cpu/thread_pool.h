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

  /// Calls fn(begin, end, thread_index) over [0, n) split into at most n_threads() chunks
  /// of at least `min_chunk` items. Not reentrant.
  template <typename Fn>
  void parallel_for(size_t n, size_t min_chunk, Fn&& fn) {
    if (n == 0) return;
    size_t n_chunks =
        std::min<size_t>(n_threads_, (n + min_chunk - 1) / std::max<size_t>(min_chunk, 1));
    if (n_chunks <= 1) {
      fn(size_t{0}, n, uint32_t{0});
      return;
    }
    auto thunk = [&fn, n, n_chunks](uint32_t chunk) {
      const size_t begin = n * chunk / n_chunks;
      const size_t end = n * (chunk + 1) / n_chunks;
      if (begin < end) fn(begin, end, chunk);
    };
    using Thunk = decltype(thunk);
    run(static_cast<uint32_t>(n_chunks), &thunk,
        [](void* ctx, uint32_t chunk) { (*static_cast<Thunk*>(ctx))(chunk); });
  }

 private:
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
  uint64_t generation_ = 0;
  std::atomic<uint32_t> pending_{0};
  bool stop_ = false;
};

}  // namespace es::backend::cpu
