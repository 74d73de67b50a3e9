#!/bin/bash
# Runs the packed Vulkan parity suites (tests/device/pack.sh) on this machine's GPU, from the
# root of a checkout of the commit they were built from; logs in $OUT, else /tmp/es-device.
# The engine takes the best-ranked device (discrete first); EXPERTSCOPE_VULKAN_DEVICE names
# another. test_demo_model runs its tokenizer and logits checks only: its answering checks
# drive expertscope-cli, whose FFmpeg and Qt GUI libraries do not travel. Then, unless
# BENCH=0, speed as BENCHMARKS.md reports it: the OLMoE-1B-7B-shaped Q4_0 model (generated
# here, 3.9 GB) and the demo model, on the device and on the CPU backend.
set -u
out=${OUT:-/tmp/es-device}
mkdir -p "$out"
repo=$PWD
p=/tmp/es-devpack
rm -rf "$p" && mkdir -p "$p"
python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" \
  .devpack/devpack.tar.xz "$p" || exit 1
# The suites hold the packing machine's source and golden paths: point those here.
src=$(grep -a -m1 -o '/[[:print:]]*/resources/demo-model' "$p/bin/test_demo_model")
src=${src%/resources/demo-model}
if [ -n "$src" ] && [ "$src" != "$repo" ]; then
  mkdir -p "$(dirname "$src")" && ln -sfn "$repo" "$src"
fi
mkdir -p "$(dirname "$repo")/shared" && ln -sfn "$p/golden" "$(dirname "$repo")/shared/golden"
mkdir -p "$repo/build/release" && ln -sfn "$p/plugins" "$repo/build/release/plugins"
export LD_LIBRARY_PATH=$p/lib QT_QPA_PLATFORM=offscreen QTEST_FUNCTION_TIMEOUT=3600000
command -v nvidia-smi >/dev/null && nvidia-smi -L
echo "CPU: $(nproc) x$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
status=0
for t in test_backend_ops test_backend_router test_backend_attention test_backend_e2e \
         "test_demo_model it_tokenizes_as_the_recipe_did its_logits_match_the_pytorch_model"; do
  name=${t%% *}
  start=$(date +%s%N)
  # shellcheck disable=SC2086  # the suite's name, then the functions to run
  "$p/bin/$name" ${t#"$name"} > "$out/$name.log" 2>&1
  rc=$?
  echo "== $name rc=$rc $(( ($(date +%s%N) - start) / 1000000 )) ms"
  grep -E '^(Totals|FAIL|QWARN|QINFO)|Loc:' "$out/$name.log" | head -60
  [ $rc -eq 0 ] || status=1
done
if [ "${BENCH:-1}" != 0 ]; then
  m=/tmp/es-olmoe-1b-7b-shape-Q4_0.gguf
  [ -f $m ] || "$p/bin/make_bench_model" --type Q4_0 -o $m > "$out/make_bench_model.log" 2>&1
  threads=$(nproc)
  demo=resources/demo-model/expertscope-demo.gguf
  # The demo model as BENCHMARKS.md's media section runs it (-p 256 -n 64).
  for run in "$m vulkan 512 128" "$m cpu 512 128" "$demo vulkan 256 64" "$demo cpu 256 64"; do
    # shellcheck disable=SC2086  # model, backend, -p, -n
    set -- $run
    echo "== bench $(basename "$1") $2 pp$3 tg$4, $threads threads"
    timeout 300 "$p/bin/bench_engine" -m "$1" --backend "$2" --threads "$threads" -p "$3" \
      -n "$4" -r 3 2>&1 | tee -a "$out/bench.jsonl"
  done
fi
exit $status
