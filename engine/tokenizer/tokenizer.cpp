// es::Tokenizer: special tokens, normalisation and the model, put together; decoding.
#include "expertscope/tokenizer.h"

#include "expertscope/error.h"
#include "utf8.h"
#include "vocab.h"

namespace es {
namespace {

using detail::Vocab;

/// The longest text encode() takes in one call.
constexpr size_t max_text_bytes = size_t{1} << 31;

/// The U+2581 LOWER ONE EIGHTH BLOCK SentencePiece writes for spaces.
constexpr std::string_view spm_space = "\xE2\x96\x81";

/// Encodes a text segment that holds no special token.
void encode_segment(const Vocab& v, std::string_view segment, bool after_special,
                    std::vector<TokenId>& out) {
  std::string normalized;
  if (detail::normalize_text(v.normalization, segment, normalized)) segment = normalized;
  if (segment.empty()) return;
  if (v.kind == TokenizerKind::bpe) {
    detail::bpe_encode_text(v, segment, out);
    return;
  }
  std::string text;
  text.reserve(segment.size() + 16);
  if (v.add_space_prefix && after_special) text += spm_space;
  for (char c : segment) {
    if (c == ' ') {
      text += spm_space;
    } else {
      text += c;
    }
  }
  detail::spm_encode_text(v, text, out);
}

/// Hugging Face's clean_up_tokenization: no space before . ? ! , and English contractions.
std::string clean_up_tokenization(std::string text) {
  static const std::pair<std::string_view, std::string_view> rules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : rules) {
    std::string result;
    result.reserve(text.size());
    size_t pos = 0;
    for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
      result.append(text, pos, hit - pos);
      result += to;
    }
    result.append(text, pos);
    text = std::move(result);
  }
  return text;
}

/// Whether a token of this type contributes to decoded text.
bool renders(TokenType type, const DecodeOptions& options) {
  if (type == TokenType::unused) return false;
  if (type == TokenType::control || type == TokenType::unknown) return options.render_special;
  return true;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<detail::Vocab> vocab) : vocab_(std::move(vocab)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_gguf(const gguf::File& file) {
  return Tokenizer(detail::load_vocab(file));
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  encode_into(text, out, options);
  return out;
}

void Tokenizer::encode_into(std::string_view text, std::vector<TokenId>& out,
                            const EncodeOptions& options) const {
  const Vocab& v = *vocab_;
  if (text.size() > max_text_bytes) {  // Offsets inside the encoder are 32-bit.
    throw Error(ErrorKind::bad_input, "tokenizer: a text of " + std::to_string(text.size()) +
                                          " bytes is too long (at most 2 GiB at once)");
  }
  std::string repaired;
  if (!detail::utf8_valid(text)) {
    repaired = detail::utf8_repair(text);
    text = repaired;
  }
  if (options.add_special && v.add_bos) out.push_back(v.bos);
  bool after_special = true;  // SentencePiece prefixes a space to the first segment.
  size_t start = 0;
  if (options.parse_special && !v.specials.empty()) {
    for (size_t i = 0; i < text.size();) {
      if (!v.specials.starts_with(static_cast<uint8_t>(text[i]))) {
        ++i;
        continue;
      }
      const auto [id, len] = v.specials.longest_match(text, i);
      if (len == 0) {
        ++i;
        continue;
      }
      if (i > start) {
        encode_segment(v, text.substr(start, i - start), after_special, out);
      }
      out.push_back(id);
      after_special = true;
      i += len;
      start = i;
      continue;
    }
  }
  if (start < text.size()) encode_segment(v, text.substr(start), after_special, out);
  if (options.add_special && v.add_eos) out.push_back(v.eos);
}

std::string Tokenizer::decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
  const Vocab& v = *vocab_;
  std::string raw;
  for (TokenId id : ids) {
    if (!v.valid(id) || !renders(v.types[id], options)) continue;
    raw += v.bytes[id];
  }
  if (v.kind == TokenizerKind::spm && v.add_space_prefix && !raw.empty() && raw[0] == ' ') {
    raw.erase(0, 1);
  }
  if (!options.raw_bytes && !detail::utf8_valid(raw)) raw = detail::utf8_repair(raw);
  if (v.clean_up_spaces) raw = clean_up_tokenization(std::move(raw));
  return raw;
}

std::string_view Tokenizer::token_bytes(TokenId id) const noexcept {
  return vocab_->valid(id) ? std::string_view(vocab_->bytes[id]) : std::string_view();
}

std::string_view Tokenizer::token_text(TokenId id) const noexcept {
  return vocab_->valid(id) ? std::string_view(vocab_->texts[id]) : std::string_view();
}

TokenType Tokenizer::token_type(TokenId id) const noexcept {
  return vocab_->valid(id) ? vocab_->types[id] : TokenType::undefined;
}

TokenId Tokenizer::find_token(std::string_view text) const {
  return vocab_->text_to_id.find(text);
}

uint32_t Tokenizer::n_tokens() const noexcept {
  return vocab_->size();
}
TokenizerKind Tokenizer::kind() const noexcept {
  return vocab_->kind;
}
PreTokenizerKind Tokenizer::pre() const noexcept {
  return vocab_->pre;
}
Normalization Tokenizer::normalization() const noexcept {
  return vocab_->normalization;
}
const std::string& Tokenizer::model_name() const noexcept {
  return vocab_->model_name;
}
const std::string& Tokenizer::pre_name() const noexcept {
  return vocab_->pre_name;
}
TokenId Tokenizer::bos() const noexcept {
  return vocab_->bos;
}
TokenId Tokenizer::eos() const noexcept {
  return vocab_->eos;
}
TokenId Tokenizer::eot() const noexcept {
  return vocab_->eot;
}
TokenId Tokenizer::pad() const noexcept {
  return vocab_->pad;
}
TokenId Tokenizer::unk() const noexcept {
  return vocab_->unk;
}
bool Tokenizer::add_bos() const noexcept {
  return vocab_->add_bos;
}
bool Tokenizer::add_eos() const noexcept {
  return vocab_->add_eos;
}

bool Tokenizer::is_end_of_generation(TokenId id) const noexcept {
  return id != no_token && (id == vocab_->eos || id == vocab_->eot || id == vocab_->eom);
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, DecodeOptions options)
    : tokenizer_(&tokenizer), options_(options) {}

std::string StreamingDecoder::push(TokenId id) {
  const Vocab& v = tokenizer_->vocab();
  std::string out;
  if (!v.valid(id) || !renders(v.types[id], options_)) return out;
  std::string_view piece = v.bytes[id];
  if (piece.empty()) return out;
  if (at_start_) {
    at_start_ = false;
    if (v.kind == TokenizerKind::spm && v.add_space_prefix && piece[0] == ' ') {
      piece.remove_prefix(1);
    }
  }
  pending_ += piece;
  const size_t used = detail::utf8_repair_append(pending_, out, false);
  pending_.erase(0, used);
  return out;
}

std::string StreamingDecoder::flush() {
  std::string out;
  detail::utf8_repair_append(pending_, out, true);
  reset();
  return out;
}

void StreamingDecoder::reset() {
  pending_.clear();
  at_start_ = true;
}

}  // namespace es
