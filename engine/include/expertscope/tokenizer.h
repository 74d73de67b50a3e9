// Tokenizers built from a GGUF file's `tokenizer.ggml.*` metadata, with output identical to
// Hugging Face tokenizers for the models DESIGN.md lists.
//
// Two models are supported:
// - "gpt2": byte-level BPE. Text is split into words by the model's pre-tokenizer
//   (`tokenizer.ggml.pre`: gpt-2, llama-bpe, qwen2, deepseek-v3, deepseek-llm, olmo; Unicode
//   regexes run by PCRE2 in UTF + UCP mode, with JavaScript's definition of `\s` so the
//   result equals Hugging Face's tokenizer.json pipeline), each word's bytes are merged by
//   `tokenizer.ggml.merges` rank, and the words of repeated text come from a cache.
// - "llama": SentencePiece-style BPE: spaces become U+2581, adjacent pieces merge by
//   `tokenizer.ggml.scores`, and bytes no token covers fall back to <0xXX> byte tokens.
//
// Control, user-defined and unknown tokens written in the text are recognised as
// themselves (longest match first), as Hugging Face does with its added tokens. Text is
// normalised (NFC or NFKC, utf8proc) where the file asks through our own key
// `tokenizer.expertscope.normalizer`, GGUF having no standard one.
//
// Input that is not valid UTF-8 is read as a WHATWG TextDecoder (and Python's
// `errors="replace"`) would read it: each maximal invalid subpart becomes U+FFFD. Decoding
// gives valid UTF-8 the same way unless the caller asks for the raw bytes.
//
// Every problem with the metadata is refused at load with an es::Error naming the file
// and the key (ErrorKind::bad_input; ErrorKind::unsupported for a model or pre-tokenizer
// this build does not know, named).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/gguf.h"

namespace es {

/// A token's index in `tokenizer.ggml.tokens`.
using TokenId = int32_t;
/// No token (an absent special id).
inline constexpr TokenId no_token = -1;

/// Token types by their `tokenizer.ggml.token_type` value (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,       ///< The unknown token (<unk>).
  control = 3,       ///< Special tokens: BOS, EOS, <|im_start|>, ...
  user_defined = 4,  ///< Added tokens that are not special: <think>, <tool_call>, ...
  unused = 5,        ///< Padding entries of the vocabulary; never produced, decode to nothing.
  byte = 6,          ///< SentencePiece byte-fallback tokens <0x00> .. <0xFF>.
};

/// `tokenizer.ggml.model`.
enum class TokenizerKind : int {
  unset = 0,
  bpe = 1,  ///< "gpt2": byte-level BPE.
  spm = 2,  ///< "llama": SentencePiece-style BPE with byte fallback.
};

/// `tokenizer.ggml.pre` (byte-level BPE only): which regexes split text into words.
enum class PreTokenizerKind : int {
  unset = 0,
  gpt2 = 1,          ///< "gpt-2" (also a missing key, as llama.cpp's "default").
  llama_bpe = 2,     ///< "llama-bpe" (also "llama3", "llama-v3"): Llama 3.
  qwen2 = 3,         ///< "qwen2": Qwen2, Qwen2-MoE, Qwen3, Qwen3-MoE.
  deepseek_v3 = 4,   ///< "deepseek-v3": DeepSeek V3 / R1.
  deepseek_llm = 5,  ///< "deepseek-llm": DeepSeek LLM, DeepSeek V2 / V2-Lite.
  olmo = 6,          ///< "olmo": OLMo, OLMoE (GPT-2's regex).
};

/// Unicode normalisation applied to text before pre-tokenization.
enum class Normalization : int { unset = 0, none = 1, nfc = 2, nfkc = 3 };

/// Our own metadata keys (GGUF has no standard ones for these).
namespace tokenizer_keys {
/// String: "nfc", "nfkc" or "none" (absent: none).
inline constexpr std::string_view normalizer = "tokenizer.expertscope.normalizer";
/// Bool: a word that is a whole vocabulary token skips the merges (tokenizer.json's
/// model.ignore_merges). Absent: true for llama-bpe, false otherwise (as llama.cpp).
inline constexpr std::string_view ignore_merges = "tokenizer.expertscope.ignore_merges";
/// Bool: decoding removes the spaces before punctuation that English tokenization adds
/// (tokenizer_config.json's clean_up_tokenization_spaces). Absent: false.
inline constexpr std::string_view clean_up_spaces = "tokenizer.expertscope.clean_up_spaces";
}  // namespace tokenizer_keys

/// How encode() treats special tokens.
struct EncodeOptions {
  /// Add BOS / EOS where the metadata says to (add_bos_token / add_eos_token).
  bool add_special = false;
  /// Recognise control, user-defined and unknown tokens written in the text.
  bool parse_special = true;
};

/// How decode() renders tokens.
struct DecodeOptions {
  /// Control (and unknown) tokens appear as their text, as Hugging Face's decode without
  /// skip_special_tokens; false drops them.
  bool render_special = true;
  /// Give the bytes exactly as the tokens hold them, invalid UTF-8 included. By default
  /// invalid sequences become U+FFFD (as Hugging Face's decode), so the result is valid UTF-8.
  bool raw_bytes = false;
};

namespace detail {
struct Vocab;
}

/// A tokenizer loaded from GGUF metadata. Immutable after load; encode() and decode() may
/// be called from several threads at once (the word cache is per thread).
class Tokenizer {
 public:
  /// Reads and validates the `tokenizer.ggml.*` keys of `file`. Throws es::Error naming the
  /// file and the key: bad_input for missing, malformed or inconsistent metadata (array
  /// lengths that differ, duplicate tokens, merges naming unknown tokens, special ids out of
  /// range, unknown token types), unsupported for a model or pre-tokenizer not known here.
  static Tokenizer from_gguf(const gguf::File& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// The token ids of `text` (any bytes; see the file comment for invalid UTF-8). Throws
  /// es::Error (bad_input) for a text over 2 GiB.
  [[nodiscard]] std::vector<TokenId> encode(std::string_view text,
                                            const EncodeOptions& options = {}) const;
  /// Appends the ids of `text` to `out` (no allocation of a fresh vector per call).
  void encode_into(std::string_view text, std::vector<TokenId>& out,
                   const EncodeOptions& options = {}) const;

  /// The text of a sequence of ids. Ids out of range decode to nothing.
  [[nodiscard]] std::string decode(std::span<const TokenId> ids,
                                   const DecodeOptions& options = {}) const;

  /// The bytes one token stands for when decoded (may be part of a UTF-8 character);
  /// empty for ids out of range and for unused tokens.
  [[nodiscard]] std::string_view token_bytes(TokenId id) const noexcept;
  /// The token's string as stored in the file (byte-level form for BPE tokens).
  [[nodiscard]] std::string_view token_text(TokenId id) const noexcept;
  /// The token's type; undefined for ids out of range.
  [[nodiscard]] TokenType token_type(TokenId id) const noexcept;
  /// The id of the token whose stored string is `text`, or no_token.
  [[nodiscard]] TokenId find_token(std::string_view text) const;

  /// Number of tokens in the vocabulary.
  [[nodiscard]] uint32_t n_tokens() const noexcept;
  [[nodiscard]] TokenizerKind kind() const noexcept;
  [[nodiscard]] PreTokenizerKind pre() const noexcept;
  [[nodiscard]] Normalization normalization() const noexcept;
  /// `tokenizer.ggml.model` as stored ("gpt2", "llama").
  [[nodiscard]] const std::string& model_name() const noexcept;
  /// `tokenizer.ggml.pre` as stored; empty when absent.
  [[nodiscard]] const std::string& pre_name() const noexcept;

  // Special ids; no_token where the file has none.
  [[nodiscard]] TokenId bos() const noexcept;
  [[nodiscard]] TokenId eos() const noexcept;
  [[nodiscard]] TokenId eot() const noexcept;
  [[nodiscard]] TokenId pad() const noexcept;
  [[nodiscard]] TokenId unk() const noexcept;
  /// Whether encode() with add_special adds BOS / EOS.
  [[nodiscard]] bool add_bos() const noexcept;
  [[nodiscard]] bool add_eos() const noexcept;
  /// True for tokens that end a generation (EOS, EOT, EOM).
  [[nodiscard]] bool is_end_of_generation(TokenId id) const noexcept;

  /// Internal: the validated vocabulary (for the streaming decoder).
  [[nodiscard]] const detail::Vocab& vocab() const noexcept { return *vocab_; }

 private:
  explicit Tokenizer(std::unique_ptr<detail::Vocab> vocab);
  std::unique_ptr<detail::Vocab> vocab_;
};

/// Decodes tokens one at a time, as they are generated, and never emits part of a UTF-8
/// character: bytes of an incomplete character are held back until the next token
/// completes it. Bytes that can never become valid UTF-8 come out as U+FFFD, exactly as
/// Tokenizer::decode of the whole sequence would give them, so the concatenation of all
/// push() results and flush() equals decode() of all the ids (with the same render_special;
/// raw_bytes does not apply here, nor tokenizer_keys::clean_up_spaces, which rewrites
/// whole texts). Keeps a reference to the tokenizer, which must outlive it.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, DecodeOptions options = {});

  /// The text that `id` completes (possibly empty).
  [[nodiscard]] std::string push(TokenId id);
  /// The held-back bytes of an unfinished character, as U+FFFD; resets the decoder.
  [[nodiscard]] std::string flush();
  /// Forgets held-back bytes and starts a new sequence.
  void reset();
  /// Number of bytes held back now (0 to 3).
  [[nodiscard]] size_t pending_bytes() const noexcept { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;
  bool at_start_ = true;
};

}  // namespace es
