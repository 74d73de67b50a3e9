// Media decode timings for BENCHMARKS.md ("Media decoding"): for each file, the median
// time of es::media::Source::open and of es::media::decode at the default policy.
//
//   bench_media photo.jpg photo.png clip.mp4
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "expertscope/media.h"

namespace md = es::media;

template <typename Fn>
double median_ms(int n, Fn fn) {
  std::vector<double> t;
  for (int i = 0; i < n; ++i) {
    const auto a = std::chrono::steady_clock::now();
    fn();
    const auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* path = argv[i];
    md::Source probe = md::Source::open(path);
    const bool video = probe.kind() == md::Kind::video;
    const double d = probe.duration_s();
    const int runs = video ? 3 : 9;
    size_t frames = 0;
    const double open_ms = median_ms(runs, [&] { (void)md::Source::open(path); });
    const double ms = median_ms(runs, [&] { frames = md::decode(path).frames.size(); });
    if (video) {
      std::printf(
          "%s: %dx%d %.1f s, open (probe+scan+first frame) %.1f ms, decode %zu frames (default "
          "policy) %.1f ms = %.1f ms per second of video\n",
          path, probe.width(), probe.height(), d, open_ms, frames, ms, ms / d);
    } else {
      std::printf("%s: %dx%d open+decode %.1f ms\n", path, probe.width(), probe.height(), ms);
    }
  }
}
