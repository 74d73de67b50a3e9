#!/usr/bin/python3
"""Writes the sample picture and clip that the README's commands and the screenshots use (never
seen in training: drawn from their own seed), with what they show in samples.json.

    /usr/bin/python3 samples.py OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data  # noqa: E402

SEED = 424242


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    pix, scene = data.render_scene(rng, n_objects=2)
    data.write_png(out / "scene.png", np.kron(pix, np.ones((4, 4, 1), dtype=np.uint8)))
    frames, event = data.render_clip(rng, n_frames=6)
    data.write_video(out / "clip.mp4", frames, fps=1)
    (out / "samples.json").write_text(json.dumps({
        "scene.png": {"caption": data.scene_caption(scene), "scene": scene},
        "clip.mp4": {"caption": data.clip_caption(event), "event": event},
    }, indent=1, default=str))
    print(data.scene_caption(scene))
    print(data.clip_caption(event))
    return 0


if __name__ == "__main__":
    sys.exit(main())
