// Global operator new/delete that keep a running total and a peak. Each block carries a
// 16-byte header with its size, so delete knows what it frees.
#include "alloc_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<size_t> g_live{0};
std::atomic<size_t> g_peak{0};
std::atomic<size_t> g_base{0};
std::atomic<size_t> g_count{0};
constexpr size_t kHeader = 16;

void* counted_alloc(size_t n) {
  auto* p = static_cast<unsigned char*>(std::malloc(n + kHeader));
  if (p == nullptr) throw std::bad_alloc();
  *reinterpret_cast<size_t*>(p) = n;
  g_count.fetch_add(1, std::memory_order_relaxed);
  const size_t live = g_live.fetch_add(n) + n;
  size_t peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
  return p + kHeader;
}

void counted_free(void* q) noexcept {
  if (q == nullptr) return;
  auto* p = static_cast<unsigned char*>(q) - kHeader;
  g_live.fetch_sub(*reinterpret_cast<size_t*>(p));
  std::free(p);
}

}  // namespace

void* operator new(size_t n) {
  return counted_alloc(n);
}
void* operator new[](size_t n) {
  return counted_alloc(n);
}
void operator delete(void* p) noexcept {
  counted_free(p);
}
void operator delete[](void* p) noexcept {
  counted_free(p);
}
void operator delete(void* p, size_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, size_t) noexcept {
  counted_free(p);
}

namespace es::test {

void reset_peak_allocation() noexcept {
  g_base = g_live.load();
  g_peak = g_live.load();
}

size_t peak_allocation_bytes() noexcept {
  return g_peak.load() - g_base.load();
}

size_t allocation_count() noexcept {
  return g_count.load();
}

}  // namespace es::test
