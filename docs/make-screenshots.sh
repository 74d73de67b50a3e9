#!/usr/bin/env bash
# Regenerates the README's screenshots of the workbench with the automation flags:
#   expertscope --model M --prompt S [--attach F] [--inspector VIEW] --screenshot OUT.png
# Uses a tiny fixture model (random weights: its answers are gibberish, its routing real)
# until the bundled demo model exists. Run from the repository root after a release build.
set -euo pipefail
bin=${BIN:-build/release/bin}
out=${OUT:-docs/screenshots}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/make_tiny_model" olmoe "$work/olmoe-tiny.gguf" --layers 8
printf 'Routing notes\n- which experts see punctuation?\n' > "$work/notes.md"
shoot() {  # NAME [extra flags...]
  local name=$1
  shift
  xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/expertscope" --model "$work/olmoe-tiny.gguf" \
    --prompt "Which experts handle punctuation, and why?" --attach "$work/notes.md" \
    "$@" --screenshot "$out/$name.png"
}
shoot workbench-chat
shoot workbench-engine --inspector engine
for view in tokens heatmap load path; do
  shoot "workbench-$view" --inspector "$view"
done
echo "screenshots written to $out"
