// Byte-level BPE: merging the bytes of one word by merge rank, and the per-thread cache of
// words already merged.
#include <array>
#include <climits>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "vocab.h"

namespace es::detail {
namespace {

struct Symbol {
  TokenId id = no_token;
  int32_t prev = -1;
  int32_t next = -1;
};

constexpr Merge no_merge{INT_MAX, no_token};
/// Symbols of a removed (merged-away) position.
constexpr TokenId dead = -2;
/// Words up to this many bytes merge by scanning; longer ones use a heap.
constexpr size_t scan_limit = 48;
/// Words up to this many bytes are cached.
constexpr size_t cache_word_limit = 64;

Merge lookup(const Vocab& v, TokenId left, TokenId right) noexcept {
  if (left < 0 || right < 0) return no_merge;
  const Merge* m = v.merges.get(pair_key(left, right));
  return m != nullptr ? *m : no_merge;
}

/// Merges the lowest-rank pair (leftmost on ties) until none applies; short words.
void merge_by_scan(const Vocab& v, std::vector<Symbol>& syms) {
  thread_local std::vector<Merge> pair;
  const auto n = static_cast<int32_t>(syms.size());
  pair.assign(syms.size(), no_merge);
  for (int32_t i = 0; i + 1 < n; ++i) pair[i] = lookup(v, syms[i].id, syms[i + 1].id);
  for (;;) {
    int32_t best = -1;
    int32_t best_rank = INT_MAX;
    for (int32_t i = 0; i >= 0; i = syms[i].next) {
      if (pair[i].rank < best_rank) {
        best_rank = pair[i].rank;
        best = i;
      }
    }
    if (best < 0) return;
    Symbol& s = syms[best];
    const int32_t gone = s.next;
    s.id = pair[best].result;
    s.next = syms[gone].next;
    syms[gone].id = dead;
    if (s.next >= 0) syms[s.next].prev = best;
    pair[best] = s.next >= 0 ? lookup(v, s.id, syms[s.next].id) : no_merge;
    if (s.prev >= 0) pair[s.prev] = lookup(v, syms[s.prev].id, s.id);
  }
}

struct Candidate {
  int32_t rank;
  int32_t pos;
  TokenId left;
  TokenId right;
  TokenId result;
  bool operator<(const Candidate& o) const noexcept {  // Max-heap order: worst first.
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

/// The same merges with a priority queue; long words (runs of spaces, long identifiers).
void merge_by_heap(const Vocab& v, std::vector<Symbol>& syms) {
  std::priority_queue<Candidate> queue;
  auto push = [&](int32_t pos) {
    if (pos < 0 || syms[pos].next < 0) return;
    const TokenId l = syms[pos].id, r = syms[syms[pos].next].id;
    const Merge m = lookup(v, l, r);
    if (m.result != no_token) queue.push({m.rank, pos, l, r, m.result});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& s = syms[c.pos];
    if (s.id != c.left || s.next < 0 || syms[s.next].id != c.right) continue;  // Stale.
    const int32_t gone = s.next;
    s.id = c.result;
    s.next = syms[gone].next;
    syms[gone].id = dead;
    if (s.next >= 0) syms[s.next].prev = c.pos;
    push(s.prev);
    push(c.pos);
  }
}

/// 64-bit FNV-1a of a word (never 0, which marks an empty cache slot).
uint64_t word_hash(std::string_view w) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : w) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h | 1;
}

/// The words one thread has merged, for one vocabulary: a direct-mapped table of word
/// hashes whose words and ids live in two pools. A collision replaces the older word; the
/// pools are emptied (with the table) when they grow past their bounds.
class WordCache {
 public:
  uint64_t serial = 0;
  uint64_t last_use = 0;

  void reset(uint64_t s) {
    serial = s;
    slots_.assign(slot_count, Slot{});
    chars_.clear();
    ids_.clear();
  }

  /// Appends the cached ids of `word` to `out`; false if the word is not cached.
  bool find(std::string_view word, uint64_t hash, std::vector<TokenId>& out) const {
    const Slot& s = slots_[hash & (slot_count - 1)];
    if (s.hash != hash || s.word_size != word.size() ||
        chars_.compare(s.word_offset, s.word_size, word) != 0) {
      return false;
    }
    out.insert(out.end(), ids_.begin() + s.ids_offset, ids_.begin() + s.ids_offset + s.n_ids);
    return true;
  }

  void insert(std::string_view word, uint64_t hash, std::span<const TokenId> ids) {
    if (chars_.size() + word.size() > max_chars || ids_.size() + ids.size() > max_ids) {
      reset(serial);
    }
    Slot& s = slots_[hash & (slot_count - 1)];
    s = {hash, static_cast<uint32_t>(chars_.size()), static_cast<uint32_t>(ids_.size()),
         static_cast<uint16_t>(word.size()), static_cast<uint16_t>(ids.size())};
    chars_.append(word);
    ids_.insert(ids_.end(), ids.begin(), ids.end());
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t word_offset = 0;
    uint32_t ids_offset = 0;
    uint16_t word_size = 0;
    uint16_t n_ids = 0;
  };
  static constexpr size_t slot_count = size_t{1} << 16;
  static constexpr size_t max_chars = size_t{1} << 22;
  static constexpr size_t max_ids = size_t{1} << 21;
  std::vector<Slot> slots_;
  std::string chars_;
  std::vector<TokenId> ids_;
};

/// The calling thread's cache for vocabulary `serial` (a few vocabularies are kept, the
/// least recently used one is dropped).
WordCache& cache_for(uint64_t serial) {
  thread_local std::array<WordCache, 4> caches;
  thread_local uint64_t clock = 0;
  WordCache* victim = &caches[0];
  for (WordCache& c : caches) {
    if (c.serial == serial) {
      c.last_use = ++clock;
      return c;
    }
    if (c.last_use < victim->last_use) victim = &c;
  }
  victim->reset(serial);
  victim->last_use = ++clock;
  return *victim;
}

void push_or_unk(const Vocab& v, TokenId id, std::vector<TokenId>& out) {
  if (id >= 0) {
    out.push_back(id);
  } else if (v.unk != no_token) {
    out.push_back(v.unk);
  }
}

}  // namespace

void bpe_encode_word(const Vocab& v, std::string_view word, std::vector<TokenId>& out) {
  thread_local std::vector<Symbol> syms;
  const auto n = static_cast<int32_t>(word.size());
  if (n == 0) return;
  syms.resize(word.size());
  for (int32_t i = 0; i < n; ++i) {
    syms[i] = {v.byte_token[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  if (word.size() <= scan_limit) {
    merge_by_scan(v, syms);
  } else {
    merge_by_heap(v, syms);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) push_or_unk(v, syms[i].id, out);
}

void bpe_encode_text(const Vocab& v, std::string_view text, std::vector<TokenId>& out) {
  thread_local std::vector<Span> words;
  thread_local std::vector<Span> scratch;
  words.clear();
  v.pre_tokenizer->split(text, words, scratch);
  WordCache* cache = nullptr;
  for (const Span& w : words) {
    const std::string_view word = text.substr(w.begin, w.end - w.begin);
    if (word.size() == 1) {
      push_or_unk(v, v.byte_token[static_cast<uint8_t>(word[0])], out);
      continue;
    }
    if (v.ignore_merges) {
      const TokenId id = v.piece_to_id.find(word);
      if (id != no_token) {
        out.push_back(id);
        continue;
      }
    }
    if (word.size() > cache_word_limit) {
      bpe_encode_word(v, word, out);
      continue;
    }
    if (cache == nullptr) cache = &cache_for(v.serial);
    const uint64_t hash = word_hash(word);
    if (cache->find(word, hash, out)) continue;
    const size_t before = out.size();
    bpe_encode_word(v, word, out);
    cache->insert(word, hash, std::span<const TokenId>(out).subspan(before));
  }
}

}  // namespace es::detail
