#!/usr/bin/env bash
# Rebuilds the bundled demo model from nothing but Debian packages: trains it (train.py),
# converts the Hugging Face checkpoint with the project's own converter, measures it
# (evaluate.py) and writes the sample picture and clip the README and screenshots use.
#
#   resources/demo-model/make-demo-model.sh WORK_DIR [expertscope-cli]
#
# About 115 minutes of training on a 2-core machine; see README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:?usage: make-demo-model.sh WORK_DIR [expertscope-cli]}"
cli="${2:-$here/../../build/release/bin/expertscope-cli}"
py=/usr/bin/python3
mkdir -p "$work"
# OpenBLAS (libopenblas0-pthread) is what makes torch fast here; train.py runs one torch
# thread and an OpenBLAS pool of two (--threads, --blas-threads).
# Phase 1: text, pictures and clips from the first step (600 steps).
"$py" "$here/recipe/train.py" --out "$work/phase1" --steps 600
# Phase 2: the same model, most sequences chat turns about pictures and clips (1500 steps,
# fresh data: another seed).
"$py" "$here/recipe/train.py" --out "$work/phase2" --init-from "$work/phase1/hf" --seed 2 \
  --steps 1500 --lr 1.5e-3 --warmup 20 --text-share 0.15 --image-share 0.55 --video-share 0.35
# Phase 3: more pictures and clips still, at a lower rate (800 steps, seed 3).
"$py" "$here/recipe/train.py" --out "$work/phase3" --init-from "$work/phase2/hf" --seed 3 \
  --steps 800 --lr 1e-3 --warmup 20 --text-share 0.1 --image-share 0.6 --video-share 0.35
"$cli" convert "$work/phase3/hf" -o "$here/expertscope-demo.gguf" --type Q8_0
"$py" "$here/recipe/evaluate.py" "$work/phase3/hf" --gguf "$here/expertscope-demo.gguf" --cli "$cli" \
  --out "$here/evaluation.json"
"$py" "$here/recipe/samples.py" "$here/samples"
