// The JSON export (OpenAI-style messages with an "expertscope" object each) and its
// import, which checks every field before it is used.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "expertscope/error.h"
#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript {

namespace {

using Json = nlohmann::ordered_json;
using detail::half_json_value;
using detail::to_half;

// ---------------------------------------------------------------------------------------
// Writing.

/// A JSON text as a value: the object itself when `text` is an object in the compact form
/// dump() writes (so it reads back to the same text), else the text as a string.
Json settings_value(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.dump() == text) return parsed;
  return Json(text);
}

/// A text as a JSON string, its invalid UTF-8 replaced (nlohmann would throw at dump).
Json text_value(const std::string& text) {
  return Json(detail::valid_utf8(text));
}

Json half_value(float value) {
  return Json(half_json_value(to_half(value)));
}

Json model_json(const std::optional<ModelIdentity>& model) {
  if (!model) return Json(nullptr);
  Json j = Json::object();
  j["name"] = text_value(model->name);
  j["arch"] = text_value(model->arch);
  j["path"] = text_value(model->path);
  j["file_size"] = model->file_size;
  j["content_hash"] = text_value(model->content_hash);
  return j;
}

Json attachment_json(const Attachment& a) {
  Json j = Json::object();
  j["kind"] = text_value(a.kind);
  j["file_name"] = text_value(a.file_name);
  j["mime_type"] = text_value(a.mime_type);
  j["size"] = a.size;
  j["sha256"] = text_value(a.sha256);
  // A document cut to fit the context: the units (pages, lines) that reached the model.
  if (a.kept_units != 0) j["kept_units"] = a.kept_units;
  // An attachment loaded without its data (size > 0, no bytes) is written without it.
  if (!a.data.empty() || a.size == 0) j["data_base64"] = detail::base64_encode(a.data);
  return j;
}

Json routing_json(const RoutingTrace& trace, const Message& message) {
  Json j = Json::object();
  j["n_expert"] = trace.n_expert();
  j["top_k"] = trace.top_k();
  j["moe_layers"] =
      Json(std::vector<uint32_t>(trace.moe_layers().begin(), trace.moe_layers().end()));
  j["full_layer"] = trace.shape().full_layer;
  Json tokens = Json::array();
  const bool texts = detail::has_token_texts(message);
  const uint32_t n_layers = trace.n_moe_layers(), top_k = trace.top_k();
  for (uint32_t t = 0; t < trace.n_tokens(); ++t) {
    Json tok = Json::object();
    tok["id"] = trace.token_ids()[t];
    tok["pos"] = trace.positions()[t];
    if (texts) tok["text"] = text_value(message.token_texts[t]);
    tok["modality"] = modality_name(trace.modalities()[t]);
    Json experts = Json::array(), weights = Json::array(), entropy = Json::array();
    for (uint32_t m = 0; m < n_layers; ++m) {
      Json e = Json::array(), w = Json::array();
      for (uint32_t r = 0; r < top_k; ++r) {
        e.push_back(trace.expert(t, m, r));
        w.push_back(half_value(trace.weight(t, m, r)));
      }
      experts.push_back(std::move(e));
      weights.push_back(std::move(w));
      entropy.push_back(half_value(trace.entropy(t, m)));
    }
    tok["experts"] = std::move(experts);
    tok["weights"] = std::move(weights);
    tok["entropy"] = std::move(entropy);
    if (trace.has_full_probs()) {
      Json probs = Json::array();
      for (uint32_t e = 0; e < trace.n_expert(); ++e)
        probs.push_back(half_value(trace.full_prob(t, e)));
      tok["full_probs"] = std::move(probs);
    }
    tokens.push_back(std::move(tok));
  }
  j["tokens"] = std::move(tokens);
  return j;
}

Json message_json(const Message& m) {
  Json j = Json::object();
  j["role"] = text_value(m.role);
  j["content"] = text_value(m.content);
  Json x = Json::object();
  x["state"] = message_state_name(m.state);
  x["n_tokens"] = m.n_tokens;
  const auto finite = [](double v) { return std::isfinite(v) ? v : 0.0; };
  x["timings"] = Json{{"prompt_ms", finite(m.timings.prompt_ms)},
                      {"generate_ms", finite(m.timings.generate_ms)},
                      {"first_token_ms", finite(m.timings.first_token_ms)}};
  x["stop_reason"] = text_value(m.stop_reason);
  x["settings"] = settings_value(m.settings_json);
  x["created"] = format_iso8601_ms(m.created_ms);
  x["updated"] = format_iso8601_ms(m.updated_ms);
  Json attachments = Json::array();
  for (const Attachment& a : m.attachments) attachments.push_back(attachment_json(a));
  x["attachments"] = std::move(attachments);
  if (!m.token_texts.empty() && !detail::has_token_texts(m)) {
    Json texts = Json::array();
    for (const std::string& t : m.token_texts) texts.push_back(text_value(t));
    x["token_texts"] = std::move(texts);
  }
  if (m.trace) {
    if (m.trace->has_shape()) {
      x["routing"] = routing_json(*m.trace, m);
    } else {
      x["routing"] = Json{{"n_expert", 0}, {"tokens", Json::array()}};
    }
  }
  j["expertscope"] = std::move(x);
  return j;
}

bool is_scalar_array(const Json& j) {
  for (const Json& e : j) {
    if (e.is_structured() && !(e.is_array() && is_scalar_array(e))) return false;
  }
  return true;
}

void put_indent(std::string& out, int depth) {
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

/// Pretty-prints: objects one member per line, arrays of numbers on one line, and each
/// element of a "tokens" array compact on a line of its own (a long answer stays
/// readable and small).
void write_value(std::string& out, const Json& v, int depth, bool compact_elements = false) {
  const auto dump = [](const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  if (v.is_object() && !v.empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, value] : v.items()) {
      if (!first) out += ",\n";
      first = false;
      put_indent(out, depth + 1);
      out += dump(Json(key));
      out += ": ";
      write_value(out, value, depth + 1, key == "tokens");
    }
    out += '\n';
    put_indent(out, depth);
    out += '}';
  } else if (v.is_array() && !v.empty() && (compact_elements || !is_scalar_array(v))) {
    out += "[\n";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i != 0) out += ",\n";
      put_indent(out, depth + 1);
      if (compact_elements) {
        out += dump(v[i]);
      } else {
        write_value(out, v[i], depth + 1);
      }
    }
    out += '\n';
    put_indent(out, depth);
    out += ']';
  } else {
    out += dump(v);
  }
}

// ---------------------------------------------------------------------------------------
// Reading.

/// Where a value sits in the document, built only when an error names it.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;
  size_t index = 0;
  bool is_index = false;

  [[nodiscard]] Path operator/(std::string_view k) const { return Path{this, k, 0, false}; }
  [[nodiscard]] Path operator[](size_t i) const { return Path{this, {}, i, true}; }
  [[nodiscard]] std::string str() const {
    std::string head = parent ? parent->str() : std::string();
    if (is_index) return head + "[" + std::to_string(index) + "]";
    if (key.empty()) return head;
    return head.empty() ? std::string(key) : head + "." + std::string(key);
  }
};

/// Checks values against what to_json writes; every failure names the source and path.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const Path& path, const std::string& what,
                         ErrorKind kind = ErrorKind::bad_input) const {
    const std::string where = path.str();
    throw Error(kind, source_ + ": " + (where.empty() ? std::string() : where + ": ") + what);
  }

  static std::string_view type_name(const Json& j) {
    if (j.is_null()) return "null";
    if (j.is_boolean()) return "a boolean";
    if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
    if (j.is_number()) return "a number";
    if (j.is_string()) return "a string";
    if (j.is_array()) return "an array";
    return "an object";
  }

  void expect(const Json& j, bool ok, const Path& path, std::string_view wanted) const {
    if (!ok) fail(path, "expected " + std::string(wanted) + ", found " + std::string(type_name(j)));
  }

  const Json& object(const Json& j, const Path& path) const {
    expect(j, j.is_object(), path, "an object");
    return j;
  }
  const Json& array(const Json& j, const Path& path) const {
    expect(j, j.is_array(), path, "an array");
    return j;
  }
  /// The member `key` of object `j` (at `path`), which must exist.
  const Json& member(const Json& j, std::string_view key, const Path& path) const {
    const auto it = j.find(key);
    if (it == j.end()) fail(path / key, "missing");
    return *it;
  }
  /// The member, or nullptr when absent.
  static const Json* optional_member(const Json& j, std::string_view key) {
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }

  std::string string(const Json& j, const Path& path) const {
    expect(j, j.is_string(), path, "a string");
    return j.get<std::string>();
  }
  std::string string_member(const Json& obj, std::string_view key, const Path& path) const {
    return string(member(obj, key, path), path / key);
  }

  /// An integer in [lo, hi].
  int64_t integer(const Json& j, const Path& path, int64_t lo, int64_t hi) const {
    expect(j, j.is_number_integer() || j.is_number_unsigned(), path, "an integer");
    if (j.is_number_unsigned()) {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo)
        fail(path, out_of_range(std::to_string(u), lo, hi));
      return static_cast<int64_t>(u);
    }
    const auto v = j.get<int64_t>();
    if (v < lo || v > hi) fail(path, out_of_range(std::to_string(v), lo, hi));
    return v;
  }
  uint64_t uint64(const Json& j, const Path& path) const {
    expect(j, j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0), path,
           "a non-negative integer");
    return j.get<uint64_t>();
  }

  /// A finite number.
  double number(const Json& j, const Path& path) const {
    expect(j, j.is_number(), path, "a number");
    const auto v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "not a finite number");
    return v;
  }
  /// A finite number or null (NaN), as half-precision values are written.
  float half(const Json& j, const Path& path) const {
    if (j.is_null()) return std::numeric_limits<float>::quiet_NaN();
    expect(j, j.is_number(), path, "a number or null");
    const auto v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "not a finite number");
    return static_cast<float>(v);
  }

  int64_t time(const Json& obj, std::string_view key, const Path& path) const {
    const std::string text = string_member(obj, key, path);
    const auto ms = parse_iso8601_ms(text);
    if (!ms) fail(path / key, "\"" + text + "\" is not an ISO 8601 UTC time");
    return *ms;
  }

  /// A settings value: an object (kept as its compact dump) or a JSON text as a string.
  std::string settings(const Json& obj, const Path& path) const {
    const Json* s = optional_member(obj, "settings");
    if (!s) return "{}";
    if (s->is_object()) return s->dump();
    return string(*s, path / "settings");
  }

 private:
  static std::string out_of_range(const std::string& v, int64_t lo, int64_t hi) {
    return v + " is outside " + std::to_string(lo) + ".." + std::to_string(hi);
  }

  std::string source_;
};

/// Refuses documents nested more than `max_depth` deep before nlohmann parses them
/// (its recursive dump and destruction must not meet a million levels).
void check_depth(std::string_view text, std::string_view source, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        throw Error(ErrorKind::bad_input, std::string(source) + ": nested more than " +
                                              std::to_string(max_depth) + " levels deep");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

std::optional<ModelIdentity> read_model(const Reader& r, const Json& j, const Path& path) {
  if (j.is_null()) return std::nullopt;
  r.object(j, path);
  ModelIdentity model;
  model.name = r.string_member(j, "name", path);
  model.arch = r.string_member(j, "arch", path);
  model.path = r.string_member(j, "path", path);
  model.file_size = r.uint64(r.member(j, "file_size", path), path / "file_size");
  model.content_hash = r.string_member(j, "content_hash", path);
  return model;
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Attachment read_attachment(const Reader& r, const Json& j, const Path& path) {
  r.object(j, path);
  Attachment a;
  a.kind = r.string_member(j, "kind", path);
  a.file_name = r.string_member(j, "file_name", path);
  a.mime_type = r.string_member(j, "mime_type", path);
  a.size = r.uint64(r.member(j, "size", path), path / "size");
  a.sha256 = r.string_member(j, "sha256", path);
  if (!a.sha256.empty() && !is_sha256_hex(a.sha256))
    r.fail(path / "sha256", "not 64 lower-case hex digits");
  if (const Json* kept = Reader::optional_member(j, "kept_units")) {
    a.kept_units = static_cast<uint32_t>(r.integer(*kept, path / "kept_units", 0, UINT32_MAX));
  }
  if (const Json* data = Reader::optional_member(j, "data_base64")) {
    const std::string text = r.string(*data, path / "data_base64");
    auto bytes = detail::base64_decode(text);
    if (!bytes) r.fail(path / "data_base64", "not valid base64");
    a.data = std::move(*bytes);
    if (a.data.size() != a.size) {
      r.fail(path / "size", std::to_string(a.size) + " bytes, but data_base64 holds " +
                                std::to_string(a.data.size()));
    }
    if (!a.sha256.empty() && sha256_hex(a.data) != a.sha256)
      r.fail(path / "sha256", "does not match the SHA-256 of data_base64");
  }
  return a;
}

std::optional<Modality> parse_modality(std::string_view s) {
  if (s == "text") return Modality::text;
  if (s == "image") return Modality::image;
  if (s == "video") return Modality::video;
  return std::nullopt;
}

/// The shape of a routing object (n_expert > 0 checked by the caller).
TraceShape read_shape(const Reader& r, const Json& j, const Path& path, uint32_t n_expert) {
  TraceShape shape;
  shape.n_expert = n_expert;
  shape.top_k = static_cast<uint32_t>(r.integer(r.member(j, "top_k", path), path / "top_k", 1,
                                                std::min<int64_t>(max_experts_used, n_expert)));
  const Path layers_path = path / "moe_layers";
  const Json& layers = r.array(r.member(j, "moe_layers", path), layers_path);
  if (layers.empty() || layers.size() > 4096) r.fail(layers_path, "must hold 1..4096 layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto block = static_cast<uint32_t>(r.integer(layers[i], layers_path[i], 0, 1 << 20));
    if (i > 0 && block <= shape.moe_layers.back()) r.fail(layers_path[i], "not ascending");
    shape.moe_layers.push_back(block);
  }
  shape.full_layer = static_cast<int32_t>(
      r.integer(r.member(j, "full_layer", path), path / "full_layer", -1, 1 << 20));
  if (shape.full_layer >= 0 && !std::binary_search(shape.moe_layers.begin(), shape.moe_layers.end(),
                                                   static_cast<uint32_t>(shape.full_layer))) {
    r.fail(path / "full_layer", std::to_string(shape.full_layer) + " is not one of moe_layers");
  }
  return shape;
}

/// A batch of tokens being read, appended to the trace every kChunk tokens.
struct TokenBatch {
  static constexpr size_t kChunk = 256;  ///< Most tokens per batch.
  RoutingBatch routing;
  std::vector<int32_t> ids, positions;
  std::vector<Modality> modalities;
};

void check_count(const Reader& r, const Json& a, size_t want, const Path& p) {
  if (a.size() != want) {
    r.fail(p, "holds " + std::to_string(a.size()) + " entries, expected " + std::to_string(want));
  }
}

/// Reads token object `tok` into row `i` of the batch; its "text", if any, into `text`.
void read_token(const Reader& r, const Json& tok, const Path& tp, TokenBatch& b, uint32_t i,
                std::optional<std::string>& text) {
  r.object(tok, tp);
  RoutingBatch& rb = b.routing;
  b.ids[i] = static_cast<int32_t>(r.integer(r.member(tok, "id", tp), tp / "id", 0, INT32_MAX));
  b.positions[i] =
      static_cast<int32_t>(r.integer(r.member(tok, "pos", tp), tp / "pos", 0, INT32_MAX));
  const std::string mod = r.string_member(tok, "modality", tp);
  const auto modality = parse_modality(mod);
  if (!modality) r.fail(tp / "modality", "\"" + mod + "\" is not text, image or video");
  b.modalities[i] = *modality;
  const Json* t = Reader::optional_member(tok, "text");
  text = t ? std::optional(r.string(*t, tp / "text")) : std::nullopt;
  const Path ep = tp / "experts", wp = tp / "weights", hp = tp / "entropy";
  const Json& experts = r.array(r.member(tok, "experts", tp), ep);
  const Json& weights = r.array(r.member(tok, "weights", tp), wp);
  const Json& entropy = r.array(r.member(tok, "entropy", tp), hp);
  const auto n_layers = static_cast<uint32_t>(rb.moe_layers.size());
  check_count(r, experts, n_layers, ep);
  check_count(r, weights, n_layers, wp);
  check_count(r, entropy, n_layers, hp);
  for (uint32_t m = 0; m < n_layers; ++m) {
    const Json& e = r.array(experts[m], ep[m]);
    const Json& w = r.array(weights[m], wp[m]);
    check_count(r, e, rb.top_k, ep[m]);
    check_count(r, w, rb.top_k, wp[m]);
    for (uint32_t k = 0; k < rb.top_k; ++k) {
      const auto id = static_cast<uint16_t>(r.integer(e[k], ep[m][k], 0, rb.n_expert - 1));
      for (uint32_t q = 0; q < k; ++q) {
        if (rb.experts[rb.at(i, m, q)] == id)
          r.fail(ep[m][k], "expert " + std::to_string(id) + " is selected twice");
      }
      rb.experts[rb.at(i, m, k)] = id;
      rb.weights[rb.at(i, m, k)] = r.half(w[k], wp[m][k]);
    }
    rb.entropy[size_t{i} * n_layers + m] = r.half(entropy[m], hp[m]);
  }
  if (rb.full_layer >= 0) {
    const Path pp = tp / "full_probs";
    const Json& probs = r.array(r.member(tok, "full_probs", tp), pp);
    check_count(r, probs, rb.n_expert, pp);
    for (uint32_t e = 0; e < rb.n_expert; ++e)
      rb.full_probs[size_t{i} * rb.n_expert + e] = r.half(probs[e], pp[e]);
  }
}

/// The routing of one message; fills `texts` with the tokens' "text" members if any.
RoutingTrace read_routing(const Reader& r, const Json& j, const Path& path,
                          std::vector<std::string>& texts) {
  r.object(j, path);
  const Path tokens_path = path / "tokens";
  const Json& tokens = r.array(r.member(j, "tokens", path), tokens_path);
  const auto n_expert =
      static_cast<uint32_t>(r.integer(r.member(j, "n_expert", path), path / "n_expert", 0, 65536));
  if (n_expert == 0) {
    if (!tokens.empty()) r.fail(tokens_path, "a trace without experts has no tokens");
    return RoutingTrace{};
  }
  const TraceShape shape = read_shape(r, j, path, n_expert);
  RoutingTrace trace(shape);
  TokenBatch b;
  b.routing.n_expert = n_expert;
  b.routing.top_k = shape.top_k;
  b.routing.moe_layers = shape.moe_layers;
  b.routing.full_layer = shape.full_layer;
  const bool with_text = !tokens.empty() && tokens[0].is_object() && tokens[0].contains("text");
  // Tokens per batch: at most kChunk, and few enough that the batch's arrays, sized before
  // the tokens are read, stay small whatever the shape claims (4096 layers x 16 x 65536).
  const size_t values_per_token =
      shape.moe_layers.size() * (shape.top_k + 1) + (shape.full_layer >= 0 ? n_expert : 0);
  const size_t chunk =
      std::clamp<size_t>((size_t{1} << 18) / values_per_token, 1, TokenBatch::kChunk);
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    const size_t n = std::min(chunk, tokens.size() - begin);
    b.routing.resize(static_cast<uint32_t>(n));
    b.ids.resize(n);
    b.positions.resize(n);
    b.modalities.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Path tp = tokens_path[begin + i];
      std::optional<std::string> text;
      read_token(r, tokens[begin + i], tp, b, static_cast<uint32_t>(i), text);
      if (text.has_value() != with_text)
        r.fail(tp / "text", "some tokens have a text and others none");
      if (text) texts.push_back(std::move(*text));
    }
    try {
      trace.append(b.routing, b.ids, b.positions, b.modalities);
    } catch (const Error& e) {
      r.fail(tokens_path[begin], e.what());  // checked above; a rule the trace adds later
    }
  }
  return trace;
}

Message read_message(const Reader& r, const Json& j, const Path& path) {
  r.object(j, path);
  Message m;
  m.role = r.string_member(j, "role", path);
  if (m.role.empty() || m.role.size() > 64) r.fail(path / "role", "must be 1..64 bytes");
  m.content = r.string_member(j, "content", path);
  const Json* x = Reader::optional_member(j, "expertscope");
  if (!x) return m;  // a plain OpenAI-style message
  const Path xp = path / "expertscope";
  r.object(*x, xp);
  const std::string state = r.string_member(*x, "state", xp);
  const auto parsed_state = parse_message_state(state);
  if (!parsed_state || *parsed_state == MessageState::unset)
    r.fail(xp / "state", "\"" + state + "\" is not a message state");
  m.state = *parsed_state;
  m.n_tokens = static_cast<uint32_t>(
      r.integer(r.member(*x, "n_tokens", xp), xp / "n_tokens", 0, UINT32_MAX));
  if (const Json* t = Reader::optional_member(*x, "timings")) {
    const Path tp = xp / "timings";
    r.object(*t, tp);
    m.timings.prompt_ms = r.number(r.member(*t, "prompt_ms", tp), tp / "prompt_ms");
    m.timings.generate_ms = r.number(r.member(*t, "generate_ms", tp), tp / "generate_ms");
    m.timings.first_token_ms = r.number(r.member(*t, "first_token_ms", tp), tp / "first_token_ms");
  }
  if (Reader::optional_member(*x, "stop_reason"))
    m.stop_reason = r.string_member(*x, "stop_reason", xp);
  m.settings_json = r.settings(*x, xp);
  m.created_ms = r.time(*x, "created", xp);
  m.updated_ms = r.time(*x, "updated", xp);
  if (const Json* list = Reader::optional_member(*x, "attachments")) {
    const Path ap = xp / "attachments";
    r.array(*list, ap);
    for (size_t i = 0; i < list->size(); ++i)
      m.attachments.push_back(read_attachment(r, (*list)[i], ap[i]));
  }
  std::vector<std::string> texts;
  if (const Json* routing = Reader::optional_member(*x, "routing"))
    m.trace = read_routing(r, *routing, xp / "routing", texts);
  if (const Json* list = Reader::optional_member(*x, "token_texts")) {
    const Path tp = xp / "token_texts";
    if (!texts.empty()) r.fail(tp, "given as well as the routing tokens' texts");
    r.array(*list, tp);
    for (size_t i = 0; i < list->size(); ++i) texts.push_back(r.string((*list)[i], tp[i]));
    if (detail::has_token_texts(Message{.trace = m.trace, .token_texts = texts}))
      r.fail(tp, "belong in the routing tokens' \"text\"");  // to_json never writes this
  }
  m.token_texts = std::move(texts);
  return m;
}

}  // namespace

std::string to_json(const Session& session) {
  Json j = Json::object();
  j["object"] = "expertscope.session";
  j["version"] = json_format_version;
  j["title"] = text_value(session.title);
  j["model"] = model_json(session.model);
  j["settings"] = settings_value(session.settings_json);
  j["created"] = format_iso8601_ms(session.created_ms);
  j["updated"] = format_iso8601_ms(session.updated_ms);
  Json messages = Json::array();
  for (const Message& m : session.messages) messages.push_back(message_json(m));
  j["messages"] = std::move(messages);
  std::string out;
  write_value(out, j, 0);
  out += '\n';
  return out;
}

Session from_json(std::string_view text, std::string_view source) {
  const Reader r(source);
  const Path root;
  check_depth(text, source, 64);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e999
    std::string what = e.what();
    if (const size_t close = what.find("] ");
        what.starts_with("[json.exception") && close != std::string::npos)
      what.erase(0, close + 2);
    r.fail(root, "not valid JSON (" + what + ")");
  }
  r.object(j, root);
  const std::string object = r.string_member(j, "object", root);
  if (object != "expertscope.session")
    r.fail(root / "object", "\"" + object + "\" is not \"expertscope.session\"");
  const Json& version = r.member(j, "version", root);
  const int64_t v = r.integer(version, root / "version", 1, INT32_MAX);
  if (v > json_format_version) {
    r.fail(root / "version",
           "version " + std::to_string(v) + " is newer than this build reads (" +
               std::to_string(json_format_version) + ")",
           ErrorKind::unsupported);
  }
  Session s;
  s.title = r.string_member(j, "title", root);
  s.model = read_model(r, r.member(j, "model", root), root / "model");
  s.settings_json = r.settings(j, root);
  s.created_ms = r.time(j, "created", root);
  s.updated_ms = r.time(j, "updated", root);
  const Path mp = root / "messages";
  const Json& messages = r.array(r.member(j, "messages", root), mp);
  s.messages.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i)
    s.messages.push_back(read_message(r, messages[i], mp[i]));
  return s;
}

}  // namespace es::transcript
