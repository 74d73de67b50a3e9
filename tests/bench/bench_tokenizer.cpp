// Tokenizer throughput, single thread: encode every line of a corpus (by default the
// parity corpus tests/hf/corpus.txt) with each given tokenizer GGUF and report MB/s of input
// text, cold (the first pass, the word cache empty) and warm (later passes), plus decode
// MB/s of output text and the load time. One JSON object per model on stdout.
//
// usage: bench_tokenizer [--corpus FILE] [--passes N] MODEL.gguf...
//   e.g. expertscope-cli convert-tokenizer .../tokenizer-qwen3/models/tokenizer.json
//            .../tokenizer_config.json -o qwen3.gguf
//        bench_tokenizer qwen3.gguf deepseek_v3.gguf
// CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID), so other load on the machine
// inflates it less than wall time; both are printed.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "expertscope/tokenizer.h"

#ifndef ES_SOURCE_DIR
#define ES_SOURCE_DIR "."
#endif

namespace {

double seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timer {
  double cpu0 = seconds(CLOCK_THREAD_CPUTIME_ID);
  double wall0 = seconds(CLOCK_MONOTONIC);
  [[nodiscard]] double cpu() const { return seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0; }
  [[nodiscard]] double wall() const { return seconds(CLOCK_MONOTONIC) - wall0; }
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw es::Error(es::ErrorKind::io, path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void bench(const std::string& path, const std::vector<std::string>& lines, int passes) {
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  const Timer load_timer;
  const auto file = es::gguf::File::open(path);
  const es::Tokenizer tok = es::Tokenizer::from_gguf(file);
  const double load_s = load_timer.wall();

  std::vector<std::vector<es::TokenId>> ids(lines.size());
  const Timer cold;
  for (size_t i = 0; i < lines.size(); ++i) ids[i] = tok.encode(lines[i]);
  const double cold_cpu = cold.cpu();
  size_t n_tokens = 0;
  for (const auto& v : ids) n_tokens += v.size();

  const Timer warm;
  std::vector<es::TokenId> scratch;
  for (int p = 0; p < passes; ++p) {
    for (const auto& line : lines) {
      scratch.clear();
      tok.encode_into(line, scratch);
    }
  }
  const double warm_cpu = warm.cpu(), warm_wall = warm.wall();

  size_t decoded_bytes = 0;
  const Timer dec;
  for (int p = 0; p < passes; ++p) {
    for (const auto& v : ids) decoded_bytes += tok.decode(v).size();
  }
  const double dec_cpu = dec.cpu();

  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf(
      "{\"model\":\"%s\",\"tokenizer\":\"%s\",\"pre\":\"%s\",\"n_vocab\":%u,\"lines\":%zu,"
      "\"bytes\":%zu,\"tokens\":%zu,\"load_s\":%.3f,\"encode_cold_mb_s\":%.2f,"
      "\"encode_warm_mb_s\":%.2f,\"encode_warm_wall_mb_s\":%.2f,\"decode_mb_s\":%.2f}\n",
      path.c_str(), tok.model_name().c_str(), tok.pre_name().c_str(), tok.n_tokens(), lines.size(),
      bytes, n_tokens, load_s, mb / cold_cpu, mb * passes / warm_cpu, mb * passes / warm_wall,
      static_cast<double>(decoded_bytes) / 1e6 / dec_cpu);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string corpus = std::string(ES_SOURCE_DIR) + "/tests/hf/corpus.txt";
  int passes = 20;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--corpus" && i + 1 < argc) {
      corpus = argv[++i];
    } else if (a == "--passes" && i + 1 < argc) {
      passes = std::max(1, std::atoi(argv[++i]));
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "error: unknown option %s\n", a.c_str());
      return 2;
    } else {
      models.push_back(a);
    }
  }
  if (models.empty()) {
    std::fprintf(stderr, "usage: bench_tokenizer [--corpus FILE] [--passes N] MODEL.gguf...\n");
    return 2;
  }
  try {
    const std::vector<std::string> lines = read_lines(corpus);
    for (const std::string& m : models) bench(m, lines, passes);
  } catch (const es::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}
