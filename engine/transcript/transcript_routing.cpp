// A session's routing as rows (message, token, layer, rank, expert, weight): CSV for R
// and spreadsheets, a NumPy .npy structured array for Python.
#include <charconv>
#include <cstring>
#include <string>

#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript {

namespace {

void put_uint(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

/// Rows of a message's trace: (token, m, rank) in order.
template <typename Row>
void for_each_row(const Session& session, Row&& row) {
  for (size_t i = 0; i < session.messages.size(); ++i) {
    const Message& msg = session.messages[i];
    if (!msg.trace || msg.trace->empty()) continue;
    const RoutingTrace& t = *msg.trace;
    for (uint32_t token = 0; token < t.n_tokens(); ++token)
      for (uint32_t m = 0; m < t.n_moe_layers(); ++m)
        for (uint32_t r = 0; r < t.top_k(); ++r) row(i, msg, t, token, m, r);
  }
}

size_t row_count(const Session& session) {
  size_t n = 0;
  for (const Message& msg : session.messages) {
    if (msg.trace && !msg.trace->empty())
      n += size_t{msg.trace->n_tokens()} * msg.trace->n_moe_layers() * msg.trace->top_k();
  }
  return n;
}

void put_le32(std::vector<uint8_t>& out, size_t at, uint32_t v) {
  for (int b = 0; b < 4; ++b) out[at + static_cast<size_t>(b)] = static_cast<uint8_t>(v >> (8 * b));
}

}  // namespace

std::string routing_csv(const Session& session) {
  std::string out = "message,role,token,token_id,position,modality,layer,rank,expert,weight\n";
  out.reserve(out.size() + row_count(session) * 40);
  std::string role;
  size_t role_of = SIZE_MAX;
  for_each_row(session, [&](size_t i, const Message& msg, const RoutingTrace& t, uint32_t token,
                            uint32_t m, uint32_t r) {
    if (role_of != i) {
      role = detail::csv_field(msg.role);
      role_of = i;
    }
    put_uint(out, i);
    out += ',';
    out += role;
    out += ',';
    put_uint(out, token);
    out += ',';
    put_uint(out, static_cast<uint32_t>(t.token_ids()[token]));
    out += ',';
    put_uint(out, static_cast<uint32_t>(t.positions()[token]));
    out += ',';
    out += modality_name(t.modalities()[token]);
    out += ',';
    put_uint(out, t.moe_layers()[m]);
    out += ',';
    put_uint(out, r);
    out += ',';
    put_uint(out, t.expert(token, m, r));
    out += ',';
    out += detail::half_text(detail::to_half(t.weight(token, m, r)));
    out += '\n';
  });
  return out;
}

std::vector<uint8_t> routing_npy(const Session& session) {
  static constexpr const char* kFields[] = {"message",  "token", "token_id", "position",
                                            "modality", "layer", "rank",     "expert"};
  constexpr size_t kRowBytes = 4 * (std::size(kFields) + 1);
  const size_t n_rows = row_count(session);
  std::string header = "{'descr': [";
  for (const char* f : kFields) header += std::string("('") + f + "', '<i4'), ";
  header +=
      "('weight', '<f4')], 'fortran_order': False, 'shape': (" + std::to_string(n_rows) + ",), }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded with spaces to 64 bytes.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out(10 + header.size() + n_rows * kRowBytes);
  std::memcpy(out.data(), "\x93NUMPY\x01\x00", 8);
  out[8] = static_cast<uint8_t>(header.size() & 0xff);
  out[9] = static_cast<uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  size_t at = 10 + header.size();
  for_each_row(session, [&](size_t i, const Message&, const RoutingTrace& t, uint32_t token,
                            uint32_t m, uint32_t r) {
    const uint32_t values[] = {static_cast<uint32_t>(i),
                               token,
                               static_cast<uint32_t>(t.token_ids()[token]),
                               static_cast<uint32_t>(t.positions()[token]),
                               static_cast<uint32_t>(t.modalities()[token]),
                               t.moe_layers()[m],
                               r,
                               t.expert(token, m, r)};
    for (const uint32_t v : values) {
      put_le32(out, at, v);
      at += 4;
    }
    put_le32(out, at, std::bit_cast<uint32_t>(t.weight(token, m, r)));
    at += 4;
  });
  return out;
}

}  // namespace es::transcript
