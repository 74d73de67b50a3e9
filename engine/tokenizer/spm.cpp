// SentencePiece-style BPE (tokenizer.ggml.model "llama"): adjacent pieces merge when their
// concatenation is a token, highest score first (leftmost on ties), as llama.cpp's
// llm_tokenizer_spm; characters no token covers fall back to <0xXX> byte tokens.
#include <queue>
#include <vector>

#include "utf8.h"
#include "vocab.h"

namespace es::detail {
namespace {

struct Piece {
  uint32_t offset = 0;
  uint32_t size = 0;  ///< 0: merged into its left neighbour.
  int32_t prev = -1;
  int32_t next = -1;
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t size;
  bool operator<(const Bigram& o) const noexcept {  // Max-heap: best score, then leftmost.
    return score != o.score ? score < o.score : left > o.left;
  }
};

}  // namespace

void spm_encode_text(const Vocab& v, std::string_view text, std::vector<TokenId>& out) {
  std::vector<Piece> pieces;
  pieces.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min(utf8_seq_len(static_cast<uint8_t>(text[i])), text.size() - i);
    const auto idx = static_cast<int32_t>(pieces.size());
    pieces.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(len), idx - 1,
                      i + len < text.size() ? idx + 1 : -1});
    i += len;
  }
  if (pieces.empty()) return;

  std::priority_queue<Bigram> queue;
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Piece& l = pieces[left];
    const uint32_t size = l.size + pieces[right].size;
    const TokenId id = v.piece_to_id.find(text.substr(l.offset, size));
    if (id == no_token) return;
    const float score = v.scores.empty() ? 0.0f : v.scores[id];
    queue.push({score, left, right, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(pieces.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Piece& l = pieces[b.left];
    Piece& r = pieces[b.right];
    if (l.size == 0 || r.size == 0 || l.size + r.size != b.size || l.next != b.right) continue;
    l.size += r.size;
    r.size = 0;
    l.next = r.next;
    if (r.next >= 0) pieces[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = pieces[i].next) {
    const std::string_view s = text.substr(pieces[i].offset, pieces[i].size);
    if (const TokenId id = v.piece_to_id.find(s); id != no_token) {
      out.push_back(id);
      continue;
    }
    for (char c : s) {
      const TokenId id = v.byte_token[static_cast<uint8_t>(c)];
      if (id != no_token) {
        out.push_back(id);
      } else if (v.unk != no_token) {
        out.push_back(v.unk);
      }
    }
  }
}

}  // namespace es::detail
