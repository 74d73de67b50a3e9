// A small open-addressing hash map from 64-bit keys to trivially copyable values: the
// merge-rank table and the special-token trie look up millions of pairs per second, and
// std::unordered_map's node per entry costs a cache miss each. The key ~0 is reserved
// (it marks empty slots).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
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

namespace es::detail {

/// 64-bit hash of a byte string (8 bytes at a time, multiply-mixed).
[[nodiscard]] inline uint64_t hash_bytes(std::string_view s) noexcept {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (s.size() * 0xFF51AFD7ED558CCDULL);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xFF51AFD7ED558CCDULL;
  h ^= h >> 32;
  return h;
}

/// An open-addressing map from byte strings to 32-bit ids; the keys live in one pool.
class StringIdMap {
 public:
  /// Reserves room for `n` keys.
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap * 3 < n * 4 + 4) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }

  /// Inserts `key` -> `id` unless the key is present; returns the id now stored.
  int32_t emplace(std::string_view key, int32_t id) { return put(key, id, false); }
  /// Inserts or replaces.
  void insert_or_assign(std::string_view key, int32_t id) { put(key, id, true); }

  /// The id of `key`, or -1.
  [[nodiscard]] int32_t find(std::string_view key) const noexcept {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && s.size == key.size() &&
          std::memcmp(pool_.data() + s.offset, key.data(), key.size()) == 0) {
        return s.id;
      }
    }
  }

  [[nodiscard]] size_t size() const noexcept { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t size = 0;
    int32_t id = -1;  ///< -1: empty.
  };

  int32_t put(std::string_view key, int32_t id, bool replace) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const uint64_t h = hash_bytes(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = {h, static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(key.size()), id};
        pool_.append(key);
        ++size_;
        return id;
      }
      if (s.hash == h && s.size == key.size() &&
          std::memcmp(pool_.data() + s.offset, key.data(), key.size()) == 0) {
        if (replace) s.id = id;
        return s.id;
      }
    }
  }

  void rehash(size_t cap) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    const size_t mask = cap - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      size_t i = s.hash & mask;
      while (slots_[i].id >= 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string pool_;
  size_t size_ = 0;
};

}  // namespace es::detail
