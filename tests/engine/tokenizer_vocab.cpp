#include "tokenizer_vocab.h"

#include <algorithm>
#include <cstdio>

namespace es::test {
namespace {

uint32_t byte_code_point(uint32_t byte) {
  auto printable = [](uint32_t b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  if (printable(byte)) return byte;
  uint32_t n = 0;
  for (uint32_t b = 0; b < byte; ++b) n += printable(b) ? 0 : 1;
  return 256 + n;
}

void append_utf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {  // Byte-level code points are below 0x800.
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string byte_level(std::string_view raw) {
  std::string out;
  for (char c : raw) append_utf8(out, byte_code_point(static_cast<uint8_t>(c)));
  return out;
}

gguf::Writer VocabSpec::to_writer() const {
  gguf::Writer w;
  auto keep = [&](const std::string& key) {
    return std::find(omit.begin(), omit.end(), key) == omit.end();
  };
  auto put = [&](const std::string& key, gguf::Value v) {
    if (keep(key)) w.set(key, std::move(v));
  };
  put("general.architecture", gguf::Value("llama"));
  put("tokenizer.ggml.model", gguf::Value(model));
  if (!pre.empty()) put("tokenizer.ggml.pre", gguf::Value(pre));
  put("tokenizer.ggml.tokens", gguf::string_array(tokens));
  if (!types.empty()) put("tokenizer.ggml.token_type", gguf::number_array<int32_t>(types));
  if (!scores.empty()) put("tokenizer.ggml.scores", gguf::number_array<float>(scores));
  if (model == "gpt2") put("tokenizer.ggml.merges", gguf::string_array(merges));
  for (const auto& [k, v] : extra) put(k, v);
  return w;
}

VocabSpec bpe_vocab(const std::vector<std::pair<std::string, std::string>>& merges,
                    const std::vector<std::pair<std::string, TokenType>>& specials) {
  VocabSpec s;
  for (uint32_t b = 0; b < 256; ++b) {
    s.tokens.push_back(byte_level(std::string(1, static_cast<char>(b))));
    s.types.push_back(static_cast<int32_t>(TokenType::normal));
  }
  for (const auto& [l, r] : merges) {
    s.merges.push_back(byte_level(l) + " " + byte_level(r));
    const std::string joined = byte_level(l + r);
    if (s.id(joined) < 0) {
      s.tokens.push_back(joined);
      s.types.push_back(static_cast<int32_t>(TokenType::normal));
    }
  }
  for (const auto& [text, type] : specials) {
    s.tokens.push_back(text);
    s.types.push_back(static_cast<int32_t>(type));
  }
  return s;
}

VocabSpec spm_vocab(const std::vector<std::pair<std::string, float>>& pieces) {
  VocabSpec s;
  s.model = "llama";
  s.pre = "";
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {static_cast<int32_t>(TokenType::unknown), static_cast<int32_t>(TokenType::control),
             static_cast<int32_t>(TokenType::control)};
  s.scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    s.tokens.emplace_back(name);
    s.types.push_back(static_cast<int32_t>(TokenType::byte));
    s.scores.push_back(0);
  }
  for (const auto& [text, score] : pieces) {
    s.tokens.push_back(text);
    s.types.push_back(static_cast<int32_t>(TokenType::normal));
    s.scores.push_back(score);
  }
  return s;
}

Tokenizer load(const VocabSpec& spec) {
  const std::vector<uint8_t> bytes = spec.to_bytes();
  const auto file = gguf::File::from_memory(bytes, "test.gguf");
  return Tokenizer::from_gguf(file);
}

}  // namespace es::test
