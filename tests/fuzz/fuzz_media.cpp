// libFuzzer target for engine/media's from-memory entry points: any bytes must probe and
// decode (image or video, small caps) to well-formed frames or give an es::Error, never
// a crash, a hang or a partial frame. Run with the `fuzz` preset:
//   build/fuzz/bin/fuzz_media -max_total_time=600 -rss_limit_mb=4096 tests/fuzz/corpus/media
#include <cstddef>
#include <cstdint>
#include <span>

#include "expertscope/error.h"
#include "expertscope/media.h"

namespace {

void check(const es::media::Frame& f) {
  if (f.width <= 0 || f.height <= 0 || f.stride_bytes != f.width * 3 ||
      f.rgb.size() != static_cast<size_t>(f.height) * static_cast<size_t>(f.stride_bytes)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace md = es::media;
  const std::span<const uint8_t> bytes(data, size);
  md::Limits limits;
  limits.max_pixels = 512 * 512;
  limits.max_duration_s = 20;
  limits.max_frames = 8;
  limits.max_file_bytes = 1 << 20;
  try {
    const md::ProbeResult p = md::probe_memory(bytes, "fuzz.mp4", limits);
    if (p.kind != md::Kind::image && p.kind != md::Kind::video) __builtin_trap();
    if (p.width <= 0 || p.height <= 0) __builtin_trap();
  } catch (const es::Error&) {
  }
  try {
    md::Source s = md::Source::open_memory(bytes, "fuzz.bin", limits);
    for (const md::Frame& f : s.sample({2.0, 4})) check(f);
    const md::Frame poster = s.poster();
    check(poster);
    check(md::thumbnail(poster, 16));
    check(md::resize_to_patches(poster, md::PatchFit{14, 14 * 14, 14 * 14 * 16}));
  } catch (const es::Error&) {
  }
  return 0;
}
