// The routing JSON of DESIGN.md's command-line contract, streamed token by token.
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "expertscope/trace.h"
#include "trace_internal.h"

namespace es {

namespace {

using trace_detail::float_to_half;
using trace_detail::half_to_float;

/// The shortest decimal text of one half value.
struct HalfText {
  char text[15] = {};
  uint8_t length = 0;
};

/// True if `text` reads back to half `h` both as a float and as a double narrowed to float
/// (what a JSON reader that parses doubles does).
bool reads_back(const char* text, size_t length, uint16_t h) {
  float f = 0.0f;
  double d = 0.0;
  const auto rf = std::from_chars(text, text + length, f);
  const auto rd = std::from_chars(text, text + length, d);
  return rf.ec == std::errc() && rd.ec == std::errc() && float_to_half(f) == h &&
         float_to_half(static_cast<float>(d)) == h;
}

/// For every half: the fewest significant digits (1..5; else all of the float's) that read
/// back to it; "null" for infinities and NaNs, which JSON cannot hold. Locale-independent.
std::vector<HalfText> build_half_texts() {
  std::vector<HalfText> table(65536);
  for (uint32_t h = 0; h < 65536; ++h) {
    HalfText& out = table[h];
    const float f = half_to_float(static_cast<uint16_t>(h));
    if (!std::isfinite(f)) {
      out.length = 4;
      std::copy_n("null", 4, out.text);
      continue;
    }
    char* const end = out.text + sizeof out.text;
    for (int digits = 1; digits <= 5; ++digits) {
      const auto r = std::to_chars(out.text, end, f, std::chars_format::general, digits);
      out.length = static_cast<uint8_t>(r.ptr - out.text);
      if (reads_back(out.text, out.length, static_cast<uint16_t>(h))) break;
      if (digits == 5)
        out.length = static_cast<uint8_t>(std::to_chars(out.text, end, f).ptr - out.text);
    }
  }
  return table;
}

const std::vector<HalfText>& half_texts() {
  static const std::vector<HalfText> table = build_half_texts();
  return table;
}

void put_uint(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void put_int(std::string& out, int64_t v) {
  char buf[24];
  out.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

void put_half(std::string& out, uint16_t h) {
  const HalfText& t = half_texts()[h];
  out.append(t.text, t.length);
}

/// A JSON string literal of arbitrary bytes (invalid UTF-8 becomes U+FFFD).
void put_string(std::string& out, const std::string& s) {
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// One token object, without a trailing separator.
void put_token(std::string& out, const RoutingTrace& trace, uint32_t t, const TokenTextFn& text,
               bool include_entropy) {
  const TraceAccess access{trace};
  const int32_t id = trace.token_ids()[t];
  out += "{\"pos\":";
  put_int(out, trace.positions()[t]);
  out += ",\"id\":";
  put_int(out, id);
  out += ",\"text\":";
  put_string(out, text ? text(id) : std::string());
  out += ",\"modality\":\"";
  out += modality_name(trace.modalities()[t]);
  out += "\",\"routing\":[";
  for (uint32_t m = 0; m < trace.n_moe_layers(); ++m) {
    if (m != 0) out += ',';
    out += "{\"layer\":";
    put_uint(out, trace.moe_layers()[m]);
    out += ",\"experts\":[";
    for (uint32_t r = 0; r < trace.top_k(); ++r) {
      if (r != 0) out += ',';
      put_uint(out, access.expert(t, m, r));
    }
    out += "],\"weights\":[";
    for (uint32_t r = 0; r < trace.top_k(); ++r) {
      if (r != 0) out += ',';
      put_half(out, access.weight_bits(t, m, r));
    }
    out += ']';
    if (include_entropy) {
      out += ",\"entropy\":";
      put_half(out, access.entropy_bits(t, m));
    }
    out += '}';
  }
  out += "]}";
}

}  // namespace

void write_routing_json(std::ostream& out, const RoutingTrace& trace, const TokenTextFn& text,
                        const RoutingJsonOptions& options) {
  const auto [begin, end] = trace_detail::resolve(trace, options.range);
  constexpr size_t kFlushBytes = size_t{1} << 16;
  std::string buf;
  buf.reserve(kFlushBytes + 4096);
  buf += "{\"n_expert\":";
  put_uint(buf, trace.n_expert());
  buf += ",\"top_k\":";
  put_uint(buf, trace.top_k());
  buf += ",\"moe_layers\":[";
  for (uint32_t m = 0; m < trace.n_moe_layers(); ++m) {
    if (m != 0) buf += ',';
    put_uint(buf, trace.moe_layers()[m]);
  }
  buf += "],\"tokens\":[";
  for (uint32_t t = begin; t < end; ++t) {
    buf += t == begin ? "\n" : ",\n";
    put_token(buf, trace, t, text, options.include_entropy);
    if (buf.size() >= kFlushBytes) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
      if (!out) break;
    }
  }
  buf += "\n]}\n";
  if (out) out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  if (!out) throw Error(ErrorKind::io, "routing JSON: writing to the stream failed");
}

}  // namespace es
