// Converts a Hugging Face tokenizer (tokenizer.json, optionally tokenizer_config.json) into
// the GGUF `tokenizer.*` metadata es::Tokenizer reads, so a real tokenizer can be paired
// with any GGUF (and tests can check the engine against Hugging Face on real vocabularies).
//
// What is written: tokenizer.ggml.model ("gpt2"), .pre (recognised from the pre_tokenizer's
// regexes), .tokens (index = id; ids no token uses become "[PAD<id>]" of type unused),
// .token_type (vocabulary tokens normal, added tokens control when special and
// user-defined otherwise), .merges ("left right"), the special ids and add_bos_token /
// add_eos_token named by the config, tokenizer.chat_template from the config, and our keys
// tokenizer.expertscope.normalizer / .ignore_merges / .clean_up_spaces.
//
// A tokenizer whose pieces this engine cannot reproduce (a Unigram or WordPiece model, a
// pre-tokenizer or normalizer not known here) is refused with an es::Error of kind
// unsupported naming the part; malformed JSON or inconsistent content is bad_input. Both
// name the file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expertscope/gguf.h"

namespace es {

/// The metadata entries of a converted tokenizer, in writing order.
using MetadataEntries = std::vector<std::pair<std::string, gguf::Value>>;

/// Converts the text of a tokenizer.json (and of a tokenizer_config.json; empty: none).
/// `json_name` and `config_name` stand for the files in error messages.
[[nodiscard]] MetadataEntries convert_hf_tokenizer(std::string_view tokenizer_json,
                                                   std::string_view config_json,
                                                   std::string_view json_name,
                                                   std::string_view config_name);

/// Reads the files and converts them (io errors name the path).
[[nodiscard]] MetadataEntries convert_hf_tokenizer_files(
    const std::filesystem::path& tokenizer_json,
    const std::optional<std::filesystem::path>& config_json);

/// Converts and writes a GGUF holding only the tokenizer metadata (no tensors),
/// atomically: on any error no file is left at `out`.
void write_hf_tokenizer_gguf(const std::filesystem::path& tokenizer_json,
                             const std::optional<std::filesystem::path>& config_json,
                             const std::filesystem::path& out);

}  // namespace es
