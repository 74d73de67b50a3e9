// Attention over the KV cache, flash-style: for each query (token, head) one pass over the
// visible positions with an online softmax, so memory never grows with the square of the
// sequence. GQA (several query heads per KV head), MQA-form MLA (V is a prefix of K),
// sliding windows and per-head sink logits.
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu_backend.h"
#include "simd_attention.h"

namespace es::backend::cpu {
namespace {

inline const uint8_t* kv_row(const KvView& kv, size_t offset, size_t row_bytes, int32_t pos) {
  return reinterpret_cast<const uint8_t*>(kv.buf->host()) + offset +
         static_cast<size_t>(pos) * row_bytes;
}

void store_row(uint8_t* dst, const float* src, uint32_t n, bool f16) {
  if (f16) {
    store_f16(reinterpret_cast<uint16_t*>(dst), src, n);
  } else {
    std::memcpy(dst, src, n * sizeof(float));
  }
}

}  // namespace

void CpuBackend::kv_store(const KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) {
  auto* base = reinterpret_cast<uint8_t*>(kv.buf->host());
  const uint32_t k_cols = kv.n_head_kv * kv.head_dim_k;
  const uint32_t v_cols = kv.n_head_kv * kv.head_dim_v;
  for (uint32_t t = 0; t < k.rows; ++t) {
    store_row(base + kv.k_offset_bytes + static_cast<size_t>(pos[t]) * kv.k_row_bytes,
              row_ptr(k, t), k_cols, kv.f16);
    if (!kv.v_is_k_prefix) {
      store_row(base + kv.v_offset_bytes + static_cast<size_t>(pos[t]) * kv.v_row_bytes,
                row_ptr(v, t), v_cols, kv.f16);
    }
  }
}

void CpuBackend::attention(Mat out, Mat q, const KvView& kv, const AttentionParams& p,
                           std::span<const int32_t> pos) {
  const uint32_t dk = kv.head_dim_k, dv = kv.head_dim_v;
  const uint32_t group = p.n_head / kv.n_head_kv;
  const size_t elem = kv.f16 ? 2 : 4;
  const size_t v_offset = kv.v_is_k_prefix ? kv.k_offset_bytes : kv.v_offset_bytes;
  const size_t v_row_bytes = kv.v_is_k_prefix ? kv.k_row_bytes : kv.v_row_bytes;
  const size_t v_head_bytes = static_cast<size_t>(kv.v_is_k_prefix ? dk : dv) * elem;
  if (thread_scratch_.size() < static_cast<size_t>(dv) * pool_.n_threads()) {
    thread_scratch_.resize(static_cast<size_t>(dv) * pool_.n_threads());
  }
  const size_t n_items = static_cast<size_t>(q.rows) * p.n_head;
  pool_.parallel_for(n_items, 1, [&](size_t b, size_t e, uint32_t thread) {
    float* acc = thread_scratch_.data() + static_cast<size_t>(thread) * dv;
    for (size_t item = b; item < e; ++item) {
      const auto t = static_cast<uint32_t>(item / p.n_head);
      const auto h = static_cast<uint32_t>(item % p.n_head);
      const uint32_t g = h / group;
      const float* qh = row_ptr(q, t) + static_cast<size_t>(h) * dk;
      const int32_t last = pos[t];
      const int32_t first =
          p.window != 0 ? std::max(0, last - static_cast<int32_t>(p.window) + 1) : 0;
      float m = p.sinks != nullptr ? p.sinks[h] : -std::numeric_limits<float>::infinity();
      float l = p.sinks != nullptr ? 1.0f : 0.0f;  // The sink contributes exp(sink - m).
      std::memset(acc, 0, dv * sizeof(float));
      for (int32_t s = first; s <= last; ++s) {
        const uint8_t* krow = kv_row(kv, kv.k_offset_bytes, kv.k_row_bytes, s) + g * dk * elem;
        const float score = dot_kv(qh, krow, dk, kv.f16) * p.scale;
        float c = 1.0f;  // Rescales what was accumulated when the maximum grows.
        if (score > m) {
          c = std::exp(m - score);
          l *= c;
          m = score;
        }
        const float w = std::exp(score - m);
        l += w;
        scale_add_kv(acc, c, w, kv_row(kv, v_offset, v_row_bytes, s) + g * v_head_bytes, dv,
                     kv.f16);
      }
      float* y = row_ptr(out, t) + static_cast<size_t>(h) * dv;
      const float inv = l > 0 ? 1.0f / l : 0.0f;
      for (uint32_t i = 0; i < dv; ++i) y[i] = acc[i] * inv;
    }
  });
}

}  // namespace es::backend::cpu
