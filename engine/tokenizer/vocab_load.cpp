// Reading and validating the tokenizer metadata of a GGUF file.
#include <atomic>
#include <limits>
#include <string>

#include "expertscope/error.h"
#include "utf8.h"
#include "vocab.h"

namespace es::detail {
namespace {

constexpr std::string_view key_model = "tokenizer.ggml.model";
constexpr std::string_view key_pre = "tokenizer.ggml.pre";
constexpr std::string_view key_tokens = "tokenizer.ggml.tokens";
constexpr std::string_view key_types = "tokenizer.ggml.token_type";
constexpr std::string_view key_scores = "tokenizer.ggml.scores";
constexpr std::string_view key_merges = "tokenizer.ggml.merges";

/// Throws an es::Error "<file>: <key>: <what>".
[[noreturn]] void fail(const gguf::File& file, ErrorKind kind, std::string_view key,
                       const std::string& what) {
  throw Error(kind, file.name() + ": " + std::string(key) + ": " + what);
}

void read_kind(const gguf::File& file, Vocab& v) {
  const auto model = file.get_string(key_model);
  if (!model) fail(file, ErrorKind::bad_input, key_model, "missing: the file has no tokenizer");
  v.model_name = std::string(*model);
  if (*model == "gpt2") {
    v.kind = TokenizerKind::bpe;
  } else if (*model == "llama") {
    v.kind = TokenizerKind::spm;
  } else {
    fail(file, ErrorKind::unsupported, key_model,
         "tokenizer model " + quote_for_error(*model) + " not supported (supported: gpt2, llama)");
  }
  const auto pre = file.get_string(key_pre);
  v.pre_name = pre ? std::string(*pre) : std::string();
  if (v.kind == TokenizerKind::bpe) {
    v.pre = pre_tokenizer_from_name(v.pre_name);
    if (v.pre == PreTokenizerKind::unset) {
      fail(file, ErrorKind::unsupported, key_pre,
           "pre-tokenizer " + quote_for_error(v.pre_name) +
               " not supported (supported: gpt-2, llama-bpe, qwen2, deepseek-v3, "
               "deepseek-llm, olmo)");
    }
  }
}

gguf::ArrayRef require_array(const gguf::File& file, std::string_view key, gguf::ValueType elem) {
  const auto arr = file.get_array(key);
  if (!arr) fail(file, ErrorKind::bad_input, key, "missing");
  if (arr->elem_type() != elem) {
    fail(file, ErrorKind::bad_input, key,
         "expected an array of " + std::string(gguf::value_type_name(elem)) + ", found " +
             std::string(gguf::value_type_name(arr->elem_type())));
  }
  return *arr;
}

void read_tokens(const gguf::File& file, Vocab& v) {
  const gguf::ArrayRef arr = require_array(file, key_tokens, gguf::ValueType::string);
  const uint64_t n = arr.size();
  if (n == 0) fail(file, ErrorKind::bad_input, key_tokens, "the vocabulary is empty");
  if (n >= static_cast<uint64_t>(std::numeric_limits<TokenId>::max())) {
    fail(file, ErrorKind::bad_input, key_tokens, std::to_string(n) + " tokens is too many");
  }
  v.texts.reserve(n);
  for (uint64_t i = 0; i < n; ++i) v.texts.emplace_back(*arr.string_at(i));
}

void read_types(const gguf::File& file, Vocab& v) {
  const auto arr = file.get_array(key_types);
  v.types.assign(v.size(), TokenType::normal);
  if (!arr) return;
  if (arr->size() != v.size()) {
    fail(file, ErrorKind::bad_input, key_types,
         "has " + std::to_string(arr->size()) + " entries but " + std::string(key_tokens) +
             " has " + std::to_string(v.size()));
  }
  for (uint32_t i = 0; i < v.size(); ++i) {
    const auto t = arr->at(i).as_int();
    if (!t || *t < 0 || *t > static_cast<int64_t>(TokenType::byte)) {
      fail(file, ErrorKind::bad_input, key_types,
           "entry " + std::to_string(i) + " is not a token type (0 to 6)");
    }
    v.types[i] = static_cast<TokenType>(*t);
  }
}

void read_scores(const gguf::File& file, Vocab& v) {
  const auto arr = file.get_array(key_scores);
  if (!arr) return;
  if (arr->size() != v.size()) {
    fail(file, ErrorKind::bad_input, key_scores,
         "has " + std::to_string(arr->size()) + " entries but " + std::string(key_tokens) +
             " has " + std::to_string(v.size()));
  }
  v.scores.resize(v.size());
  for (uint32_t i = 0; i < v.size(); ++i) {
    const auto s = arr->at(i).as_float();
    if (!s)
      fail(file, ErrorKind::bad_input, key_scores,
           "entry " + std::to_string(i) + " is not a number");
    v.scores[i] = static_cast<float>(*s);
  }
}

void index_texts(const gguf::File& file, Vocab& v) {
  v.text_to_id.reserve(v.size());
  for (uint32_t i = 0; i < v.size(); ++i) {
    const TokenId first = v.text_to_id.emplace(v.texts[i], static_cast<TokenId>(i));
    if (first == static_cast<TokenId>(i)) continue;
    if (v.types[i] == TokenType::unused || v.types[first] == TokenType::unused) continue;
    fail(file, ErrorKind::bad_input, key_tokens,
         "token " + std::to_string(i) + " " + quote_for_error(v.texts[i]) + " duplicates token " +
             std::to_string(first));
  }
}

/// "<0xAB>" -> 0xAB, or -1.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void build_bpe_pieces(Vocab& v) {
  v.bytes.resize(v.size());
  std::string decoded;
  // Vocabulary tokens first, then added tokens over them (Hugging Face's order).
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < v.size(); ++i) {
      const TokenType t = v.types[i];
      const bool plain = t == TokenType::normal || t == TokenType::undefined;
      const bool added =
          t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown;
      if (pass == 0 && plain) {
        if (byte_level_decode(v.texts[i], decoded)) {
          v.bytes[i] = decoded;
          v.piece_to_id.insert_or_assign(decoded, static_cast<TokenId>(i));
        } else {
          v.bytes[i] = v.texts[i];  // Not byte-level text: decodes as written.
        }
      } else if (pass == 1 && added) {
        v.bytes[i] = v.texts[i];
        if (byte_level_decode(v.texts[i], decoded)) {
          v.piece_to_id.insert_or_assign(decoded, static_cast<TokenId>(i));
        }
      } else if (pass == 1 && t == TokenType::byte) {
        v.bytes[i] = v.texts[i];
      }
    }
  }
  v.byte_token.fill(no_token);
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    v.byte_token[b] = v.piece_to_id.find(std::string_view(&c, 1));
  }
}

void build_spm_pieces(const gguf::File& file, Vocab& v) {
  v.bytes.resize(v.size());
  v.byte_token.fill(no_token);
  for (uint32_t i = 0; i < v.size(); ++i) {
    const TokenType t = v.types[i];
    const std::string& text = v.texts[i];
    if (t == TokenType::byte) {
      const int b = parse_byte_token(text);
      if (b < 0) {
        fail(file, ErrorKind::bad_input, key_tokens,
             "token " + std::to_string(i) + " " + quote_for_error(text) +
                 " has type byte but is not <0xHH>");
      }
      v.bytes[i] = std::string(1, static_cast<char>(b));
      if (v.byte_token[b] == no_token) v.byte_token[b] = static_cast<TokenId>(i);
      continue;
    }
    if (t == TokenType::unused) continue;
    std::string piece;
    piece.reserve(text.size());
    for (size_t k = 0; k < text.size();) {
      if (text.compare(k, 3, "\xE2\x96\x81") == 0) {
        piece += ' ';
        k += 3;
      } else {
        piece += text[k++];
      }
    }
    v.bytes[i] = std::move(piece);
    if (t == TokenType::normal || t == TokenType::user_defined || t == TokenType::undefined) {
      v.piece_to_id.emplace(text, static_cast<TokenId>(i));
    }
  }
}

void read_merges(const gguf::File& file, Vocab& v) {
  const gguf::ArrayRef arr = require_array(file, key_merges, gguf::ValueType::string);
  if (arr.size() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    fail(file, ErrorKind::bad_input, key_merges, "too many merges");
  }
  v.merges.reserve(arr.size());
  std::string joined;
  for (uint64_t i = 0; i < arr.size(); ++i) {
    const std::string_view m = *arr.string_at(i);
    auto where = [&] { return "merge " + std::to_string(i) + " " + quote_for_error(m); };
    const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) {
      fail(file, ErrorKind::bad_input, key_merges, where() + " is not two tokens and a space");
    }
    const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
    const TokenId l = v.text_to_id.find(left), r = v.text_to_id.find(right);
    if (l == no_token || r == no_token) {
      fail(file, ErrorKind::bad_input, key_merges,
           where() + " names an unknown token " + quote_for_error(l == no_token ? left : right));
    }
    joined.assign(left);
    joined.append(right);
    const TokenId result = v.text_to_id.find(joined);
    if (result == no_token) {
      fail(file, ErrorKind::bad_input, key_merges, where() + " makes a string that is not a token");
    }
    // A repeated pair takes its last rank, as Hugging Face's rank map does.
    v.merges.put(pair_key(l, r), {static_cast<int32_t>(i), result});
  }
}

TokenId read_special_id(const gguf::File& file, const Vocab& v, std::string_view key,
                        TokenId fallback) {
  const auto id = file.get_int(key);
  if (!id) return fallback;
  if (*id == -1) return no_token;  // Some writers store -1 for "none".
  if (*id < 0 || *id >= static_cast<int64_t>(v.size())) {
    fail(file, ErrorKind::bad_input, key,
         "token id " + std::to_string(*id) + " is out of range (the vocabulary has " +
             std::to_string(v.size()) + " tokens)");
  }
  return static_cast<TokenId>(*id);
}

void read_special_ids(const gguf::File& file, Vocab& v) {
  const bool spm = v.kind == TokenizerKind::spm;
  auto def = [&](TokenId id) { return spm && v.valid(id) ? id : no_token; };
  v.bos = read_special_id(file, v, "tokenizer.ggml.bos_token_id", def(1));
  v.eos = read_special_id(file, v, "tokenizer.ggml.eos_token_id", def(2));
  v.unk = read_special_id(file, v, "tokenizer.ggml.unknown_token_id", def(0));
  v.eot = read_special_id(file, v, "tokenizer.ggml.eot_token_id", no_token);
  v.eom = read_special_id(file, v, "tokenizer.ggml.eom_token_id", no_token);
  v.pad = read_special_id(file, v, "tokenizer.ggml.padding_token_id", no_token);
  v.sep = read_special_id(file, v, "tokenizer.ggml.seperator_token_id", no_token);
  v.mask = read_special_id(file, v, "tokenizer.ggml.mask_token_id", no_token);
}

void read_flags(const gguf::File& file, Vocab& v) {
  const bool spm = v.kind == TokenizerKind::spm;
  v.add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(spm);
  v.add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  v.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(spm);
  v.ignore_merges =
      file.get_bool(tokenizer_keys::ignore_merges).value_or(v.pre == PreTokenizerKind::llama_bpe);
  v.clean_up_spaces = file.get_bool(tokenizer_keys::clean_up_spaces).value_or(false);
  const auto norm = file.get_string(tokenizer_keys::normalizer);
  if (!norm || *norm == "none" || norm->empty()) {
    v.normalization = Normalization::none;
  } else if (*norm == "nfc") {
    v.normalization = Normalization::nfc;
  } else if (*norm == "nfkc") {
    v.normalization = Normalization::nfkc;
  } else {
    fail(file, ErrorKind::unsupported, tokenizer_keys::normalizer,
         "normalizer " + quote_for_error(*norm) + " not supported (supported: nfc, nfkc, none)");
  }
  if (v.add_bos && v.bos == no_token) {
    fail(file, ErrorKind::bad_input, "tokenizer.ggml.add_bos_token",
         "is true but the file names no BOS token");
  }
  if (v.add_eos && v.eos == no_token) {
    fail(file, ErrorKind::bad_input, "tokenizer.ggml.add_eos_token",
         "is true but the file names no EOS token");
  }
}

void build_specials(Vocab& v) {
  for (uint32_t i = 0; i < v.size(); ++i) {
    const TokenType t = v.types[i];
    if ((t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown) &&
        !v.texts[i].empty()) {
      v.specials.insert(v.texts[i], static_cast<TokenId>(i));
    }
  }
}

}  // namespace

void SpecialTrie::insert(std::string_view text, TokenId id) {
  int32_t node = 0;
  for (char c : text) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
    if (const int32_t* child = edges_.get(key)) {
      node = *child;
    } else {
      const auto next = static_cast<int32_t>(node_token_.size());
      node_token_.push_back(no_token);
      edges_.put(key, next);
      node = next;
    }
  }
  node_token_[node] = id;
  first_[static_cast<uint8_t>(text.front())] = true;
}

std::pair<TokenId, size_t> SpecialTrie::longest_match(std::string_view text,
                                                      size_t pos) const noexcept {
  std::pair<TokenId, size_t> best{no_token, 0};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[i]);
    const int32_t* child = edges_.get(key);
    if (child == nullptr) break;
    node = *child;
    if (node_token_[node] != no_token) best = {node_token_[node], i + 1 - pos};
  }
  return best;
}

std::unique_ptr<Vocab> load_vocab(const gguf::File& file) {
  static std::atomic<uint64_t> next_serial{1};
  auto v = std::make_unique<Vocab>();
  v->file_name = file.name();
  v->serial = next_serial.fetch_add(1);
  read_kind(file, *v);
  read_tokens(file, *v);
  read_types(file, *v);
  read_scores(file, *v);
  index_texts(file, *v);
  if (v->kind == TokenizerKind::bpe) {
    build_bpe_pieces(*v);
    read_merges(file, *v);
    v->pre_tokenizer = std::make_unique<PreTokenizer>(v->pre);
  } else {
    build_spm_pieces(file, *v);
  }
  read_special_ids(file, *v);
  read_flags(file, *v);
  build_specials(*v);
  return v;
}

}  // namespace es::detail
