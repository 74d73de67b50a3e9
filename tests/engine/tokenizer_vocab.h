// Synthetic tokenizer vocabularies for the tokenizer tests, written with the project's GGUF
// writer: a byte-level BPE vocabulary (the 256 byte tokens, then one token per merge, then
// special tokens) and a SentencePiece one (<unk>, <s>, </s>, the 256 <0xXX> byte tokens,
// then scored pieces).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "expertscope/gguf.h"
#include "expertscope/tokenizer.h"

namespace es::test {

/// Metadata of a tokenizer, editable before it is written.
struct VocabSpec {
  std::string model = "gpt2";
  std::string pre = "gpt-2";
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;  ///< Empty: no scores key.
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, gguf::Value>> extra;  ///< Further keys (special ids...).

  /// Index of a token text (-1 if absent).
  [[nodiscard]] int32_t id(const std::string& text) const {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] == text) return static_cast<int32_t>(i);
    }
    return -1;
  }
  /// Sets or replaces an extra key.
  void set(const std::string& key, gguf::Value value) {
    for (auto& [k, v] : extra) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    extra.emplace_back(key, std::move(value));
  }
  /// Removes a key written by to_writer (or an extra one).
  std::vector<std::string> omit;

  [[nodiscard]] gguf::Writer to_writer() const;
  [[nodiscard]] std::vector<uint8_t> to_bytes() const { return to_writer().to_bytes(); }
};

/// GPT-2's byte-level string of raw bytes ("a b" -> "aĠb").
[[nodiscard]] std::string byte_level(std::string_view raw);

/// A byte-level BPE vocabulary: 256 byte tokens, then `merges` (raw-byte pairs, in rank
/// order; each adds the merged token), then `specials` (text, type).
[[nodiscard]] VocabSpec bpe_vocab(
    const std::vector<std::pair<std::string, std::string>>& merges,
    const std::vector<std::pair<std::string, TokenType>>& specials = {});

/// A SentencePiece vocabulary: <unk> (0), <s> (1), </s> (2), <0x00>..<0xFF>, then `pieces`
/// (text with ▁ for spaces, score).
[[nodiscard]] VocabSpec spm_vocab(const std::vector<std::pair<std::string, float>>& pieces);

/// Loads a tokenizer from a spec (the GGUF is named "test.gguf" in errors).
[[nodiscard]] Tokenizer load(const VocabSpec& spec);

}  // namespace es::test
