#!/usr/bin/python3
"""Training and evaluation data for the demo model, generated on the fly and reproducibly.

* Pictures: 1-3 shapes (distinct colour + shape pairs, never overlapping, wholly inside the
  frame) on a plain or textured background, rendered anti-aliased (supersampled and box
  filtered) with pure numpy, with a canonical caption and question/answer turns.
* Clips: a few frames (what a 1-frame-per-second sampler takes from a video) of one shape that
  moves, grows, shrinks, changes colour, spins or stays still, sometimes beside a second,
  static shape; with a caption of what happens and question/answer turns.
* Text: every verse of the King James Bible from Debian's bible-kjv (the `bible` program),
  with a few whole books held out for evaluation.

Every random choice is drawn from the numpy Generator passed in, so a seed fixes the data.
Everything written is ASCII (the tokenizer's corpus is ASCII).

`python3 data.py --samples OUTDIR` writes a contact sheet of 24 pictures and 4 clips with their
turns (sheet.png, clips.png, samples.txt) plus each clip as an MP4 and each picture as a PNG.
"""
from __future__ import annotations

import argparse
import math
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

IMAGE_SIZE = 48  # what the model sees (the projector's image_size)

# Saturated, far apart in RGB; "white" and "black" are told from every background by brightness.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (30, 160, 60),
    "blue": (35, 75, 215),
    "yellow": (245, 215, 30),
    "orange": (245, 135, 20),
    "purple": (135, 50, 175),
    "white": (250, 250, 250),
    "black": (20, 20, 20),
}

SHAPES: list[str] = ["circle", "square", "triangle", "star", "cross", "diamond"]

# Background base colours: mid-bright and unsaturated, so every shape colour stands out (the
# smallest RGB distance from any background pixel to any shape colour is checked by the tests).
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "grey": (150, 150, 150),
    "beige": (200, 188, 160),
    "light blue": (160, 185, 210),
    "sage": (160, 180, 150),
    "pink": (205, 170, 175),
}
TEXTURES = ("plain", "gradient", "noise", "stripes", "checks")
# Largest departure (per channel, 0-255) a texture makes from the base colour.
TEXTURE_AMPLITUDE = 22

# Position words: a centre left of 0.4 of the width is "left", right of 0.6 "right" (rows
# likewise); objects are placed well inside those bands (see _BANDS) so no label is borderline.
_ROW_WORDS = ("top", "", "bottom")
_COL_WORDS = ("left", "", "right")
_BANDS = ((0.0, 0.36), (0.44, 0.56), (0.64, 1.0))

SMALL_PX = (12.0, 16.0)  # nominal diameter in pixels at IMAGE_SIZE
LARGE_PX = (20.0, 28.0)

NUMBER_WORDS = ("no", "one", "two", "three", "four")

CAPTION_QUESTIONS = ("Describe the picture.", "What do you see?", "Describe the image.",
                     "What is in the picture?", "What is in this image?")
CLIP_QUESTIONS = ("What happens?", "Describe the video.", "What happens in the video?",
                  "What is going on in the video?")

CLIP_FRAMES = (4, 8)  # the fewest and most frames of a generated clip
ACTIONS = ("moves left", "moves right", "moves up", "moves down", "grows", "shrinks",
           "changes colour", "spins", "stays still")


# --------------------------------------------------------------------------------------------
# Shapes as polygons (the circle apart), in units of the nominal radius, y down, before rotation.


def _star(points: int, inner: float) -> np.ndarray:
    ang = -math.pi / 2 + np.arange(2 * points) * math.pi / points
    rad = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)


def _cross(w: float) -> np.ndarray:
    return np.array([(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1),
                     (-w, w), (-1, w), (-1, -w), (-w, -w)], dtype=float)


_H3 = math.sqrt(3) / 2
_POLYGONS: dict[str, np.ndarray] = {
    "square": np.array([(-0.84, -0.84), (0.84, -0.84), (0.84, 0.84), (-0.84, 0.84)]),
    # Equilateral, pointing up, centred on its centroid (so it spins in place).
    "triangle": np.array([(0.0, -4 * _H3 / 3), (1.0, 2 * _H3 / 3), (-1.0, 2 * _H3 / 3)]) * 1.04,
    # Fat points so a small star is still a star at 48x48.
    "star": _star(5, 0.5) * 1.08,
    "cross": _cross(0.36),
    # A tall rhombus, so a square turned 45 degrees is not a diamond.
    "diamond": np.array([(0.0, -1.1), (0.7, 0.0), (0.0, 1.1), (-0.7, 0.0)]),
}
_POLY_RADIUS = {k: float(np.hypot(v[:, 0], v[:, 1]).max()) for k, v in _POLYGONS.items()}
_POLY_LISTS = {k: [(float(x), float(y)) for x, y in v] for k, v in _POLYGONS.items()}
# Angle after which each shape looks the same again (degrees).
_SYMMETRY = {"square": 90.0, "triangle": 120.0, "star": 72.0, "cross": 90.0, "diamond": 180.0}
# Upright shapes in pictures are tilted by at most this many degrees.
_TILT = 10.0


def _vertices(shape: str, radius: float, angle_deg: float) -> np.ndarray:
    """The shape's polygon in pixels relative to its centre (not for circles)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    p = _POLYGONS[shape] * radius
    return np.stack([p[:, 0] * c - p[:, 1] * s, p[:, 0] * s + p[:, 1] * c], axis=1)


def _extent(shape: str, radius: float, angle_deg: float) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the shape relative to its centre, in pixels."""
    if shape == "circle":
        return -radius, radius, -radius, radius
    a = math.radians(angle_deg)
    c, s = math.cos(a) * radius, math.sin(a) * radius
    xs = [x * c - y * s for x, y in _POLY_LISTS[shape]]
    ys = [x * s + y * c for x, y in _POLY_LISTS[shape]]
    return min(xs), max(xs), min(ys), max(ys)


def _bounding_radius(shape: str, radius: float) -> float:
    if shape == "circle":
        return radius
    return _POLY_RADIUS[shape] * radius


def _coverage(shape: str, cx: float, cy: float, radius: float, angle_deg: float, size: int,
              ss: int) -> tuple[int, int, np.ndarray] | None:
    """How much of each pixel the shape covers: (x0, y0, alpha[h, w]) for the pixels of its
    bounding box inside the frame, from ss x ss samples a pixel; None if it misses the frame."""
    xmin, xmax, ymin, ymax = _extent(shape, radius, angle_deg)
    x0 = max(0, int(math.floor(cx + xmin)))
    x1 = min(size, int(math.ceil(cx + xmax)))
    y0 = max(0, int(math.floor(cy + ymin)))
    y1 = min(size, int(math.ceil(cy + ymax)))
    if x1 <= x0 or y1 <= y0:
        return None
    w, h = x1 - x0, y1 - y0
    px = x0 + (np.arange(w * ss) + 0.5) / ss - cx  # sample positions relative to the centre
    py = y0 + (np.arange(h * ss) + 0.5) / ss - cy
    X = px[None, :]
    Y = py[:, None]
    if shape == "circle":
        inside = X * X + Y * Y <= radius * radius
    else:
        v = _vertices(shape, radius, angle_deg)
        inside = np.zeros((h * ss, w * ss), dtype=bool)
        # Even-odd rule: a horizontal ray to the right crosses the boundary an odd number of times.
        for i in range(len(v)):
            xa, ya = v[i]
            xb, yb = v[(i + 1) % len(v)]
            if ya == yb:
                continue
            spans = (ya > py) != (yb > py)  # rows this edge crosses
            if not spans.any():
                continue
            xcross = xa + (py - ya) * (xb - xa) / (yb - ya)  # per row
            hit = (px[None, :] < xcross[:, None]) & spans[:, None]
            inside ^= hit
    alpha = inside.reshape(h, ss, w, ss).mean(axis=(1, 3), dtype=np.float32)
    return x0, y0, alpha


def _paint(img: np.ndarray, shape: str, colour: tuple[int, int, int], cx: float, cy: float,
           radius: float, angle_deg: float, ss: int) -> None:
    """Composites the shape onto img (float32 [H, W, 3]) in place."""
    cov = _coverage(shape, cx, cy, radius, angle_deg, img.shape[0], ss)
    if cov is None:
        return
    x0, y0, a = cov
    h, w = a.shape
    region = img[y0:y0 + h, x0:x0 + w]
    a3 = a[:, :, None]
    region *= 1.0 - a3
    region += a3 * np.asarray(colour, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Backgrounds


def _background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    name = list(BACKGROUNDS)[int(rng.integers(len(BACKGROUNDS)))]
    texture = TEXTURES[int(rng.integers(len(TEXTURES)))]
    base = np.asarray(BACKGROUNDS[name], dtype=np.float32)
    amp = TEXTURE_AMPLITUDE
    t = np.arange(size, dtype=np.float32) / max(1, size - 1)
    if texture == "plain":
        field = np.zeros((size, size), dtype=np.float32)
    elif texture == "gradient":
        ang = rng.uniform(0, 2 * math.pi)
        field = (math.cos(ang) * (t[None, :] - 0.5) + math.sin(ang) * (t[:, None] - 0.5))
        field = field * (2 * amp * rng.uniform(0.6, 1.0) / math.sqrt(2))
    elif texture == "noise":
        field = rng.normal(0.0, amp * 0.3, size=(size, size)).astype(np.float32)
        field = np.clip(field, -amp, amp)
    elif texture == "stripes":
        period = rng.uniform(5.0, 10.0) * size / IMAGE_SIZE
        ang = rng.choice([0.0, 0.5 * math.pi, 0.25 * math.pi, 0.75 * math.pi])
        u = np.arange(size, dtype=np.float32)
        proj = math.cos(ang) * u[None, :] + math.sin(ang) * u[:, None]
        field = np.sin(2 * math.pi * proj / period + rng.uniform(0, 2 * math.pi))
        field = field.astype(np.float32) * (amp * rng.uniform(0.4, 0.7))
    else:  # checks
        cell = max(1, round(int(rng.integers(6, 13)) * size / IMAGE_SIZE))
        u = np.arange(size)
        field = (((u[None, :] // cell) + (u[:, None] // cell)) % 2).astype(np.float32)
        field = (field - 0.5) * (amp * rng.uniform(0.6, 1.0))
    img = np.empty((size, size, 3), dtype=np.float32)
    img[:] = base
    img += field[:, :, None]
    label = name if texture == "plain" else f"{name} {texture}"
    return img, label


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Pictures


def _where(x: float, y: float) -> str:
    col = 0 if x < 0.4 else (2 if x > 0.6 else 1)
    row = 0 if y < 0.4 else (2 if y > 0.6 else 1)
    if row == 1 and col == 1:
        return "centre"
    return " ".join(w for w in (_ROW_WORDS[row], _COL_WORDS[col]) if w)


def _cell(obj: dict) -> tuple[int, int]:
    """(row, column) 0..2 of an object's centre, the grid behind its "where"."""
    x, y = obj["x"], obj["y"]
    return (0 if y < 0.4 else (2 if y > 0.6 else 1)), (0 if x < 0.4 else (2 if x > 0.6 else 1))


def _separated(a: dict, b: dict, gap: float = 1.5) -> bool:
    """True if two placed objects (pixel centres, extents) cannot touch."""
    if (a["_cx"] + a["_ext"][1] + gap <= b["_cx"] + b["_ext"][0]
            or b["_cx"] + b["_ext"][1] + gap <= a["_cx"] + a["_ext"][0]
            or a["_cy"] + a["_ext"][3] + gap <= b["_cy"] + b["_ext"][2]
            or b["_cy"] + b["_ext"][3] + gap <= a["_cy"] + a["_ext"][2]):
        return True
    d = math.hypot(a["_cx"] - b["_cx"], a["_cy"] - b["_cy"])
    return d >= a["_br"] + b["_br"] + gap


def _pick_pairs(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """n distinct (shape, colour) pairs."""
    names = list(COLOURS)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        p = (SHAPES[int(rng.integers(len(SHAPES)))], names[int(rng.integers(len(names)))])
        if p not in pairs:
            pairs.append(p)
    return pairs


class _Uniforms:
    """Uniform draws from rng taken a block at a time (one Generator call per block instead of
    one per number; the sequence is still fixed by the rng)."""

    def __init__(self, rng: np.random.Generator, block: int = 256):
        self._rng, self._block, self._buf, self._i = rng, block, [], 0

    def __call__(self, lo: float = 0.0, hi: float = 1.0) -> float:
        if self._i == len(self._buf):
            self._buf, self._i = self._rng.random(self._block).tolist(), 0
        u = self._buf[self._i]
        self._i += 1
        return lo + (hi - lo) * u


def _place(rng: np.random.Generator, n: int, size: int) -> list[dict]:
    """n objects (distinct colour + shape pairs) in distinct cells of the 3x3 grid, inside the
    frame, not touching."""
    large_max = {1: LARGE_PX[1], 2: 26.0}.get(n, 24.0)
    # Crowded frames reject large objects more often; ask for them more often to balance.
    p_large = {1: 0.5, 2: 0.65}.get(n, 0.8)
    pairs = _pick_pairs(rng, n)
    uni = _Uniforms(rng)
    for _ in range(1000):
        cells = rng.choice(9, size=n, replace=False)
        objs: list[dict] = []
        for (shape, colour), cell in zip(pairs, cells):
            row, col = divmod(int(cell), 3)
            for _ in range(8):
                large = uni() < p_large
                diam = uni(LARGE_PX[0], large_max) if large else uni(*SMALL_PX)
                radius = diam / 2
                angle = 0.0 if shape == "circle" else uni(-_TILT, _TILT)
                ext = _extent(shape, radius, angle)
                lo_x = max(_BANDS[col][0] * size, 1.0 - ext[0])
                hi_x = min(_BANDS[col][1] * size, size - 1.0 - ext[1])
                lo_y = max(_BANDS[row][0] * size, 1.0 - ext[2])
                hi_y = min(_BANDS[row][1] * size, size - 1.0 - ext[3])
                if lo_x > hi_x or lo_y > hi_y:
                    continue
                obj = {"_cx": uni(lo_x, hi_x), "_cy": uni(lo_y, hi_y), "_ext": ext,
                       "_br": _bounding_radius(shape, radius)}
                if all(_separated(obj, o) for o in objs):
                    x, y = obj["_cx"] / size, obj["_cy"] / size
                    obj.update({"shape": shape, "colour": colour,
                                "size": "large" if large else "small", "x": x, "y": y,
                                "where": _where(x, y), "px": diam, "angle": angle})
                    objs.append(obj)
                    break
            else:
                break
        if len(objs) == n:
            return objs
    raise RuntimeError(f"could not place {n} objects in a {size}x{size} frame")


def reading_order(objects: list[dict]) -> list[dict]:
    """Objects top to bottom, then left to right (by grid cell, then by position)."""
    return sorted(objects, key=lambda o: (_cell(o), o["y"], o["x"]))


def render_scene(rng: np.random.Generator, n_objects: int | None = None, size: int = IMAGE_SIZE,
                 supersample: int = 4) -> tuple[np.ndarray, dict]:
    """1-3 shapes (distinct colour+shape pairs, non-overlapping, inside the frame) on a plain or
    textured background. Returns (uint8 [size, size, 3] RGB, scene) where scene =
    {"objects": [{"shape", "colour", "size": "small"|"large", "x", "y" (centre, 0..1, y down),
    "where", "px" (diameter in pixels of an IMAGE_SIZE frame), "angle" (degrees)}] in reading
    order, "background": str}. Any size draws the same scene scaled; supersample is the
    anti-aliasing (samples a pixel along each axis)."""
    if n_objects is not None and not 1 <= n_objects <= 3:
        raise ValueError(f"render_scene: n_objects must be 1..3, got {n_objects}")
    img, background = _background(rng, size)
    if n_objects is None:
        n_objects = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
    scale = size / IMAGE_SIZE
    objs = _place(rng, n_objects, IMAGE_SIZE)
    for o in objs:
        _paint(img, o["shape"], COLOURS[o["colour"]], o["_cx"] * scale, o["_cy"] * scale,
               o["px"] / 2 * scale, o["angle"], supersample)
    objects = [{k: v for k, v in o.items() if not k.startswith("_")} for o in reading_order(objs)]
    return _to_uint8(img), {"objects": objects, "background": background}


# --------------------------------------------------------------------------------------------
# Words


def _where_phrase(where: str) -> str:
    """"at the top left", "on the left", "in the centre"."""
    if where == "centre":
        return "in the centre"
    if where in ("left", "right"):
        return f"on the {where}"
    return f"at the {where}"


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def scene_caption(scene: dict) -> str:
    """The canonical caption: "A large red circle at the top left and a small blue star in the
    centre." (objects in reading order)."""
    parts = [f"a {o['size']} {o['colour']} {o['shape']} {_where_phrase(o['where'])}"
             for o in reading_order(scene["objects"])]
    return _cap(_join(parts)) + "."


def _plural(n: int, word: str) -> str:
    return f"{NUMBER_WORDS[n]} {word}{'' if n == 1 else 's'}"


def _name(o: dict) -> str:
    return f"{o['colour']} {o['shape']}"


def scene_turns(rng: np.random.Generator, scene: dict) -> list[tuple[str, str]]:
    """(question, answer) pairs about a scene: first a caption turn, then 0-2 question turns.
    Answers follow from the scene alone; the rng picks the questions."""
    objs = reading_order(scene["objects"])
    turns = [(CAPTION_QUESTIONS[int(rng.integers(len(CAPTION_QUESTIONS)))], scene_caption(scene))]
    shapes = [o["shape"] for o in objs]
    colours = [o["colour"] for o in objs]

    def ref(o: dict) -> str:  # the shortest unambiguous name
        return o["shape"] if shapes.count(o["shape"]) == 1 else _name(o)

    def colour_q() -> tuple[str, str] | None:
        cands = [o for o in objs if shapes.count(o["shape"]) == 1]
        if not cands:
            return None
        o = cands[int(rng.integers(len(cands)))]
        return f"What colour is the {o['shape']}?", f"The {o['shape']} is {o['colour']}."

    def shape_q() -> tuple[str, str] | None:
        cands = [o for o in objs if colours.count(o["colour"]) == 1]
        if not cands:
            return None
        o = cands[int(rng.integers(len(cands)))]
        return f"What shape is the {o['colour']} thing?", f"It is a {o['shape']}."

    def count_q() -> tuple[str, str]:
        n = len(objs)
        verb = "is" if n == 1 else "are"
        return "How many shapes are there?", f"There {verb} {_plural(n, 'shape')}."

    def relation_q() -> tuple[str, str]:
        o = objs[int(rng.integers(len(objs)))]
        r, c = _cell(o)
        rel = ("left of", "right of", "above", "below")[int(rng.integers(4))]
        test = {"left of": lambda p: _cell(p)[1] < c, "right of": lambda p: _cell(p)[1] > c,
                "above": lambda p: _cell(p)[0] < r, "below": lambda p: _cell(p)[0] > r}[rel]
        found = [p for p in objs if p is not o and test(p)]
        answer = _cap(_join([f"a {_name(p)}" for p in found])) + "." if found else "Nothing."
        return f"What is {rel} the {_name(o)}?", answer

    def exists_q() -> tuple[str, str]:
        if rng.random() < 0.5:
            o = objs[int(rng.integers(len(objs)))]
            return f"Is there a {_name(o)}?", "Yes."
        present = {(o["shape"], o["colour"]) for o in objs}
        while True:
            shape, colour = _pick_pairs(rng, 1)[0]
            if (shape, colour) not in present:
                return f"Is there a {colour} {shape}?", "No."

    def where_q() -> tuple[str, str]:
        o = objs[int(rng.integers(len(objs)))]
        return f"Where is the {ref(o)}?", _cap(_where_phrase(o["where"])) + "."

    def size_q() -> tuple[str, str]:
        o = objs[int(rng.integers(len(objs)))]
        return f"Is the {ref(o)} large or small?", f"It is {o['size']}."

    makers = [colour_q, shape_q, count_q, relation_q, exists_q, where_q, size_q]
    n_qa = int(rng.choice([0, 1, 2], p=[0.3, 0.4, 0.3]))
    order = rng.permutation(len(makers))
    for i in order:
        if len(turns) > n_qa:
            break
        t = makers[int(i)]()
        if t is not None and all(t[0] != q for q, _ in turns):
            turns.append(t)
    return turns


# --------------------------------------------------------------------------------------------
# Clips


def _clip_path(rng: np.random.Generator, action: str, shape: str, n: int,
               size: int) -> dict:
    """Per-frame centre (pixels), radius and angle of the acting shape for one action."""
    t = np.linspace(0.0, 1.0, n)
    angle0 = 0.0 if shape == "circle" else float(rng.uniform(-_TILT, _TILT))
    angles = np.full(n, angle0)
    if action in ("grows", "shrinks"):
        d_small, d_large = rng.uniform(12.0, 15.0), rng.uniform(24.0, 28.0)
        diam = d_small + (d_large - d_small) * t
        if action == "shrinks":
            diam = diam[::-1]
    elif action.startswith("moves"):  # small enough to travel at least a third of the frame
        diam = np.full(n, rng.uniform(*SMALL_PX) if rng.random() < 0.5
                       else rng.uniform(LARGE_PX[0], 23.0))
    else:
        diam = np.full(n, rng.uniform(*SMALL_PX) if rng.random() < 0.5
                       else rng.uniform(LARGE_PX[0], 26.0))
    radius = diam / 2
    if action == "spins":
        step = _SYMMETRY[shape] * rng.uniform(0.18, 0.32) * (1 if rng.random() < 0.5 else -1)
        angles = angle0 + step * np.arange(n)
    # The largest extent over the clip (a spinning shape may point any way).
    rmax = float(radius.max())
    if action == "spins":
        br = _bounding_radius(shape, rmax)
        ext = (-br, br, -br, br)
    else:
        ext = _extent(shape, rmax, angle0)
    lo = (1.0 - ext[0], 1.0 - ext[2])
    hi = (size - 1.0 - ext[1], size - 1.0 - ext[3])
    cx = np.full(n, rng.uniform(lo[0], hi[0]))
    cy = np.full(n, rng.uniform(lo[1], hi[1]))
    if action.startswith("moves"):
        axis = 0 if action in ("moves left", "moves right") else 1
        room = hi[axis] - lo[axis]
        if room < 0.35 * size:
            raise AssertionError(f"a {shape} of {2 * rmax:.1f} px has no room to move")
        dist = rng.uniform(0.35 * size, max(0.35 * size, min(0.6 * size, room)))
        start = rng.uniform(lo[axis], hi[axis] - dist)
        path = start + dist * t
        if action in ("moves left", "moves up"):
            path = path[::-1]
        if axis == 0:
            cx = path
        else:
            cy = path
    return {"cx": cx, "cy": cy, "radius": radius, "angle": angles, "ext": ext}


def render_clip(rng: np.random.Generator, n_frames: int | None = None,
                size: int = IMAGE_SIZE, supersample: int = 4,
                action_p: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """A clip of one shape doing one thing over n_frames frames (4..8 when None), sometimes with
    a second, static shape. Returns (uint8 [F, size, size, 3], event) with event = {"shape",
    "colour", "colour_to" (the colour at the end; differs only for "changes colour"), "size"
    ("small"|"large", at the start), "action" (one of ACTIONS), "frames", "change_frame" (first
    frame in colour_to, or None), "x", "y", "x_end", "y_end" (centre, 0..1), "px", "px_end"
    (diameter), "angle", "angle_end" (degrees), "others" (the static shapes, as in a scene),
    "background"}. action_p: the probability of each of ACTIONS (default: all alike)."""
    if n_frames is None:
        n_frames = int(rng.integers(CLIP_FRAMES[0], CLIP_FRAMES[1] + 1))
    if n_frames < 2:
        raise ValueError(f"render_clip: n_frames must be >= 2, got {n_frames}")
    if action_p is None:
        action = ACTIONS[int(rng.integers(len(ACTIONS)))]
    else:
        action = ACTIONS[int(rng.choice(len(ACTIONS), p=action_p))]
    shapes = [s for s in SHAPES if s != "circle"] if action == "spins" else SHAPES
    shape = shapes[int(rng.integers(len(shapes)))]
    names = list(COLOURS)
    colour = names[int(rng.integers(len(names)))]
    colour_to = colour
    change_frame = None
    if action == "changes colour":
        others = [c for c in names if c != colour]
        colour_to = others[int(rng.integers(len(others)))]
        change_frame = int(rng.integers(1, n_frames)) if n_frames < 4 else \
            int(rng.integers(2, n_frames - 1))
    scale = size / IMAGE_SIZE
    bg, background = _background(rng, size)
    p = _clip_path(rng, action, shape, n_frames, IMAGE_SIZE)

    others_out: list[dict] = []
    if action != "stays still" and rng.random() < 0.25:
        # A static second shape, different in shape and in colour, clear of the whole path.
        xs, ys = p["cx"], p["cy"]
        sweep = {"_cx": float((xs.min() + xs.max()) / 2), "_cy": float((ys.min() + ys.max()) / 2),
                 "_ext": (float(xs.min() - xs.max()) / 2 + p["ext"][0],
                          float(xs.max() - xs.min()) / 2 + p["ext"][1],
                          float(ys.min() - ys.max()) / 2 + p["ext"][2],
                          float(ys.max() - ys.min()) / 2 + p["ext"][3]),
                 "_br": 1e9}
        for _ in range(50):
            s2 = SHAPES[int(rng.integers(len(SHAPES)))]
            c2 = names[int(rng.integers(len(names)))]
            if s2 == shape or c2 in (colour, colour_to):
                continue
            diam = rng.uniform(*SMALL_PX)
            a2 = 0.0 if s2 == "circle" else float(rng.uniform(-_TILT, _TILT))
            ext = _extent(s2, diam / 2, a2)
            cx = rng.uniform(1.0 - ext[0], IMAGE_SIZE - 1.0 - ext[1])
            cy = rng.uniform(1.0 - ext[2], IMAGE_SIZE - 1.0 - ext[3])
            o = {"_cx": cx, "_cy": cy, "_ext": ext, "_br": _bounding_radius(s2, diam / 2)}
            if _separated(o, sweep, gap=2.0):
                x, y = cx / IMAGE_SIZE, cy / IMAGE_SIZE
                others_out.append({"shape": s2, "colour": c2, "size": "small", "x": x, "y": y,
                                   "where": _where(x, y), "px": float(diam), "angle": a2})
                _paint(bg, s2, COLOURS[c2], cx * scale, cy * scale, diam / 2 * scale, a2,
                       supersample)
                break

    frames = np.empty((n_frames, size, size, 3), dtype=np.uint8)
    for f in range(n_frames):
        img = bg.copy()
        c = colour_to if change_frame is not None and f >= change_frame else colour
        _paint(img, shape, COLOURS[c], p["cx"][f] * scale, p["cy"][f] * scale,
               p["radius"][f] * scale, float(p["angle"][f]), supersample)
        frames[f] = _to_uint8(img)
    event = {
        "shape": shape, "colour": colour, "colour_to": colour_to,
        "size": "small" if 2 * p["radius"][0] <= 18.0 else "large",
        "action": action, "frames": n_frames, "change_frame": change_frame,
        "x": float(p["cx"][0] / IMAGE_SIZE), "y": float(p["cy"][0] / IMAGE_SIZE),
        "x_end": float(p["cx"][-1] / IMAGE_SIZE), "y_end": float(p["cy"][-1] / IMAGE_SIZE),
        "px": float(2 * p["radius"][0]), "px_end": float(2 * p["radius"][-1]),
        "angle": float(p["angle"][0]), "angle_end": float(p["angle"][-1]),
        "others": others_out, "background": background,
    }
    return frames, event


_MOVE_WORDS = {"moves left": "to the left", "moves right": "to the right", "moves up": "up",
               "moves down": "down"}


def action_weights(spec: str) -> np.ndarray | None:
    """"spins=3,changes colour=2" → the probabilities of ACTIONS (unnamed ones weigh 1);
    "" → None (all alike)."""
    if not spec:
        return None
    w = dict.fromkeys(ACTIONS, 1.0)
    for part in spec.split(","):
        name, eq, value = part.partition("=")
        name = name.strip()
        if name not in w or not eq:
            raise ValueError(f"action weights: {part!r} is not ACTION=WEIGHT with ACTION one of "
                             f"{', '.join(ACTIONS)}")
        try:
            w[name] = float(value)
        except ValueError:
            raise ValueError(f"action weights: {value!r} (for {name!r}) is not a number") from None
        if not w[name] >= 0:
            raise ValueError(f"action weights: the weight of {name!r} must be >= 0")
    p = np.array([w[a] for a in ACTIONS])
    if p.sum() <= 0:
        raise ValueError("action weights: every weight is 0")
    return p / p.sum()


def clip_caption(event: dict) -> str:
    """"A green triangle moves to the left." / "A red square turns blue." / "A small blue star
    grows." / "A yellow cross spins." / "A blue circle stays still."."""
    a, name = event["action"], f"{event['colour']} {event['shape']}"
    if a in _MOVE_WORDS:
        return f"A {name} moves {_MOVE_WORDS[a]}."
    if a == "changes colour":
        return f"A {name} turns {event['colour_to']}."
    if a in ("grows", "shrinks"):
        return f"A {event['size']} {name} {a}."
    return f"A {name} {a}."


def clip_turns(rng: np.random.Generator, event: dict) -> list[tuple[str, str]]:
    """A caption turn, then 0-1 question turns about the acting shape."""
    turns = [(CLIP_QUESTIONS[int(rng.integers(len(CLIP_QUESTIONS)))], clip_caption(event))]
    if rng.random() < 0.4:
        return turns
    a, s = event["action"], event["shape"]
    does = {"changes colour": f"It turns {event['colour_to']}.",
            "stays still": "It stays still.", "spins": "It spins.", "grows": "It grows.",
            "shrinks": "It shrinks."}
    qs: list[tuple[str, str]] = [
        (f"What does the {s} do?", does.get(a) or f"It moves {_MOVE_WORDS.get(a, '')}."),
        (f"Does the {s} move?", ("Yes, " + _MOVE_WORDS[a] + ".") if a in _MOVE_WORDS else "No."),
    ]
    if a in _MOVE_WORDS:
        qs.append((f"Which way does the {s} move?", _cap(_MOVE_WORDS[a]) + "."))
    if a == "changes colour":
        qs.append((f"What colour is the {s} at the end?", f"It is {event['colour_to']}."))
        qs.append((f"What colour is the {s} at the start?", f"It is {event['colour']}."))
    else:
        qs.append((f"What colour is the {s}?", f"The {s} is {event['colour']}."))
    if a in ("grows", "shrinks"):
        qs.append((f"Does the {s} get bigger or smaller?",
                   "Bigger." if a == "grows" else "Smaller."))
    if event["others"] or rng.random() < 0.5:
        moving = "moves" if a in _MOVE_WORDS else {"changes colour": "changes colour",
                                                    "stays still": "is there",
                                                    "spins": "spins", "grows": "grows",
                                                    "shrinks": "shrinks"}[a]
        qs.append((f"What shape {moving}?", f"A {s}."))
    turns.append(qs[int(rng.integers(len(qs)))])
    return turns


# --------------------------------------------------------------------------------------------
# Checking answers


_COLOUR_WORDS = {**{c: c for c in COLOURS}, "violet": "purple"}
_SHAPE_WORDS = {**{s: s for s in SHAPES}, **{s + "s": s for s in SHAPES}, "crosses": "cross",
                "disc": "circle", "discs": "circle", "plus": "cross", "rhombus": "diamond"}


def _words(text: str) -> list[str]:
    text = text.lower().replace("colored", "coloured").replace("color", "colour")
    return re.findall(r"[a-z]+", text)


def _mentions(words: list[str]) -> list[tuple[str | None, str]]:
    """(colour or None, shape) for each shape word, with the last colour word since the
    previous shape word."""
    out: list[tuple[str | None, str]] = []
    colour: str | None = None
    for w in words:
        if w in _COLOUR_WORDS:
            colour = _COLOUR_WORDS[w]
        elif w in _SHAPE_WORDS:
            out.append((colour, _SHAPE_WORDS[w]))
            colour = None
    return out


def caption_correct(answer: str, scene: dict) -> bool:
    """True if the answer names exactly the scene's objects, each with its colour and shape
    (in any order, any wording; positions and sizes are not judged)."""
    got = sorted(_mentions(_words(answer)), key=lambda m: (m[0] or "", m[1]))
    want = sorted(((o["colour"], o["shape"]) for o in scene["objects"]))
    return got == want


_ACTION_PATTERNS = [
    ("moves left", r"\bleft(wards?)?\b"),
    ("moves right", r"\bright(wards?)?\b"),
    ("moves up", r"\b(up|upwards?|rises|rising|climbs)\b"),
    ("moves down", r"\b(down|downwards?|falls|falling|drops|sinks)\b"),
    ("grows", r"\b(grows?|growing|bigger|larger|expands?|expanding|enlarges?)\b"),
    ("shrinks", r"\b(shrinks?|shrinking|smaller|contracts?)\b"),
    ("spins", r"\b(spins?|spinning|rotates?|rotating|twirls?|turns? (a)?round)\b"),
    ("stays still", r"\b(still|stationary|motionless|does not move|doesnt move|not moving)\b"),
    ("changes colour", r"\b(turns?|turning|becomes?|becoming|changes?|changing)\b"),
]


def clip_correct(answer: str, event: dict) -> bool:
    """True if the answer names the acting shape with its (starting) colour and exactly one
    action, the event's (with the colour it turns for a colour change)."""
    return _judge_clip(answer, event, subject=True)


def clip_action_correct(answer: str, event: dict) -> bool:
    """True if the answer says what happens, whatever shape and colour it names: exactly one
    action, the event's (with the colour it turns for a colour change)."""
    return _judge_clip(answer, event, subject=False)


def _judge_clip(answer: str, event: dict, subject: bool) -> bool:
    words = _words(answer)
    text = " ".join(words)
    m = re.search(r"\bfrom (\w+) to (\w+)\b", text)
    from_to = (_COLOUR_WORDS.get(m.group(1)), _COLOUR_WORDS.get(m.group(2))) if m else None
    mentions = _mentions(words)
    if not mentions:
        return False
    colour, shape = mentions[0]
    if colour is None and from_to and from_to[0]:
        colour = from_to[0]
    if subject and (shape != event["shape"] or colour != event["colour"]):
        return False
    # Words after the subject decide the action.
    idx = next(i for i, w in enumerate(words) if w in _SHAPE_WORDS)
    rest = " ".join(words[idx + 1:])
    found = {a for a, pat in _ACTION_PATTERNS if re.search(pat, rest)}
    if "spins" in found:
        found.discard("changes colour")  # "turns around"
    if "changes colour" in found:
        after = [_COLOUR_WORDS[w] for w in words[idx + 1:] if w in _COLOUR_WORDS]
        to = from_to[1] if from_to and from_to[1] else (after[-1] if after else None)
        if to is None:
            found.discard("changes colour")
        elif event["action"] == "changes colour" and to != event["colour_to"]:
            return False
    return found == {event["action"]}


# --------------------------------------------------------------------------------------------
# King James Bible

# The `bible` program's book abbreviations in canonical order, with canonical names.
KJV_BOOKS: tuple[tuple[str, str], ...] = (
    ("Ge", "Genesis"), ("Exo", "Exodus"), ("Lev", "Leviticus"), ("Num", "Numbers"),
    ("Deu", "Deuteronomy"), ("Josh", "Joshua"), ("Jdgs", "Judges"), ("Ruth", "Ruth"),
    ("1Sm", "1 Samuel"), ("2Sm", "2 Samuel"), ("1Ki", "1 Kings"), ("2Ki", "2 Kings"),
    ("1Chr", "1 Chronicles"), ("2Chr", "2 Chronicles"), ("Ezra", "Ezra"), ("Neh", "Nehemiah"),
    ("Est", "Esther"), ("Job", "Job"), ("Psa", "Psalms"), ("Prv", "Proverbs"),
    ("Eccl", "Ecclesiastes"), ("SSol", "Song of Solomon"), ("Isa", "Isaiah"),
    ("Jer", "Jeremiah"), ("Lam", "Lamentations"), ("Eze", "Ezekiel"), ("Dan", "Daniel"),
    ("Hos", "Hosea"), ("Joel", "Joel"), ("Amos", "Amos"), ("Obad", "Obadiah"),
    ("Jonah", "Jonah"), ("Mic", "Micah"), ("Nahum", "Nahum"), ("Hab", "Habakkuk"),
    ("Zep", "Zephaniah"), ("Hag", "Haggai"), ("Zec", "Zechariah"), ("Mal", "Malachi"),
    ("Mat", "Matthew"), ("Mark", "Mark"), ("Luke", "Luke"), ("John", "John"), ("Acts", "Acts"),
    ("Rom", "Romans"), ("1Cor", "1 Corinthians"), ("2Cor", "2 Corinthians"),
    ("Gal", "Galatians"), ("Eph", "Ephesians"), ("Phi", "Philippians"), ("Col", "Colossians"),
    ("1Th", "1 Thessalonians"), ("2Th", "2 Thessalonians"), ("1Tim", "1 Timothy"),
    ("2Tim", "2 Timothy"), ("Titus", "Titus"), ("Phmn", "Philemon"), ("Heb", "Hebrews"),
    ("Jas", "James"), ("1Pet", "1 Peter"), ("2Pet", "2 Peter"), ("1Jn", "1 John"),
    ("2Jn", "2 John"), ("3Jn", "3 John"), ("Jude", "Jude"), ("Rev", "Revelation"),
)
KJV_VERSE_COUNT = 31102

# Whole books kept out of training for evaluation: law-era narrative, prophecy, epistles
# (about 1% of the verses).
HELD_OUT_BOOKS = ("Ruth", "Jonah", "Obadiah", "Haggai", "Titus", "Philemon", "2 John", "3 John",
                  "Jude")

_VERSE_LINE = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")


def kjv_verses(bible: str = "bible") -> list[tuple[str, int, int, str]]:
    """Every verse of the King James Bible as (book, chapter, verse, text), in order, with
    canonical book names ("Genesis" ... "Revelation"). One run of Debian's `bible` over the
    whole range with pretty-printing off (-f toggles it), one verse a line; a fraction of a
    second, so nothing is cached."""
    exe = shutil.which(bible)
    if exe is None:
        raise RuntimeError(f"kjv_verses: the `{bible}` program was not found "
                           "(install Debian's bible-kjv)")
    proc = subprocess.run([exe, "-f", "Gen1:1-Rev22:21"], stdin=subprocess.DEVNULL,
                          capture_output=True, env={"PATH": "/usr/bin:/bin"}, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"kjv_verses: `{exe} -f Gen1:1-Rev22:21` failed with status "
                           f"{proc.returncode}: {proc.stderr.decode(errors='replace').strip()}")
    names = dict(KJV_BOOKS)
    out: list[tuple[str, int, int, str]] = []
    for n, line in enumerate(proc.stdout.decode("ascii").splitlines(), 1):
        m = _VERSE_LINE.match(line)
        if not m or m.group(1) not in names:
            raise RuntimeError(f"kjv_verses: output line {n} of `{exe}` is not a verse: "
                               f"{line[:80]!r}")
        text = " ".join(m.group(4).split())
        out.append((names[m.group(1)], int(m.group(2)), int(m.group(3)), text))
    books = list(dict.fromkeys(b for b, _, _, _ in out))
    if len(out) != KJV_VERSE_COUNT or books != [b for _, b in KJV_BOOKS]:
        raise RuntimeError(f"kjv_verses: `{exe}` gave {len(out)} verses in {len(books)} books; "
                           f"expected {KJV_VERSE_COUNT} in {len(KJV_BOOKS)}")
    return out


def split_verses(verses: list[tuple[str, int, int, str]]):
    """(training verses, held-out verses): the held-out ones are the HELD_OUT_BOOKS."""
    held = set(HELD_OUT_BOOKS)
    return [v for v in verses if v[0] not in held], [v for v in verses if v[0] in held]


# --------------------------------------------------------------------------------------------
# Files


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of a uint8 [H, W, 3] array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"png_bytes: expected [H, W, 3], got {rgb.shape}")
    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # filter byte 0 (None) a row
    raw[:, 1:] = rgb.reshape(h, 3 * w)
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
            + _png_chunk(b"IEND", b""))


def write_png(path, rgb: np.ndarray) -> None:
    """Writes a uint8 [H, W, 3] array as a PNG (stdlib zlib; no dependencies)."""
    Path(path).write_bytes(png_bytes(rgb))


def write_video(path, frames: np.ndarray, fps: int = 1, upscale: int = 4) -> None:
    """Writes uint8 [F, H, W, 3] frames as an H.264 MP4 (yuv420p) at `fps` frames a second,
    each frame upscaled `upscale` times (nearest) so the file is viewable: frame i is shown
    from i/fps seconds, so the engine's default 1-fps sampler takes the frames back."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[3] != 3 or len(frames) == 0:
        raise ValueError(f"write_video: expected [F, H, W, 3], got {frames.shape}")
    if upscale > 1:
        frames = frames.repeat(upscale, axis=1).repeat(upscale, axis=2)
    _, h, w, _ = frames.shape
    if h % 2 or w % 2:
        raise ValueError(f"write_video: yuv420p needs even sizes, got {w}x{h}")
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("write_video: ffmpeg not found")
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt",
           "rgb24", "-s", f"{w}x{h}", "-framerate", str(fps), "-i", "-", "-c:v", "libx264",
           "-preset", "medium", "-crf", "12", "-bf", "0", "-pix_fmt", "yuv420p", "-r", str(fps),
           "-movflags", "+faststart", str(path)]
    proc = subprocess.run(cmd, input=frames.tobytes(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"write_video: ffmpeg failed writing {path}: "
                           f"{proc.stderr.decode(errors='replace').strip()}")


# --------------------------------------------------------------------------------------------
# Contact sheet


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def _annotate(png: Path, labels: list[tuple[int, int, str]], out: Path, font_px: int) -> bool:
    """Draws text (x, y, text) onto a PNG with ffmpeg's drawtext; False if that is unavailable."""
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    exe = shutil.which("ffmpeg")
    if exe is None or not font.exists():
        return False
    with tempfile.TemporaryDirectory() as tmp:
        filters = []
        for i, (x, y, text) in enumerate(labels):
            tf = Path(tmp) / f"{i}.txt"
            tf.write_text(text)
            filters.append(f"drawtext=fontfile={font}:textfile={tf}:x={x}:y={y}:"
                           f"fontsize={font_px}:fontcolor=black:line_spacing=2")
        script = Path(tmp) / "filters.txt"
        script.write_text(",".join(filters))
        proc = subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-y", "-i", str(png),
                               "-filter_script:v", str(script), "-frames:v", "1", str(out)],
                              capture_output=True, check=False)
    return proc.returncode == 0


def write_samples(outdir, seed: int = 0, n_scenes: int = 24, n_clips: int = 4) -> None:
    """A contact sheet of generated pictures and clips with their turns, for a person to look at."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    up, cols, text_h, font_px, wrap = 5, 4, 96, 12, 38
    tile = IMAGE_SIZE * up
    rows = (n_scenes + cols - 1) // cols
    sheet = np.full((rows * (tile + text_h), cols * (tile + 8), 3), 255, dtype=np.uint8)
    labels: list[tuple[int, int, str]] = []
    report: list[str] = []
    for i in range(n_scenes):
        img, scene = render_scene(rng)
        turns = scene_turns(rng, scene)
        write_png(out / f"scene_{i:02d}.png", img)
        r, c = divmod(i, cols)
        y0, x0 = r * (tile + text_h), c * (tile + 8)
        sheet[y0:y0 + tile, x0:x0 + tile] = img.repeat(up, axis=0).repeat(up, axis=1)
        labels.append((x0 + 2, y0 + tile + 3,
                       "\n".join(_wrap(f"{i}: " + turns[0][1], wrap)
                                 + _wrap(f"[{scene['background']}]", wrap))))
        report.append(f"scene {i:02d} ({scene['background']}):")
        report += [f"  Q: {q}\n  A: {a}" for q, a in turns]
    raw = out / "sheet_raw.png"
    write_png(raw, sheet)
    if _annotate(raw, labels, out / "sheet.png", font_px):
        raw.unlink()
    else:
        raw.rename(out / "sheet.png")

    clip_up = 4
    clip_tiles: list[np.ndarray] = []
    clip_labels: list[str] = []
    for i in range(n_clips):
        frames, event = render_clip(rng)
        turns = clip_turns(rng, event)
        write_video(out / f"clip_{i}.mp4", frames)
        big = frames.repeat(clip_up, axis=1).repeat(clip_up, axis=2)
        row = np.full((tile, 8 * (IMAGE_SIZE * clip_up + 4), 3), 255, dtype=np.uint8)
        for f in range(len(frames)):
            x0 = f * (IMAGE_SIZE * clip_up + 4)
            row[:IMAGE_SIZE * clip_up, x0:x0 + IMAGE_SIZE * clip_up] = big[f]
        clip_tiles.append(row)
        clip_labels.append(f"clip {i}: {turns[0][1]}  [{event['action']}, "
                           f"{len(frames)} frames, {event['background']}]")
        report.append(f"clip {i} ({event['action']}, {len(frames)} frames, "
                      f"{event['background']}):")
        report += [f"  Q: {q}\n  A: {a}" for q, a in turns]
    band = 30
    strip = np.full((n_clips * (IMAGE_SIZE * clip_up + band), clip_tiles[0].shape[1], 3), 255,
                    dtype=np.uint8)
    clabels: list[tuple[int, int, str]] = []
    for i, row in enumerate(clip_tiles):
        y0 = i * (IMAGE_SIZE * clip_up + band)
        strip[y0 + band:y0 + band + IMAGE_SIZE * clip_up] = row[:IMAGE_SIZE * clip_up]
        clabels.append((4, y0 + 8, clip_labels[i]))
    raw = out / "clips_raw.png"
    write_png(raw, strip)
    if _annotate(raw, clabels, out / "clips.png", 16):
        raw.unlink()
    else:
        raw.rename(out / "clips.png")
    (out / "samples.txt").write_text("\n".join(report) + "\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", metavar="OUTDIR", help="write a contact sheet into OUTDIR")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not args.samples:
        ap.print_help()
        return 2
    write_samples(args.samples, seed=args.seed)
    print(f"wrote {args.samples}/sheet.png, clips.png, samples.txt, scene_*.png, clip_*.mp4")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
