#!/usr/bin/env bash
# Regenerates the README's screenshots of the workbench with the automation flags:
#   expertscope [--model M] --prompt S [--attach F] [--inspector VIEW] --screenshot OUT.png
# Most use the bundled demo model (resources/demo-model) with its sample picture and clip;
# the truncate picture uses a tiny fixture model. Run from the repository root after a
# release build.
set -euo pipefail
bin=${BIN:-build/release/bin}
out=${OUT:-docs/screenshots}
demo=resources/demo-model/expertscope-demo.gguf
samples=resources/demo-model/samples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/make_tiny_model" olmoe "$work/olmoe-tiny.gguf" --layers 8 --projector
shot() {  # OUT.png [flags...]
  local name=$1
  shift
  xvfb-run -a -s "-screen 0 1600x1000x24" "$bin/expertscope" "$@" --screenshot "$out/$name.png"
}
# The demo model describes a generated picture it never saw; the Tokens view marks the
# picture's 36 positions (▣) and colours every token by its expert.
shot workbench-chat --model "$demo" --prompt "Describe the picture." \
  --attach "$samples/scene.png" --inspector tokens
# The same turn as a layer × expert heatmap: picture positions and text positions take
# different experts.
shot workbench-heatmap --model "$demo" --prompt "Describe the picture." \
  --attach "$samples/scene.png" --inspector heatmap
shot workbench-load --model "$demo" --prompt "Describe the picture." \
  --attach "$samples/scene.png" --inspector load
shot workbench-path --model "$demo" --prompt "Continue: And God said" --inspector path
shot workbench-engine --model "$demo" --prompt "Continue: And God said" --inspector engine
# A clip (▶ positions, 36 a frame): what happens in it.
shot workbench-media --model "$demo" --prompt "What happens?" --attach "$samples/clip.mp4" \
  --inspector tokens
# A log too long for the chat context, not sent: the composer offers "Truncate to fit"
# beside ✕ (and the clip beside it only ✕), and the context line says why Send waits.
seq -f "%g: expert 3 of layer 5 took the token" 1 3000 > "$work/routing.log"
ffmpeg -loglevel error -y -f lavfi -i "testsrc=s=160x120:r=10:d=3" -pix_fmt yuv420p "$work/clip.mp4"
shot workbench-truncate --model "$work/olmoe-tiny.gguf" \
  --prompt "Which experts does the log mention most?" --attach "$work/routing.log" \
  --attach "$work/clip.mp4" --no-send
# The Model panel with its device list, running on Vulkan (no --model: the demo model).
shot workbench-devices --prompt "Where do you run?" --backend vulkan:0 --inspector model
echo "screenshots written to $out"
