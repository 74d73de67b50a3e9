// The validated vocabulary behind es::Tokenizer, and the pieces of the encoder that work on
// it (private to engine/tokenizer).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertscope/gguf.h"
#include "expertscope/tokenizer.h"
#include "flat_map.h"
#include "pretokenize.h"

namespace es::detail {

/// A BPE merge: its rank (lower merges first) and the token it makes.
struct Merge {
  int32_t rank = 0;
  TokenId result = no_token;
};

/// Key of a pair of token ids in the merge table.
[[nodiscard]] inline uint64_t pair_key(TokenId left, TokenId right) noexcept {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

/// A byte trie of the tokens recognised inside text (control, user-defined, unknown).
class SpecialTrie {
 public:
  void insert(std::string_view text, TokenId id);
  [[nodiscard]] bool empty() const noexcept { return node_token_.size() <= 1; }
  /// True if some token starts with byte `b`.
  [[nodiscard]] bool starts_with(uint8_t b) const noexcept { return first_[b]; }
  /// The longest token that `text` starts with at `pos`: its id and length (0 if none).
  [[nodiscard]] std::pair<TokenId, size_t> longest_match(std::string_view text,
                                                         size_t pos) const noexcept;

 private:
  std::vector<TokenId> node_token_{no_token};  ///< Node 0 is the root.
  FlatMap64<int32_t> edges_;                   ///< (node << 8 | byte) -> child node.
  std::array<bool, 256> first_{};
};

/// Everything a Tokenizer knows, checked at load.
struct Vocab {
  std::string file_name;
  TokenizerKind kind = TokenizerKind::unset;
  PreTokenizerKind pre = PreTokenizerKind::unset;
  Normalization normalization = Normalization::none;
  std::string model_name;
  std::string pre_name;

  std::vector<std::string> texts;  ///< As stored in tokenizer.ggml.tokens.
  std::vector<std::string> bytes;  ///< What each token decodes to.
  std::vector<TokenType> types;
  std::vector<float> scores;  ///< Empty when the file has none.

  StringIdMap text_to_id;  ///< Stored text -> id (every token).
  /// The strings the encoder assembles -> id: raw bytes for byte-level BPE (vocabulary
  /// tokens, then added tokens written in the byte alphabet, as Hugging Face's vocabulary
  /// map), the ▁-spaced text of normal and user-defined tokens for SentencePiece.
  StringIdMap piece_to_id;
  /// BPE: the token of each single byte; SentencePiece: the <0xXX> byte token.
  std::array<TokenId, 256> byte_token{};
  FlatMap64<Merge> merges;  ///< pair_key(left, right) -> merge (BPE).
  SpecialTrie specials;
  std::unique_ptr<PreTokenizer> pre_tokenizer;  ///< BPE only.

  TokenId bos = no_token, eos = no_token, eot = no_token, eom = no_token;
  TokenId pad = no_token, unk = no_token, sep = no_token, mask = no_token;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  ///< SentencePiece: prefix a space to the text.
  bool ignore_merges = false;     ///< BPE: a word that is a token skips the merges.
  bool clean_up_spaces = false;

  uint64_t serial = 0;  ///< Distinguishes vocabularies in the per-thread word caches.

  [[nodiscard]] uint32_t size() const noexcept { return static_cast<uint32_t>(texts.size()); }
  [[nodiscard]] bool valid(TokenId id) const noexcept {
    return id >= 0 && static_cast<size_t>(id) < texts.size();
  }
};

/// Reads and validates the tokenizer metadata of `file` (see Tokenizer::from_gguf).
[[nodiscard]] std::unique_ptr<Vocab> load_vocab(const gguf::File& file);

/// Byte-level BPE of one pre-tokenized word (raw bytes), appended to `out`.
void bpe_encode_word(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out);

/// Byte-level BPE of a normalised text segment: pre-tokenize, then merge each word
/// (through the per-thread word cache).
void bpe_encode_text(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

/// SentencePiece BPE of a text whose spaces are already U+2581.
void spm_encode_text(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

/// Unicode normalisation of valid UTF-8 into `out`; returns false (leaving `out` alone)
/// when the text is already normalised or `form` is none.
[[nodiscard]] bool normalize_text(Normalization form, std::string_view text, std::string& out);

}  // namespace es::detail
