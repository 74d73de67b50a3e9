#include "thread_pool.h"

namespace es::backend::cpu {
namespace {

/// Spins before blocking: a decode step runs a few hundred short parallel ops, and a
/// futex wake-up per op would cost more than the ops themselves.
constexpr int kSpinIterations = 4000;

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(uint32_t n_threads) {
  if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  n_threads_ = n_threads;
  for (uint32_t i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(uint32_t n_tasks, void* ctx, TaskFn call) {
  {
    std::lock_guard lock(mutex_);
    task_ctx_ = ctx;
    task_call_ = call;
    n_tasks_ = n_tasks;
    pending_.store(n_tasks - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // Publishes the task.
  }
  wake_.notify_all();
  call(ctx, 0);
  for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i) {
    cpu_relax();
  }
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
}

void ThreadPool::worker(uint32_t index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for the next task, then sleep until one is published.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 0; i < kSpinIterations && gen == seen; ++i) {
      cpu_relax();
      gen = generation_.load(std::memory_order_acquire);
    }
    void* ctx = nullptr;
    TaskFn call = nullptr;
    uint32_t n_tasks = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock,
                 [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_acquire);
      ctx = task_ctx_;
      call = task_call_;
      n_tasks = n_tasks_;
    }
    if (index < n_tasks) {
      call(ctx, index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mutex_);
        done_.notify_one();
      }
    }
  }
}

}  // namespace es::backend::cpu
