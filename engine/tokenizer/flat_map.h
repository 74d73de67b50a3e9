// A small open-addressing hash map from 64-bit keys to trivially copyable values: the
// merge-rank table and the special-token trie look up millions of pairs per second, and
// std::unordered_map's node per entry costs a cache miss each. The key ~0 is reserved
// (it marks empty slots).
#pragma once

#include <cstdint>
#include <vector>

namespace es::detail {

template <typename V>
class FlatMap64 {
 public:
  /// Inserts or replaces the value of `key`.
  void put(uint64_t key, V value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    Slot& s = slots_[find_slot(key)];
    if (s.key == empty) {
      s.key = key;
      ++size_;
    }
    s.value = value;
  }

  /// The value of `key`, or nullptr.
  [[nodiscard]] const V* get(uint64_t key) const noexcept {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[find_slot(key)];
    return s.key != empty ? &s.value : nullptr;
  }

  [[nodiscard]] size_t size() const noexcept { return size_; }

  /// Reserves room for `n` entries without rehashing.
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap * 3 < n * 4 + 4) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }

 private:
  static constexpr uint64_t empty = ~uint64_t{0};
  struct Slot {
    uint64_t key = empty;
    V value{};
  };

  static uint64_t mix(uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }

  size_t find_slot(uint64_t key) const noexcept {
    const size_t mask = slots_.size() - 1;
    size_t i = mix(key) & mask;
    while (slots_[i].key != empty && slots_[i].key != key) i = (i + 1) & mask;
    return i;
  }

  void grow() { rehash(slots_.empty() ? 16 : slots_.size() * 2); }

  void rehash(size_t cap) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != empty) put(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace es::detail
