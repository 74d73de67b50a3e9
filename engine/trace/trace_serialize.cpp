// The binary form of a RoutingTrace. Version 1, every number little-endian, no padding:
//
//   offset  bytes          field
//   0       4              magic "ESRT"
//   4       4   u32        format version (1)
//   8       4   u32        n_expert E (1 .. 65536)
//   12      4   u32        top_k K (1 .. min(16, E))
//   16      4   u32        MoE layers L (>= 1)
//   20      4   i32        full-distribution block index, -1 for none
//   24      4   u32        bits per expert id B (must be max(1, ceil(log2 E)))
//   28      4   u32        reserved, 0
//   32      8   u64        tokens N (< 2^32)
//   40      4L  u32[L]     block index of each MoE layer, strictly ascending
//           4N  i32[N]     token ids (>= 0)
//           4N  i32[N]     positions (>= 0)
//           N   u8[N]      modality (1 text, 2 image, 3 video)
//           ceil(N·L·K·B/8) expert ids [token][layer][rank], B bits each, packed from the
//                          least significant bit of each byte; unused high bits zero
//           2NLK u16       weights, IEEE binary16, same order
//           2NL  u16       router entropy (nats), binary16, [token][layer]
//           2NE  u16       full distribution, binary16, [token][expert] (only if kept)
//           8   u64        checksum of every byte before it (below)
//
// Checksum: h = 0xcbf29ce484222325; for each 8-byte little-endian word w of the data (the
// last one zero-padded): h = (h ^ w) * 0x100000001b3; h ^= h >> 32. Each step is a
// bijection of h and of w, so any change confined to one word is always detected.
#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "expertscope/trace.h"
#include "trace_internal.h"

namespace es {

namespace {

constexpr std::array<uint8_t, 4> kMagic = {'E', 'S', 'R', 'T'};
constexpr size_t kFixedHeaderBytes = 40;
constexpr size_t kChecksumBytes = 8;

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::bad_input, "routing trace: " + what);
}

uint64_t checksum(std::span<const uint8_t> bytes) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto step = [&h](uint64_t w) {
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 32;
  };
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = 0;
    for (int b = 7; b >= 0; --b) w = (w << 8) | bytes[i + static_cast<size_t>(b)];
    step(w);
  }
  if (i < bytes.size()) {
    uint64_t w = 0;
    for (size_t b = bytes.size(); b-- > i;) w = (w << 8) | bytes[b];
    step(w);
  }
  return h;
}

/// Appends little-endian values to a preallocated buffer.
struct Writer {
  uint8_t* p;
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) *p++ = static_cast<uint8_t>(v >> (8 * i));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) *p++ = static_cast<uint8_t>(v >> (8 * i));
  }
  void bytes(const void* data, size_t n) {
    if (n != 0) std::memcpy(p, data, n);
    p += n;
  }
  void u16s(const std::vector<uint16_t>& v) {
    if constexpr (std::endian::native == std::endian::little) {
      bytes(v.data(), v.size() * 2);
    } else {
      for (const uint16_t x : v) {
        *p++ = static_cast<uint8_t>(x);
        *p++ = static_cast<uint8_t>(x >> 8);
      }
    }
  }
  void i32s(const std::vector<int32_t>& v) {
    for (const int32_t x : v) u32(static_cast<uint32_t>(x));
  }
};

/// Reads little-endian values from a blob whose length has already been checked.
struct Reader {
  const uint8_t* p;
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    p += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    p += 8;
    return v;
  }
  void u16s(std::vector<uint16_t>& out, size_t n) {
    out.resize(n);
    if constexpr (std::endian::native == std::endian::little) {
      if (n != 0) std::memcpy(out.data(), p, n * 2);
      p += n * 2;
    } else {
      for (auto& x : out) {
        x = static_cast<uint16_t>(p[0] | (p[1] << 8));
        p += 2;
      }
    }
  }
};

/// a * b, or false on overflow.
bool mul(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > UINT64_MAX / a) return false;
  out = a * b;
  return true;
}
bool add(uint64_t a, uint64_t b, uint64_t& out) {
  if (b > UINT64_MAX - a) return false;
  out = a + b;
  return true;
}

struct Header {
  uint32_t version = 0, n_expert = 0, top_k = 0, n_layers = 0, bits = 0, reserved = 0;
  int32_t full_layer = -1;
  uint64_t n_tokens = 0;
};

/// The blob length a header implies, or 0 when it overflows 64 bits.
uint64_t implied_bytes(const Header& h) {
  const uint64_t n = h.n_tokens, l = h.n_layers, k = h.top_k;
  uint64_t nl = 0, nlk = 0, bits = 0, total = kFixedHeaderBytes + kChecksumBytes, part = 0;
  const bool ok =
      mul(n, l, nl) && mul(nl, k, nlk) && mul(nlk, h.bits, bits) && mul(4, l, part) &&
      add(total, part, total) && mul(9, n, part) && add(total, part, total) &&
      add(total, bits / 8 + (bits % 8 != 0), total) && mul(2, nlk, part) &&
      add(total, part, total) && mul(2, nl, part) && add(total, part, total) &&
      (h.full_layer < 0 || (mul(2 * uint64_t{h.n_expert}, n, part) && add(total, part, total)));
  return ok ? total : 0;
}

Header read_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < kFixedHeaderBytes) {
    fail("truncated: " + std::to_string(bytes.size()) + " bytes, the header alone takes " +
         std::to_string(kFixedHeaderBytes));
  }
  if (std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    fail("not a routing trace (bad magic)");
  }
  Reader r{bytes.data() + 4};
  Header h;
  h.version = r.u32();
  if (h.version == 0) fail("format version 0 is invalid");
  if (h.version > RoutingTrace::format_version) {
    throw Error(ErrorKind::unsupported, "routing trace: format version " +
                                            std::to_string(h.version) +
                                            " is newer than this build reads (" +
                                            std::to_string(RoutingTrace::format_version) + ")");
  }
  h.n_expert = r.u32();
  h.top_k = r.u32();
  h.n_layers = r.u32();
  h.full_layer = static_cast<int32_t>(r.u32());
  h.bits = r.u32();
  h.reserved = r.u32();
  h.n_tokens = r.u64();
  if (h.reserved != 0) fail("reserved header field is " + std::to_string(h.reserved));
  if (h.n_tokens > UINT32_MAX) fail("token count " + std::to_string(h.n_tokens) + " is absurd");
  if (h.n_expert == 0 || h.n_expert > 65536) {
    fail("n_expert " + std::to_string(h.n_expert) + " is outside 1..65536");
  }
  if (h.bits != trace_detail::bits_for_experts(h.n_expert)) {
    fail(std::to_string(h.bits) + " bits per expert id, expected " +
         std::to_string(trace_detail::bits_for_experts(h.n_expert)) + " for " +
         std::to_string(h.n_expert) + " experts");
  }
  if (h.top_k == 0 || h.top_k > max_experts_used || h.top_k > h.n_expert) {
    fail("top_k " + std::to_string(h.top_k) + " is outside 1.." +
         std::to_string(std::min(max_experts_used, h.n_expert)));
  }
  const uint64_t expected = implied_bytes(h);
  if (expected != bytes.size()) {
    fail((expected > bytes.size() || expected == 0 ? "truncated or absurd counts: "
                                                   : "trailing bytes: ") +
         std::to_string(bytes.size()) + " bytes, but " + std::to_string(h.n_tokens) + " tokens x " +
         std::to_string(h.n_layers) + " layers x top " + std::to_string(h.top_k) + " need " +
         (expected == 0 ? std::string("more than 2^64") : std::to_string(expected)));
  }
  return h;
}

/// Checks the stored values of a freshly read trace.
void check_values(const RoutingTrace& trace) {
  for (uint32_t t = 0; t < trace.n_tokens(); ++t) {
    const Modality m = trace.modalities()[t];
    if (m != Modality::text && m != Modality::image && m != Modality::video) {
      fail("token " + std::to_string(t) + " has modality " + std::to_string(static_cast<int>(m)));
    }
    if (trace.token_ids()[t] < 0 || trace.positions()[t] < 0) {
      fail("token " + std::to_string(t) + " has a negative id or position");
    }
  }
  const TraceAccess access{trace};
  const uint32_t k = trace.top_k();
  for (uint32_t t = 0; t < trace.n_tokens(); ++t) {
    for (uint32_t m = 0; m < trace.n_moe_layers(); ++m) {
      std::array<uint32_t, max_experts_used> e{};
      for (uint32_t r = 0; r < k; ++r) {
        e[r] = access.expert(t, m, r);
        if (e[r] >= trace.n_expert()) {
          fail("token " + std::to_string(t) + ", layer " + std::to_string(trace.moe_layers()[m]) +
               ": expert " + std::to_string(e[r]) + " is out of range");
        }
        for (uint32_t q = 0; q < r; ++q) {
          if (e[q] == e[r]) {
            fail("token " + std::to_string(t) + ", layer " + std::to_string(trace.moe_layers()[m]) +
                 ": expert " + std::to_string(e[r]) + " is selected twice");
          }
        }
      }
    }
  }
}

}  // namespace

std::vector<uint8_t> RoutingTrace::serialize() const {
  if (!has_shape()) trace_detail::fail_usage("cannot serialise a trace without a shape");
  Header h;
  h.version = format_version;
  h.n_expert = shape_.n_expert;
  h.top_k = shape_.top_k;
  h.n_layers = n_moe_layers();
  h.full_layer = shape_.full_layer;
  h.bits = expert_bits_;
  h.n_tokens = n_tokens();
  std::vector<uint8_t> out(implied_bytes(h));
  Writer w{out.data()};
  w.bytes(kMagic.data(), kMagic.size());
  w.u32(h.version);
  w.u32(h.n_expert);
  w.u32(h.top_k);
  w.u32(h.n_layers);
  w.u32(static_cast<uint32_t>(h.full_layer));
  w.u32(h.bits);
  w.u32(0);
  w.u64(h.n_tokens);
  for (const uint32_t layer : shape_.moe_layers) w.u32(layer);
  w.i32s(token_ids_);
  w.i32s(positions_);
  w.bytes(modalities_.data(), modalities_.size());
  w.bytes(expert_bits_data_.data(), expert_bits_data_.size());
  w.u16s(weights_);
  w.u16s(entropy_);
  w.u16s(full_probs_);
  const size_t body = out.size() - kChecksumBytes;
  w.u64(checksum(std::span(out).first(body)));
  return out;
}

RoutingTrace RoutingTrace::deserialize(std::span<const uint8_t> bytes) {
  const Header h = read_header(bytes);
  const size_t body = bytes.size() - kChecksumBytes;
  const uint64_t stored = Reader{bytes.data() + body}.u64();
  const uint64_t computed = checksum(bytes.first(body));
  if (stored != computed) fail("checksum mismatch: the data is corrupt");

  Reader r{bytes.data() + kFixedHeaderBytes};
  TraceShape shape{h.n_expert, h.top_k, std::vector<uint32_t>(h.n_layers), h.full_layer};
  for (auto& layer : shape.moe_layers) layer = r.u32();
  const std::string problem = trace_detail::shape_problem(shape);
  if (!problem.empty()) fail(problem);

  RoutingTrace trace;
  TraceBuilder b{trace};
  b.set_shape(std::move(shape));
  const size_t n = h.n_tokens;
  const size_t nl = n * h.n_layers;
  b.token_ids().resize(n);
  for (auto& id : b.token_ids()) id = static_cast<int32_t>(r.u32());
  b.positions().resize(n);
  for (auto& pos : b.positions()) pos = static_cast<int32_t>(r.u32());
  b.modalities().resize(n);
  if (n != 0) std::memcpy(b.modalities().data(), r.p, n);
  r.p += n;
  const size_t n_packed = trace_detail::packed_bytes(nl * h.top_k, h.bits);
  b.packed_experts().assign(r.p, r.p + n_packed);
  r.p += n_packed;
  const size_t used_bits = nl * h.top_k * h.bits % 8;
  if (used_bits != 0 && (b.packed_experts().back() >> used_bits) != 0) {
    fail("unused bits after the last expert id are not zero");
  }
  r.u16s(b.weights(), nl * h.top_k);
  r.u16s(b.entropies(), nl);
  if (h.full_layer >= 0) r.u16s(b.full_probs(), n * h.n_expert);
  check_values(trace);
  return trace;
}

}  // namespace es
