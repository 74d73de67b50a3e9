#!/bin/bash
# Packs the Vulkan parity suites, bench_engine + make_bench_model, the libraries they load
# and llama.cpp's golden models into one archive, for a GPU machine that has a Vulkan
# driver but none of the build's packages:
#   tests/device/pack.sh [BUILD_DIR]      -> .devpack/devpack.tar.xz and .devpack/run.sh
# then, on that machine, from a checkout of the same commit: bash .devpack/run.sh
# (results in $OUT, else /tmp/es-device). xz because Python's tarfile reads it anywhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/plugins" "$stage/golden" "$root/.devpack"
suites="test_backend_ops test_backend_router test_backend_attention test_backend_e2e"
suites+=" test_demo_model"
for t in $suites bench_engine make_bench_model; do
  if [ ! -x "$build/bin/$t" ]; then
    echo "pack.sh: $build/bin/$t is missing (build it first)" >&2
    exit 1
  fi
  strip -o "$stage/bin/$t" "$build/bin/$t"
done
cp "$build"/plugins/*.so "$stage/plugins/" && strip "$stage"/plugins/*.so
# Every library the suites load, except the C/C++ runtime (newer there) and the Vulkan loader
# (the driver's machine brings its own, or Debian's libvulkan1 travels beside this).
for t in "$stage"/bin/*; do ldd "$t" | awk '$3 ~ /^\// {print $3}'; done | sort -u |
  grep -v -E '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*|libpthread|libvulkan)\.so' |
  xargs cp -L -t "$stage/lib"
golden="$root/../shared/golden"
[ -d "$golden" ] && cp "$golden"/* "$stage/golden/"
tar -C "$stage" -cf - bin lib plugins golden | xz -9 -T1 > "$root/.devpack/devpack.tar.xz"
cp "$root/tests/device/run.sh" "$root/.devpack/run.sh"
ls -l "$root/.devpack"
