// Encoding 1 of stored routing traces (layout in trace_codec.h).
#include "store/trace_codec.h"

#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "expertscope/error.h"
#include "trace/trace_internal.h"

namespace es::store_detail {

namespace {

constexpr std::array<uint8_t, 4> kMagic = {'E', 'S', 'T', 'C'};
constexpr uint32_t kVersion = 1;
/// The largest decoded payload accepted (a 1M-token trace of DeepSeek-V3's 58 MoE layers
/// of 8-of-256 experts is about 2.6 GB; anything larger is not a trace this store wrote).
constexpr uint64_t kMaxPayload = uint64_t{4} << 30;

class Out {
 public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void raw(std::span<const uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  /// Appends 16-bit values as a low-byte plane followed by a high-byte plane.
  void planes16(std::span<const uint16_t> v) {
    const size_t at = bytes_.size();
    bytes_.resize(at + 2 * v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      bytes_[at + i] = static_cast<uint8_t>(v[i]);
      bytes_[at + v.size() + i] = static_cast<uint8_t>(v[i] >> 8);
    }
  }
  [[nodiscard]] std::vector<uint8_t>& bytes() noexcept { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class In {
 public:
  In(std::span<const uint8_t> bytes, std::string_view what) : bytes_(bytes), what_(what) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::bad_input, std::string(what_) + ": stored routing trace: " + why);
  }
  std::span<const uint8_t> take(uint64_t n, const char* field) {
    if (n > bytes_.size() - pos_) fail(std::string("truncated in ") + field);
    const auto s = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  uint32_t u32(const char* field) {
    const auto s = take(4, field);
    return uint32_t{s[0]} | uint32_t{s[1]} << 8 | uint32_t{s[2]} << 16 | uint32_t{s[3]} << 24;
  }
  int32_t i32(const char* field) { return static_cast<int32_t>(u32(field)); }
  std::vector<uint16_t> planes16(uint64_t n, const char* field) {
    const auto s = take(2 * n, field);
    std::vector<uint16_t> v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = static_cast<uint16_t>(s[i] | s[v.size() + i] << 8);
    }
    return v;
  }
  [[nodiscard]] size_t remaining() const noexcept { return bytes_.size() - pos_; }

 private:
  std::span<const uint8_t> bytes_;
  std::string_view what_;
  size_t pos_ = 0;
};

uint16_t half_bits(float v) noexcept {
  return trace_detail::float_to_half(v);
}

}  // namespace

std::vector<uint8_t> encode_trace(const RoutingTrace& trace,
                                  std::span<const std::string> token_texts) {
  if (!trace.has_shape()) {
    throw Error(ErrorKind::usage, "encode_trace: the trace has no shape (nothing appended)");
  }
  const uint32_t n = trace.n_tokens();
  const uint32_t n_expert = trace.n_expert();
  const uint32_t k = trace.top_k();
  const uint32_t n_layers = trace.n_moe_layers();
  if (!token_texts.empty() && token_texts.size() != n) {
    throw Error(ErrorKind::usage, "encode_trace: " + std::to_string(token_texts.size()) +
                                      " token texts for " + std::to_string(n) + " tokens");
  }
  Out out;
  out.raw(kMagic);
  out.u32(kVersion);
  out.u32(n);
  out.u32(n_expert);
  out.u32(k);
  out.u32(n_layers);
  out.i32(trace.shape().full_layer);
  for (const uint32_t l : trace.moe_layers()) out.u32(l);
  for (const int32_t id : trace.token_ids()) out.i32(id);
  int32_t prev = -1;
  for (const int32_t p : trace.positions()) {
    out.i32(static_cast<int32_t>(static_cast<uint32_t>(p) - static_cast<uint32_t>(prev) - 1u));
    prev = p;
  }
  for (const Modality m : trace.modalities()) out.u8(static_cast<uint8_t>(m));

  const size_t n_slots = size_t{n} * n_layers * k;
  std::vector<uint16_t> experts(n_slots);
  std::vector<uint16_t> weights(n_slots);
  std::vector<uint16_t> entropy(size_t{n} * n_layers);
  std::vector<uint16_t> prev_entropy(n_layers, 0);
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t m = 0; m < n_layers; ++m) {
      uint16_t prev_w = 0;
      for (uint32_t r = 0; r < k; ++r) {
        const size_t i = (size_t{t} * n_layers + m) * k + r;
        experts[i] = trace.expert(t, m, r);
        const uint16_t w = half_bits(trace.weight(t, m, r));
        weights[i] = r == 0 ? w : static_cast<uint16_t>(prev_w - w);
        prev_w = w;
      }
      const uint16_t e = half_bits(trace.entropy(t, m));
      entropy[size_t{t} * n_layers + m] = static_cast<uint16_t>(e - prev_entropy[m]);
      prev_entropy[m] = e;
    }
  }
  if (n_expert <= 256) {
    for (const uint16_t e : experts) out.u8(static_cast<uint8_t>(e));
  } else {
    out.planes16(experts);
  }
  out.planes16(weights);
  out.planes16(entropy);
  if (trace.has_full_probs()) {
    std::vector<uint16_t> probs(size_t{n} * n_expert);
    for (uint32_t t = 0; t < n; ++t) {
      for (uint32_t e = 0; e < n_expert; ++e) {
        probs[size_t{t} * n_expert + e] = half_bits(trace.full_prob(t, e));
      }
    }
    out.planes16(probs);
  }
  out.u32(static_cast<uint32_t>(token_texts.size()));
  for (const std::string& s : token_texts) {
    if (s.size() > std::numeric_limits<uint32_t>::max()) {
      throw Error(ErrorKind::usage, "encode_trace: a token text longer than 4 GiB");
    }
    out.u32(static_cast<uint32_t>(s.size()));
  }
  for (const std::string& s : token_texts) {
    out.raw(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  const std::vector<uint8_t>& payload = out.bytes();
  std::vector<uint8_t> frame(ZSTD_compressBound(payload.size()));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) throw Error(ErrorKind::io, "encode_trace: zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, trace_zstd_level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  const size_t written =
      ZSTD_compress2(cctx, frame.data(), frame.size(), payload.data(), payload.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(written)) {
    throw Error(ErrorKind::io, std::string("encode_trace: zstd: ") + ZSTD_getErrorName(written));
  }
  frame.resize(written);
  return frame;
}

DecodedTrace decode_trace(std::span<const uint8_t> bytes, uint32_t encoding,
                          std::string_view what) {
  const In header(bytes, what);
  if (encoding != kVersion) {
    if (encoding > kVersion) {
      throw Error(ErrorKind::unsupported, std::string(what) + ": stored routing trace: encoding " +
                                              std::to_string(encoding) +
                                              " is newer than this program reads (" +
                                              std::to_string(kVersion) + ")");
    }
    header.fail("unknown encoding " + std::to_string(encoding));
  }
  const unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) header.fail("not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxPayload) {
    header.fail("implausible decoded size");
  }
  std::vector<uint8_t> payload(static_cast<size_t>(size));
  const size_t got = ZSTD_decompress(payload.data(), payload.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(got)) header.fail(std::string("zstd: ") + ZSTD_getErrorName(got));
  if (got != payload.size()) header.fail("the frame is shorter than it says");

  In in(payload, what);
  const auto magic = in.take(4, "magic");
  if (!std::equal(magic.begin(), magic.end(), kMagic.begin())) in.fail("bad magic");
  if (in.u32("version") != kVersion) in.fail("payload version differs from its encoding");
  const uint32_t n = in.u32("token count");
  TraceShape shape;
  shape.n_expert = in.u32("expert count");
  shape.top_k = in.u32("top-k");
  const uint32_t n_layers = in.u32("layer count");
  shape.full_layer = in.i32("full-distribution layer");
  // Every count is checked against the bytes left before anything is sized by it.
  if (uint64_t{n_layers} * 4 > in.remaining()) in.fail("more layers than bytes");
  shape.moe_layers.resize(n_layers);
  for (uint32_t& l : shape.moe_layers) l = in.u32("layers");
  RoutingTrace trace;
  try {
    trace = RoutingTrace(shape);
  } catch (const Error& e) {
    in.fail(std::string("bad shape: ") + e.what());
  }
  const uint64_t n_slots = uint64_t{n} * n_layers * shape.top_k;
  const uint64_t per_token_min = 9 + uint64_t{n_layers} * shape.top_k * 3 + uint64_t{n_layers} * 2;
  if (n != 0 && per_token_min > in.remaining() / n) in.fail("more tokens than bytes");

  std::vector<int32_t> ids(n);
  std::vector<int32_t> positions(n);
  std::vector<Modality> modalities(n);
  for (int32_t& id : ids) id = in.i32("token ids");
  uint32_t prev = static_cast<uint32_t>(-1);
  for (int32_t& p : positions) {
    prev = prev + 1u + static_cast<uint32_t>(in.i32("positions"));
    p = static_cast<int32_t>(prev);
  }
  const auto mods = in.take(n, "modalities");
  for (uint32_t i = 0; i < n; ++i) modalities[i] = static_cast<Modality>(mods[i]);

  RoutingBatch batch;
  batch.n_expert = shape.n_expert;
  batch.top_k = shape.top_k;
  batch.moe_layers = shape.moe_layers;
  batch.full_layer = shape.full_layer;
  batch.resize(n);
  if (shape.n_expert <= 256) {
    const auto e = in.take(n_slots, "expert ids");
    for (size_t i = 0; i < e.size(); ++i) batch.experts[i] = e[i];
  } else {
    batch.experts = in.planes16(n_slots, "expert ids");
  }
  const std::vector<uint16_t> w = in.planes16(n_slots, "weights");
  for (size_t slot = 0; slot < w.size(); slot += shape.top_k) {
    uint16_t h = 0;
    for (uint32_t r = 0; r < shape.top_k; ++r) {
      h = r == 0 ? w[slot] : static_cast<uint16_t>(h - w[slot + r]);
      batch.weights[slot + r] = trace_detail::half_to_float(h);
    }
  }
  const std::vector<uint16_t> ent = in.planes16(uint64_t{n} * n_layers, "entropy");
  std::vector<uint16_t> prev_entropy(n_layers, 0);
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t m = 0; m < n_layers; ++m) {
      const size_t i = size_t{t} * n_layers + m;
      prev_entropy[m] = static_cast<uint16_t>(prev_entropy[m] + ent[i]);
      batch.entropy[i] = trace_detail::half_to_float(prev_entropy[m]);
    }
  }
  if (shape.full_layer >= 0) {
    if (uint64_t{n} * shape.n_expert * 2 > in.remaining()) in.fail("truncated in distribution");
    const std::vector<uint16_t> p = in.planes16(uint64_t{n} * shape.n_expert, "distribution");
    for (size_t i = 0; i < p.size(); ++i) batch.full_probs[i] = trace_detail::half_to_float(p[i]);
  }
  const uint32_t n_texts = in.u32("text count");
  if (n_texts != 0 && n_texts != n) in.fail("token text count differs from the token count");
  if (uint64_t{n_texts} * 4 > in.remaining()) in.fail("more token texts than bytes");
  std::vector<uint32_t> lengths(n_texts);
  for (uint32_t& len : lengths) len = in.u32("text lengths");
  DecodedTrace out;
  out.token_texts.resize(n_texts);
  for (uint32_t i = 0; i < n_texts; ++i) {
    const auto s = in.take(lengths[i], "token texts");
    out.token_texts[i].assign(reinterpret_cast<const char*>(s.data()), s.size());
  }
  if (in.remaining() != 0) in.fail("bytes left after the payload");
  if (n != 0) {
    try {
      trace.append(batch, ids, positions, modalities);
    } catch (const Error& e) {
      in.fail(e.what());
    }
  }
  out.trace = std::move(trace);
  return out;
}

}  // namespace es::store_detail
