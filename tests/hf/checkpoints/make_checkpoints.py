#!/usr/bin/python3
"""Writes tiny random Hugging Face checkpoints, one per converter case, and the reference
outputs of their Hugging Face-semantics forward (hf_reference.py), for test_convert.

    /usr/bin/python3 make_checkpoints.py OUT_DIR [NAME...]

For each case NAME: OUT_DIR/NAME/ holds config.json (the real Hugging Face key names),
model.safetensors (or shards + model.safetensors.index.json; written by hand, no safetensors
package), tokenizer.json (a small byte-level BPE) and tokenizer_config.json; OUT_DIR/NAME.ref/
holds reference.json (token sequences, greedy continuation, vocabulary size) and logits.f64
(float64 logits of every position of every sequence, little-endian, row-major). A case with a
vision projector also gets image.rgb and the projector's rows for it (image_rows.f64,
frame_rows.f64). Everything is seeded: the same files every run.
"""
from __future__ import annotations

import collections
import json
import math
import re
import struct
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_reference  # noqa: E402

# ----------------------------------------------------------------------------------------
# Tokenizer: GPT-2 byte-level BPE trained on a fixed text.

CORPUS = ("the quick brown fox jumps over the lazy dog. experts route tokens; "
          "the router picks the top experts for every token and the experts answer. "
          "mixture of experts models route each token to a few experts out of many. ") * 4
SPECIALS = ["<|begin|>", "<|end|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>"
                 "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
PRE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def byte_chars():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, cs)))


def train_bpe(n_merges):
    bc = byte_chars()
    words = collections.Counter(tuple(bc[b] for b in w.encode()) for w in PRE.findall(CORPUS))
    vocab = {bc[b]: i for i, b in enumerate(sorted(bc))}
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        assert best[0] + best[1] not in vocab, best  # one id per token text
        merges.append(best)
        vocab[best[0] + best[1]] = len(vocab)
        new = collections.Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += n
        words = new
    return vocab, merges


def write_tokenizer(path: Path, add_bos: bool):
    vocab, merges = train_bpe(40)
    added = []
    for s in SPECIALS:
        added.append({"id": len(vocab), "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
        vocab[s] = len(vocab)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": None, "pre_tokenizer": byte_level, "post_processor": None,
           "decoder": byte_level,
           "model": {"type": "BPE", "dropout": None, "unk_token": None,
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": {t: i for t, i in vocab.items() if t not in SPECIALS},
                     "merges": [[a, b] for a, b in merges]}}
    (path / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    cfg = {"bos_token": "<|begin|>", "eos_token": "<|end|>", "add_bos_token": add_bos,
           "add_eos_token": False, "clean_up_tokenization_spaces": False,
           "chat_template": CHAT_TEMPLATE, "tokenizer_class": "PreTrainedTokenizerFast"}
    (path / "tokenizer_config.json").write_text(json.dumps(cfg))
    return len(vocab)


# ----------------------------------------------------------------------------------------
# safetensors, by hand.

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    return t.numpy().astype("<f4").tobytes()


def write_safetensors(path: Path, tensors: dict):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_checkpoint(path: Path, tensors: dict, shards: int):
    if shards <= 1:
        write_safetensors(path / "model.safetensors", tensors)
        return
    names = sorted(tensors)
    weight_map, total = {}, 0
    for s in range(shards):
        part = names[s::shards]
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(path / file, {n: tensors[n] for n in part})
        for n in part:
            weight_map[n] = file
            total += tensors[n].numel() * tensors[n].element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


# ----------------------------------------------------------------------------------------
# Random weights in Hugging Face names.

class Weights:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.t = {}

    def mat(self, name, out, inp, scale=1.0):
        self.t[name] = torch.randn(out, inp, generator=self.g, dtype=torch.float64) * (
            scale / math.sqrt(inp))

    def vec(self, name, n, mean=1.0, std=0.1):
        self.t[name] = mean + std * torch.randn(n, generator=self.g, dtype=torch.float64)

    def uniform(self, name, n, lo, hi):
        self.t[name] = lo + (hi - lo) * torch.rand(n, generator=self.g, dtype=torch.float64)


def common_weights(w, c):
    e, v = c["hidden_size"], c["vocab_size"]
    w.t["model.embed_tokens.weight"] = torch.randn(v, e, generator=w.g, dtype=torch.float64)
    w.vec("model.norm.weight", e)
    if not c.get("tie_word_embeddings"):
        w.mat("lm_head.weight", v, e)


def mlp_weights(w, prefix, e, ff, names=("gate_proj", "up_proj", "down_proj")):
    g, u, d = names
    w.mat(f"{prefix}{g}.weight", ff, e)
    w.mat(f"{prefix}{u}.weight", ff, e)
    w.mat(f"{prefix}{d}.weight", e, ff)


def deepseek_weights(w, c):
    e, h = c["hidden_size"], c["num_attention_heads"]
    nope, rope, vd = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    kv_lora, q_lora = c["kv_lora_rank"], c.get("q_lora_rank")
    n_exp, moe_ff = c["n_routed_experts"], c["moe_intermediate_size"]
    for il in range(c["num_hidden_layers"]):
        p = f"model.layers.{il}."
        w.vec(p + "input_layernorm.weight", e)
        w.vec(p + "post_attention_layernorm.weight", e)
        a = p + "self_attn."
        if q_lora:
            w.mat(a + "q_a_proj.weight", q_lora, e)
            w.vec(a + "q_a_layernorm.weight", q_lora)
            w.mat(a + "q_b_proj.weight", h * (nope + rope), q_lora)
        else:
            w.mat(a + "q_proj.weight", h * (nope + rope), e)
        w.mat(a + "kv_a_proj_with_mqa.weight", kv_lora + rope, e)
        w.vec(a + "kv_a_layernorm.weight", kv_lora)
        w.mat(a + "kv_b_proj.weight", h * (nope + vd), kv_lora)
        w.mat(a + "o_proj.weight", e, h * vd)
        m = p + "mlp."
        if il < c["first_k_dense_replace"]:
            mlp_weights(w, m, e, c["intermediate_size"])
            continue
        w.mat(m + "gate.weight", n_exp, e, scale=2.0)
        if c["model_type"] == "deepseek_v3":
            # Non-negative, so HF's 0.0 fill of masked groups never beats a kept expert.
            w.uniform(m + "gate.e_score_correction_bias", n_exp, 0.0, 0.1)
        for x in range(n_exp):
            mlp_weights(w, f"{m}experts.{x}.", e, moe_ff)
        if c.get("n_shared_experts"):
            mlp_weights(w, m + "shared_experts.", e, moe_ff * c["n_shared_experts"])


def gqa_weights(w, c):
    e, h = c["hidden_size"], c["num_attention_heads"]
    hk = c.get("num_key_value_heads", h)
    d = c.get("head_dim") or e // h
    mt = c["model_type"]
    for il in range(c["num_hidden_layers"]):
        p = f"model.layers.{il}."
        w.vec(p + "input_layernorm.weight", e)
        w.vec(p + "post_attention_layernorm.weight", e)
        a = p + "self_attn."
        w.mat(a + "q_proj.weight", h * d, e)
        w.mat(a + "k_proj.weight", hk * d, e)
        w.mat(a + "v_proj.weight", hk * d, e)
        w.mat(a + "o_proj.weight", e, h * d)
        if mt == "qwen2_moe":
            for n, rows in (("q", h * d), ("k", hk * d), ("v", hk * d)):
                w.vec(f"{a}{n}_proj.bias", rows, mean=0.0, std=0.2)
        if mt == "qwen3_moe":
            w.vec(a + "q_norm.weight", d)
            w.vec(a + "k_norm.weight", d)
        if mt == "olmoe":
            w.vec(a + "q_norm.weight", h * d)
            w.vec(a + "k_norm.weight", hk * d)
        if mt == "mixtral":
            m = p + "block_sparse_moe."
            w.mat(m + "gate.weight", c["num_local_experts"], e, scale=2.0)
            for x in range(c["num_local_experts"]):
                mlp_weights(w, f"{m}experts.{x}.", e, c["intermediate_size"], ("w1", "w3", "w2"))
            continue
        m = p + "mlp."
        ff = c["intermediate_size"] if mt == "olmoe" else c["moe_intermediate_size"]
        w.mat(m + "gate.weight", c["num_experts"], e, scale=2.0)
        for x in range(c["num_experts"]):
            mlp_weights(w, f"{m}experts.{x}.", e, ff)
        if mt == "qwen2_moe":
            mlp_weights(w, m + "shared_expert.", e, c["shared_expert_intermediate_size"])
            w.mat(m + "shared_expert_gate.weight", 1, e)


def projector_weights(w, vc, e):
    p, s = vc["patch_size"], vc["image_size"]
    g = s // p
    c_in = 3
    for i, (c_out, stride) in enumerate(zip(vc.get("conv_channels", []), vc.get("conv_strides", []))):
        w.t[f"vision_projector.conv.{i}.weight"] = torch.randn(
            c_out, c_in, 3, 3, generator=w.g, dtype=torch.float64) / math.sqrt(9 * c_in)
        w.vec(f"vision_projector.conv.{i}.bias", c_out, mean=0.0, std=0.1)
        c_in, p = c_out, p // stride
    w.mat("vision_projector.patch.weight", e, c_in * p * p)
    w.vec("vision_projector.patch.bias", e, mean=0.0, std=0.1)
    w.t["vision_projector.pos_embd"] = 0.1 * torch.randn(g * g, e, generator=w.g, dtype=torch.float64)
    w.t["vision_projector.temporal_embd"] = 0.1 * torch.randn(vc["max_frames"], e, generator=w.g,
                                                              dtype=torch.float64)
    w.vec("vision_projector.post_norm.weight", e)


# ----------------------------------------------------------------------------------------
# The cases.

BASE = {"hidden_size": 64, "num_attention_heads": 4, "max_position_embeddings": 128,
        "rms_norm_eps": 1e-6, "hidden_act": "silu", "tie_word_embeddings": False,
        "rope_theta": 10000.0, "torch_dtype": "float32"}

DEEPSEEK = dict(BASE, num_hidden_layers=3, num_key_value_heads=4, intermediate_size=96,
                moe_intermediate_size=32, kv_lora_rank=32, qk_nope_head_dim=16,
                qk_rope_head_dim=8, v_head_dim=16, first_k_dense_replace=1, moe_layer_freq=1,
                attention_bias=False)

CASES = {
    # V2-Lite style: no q low-rank path, softmax, greedy top-k, two shared experts, weights
    # scaled (not normalised), YaRN with mscale = mscale_all_dim = 0.707; BF16 weights.
    "deepseek_v2": (dict(DEEPSEEK, model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"],
                         q_lora_rank=None, n_routed_experts=8, num_experts_per_tok=2,
                         n_shared_experts=2, routed_scaling_factor=2.0, norm_topk_prob=False,
                         scoring_func="softmax", topk_method="greedy", n_group=1, topk_group=1,
                         rope_scaling={"type": "yarn", "factor": 4.0,
                                       "original_max_position_embeddings": 32, "beta_fast": 32,
                                       "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
                         vocab_size=300, torch_dtype="bfloat16"), torch.bfloat16, 1),
    # V3 style: q low-rank, sigmoid + e_score_correction_bias (noaux_tc), 4 groups of which 2
    # are kept, normalised and scaled by 2.5, YaRN (mscale 1.0), a multi-token-prediction
    # layer to leave out, a vision projector, the vocabulary padded past the tokenizer; F32.
    "deepseek_v3": (dict(DEEPSEEK, model_type="deepseek_v3", architectures=["DeepseekV3ForCausalLM"],
                         q_lora_rank=48, n_routed_experts=16, num_experts_per_tok=4,
                         n_shared_experts=1, routed_scaling_factor=2.5, norm_topk_prob=True,
                         scoring_func="sigmoid", topk_method="noaux_tc", n_group=4, topk_group=2,
                         num_nextn_predict_layers=1,
                         rope_scaling={"type": "yarn", "factor": 4.0,
                                       "original_max_position_embeddings": 32, "beta_fast": 32,
                                       "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
                         vocab_size=320,
                         vision_config={"projector_type": "es-patch", "image_size": 16,
                                        "patch_size": 4, "video_pool": 2, "max_frames": 4,
                                        "conv_channels": [5, 6], "conv_strides": [1, 2],
                                        "norm_eps": 1e-6, "image_begin_token_id": 296,
                                        "image_end_token_id": 297, "video_begin_token_id": 296,
                                        "video_end_token_id": 297, "media_pad_token_id": 298}),
                    torch.float32, 1),
    # Per-head q/k norms, head_dim != hidden / heads, GQA, YaRN, tied embeddings; F16 in
    # three shards with an index.
    "qwen3_moe": (dict(BASE, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"],
                       num_hidden_layers=2, num_key_value_heads=2, head_dim=24,
                       intermediate_size=96, moe_intermediate_size=32, num_experts=8,
                       num_experts_per_tok=2, norm_topk_prob=True, decoder_sparse_step=1,
                       mlp_only_layers=[], attention_bias=False, rope_theta=1000000.0,
                       rope_scaling={"rope_type": "yarn", "factor": 2.0,
                                     "original_max_position_embeddings": 64},
                       tie_word_embeddings=True, vocab_size=300, torch_dtype="float16",
                       use_sliding_window=False), torch.float16, 3),
    # q/k/v biases, GQA, the shared expert behind its sigmoid gate; F32.
    "qwen2_moe": (dict(BASE, model_type="qwen2_moe", architectures=["Qwen2MoeForCausalLM"],
                       num_hidden_layers=2, num_key_value_heads=2, intermediate_size=96,
                       moe_intermediate_size=32, shared_expert_intermediate_size=48,
                       num_experts=8, num_experts_per_tok=2, norm_topk_prob=False,
                       decoder_sparse_step=1, mlp_only_layers=[], rope_theta=1000000.0,
                       use_sliding_window=False, vocab_size=300), torch.float32, 1),
    # q/k norms over the whole projection, no renormalisation, linear RoPE scaling; BF16.
    "olmoe": (dict(BASE, model_type="olmoe", architectures=["OlmoeForCausalLM"],
                   num_hidden_layers=2, num_key_value_heads=4, intermediate_size=32,
                   num_experts=8, num_experts_per_tok=2, norm_topk_prob=False, clip_qkv=None,
                   attention_bias=False, rope_scaling={"type": "linear", "factor": 2.0},
                   vocab_size=300, torch_dtype="bfloat16"), torch.bfloat16, 1),
    # GQA with half-split RoPE in HF (q/k permuted by the converter); F16.
    "mixtral": (dict(BASE, model_type="mixtral", architectures=["MixtralForCausalLM"],
                     num_hidden_layers=2, num_key_value_heads=2, intermediate_size=48,
                     num_local_experts=4, num_experts_per_tok=2, rope_theta=1000000.0,
                     sliding_window=None, vocab_size=300, torch_dtype="float16"),
                torch.float16, 1),
}


def make_case(name, out: Path):
    cfg, dtype, shards = CASES[name]
    seed = sum(map(ord, name))
    path, ref = out / name, out / (name + ".ref")
    path.mkdir(parents=True, exist_ok=True)
    ref.mkdir(parents=True, exist_ok=True)
    n_tokens = write_tokenizer(path, add_bos=name == "mixtral")
    assert n_tokens <= cfg["vocab_size"], (n_tokens, cfg["vocab_size"])
    w = Weights(seed)
    common_weights(w, cfg)
    if name.startswith("deepseek"):
        deepseek_weights(w, cfg)
    else:
        gqa_weights(w, cfg)
    if "vision_config" in cfg:
        projector_weights(w, cfg["vision_config"], cfg["hidden_size"])
    stored = {n: t.to(dtype) for n, t in w.t.items()}
    if cfg.get("num_nextn_predict_layers"):  # DeepSeek-V3's MTP layer: not converted
        p = f"model.layers.{cfg['num_hidden_layers']}."
        e = cfg["hidden_size"]
        stored[p + "eh_proj.weight"] = torch.zeros(e, 2 * e, dtype=dtype)
        stored[p + "enorm.weight"] = torch.ones(e, dtype=dtype)
    write_checkpoint(path, stored, shards)
    (path / "config.json").write_text(json.dumps(cfg, indent=2))

    # The reference runs on the values as stored.
    model = hf_reference.Model(cfg, {n: t.to(torch.float64) for n, t in stored.items()})
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(0, n_tokens, size=n).tolist() for n in (7, 13, 44)]
    logits = [model.logits(s) for s in sequences]
    prompt = rng.integers(0, n_tokens, size=5).tolist()
    greedy = model.greedy(prompt, 8)
    with open(ref / "logits.f64", "wb") as f:
        for l in logits:
            f.write(l.numpy().astype("<f8").tobytes())
    info = {"model_type": cfg["model_type"], "n_vocab": cfg["vocab_size"],
            "n_tokens": n_tokens, "source_dtype": DTYPES[dtype], "shards": shards,
            "sequences": sequences, "greedy_prompt": prompt, "greedy": greedy}
    if "vision_config" in cfg:
        vc = cfg["vision_config"]
        image = rng.integers(0, 256, size=(vc["image_size"], vc["image_size"], 3), dtype=np.uint8)
        (ref / "image.rgb").write_bytes(image.tobytes())
        wf = model.w
        rows = hf_reference.projector_image(wf, image, vc)
        frame = hf_reference.projector_frame(wf, image, 1, vc)
        (ref / "image_rows.f64").write_bytes(rows.numpy().astype("<f8").tobytes())
        (ref / "frame_rows.f64").write_bytes(frame.numpy().astype("<f8").tobytes())
        info["projector"] = {"image_size": vc["image_size"], "frame_index": 1,
                             "image_rows": rows.shape[0], "frame_rows": frame.shape[0]}
    (ref / "reference.json").write_text(json.dumps(info))


# ----------------------------------------------------------------------------------------
# The demo model's own PyTorch code (resources/demo-model/recipe/model.py), when it is there:
# a small DemoConfig, its weights moved away from the near-uniform start, saved by its
# save_hf, read back by its load_hf, and its own forward as the reference.

RECIPE = Path(__file__).resolve().parents[3] / "resources" / "demo-model" / "recipe"


def make_demo(out: Path):
    sys.path.insert(0, str(RECIPE))
    import model as demo  # noqa: E402  (the recipe's module)
    path, ref = out / "demo", out / "demo.ref"
    path.mkdir(parents=True, exist_ok=True)
    ref.mkdir(parents=True, exist_ok=True)
    c = demo.DemoConfig(vocab_size=320, hidden_size=64, intermediate_size=96,
                        moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4,
                        q_lora_rank=48, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8,
                        v_head_dim=16, n_routed_experts=16, n_shared_experts=1,
                        num_experts_per_tok=4, n_group=4, topk_group=2,
                        routed_scaling_factor=2.0, max_position_embeddings=128, image_size=16,
                        patch_size=4, video_pool=2, max_frames=4, image_begin_token_id=296,
                        image_end_token_id=297, video_begin_token_id=296, video_end_token_id=297,
                        media_pad_token_id=298, eos_token_id=297)
    m = demo.DemoModel(c)
    m.init_weights(7)
    g = torch.Generator().manual_seed(8)
    with torch.no_grad():
        for p in m.parameters():
            scale = 1.0 / math.sqrt(p.shape[-1]) if p.dim() > 1 else 0.1
            p.add_(torch.randn(p.shape, generator=g) * scale)
        # The bias from its own stream, so that the projector's size cannot move it.
        gb = torch.Generator().manual_seed(9)
        for mo in m.moe_layers():
            mo.gate.e_score_correction_bias.copy_(0.1 * torch.rand(c.n_routed_experts, generator=gb))
    m.save_hf(path)
    n_tokens = write_tokenizer(path, add_bos=False)
    back = demo.DemoModel.load_hf(path)  # what the checkpoint holds, through its own loader
    m64 = demo.DemoModel.load_hf(path).double()
    rng = np.random.default_rng(11)
    sequences = [rng.integers(0, n_tokens, size=n).tolist() for n in (7, 13, 44)]
    with torch.no_grad():
        logits = [m64(torch.tensor([s]))[0] for s in sequences]
        prompt = rng.integers(0, n_tokens, size=5).tolist()
        tokens = list(prompt)
        for _ in range(8):
            tokens.append(int(torch.argmax(m64(torch.tensor([tokens]))[0, -1])))
        image = rng.integers(0, 256, size=(c.image_size, c.image_size, 3), dtype=np.uint8)
        pixels = torch.tensor(image[None])
        rows = back.vision.images(pixels)[0].double()
        frame = back.vision.frames(pixels, torch.tensor([1]))[0].double()
    with open(ref / "logits.f64", "wb") as f:
        for l in logits:
            f.write(l.numpy().astype("<f8").tobytes())
    (ref / "image.rgb").write_bytes(image.tobytes())
    (ref / "image_rows.f64").write_bytes(rows.numpy().astype("<f8").tobytes())
    (ref / "frame_rows.f64").write_bytes(frame.numpy().astype("<f8").tobytes())
    info = {"model_type": "deepseek_v3", "n_vocab": c.vocab_size, "n_tokens": n_tokens,
            "source_dtype": "F32", "shards": 1, "sequences": sequences, "greedy_prompt": prompt,
            "greedy": tokens[len(prompt):],
            "projector": {"image_size": c.image_size, "frame_index": 1,
                          "image_rows": rows.shape[0], "frame_rows": frame.shape[0]}}
    (ref / "reference.json").write_text(json.dumps(info))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    names = sys.argv[2:] or list(CASES)
    for name in names:
        if name == "demo":
            if not (RECIPE / "model.py").exists():
                sys.exit(f"no demo model code at {RECIPE / 'model.py'}")
            make_demo(out)
        elif name in CASES:
            make_case(name, out)
        else:
            sys.exit(f"unknown case {name} (known: {', '.join(CASES)}, demo)")


if __name__ == "__main__":
    main()
