// Sessions built in memory for the transcript tests (engine and PDF): a realistic
// conversation with every message state, attachments (a real PNG made here, a text file),
// routing traces with and without a full distribution, unicode and empty messages; a
// hostile one whose every text tries to escape its place; and a long answer for sizes.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "expertscope/session.h"

namespace es::test {

/// CRC-32 (PNG's, the zlib polynomial) of bytes.
inline uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

/// A valid RGB PNG of w x h pixels (a colour gradient with a diagonal band), its zlib
/// stream made of stored blocks, so no compressor is needed.
inline std::vector<uint8_t> make_png(uint32_t w, uint32_t h) {
  std::vector<uint8_t> raw;
  for (uint32_t y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (uint32_t x = 0; x < w; ++x) {
      const bool band = (x + y) % 24 < 6;
      raw.push_back(static_cast<uint8_t>(band ? 250 : 40 + 200 * x / w));
      raw.push_back(static_cast<uint8_t>(band ? 220 : 90 + 120 * y / h));
      raw.push_back(static_cast<uint8_t>(band ? 120 : 200 - 100 * x / w));
    }
  }
  std::vector<uint8_t> z = {0x78, 0x01};
  for (size_t at = 0; at < raw.size() || at == 0; at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    z.push_back(at + n >= raw.size() ? 1 : 0);
    z.push_back(static_cast<uint8_t>(n));
    z.push_back(static_cast<uint8_t>(n >> 8));
    z.push_back(static_cast<uint8_t>(~n));
    z.push_back(static_cast<uint8_t>(~n >> 8));
    z.insert(z.end(), raw.begin() + static_cast<ptrdiff_t>(at),
             raw.begin() + static_cast<ptrdiff_t>(at + n));
    if (raw.empty()) break;
  }
  uint32_t a = 1, b = 0;
  for (const uint8_t v : raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  const uint32_t adler = b << 16 | a;
  for (int s = 24; s >= 0; s -= 8) z.push_back(static_cast<uint8_t>(adler >> s));

  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  const auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
    const auto n = static_cast<uint32_t>(data.size());
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(n >> s));
    std::vector<uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    png.insert(png.end(), body.begin(), body.end());
    const uint32_t crc = crc32(body.data(), body.size());
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(crc >> s));
  };
  std::vector<uint8_t> ihdr;
  for (const uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<uint8_t>(v >> s));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  chunk("IDAT", z);
  chunk("IEND", {});
  return png;
}

/// A trace of `n` tokens whose routing has structure (each layer prefers a few experts, as
/// real routers do), weights descending and summing to 1, reproducible from `seed`.
inline RoutingTrace make_trace(uint32_t n, uint32_t n_expert, uint32_t top_k,
                               const std::vector<uint32_t>& layers, uint32_t seed,
                               int32_t full_layer = -1, Modality modality = Modality::text,
                               int32_t first_pos = 0) {
  std::mt19937 rng(seed);
  RoutingBatch b;
  b.n_expert = n_expert;
  b.top_k = top_k;
  b.moe_layers = layers;
  b.full_layer = full_layer;
  b.resize(n);
  std::vector<int32_t> ids(n), pos(n);
  std::geometric_distribution<uint32_t> skew(0.18);
  std::uniform_real_distribution<float> unit(0.05f, 1.0f);
  for (uint32_t t = 0; t < n; ++t) {
    ids[t] = static_cast<int32_t>(rng() % 150000);
    pos[t] = first_pos + static_cast<int32_t>(t);
    for (uint32_t m = 0; m < layers.size(); ++m) {
      std::vector<float> w(top_k);
      float sum = 0;
      for (auto& x : w) sum += (x = unit(rng));
      std::sort(w.rbegin(), w.rend());
      for (uint32_t r = 0; r < top_k; ++r) {
        uint16_t e = 0;
        for (int attempt = 0;; ++attempt) {
          e = static_cast<uint16_t>(attempt < 8 ? (m * 7 + skew(rng) * 5 + ids[t] % 3) % n_expert
                                                : rng() % n_expert);
          bool fresh = true;
          for (uint32_t q = 0; q < r; ++q) fresh = fresh && b.experts[b.at(t, m, q)] != e;
          if (fresh) break;
        }
        b.experts[b.at(t, m, r)] = e;
        b.weights[b.at(t, m, r)] = w[r] / sum;
      }
      b.entropy[t * layers.size() + m] = unit(rng) * 3.0f;
    }
    if (full_layer >= 0) {
      float sum = 0;
      for (uint32_t e = 0; e < n_expert; ++e) sum += (b.full_probs[t * n_expert + e] = unit(rng));
      for (uint32_t e = 0; e < n_expert; ++e) b.full_probs[t * n_expert + e] /= sum;
    }
  }
  RoutingTrace trace;
  trace.append(b, ids, pos, modality);
  return trace;
}

/// Splits a text into token-like pieces: a word with its leading space, long words in
/// pieces of four bytes; a multi-byte character split at its first byte gives an empty
/// piece followed by the character, as the token texts of session.h do.
inline std::vector<std::string> token_pieces(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i + 1;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && j - i < 4) ++j;
    // Do not cut inside a UTF-8 character: move the cut to its end, leaving "" behind.
    if (j < text.size() && (static_cast<uint8_t>(text[j]) & 0xc0) == 0x80) {
      size_t k = j;
      while (k < text.size() && (static_cast<uint8_t>(text[k]) & 0xc0) == 0x80) ++k;
      size_t lead = j - 1;
      while ((static_cast<uint8_t>(text[lead]) & 0xc0) == 0x80) --lead;
      if (lead > i) out.push_back(text.substr(i, lead - i));
      out.emplace_back();  // the token that ends inside the character
      out.push_back(text.substr(lead, k - lead));
      i = k;
      continue;
    }
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

/// An answer with a trace whose token texts are its pieces.
inline Message traced_answer(const std::string& text, uint32_t n_expert, uint32_t top_k,
                             const std::vector<uint32_t>& layers, uint32_t seed,
                             int32_t full_layer = -1, int32_t first_pos = 100) {
  Message m;
  m.role = "assistant";
  m.content = text;
  m.token_texts = token_pieces(text);
  m.trace = make_trace(static_cast<uint32_t>(m.token_texts.size()), n_expert, top_k, layers, seed,
                       full_layer, Modality::text, first_pos);
  m.n_tokens = static_cast<uint32_t>(m.token_texts.size());
  m.timings = {180.5, 2450.25, 210.0};
  m.stop_reason = "eos";
  m.settings_json = R"({"temperature":0.7,"top_p":0.9,"seed":42,"backend":"cpu"})";
  return m;
}

inline Attachment attachment(std::string kind, std::string name, std::string mime,
                             std::vector<uint8_t> data) {
  Attachment a;
  a.kind = std::move(kind);
  a.file_name = std::move(name);
  a.mime_type = std::move(mime);
  a.size = data.size();
  a.sha256 = sha256_hex(data);
  a.data = std::move(data);
  return a;
}

inline std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

/// A conversation with everything a session can hold.
inline Session sample_session() {
  constexpr int64_t t0 = 1795934419123;  // 2026-11-29T06:40:19.123Z
  Session s;
  s.title = "Harbour photo \xe2\x80\x94 what the experts saw";
  s.model = ModelIdentity{"/models/OLMoE-1B-7B-0924-Instruct-Q4_K_M.gguf", 4'212'345'678,
                          std::string(64, 'a'), "olmoe", "OLMoE 1B-7B Instruct"};
  s.settings_json = R"({"temperature":0.7,"top_k":40,"top_p":0.9,"min_p":0.05,"seed":42})";
  s.created_ms = t0;
  s.updated_ms = t0 + 95'000;
  const std::vector<uint32_t> layers = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

  Message sys;
  sys.role = "system";
  sys.content = "You are a careful assistant. Answer briefly.";
  sys.created_ms = t0;
  sys.updated_ms = t0;
  s.messages.push_back(sys);

  Message user;
  user.role = "user";
  user.content = "What is in this picture? The notes are attached.\nPlease be specific.";
  user.created_ms = t0 + 1000;
  user.updated_ms = t0 + 1000;
  user.attachments.push_back(attachment("image", "harbour.png", "image/png", make_png(160, 96)));
  user.attachments.push_back(attachment("text", "notes.txt", "text/plain",
                                        bytes_of("Taken at 19:40 from the north pier.\n"
                                                 "Camera: phone, no filter.\n")));
  user.trace = make_trace(24, 64, 8, layers, 7, -1, Modality::text, 0);
  user.n_tokens = 24;
  s.messages.push_back(user);

  Message answer = traced_answer(
      "The picture shows a small harbour at dusk: three fishing boats, a lighthouse on the "
      "left and gulls over the water.\n\nCaf\xc3\xa9 lights are coming on along the quay; "
      "the sky shades from orange to deep blue. \xe2\x98\x85",
      64, 8, layers, 11, 8, 24);
  answer.created_ms = t0 + 3000;
  answer.updated_ms = t0 + 6000;
  s.messages.push_back(answer);

  Message follow;
  follow.role = "user";
  follow.content =
      "Thanks! Say hello in Arabic and Japanese: \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 / "
      "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf";
  follow.created_ms = t0 + 40'000;
  follow.updated_ms = t0 + 40'000;
  s.messages.push_back(follow);

  Message cancelled;
  cancelled.role = "assistant";
  cancelled.state = MessageState::cancelled;
  cancelled.created_ms = t0 + 41'000;
  cancelled.updated_ms = t0 + 41'500;
  cancelled.stop_reason = "cancelled";
  s.messages.push_back(cancelled);

  Message interrupted = traced_answer("Marhaban \xe2\x80\x94 ", 64, 8, layers, 13, -1, 300);
  interrupted.state = MessageState::interrupted;
  interrupted.token_texts.clear();  // texts unknown: the trace alone
  interrupted.stop_reason.clear();
  interrupted.created_ms = t0 + 50'000;
  interrupted.updated_ms = t0 + 52'000;
  s.messages.push_back(interrupted);

  Message streaming = traced_answer(
      "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 (marhaban), "
      "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf "
      "(konnichiwa).",
      64, 8, layers, 17, -1, 320);
  streaming.state = MessageState::streaming;
  streaming.stop_reason.clear();
  streaming.settings_json = "{}";
  streaming.created_ms = t0 + 60'000;
  streaming.updated_ms = t0 + 95'000;
  s.messages.push_back(streaming);
  return s;
}

/// Text that tries everything: tags, attribute breaks, script URLs, controls, bidi
/// overrides and isolates, a NUL, invalid UTF-8.
inline std::string hostile_text() {
  return std::string(
             "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'><svg onload=alert(2)>"
             "<a href=\"javascript:alert(3)\">click</a> javascript:alert(4) "
             "<iframe src=\"https://evil.example/\"></iframe><style>body{background:url(http://"
             "evil.example/x)}</style><!-- </textarea> ]]> &amp; \x01\x1b[31m "
             "\xe2\x80\xae evil \xe2\x81\xa6 iso \xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9 ") +
         std::string(1, '\0') + " nul \xff\xfe bad \xc3\x28 \xed\xa0\x80 end";
}

/// A session whose every text field is hostile_text() or a variant.
inline Session hostile_session() {
  Session s = sample_session();
  const std::string h = hostile_text();
  s.title = h;
  s.model->name = h;
  s.model->arch = "<b>arch</b>";
  s.model->path = "/tmp/\"><script>alert(5)</script>.gguf";
  s.settings_json =
      R"js({"<script>":"javascript:alert(6)","x\"><img src=x onerror=alert(7)>":1})js";
  for (Message& m : s.messages) {
    m.content = h + m.content;
    m.stop_reason = "<script>alert(8)</script>";
    for (Attachment& a : m.attachments) {
      a.file_name = "\"><img src=x onerror=alert(9)>" + h + a.file_name;
      a.mime_type = "text/html\"><script>alert(10)</script>";
    }
    if (!m.token_texts.empty()) {
      m.token_texts[0] = h;
      for (size_t i = 1; i < m.token_texts.size(); i += 5) m.token_texts[i] = "<script>x</script>";
      // Keep content equal to the tokens so that the coloured view is what gets escaped.
      m.content.clear();
      for (const std::string& t : m.token_texts) m.content += t;
    }
  }
  // Javascript links in an attachment of image type whose bytes are not an image.
  s.messages[1].attachments.push_back(attachment(
      "image", "javascript:alert(11).png", "image/svg+xml", bytes_of("<svg onload=alert(12)>")));
  return s;
}

}  // namespace es::test
