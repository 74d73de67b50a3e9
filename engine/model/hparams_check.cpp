// validate_hparams: every relation between hyper-parameters that the tensor shapes and
// the forward pass rely on, checked once with messages that name the keys.
#include <string>

#include "hparams_internal.h"

namespace es::model {
namespace {

std::string num(uint64_t v) {
  return std::to_string(v);
}

class Checker {
 public:
  Checker(const MetaReader& r, const HParams& hp) : r_(r), hp_(hp) {}

  /// `key` (under the arch prefix) must hold a value in [lo, hi].
  void range(std::string_view key, uint64_t value, uint64_t lo, uint64_t hi) const {
    if (value >= lo && value <= hi) return;
    fail("metadata key " + r_.arch_key(key) + " is " + num(value) + ", expected " + num(lo) +
         " to " + num(hi));
  }
  /// `a` % `b` == 0 (b > 0), naming both keys.
  void multiple(std::string_view key_a, uint64_t a, std::string_view key_b, uint64_t b) const {
    if (b != 0 && a % b == 0) return;
    fail(r_.arch_key(key_a) + " (" + num(a) + ") is not a multiple of " + r_.arch_key(key_b) +
         " (" + num(b) + ")");
  }
  /// a <= b, naming both keys.
  void at_most(std::string_view key_a, uint64_t a, std::string_view key_b, uint64_t b) const {
    if (a <= b) return;
    fail(r_.arch_key(key_a) + " (" + num(a) + ") is larger than " + r_.arch_key(key_b) + " (" +
         num(b) + ")");
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw r_.error(ErrorKind::bad_input, what);
  }
  [[nodiscard]] std::string key(std::string_view k) const { return r_.arch_key(k); }
  [[nodiscard]] const HParams& hp() const { return hp_; }

 private:
  const MetaReader& r_;
  const HParams& hp_;
};

void check_sizes(const Checker& c) {
  const HParams& hp = c.hp();
  c.range("embedding_length", hp.n_embd, 1, max_dim);
  c.range("context_length", hp.n_ctx_train, 1, UINT32_MAX);
  c.range("attention.head_count", hp.n_head, 1, max_dim);
  c.range("attention.head_count_kv", hp.n_head_kv, 1, max_dim);
  c.multiple("attention.head_count", hp.n_head, "attention.head_count_kv", hp.n_head_kv);
  c.range("attention.key_length", hp.head_dim_k, 1, max_dim);
  c.range("attention.value_length", hp.head_dim_v, 1, max_dim);
  c.range("feed_forward_length", hp.n_ff, 0, max_dim);
  c.range("vocab_size", hp.n_vocab, 1, max_dim);
  c.range("rope.dimension_count", hp.n_rot, 2, max_dim);
  const bool ff_sizes_tensors =
      hp.arch == Arch::llama || hp.arch == Arch::granitemoe || hp.arch == Arch::olmoe;
  if (ff_sizes_tensors) c.range("feed_forward_length", hp.n_ff, 1, max_dim);
  if (hp.n_rot % 2 != 0) {
    c.fail("metadata key " + c.key("rope.dimension_count") + " is " + num(hp.n_rot) +
           ", expected an even number");
  }
  if (!(hp.norm_rms_eps > 0.0f)) {
    c.fail("metadata key " + c.key("attention.layer_norm_rms_epsilon") + " must be positive");
  }
  if (!(hp.rope_freq_base > 0.0f)) {
    c.fail("metadata key " + c.key("rope.freq_base") + " must be positive");
  }
}

void check_groups(const Checker& c) {
  const HParams& hp = c.hp();
  if (hp.n_expert_groups <= 1) {
    if (hp.n_group_used > hp.n_expert_groups) {
      c.at_most("expert_group_used_count", hp.n_group_used, "expert_group_count",
                hp.n_expert_groups);
    }
    return;
  }
  c.range("expert_group_count", hp.n_expert_groups, 2, hp.n_expert / 2);
  c.multiple("expert_count", hp.n_expert, "expert_group_count", hp.n_expert_groups);
  c.range("expert_group_used_count", hp.n_group_used, 1, hp.n_expert_groups);
  // The top-k runs over the experts of the kept groups only.
  const uint64_t n_kept = uint64_t{hp.n_group_used} * (hp.n_expert / hp.n_expert_groups);
  if (hp.n_expert_used > n_kept) {
    c.fail(c.key("expert_used_count") + " (" + num(hp.n_expert_used) + ") is larger than the " +
           num(n_kept) + " experts of the " + num(hp.n_group_used) + " groups kept by " +
           c.key("expert_group_used_count"));
  }
}

void check_experts(const Checker& c) {
  const HParams& hp = c.hp();
  const bool moe_arch = hp.arch != Arch::llama;
  if (hp.n_expert == 0) {
    // A deepseek2 file whose blocks are all dense needs no experts.
    if (hp.arch == Arch::deepseek2 && hp.n_leading_dense >= hp.n_layer) return;
    if (moe_arch) c.fail("missing metadata key " + c.key("expert_count"));
    if (hp.n_expert_used != 0) {
      c.at_most("expert_used_count", hp.n_expert_used, "expert_count", hp.n_expert);
    }
    return;
  }
  c.range("expert_count", hp.n_expert, 1, max_experts);
  if (hp.n_expert_used == 0) {
    c.fail("missing metadata key " + c.key("expert_used_count") + " (or it is 0)");
  }
  c.at_most("expert_used_count", hp.n_expert_used, "expert_count", hp.n_expert);
  c.range("expert_feed_forward_length", hp.n_ff_exp, 1, max_dim);
  c.range("expert_shared_count", hp.n_expert_shared, 0, max_experts);
  if (hp.n_expert_shared > 0)
    c.range("expert_shared_feed_forward_length", hp.n_ff_shexp, 1, max_dim);
  c.at_most("leading_dense_block_count", hp.n_leading_dense, "block_count", hp.n_layer);
  if (!(hp.expert_weights_scale >= 0.0f)) {
    c.fail("metadata key " + c.key("expert_weights_scale") + " must not be negative");
  }
  check_groups(c);
}

void check_mla(const Checker& c) {
  const HParams& hp = c.hp();
  c.range("attention.q_lora_rank", hp.q_lora_rank, 0, max_dim);
  c.range("attention.kv_lora_rank", hp.kv_lora_rank, 1, max_dim);
  if (hp.n_leading_dense > 0) c.range("feed_forward_length", hp.n_ff, 1, max_dim);
  if ((hp.head_dim_k_mla == 0) != (hp.head_dim_v_mla == 0)) {
    c.fail("metadata keys " + c.key("attention.key_length_mla") + " and " +
           c.key("attention.value_length_mla") + " must be both present or both absent");
  }
  if (!hp.mla_split_kv_b()) {
    // Older layout: attn_kv_b, head sizes from key_length / value_length.
    if (hp.n_rot >= hp.head_dim_k) {
      c.at_most("rope.dimension_count", hp.n_rot, "attention.key_length", hp.head_dim_k - 1);
    }
    return;
  }
  c.range("attention.key_length_mla", hp.head_dim_k_mla, hp.n_rot + 1, max_dim);
  c.range("attention.value_length_mla", hp.head_dim_v_mla, 1, max_dim);
  // With attn_k_b / attn_v_b the cache holds the latent: K = kv_lora + rope, V = kv_lora.
  const uint64_t want_k = uint64_t{hp.kv_lora_rank} + hp.n_rot;
  if (hp.head_dim_k != want_k || hp.head_dim_v != hp.kv_lora_rank) {
    c.fail("metadata keys " + c.key("attention.key_length") + " (" + num(hp.head_dim_k) + ") and " +
           c.key("attention.value_length") + " (" + num(hp.head_dim_v) +
           ") must be kv_lora_rank + rope.dimension_count (" + num(want_k) +
           ") and kv_lora_rank (" + num(hp.kv_lora_rank) + ") in the attn_k_b/attn_v_b layout");
  }
}

}  // namespace

void validate_hparams(const MetaReader& r, const HParams& hp) {
  const Checker c(r, hp);
  check_sizes(c);
  check_experts(c);
  if (hp.arch == Arch::deepseek2) {
    check_mla(c);
  } else if (hp.n_rot > hp.head_dim_k) {
    c.at_most("rope.dimension_count", hp.n_rot, "attention.key_length", hp.head_dim_k);
  }
  if (hp.arch == Arch::gpt_oss)
    c.range("attention.sliding_window", hp.sliding_window, 1, UINT32_MAX);
}

}  // namespace es::model
