// Session values (session.h): names of message states, model identity, SHA-256,
// comparisons and timestamps.
#include "expertscope/session.h"

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "expertscope/error.h"
#include "expertscope/gguf.h"

namespace es {

namespace {

constexpr std::array<std::string_view, 5> kStateNames = {"unset", "complete", "streaming",
                                                         "interrupted", "cancelled"};

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

/// Parses exactly `n` decimal digits at text[pos], advancing pos.
std::optional<int> digits(std::string_view text, size_t& pos, size_t n) noexcept {
  if (pos + n > text.size()) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view text, size_t& pos, char c) noexcept {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::string_view message_state_name(MessageState state) noexcept {
  const auto i = static_cast<size_t>(state);
  return i < kStateNames.size() ? kStateNames[i] : kStateNames[0];
}

std::optional<MessageState> parse_message_state(std::string_view name) noexcept {
  for (size_t i = 1; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<MessageState>(i);
  }
  return std::nullopt;
}

std::string sha256_hex(std::span<const uint8_t> bytes) {
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    throw Error(ErrorKind::io, "SHA-256: the OpenSSL digest failed");
  }
  return to_hex(digest);
}

ModelIdentity identify_model(const gguf::File& file) {
  ModelIdentity id;
  std::error_code ec;
  const std::filesystem::path given(file.name());
  const std::filesystem::path abs = std::filesystem::absolute(given, ec);
  id.path = (ec ? given : abs).string();
  id.file_size = file.file_size_bytes();
  id.content_hash = sha256_hex(file.header_bytes());
  id.arch = std::string(file.get_string("general.architecture").value_or(""));
  id.name = std::string(file.get_string("general.name").value_or(""));
  if (id.name.empty()) id.name = given.filename().string();
  return id;
}

bool same_message(const Message& a, const Message& b) {
  if (a.id != b.id || a.role != b.role || a.content != b.content || a.state != b.state ||
      a.n_tokens != b.n_tokens || a.timings != b.timings || a.stop_reason != b.stop_reason ||
      a.settings_json != b.settings_json || a.created_ms != b.created_ms ||
      a.updated_ms != b.updated_ms || a.attachments != b.attachments ||
      a.token_texts != b.token_texts || a.trace.has_value() != b.trace.has_value()) {
    return false;
  }
  if (!a.trace) return true;
  // A trace with no shape yet (nothing appended) has no serialised form.
  if (!a.trace->has_shape() || !b.trace->has_shape()) {
    return a.trace->has_shape() == b.trace->has_shape();
  }
  return a.trace->serialize() == b.trace->serialize();
}

bool same_session(const Session& a, const Session& b, bool compare_ids) {
  if ((compare_ids && a.id != b.id) || a.title != b.title || a.model != b.model ||
      a.settings_json != b.settings_json || a.created_ms != b.created_ms ||
      a.updated_ms != b.updated_ms || a.messages.size() != b.messages.size()) {
    return false;
  }
  for (size_t i = 0; i < a.messages.size(); ++i) {
    Message x = a.messages[i];
    Message y = b.messages[i];
    if (!compare_ids) x.id = y.id = 0;
    if (!same_message(x, y)) return false;
  }
  return true;
}

int64_t unix_time_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_iso8601_ms(int64_t unix_ms) {
  int64_t days = unix_ms >= 0 ? unix_ms / 86'400'000 : -((-unix_ms + 86'399'999) / 86'400'000);
  const int64_t ms_of_day = unix_ms - days * 86'400'000;
  // civil_from_days (Howard Hinnant).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(ms_of_day / 3'600'000),
                static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60),
                static_cast<long long>(ms_of_day % 1000));
  return buf;
}

std::optional<int64_t> parse_iso8601_ms(std::string_view text) noexcept {
  size_t p = 0;
  const auto year = digits(text, p, 4);
  if (!year || !expect(text, p, '-')) return std::nullopt;
  const auto month = digits(text, p, 2);
  if (!month || !expect(text, p, '-')) return std::nullopt;
  const auto day = digits(text, p, 2);
  if (!day || !expect(text, p, 'T')) return std::nullopt;
  const auto hour = digits(text, p, 2);
  if (!hour || !expect(text, p, ':')) return std::nullopt;
  const auto minute = digits(text, p, 2);
  if (!minute || !expect(text, p, ':')) return std::nullopt;
  const auto second = digits(text, p, 2);
  if (!second) return std::nullopt;
  int ms = 0;
  if (p < text.size() && text[p] == '.') {
    ++p;
    const auto frac = digits(text, p, 3);
    if (!frac) return std::nullopt;
    ms = *frac;
  }
  if (text.substr(p) != "Z" && text.substr(p) != "+00:00") return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*month < 1 || *month > 12 || *day < 1 || *day > kDays[*month - 1] || *hour > 23 ||
      *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*month == 2 && *day == 29 && !leap) return std::nullopt;
  const int64_t days =
      days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  return ((days * 24 + *hour) * 60 + *minute) * 60'000 + int64_t{*second} * 1000 + ms;
}

}  // namespace es
