"""A byte-level BPE vocabulary for the demo model, trained here and written as a Hugging Face
tokenizer.json + tokenizer_config.json (the files `expertscope-cli convert` reads).

The pre-tokenizer is GPT-2's (Hugging Face's ByteLevel with use_regex): words with one leading
space, runs of digits, runs of punctuation, whitespace. The training text is ASCII (checked), for
which the ASCII pattern below splits exactly as GPT-2's Unicode one does. Merges are learned by
the classic rule (most frequent adjacent pair, ties by the pair's bytes, so a run is reproducible)
and applied by rank, as Hugging Face's BPE model applies them.
"""
from __future__ import annotations

import collections
import json
import re
from pathlib import Path

# Special tokens take the first ids; the model's chat and media markers.
SPECIALS = [
    "<|end|>",  # end of a turn and of a generation (eos)
    "<|user|>",
    "<|assistant|>",
    "<|system|>",
    "<|image|>",
    "<|/image|>",
    "<|video|>",
    "<|/video|>",
    "<|media|>",  # placeholder whose embedding the vision projector replaces
]
END, USER, ASSISTANT, SYSTEM, IMAGE_BEGIN, IMAGE_END, VIDEO_BEGIN, VIDEO_END, MEDIA_PAD = range(
    len(SPECIALS))

# GPT-2's pattern with \p{L} and \p{N} narrowed to ASCII (the corpus is ASCII).
PRE_TOKENIZE = re.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}<|system|>{{ message['content'] }}<|end|>"
    "{% elif message['role'] == 'user' %}<|user|>{{ message['content'] }}<|end|>"
    "{% else %}<|assistant|>{{ message['content'] }}<|end|>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in for every byte (what ByteLevel writes in the vocabulary)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(
        range(0xAE, 0xFF + 1))
    cs = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, cs)))


BYTE_CHARS = bytes_to_unicode()


def pre_tokenize(text: str) -> list[str]:
    return PRE_TOKENIZE.findall(text)


def _word_symbols(word: str) -> tuple[str, ...]:
    return tuple(BYTE_CHARS[b] for b in word.encode("utf-8"))


class Tokenizer:
    """Vocabulary + ranked merges; encode() is Hugging Face BPE over GPT-2 pre-tokens with the
    special tokens matched first."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.merges = merges
        self.rank = {m: i for i, m in enumerate(merges)}
        self.id_to_token = {i: t for t, i in vocab.items()}
        self._cache: dict[str, list[int]] = {}
        self._special = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")
        self._byte_decoder = {c: b for b, c in BYTE_CHARS.items()}

    def _bpe(self, word: str) -> list[int]:
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        sym = list(_word_symbols(word))
        while len(sym) > 1:
            best = None
            for i in range(len(sym) - 1):
                r = self.rank.get((sym[i], sym[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            a, b = self.merges[best[0]]
            out, i = [], 0
            while i < len(sym):
                if i < len(sym) - 1 and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            sym = out
        ids = [self.vocab[s] for s in sym]
        if len(self._cache) < 200_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in self._special.split(text):
            if not piece:
                continue
            if piece in SPECIALS:
                ids.append(SPECIALS.index(piece))
                continue
            for w in pre_tokenize(piece):
                ids.extend(self._bpe(w))
        return ids

    def decode(self, ids) -> str:
        out = bytearray()
        for i in ids:
            t = self.id_to_token[int(i)]
            if int(i) < len(SPECIALS):
                out += t.encode("utf-8")
            else:
                out += bytes(self._byte_decoder[c] for c in t)
        return out.decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return len(self.vocab)

    # -- files ----------------------------------------------------------------------------
    def save(self, out_dir: Path, model_max_length: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        added = [{
            "id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True
        } for i, s in enumerate(SPECIALS)]
        tok = {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {
                "type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                "use_regex": True
            },
            "post_processor": None,
            "decoder": {
                "type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                "use_regex": True
            },
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None,
                "continuing_subword_prefix": None, "end_of_word_suffix": None,
                "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }
        (out_dir / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=1))
        cfg = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": None,
            "eos_token": "<|end|>",
            "pad_token": "<|end|>",
            "add_bos_token": False,
            "add_eos_token": False,
            "model_max_length": model_max_length,
            "chat_template": CHAT_TEMPLATE,
        }
        (out_dir / "tokenizer_config.json").write_text(json.dumps(cfg, indent=1))

    @staticmethod
    def load(directory: Path) -> "Tokenizer":
        tok = json.loads((directory / "tokenizer.json").read_text())
        merges = [tuple(m.split(" ")) for m in tok["model"]["merges"]]
        return Tokenizer(tok["model"]["vocab"], merges)


def train(texts, vocab_size: int) -> Tokenizer:
    """Learns merges until the vocabulary (specials + 256 bytes + merges) has `vocab_size`
    entries. `texts` is an iterable of ASCII strings (each is pre-tokenized on its own)."""
    words: collections.Counter[str] = collections.Counter()
    for t in texts:
        if not t.isascii():
            raise ValueError("the BPE training text must be ASCII: " + repr(t[:80]))
        words.update(pre_tokenize(t))
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for b in range(256):
        vocab[BYTE_CHARS[b]] = len(vocab)
    seqs = [list(_word_symbols(w)) for w in words]
    freq = list(words.values())
    pairs: collections.Counter[tuple[str, str]] = collections.Counter()
    where: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for wi, s in enumerate(seqs):
        for p in zip(s, s[1:]):
            pairs[p] += freq[wi]
            where[p].add(wi)
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size and pairs:
        best_n = max(pairs.values())
        if best_n < 2:
            break
        best = min(p for p, n in pairs.items() if n == best_n)
        a, b = best
        merged = a + b
        merges.append(best)
        vocab[merged] = len(vocab)
        for wi in sorted(where.pop(best, ())):
            s = seqs[wi]
            f = freq[wi]
            for p in zip(s, s[1:]):
                pairs[p] -= f
                if pairs[p] <= 0:
                    del pairs[p]
            out, i = [], 0
            while i < len(s):
                if i < len(s) - 1 and s[i] == a and s[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[wi] = out
            for p in zip(out, out[1:]):
                pairs[p] += f
                where[p].add(wi)
        pairs.pop(best, None)
    return Tokenizer(vocab, merges)
