"""The demo model in PyTorch: a DeepSeek-V3-style MoE language model (MLA attention, one leading
dense layer, fine-grained routed experts plus a shared expert, sigmoid gating with a selection
bias, group-limited top-k, normalised and scaled weights) and the "es-patch" vision projector
trained with it.

The arithmetic is written to be the checkpoint's own forward: the same definitions as Hugging
Face's DeepseekV3 modelling code and as the engine's deepseek2 forward, so that
`expertscope-cli convert` of a checkpoint saved here can be checked against it.

- RoPE rotates adjacent pairs (x[2i], x[2i+1]) of the decoupled rope part of each head (Hugging
  Face's DeepSeek code reaches the same result by permuting to half-split first).
- Router: s = sigmoid(x·Wg); selection = s + bias; groups scored by the sum of their two best
  selection scores; the best `topk_group` groups kept, the rest masked; top-k of the selection;
  weights = s of the chosen, divided by their sum, times routed_scaling_factor. The bias only
  chooses; it is trained by the auxiliary-loss-free rule (update_router_bias), not by gradients.
- Projector: pixels v = x / 127.5 - 1; a patch's values ordered row, column, channel; linear to
  the model width + a learned position embedding per patch; a video frame's patches are
  averaged k×k and get the frame's temporal embedding; then an RMS norm with a weight.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DemoConfig:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 768  # the leading dense layer
    moe_intermediate_size: int = 64
    num_hidden_layers: int = 6
    first_k_dense_replace: int = 1
    num_attention_heads: int = 4
    q_lora_rank: int | None = 96
    kv_lora_rank: int = 64
    qk_nope_head_dim: int = 32
    qk_rope_head_dim: int = 16
    v_head_dim: int = 32
    n_routed_experts: int = 32
    n_shared_experts: int = 1
    num_experts_per_tok: int = 4
    n_group: int = 4
    topk_group: int = 2
    routed_scaling_factor: float = 2.0
    norm_topk_prob: bool = True
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048
    # vision projector
    image_size: int = 48
    patch_size: int = 8
    video_pool: int = 2
    max_frames: int = 16
    # A convolutional stem before the patch projection: 3x3 convolutions (padding 1, GELU
    # after each) with these output channels and strides; empty = patches of raw pixels.
    # With it, the patch projection reads patch_size / prod(strides) cells of the last
    # feature map per row instead of patch_size pixels.
    conv_channels: tuple[int, ...] = (16, 32, 32)
    conv_strides: tuple[int, ...] = (1, 2, 2)
    image_begin_token_id: int = 4
    image_end_token_id: int = 5
    video_begin_token_id: int = 6
    video_end_token_id: int = 7
    media_pad_token_id: int = 8
    eos_token_id: int = 0

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def feature_patch(self) -> int:
        """Cells of the stem's last feature map along one side of a patch."""
        return self.patch_size // math.prod(self.conv_strides)

    @property
    def patch_inputs(self) -> int:
        c = self.conv_channels[-1] if self.conv_channels else 3
        return c * self.feature_patch**2

    @property
    def image_tokens(self) -> int:
        return self.grid * self.grid

    @property
    def frame_tokens(self) -> int:
        return (self.grid // self.video_pool) ** 2

    def hf_config(self) -> dict:
        """config.json in Hugging Face's deepseek_v3 key names, plus the projector."""
        c = {
            "_name_or_path": "expertscope-demo",
            "architectures": ["DeepseekV3ForCausalLM"],
            "model_type": "deepseek_v3",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "moe_intermediate_size": self.moe_intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "first_k_dense_replace": self.first_k_dense_replace,
            "moe_layer_freq": 1,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_attention_heads,
            "q_lora_rank": self.q_lora_rank,
            "kv_lora_rank": self.kv_lora_rank,
            "qk_nope_head_dim": self.qk_nope_head_dim,
            "qk_rope_head_dim": self.qk_rope_head_dim,
            "v_head_dim": self.v_head_dim,
            "n_routed_experts": self.n_routed_experts,
            "n_shared_experts": self.n_shared_experts,
            "num_experts_per_tok": self.num_experts_per_tok,
            "n_group": self.n_group,
            "topk_group": self.topk_group,
            "topk_method": "noaux_tc",
            "scoring_func": "sigmoid",
            "routed_scaling_factor": self.routed_scaling_factor,
            "norm_topk_prob": self.norm_topk_prob,
            "hidden_act": "silu",
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": None,
            "max_position_embeddings": self.max_position_embeddings,
            "attention_bias": False,
            "tie_word_embeddings": False,
            "bos_token_id": None,
            "eos_token_id": self.eos_token_id,
            "torch_dtype": "float32",
            "vision_config": {
                "projector_type": "es-patch",
                "image_size": self.image_size,
                "patch_size": self.patch_size,
                "video_pool": self.video_pool,
                "max_frames": self.max_frames,
                **({"conv_channels": list(self.conv_channels),
                    "conv_strides": list(self.conv_strides)} if self.conv_channels else {}),
                "norm_eps": self.rms_norm_eps,
                "image_begin_token_id": self.image_begin_token_id,
                "image_end_token_id": self.image_end_token_id,
                "video_begin_token_id": self.video_begin_token_id,
                "video_end_token_id": self.video_end_token_id,
                "media_pad_token_id": self.media_pad_token_id,
            },
        }
        return c

    @staticmethod
    def from_hf(c: dict) -> "DemoConfig":
        v = c.get("vision_config") or {}
        names = set(DemoConfig.__dataclass_fields__)
        kw = {k: c[k] for k in names if k in c}
        kw.update({k: v[k] for k in names if k in v})
        kw["conv_channels"] = tuple(v.get("conv_channels", ()))
        kw["conv_strides"] = tuple(v.get("conv_strides", ()))
        if "norm_eps" in v:
            kw["rms_norm_eps"] = c.get("rms_norm_eps", v["norm_eps"])
        return DemoConfig(**kw)


class RMSNorm(nn.Module):

    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_adjacent(x, pos, theta: float):
    """Rotates adjacent pairs of the last dimension of x [..., T, d] by position."""
    d = x.shape[-1]
    inv = theta**(-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = (pos.to(torch.float64)[:, None] * inv[None, :]).to(x.dtype)  # [T, d/2]
    cos, sin = ang.cos(), ang.sin()
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)
    return out.flatten(-2)


class MLA(nn.Module):

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.c = c
        H, nope, rope, vd = c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim
        if c.q_lora_rank:
            self.q_a_proj = nn.Linear(c.hidden_size, c.q_lora_rank, bias=False)
            self.q_a_layernorm = RMSNorm(c.q_lora_rank, c.rms_norm_eps)
            self.q_b_proj = nn.Linear(c.q_lora_rank, H * (nope + rope), bias=False)
        else:
            self.q_proj = nn.Linear(c.hidden_size, H * (nope + rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(c.hidden_size, c.kv_lora_rank + rope, bias=False)
        self.kv_a_layernorm = RMSNorm(c.kv_lora_rank, c.rms_norm_eps)
        self.kv_b_proj = nn.Linear(c.kv_lora_rank, H * (nope + vd), bias=False)
        self.o_proj = nn.Linear(H * vd, c.hidden_size, bias=False)

    def forward(self, x, pos):
        c = self.c
        B, T, _ = x.shape
        H, nope, rope, vd = c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim
        if c.q_lora_rank:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        else:
            q = self.q_proj(x)
        q = q.view(B, T, H, nope + rope).transpose(1, 2)
        q_nope, q_pe = q[..., :nope], q[..., nope:]
        kv = self.kv_a_proj_with_mqa(x)
        latent, k_pe = kv[..., :c.kv_lora_rank], kv[..., c.kv_lora_rank:]
        kv = self.kv_b_proj(self.kv_a_layernorm(latent)).view(B, T, H, nope + vd).transpose(1, 2)
        k_nope, v = kv[..., :nope], kv[..., nope:]
        q_pe = rope_adjacent(q_pe, pos, c.rope_theta)
        k_pe = rope_adjacent(k_pe.unsqueeze(1), pos, c.rope_theta).expand(B, H, T, rope)
        qh = torch.cat((q_nope, q_pe), -1)
        kh = torch.cat((k_nope, k_pe), -1)
        att = (qh @ kh.transpose(-1, -2)) * (1.0 / math.sqrt(nope + rope))
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        o = att.masked_fill(causal, float("-inf")).softmax(-1) @ v
        return self.o_proj(o.transpose(1, 2).reshape(B, T, H * vd))


class MLP(nn.Module):

    def __init__(self, d: int, ff: int):
        super().__init__()
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.c = c
        self.weight = nn.Parameter(torch.empty(c.n_routed_experts, c.hidden_size))
        self.register_buffer("e_score_correction_bias", torch.zeros(c.n_routed_experts))

    def forward(self, x):
        """x [N, d] → (expert ids [N, k], weights [N, k], sigmoid scores [N, E])."""
        c = self.c
        s = torch.sigmoid(F.linear(x, self.weight))
        sel = s.detach() + self.e_score_correction_bias
        N, E = sel.shape
        if c.n_group > 1:
            g = sel.view(N, c.n_group, E // c.n_group)
            gscore = g.topk(2, dim=-1).values.sum(-1)
            keep = gscore.topk(c.topk_group, dim=-1).indices
            mask = torch.zeros(N, c.n_group, dtype=torch.bool, device=x.device)
            mask.scatter_(1, keep, True)
            sel = sel.masked_fill(~mask.repeat_interleave(E // c.n_group, dim=1), float("-inf"))
        idx = sel.topk(c.num_experts_per_tok, dim=-1).indices
        w = s.gather(1, idx)
        if c.norm_topk_prob:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        return idx, w * c.routed_scaling_factor, s


class MoE(nn.Module):
    """Routed experts stored stacked ([E, ff, d] per projection), run over the tokens grouped
    by expert (experts without tokens skipped); saved as Hugging Face's per-expert tensors."""

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.c = c
        E, d, ff = c.n_routed_experts, c.hidden_size, c.moe_intermediate_size
        self.gate = Gate(c)
        self.w_gate = nn.Parameter(torch.empty(E, ff, d))
        self.w_up = nn.Parameter(torch.empty(E, ff, d))
        self.w_down = nn.Parameter(torch.empty(E, d, ff))
        self.shared_experts = MLP(d, ff * c.n_shared_experts)
        self.last_idx = None  # [N, k] of the last forward (routing record, bias update)

    def forward(self, x):
        B, T, d = x.shape
        c = self.c
        E, k = c.n_routed_experts, c.num_experts_per_tok
        flat = x.reshape(-1, d)
        idx, w, _ = self.gate(flat)
        self.last_idx = idx.detach()
        e_flat = idx.flatten()
        order = e_flat.argsort(stable=True)
        counts = torch.bincount(e_flat, minlength=E).tolist()
        tok = order // k
        xs = flat[tok]  # each token once per chosen expert, grouped by expert
        # split, not xs[a:b]: the backward of one split concatenates the groups' gradients
        # once, where a slice per expert would each add a zero-filled gradient the size of xs
        # (28 % of a training step, measured); unbind likewise for the stacked weights.
        wg, wu, wd = self.w_gate.unbind(0), self.w_up.unbind(0), self.w_down.unbind(0)
        ys = []
        for e, x_e in enumerate(xs.split(counts)):
            if x_e.shape[0] == 0:
                continue
            h = F.silu(x_e @ wg[e].t()) * (x_e @ wu[e].t())
            ys.append(h @ wd[e].t())
        y = torch.cat(ys) * w.flatten()[order][:, None]
        out = self.shared_experts(flat).index_add(0, tok, y)
        return out.view(B, T, d)


class Block(nn.Module):

    def __init__(self, c: DemoConfig, layer: int):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = MLA(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c.hidden_size, c.intermediate_size) if layer < c.first_k_dense_replace \
            else MoE(c)

    def forward(self, x, pos):
        x = x + self.self_attn(self.input_layernorm(x), pos)
        return x + self.mlp(self.post_attention_layernorm(x))


class Projector(nn.Module):

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.c = c
        if len(c.conv_channels) != len(c.conv_strides):
            raise ValueError("conv_channels and conv_strides differ in length")
        if c.conv_channels and c.patch_size % math.prod(c.conv_strides) != 0:
            raise ValueError("the stem's strides do not divide patch_size")
        ins = (3,) + tuple(c.conv_channels[:-1])
        self.conv = nn.ModuleList(nn.Conv2d(i, o, 3, s, 1)
                                  for i, o, s in zip(ins, c.conv_channels, c.conv_strides))
        self.patch = nn.Linear(c.patch_inputs, c.hidden_size)
        self.pos_embd = nn.Parameter(torch.zeros(c.image_tokens, c.hidden_size))
        self.temporal_embd = nn.Parameter(torch.zeros(c.max_frames, c.hidden_size))
        self.post_norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def patches(self, pixels):
        """uint8 [N, S, S, 3] → rows [N, g², d] (patch projection + position)."""
        c = self.c
        N, g = pixels.shape[0], c.grid
        v = pixels.to(torch.float32) / 127.5 - 1.0  # [N, S, S, 3]
        if self.conv:
            v = v.permute(0, 3, 1, 2)
            for conv in self.conv:
                v = F.gelu(conv(v))
            v = v.permute(0, 2, 3, 1)  # [N, S', S', C], channels innermost like RGB
        P, C = c.feature_patch if self.conv else c.patch_size, v.shape[-1]
        v = v.reshape(N, g, P, g, P, C).permute(0, 1, 3, 2, 4, 5).reshape(N, g * g, C * P * P)
        return self.patch(v) + self.pos_embd

    def images(self, pixels):
        """uint8 [N, S, S, 3] → [N, image_tokens, d]."""
        return self.post_norm(self.patches(pixels))

    def frames(self, pixels, index):
        """uint8 [N, S, S, 3] frames and their frame indices [N] → [N, frame_tokens, d]."""
        c = self.c
        r = self.patches(pixels)
        N, g, k, d = r.shape[0], c.grid, c.video_pool, c.hidden_size
        r = r.view(N, g // k, k, g // k, k, d).mean(dim=(2, 4)).reshape(N, (g // k)**2, d)
        return self.post_norm(r + self.temporal_embd[index][:, None, :])


class DemoModel(nn.Module):

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(Block(c, i) for i in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.vision = Projector(c)

    def init_weights(self, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        out_scale = 1.0 / math.sqrt(2 * self.c.num_hidden_layers)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 1:
                    if name.endswith("bias"):
                        p.zero_()
                    else:
                        p.fill_(1.0)
                    continue
                std = 0.02
                if p.dim() == 4:  # the stem's convolutions: He, so features survive GELU
                    std = math.sqrt(2.0 / p[0].numel())
                if name.endswith("gate.weight"):
                    std = 0.002  # near-uniform routing at the start; the bias balances it after
                if name.endswith(("o_proj.weight", "down_proj.weight", "w_down")):
                    std *= out_scale
                p.copy_(torch.randn(p.shape, generator=g) * std)

    def moe_layers(self) -> list[MoE]:
        return [b.mlp for b in self.layers if isinstance(b.mlp, MoE)]

    def embed(self, ids, media=None):
        """Token embeddings [B, T, d] with media rows put in place: `media` is a list of
        (batch row, positions LongTensor [n], rows [n, d])."""
        x = self.embed_tokens(ids)
        if media:
            b = torch.cat([torch.full((len(p),), bi, dtype=torch.long) for bi, p, _ in media])
            t = torch.cat([p for _, p, _ in media])
            r = torch.cat([rows for _, _, rows in media])
            x = x.index_put((b, t), r)
        return x

    def forward(self, ids, media=None, pos0: int = 0):
        x = self.embed(ids, media)
        pos = torch.arange(pos0, pos0 + ids.shape[1])
        for layer in self.layers:
            x = layer(x, pos)
        return self.lm_head(self.norm(x))

    @torch.no_grad()
    def update_router_bias(self, rate: float) -> list[torch.Tensor]:
        """DeepSeek-V3's auxiliary-loss-free balancing: after a step, each MoE layer's selection
        bias rises for experts that took fewer than the mean number of tokens and falls for
        those that took more. Returns each layer's expert loads."""
        loads = []
        for m in self.moe_layers():
            n = torch.bincount(m.last_idx.flatten(), minlength=self.c.n_routed_experts).float()
            m.gate.e_score_correction_bias += rate * torch.sign(n.mean() - n)
            loads.append(n)
        return loads

    # -- Hugging Face layout ---------------------------------------------------------------
    def hf_state(self) -> dict[str, torch.Tensor]:
        """The weights under Hugging Face's deepseek_v3 names (experts one tensor each) plus
        vision_projector.*, all float32."""
        out = {}
        stacked = {"w_gate": "gate_proj", "w_up": "up_proj", "w_down": "down_proj"}
        for k, v in self.state_dict().items():
            v = v.detach().to(torch.float32)
            leaf = k.rsplit(".", 1)[-1]
            if leaf in stacked:
                for e in range(v.shape[0]):
                    out[f"model.{k[:-len(leaf)]}experts.{e}.{stacked[leaf]}.weight"] = v[e].clone()
            elif k.startswith("vision."):
                out["vision_projector." + k[len("vision."):]] = v.contiguous()
            elif k.startswith("lm_head."):
                out[k] = v.contiguous()
            else:
                out["model." + k] = v.contiguous()
        return out

    def save_hf(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(self.c.hf_config(), indent=1))
        write_safetensors(out_dir / "model.safetensors", self.hf_state())

    @staticmethod
    def load_hf(directory: Path) -> "DemoModel":
        directory = Path(directory)
        c = DemoConfig.from_hf(json.loads((directory / "config.json").read_text()))
        m = DemoModel(c)
        state = read_safetensors(directory / "model.safetensors")
        mine = {}
        experts: dict[tuple[str, str], dict[int, torch.Tensor]] = {}
        for k, v in state.items():
            if ".mlp.experts." in k:
                head, tail = k.split(".mlp.experts.")
                e, proj = tail.split(".")[0], tail.split(".")[1]
                experts.setdefault((head, proj), {})[int(e)] = v
                continue
            if k.startswith("vision_projector."):
                mine["vision." + k[len("vision_projector."):]] = v
            elif k.startswith("model."):
                mine[k[len("model."):]] = v
            else:
                mine[k] = v
        names = {"gate_proj": "w_gate", "up_proj": "w_up", "down_proj": "w_down"}
        for (head, proj), per in experts.items():
            stacked = torch.stack([per[e] for e in range(len(per))])
            mine[head[len("model."):] + ".mlp." + names[proj]] = stacked
        m.load_state_dict(mine, strict=True)
        return m


_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
_FROM = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """The safetensors format by hand (no package in Debian): u64 header length, JSON header of
    dtype / shape / data_offsets, then the bytes, 8-byte aligned header."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else \
            t.numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, _ = _FROM[info["dtype"]]
        a, b = info["data_offsets"]
        buf = bytearray(data[base + a:base + b])
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def q8_0_roundtrip(w: torch.Tensor) -> torch.Tensor:
    """What a Q8_0 GGUF keeps of a weight matrix (rows in blocks of 32: d = amax / 127 stored as
    f16, q = round(x / d)), back in float32 — for comparing the engine on the exported file."""
    x = w.detach().to(torch.float32).reshape(-1, 32)
    amax = x.abs().amax(dim=1, keepdim=True)
    d = amax / 127.0
    inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
    y = x * inv
    q = (torch.sign(y) * torch.floor(y.abs() + 0.5)).clamp(-128, 127)  # C's roundf
    d16 = d.to(torch.float16).to(torch.float32)
    return (q * d16).reshape(w.shape)


def parameters_count(m: DemoModel) -> dict[str, int]:
    total = sum(p.numel() for p in m.parameters())
    experts = sum(p.numel() for mo in m.moe_layers() for p in (mo.w_gate, mo.w_up, mo.w_down))
    c = m.c
    active = total - experts + experts * c.num_experts_per_tok // c.n_routed_experts
    return {"total": total, "routed_experts": experts, "active_per_token": active}


def describe(c: DemoConfig) -> str:
    return json.dumps(asdict(c))
