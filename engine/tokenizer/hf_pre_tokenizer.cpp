// Recognising a tokenizer.json's normalizer, pre-tokenizer and decoder.
#include <cstdio>
#include <vector>

#include "expertscope/error.h"
#include "hf_internal.h"
#include "pretokenize.h"
#include "utf8.h"

namespace es::detail {
namespace {

using nlohmann::json;

[[noreturn]] void unsupported(std::string_view file, const std::string& what) {
  throw Error(ErrorKind::unsupported, std::string(file) + ": " + what);
}

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : std::string("?");
}

bool flag(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

/// The steps of a pre-tokenizer (a Sequence flattened).
std::vector<json> steps_of(const json& pre) {
  if (type_of(pre) != "Sequence") return {pre};
  std::vector<json> steps;
  if (pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const json& s : pre["pretokenizers"]) steps.push_back(s);
  }
  return steps;
}

/// The regex of one non-final step, in canonical form.
std::string step_regex(const json& step, std::string_view file) {
  const std::string type = type_of(step);
  if (type == "Digits") return flag(step, "individual_digits", false) ? "\\p{N}" : "\\p{N}+";
  if (type != "Split") unsupported(file, "pre_tokenizer step " + type + " not supported");
  const std::string behavior = step.contains("behavior") && step["behavior"].is_string()
                                   ? step["behavior"].get<std::string>()
                                   : std::string();
  if (behavior != "Isolated" || flag(step, "invert", false)) {
    unsupported(file, "pre_tokenizer Split with behavior " + behavior + " not supported");
  }
  if (!step.contains("pattern") || !step["pattern"].is_object() ||
      !step["pattern"].contains("Regex") || !step["pattern"]["Regex"].is_string()) {
    unsupported(file, "pre_tokenizer Split without a Regex pattern not supported");
  }
  return canonical_regex(step["pattern"]["Regex"].get<std::string>());
}

}  // namespace

std::string canonical_regex(std::string_view regex) {
  constexpr std::string_view contractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
  constexpr std::string_view spelled = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
  std::string out;
  size_t i = 0;
  while (i < regex.size()) {
    if (regex.substr(i, contractions.size()) == contractions) {
      out += spelled;
      i += contractions.size();
      continue;
    }
    const auto c = static_cast<uint8_t>(regex[i]);
    if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      const uint32_t cp = utf8_next(regex, i);
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out;
}

std::string recognise_pre_tokenizer(const json& pre, std::string_view file) {
  if (pre.is_null()) unsupported(file, "a byte-level tokenizer without a pre_tokenizer");
  const std::vector<json> steps = steps_of(pre);
  if (steps.empty() || type_of(steps.back()) != "ByteLevel") {
    unsupported(file, "pre_tokenizer does not end with ByteLevel (" + type_of(pre) + ")");
  }
  const json& byte_level = steps.back();
  if (flag(byte_level, "add_prefix_space", false)) {
    unsupported(file, "pre_tokenizer ByteLevel with add_prefix_space not supported");
  }
  std::vector<std::string> regexes;
  for (size_t i = 0; i + 1 < steps.size(); ++i) regexes.push_back(step_regex(steps[i], file));
  if (flag(byte_level, "use_regex", true)) {
    regexes.push_back(std::string(pre_tokenizer_patterns(PreTokenizerKind::gpt2).front()));
  }
  static const std::pair<PreTokenizerKind, const char*> known[] = {
      {PreTokenizerKind::gpt2, "gpt-2"},
      {PreTokenizerKind::llama_bpe, "llama-bpe"},
      {PreTokenizerKind::qwen2, "qwen2"},
      {PreTokenizerKind::deepseek_v3, "deepseek-v3"},
      {PreTokenizerKind::deepseek_llm, "deepseek-llm"},
  };
  for (const auto& [kind, name] : known) {
    const auto& patterns = pre_tokenizer_patterns(kind);
    if (patterns.size() != regexes.size()) continue;
    bool same = true;
    for (size_t i = 0; i < patterns.size() && same; ++i) same = patterns[i] == regexes[i];
    if (same) return name;
  }
  std::string list;
  for (const std::string& r : regexes) list += (list.empty() ? "" : ", ") + quote_for_error(r, 60);
  unsupported(file, "pre_tokenizer regexes not recognised as a known pre-tokenizer: " + list);
}

std::string recognise_normalizer(const json& normalizer, std::string_view file) {
  if (normalizer.is_null()) return "none";
  const std::string type = type_of(normalizer);
  if (type == "NFC") return "nfc";
  if (type == "NFKC") return "nfkc";
  if (type == "Sequence" && normalizer.contains("normalizers") &&
      normalizer["normalizers"].is_array()) {
    const json& list = normalizer["normalizers"];
    if (list.empty()) return "none";
    if (list.size() == 1) return recognise_normalizer(list.front(), file);
  }
  unsupported(file, "normalizer " + type + " not supported (supported: NFC, NFKC, none)");
}

void check_byte_level_decoder(const json& decoder, std::string_view file) {
  if (decoder.is_null() || type_of(decoder) == "ByteLevel") return;
  unsupported(file, "decoder " + type_of(decoder) + " not supported with a byte-level model");
}

}  // namespace es::detail
