#!/usr/bin/env bash
# Rebuilds the bundled demo model from nothing but Debian packages: trains it (train.py),
# converts the Hugging Face checkpoint with the project's own converter, measures it
# (evaluate.py) and writes the sample picture and clip the README and screenshots use.
#
#   resources/demo-model/make-demo-model.sh WORK_DIR [expertscope-cli]
#
# About 80 minutes on a 2-core machine (one training thread); see README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:?usage: make-demo-model.sh WORK_DIR [expertscope-cli]}"
cli="${2:-$here/../../build/release/bin/expertscope-cli}"
py=/usr/bin/python3
mkdir -p "$work"
# OpenBLAS (libopenblas0-pthread) is what makes torch fast here; its own threads stay off.
unset OPENBLAS_NUM_THREADS OPENBLAS_CORETYPE
"$py" "$here/recipe/train.py" --out "$work"
"$cli" convert "$work/hf" -o "$here/expertscope-demo.gguf" --type Q8_0
"$py" "$here/recipe/evaluate.py" "$work/hf" --gguf "$here/expertscope-demo.gguf" --cli "$cli" \
  --out "$here/evaluation.json"
"$py" "$here/recipe/samples.py" "$here/samples"
