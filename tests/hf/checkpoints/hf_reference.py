"""Float64 PyTorch forwards that follow the Hugging Face modeling code of each model_type the
converter supports (deepseek_v2, deepseek_v3, qwen2_moe, qwen3_moe, olmoe, mixtral), written
from their semantics, not shared with the engine: RoPE style per architecture (DeepSeek's
interleaved rope part, half-split rotate_half elsewhere), YaRN and linear scaling as
transformers' rope utilities and DeepSeek's own rotary class compute them, MLA with the
expanded kv_b, each model's routing (softmax or sigmoid scoring, the score-correction bias,
group-limited top-k, renormalisation and routed scaling), shared experts (Qwen2-MoE's behind
a sigmoid gate), q/k norms per head (Qwen3) or over the whole projection (OLMoE).

`weights` maps Hugging Face tensor names to float64 tensors (the checkpoint's values as stored,
so a BF16 checkpoint is compared with its own rounded weights).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

F64 = torch.float64


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def silu(x):
    return x * torch.sigmoid(x)


def mlp(x, gate, up, down):
    return (silu(x @ gate.T) * (x @ up.T)) @ down.T


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def get_mscale(scale, mscale=1.0):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def rope_tables(cfg, dim, n_pos, deepseek=False):
    """cos, sin [n_pos, dim] as transformers builds them (the magnitude folded in)."""
    base = cfg["rope_theta"]
    idx = torch.arange(0, dim, 2, dtype=F64) / dim
    inv_freq = 1.0 / (base ** idx)
    magnitude = 1.0
    rs = cfg.get("rope_scaling")
    kind = (rs or {}).get("rope_type", (rs or {}).get("type", "default"))
    if kind == "linear":
        inv_freq = inv_freq / rs["factor"]
    elif kind == "yarn":
        factor = rs["factor"]
        orig = rs.get("original_max_position_embeddings", cfg["max_position_embeddings"])
        beta_fast, beta_slow = rs.get("beta_fast", 32), rs.get("beta_slow", 1)

        def corr_dim(n_rot):
            return (dim * math.log(orig / (n_rot * 2 * math.pi))) / (2 * math.log(base))

        low = max(math.floor(corr_dim(beta_fast)), 0)
        high = min(math.ceil(corr_dim(beta_slow)), dim - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(dim // 2, dtype=F64) - low) / (high - low)).clamp(0, 1)
        extrapolation = 1.0 - ramp
        inv_freq = (inv_freq / factor) * (1 - extrapolation) + inv_freq * extrapolation
        mscale, all_dim = rs.get("mscale", 1.0), rs.get("mscale_all_dim", 0.0)
        if deepseek:
            magnitude = get_mscale(factor, mscale) / get_mscale(factor, all_dim)
        elif mscale and all_dim:
            magnitude = get_mscale(factor, mscale) / get_mscale(factor, all_dim)
        else:
            magnitude = get_mscale(factor)
    pos = torch.arange(n_pos, dtype=F64)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * magnitude, emb.sin() * magnitude


def apply_rope(x, cos, sin):
    """x [T, H, d]: rotate_half RoPE (pairs i, i + d/2)."""
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


def apply_rope_interleaved(x, cos, sin):
    """DeepSeek: the rope part's adjacent pairs are gathered into halves first."""
    t, h, d = x.shape
    x = x.view(t, h, d // 2, 2).transpose(-1, -2).reshape(t, h, d)
    return apply_rope(x, cos, sin)


def attend(q, k, v, scale):
    """Causal attention; q [T, H, d], k/v [T, Hkv, d] (grouped heads repeated)."""
    t, h, _ = q.shape
    rep = h // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    scores = torch.einsum("thd,shd->hts", q, k) * scale
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    return torch.einsum("hts,shd->thd", p, v).reshape(t, -1)


def experts_out(x, idx, weight, expert):
    """Sum of weight * expert_e(x) over each token's selected experts."""
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        for j in range(idx.shape[1]):
            out[t] += weight[t, j] * expert(int(idx[t, j]), x[t:t + 1])[0]
    return out


class Model:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = weights
        self.model_type = cfg["model_type"]

    def W(self, name):
        return self.w[name]

    # -- attention ----------------------------------------------------------------------
    def attention_gqa(self, il, x):
        c, p = self.cfg, f"model.layers.{il}.self_attn."
        t = x.shape[0]
        h, hk = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        d = c.get("head_dim") or c["hidden_size"] // h
        q, k, v = x @ self.W(p + "q_proj.weight").T, x @ self.W(p + "k_proj.weight").T, \
            x @ self.W(p + "v_proj.weight").T
        if p + "q_proj.bias" in self.w:
            q, k, v = q + self.W(p + "q_proj.bias"), k + self.W(p + "k_proj.bias"), \
                v + self.W(p + "v_proj.bias")
        eps = c["rms_norm_eps"]
        if self.model_type == "olmoe":  # over the whole projection, before the heads
            q, k = rms_norm(q, self.W(p + "q_norm.weight"), eps), \
                rms_norm(k, self.W(p + "k_norm.weight"), eps)
        q, k, v = q.view(t, h, d), k.view(t, hk, d), v.view(t, hk, d)
        if self.model_type == "qwen3_moe":  # per head
            q, k = rms_norm(q, self.W(p + "q_norm.weight"), eps), \
                rms_norm(k, self.W(p + "k_norm.weight"), eps)
        cos, sin = rope_tables(c, d, t)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        o = attend(q, k, v, d ** -0.5)
        return o @ self.W(p + "o_proj.weight").T

    def attention_mla(self, il, x):
        c, p = self.cfg, f"model.layers.{il}.self_attn."
        t = x.shape[0]
        h = c["num_attention_heads"]
        nope, rope, vd, kv_lora = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], \
            c["kv_lora_rank"]
        dq = nope + rope
        if c.get("q_lora_rank"):
            qa = rms_norm(x @ self.W(p + "q_a_proj.weight").T, self.W(p + "q_a_layernorm.weight"),
                          1e-6)  # DeepSeek's q_a/kv_a norms use eps 1e-6
            q = qa @ self.W(p + "q_b_proj.weight").T
        else:
            q = x @ self.W(p + "q_proj.weight").T
        q = q.view(t, h, dq)
        q_nope, q_pe = q[..., :nope], q[..., nope:]
        ckv = x @ self.W(p + "kv_a_proj_with_mqa.weight").T
        latent, k_pe = ckv[:, :kv_lora], ckv[:, kv_lora:].view(t, 1, rope)
        kv = (rms_norm(latent, self.W(p + "kv_a_layernorm.weight"), 1e-6)
              @ self.W(p + "kv_b_proj.weight").T).view(t, h, nope + vd)
        k_nope, v = kv[..., :nope], kv[..., nope:]
        cos, sin = rope_tables(c, rope, t, deepseek=True)
        q_pe, k_pe = apply_rope_interleaved(q_pe, cos, sin), apply_rope_interleaved(k_pe, cos, sin)
        q = torch.cat((q_nope, q_pe), dim=-1)
        k = torch.cat((k_nope, k_pe.expand(t, h, rope)), dim=-1)
        scale = dq ** -0.5
        rs = c.get("rope_scaling")
        if rs and rs.get("mscale_all_dim"):
            m = get_mscale(rs["factor"], rs["mscale_all_dim"])
            scale *= m * m
        o = attend(q, k, v, scale)
        return o @ self.W(p + "o_proj.weight").T

    # -- feed-forward -------------------------------------------------------------------
    def dense(self, prefix, x):
        return mlp(x, self.W(prefix + "gate_proj.weight"), self.W(prefix + "up_proj.weight"),
                   self.W(prefix + "down_proj.weight"))

    def moe_softmax_topk(self, il, x, gate_name, expert_prefix, names, norm):
        """Qwen2/3-MoE, OLMoE, Mixtral: softmax over all, top-k, optional renormalisation."""
        c = self.cfg
        probs = torch.softmax(x @ self.W(gate_name).T, dim=-1)
        w, idx = torch.topk(probs, c["num_experts_per_tok"], dim=-1)
        if norm:
            w = w / w.sum(-1, keepdim=True)
        g, u, d = names

        def expert(e, xt):
            p = f"{expert_prefix}{e}."
            return mlp(xt, self.W(p + g), self.W(p + u), self.W(p + d))

        return experts_out(x, idx, w, expert)

    def moe_deepseek(self, il, x):
        c, p = self.cfg, f"model.layers.{il}.mlp."
        k = c["num_experts_per_tok"]
        v3 = self.model_type == "deepseek_v3"
        logits = x @ self.W(p + "gate.weight").T
        scoring = c.get("scoring_func", "sigmoid" if v3 else "softmax")
        scores = torch.sigmoid(logits) if scoring == "sigmoid" else torch.softmax(logits, -1)
        method = c.get("topk_method", "noaux_tc" if v3 else "greedy")
        if method == "noaux_tc":
            choice = scores + self.W(p + "gate.e_score_correction_bias")
            ng, tg = c.get("n_group", 1), c.get("topk_group", 1)
            t = x.shape[0]
            group_scores = choice.view(t, ng, -1).topk(2, dim=-1)[0].sum(-1)
            group_idx = torch.topk(group_scores, k=tg, dim=-1, sorted=False)[1]
            group_mask = torch.zeros_like(group_scores).scatter_(1, group_idx, 1)
            score_mask = group_mask.unsqueeze(-1).expand(t, ng, choice.shape[1] // ng).reshape(t, -1)
            masked = choice.masked_fill(~score_mask.bool(), 0.0)
            idx = torch.topk(masked, k=k, dim=-1, sorted=False)[1]
            w = scores.gather(1, idx)
            if k > 1 and c.get("norm_topk_prob", False):
                w = w / (w.sum(-1, keepdim=True) + 1e-20)
            w = w * c["routed_scaling_factor"]
        else:  # V2 greedy: normalised or scaled, not both
            w, idx = torch.topk(scores, k=k, dim=-1, sorted=False)
            if k > 1 and c.get("norm_topk_prob", False):
                w = w / (w.sum(-1, keepdim=True) + 1e-20)
            else:
                w = w * c.get("routed_scaling_factor", 1.0)

        def expert(e, xt):
            return self.dense(f"{p}experts.{e}.", xt)

        out = experts_out(x, idx, w, expert)
        if c.get("n_shared_experts"):
            out = out + self.dense(p + "shared_experts.", x)
        return out

    def ffn(self, il, x):
        c, mt = self.cfg, self.model_type
        p = f"model.layers.{il}."
        if mt in ("deepseek_v2", "deepseek_v3"):
            if il < c.get("first_k_dense_replace", 0):
                return self.dense(p + "mlp.", x)
            return self.moe_deepseek(il, x)
        if mt == "mixtral":
            return self.moe_softmax_topk(il, x, p + "block_sparse_moe.gate.weight",
                                         p + "block_sparse_moe.experts.",
                                         ("w1.weight", "w3.weight", "w2.weight"), True)
        names = ("gate_proj.weight", "up_proj.weight", "down_proj.weight")
        out = self.moe_softmax_topk(il, x, p + "mlp.gate.weight", p + "mlp.experts.", names,
                                    c.get("norm_topk_prob", False))
        if mt == "qwen2_moe":
            gate = torch.sigmoid(x @ self.W(p + "mlp.shared_expert_gate.weight").T)
            out = out + gate * self.dense(p + "mlp.shared_expert.", x)
        return out

    # -- the whole model ----------------------------------------------------------------
    def logits(self, tokens):
        c = self.cfg
        x = self.W("model.embed_tokens.weight")[torch.tensor(tokens)]
        eps = c["rms_norm_eps"]
        mla = self.model_type in ("deepseek_v2", "deepseek_v3")
        for il in range(c["num_hidden_layers"]):
            p = f"model.layers.{il}."
            h = rms_norm(x, self.W(p + "input_layernorm.weight"), eps)
            x = x + (self.attention_mla(il, h) if mla else self.attention_gqa(il, h))
            h = rms_norm(x, self.W(p + "post_attention_layernorm.weight"), eps)
            x = x + self.ffn(il, h)
        x = rms_norm(x, self.W("model.norm.weight"), eps)
        head = "model.embed_tokens.weight" if c.get("tie_word_embeddings") else "lm_head.weight"
        return x @ self.W(head).T

    def greedy(self, prompt, n):
        tokens = list(prompt)
        for _ in range(n):
            tokens.append(int(torch.argmax(self.logits(tokens)[-1])))
        return tokens[len(prompt):]


def project_patches(w, image, cfg):
    """es-patch: rows [grid², E] of W v + b + pos for an [S, S, 3] uint8 image (pixels of a
    patch in the order row, column, channel). With a stem (conv_channels/conv_strides), v is
    a patch of the last feature map of 3x3 convolutions (padding 1, GELU after each)."""
    s, p = cfg["image_size"], cfg["patch_size"]
    g = s // p
    img = torch.tensor(image, dtype=F64) / 127.5 - 1.0
    for i, stride in enumerate(cfg.get("conv_strides", [])):
        x = img.permute(2, 0, 1)[None]
        x = F.conv2d(x, w[f"vision_projector.conv.{i}.weight"], w[f"vision_projector.conv.{i}.bias"],
                     stride=stride, padding=1)
        img = F.gelu(x)[0].permute(1, 2, 0)
        p //= stride
    c = img.shape[-1]
    patches = img.reshape(g, p, g, p, c).permute(0, 2, 1, 3, 4).reshape(g * g, c * p * p)
    return patches @ w["vision_projector.patch.weight"].T + w["vision_projector.patch.bias"] + \
        w["vision_projector.pos_embd"]


def projector_image(w, image, cfg):
    rows = project_patches(w, image, cfg)
    if "vision_projector.post_norm.weight" in w:
        rows = rms_norm(rows, w["vision_projector.post_norm.weight"], cfg.get("norm_eps", 1e-6))
    return rows


def projector_frame(w, image, index, cfg):
    rows = project_patches(w, image, cfg)
    g, k = cfg["image_size"] // cfg["patch_size"], cfg.get("video_pool", 1)
    e = rows.shape[1]
    pooled = rows.view(g // k, k, g // k, k, e).mean(dim=(1, 3)).reshape(-1, e)
    pooled = pooled + w["vision_projector.temporal_embd"][index]
    if "vision_projector.post_norm.weight" in w:
        pooled = rms_norm(pooled, w["vision_projector.post_norm.weight"], cfg.get("norm_eps", 1e-6))
    return pooled
