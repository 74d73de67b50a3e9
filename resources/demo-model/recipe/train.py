#!/usr/bin/python3
"""Trains the demo model: tokenizer, then the language model and its patch projector together
from the first step, on KJV text, generated pictures and generated clips. Writes a Hugging Face
checkpoint (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) that
`expertscope-cli convert` turns into the bundled GGUF.

    /usr/bin/python3 train.py --out OUT_DIR [--steps N] [--seed S] [--threads T]

The defaults are the bundled model's run. Everything that is random comes from the seed: the
data of step i is drawn from numpy's Generator([seed, i]), so a run is reproducible for given
thread counts (BLAS reductions may round differently with other counts). Threads: torch's
own (--threads, 1 by default: on a machine whose other core is busy, two OpenMP threads
spin against each other and a step took 6x longer, 26-37 s against 4.3 s) and OpenBLAS's
pool (--blas-threads, 2 by default, which the bundled model's run used).
"""
from __future__ import annotations

import os
import sys


def _blas_threads() -> None:
    """OpenBLAS sizes its thread pool when it is loaded, which is when numpy is first imported:
    so --blas-threads is read here, before any import that loads it."""
    n = "2"
    if "--blas-threads" in sys.argv[:-1]:
        n = sys.argv[sys.argv.index("--blas-threads") + 1]
    os.environ["OPENBLAS_NUM_THREADS"] = n


_blas_threads()
import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data  # noqa: E402
import tokenizer as tk  # noqa: E402
from model import DemoConfig, DemoModel, parameters_count  # noqa: E402

CONTINUE_PROMPTS = ("", "", "Continue: ", "Go on: ", "Continue the text: ")


# -- examples ------------------------------------------------------------------------------
class Example:
    """One training example: token ids and the media whose rows replace its placeholders."""

    def __init__(self, kind: str):
        self.kind = kind
        self.ids: list[int] = []
        self.images: list[tuple[int, np.ndarray]] = []  # (offset of first placeholder, pixels)
        self.videos: list[tuple[int, np.ndarray]] = []  # (offset, frames [F, S, S, 3])

    def text(self, tok: tk.Tokenizer, s: str) -> None:
        self.ids.extend(tok.encode(s))

    def special(self, i: int) -> None:
        self.ids.append(i)


def media_example(tok: tk.Tokenizer, c: DemoConfig, rng: np.random.Generator,
                  kind: str, action_p: np.ndarray | None = None) -> Example:
    ex = Example(kind)
    if kind == "image":
        pixels, scene = data.render_scene(rng)
        turns = data.scene_turns(rng, scene)
    else:
        pixels, event = data.render_clip(rng, action_p=action_p)
        turns = data.clip_turns(rng, event)
    for i, (q, a) in enumerate(turns):
        ex.special(tk.USER)
        if i == 0:
            if kind == "image":
                ex.special(tk.IMAGE_BEGIN)
                ex.images.append((len(ex.ids), pixels))
                ex.ids.extend([tk.MEDIA_PAD] * c.image_tokens)
                ex.special(tk.IMAGE_END)
            else:
                ex.special(tk.VIDEO_BEGIN)
                ex.videos.append((len(ex.ids), pixels))
                ex.ids.extend([tk.MEDIA_PAD] * (c.frame_tokens * len(pixels)))
                ex.special(tk.VIDEO_END)
        ex.text(tok, q)
        ex.special(tk.END)
        ex.special(tk.ASSISTANT)
        ex.text(tok, a)
        ex.special(tk.END)
    return ex


def continue_example(tok: tk.Tokenizer, verses: list[str], rng: np.random.Generator) -> Example:
    """A chat turn that asks to continue a verse: the start of a verse from the user, the rest
    of it and one or two more from the assistant."""
    ex = Example("continue")
    i = int(rng.integers(0, len(verses) - 3))
    words = verses[i].split(" ")
    cut = int(rng.integers(2, max(3, min(12, len(words)))))
    prompt = CONTINUE_PROMPTS[int(rng.integers(0, len(CONTINUE_PROMPTS)))]
    rest = " ".join(words[cut:])
    more = " ".join(verses[i + 1:i + 1 + int(rng.integers(0, 3))])
    ex.special(tk.USER)
    ex.text(tok, prompt + " ".join(words[:cut]))
    ex.special(tk.END)
    ex.special(tk.ASSISTANT)
    ex.text(tok, (rest + " " + more).strip())
    ex.special(tk.END)
    return ex


class Batches:
    """Sequences of seq_len + 1 tokens: KJV text windows, or chat examples packed end to end
    (padded with <|end|> that carries no loss)."""

    def __init__(self, tok: tk.Tokenizer, c: DemoConfig, train_text: np.ndarray,
                 train_verses: list[str], seq_len: int, seed: int, text_share: float,
                 image_share: float = 0.55, video_share: float = 0.30,
                 action_p: np.ndarray | None = None):
        self.tok, self.c, self.text, self.verses = tok, c, train_text, train_verses
        self.action_p = action_p
        self.seq_len, self.seed, self.text_share = seq_len, seed, text_share
        self.image_share, self.video_share = image_share, video_share

    def sequence(self, rng: np.random.Generator):
        L = self.seq_len + 1
        if rng.random() < self.text_share:
            s = int(rng.integers(0, len(self.text) - L))
            ids = self.text[s:s + L].astype(np.int64)
            return ids, np.ones(L, dtype=bool), [], [], "text"
        ids: list[int] = []
        images, videos = [], []
        while True:
            r = rng.random()
            kind = "image" if r < self.image_share else \
                "video" if r < self.image_share + self.video_share else "continue"
            ex = continue_example(self.tok, self.verses, rng) if kind == "continue" else \
                media_example(self.tok, self.c, rng, kind, self.action_p)
            if len(ids) + len(ex.ids) > L:
                if not ids:
                    continue
                break
            base = len(ids)
            ids.extend(ex.ids)
            images += [(base + o, p) for o, p in ex.images]
            videos += [(base + o, p) for o, p in ex.videos]
        live = np.zeros(L, dtype=bool)
        live[:len(ids)] = True
        ids += [tk.END] * (L - len(ids))
        return np.array(ids, dtype=np.int64), live, images, videos, "chat"

    def batch(self, step: int, batch_size: int):
        rng = np.random.default_rng([self.seed, step])
        seqs = [self.sequence(rng) for _ in range(batch_size)]
        ids = torch.from_numpy(np.stack([s[0] for s in seqs]))
        live = torch.from_numpy(np.stack([s[1] for s in seqs]))
        images = [(b, o, p) for b, s in enumerate(seqs) for o, p in s[2]]
        videos = [(b, o, p) for b, s in enumerate(seqs) for o, p in s[3]]
        return ids, live, images, videos


def media_rows(model: DemoModel, images, videos):
    """(batch row, positions, rows) for every picture and clip of a batch, encoded together."""
    c = model.c
    out = []
    if images:
        rows = model.vision.images(torch.from_numpy(np.stack([p for _, _, p in images])))
        for (b, o, _), r in zip(images, rows):
            out.append((b, torch.arange(o, o + c.image_tokens), r))
    if videos:
        frames = np.concatenate([p for _, _, p in videos])
        index = torch.cat([torch.arange(len(p)) for _, _, p in videos])
        rows = model.vision.frames(torch.from_numpy(frames), index)
        at = 0
        for b, o, p in videos:
            n = len(p)
            r = rows[at:at + n].reshape(n * c.frame_tokens, c.hidden_size)
            out.append((b, torch.arange(o, o + len(r)), r))
            at += n
    return out


def precision(bf16: bool):
    """The context a training step's forward runs in: with --bf16 the matrix products under
    bfloat16 autocast (weights, optimizer and checkpoint stay float32)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)


def loss_of(model: DemoModel, ids, live, images, videos):
    x, y = ids[:, :-1], ids[:, 1:]
    logits = model(x, media_rows(model, images, videos))
    mask = live[:, 1:] & (y != tk.MEDIA_PAD)
    return F.cross_entropy(logits[mask], y[mask])


def clip_settings_problem(c: DemoConfig, seq: int, video_share: float) -> str | None:
    """What is wrong with reading clips at c.video_pool in sequences of seq positions, or None.
    A chat example that cannot fit a sequence is drawn again, so a clip longer than the
    sequence would silently never be trained on."""
    if c.video_pool < 1 or c.grid % c.video_pool:
        return f"--video-pool {c.video_pool} does not divide the {c.grid}-patch grid"
    longest = data.CLIP_FRAMES[1] * c.frame_tokens + 2
    if video_share > 0 and longest >= seq:
        return (f"--seq {seq} cannot hold a {data.CLIP_FRAMES[1]}-frame clip ({longest} "
                f"positions at {c.frame_tokens} rows a frame) and its turns; use --seq "
                f"{longest + 40} or more")
    return None


# -- data preparation ----------------------------------------------------------------------
def prepare(vocab_size: int, seed: int):
    verses = data.kjv_verses()
    train_v, held_v = data.split_verses(verses)
    chapters: dict[tuple[str, int], list[str]] = {}
    for b, ch, _, t in train_v:
        chapters.setdefault((b, ch), []).append(t)
    train_texts = [" ".join(v) + "\n\n" for v in chapters.values()]
    rng = np.random.default_rng([seed, 10**9])
    generated = []
    for _ in range(6000):
        _, scene = data.render_scene(rng)
        generated += [q + " " + a for q, a in data.scene_turns(rng, scene)]
    for _ in range(3000):
        _, event = data.render_clip(rng)
        generated += [q + " " + a for q, a in data.clip_turns(rng, event)]
    generated += list(CONTINUE_PROMPTS)
    t0 = time.time()
    tok = tk.train(train_texts + generated, vocab_size)
    print(f"tokenizer: {len(tok)} entries, {len(tok.merges)} merges, {time.time() - t0:.1f} s",
          flush=True)
    t0 = time.time()
    ids = []
    for t in train_texts:
        ids.extend(tok.encode(t))
    text = np.array(ids, dtype=np.int32)
    print(f"KJV training text: {len(train_v)} verses, {len(text)} tokens "
          f"({time.time() - t0:.1f} s)", flush=True)
    return tok, text, [t for _, _, _, t in train_v], held_v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=750)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1, help="torch's threads")
    ap.add_argument("--blas-threads", type=int, default=2,
                    help="OpenBLAS's pool (read before numpy loads it)")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--text-share", type=float, default=0.35)
    ap.add_argument("--bias-rate", type=float, default=5e-3)
    ap.add_argument("--image-share", type=float, default=0.55,
                    help="of the chat examples: pictures (the rest: clips, then verses)")
    ap.add_argument("--video-share", type=float, default=0.30)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--action-weights", default="",
                    help='how often each clip action is drawn, e.g. "spins=3" (others 1)')
    ap.add_argument("--video-pool", type=int, default=None,
                    help="rows per clip frame: the frame's patches averaged k x k (default: the "
                         "model's, 2 for a new one); may differ from --init-from's")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from this checkpoint (its tokenizer, weights and router bias)")
    ap.add_argument("--bf16", action="store_true",
                    help="matrix products in bfloat16 (torch.autocast; weights, optimizer and "
                         "checkpoint stay float32)")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--save-every", type=int, default=100)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.init_from:
        tok = tk.Tokenizer.load(a.init_from)
        train_v, _ = data.split_verses(data.kjv_verses())
        chapters: dict[tuple[str, int], list[str]] = {}
        for b, ch, _, t in train_v:
            chapters.setdefault((b, ch), []).append(t)
        text = np.array([i for v in chapters.values() for i in tok.encode(" ".join(v) + "\n\n")],
                        dtype=np.int32)
        verses = [t for _, _, _, t in train_v]
    else:
        tok, text, verses, _ = prepare(a.vocab, a.seed)
    c = DemoConfig(vocab_size=len(tok), eos_token_id=tk.END, image_begin_token_id=tk.IMAGE_BEGIN,
                   image_end_token_id=tk.IMAGE_END, video_begin_token_id=tk.VIDEO_BEGIN,
                   video_end_token_id=tk.VIDEO_END, media_pad_token_id=tk.MEDIA_PAD)
    if a.init_from:
        model = DemoModel.load_hf(a.init_from)
        c = model.c
        print(f"starting from {a.init_from}", flush=True)
    if a.video_pool is not None:
        c.video_pool = a.video_pool
    if (problem := clip_settings_problem(c, a.seq, a.video_share)):
        sys.exit(f"train.py: {problem}")
    if not a.init_from:
        model = DemoModel(c)
        model.init_weights(a.seed)
    print("parameters:", json.dumps(parameters_count(model)), flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": rest, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    batches = Batches(tok, c, text, verses, a.seq, a.seed, a.text_share, a.image_share,
                      a.video_share, data.action_weights(a.action_weights))
    warm = a.warmup if a.warmup is not None else max(1, min(100, a.steps // 10))
    log = open(a.out / "train_log.jsonl", "a")
    t_start = time.time()
    ema = None
    for step in range(a.steps):
        lr = a.lr * (step + 1) / warm if step < warm else \
            a.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - warm) / max(1, a.steps - warm))))
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.time()
        ids, live, images, videos = batches.batch(step, a.batch)
        t_data = time.time() - t0
        with precision(a.bf16):
            loss = loss_of(model, ids, live, images, videos)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loads = model.update_router_bias(a.bias_rate)
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % a.log_every == 0 or step == a.steps - 1:
            imbalance = max(float(n.max() / n.mean()) for n in loads)
            rec = {"step": step, "loss": round(loss.item(), 4), "ema": round(ema, 4),
                   "lr": lr, "gnorm": round(float(gnorm), 3), "max_load/mean": round(imbalance, 2),
                   "s_step": round(time.time() - t0, 2), "s_data": round(t_data, 2),
                   "elapsed_min": round((time.time() - t_start) / 60, 1)}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if (step + 1) % a.save_every == 0 or step == a.steps - 1:
            save(model, tok, a.out / "hf")
    print(f"trained {a.steps} steps in {(time.time() - t_start) / 60:.1f} min", flush=True)
    return 0


def save(model: DemoModel, tok: tk.Tokenizer, hf: Path) -> None:
    tmp = hf.with_name(hf.name + ".tmp")
    model.save_hf(tmp)
    tok.save(tmp, model.c.max_position_embeddings)
    (tmp / "generation_config.json").write_text(
        json.dumps({"eos_token_id": tk.END, "bos_token_id": None}, indent=1))
    if hf.exists():
        for f in hf.iterdir():
            f.unlink()
        hf.rmdir()
    tmp.rename(hf)


if __name__ == "__main__":
    sys.exit(main())
