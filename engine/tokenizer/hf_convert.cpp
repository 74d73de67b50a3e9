// tokenizer.json (+ tokenizer_config.json) -> GGUF tokenizer metadata.
#include <limits>
#include <map>

#include "core/read_file.h"
#include "expertscope/error.h"
#include "expertscope/hf_tokenizer.h"
#include "expertscope/tokenizer.h"
#include "hf_internal.h"
#include "utf8.h"

namespace es {
namespace {

using nlohmann::json;

/// Ids above this are refused: a real vocabulary is far smaller, and a hostile file must
/// not make the converter allocate billions of entries.
constexpr int64_t max_token_id = (1 << 24) - 1;

[[noreturn]] void bad(std::string_view file, const std::string& what) {
  throw Error(ErrorKind::bad_input, std::string(file) + ": " + what);
}

json parse(std::string_view text, std::string_view file) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) bad(file, "not valid JSON");
  if (!j.is_object()) bad(file, "not a JSON object");
  return j;
}

/// The vocabulary being assembled: index = id.
struct Tokens {
  std::vector<std::string> text;
  std::vector<int32_t> type;
  std::map<std::string, int64_t> ids;  ///< Text -> id, for the config's special tokens.

  void put(int64_t id, const std::string& s, TokenType t) {
    if (static_cast<size_t>(id) >= text.size()) {
      text.resize(id + 1);
      type.resize(id + 1, static_cast<int32_t>(TokenType::undefined));
    }
    text[id] = s;
    type[id] = static_cast<int32_t>(t);
  }
};

int64_t read_id(const json& value, std::string_view file, const std::string& what) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
      value.get<int64_t>() > max_token_id) {
    bad(file, what + ": id is not an integer from 0 to " + std::to_string(max_token_id));
  }
  return value.get<int64_t>();
}

void read_vocab(const json& model, std::string_view file, Tokens& tokens) {
  if (!model.contains("vocab") || !model["vocab"].is_object()) bad(file, "model.vocab missing");
  std::vector<bool> seen;
  for (const auto& [text, value] : model["vocab"].items()) {
    const int64_t id = read_id(value, file, "model.vocab " + detail::quote_for_error(text));
    if (static_cast<size_t>(id) < seen.size() && seen[id]) {
      bad(file, "model.vocab: id " + std::to_string(id) + " is given to two tokens");
    }
    if (static_cast<size_t>(id) >= seen.size()) seen.resize(id + 1);
    seen[id] = true;
    tokens.put(id, text, TokenType::normal);
  }
}

void read_added_tokens(const json& root, std::string_view file, Tokens& tokens) {
  if (!root.contains("added_tokens")) return;
  if (!root["added_tokens"].is_array()) bad(file, "added_tokens is not an array");
  for (const json& a : root["added_tokens"]) {
    if (!a.is_object() || !a.contains("id") || !a.contains("content") ||
        !a["content"].is_string()) {
      bad(file, "added_tokens: an entry without id and content");
    }
    const auto content = a["content"].get<std::string>();
    const int64_t id = read_id(a["id"], file, "added token " + detail::quote_for_error(content));
    const bool special =
        a.contains("special") && a["special"].is_boolean() && a["special"].get<bool>();
    tokens.put(id, content, special ? TokenType::control : TokenType::user_defined);
  }
}

/// Fills ids no token uses, checks that texts are unique, indexes them.
void finish_tokens(std::string_view file, Tokens& tokens) {
  if (tokens.text.empty()) bad(file, "the vocabulary is empty");
  for (size_t i = 0; i < tokens.text.size(); ++i) {
    if (tokens.type[i] == static_cast<int32_t>(TokenType::undefined)) {
      tokens.text[i] = "[PAD" + std::to_string(i) + "]";
      tokens.type[i] = static_cast<int32_t>(TokenType::unused);
    }
    const auto [it, inserted] = tokens.ids.emplace(tokens.text[i], static_cast<int64_t>(i));
    if (!inserted) {
      bad(file, "token " + detail::quote_for_error(tokens.text[i]) + " has two ids (" +
                    std::to_string(it->second) + " and " + std::to_string(i) + ")");
    }
  }
}

std::vector<std::string> read_merges(const json& model, std::string_view file) {
  if (!model.contains("merges") || !model["merges"].is_array()) bad(file, "model.merges missing");
  std::vector<std::string> merges;
  merges.reserve(model["merges"].size());
  for (const json& m : model["merges"]) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      const auto left = m[0].get<std::string>(), right = m[1].get<std::string>();
      if (left.find(' ') != std::string::npos || right.find(' ') != std::string::npos) {
        throw Error(ErrorKind::unsupported,
                    std::string(file) + ": model.merges: a merge part holds a space");
      }
      merges.push_back(left + " " + right);
    } else {
      bad(file, "model.merges: an entry is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return merges;
}

void check_model(const json& model, std::string_view file) {
  const std::string type =
      model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "?";
  if (type != "BPE") {
    throw Error(ErrorKind::unsupported,
                std::string(file) + ": model type " + type + " not supported (supported: BPE)");
  }
  auto non_empty = [&](const char* key) {
    return model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty();
  };
  if (non_empty("continuing_subword_prefix") || non_empty("end_of_word_suffix")) {
    throw Error(ErrorKind::unsupported,
                std::string(file) + ": BPE with subword prefixes or suffixes not supported");
  }
  if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() &&
      model["byte_fallback"].get<bool>()) {
    throw Error(ErrorKind::unsupported,
                std::string(file) +
                    ": BPE with byte_fallback (SentencePiece-style) not supported "
                    "by the converter; convert it with llama.cpp");
  }
}

/// The content of a config token entry: a string or {"content": ...}; empty for null.
std::string config_token(const json& cfg, const char* key, std::string_view file) {
  if (!cfg.contains(key) || cfg[key].is_null()) return {};
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  bad(file, std::string(key) + " is neither a string nor a token object");
}

void add_config(const json& cfg, std::string_view file, const Tokens& tokens,
                MetadataEntries& out) {
  static const std::pair<const char*, const char*> specials[] = {
      {"bos_token", "tokenizer.ggml.bos_token_id"},
      {"eos_token", "tokenizer.ggml.eos_token_id"},
      {"unk_token", "tokenizer.ggml.unknown_token_id"},
      {"pad_token", "tokenizer.ggml.padding_token_id"},
  };
  for (const auto& [key, gguf_key] : specials) {
    const std::string content = config_token(cfg, key, file);
    if (content.empty()) continue;
    const auto it = tokens.ids.find(content);
    if (it == tokens.ids.end()) {
      bad(file, std::string(key) + " " + detail::quote_for_error(content) + " is not a token");
    }
    out.emplace_back(gguf_key, gguf::Value(static_cast<uint32_t>(it->second)));
  }
  for (const char* key : {"add_bos_token", "add_eos_token"}) {
    if (cfg.contains(key) && cfg[key].is_boolean()) {
      out.emplace_back(std::string("tokenizer.ggml.") + key, gguf::Value(cfg[key].get<bool>()));
    }
  }
  const json& clean = cfg.contains("clean_up_tokenization_spaces")
                          ? cfg["clean_up_tokenization_spaces"]
                          : json(true);  // transformers' default.
  out.emplace_back(std::string(tokenizer_keys::clean_up_spaces),
                   gguf::Value(clean.is_boolean() ? clean.get<bool>() : true));
  if (!cfg.contains("chat_template")) return;
  const json& ct = cfg["chat_template"];
  if (ct.is_string()) {
    out.emplace_back("tokenizer.chat_template", gguf::Value(ct.get<std::string>()));
  } else if (ct.is_array()) {  // [{"name": ..., "template": ...}]: "default" is the main one.
    for (const json& t : ct) {
      if (!t.is_object() || !t.contains("name") || !t.contains("template") ||
          !t["name"].is_string() || !t["template"].is_string()) {
        bad(file, "chat_template: an entry without name and template");
      }
      const auto name = t["name"].get<std::string>();
      out.emplace_back(name == "default" ? std::string("tokenizer.chat_template")
                                         : "tokenizer.chat_template." + name,
                       gguf::Value(t["template"].get<std::string>()));
    }
  } else if (!ct.is_null()) {
    bad(file, "chat_template is neither a string nor a list");
  }
}

}  // namespace

MetadataEntries convert_hf_tokenizer(std::string_view tokenizer_json, std::string_view config_json,
                                     std::string_view json_name, std::string_view config_name) {
  const json root = parse(tokenizer_json, json_name);
  const json cfg = config_json.empty() ? json::object() : parse(config_json, config_name);
  if (!root.contains("model") || !root["model"].is_object()) bad(json_name, "model missing");
  const json& model = root["model"];
  check_model(model, json_name);
  const json null_json;
  auto part = [&](const char* key) -> const json& {
    return root.contains(key) ? root[key] : null_json;
  };
  const std::string pre = detail::recognise_pre_tokenizer(part("pre_tokenizer"), json_name);
  const std::string normalizer = detail::recognise_normalizer(part("normalizer"), json_name);
  detail::check_byte_level_decoder(part("decoder"), json_name);

  Tokens tokens;
  read_vocab(model, json_name, tokens);
  read_added_tokens(root, json_name, tokens);
  finish_tokens(json_name, tokens);
  std::vector<std::string> merges = read_merges(model, json_name);

  MetadataEntries out;
  out.emplace_back("tokenizer.ggml.model", gguf::Value("gpt2"));
  out.emplace_back("tokenizer.ggml.pre", gguf::Value(pre));
  out.emplace_back("tokenizer.ggml.tokens", gguf::string_array(tokens.text));
  out.emplace_back("tokenizer.ggml.token_type", gguf::number_array<int32_t>(tokens.type));
  out.emplace_back("tokenizer.ggml.merges", gguf::string_array(merges));
  out.emplace_back(std::string(tokenizer_keys::normalizer), gguf::Value(normalizer));
  const bool ignore_merges = model.contains("ignore_merges") &&
                             model["ignore_merges"].is_boolean() &&
                             model["ignore_merges"].get<bool>();
  out.emplace_back(std::string(tokenizer_keys::ignore_merges), gguf::Value(ignore_merges));
  if (!config_json.empty()) add_config(cfg, config_name, tokens, out);
  return out;
}

MetadataEntries convert_hf_tokenizer_files(
    const std::filesystem::path& tokenizer_json,
    const std::optional<std::filesystem::path>& config_json) {
  const std::string json_text = read_whole_file(tokenizer_json);
  const std::string config_text = config_json ? read_whole_file(*config_json) : std::string();
  return convert_hf_tokenizer(json_text, config_text, tokenizer_json.string(),
                              config_json ? config_json->string() : std::string());
}

void write_hf_tokenizer_gguf(const std::filesystem::path& tokenizer_json,
                             const std::optional<std::filesystem::path>& config_json,
                             const std::filesystem::path& out) {
  gguf::Writer writer;
  for (auto& [key, value] : convert_hf_tokenizer_files(tokenizer_json, config_json)) {
    writer.set(std::move(key), std::move(value));
  }
  writer.write(out);
}

}  // namespace es
