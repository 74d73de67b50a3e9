#!/usr/bin/env bash
# Rebuilds the bundled demo model from nothing but Debian packages: trains it (train.py),
# converts the Hugging Face checkpoint with the project's own converter, measures it
# (evaluate.py) and writes the sample picture and clip the README and screenshots use.
#
#   resources/demo-model/make-demo-model.sh WORK_DIR [expertscope-cli]
#
# About 1 hour 57 minutes of training on a 2-core machine; see README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:?usage: make-demo-model.sh WORK_DIR [expertscope-cli]}"
cli="${2:-$here/../../build/release/bin/expertscope-cli}"
py=/usr/bin/python3
mkdir -p "$work"
# Matrix products in bfloat16 (--bf16; weights and checkpoints stay float32) through torch's
# oneDNN, which runs on torch's own threads: two of them, and OpenBLAS (libopenblas0-pthread,
# what is left in float32) on one.
fast="--bf16 --threads 2 --blas-threads 1"
# Phase 1: text, pictures and clips from the first step (600 steps).
"$py" "$here/recipe/train.py" $fast --out "$work/phase1" --steps 600
# Phase 2: the same model, most sequences chat turns about pictures and clips (1500 steps,
# fresh data: another seed).
"$py" "$here/recipe/train.py" $fast --out "$work/phase2" --init-from "$work/phase1/hf" --seed 2 \
  --steps 1500 --lr 1.5e-3 --warmup 20 --text-share 0.15 --image-share 0.55 --video-share 0.35
# Phase 3: more pictures and clips still, at a lower rate (800 steps, seed 3).
"$py" "$here/recipe/train.py" $fast --out "$work/phase3" --init-from "$work/phase2/hf" --seed 3 \
  --steps 800 --lr 1e-3 --warmup 20 --text-share 0.1 --image-share 0.6 --video-share 0.35
# Phase 4: clips read unpooled, 36 rows a frame as a picture has (phases 1-3 pool each
# frame's patches 2 x 2 into 9 rows: cheap while the model learns to see, but it loses the
# shape); longer sequences so that an 8-frame clip and its turns fit (800 steps, seed 4).
"$py" "$here/recipe/train.py" $fast --out "$work/phase4" --init-from "$work/phase3/hf" --seed 4 \
  --video-pool 1 --seq 336 --steps 800 --lr 1e-3 --warmup 20 --text-share 0.1 \
  --image-share 0.45 --video-share 0.45
# Phase 5: spinning shapes (3 of 34 right after phase 4) and colour changes drawn 2x and
# 1.5x as often, at a lower rate (500 steps, seed 5).
"$py" "$here/recipe/train.py" $fast --out "$work/phase5" --init-from "$work/phase4/hf" --seed 5 \
  --seq 336 --steps 500 --lr 6e-4 --warmup 20 --text-share 0.1 --image-share 0.35 \
  --video-share 0.55 --action-weights "spins=2,changes colour=1.5"
# Phase 6: every action alike again (phase 5's weights left "stays still" underused), at a
# lower rate still (250 steps, seed 6).
"$py" "$here/recipe/train.py" $fast --out "$work/phase6" --init-from "$work/phase5/hf" --seed 6 \
  --seq 336 --steps 250 --lr 3e-4 --warmup 10 --text-share 0.1 --image-share 0.35 \
  --video-share 0.55
# Phase 7: colour changes (2 of 19 right after phase 6), shapes that stay still and spins
# drawn 3x, 2x and 2x as often (250 steps, seed 7).
"$py" "$here/recipe/train.py" $fast --out "$work/phase7" --init-from "$work/phase6/hf" --seed 7 \
  --seq 336 --steps 250 --lr 3e-4 --warmup 10 --text-share 0.1 --image-share 0.35 \
  --video-share 0.55 --action-weights "changes colour=3,stays still=2,spins=2"
# Phase 8: every action alike once more (250 steps, seed 8).
"$py" "$here/recipe/train.py" $fast --out "$work/phase8" --init-from "$work/phase7/hf" --seed 8 \
  --seq 336 --steps 250 --lr 3e-4 --warmup 10 --text-share 0.1 --image-share 0.35 \
  --video-share 0.55
# F16: both backends then compute with f32 activations as PyTorch does (Q8_0 would halve
# the file, but the CPU backend's 8-bit activations move the logits; see README.md).
"$cli" convert "$work/phase8/hf" -o "$here/expertscope-demo.gguf" --type F16
"$py" "$here/recipe/evaluate.py" "$work/phase8/hf" --type F16 --gguf "$here/expertscope-demo.gguf" \
  --cli "$cli" --out "$here/evaluation.json"
"$py" "$here/recipe/evaluate.py" "$work/phase8/hf" --type F16 --write-reference "$here/reference"
"$py" "$here/recipe/samples.py" "$here/samples"
