// The Vulkan backend's RoPE, KV cache writes and attention (shaders/ops/rope.comp,
// kv_store.comp, attention.comp). The KV cache of all layers is one buffer that may exceed
// one binding: each op binds the window of the layer's rows it touches (the positions of
// its tokens, or the visible span of the cache). What cannot be bound that way (a window
// over the binding limit, offsets that are not whole cache elements, positions past 2^24)
// runs on the CPU backend over the same memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "vk_backend.h"

namespace es::backend::vulkan {

namespace {

constexpr uint32_t kLocal = 64;
/// Attention invocations are whole rows of work: small workgroups spread one decode
/// step's few (token, head) rows over a CPU device's threads.
constexpr uint32_t kAttentionLocal = 8;
/// Loop iterations one invocation may run: Mesa's llvmpipe ends all loops of an
/// invocation after 65535 in total (LP_MAX_TGSI_LOOP_ITERATIONS: it counts each loop's
/// iterations plus one per entry), with a margin of 8%.
constexpr uint32_t kLoopBudget = 60000;
/// The most workgroups along y (the rows of rope and kv_store) per dispatch.
constexpr uint32_t kMaxGroupsY = 65535;

uint32_t u32(size_t v) {
  return static_cast<uint32_t>(v);
}

uint32_t ceil_div(uint32_t n, uint32_t d) {
  return (n + d - 1) / d;
}

/// YaRN's ramp and correction dimensions, as the CPU backend computes them (float).
float yarn_ramp(float low, float high, uint32_t i0) {
  const float y = (static_cast<float>(i0) / 2 - low) / std::max(0.001f, high - low);
  return 1.0f - std::min(1.0f, std::max(0.0f, y));
}

float yarn_corr_dim(uint32_t n_dims, uint32_t n_ctx_orig, float n_rot, float base) {
  return static_cast<float>(n_dims) *
         std::log(static_cast<float>(n_ctx_orig) / (n_rot * 2.0f * static_cast<float>(M_PI))) /
         (2.0f * std::log(base));
}

/// `v` with its 12 leading significant bits (the low 12 mantissa bits cleared).
float leading12(float v) {
  uint32_t bits = 0;
  std::memcpy(&bits, &v, 4);
  bits &= 0xfffff000u;
  std::memcpy(&v, &bits, 4);
  return v;
}

/// Per rotated pair: the inverse frequency as a + b + c (rope.comp) and the YaRN mix.
struct RopeDim {
  float a, b, c, mix;
};

/// A window of the cache: its binding and where the wanted bytes start in it, in cache
/// elements.
struct CacheWindow {
  Operand operand;
  uint32_t first = 0;
};

/// Binds `bytes` of the cache from `byte_offset` (a whole number of `elem`-byte elements
/// from the buffer's start) from the word that holds it; nothing when that exceeds one
/// binding.
std::optional<CacheWindow> cache_window(VulkanBackend& be, backend::Buffer& buf, size_t byte_offset,
                                        size_t bytes, size_t elem) {
  const size_t start = byte_offset & ~size_t{3};
  const size_t n = bytes + (byte_offset - start);
  if (start % be.context().binding_alignment() + (n + 3) / 4 * 4 > be.max_binding()) {
    return std::nullopt;
  }
  const Operand o = be.operand(buf, start, n);
  return CacheWindow{o, u32((o.offset + (byte_offset - start)) / elem)};
}

}  // namespace

bool VulkanBackend::has_attention_shader(Op op) noexcept {
  return op == Op::rope || op == Op::kv_store || op == Op::attention;
}

void VulkanBackend::rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
                         const RopeParams& p, std::span<const int32_t> pos) {
  const uint32_t half = p.n_rot / 2;
  if (x.rows == 0 || half == 0 || n_heads == 0) return;
  constexpr int32_t kMaxPos = (1 << 24) - 1;  // rope.comp splits positions into 12-bit halves
  for (uint32_t r = 0; r < x.rows; ++r) {
    if (pos[r] > kMaxPos || pos[r] < -kMaxPos) {
      fallback().rope(x, n_heads, head_stride, rot_offset, p, pos);
      return;
    }
  }
  float corr_lo = 0, corr_hi = 0;
  float mscale = p.attn_factor;
  if (p.ext_factor != 0.0f) {
    corr_lo =
        std::max(0.0f, std::floor(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_fast, p.freq_base)));
    corr_hi = std::min(static_cast<float>(p.n_rot - 1),
                       std::ceil(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_slow, p.freq_base)));
    mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
  }
  // One staging for the op (a later stage() may flush and reuse the arena): the pairs'
  // constants, then the positions.
  std::vector<RopeDim> dims(half + (x.rows + 3) / 4);
  for (uint32_t i = 0; i < half; ++i) {
    // The CPU's double-precision inverse frequency, split so that the device can form the
    // product with a position exactly (rope.comp).
    const double inv = std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot);
    const float a = leading12(static_cast<float>(inv));
    const double r1 = inv - a;
    const float b = leading12(static_cast<float>(r1));
    const auto c = static_cast<float>(r1 - b);
    const float mix =
        p.ext_factor != 0.0f ? yarn_ramp(corr_lo, corr_hi, 2 * i) * p.ext_factor : 0.0f;
    dims[i] = RopeDim{a, b, c, mix};
  }
  std::memcpy(dims.data() + half, pos.data(), x.rows * sizeof(int32_t));
  const Operand od = stage(dims.data(), dims.size() * sizeof(RopeDim));
  struct Push {
    uint32_t rows, half_rot, n_heads, head_stride, rot_offset, off_x, stride_x, off_pos, neox, yarn;
    float freq_scale, mscale;
  };
  for (uint32_t r0 = 0; r0 < x.rows; r0 += kMaxGroupsY) {
    const uint32_t n = std::min(kMaxGroupsY, x.rows - r0);
    const Mat xs = x.rows_view(r0, n);
    const Operand ox = operand(xs);
    const Push push{n,
                    half,
                    n_heads,
                    head_stride,
                    rot_offset,
                    ox.offset,
                    u32(x.stride),
                    4 * half + r0,
                    p.style == RopeStyle::neox ? 1u : 0u,
                    p.ext_factor != 0.0f ? 1u : 0u,
                    p.freq_scale,
                    mscale};
    dispatch("rope", {ox, od, od}, push, Groups{ceil_div(half, kLocal), n, 1}, kLocal, Tag::rope);
  }
}

namespace {

/// Writes rows of `src` (cols values each) at cache rows pos[t] of the part of `kv.buf`
/// that starts at `offset` bytes with `row_bytes` between positions. False when it cannot
/// be done on the device (the caller falls back).
bool store_rows(VulkanBackend& be, const KvView& kv, size_t offset, size_t row_bytes, uint32_t cols,
                Mat src, std::span<const int32_t> pos, const Operand& staged_pos) {
  const size_t elem = kv.f16 ? 2 : 4;
  if (offset % elem != 0 || row_bytes % elem != 0) return false;
  src.cols = cols;
  const size_t row_data = size_t{cols} * elem;
  auto window_bytes = [&](int32_t a, int32_t b) {
    return static_cast<size_t>(b - a) * row_bytes + row_data;
  };
  const auto fits = [&](int32_t a, int32_t b) {
    const size_t w0 = offset + static_cast<size_t>(a) * row_bytes;
    const size_t start = w0 & ~size_t{3};
    return start % be.context().binding_alignment() +
               (window_bytes(a, b) + (w0 - start) + 3) / 4 * 4 <=
           be.max_binding();
  };
  uint32_t t0 = 0;
  while (t0 < src.rows) {
    // The longest run of tokens whose rows fit one window (all of them, as a rule).
    int32_t lo = pos[t0], hi = pos[t0];
    if (lo < 0 || !fits(lo, hi)) return false;
    uint32_t t1 = t0 + 1;
    for (; t1 < src.rows && t1 - t0 < kMaxGroupsY; ++t1) {
      const int32_t a = std::min(lo, pos[t1]), b = std::max(hi, pos[t1]);
      if (a < 0) return false;
      if (!fits(a, b)) break;
      lo = a;
      hi = b;
    }
    const uint32_t n = t1 - t0;
    const std::optional<CacheWindow> dst = cache_window(
        be, *kv.buf, offset + static_cast<size_t>(lo) * row_bytes, window_bytes(lo, hi), elem);
    if (!dst) return false;
    const Operand s = be.operand(src.rows_view(t0, n));
    struct Push {
      uint32_t rows, cols, off_src, stride_src, off_dst, row_elems, off_pos;
      int32_t pos_base;
    };
    const Push push{n, cols, s.offset, u32(src.stride), dst->first, u32(row_bytes / elem), t0, lo};
    const uint32_t per_row = kv.f16 ? cols / 2 + 1 : cols;
    be.dispatch(kv.f16 ? "kv_store_f16" : "kv_store_f32", {s, dst->operand, staged_pos}, push,
                Groups{ceil_div(per_row, kLocal), n, 1}, kLocal, Tag::kv_store);
    t0 = t1;
  }
  return true;
}

}  // namespace

void VulkanBackend::kv_store(const KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) {
  if (k.rows == 0) return;
  // Both checks come first, so that nothing is written twice when one part falls back.
  const size_t elem = kv.f16 ? 2 : 4;
  const bool aligned =
      kv.k_offset_bytes % elem == 0 && kv.k_row_bytes % elem == 0 &&
      (kv.v_is_k_prefix || (kv.v_offset_bytes % elem == 0 && kv.v_row_bytes % elem == 0));
  if (!aligned) {
    fallback().kv_store(kv, k, v, pos);
    return;
  }
  const uint32_t k_cols = kv.n_head_kv * kv.head_dim_k;
  const uint32_t v_cols = kv.n_head_kv * kv.head_dim_v;
  const Operand staged_pos = stage(pos.data(), k.rows * sizeof(int32_t));
  if (!store_rows(*this, kv, kv.k_offset_bytes, kv.k_row_bytes, k_cols, k, pos, staged_pos)) {
    fallback().kv_store(kv, k, v, pos);
    return;
  }
  if (!kv.v_is_k_prefix &&
      !store_rows(*this, kv, kv.v_offset_bytes, kv.v_row_bytes, v_cols, v, pos, staged_pos)) {
    // K is written (or recorded): let the CPU write it again along with V, after a flush.
    fallback().kv_store(kv, k, v, pos);
  }
}

void VulkanBackend::attention(Mat out, Mat q, const KvView& kv, const AttentionParams& p,
                              std::span<const int32_t> pos) {
  if (q.rows == 0 || p.n_head == 0) return;
  const size_t elem = kv.f16 ? 2 : 4;
  const uint32_t dk = kv.head_dim_k, dv = kv.head_dim_v;
  const size_t v_offset = kv.v_is_k_prefix ? kv.k_offset_bytes : kv.v_offset_bytes;
  const size_t v_row_bytes = kv.v_is_k_prefix ? kv.k_row_bytes : kv.v_row_bytes;
  const uint32_t v_head = kv.v_is_k_prefix ? dk : dv;  // elements between KV heads in V
  // The visible span of the cache over all tokens.
  int32_t lo = std::numeric_limits<int32_t>::max(), hi = -1;
  for (uint32_t t = 0; t < q.rows; ++t) {
    const int32_t first =
        p.window != 0 ? std::max(0, pos[t] - static_cast<int32_t>(p.window) + 1) : 0;
    lo = std::min(lo, first);
    hi = std::max(hi, pos[t]);
  }
  const size_t k_start = kv.k_offset_bytes + static_cast<size_t>(lo) * kv.k_row_bytes;
  const size_t v_start = v_offset + static_cast<size_t>(lo) * v_row_bytes;
  const size_t span = static_cast<size_t>(hi - lo);
  const size_t k_bytes = span * kv.k_row_bytes + size_t{kv.n_head_kv} * dk * elem;
  const size_t v_bytes =
      span * v_row_bytes + (size_t{kv.n_head_kv} - 1) * v_head * elem + dv * elem;
  const bool ok = hi >= 0 && kv.n_head_kv > 0 && p.n_head % kv.n_head_kv == 0 && dk % 4 == 0 &&
                  dv % 4 == 0 && dk > 0 && dv > 0 && kv.k_offset_bytes % elem == 0 &&
                  kv.k_row_bytes % elem == 0 && v_offset % elem == 0 && v_row_bytes % elem == 0;
  std::optional<CacheWindow> kw, vw;
  if (ok) kw = cache_window(*this, *kv.buf, k_start, k_bytes, elem);
  if (kw) vw = cache_window(*this, *kv.buf, v_start, v_bytes, elem);
  if (!vw) {
    fallback().attention(out, q, kv, p, pos);
    return;
  }
  Mat qm = q;
  qm.cols = p.n_head * dk;
  Mat om = out;
  om.cols = p.n_head * dv;
  const Operand oq = operand(qm), oy = operand(om);
  // One staging for the op: each row's running (maximum, sum) — the sink and 1, or
  // nothing yet — then the positions.
  const size_t n_rows = size_t{q.rows} * p.n_head;
  std::vector<float> host(2 * n_rows + q.rows);
  for (size_t r = 0; r < n_rows; ++r) {
    if (p.sinks != nullptr) {
      host[2 * r] = p.sinks[r % p.n_head];
      host[2 * r + 1] = 1.0f;
    }
  }
  std::memcpy(host.data() + 2 * n_rows, pos.data(), q.rows * sizeof(int32_t));
  const Operand staged = stage(host.data(), host.size() * sizeof(float));
  struct Push {
    uint32_t n_tokens, n_head, group, dk, dv, off_q, stride_q, off_y, stride_y, k_off, k_row, v_off,
        v_row, v_head;
    int32_t base;
    uint32_t window;
    int32_t c0;
    uint32_t chunk, off_pos;
    float scale;
  };
  Push push{q.rows,
            p.n_head,
            p.n_head / kv.n_head_kv,
            dk,
            dv,
            oq.offset,
            u32(q.stride),
            oy.offset,
            u32(out.stride),
            kw->first,
            u32(kv.k_row_bytes / elem),
            vw->first,
            u32(v_row_bytes / elem),
            v_head,
            lo,
            p.window,
            lo,
            0,
            u32(2 * n_rows),
            p.scale};
  // Positions per dispatch: what keeps each invocation's loop iterations within llvmpipe's
  // limit — per position, the dot product's and the accumulation's (dk / 4 + 1, dv / 4 + 1)
  // and the walk's own; dv / 2 + 2 to clear and normalise (measured: 4096 positions of
  // dk = dv = 128 run 67.9 per position).
  const uint32_t per_position = dk / 4 + dv / 4 + 4;
  push.chunk = std::max<uint32_t>(1, (kLoopBudget - dv / 2 - 8) / per_position);
  const uint32_t n_groups = ceil_div(q.rows * p.n_head, kAttentionLocal);
  const uint32_t gx = std::min(n_groups, kMaxGroupsY);
  for (int64_t c0 = lo; c0 <= hi; c0 += push.chunk) {
    push.c0 = static_cast<int32_t>(c0);
    dispatch(kv.f16 ? "attention_f16" : "attention_f32",
             {oq, kw->operand, vw->operand, oy, staged, staged}, push,
             Groups{gx, ceil_div(n_groups, gx), 1}, kAttentionLocal, Tag::attention);
  }
}

}  // namespace es::backend::vulkan
