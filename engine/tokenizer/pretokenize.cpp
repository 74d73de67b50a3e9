#include "pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <mutex>
#include <string>

#include "expertscope/error.h"
#include "utf8.h"

namespace es::detail {
namespace {

/// JavaScript's \s: WhiteSpace and LineTerminator (ECMA-262), i.e. TAB, LF, VT, FF, CR,
/// the Z categories (Zs, U+2028, U+2029) and U+FEFF.
constexpr std::string_view js_space_class_body = R"(\t\n\x0B\f\r\p{Z}\x{FEFF})";

// Patterns as tokenizer.json holds them (JavaScript dialect).
constexpr std::string_view gpt2_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view llama3_pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view qwen2_pattern =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)"
    R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view deepseek_v3_digits = R"(\p{N}{1,3})";
// 一-龥, ぀-ゟ, ゠-ヿ: CJK ideographs, hiragana, katakana.
constexpr std::string_view deepseek_v3_cjk =
    R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)";
constexpr std::string_view deepseek_v3_words =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|)"
    R"( ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// DeepSeek LLM (and V2): cased letters of many scripts, ASCII and full-width punctuation,
// trailing spaces, CJK and Hangul, digits.
constexpr std::string_view deepseek_llm_newline = R"([\r\n])";
constexpr std::string_view deepseek_llm_letters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
    R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
    R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})"
    R"(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})"
    R"(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})"
    R"(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})"
    R"(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
    R"(\x{1E900}-\x{1E943}]+)";
constexpr std::string_view deepseek_llm_punct =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
constexpr std::string_view deepseek_llm_trailing = R"(\s+$)";
constexpr std::string_view deepseek_llm_cjk =
    R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
constexpr std::string_view deepseek_llm_digits = R"(\p{N}+)";

/// Per-thread PCRE2 state: match data for the whole-match offsets and a JIT stack large
/// enough for long runs of one character class.
struct ThreadState {
  pcre2_match_data* match = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* context = nullptr;
  ThreadState() {
    match = pcre2_match_data_create(1, nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    if (context != nullptr && stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(match);
  }
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
};

ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

}  // namespace

std::string js_pattern_to_pcre2(std::string_view js, bool newer_code_points) {
  std::string out;
  out.reserve(js.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < js.size(); ++i) {
    const char c = js[i];
    if (c == '\\' && i + 1 < js.size()) {
      const char e = js[++i];
      const std::string_view category = js.substr(i + 1, 3);  // "{L}" of "\\p{L}".
      if (newer_code_points && e == 'p' && category.size() == 3 && category[0] == '{' &&
          category[2] == '}' && !unicode_class_supplement(category[1]).empty()) {
        const std::string body =
            "\\p" + std::string(category) + std::string(unicode_class_supplement(category[1]));
        out += in_class ? body : "[" + body + "]";
        i += 3;
      } else if (e == 's') {
        out += in_class ? std::string(js_space_class_body)
                        : "[" + std::string(js_space_class_body) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(js_space_class_body) + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' or '^]' right after '[' would be literal in PCRE2 but not in JS; the
      // patterns here never start a class that way.
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view js_pattern, bool newer_code_points) {
  const std::string pattern = js_pattern_to_pcre2(js_pattern, newer_code_points);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (code == nullptr) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(error, msg.data(), msg.size());
    throw Error(ErrorKind::unset, "tokenizer: pre-tokenizer regex does not compile at offset " +
                                      std::to_string(offset) + ": " +
                                      reinterpret_cast<const char*>(msg.data()));
  }
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  code_ = code;
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

void Regex::split(std::string_view text, Span piece, std::vector<Span>& out) const {
  auto* code = static_cast<pcre2_code*>(code_);
  ThreadState& ts = thread_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + piece.begin);
  const size_t n = piece.end - piece.begin;
  size_t pos = 0, prev = 0;
  while (pos < n) {
    const int rc =
        jit_ ? pcre2_jit_match(code, subject, n, pos, 0, ts.match, ts.context)
             : pcre2_match(code, subject, n, pos, PCRE2_NO_UTF_CHECK, ts.match, ts.context);
    if (rc < 0) break;  // No match (or a resource limit): the rest is one gap.
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.match);
    const size_t start = ov[0], end = ov[1];
    if (start > prev) out.push_back({piece.begin + uint32_t(prev), piece.begin + uint32_t(start)});
    if (end > start) {
      out.push_back({piece.begin + uint32_t(start), piece.begin + uint32_t(end)});
      pos = end;
      prev = end;
    } else {
      // An empty match: step over one character, as JavaScript's matchAll does.
      if (start >= n) break;
      pos = start + utf8_seq_len(static_cast<uint8_t>(subject[start]));
      prev = start;
    }
  }
  if (prev < n) out.push_back({piece.begin + uint32_t(prev), piece.end});
}

const std::vector<std::string_view>& pre_tokenizer_patterns(PreTokenizerKind kind) {
  static const std::vector<std::string_view> gpt2 = {gpt2_pattern};
  static const std::vector<std::string_view> llama3 = {llama3_pattern};
  static const std::vector<std::string_view> qwen2 = {qwen2_pattern};
  static const std::vector<std::string_view> deepseek_v3 = {deepseek_v3_digits, deepseek_v3_cjk,
                                                            deepseek_v3_words};
  static const std::vector<std::string_view> deepseek_llm = {
      deepseek_llm_newline,  deepseek_llm_letters, deepseek_llm_punct,
      deepseek_llm_trailing, deepseek_llm_cjk,     deepseek_llm_digits};
  switch (kind) {
    case PreTokenizerKind::llama_bpe:
      return llama3;
    case PreTokenizerKind::qwen2:
      return qwen2;
    case PreTokenizerKind::deepseek_v3:
      return deepseek_v3;
    case PreTokenizerKind::deepseek_llm:
      return deepseek_llm;
    case PreTokenizerKind::gpt2:
    case PreTokenizerKind::olmo:
    case PreTokenizerKind::unset:
      break;
  }
  return gpt2;
}

PreTokenizer::PreTokenizer(PreTokenizerKind kind) : kind_(kind) {
  for (std::string_view p : pre_tokenizer_patterns(kind)) {
    regexes_.push_back(std::make_unique<Regex>(p, false));
  }
}

PreTokenizer::~PreTokenizer() = default;

const std::vector<std::unique_ptr<Regex>>& PreTokenizer::regexes_newer() const {
  // Compiled on first use: most texts never need them, and they take longest to compile.
  std::call_once(newer_once_, [this] {
    for (std::string_view p : pre_tokenizer_patterns(kind_)) {
      regexes_newer_.push_back(std::make_unique<Regex>(p, true));
    }
  });
  return regexes_newer_;
}

void PreTokenizer::split(std::string_view text, std::vector<Span>& words,
                         std::vector<Span>& scratch) const {
  if (text.empty()) return;
  // The classes with the newer code points spelled out are slower; most text has none.
  const auto& regexes = has_newer_code_points(text) ? regexes_newer() : regexes_;
  const Span whole{0, static_cast<uint32_t>(text.size())};
  if (regexes.size() == 1) {
    regexes.front()->split(text, whole, words);
    return;
  }
  scratch.clear();
  scratch.push_back(whole);
  thread_local std::vector<Span> next;
  for (size_t r = 0; r < regexes.size(); ++r) {
    std::vector<Span>& dst = r + 1 == regexes.size() ? words : next;
    if (&dst == &next) next.clear();
    for (const Span& piece : scratch) regexes[r]->split(text, piece, dst);
    if (&dst == &next) scratch.swap(next);
  }
}

PreTokenizerKind pre_tokenizer_from_name(std::string_view name) noexcept {
  if (name.empty() || name == "gpt-2" || name == "default") return PreTokenizerKind::gpt2;
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") {
    return PreTokenizerKind::llama_bpe;
  }
  if (name == "qwen2") return PreTokenizerKind::qwen2;
  if (name == "deepseek-v3") return PreTokenizerKind::deepseek_v3;
  if (name == "deepseek-llm") return PreTokenizerKind::deepseek_llm;
  if (name == "olmo") return PreTokenizerKind::olmo;
  return PreTokenizerKind::unset;
}

}  // namespace es::detail
