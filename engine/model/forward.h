// Private: the forward pass, written once against the backend interface, for every
// supported architecture. It owns the bound weights, the KV cache and the scratch memory
// for one batch size.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "expertscope/model.h"
#include "expertscope/routing.h"

namespace es::model {

/// One block's weights; an absent tensor has valid() == false.
struct LayerWeights {
  backend::Weight attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, q_norm, k_norm, sinks;
  backend::Weight q_a, q_a_norm, q_b, kv_a_mqa, kv_a_norm, k_b, v_b, kv_b;  // MLA
  backend::Weight ffn_norm, ffn_gate, ffn_up, ffn_down;                     // dense
  backend::Weight router, router_b, exp_probs_b, gate_exps, up_exps, down_exps;
  backend::Weight gate_exps_b, up_exps_b, down_exps_b;
  backend::Weight gate_shexp, up_shexp, down_shexp, gate_inp_shexp;
};

class Forward {
 public:
  Forward(const Model& model, backend::Backend& backend, uint32_t n_ctx, uint32_t n_batch,
          bool kv_f16, int32_t full_router_layer);

  /// Embedding values that replace a row's token embedding (a projected image patch).
  struct Injection {
    uint32_t row = 0;
    const float* values = nullptr;  ///< n_embd floats.
  };

  /// Runs tokens at positions pos (n <= n_batch), writing logits of the last row (or of
  /// every row) into `logits` ([rows][n_vocab]) and the routing into `routing`
  /// (resized to the batch). Rows named in `inject` take those values instead of their
  /// token's embedding.
  void run(std::span<const int32_t> tokens, std::span<const int32_t> pos, bool all_logits,
           std::vector<float>& logits, RoutingBatch& routing,
           std::span<const Injection> inject = {});

  [[nodiscard]] uint32_t n_batch() const noexcept { return n_batch_; }
  /// Bytes of the KV cache (every layer, n_ctx positions).
  [[nodiscard]] size_t kv_bytes() const noexcept { return kv_buf_->n_bytes(); }
  /// Bytes of the activation scratch and the router's host buffers.
  [[nodiscard]] size_t scratch_bytes() const noexcept {
    return scratch_->n_bytes() + route_ids_.capacity() * sizeof(uint16_t) +
           (route_weights_.capacity() + route_entropy_.capacity() + route_full_.capacity()) *
               sizeof(float);
  }

 private:
  struct Scratch;
  void bind_weights();
  void alloc_kv(bool kv_f16);
  void alloc_scratch();
  backend::Mat attention(uint32_t l, backend::Mat h, std::span<const int32_t> pos);
  backend::Mat attention_mla(uint32_t l, backend::Mat h, std::span<const int32_t> pos);
  backend::Mat dense_ffn(const backend::Weight& gate, const backend::Weight& up,
                         const backend::Weight& down, backend::Mat h, uint32_t n_ff);
  backend::Mat moe(uint32_t l, uint32_t m, backend::Mat h, RoutingBatch& routing);
  backend::Mat take(uint32_t rows, uint32_t cols);
  [[nodiscard]] float attention_scale(uint32_t head_dim) const;
  [[nodiscard]] float yarn_magnitude() const;
  [[nodiscard]] backend::RopeParams rope_params() const;

  const Model& model_;
  const HParams& hp_;
  backend::Backend& be_;
  uint32_t n_ctx_;
  uint32_t n_batch_;
  int32_t full_router_layer_;
  backend::Weight tok_embd_, output_norm_, output_;
  std::vector<LayerWeights> layers_;
  std::vector<backend::KvView> kv_;
  std::unique_ptr<backend::Buffer> kv_buf_;
  std::unique_ptr<backend::Buffer> scratch_;
  size_t scratch_used_ = 0;  ///< Floats taken from scratch_ in the current pass.
  std::vector<uint16_t> route_ids_;
  std::vector<float> route_weights_;
  std::vector<float> route_entropy_;
  std::vector<float> route_full_;
};

}  // namespace es::model
