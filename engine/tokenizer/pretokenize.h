// Pre-tokenizers of byte-level BPE: the regex splits each `tokenizer.ggml.pre` stands for,
// run by PCRE2 (UTF + UCP, JIT-compiled).
//
// The patterns are written as Hugging Face's tokenizer.json files hold them, in the form
// transformers.js runs them (JavaScript regexes with the `u` flag: `(?i:'s|...)` spelled
// out as `'[sS]|...`). JavaScript's `\s` is not PCRE2's: it includes U+FEFF and excludes
// U+0085 and U+180E, so `\s` and `\S` are rewritten to explicit classes before compiling.
// `$` means the end of the subject only (PCRE2_DOLLAR_ENDONLY), as in JavaScript.
//
// Each regex of a pre-tokenizer splits every piece the previous one produced, keeping both
// the matches and the text between them ("Isolated" behaviour), so a piece never spans
// the boundary of an earlier split.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/tokenizer.h"

namespace es::detail {

/// A piece of a text: [begin, end) byte offsets.
struct Span {
  uint32_t begin = 0;
  uint32_t end = 0;
};

/// One compiled regex. Matching is thread-safe (per-thread match data and JIT stack).
class Regex {
 public:
  /// Compiles a pattern written in tokenizer.json's (JavaScript) dialect. Throws es::Error
  /// (kind unset: a bug in the pattern table) if PCRE2 refuses it.
  explicit Regex(std::string_view js_pattern, bool newer_code_points = true);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  /// Splits text[piece] into matches and the gaps between them, appending to `out`.
  /// `text` must be valid UTF-8.
  void split(std::string_view text, Span piece, std::vector<Span>& out) const;

 private:
  void* code_ = nullptr;  ///< pcre2_code_8*.
  bool jit_ = false;
};

/// Rewrites a JavaScript-dialect pattern for PCRE2: the `\s` / `\S` classes, and the
/// code points newer than PCRE2's Unicode tables added to \p{L}, \p{N}, \p{P}, \p{S} and
/// \p{M}. Exposed for tests.
[[nodiscard]] std::string js_pattern_to_pcre2(std::string_view js_pattern,
                                              bool newer_code_points = true);

/// True if valid UTF-8 `text` holds a code point of unicode_class_supplement().
[[nodiscard]] bool has_newer_code_points(std::string_view text) noexcept;

/// The code points (as \x{..} ranges for a character class) that JavaScript's Unicode puts
/// in the general category `category` ('L', 'N', 'P', 'S' or 'M') and PCRE2's does not.
[[nodiscard]] std::string_view unicode_class_supplement(char category) noexcept;

/// The regexes of a pre-tokenizer, in order of application.
[[nodiscard]] const std::vector<std::string_view>& pre_tokenizer_patterns(PreTokenizerKind kind);

/// A pre-tokenizer: the compiled regexes of one PreTokenizerKind.
class PreTokenizer {
 public:
  explicit PreTokenizer(PreTokenizerKind kind);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  /// Splits `text` (valid UTF-8) into words, appended to `words` in order. `scratch` is a
  /// buffer the caller keeps to avoid allocations.
  void split(std::string_view text, std::vector<Span>& words, std::vector<Span>& scratch) const;

 private:
  [[nodiscard]] const std::vector<std::unique_ptr<Regex>>& regexes_newer() const;

  PreTokenizerKind kind_;
  std::vector<std::unique_ptr<Regex>> regexes_;  ///< PCRE2's own Unicode classes.
  mutable std::once_flag newer_once_;
  mutable std::vector<std::unique_ptr<Regex>> regexes_newer_;  ///< With the newer code points.
};

/// The PreTokenizerKind a `tokenizer.ggml.pre` value names, or unset if none.
[[nodiscard]] PreTokenizerKind pre_tokenizer_from_name(std::string_view name) noexcept;

}  // namespace es::detail
