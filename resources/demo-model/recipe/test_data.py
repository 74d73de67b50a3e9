#!/usr/bin/python3
"""Checks of the demo model's data generator (data.py): plain asserts, a few seconds.

Run: /usr/bin/python3 resources/demo-model/recipe/test_data.py  (exit 0 when every check passes;
needs numpy, the ffmpeg and ffprobe programs, and Debian's bible-kjv).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data  # noqa: E402

SIZE = data.IMAGE_SIZE


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def colour_mask(img: np.ndarray, colour: str, tol: float = 40.0) -> np.ndarray:
    """Pixels within `tol` (RGB distance) of a named colour."""
    d = img.astype(np.float32) - np.asarray(data.COLOURS[colour], dtype=np.float32)
    return np.sqrt((d * d).sum(axis=-1)) < tol


def centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    assert len(xs) > 0, "no pixels of the colour"
    return float(xs.mean()), float(ys.mean())


def object_alpha(o: dict, size: int = SIZE) -> np.ndarray:
    """The coverage of one object from the scene's description, as a full [size, size] array."""
    out = np.zeros((size, size), dtype=np.float32)
    cov = data._coverage(o["shape"], o["x"] * size, o["y"] * size, o["px"] / 2, o["angle"], size,
                         4)
    assert cov is not None
    x0, y0, a = cov
    out[y0:y0 + a.shape[0], x0:x0 + a.shape[1]] = a
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.minimum(a, b).sum() / np.maximum(a, b).sum())


# --------------------------------------------------------------------------------------------


def test_determinism():
    for seed in (0, 1, 7):
        a_img, a_scene = data.render_scene(rng(seed))
        b_img, b_scene = data.render_scene(rng(seed))
        assert np.array_equal(a_img, b_img) and a_scene == b_scene, f"scene seed {seed}"
        assert data.scene_turns(rng(seed), a_scene) == data.scene_turns(rng(seed), b_scene)
        a_fr, a_ev = data.render_clip(rng(seed))
        b_fr, b_ev = data.render_clip(rng(seed))
        assert np.array_equal(a_fr, b_fr) and a_ev == b_ev, f"clip seed {seed}"
        assert data.clip_turns(rng(seed), a_ev) == data.clip_turns(rng(seed), b_ev)
    imgs = [data.render_scene(rng(s))[0] for s in range(5)]
    assert all(not np.array_equal(imgs[0], im) for im in imgs[1:]), "seeds give the same picture"


def test_scenes_valid():
    counts = {1: 0, 2: 0, 3: 0}
    wheres = set()
    sizes = {"small": 0, "large": 0}
    for seed in range(300):
        r = rng(seed)
        img, scene = data.render_scene(r)
        assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
        objs = scene["objects"]
        counts[len(objs)] += 1
        pairs = [(o["shape"], o["colour"]) for o in objs]
        assert len(set(pairs)) == len(pairs), f"seed {seed}: repeated colour+shape {pairs}"
        cells = [data._cell(o) for o in objs]
        assert len(set(cells)) == len(cells), f"seed {seed}: two objects in one place"
        assert objs == data.reading_order(objs), f"seed {seed}: not in reading order"
        # Kept inside the frame: the border is exactly the background's.
        bg, name = data._background(rng(seed), SIZE)
        assert name == scene["background"]
        bg8 = data._to_uint8(bg)
        for edge in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
            assert np.array_equal(img[edge], bg8[edge]), f"seed {seed}: a shape touches the edge"
        alphas = [object_alpha(o) for o in objs]
        for i in range(len(objs)):
            o = objs[i]
            wheres.add(o["where"])
            sizes[o["size"]] += 1
            lo, hi = (data.SMALL_PX if o["size"] == "small" else data.LARGE_PX)
            assert lo <= o["px"] <= hi, f"seed {seed}: {o['size']} object of {o['px']} px"
            assert o["where"] == data._where(o["x"], o["y"])
            # Never borderline: the centre is clear of the lines between "left" and "centre"...
            for v in (o["x"], o["y"]):
                assert min(abs(v - 0.4), abs(v - 0.6)) >= 0.039, f"seed {seed}: {o} borderline"
            # The object is there in its colour: most of its fully covered pixels are its colour.
            full = alphas[i] > 0.99
            frac = colour_mask(img, o["colour"], 20.0)[full].mean()
            assert full.sum() >= 30 and frac > 0.97, f"seed {seed}: {o} barely visible ({frac})"
            for j in range(i):
                overlap = float((alphas[i] * alphas[j]).sum())
                assert overlap == 0.0, f"seed {seed}: objects {j} and {i} overlap"
    assert all(v > 30 for v in counts.values()), counts
    assert len(wheres) == 9, wheres
    assert min(sizes.values()) > 0.3 * sum(sizes.values()), sizes


def test_backgrounds_never_clash():
    worst = math.inf
    textures = set()
    for seed in range(200):
        bg, name = data._background(rng(seed), SIZE)
        textures.add(name.split()[-1])
        pix = bg.reshape(-1, 1, 3)
        cols = np.asarray(list(data.COLOURS.values()), dtype=np.float32).reshape(1, -1, 3)
        worst = min(worst, float(np.sqrt(((pix - cols) ** 2).sum(-1)).min()))
    assert worst > 80, f"a background pixel is {worst:.0f} from a shape colour"
    assert {"gradient", "noise", "stripes", "checks"} <= textures, textures
    for name in data.BACKGROUNDS:
        assert name not in data.COLOURS, f"background {name} is also a shape colour"


def test_every_shape_and_colour_renders():
    for shape in data.SHAPES:
        for colour in data.COLOURS:
            for diam in (data.SMALL_PX[0], data.LARGE_PX[1]):
                img = np.empty((SIZE, SIZE, 3), dtype=np.float32)
                img[:] = data.BACKGROUNDS["grey"]
                data._paint(img, shape, data.COLOURS[colour], 24.0, 24.0, diam / 2, 0.0, 4)
                n = int(colour_mask(data._to_uint8(img), colour, 30.0).sum())
                o = {"shape": shape, "x": 0.5, "y": 0.5, "px": diam, "angle": 0.0}
                area = float(object_alpha(o).sum())
                # Solid colour over most of the shape's area, and a shape big enough to see.
                assert n >= 0.75 * area and area >= 0.3 * diam * diam, \
                    f"{colour} {shape} of {diam} px: {n} pixels of an area of {area:.0f}"
    # Small shapes are told apart: two shapes at the same place and size differ in at least a
    # fifth of the smaller one's area (a circle and a square: the corners).
    masks = {}
    for shape in data.SHAPES:
        o = {"shape": shape, "x": 0.5, "y": 0.5, "px": data.SMALL_PX[0], "angle": 0.0}
        masks[shape] = object_alpha(o)
    for a in data.SHAPES:
        for b in data.SHAPES:
            if a < b:
                diff = float(np.abs(masks[a] - masks[b]).sum())
                least = min(masks[a].sum(), masks[b].sum())
                assert diff > 0.2 * least, f"small {a} and {b} look alike ({diff:.0f} px)"
    # A square turned 45 degrees is not the diamond.
    sq = object_alpha({"shape": "square", "x": 0.5, "y": 0.5, "px": 20.0, "angle": 45.0})
    di = object_alpha({"shape": "diamond", "x": 0.5, "y": 0.5, "px": 20.0, "angle": 0.0})
    assert iou(sq, di) < 0.8


def _scene(*objs) -> dict:
    out = []
    for shape, colour, size, x, y in objs:
        out.append({"shape": shape, "colour": colour, "size": size, "x": x, "y": y,
                    "where": data._where(x, y), "px": 14.0, "angle": 0.0})
    return {"objects": out, "background": "grey"}


def test_scene_turns():
    scene = _scene(("star", "green", "small", 0.8, 0.8), ("circle", "red", "small", 0.2, 0.2),
                   ("square", "blue", "large", 0.5, 0.5))
    caption = ("A small red circle at the top left, a large blue square in the centre and a "
               "small green star at the bottom right.")
    assert data.scene_caption(scene) == caption, data.scene_caption(scene)
    expected = {
        "What colour is the star?": "The star is green.",
        "What colour is the circle?": "The circle is red.",
        "What shape is the blue thing?": "It is a square.",
        "How many shapes are there?": "There are three shapes.",
        "What is left of the blue square?": "A red circle.",
        "What is right of the red circle?": "A blue square and a green star.",
        "What is above the red circle?": "Nothing.",
        "What is below the red circle?": "A blue square and a green star.",
        "What is left of the red circle?": "Nothing.",
        "What is above the green star?": "A red circle and a blue square.",
        "Where is the star?": "At the bottom right.",
        "Where is the square?": "In the centre.",
        "Where is the circle?": "At the top left.",
        "Is the square large or small?": "It is large.",
        "Is the star large or small?": "It is small.",
    }
    seen = set()
    n_turns = []
    for seed in range(400):
        turns = data.scene_turns(rng(seed), scene)
        n_turns.append(len(turns))
        q0, a0 = turns[0]
        assert q0 in data.CAPTION_QUESTIONS and a0 == caption
        for q, a in turns[1:]:
            assert q.isascii() and a.isascii()
            if q in expected:
                assert a == expected[q], f"{q!r}: {a!r}, expected {expected[q]!r}"
                seen.add(q)
            elif q.startswith("Is there a "):
                colour, shape = q[len("Is there a "):-1].split()
                present = (shape, colour) in {(o["shape"], o["colour"]) for o in scene["objects"]}
                assert a == ("Yes." if present else "No."), (q, a)
                seen.add("yes" if present else "no")
            else:
                assert q.startswith(("What is ", "What colour", "What shape", "Where is",
                                     "Is the ")), q
        assert len({q for q, _ in turns}) == len(turns), f"repeated question: {turns}"
    assert set(n_turns) == {1, 2, 3}, set(n_turns)
    assert len(seen) >= 12 and {"yes", "no"} <= seen, seen
    one = _scene(("triangle", "yellow", "large", 0.5, 0.2))
    assert data.scene_caption(one) == "A large yellow triangle at the top."
    two = _scene(("cross", "white", "small", 0.8, 0.5), ("cross", "black", "small", 0.2, 0.5))
    assert data.scene_caption(two) == ("A small black cross on the left and a small white cross "
                                       "on the right.")
    for seed in range(100):
        for q, a in data.scene_turns(rng(seed), two)[1:]:
            # Two crosses: they are named by colour too, never as "the cross".
            assert "the cross" not in q, q
            if q == "How many shapes are there?":
                assert a == "There are two shapes."


def test_caption_correct():
    scene = _scene(("circle", "red", "large", 0.2, 0.2), ("star", "blue", "small", 0.8, 0.8))
    good = [
        data.scene_caption(scene),
        "a large red circle at the top left and a small blue star at the bottom right",
        "A blue star and a red circle.",
        "I see a RED CIRCLE, and a blue star!",
        "There are two shapes: a red circle in the corner and a blue star.",
        "A red disc at the top left and a blue star at the bottom right.",
    ]
    bad = [
        "A red circle.",  # one missing
        "A red circle, a blue star and a green square.",  # one extra
        "A blue circle and a red star.",  # colours swapped
        "A red square and a blue star.",  # wrong shape
        "A red circle and a star.",  # colour missing
        "Nothing.",
        "",
        "A red circle, a red circle and a blue star.",
    ]
    for a in good:
        assert data.caption_correct(a, scene), f"rejected {a!r}"
    for a in bad:
        assert not data.caption_correct(a, scene), f"accepted {a!r}"
    # Every generated caption parses back to its own scene and no other.
    scenes = [data.render_scene(rng(s))[1] for s in range(200)]
    for i, s in enumerate(scenes):
        cap = data.scene_caption(s)
        assert cap.isascii()
        assert data.caption_correct(cap, s), cap
        other = scenes[(i + 1) % len(scenes)]
        same = sorted((o["colour"], o["shape"]) for o in s["objects"]) == \
            sorted((o["colour"], o["shape"]) for o in other["objects"])
        assert data.caption_correct(cap, other) == same


def test_clips_show_their_event():
    actions = {a: 0 for a in data.ACTIONS}
    with_other = 0
    for seed in range(180):
        frames, ev = data.render_clip(rng(seed))
        f = len(frames)
        assert 4 <= f <= 8 and frames.shape == (f, SIZE, SIZE, 3) and frames.dtype == np.uint8
        a = ev["action"]
        actions[a] += 1
        with_other += bool(ev["others"])
        for o in ev["others"]:
            assert o["shape"] != ev["shape"] and o["colour"] not in (ev["colour"],
                                                                      ev["colour_to"])
        masks = [colour_mask(fr, ev["colour"]) for fr in frames]
        # Nothing touches the edge: the border is the same in every frame and in no shape colour.
        border = np.concatenate([frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]],
                                axis=1)
        assert (border == border[:1]).all(), f"seed {seed}: the border changes"
        for c in {ev["colour"], ev["colour_to"], *(o["colour"] for o in ev["others"])}:
            assert not colour_mask(border, c, 60.0).any(), f"seed {seed}: {c} on the border"
        if a.startswith("moves"):
            c = np.array([centroid(m) for m in masks])
            axis, sign = {"moves left": (0, -1), "moves right": (0, 1), "moves up": (1, -1),
                          "moves down": (1, 1)}[a]
            d = sign * np.diff(c[:, axis])
            assert (d > 0.5).all(), f"seed {seed}: {a}, centroids {c[:, axis]}"
            assert sign * (c[-1, axis] - c[0, axis]) > SIZE / 3 - 1, f"seed {seed}: moved little"
            assert np.abs(c[:, 1 - axis] - c[0, 1 - axis]).max() < 1.0, f"seed {seed}: drifted"
        elif a in ("grows", "shrinks"):
            n = np.array([m.sum() for m in masks], dtype=float)
            d = np.diff(n) if a == "grows" else -np.diff(n)
            assert (d > 0).all(), f"seed {seed}: {a}, areas {n}"
            big, small = (n[-1], n[0]) if a == "grows" else (n[0], n[-1])
            assert big > 2.5 * small, f"seed {seed}: {a}, areas {n}"
        elif a == "changes colour":
            k = ev["change_frame"]
            assert 1 <= k < f
            to = [colour_mask(fr, ev["colour_to"]).sum() for fr in frames]
            frm = [m.sum() for m in masks]
            for i in range(f):
                assert (frm[i] > 30 and to[i] == 0) if i < k else (to[i] > 30 and frm[i] == 0), \
                    f"seed {seed}: frame {i} of a change at {k}: {frm} {to}"
        elif a == "spins":
            assert ev["shape"] != "circle"
            c = np.array([centroid(m) for m in masks])
            assert np.abs(c - c[0]).max() < 2.0, f"seed {seed}: a spin moved {c}"
            for i in range(1, f):
                assert iou(masks[i - 1].astype(float), masks[i].astype(float)) < 0.93, \
                    f"seed {seed}: frames {i - 1} and {i} of a spin look the same"
        else:
            assert a == "stays still", a
            assert all(np.array_equal(frames[0], fr) for fr in frames), f"seed {seed}: not still"
        if a != "changes colour":
            assert ev["colour_to"] == ev["colour"]
    assert min(actions.values()) >= 8, actions
    assert 10 <= with_other <= 90, with_other


def test_clip_turns_and_correct():
    ev = {"shape": "triangle", "colour": "green", "colour_to": "green", "size": "small",
          "action": "moves left", "others": []}
    assert data.clip_caption(ev) == "A green triangle moves to the left."
    for a in ("A green triangle moves to the left.", "the green triangle is moving left",
              "A GREEN TRIANGLE MOVES LEFTWARDS", "A small green triangle goes to the left."):
        assert data.clip_correct(a, ev), a
    for a in ("A green triangle moves to the right.", "A red triangle moves to the left.",
              "A green square moves to the left.", "A green triangle stays still.",
              "A green triangle moves left and then right.", "A triangle moves to the left.",
              "A green triangle.", ""):
        assert not data.clip_correct(a, ev), a
    ch = dict(ev, action="changes colour", colour="red", colour_to="blue", shape="square")
    assert data.clip_caption(ch) == "A red square turns blue."
    for a in ("A red square turns blue.", "The red square becomes blue",
              "A red square changes colour to blue.", "A square changes from red to blue."):
        assert data.clip_correct(a, ch), a
    for a in ("A red square turns green.", "A blue square turns red.", "A red square spins.",
              "A red square changes colour."):
        assert not data.clip_correct(a, ch), a
    gr = dict(ev, action="grows", size="small", shape="star", colour="yellow")
    assert data.clip_caption(gr) == "A small yellow star grows."
    assert data.clip_correct("The yellow star gets bigger.", gr)
    assert not data.clip_correct("A small yellow star shrinks.", gr)
    sp = dict(ev, action="spins", shape="cross", colour="black")
    assert data.clip_caption(sp) == "A black cross spins."
    assert data.clip_correct("A black cross turns around.", sp)
    assert data.clip_correct("a black cross is rotating", sp)
    assert not data.clip_correct("A black cross stays still.", sp)
    st = dict(ev, action="stays still", shape="circle", colour="blue")
    assert data.clip_caption(st) == "A blue circle stays still."
    assert data.clip_correct("The blue circle does not move.", st)
    assert not data.clip_correct("The blue circle moves up.", st)
    # Generated clips: the caption is right for its own event; QA answers are consistent.
    qs = set()
    for seed in range(300):
        _, e = data.render_clip(rng(seed))
        turns = data.clip_turns(rng(seed), e)
        assert 1 <= len(turns) <= 2
        q0, a0 = turns[0]
        assert q0 in data.CLIP_QUESTIONS and a0 == data.clip_caption(e), turns
        assert data.clip_correct(a0, e), (a0, e["action"])
        for q, a in turns:
            assert q.isascii() and a.isascii()
        for q, a in turns[1:]:
            qs.add(q.split(" the ")[0])
            if q.startswith("Which way"):
                assert e["action"].startswith("moves") and a.lower()[:-1] in (
                    "to the left", "to the right", "up", "down")
            if q.endswith("at the end?"):
                assert a == f"It is {e['colour_to']}."
            if q.startswith("Does the") and q.endswith("move?"):
                assert a.startswith("Yes") == e["action"].startswith("moves")
        for other in data.ACTIONS:
            if other != e["action"]:
                wrong = dict(e, action=other, colour_to=e["colour"] if other != "changes colour"
                             else next(c for c in data.COLOURS if c != e["colour"]
                                       and c != e["colour_to"]))
                assert not data.clip_correct(a0, wrong), (a0, other)
    assert len(qs) >= 5, qs


def test_clip_action_correct():
    """What happens, judged alone: the shape and colour named do not count, the action and a
    colour change's new colour do."""
    ev = {"shape": "triangle", "colour": "green", "colour_to": "green", "size": "small",
          "action": "moves left", "others": []}
    for a in ("A green triangle moves to the left.", "A red square moves to the left.",
              "The blue star goes left"):
        assert data.clip_action_correct(a, ev), a
    for a in ("A green triangle moves to the right.", "A green triangle stays still.",
              "A red square moves left and then right.", "It moves to the left.", ""):
        assert not data.clip_action_correct(a, ev), a
    ch = dict(ev, action="changes colour", colour="red", colour_to="blue", shape="square")
    for a in ("A red square turns blue.", "A yellow circle turns blue.",
              "A star changes from white to blue."):
        assert data.clip_action_correct(a, ch), a
    for a in ("A red square turns green.", "A red square spins.", "A red square turns red.",
              "A red square changes colour."):
        assert not data.clip_action_correct(a, ch), a
    # Strict implies action-only; a wrong subject fails only the strict judge.
    for seed in range(200):
        _, e = data.render_clip(rng(seed))
        a0 = data.clip_caption(e)
        assert data.clip_action_correct(a0, e), a0
        other = next(s for s in data.SHAPES if s != e["shape"])
        swapped = a0.replace(e["shape"], other, 1)
        assert data.clip_action_correct(swapped, e) and not data.clip_correct(swapped, e), swapped


def test_action_weights():
    p = data.action_weights("spins=3, changes colour=0")
    assert p is not None and abs(p.sum() - 1) < 1e-12
    assert p[data.ACTIONS.index("spins")] == 3 / 10
    assert p[data.ACTIONS.index("changes colour")] == 0
    assert data.action_weights("") is None
    counts = {a: 0 for a in data.ACTIONS}
    r = rng(5)
    for _ in range(400):
        _, ev = data.render_clip(r, n_frames=2, size=16, supersample=1, action_p=p)
        counts[ev["action"]] += 1
    assert counts["changes colour"] == 0 and counts["spins"] > 2 * counts["grows"], counts
    # Without weights the draws are those of every earlier run: the frame count, then the
    # action by one integers() call (a weighted draw uses choice(), which reads other bits).
    for seed in range(20):
        r = rng(seed)
        r.integers(data.CLIP_FRAMES[0], data.CLIP_FRAMES[1] + 1)
        assert data.render_clip(rng(seed))[1]["action"] == \
            data.ACTIONS[int(r.integers(len(data.ACTIONS)))]
    for bad in ("spin=2", "spins", "spins=-1", "spins=x", "spins=0,grows=0,shrinks=0,"
                "moves left=0,moves right=0,moves up=0,moves down=0,changes colour=0,"
                "stays still=0"):
        try:
            data.action_weights(bad)
        except ValueError as e:
            assert "action weights" in str(e), e
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_kjv():
    verses = data.kjv_verses()
    assert len(verses) == 31102
    assert verses[0] == ("Genesis", 1, 1, "In the beginning God created the heaven and the earth.")
    assert verses[-1] == ("Revelation", 22, 21,
                          "The grace of our Lord Jesus Christ be with you all. Amen.")
    john = {(c, v): t for b, c, v, t in verses if b == "John"}
    assert john[(3, 16)].startswith("For God so loved the world")
    books = list(dict.fromkeys(v[0] for v in verses))
    assert len(books) == 66 and books[18] == "Psalms" and books[21] == "Song of Solomon"
    assert sum(1 for v in verses if v[0] == "Psalms" and v[1] == 119) == 176
    assert all(t and t.isascii() and "  " not in t for _, _, _, t in verses)
    train, held = data.split_verses(verses)
    assert len(train) + len(held) == len(verses)
    assert set(data.HELD_OUT_BOOKS) <= set(books)
    assert {v[0] for v in held} == set(data.HELD_OUT_BOOKS)
    assert not {v[0] for v in train} & set(data.HELD_OUT_BOOKS)
    assert 200 < len(held) < 0.03 * len(verses), len(held)
    try:
        data.kjv_verses(bible="no-such-bible-program")
    except RuntimeError as e:
        assert "no-such-bible-program" in str(e) and "bible-kjv" in str(e), e
    else:
        raise AssertionError("a missing bible program was not an error")


def _ffmpeg_decode(path: Path, w: int, h: int) -> np.ndarray:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-f",
                          "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    return np.frombuffer(out.stdout, dtype=np.uint8).reshape(-1, h, w, 3)


def test_files():
    with tempfile.TemporaryDirectory() as tmp:
        img, _ = data.render_scene(rng(3))
        png = Path(tmp) / "a.png"
        data.write_png(png, img)
        back = _ffmpeg_decode(png, SIZE, SIZE)
        assert back.shape == (1, SIZE, SIZE, 3) and np.array_equal(back[0], img), "PNG differs"

        frames, _ = data.render_clip(rng(5), n_frames=6)
        mp4 = Path(tmp) / "a.mp4"
        data.write_video(mp4, frames)
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0",
                                "-show_entries", "stream=codec_name,pix_fmt,width,height:"
                                "format=duration:frame=best_effort_timestamp_time",
                                "-of", "json", str(mp4)],
                               capture_output=True, check=True, text=True)
        info = json.loads(probe.stdout)
        st = info["streams"][0]
        assert (st["codec_name"], st["pix_fmt"], st["width"], st["height"]) == \
            ("h264", "yuv420p", 4 * SIZE, 4 * SIZE), st
        times = [float(f["best_effort_timestamp_time"]) for f in info["frames"]]
        assert times == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], times
        assert abs(float(info["format"]["duration"]) - 6.0) < 1e-3, info["format"]
        dec = _ffmpeg_decode(mp4, 4 * SIZE, 4 * SIZE).astype(np.float32)
        small = dec.reshape(6, SIZE, 4, SIZE, 4, 3).mean(axis=(2, 4))
        err = np.abs(small - frames.astype(np.float32)).mean(axis=(1, 2, 3))
        assert (err < 4.0).all(), f"decoded frames differ from the clip: {err}"
        # Each decoded frame is closest to its own source frame (the order survives).
        for i in range(6):
            d = [np.abs(small[i] - fr).mean() for fr in frames.astype(np.float32)]
            assert int(np.argmin(d)) == i or d[int(np.argmin(d))] == d[i], (i, d)
        try:
            data.write_png(Path(tmp) / "b.png", np.zeros((4, 4), dtype=np.uint8))
        except ValueError as e:
            assert "[H, W, 3]" in str(e)
        else:
            raise AssertionError("a 2-D array was written as a PNG")


def main() -> int:
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"PASS {name}")
        except Exception:  # noqa: BLE001 - report every failure, then fail
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    print(f"{len(tests) - failed}/{len(tests)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
