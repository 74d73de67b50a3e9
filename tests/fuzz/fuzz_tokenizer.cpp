// libFuzzer target for the tokenizer: any bytes, as text, must encode to ids in range and
// decode back to the text (as repaired to valid UTF-8, and NFC-normalised where the
// vocabulary asks), the streaming decoder must give exactly decode()'s text in valid UTF-8
// pieces, and any ids must decode to valid UTF-8. Never a crash, an out-of-bounds access
// or a hang.
//
// The first input byte picks a tokenizer (0xF0 and up: the rest of the input is a GGUF
// whose tokenizer metadata is loaded, valid or not): byte-level BPE with each
// pre-tokenizer, one with NFC, a SentencePiece one (synthetic vocabularies built here with the GGUF
// writer), or the GGUF named by ES_FUZZ_TOKENIZER_GGUF (e.g. a converted Qwen3 tokenizer:
//   expertscope-cli convert-tokenizer tokenizer.json tokenizer_config.json -o qwen3.gguf
//   ES_FUZZ_TOKENIZER_GGUF=qwen3.gguf build/fuzz/bin/fuzz_tokenizer -max_total_time=600
// ). The rest of the input is the text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "expertscope/tokenizer.h"

namespace {

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string byte_level(const std::string& raw) {
  std::string out;
  for (const char c : raw) {
    const auto b = static_cast<uint8_t>(c);
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    uint32_t n = 0;
    if (!printable) {
      for (uint32_t x = 0; x < b; ++x) {
        n += (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE ? 0 : 1;
      }
    }
    out += utf8(printable ? b : 256 + n);
  }
  return out;
}

es::Tokenizer load(const es::gguf::Writer& w) {
  const std::vector<uint8_t> bytes = w.to_bytes();
  const auto file = es::gguf::File::from_memory(bytes, "fuzz-vocab.gguf");
  return es::Tokenizer::from_gguf(file);
}

es::Tokenizer bpe(const char* pre, const char* normalizer) {
  const char* pairs[][2] = {
      {" ", "t"},  {"t", "h"},   {" t", "h"}, {"th", "e"}, {" th", "e"},     {"i", "n"},
      {"in", "g"}, {" ", "a"},   {"e", "r"},  {"o", "n"},  {"\xC3", "\xA9"}, {"\xE4", "\xB8"},
      {" ", " "},  {"  ", "  "}, {"1", "2"},  {"12", "3"}, {"\n", "\n"},     {"\xF0", "\x9F"}};
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
  for (int b = 0; b < 256; ++b) tokens.push_back(byte_level(std::string(1, static_cast<char>(b))));
  for (const auto& p : pairs) {
    merges.push_back(byte_level(p[0]) + " " + byte_level(p[1]));
    const std::string joined = byte_level(std::string(p[0]) + p[1]);
    bool known = false;
    for (const auto& t : tokens) known = known || t == joined;
    if (!known) tokens.push_back(joined);
  }
  types.assign(tokens.size(), 1);
  for (const char* s : {"<|im_start|>", "<|im_end|>", "<|a|>", "<|ab|>"}) {
    tokens.emplace_back(s);
    types.push_back(3);
  }
  tokens.emplace_back("<think>");
  types.push_back(4);
  es::gguf::Writer w;
  w.set("tokenizer.ggml.model", es::gguf::Value("gpt2"));
  w.set("tokenizer.ggml.pre", es::gguf::Value(pre));
  w.set("tokenizer.ggml.tokens", es::gguf::string_array(tokens));
  w.set("tokenizer.ggml.token_type", es::gguf::number_array<int32_t>(types));
  w.set("tokenizer.ggml.merges", es::gguf::string_array(merges));
  w.set("tokenizer.expertscope.normalizer", es::gguf::Value(normalizer));
  return load(w);
}

es::Tokenizer spm() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    tokens.emplace_back(name);
    types.push_back(6);
    scores.push_back(0);
  }
  const char* pieces[] = {
      "\xE2\x96\x81",    "a",  "b",   "c",       "t", "h", "e", "\xE2\x96\x81t", "\xE2\x96\x81th",
      "\xE2\x96\x81the", "ab", "abc", "\xC3\xA9"};
  float score = -1;
  for (const char* p : pieces) {
    tokens.emplace_back(p);
    types.push_back(1);
    scores.push_back(score -= 0.5f);
  }
  es::gguf::Writer w;
  w.set("tokenizer.ggml.model", es::gguf::Value("llama"));
  w.set("tokenizer.ggml.tokens", es::gguf::string_array(tokens));
  w.set("tokenizer.ggml.token_type", es::gguf::number_array<int32_t>(types));
  w.set("tokenizer.ggml.scores", es::gguf::number_array<float>(scores));
  return load(w);
}

struct Vocabularies {
  std::vector<std::unique_ptr<es::Tokenizer>> all;
  Vocabularies() {
    for (const char* pre : {"gpt-2", "llama-bpe", "qwen2", "deepseek-v3", "deepseek-llm", "olmo"}) {
      all.push_back(std::make_unique<es::Tokenizer>(bpe(pre, "none")));
    }
    all.push_back(std::make_unique<es::Tokenizer>(bpe("qwen2", "nfc")));
    all.push_back(std::make_unique<es::Tokenizer>(spm()));
    if (const char* path = std::getenv("ES_FUZZ_TOKENIZER_GGUF")) {
      const auto file = es::gguf::File::open(path);
      all.push_back(std::make_unique<es::Tokenizer>(es::Tokenizer::from_gguf(file)));
    }
  }
};

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    const size_t n = b < 0x80                ? 1
                     : b >= 0xC2 && b < 0xE0 ? 2
                     : b >= 0xE0 && b < 0xF0 ? 3
                     : b >= 0xF0 && b < 0xF5 ? 4
                                             : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7Fu >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += n;
  }
  return true;
}

void check(bool ok) {
  if (!ok) __builtin_trap();
}

/// `s` with each maximal ill-formed UTF-8 subpart replaced by U+FFFD (an implementation
/// independent of the engine's, by Unicode Table 3-7).
std::string repaired(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      out += s[i++];
      continue;
    }
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    if (b >= 0xE0 && b <= 0xEF) need = 2;
    if (b >= 0xF0 && b <= 0xF4) need = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    size_t j = i + 1;
    while (need > 0 && j < s.size() && static_cast<uint8_t>(s[j]) >= lo &&
           static_cast<uint8_t>(s[j]) <= hi) {
      ++j;
      --need;
      lo = 0x80;
      hi = 0xBF;
    }
    if (need == 0 && j > i + 1) {
      out.append(s, i, j - i);
    } else {
      out += "\xEF\xBF\xBD";
    }
    i = j;
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) {
    s.replace(p, from.size(), to);
  }
  return s;
}

/// The input as a GGUF file: loading its tokenizer metadata must succeed or throw an
/// es::Error, and a loaded tokenizer must work.
void fuzz_metadata(const uint8_t* data, size_t size) {
  try {
    const auto file = es::gguf::File::from_memory({data, size}, "fuzz.gguf");
    const es::Tokenizer tok = es::Tokenizer::from_gguf(file);
    const std::vector<es::TokenId> ids =
        tok.encode("Hello <|im_start|> w\xC3\xB6rld 123 \xF0\x9F\x98\x80");
    for (const es::TokenId id : ids) check(id >= 0 && static_cast<uint32_t>(id) < tok.n_tokens());
    check(valid_utf8(tok.decode(ids)));
  } catch (const es::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Vocabularies vocabularies;
  if (size == 0) return 0;
  if (data[0] >= 0xF0) {  // Hostile vocabulary metadata.
    fuzz_metadata(data + 1, size - 1);
    return 0;
  }
  const es::Tokenizer& tok = *vocabularies.all[data[0] % vocabularies.all.size()];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool spm = tok.kind() == es::TokenizerKind::spm;

  es::EncodeOptions options;
  options.parse_special = !spm;  // SentencePiece adds a space after special tokens.
  const std::vector<es::TokenId> ids = tok.encode(text, options);
  for (const es::TokenId id : ids) check(id >= 0 && static_cast<uint32_t>(id) < tok.n_tokens());
  const std::string decoded = tok.decode(ids);
  check(valid_utf8(decoded));

  // Round trip: the text as valid UTF-8; SentencePiece reads U+2581 as a space; with a
  // normaliser the text may change where it has characters from U+0300 up, and the result
  // is stable.
  const std::string valid = repaired(text);
  if (spm) {
    check(decoded == replace_all(valid, "\xE2\x96\x81", " "));
  } else if (tok.normalization() == es::Normalization::none) {
    check(decoded == valid);
  } else {
    bool may_normalize = false;
    for (const char c : valid) may_normalize = may_normalize || static_cast<uint8_t>(c) >= 0xCC;
    check(may_normalize || decoded == valid);
    check(tok.decode(tok.encode(decoded, options)) == decoded);
  }

  es::StreamingDecoder stream(tok);
  std::string streamed;
  for (const es::TokenId id : ids) {
    const std::string piece = stream.push(id);
    check(valid_utf8(piece));
    streamed += piece;
  }
  streamed += stream.flush();
  check(streamed == decoded);

  // Arbitrary ids (out of range included) decode to valid UTF-8, streamed or not.
  std::vector<es::TokenId> any;
  for (size_t i = 1; i + 2 <= size && any.size() < 64; i += 2) {
    any.push_back(static_cast<es::TokenId>((data[i] | (data[i + 1] << 8)) % (tok.n_tokens() + 8)));
  }
  const std::string any_text = tok.decode(any);
  check(valid_utf8(any_text));
  std::string any_streamed;
  for (const es::TokenId id : any) any_streamed += stream.push(id);
  any_streamed += stream.flush();
  check(any_streamed == any_text);
  return 0;
}
