// Private to the Hugging Face converter: recognising a tokenizer.json's pipeline.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace es::detail {

/// The `tokenizer.ggml.pre` name whose regexes equal the tokenizer.json's pre_tokenizer
/// (Split steps with the Isolated behaviour, Digits, then ByteLevel). Throws es::Error of
/// kind unsupported naming `file` and what is not recognised.
[[nodiscard]] std::string recognise_pre_tokenizer(const nlohmann::json& pre_tokenizer,
                                                  std::string_view file);

/// "nfc", "nfkc" or "none" for the tokenizer.json's normalizer; throws unsupported for
/// anything else.
[[nodiscard]] std::string recognise_normalizer(const nlohmann::json& normalizer,
                                               std::string_view file);

/// Throws unsupported unless the decoder is ByteLevel (or absent).
void check_byte_level_decoder(const nlohmann::json& decoder, std::string_view file);

/// The canonical form of a tokenizer.json regex used for recognition: characters outside
/// ASCII written \x{HEX}, CR and LF written \r and \n, and the case-insensitive
/// contraction group spelled out as in pretokenize.cpp.
[[nodiscard]] std::string canonical_regex(std::string_view regex);

}  // namespace es::detail
