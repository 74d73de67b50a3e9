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
"$bin/make_tiny_model" olmoe "$work/olmoe-tiny.gguf" --layers 8 --projector
printf 'Routing notes\n- which experts see punctuation?\n' > "$work/notes.md"
# A picture and a clip for the multimodal shots (FFmpeg's test sources).
ffmpeg -loglevel error -y -f lavfi -i "testsrc=s=320x240" -frames:v 1 "$work/pattern.png"
ffmpeg -loglevel error -y -f lavfi -i "testsrc=s=160x120:r=10:d=3" -pix_fmt yuv420p "$work/clip.mp4"
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
# Pictures and video reach the model: their positions in the Tokens view.
xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/expertscope" --model "$work/olmoe-tiny.gguf" \
  --prompt "What is in the picture and the clip?" --attach "$work/pattern.png" \
  --attach "$work/clip.mp4" --inspector tokens --screenshot "$out/workbench-media.png"
# A log too long for the chat context, not sent: the composer offers "Truncate to fit"
# beside ✕ (and the clip beside it only ✕), and the context line says why Send waits.
seq -f "%g: expert 3 of layer 5 took the token" 1 3000 > "$work/routing.log"
xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/expertscope" --model "$work/olmoe-tiny.gguf" \
  --prompt "Which experts does the log mention most?" --attach "$work/routing.log" \
  --attach "$work/clip.mp4" --no-send --screenshot "$out/workbench-truncate.png"
# The Model panel with its device list, running on Vulkan.
xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/expertscope" --model "$work/olmoe-tiny.gguf" \
  --prompt "Where do you run?" --backend vulkan:0 --inspector model \
  --screenshot "$out/workbench-devices.png"
echo "screenshots written to $out"
