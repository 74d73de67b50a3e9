#!/usr/bin/env bash
# Generates the OLMoE-1B-7B-shaped benchmark models (random weights, the project's own
# quantizer) that BENCHMARKS.md measures. Several GB each; never committed.
#   tests/bench/make_bench_models.sh [OUT_DIR] [TYPES...]     (default: build/bench-models, Q4_0 Q8_0 Q4_K_M)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build/bench-models}
shift || true
types=("$@")
[[ ${#types[@]} -gt 0 ]] || types=(Q4_0 Q8_0 Q4_K_M)
cmake --preset release -S "$root" >/dev/null
cmake --build "$root/build/release" --target make_bench_model expertscope-cli
mkdir -p "$out"
for t in "${types[@]}"; do
  f="$out/olmoe-1b-7b-shape-$t.gguf"
  if [[ -f $f ]]; then echo "have $f"; continue; fi
  "$root/build/release/bin/make_bench_model" --type "$t" -o "$f"
done
