// expected_tensors: the names and shapes llama.cpp's load_tensors creates for each
// supported architecture (src/llama-model.cpp), written down from its source.
#include "tensor_specs.h"

#include <initializer_list>

namespace es::model {
namespace {

enum Flags : unsigned { kRequired = 0, kOptional = 1u << 0, kExpert = 1u << 1 };

/// Collects TensorSpecs with short calls: layer(il, "attn_q.weight", {n_embd, q}).
class SpecList {
 public:
  void add(std::string name, std::initializer_list<int64_t> shape, unsigned flags = kRequired) {
    TensorSpec s;
    s.name = std::move(name);
    s.n_dims = static_cast<uint32_t>(shape.size());
    uint32_t i = 0;
    for (int64_t d : shape) s.ne[i++] = d;
    s.required = (flags & kOptional) == 0;
    s.routed_expert = (flags & kExpert) != 0;
    s.vector = s.n_dims == 1 || s.name.ends_with(".bias");
    specs_.push_back(std::move(s));
  }
  void layer(uint32_t il, std::string_view suffix, std::initializer_list<int64_t> shape,
             unsigned flags = kRequired) {
    std::string name = "blk." + std::to_string(il) + ".";
    name += suffix;
    add(std::move(name), shape, flags);
  }
  std::vector<TensorSpec> take() { return std::move(specs_); }

 private:
  std::vector<TensorSpec> specs_;
};

/// Sizes every loader derives from the hyper-parameters (int64 like llama.cpp's).
struct Dims {
  explicit Dims(const HParams& hp)
      : embd(hp.n_embd),
        vocab(hp.n_vocab),
        head(hp.n_head),
        head_kv(hp.n_head_kv),
        hk(hp.head_dim_k),
        hv(hp.head_dim_v),
        k_gqa(int64_t{hp.head_dim_k} * hp.n_head_kv),
        v_gqa(int64_t{hp.head_dim_v} * hp.n_head_kv),
        ff(hp.n_ff),
        ff_exp(hp.n_ff_exp),
        ff_shexp(hp.n_ff_shexp),
        expert(hp.n_expert),
        rot(hp.n_rot) {}
  int64_t embd, vocab, head, head_kv, hk, hv, k_gqa, v_gqa, ff, ff_exp, ff_shexp, expert, rot;
};

void add_io(SpecList& l, const Dims& d, bool output_optional) {
  l.add("token_embd.weight", {d.embd, d.vocab});
  l.add("output_norm.weight", {d.embd});
  l.add("output.weight", {d.embd, d.vocab}, output_optional ? kOptional : kRequired);
}

/// ffn_gate/down/up (+ `suffix`, e.g. "_shexp") of width `ff`.
void add_dense_ffn(SpecList& l, uint32_t il, int64_t embd, int64_t ff, std::string_view suffix) {
  const std::string s(suffix);
  l.layer(il, "ffn_gate" + s + ".weight", {embd, ff});
  l.layer(il, "ffn_down" + s + ".weight", {ff, embd});
  l.layer(il, "ffn_up" + s + ".weight", {embd, ff});
}

/// Router and routed experts: ffn_gate_inp {embd, E}, *_exps {in, out, E}.
void add_experts(SpecList& l, uint32_t il, const Dims& d, int64_t ff_exp,
                 unsigned gate_flags = kRequired) {
  l.layer(il, "ffn_gate_inp.weight", {d.embd, d.expert});
  l.layer(il, "ffn_gate_exps.weight", {d.embd, ff_exp, d.expert}, kExpert | gate_flags);
  l.layer(il, "ffn_down_exps.weight", {ff_exp, d.embd, d.expert}, kExpert);
  l.layer(il, "ffn_up_exps.weight", {d.embd, ff_exp, d.expert}, kExpert);
}

void deepseek2_layer(SpecList& l, const HParams& hp, const Dims& d, uint32_t il) {
  const bool split = hp.mla_split_kv_b();
  const int64_t hk_mla = split ? hp.head_dim_k_mla : hp.head_dim_k;
  const int64_t hv_mla = split ? hp.head_dim_v_mla : hp.head_dim_v;
  const int64_t nope = hk_mla - d.rot;
  const int64_t q_lora = hp.q_lora_rank, kv_lora = hp.kv_lora_rank;
  l.layer(il, "attn_norm.weight", {d.embd});
  if (q_lora > 0) l.layer(il, "attn_q_a_norm.weight", {q_lora});
  l.layer(il, "attn_kv_a_norm.weight", {kv_lora});
  if (q_lora > 0) {
    l.layer(il, "attn_q_a.weight", {d.embd, q_lora});
    l.layer(il, "attn_q_b.weight", {q_lora, d.head * hk_mla});
  } else {
    l.layer(il, "attn_q.weight", {d.embd, d.head * hk_mla});
  }
  l.layer(il, "attn_kv_a_mqa.weight", {d.embd, kv_lora + d.rot});
  if (split) {
    l.layer(il, "attn_k_b.weight", {nope, kv_lora, d.head});
    l.layer(il, "attn_v_b.weight", {kv_lora, hv_mla, d.head});
  } else {
    l.layer(il, "attn_kv_b.weight", {kv_lora, d.head * (nope + hv_mla)});
  }
  l.layer(il, "attn_output.weight", {d.head * hv_mla, d.embd});
  l.layer(il, "ffn_norm.weight", {d.embd});
  if (!hp.is_moe_layer(il)) {
    add_dense_ffn(l, il, d.embd, d.ff, "");
    return;
  }
  l.layer(il, "ffn_gate_inp.weight", {d.embd, d.expert});
  l.layer(il, "exp_probs_b.bias", {d.expert}, kOptional);
  l.layer(il, "ffn_gate_exps.weight", {d.embd, d.ff_exp, d.expert}, kExpert);
  l.layer(il, "ffn_down_exps.weight", {d.ff_exp, d.embd, d.expert}, kExpert);
  l.layer(il, "ffn_up_exps.weight", {d.embd, d.ff_exp, d.expert}, kExpert);
  if (hp.n_expert_shared > 0) add_dense_ffn(l, il, d.embd, d.ff_shexp, "_shexp");
}

/// qwen2moe and olmoe size q and the output by n_embd, k and v by n_embd_v_gqa.
void qwen2moe_layer(SpecList& l, const Dims& d, uint32_t il) {
  l.layer(il, "attn_norm.weight", {d.embd});
  l.layer(il, "attn_q.weight", {d.embd, d.embd});
  l.layer(il, "attn_k.weight", {d.embd, d.v_gqa});
  l.layer(il, "attn_v.weight", {d.embd, d.v_gqa});
  l.layer(il, "attn_output.weight", {d.embd, d.embd});
  l.layer(il, "attn_q.bias", {d.embd}, kOptional);
  l.layer(il, "attn_k.bias", {d.v_gqa}, kOptional);
  l.layer(il, "attn_v.bias", {d.v_gqa}, kOptional);
  l.layer(il, "ffn_norm.weight", {d.embd});
  add_experts(l, il, d, d.ff_exp);
  l.layer(il, "ffn_gate_inp_shexp.weight", {d.embd});
  add_dense_ffn(l, il, d.embd, d.ff_shexp, "_shexp");
}

void olmoe_layer(SpecList& l, const Dims& d, uint32_t il) {
  l.layer(il, "attn_norm.weight", {d.embd});
  l.layer(il, "attn_q.weight", {d.embd, d.embd});
  l.layer(il, "attn_k.weight", {d.embd, d.v_gqa});
  l.layer(il, "attn_v.weight", {d.embd, d.v_gqa});
  l.layer(il, "attn_output.weight", {d.embd, d.embd});
  l.layer(il, "attn_q_norm.weight", {d.embd});
  l.layer(il, "attn_k_norm.weight", {d.embd});
  l.layer(il, "ffn_norm.weight", {d.embd});
  add_experts(l, il, d, d.ff);
}

void qwen3moe_layer(SpecList& l, const Dims& d, uint32_t il) {
  l.layer(il, "attn_norm.weight", {d.embd});
  l.layer(il, "attn_q.weight", {d.embd, d.hk * d.head});
  l.layer(il, "attn_k.weight", {d.embd, d.k_gqa});
  l.layer(il, "attn_v.weight", {d.embd, d.v_gqa});
  l.layer(il, "attn_output.weight", {d.hk * d.head, d.embd});
  l.layer(il, "attn_k_norm.weight", {d.hk});
  l.layer(il, "attn_q_norm.weight", {d.hk});
  l.layer(il, "ffn_norm.weight", {d.embd});
  add_experts(l, il, d, d.ff_exp);
}

/// llama (dense or Mixtral) and granitemoe share llama.cpp's loader.
void llama_layer(SpecList& l, const HParams& hp, const Dims& d, uint32_t il) {
  l.layer(il, "attn_norm.weight", {d.embd});
  l.layer(il, "attn_q.weight", {d.embd, d.hk * d.head});
  l.layer(il, "attn_k.weight", {d.embd, d.k_gqa});
  l.layer(il, "attn_v.weight", {d.embd, d.v_gqa});
  l.layer(il, "attn_output.weight", {d.hk * d.head, d.embd});
  l.layer(il, "attn_q.bias", {d.embd}, kOptional);
  l.layer(il, "attn_k.bias", {d.v_gqa}, kOptional);
  l.layer(il, "attn_v.bias", {d.v_gqa}, kOptional);
  l.layer(il, "attn_output.bias", {d.embd}, kOptional);
  l.layer(il, "ffn_norm.weight", {d.embd});
  if (hp.n_expert == 0) {
    add_dense_ffn(l, il, d.embd, d.ff, "");
    l.layer(il, "ffn_gate.bias", {d.ff}, kOptional);
    l.layer(il, "ffn_down.bias", {d.embd}, kOptional);
    l.layer(il, "ffn_up.bias", {d.ff}, kOptional);
    return;
  }
  add_experts(l, il, d, d.ff, kOptional);  // llama.cpp: ffn_gate_exps not required
  if (hp.n_ff_shexp > 0) add_dense_ffn(l, il, d.embd, d.ff_shexp, "_shexp");
}

void gpt_oss_layer(SpecList& l, const Dims& d, uint32_t il) {
  const int64_t q = d.head * d.rot, kv = d.head_kv * d.rot;
  l.layer(il, "attn_norm.weight", {d.embd});
  l.layer(il, "post_attention_norm.weight", {d.embd});
  l.layer(il, "attn_q.weight", {d.embd, q});
  l.layer(il, "attn_k.weight", {d.embd, kv});
  l.layer(il, "attn_v.weight", {d.embd, kv});
  l.layer(il, "attn_output.weight", {q, d.embd});
  l.layer(il, "attn_sinks.weight", {d.head});
  add_experts(l, il, d, d.ff_exp);
  l.layer(il, "attn_q.bias", {q});
  l.layer(il, "attn_k.bias", {kv});
  l.layer(il, "attn_v.bias", {kv});
  l.layer(il, "attn_output.bias", {d.embd});
  l.layer(il, "ffn_gate_inp.bias", {d.expert});
  l.layer(il, "ffn_gate_exps.bias", {d.ff_exp, d.expert}, kExpert);
  l.layer(il, "ffn_down_exps.bias", {d.embd, d.expert}, kExpert);
  l.layer(il, "ffn_up_exps.bias", {d.ff_exp, d.expert}, kExpert);
}

/// Whether the architecture may omit output.weight and reuse token_embd.
bool output_optional(Arch arch) {
  return arch == Arch::llama || arch == Arch::granitemoe || arch == Arch::qwen3moe;
}

}  // namespace

std::vector<TensorSpec> expected_tensors(const HParams& hp) {
  SpecList l;
  const Dims d(hp);
  add_io(l, d, output_optional(hp.arch));
  if (hp.arch == Arch::llama || hp.arch == Arch::granitemoe) {
    // llama3-style rope frequency factors: one global tensor, optional.
    l.add("rope_freqs.weight", {d.rot / 2}, kOptional);
  }
  for (uint32_t il = 0; il < hp.n_layer; ++il) {
    switch (hp.arch) {
      case Arch::deepseek2:
        deepseek2_layer(l, hp, d, il);
        break;
      case Arch::qwen2moe:
        qwen2moe_layer(l, d, il);
        break;
      case Arch::qwen3moe:
        qwen3moe_layer(l, d, il);
        break;
      case Arch::olmoe:
        olmoe_layer(l, d, il);
        break;
      case Arch::llama:
      case Arch::granitemoe:
        llama_layer(l, hp, d, il);
        break;
      case Arch::gpt_oss:
        gpt_oss_layer(l, d, il);
        break;
      case Arch::unset:
        break;
    }
  }
  return l.take();
}

std::string shape_string(const std::array<int64_t, 4>& ne, uint32_t n_dims) {
  std::string s = "{";
  for (uint32_t i = 0; i < n_dims && i < ne.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(ne[i]);
  }
  return s + "}";
}

bool is_routed_expert_tensor(std::string_view name) noexcept {
  if (!name.starts_with("blk.")) return false;
  const size_t dot = name.find('.', 4);
  if (dot == std::string_view::npos) return false;
  const std::string_view rest = name.substr(dot + 1);
  for (std::string_view base :
       {"ffn_gate_exps.", "ffn_up_exps.", "ffn_down_exps.", "ffn_gate_up_exps."}) {
    if (rest.starts_with(base)) {
      const std::string_view suffix = rest.substr(base.size());
      return suffix == "weight" || suffix == "bias";
    }
  }
  return false;
}

}  // namespace es::model
