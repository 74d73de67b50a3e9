// Throughput of the quantized dot products, single thread, against the machine's memory
// read bandwidth.
//
// For each weight type: a matrix of about 64 MiB of weights (rows of 4096 values, far
// bigger than the caches), one activation row quantized for it, and es::quant::matvec over
// all rows, repeated; reported as GB/s of weight bytes read (best of the repetitions), plus
// the same kernel on a 512 KiB matrix that stays in L2 (the compute ceiling). Memory
// bandwidth is a plain streaming sum over a 512 MiB buffer.
//
// Usage: bench_quant [--mb N] [--target NAME] [--reps N] [--only TYPE] [--cpu-time]
// prints a Markdown table. --cpu-time divides by the thread's CPU time instead of wall
// time, for comparisons on a machine busy with other work.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/quant.h"

namespace {

using Clock = std::chrono::steady_clock;
using es::TensorType;
namespace quant = es::quant;

constexpr int64_t kRowValues = 4096;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Seconds of CPU time this thread has used: immune to time slices lost to other
/// processes on a busy machine (`--cpu-time`).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

bool g_cpu_time = false;

/// Best GB/s of `fn` processing `bytes`, over `reps` runs (at least 0.2 s in all).
template <typename F>
double best_gbps(size_t bytes, int reps, F&& fn) {
  fn();  // Warm up: page faults, caches, frequency.
  double best = 1e30, total = 0;
  for (int r = 0; r < reps || total < 0.2; ++r) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    fn();
    const double s = g_cpu_time ? thread_cpu_seconds() - c0 : seconds_since(t0);
    best = std::min(best, s);
    total += s;
  }
  return static_cast<double>(bytes) / best / 1e9;
}

/// Streaming read bandwidth: sums a buffer far bigger than the last-level cache.
double memory_read_gbps(size_t mib, int reps) {
  std::vector<uint64_t> buf(mib * 1024 * 1024 / 8);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;
  volatile uint64_t sink = 0;
  const double gbps = best_gbps(buf.size() * 8, reps, [&] {
    uint64_t acc[8] = {};  // Independent chains: the loop waits on memory, not on adds.
    for (size_t i = 0; i + 8 <= buf.size(); i += 8) {
      for (int k = 0; k < 8; ++k) acc[k] += buf[i + k];
    }
    uint64_t total = 0;
    for (const uint64_t a : acc) total += a;
    sink = sink + total;
  });
  return gbps;
}

/// A weight matrix of `rows` rows: a few distinct quantized rows, repeated.
std::vector<uint8_t> make_matrix(TensorType type, int64_t rows) {
  const size_t row_bytes = quant::row_bytes(type, kRowValues);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 0.02f);
  constexpr int kDistinct = 8;
  std::vector<uint8_t> distinct(row_bytes * kDistinct);
  std::vector<float> x(kRowValues);
  for (int r = 0; r < kDistinct; ++r) {
    for (auto& v : x) v = normal(rng);
    quant::quantize_row_ref(type, x.data(), distinct.data() + r * row_bytes, kRowValues);
  }
  std::vector<uint8_t> m(row_bytes * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(m.data() + r * row_bytes, distinct.data() + (r % kDistinct) * row_bytes, row_bytes);
  }
  return m;
}

struct Result {
  TensorType type;
  double bits_per_weight;
  double gbps_memory;  ///< Matrix bigger than the caches.
  double gbps_cache;   ///< Matrix that fits in L2.
};

Result bench_type(TensorType type, size_t mib, int reps) {
  const size_t row_bytes = quant::row_bytes(type, kRowValues);
  const TensorType act = quant::activation_type(type);
  std::vector<float> x(kRowValues);
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (auto& v : x) v = normal(rng);
  std::vector<uint8_t> xq(quant::row_bytes(act, kRowValues));
  quant::quantize_activation(act, x.data(), xq.data(), kRowValues);

  Result res{type, 8.0 * static_cast<double>(row_bytes) / kRowValues, 0, 0};
  for (const bool big : {true, false}) {
    const auto rows = static_cast<int64_t>(
        std::max<size_t>(1, (big ? mib * 1024 * 1024 : 512 * 1024) / row_bytes));
    const auto w = make_matrix(type, rows);
    std::vector<float> y(static_cast<size_t>(rows));
    // A cached matrix takes microseconds: time 64 passes per sample, so that the clocks'
    // granularity does not matter.
    const int passes = big ? 1 : 64;
    const double gbps = best_gbps(w.size() * passes, reps, [&] {
      for (int p = 0; p < passes; ++p) {
        quant::matvec(type, w.data(), row_bytes, xq.data(), kRowValues, y.data(), 0, rows);
      }
    });
    (big ? res.gbps_memory : res.gbps_cache) = gbps;
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 64;
  int reps = 5;
  std::string target, only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--cpu-time") {
      g_cpu_time = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(
          stderr,
          "usage: bench_quant [--mb N] [--target NAME] [--reps N] [--only TYPE] [--cpu-time]\n");
      return 2;
    }
    ++i;
    if (a == "--only") {
      only = argv[i];
    } else if (a == "--mb") {
      mib = std::strtoul(argv[i], nullptr, 10);
    } else if (a == "--reps") {
      reps = std::atoi(argv[i]);
    } else if (a == "--target") {
      target = argv[i];
    } else {
      std::fprintf(stderr, "error: unknown option %s\n", argv[i - 1]);
      return 2;
    }
  }
  for (const auto& t : quant::simd_targets()) {
    if (t.name == target) quant::force_simd_target(t.id);
  }
  if (!target.empty() && quant::current_simd_target().name != target) {
    std::fprintf(stderr, "error: SIMD target %s is not available here\n", target.c_str());
    return 2;
  }
  const double bw = only.empty() ? memory_read_gbps(512, std::max(reps, 10)) : 0.0;
  std::printf("SIMD target: %s; single thread; rows of %lld values; %zu MiB of weights\n",
              std::string(quant::current_simd_target().name).c_str(),
              static_cast<long long>(kRowValues), mib);
  std::printf("Memory read bandwidth (streaming sum, 512 MiB): %.1f GB/s; timing: %s\n", bw,
              g_cpu_time ? "thread CPU time" : "wall clock");
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {  // How busy the machine was.
    char load[64] = {};
    if (std::fgets(load, sizeof load, f)) std::printf("Load average: %s", load);
    std::fclose(f);
  }
  std::printf("\n");
  std::printf(
      "| type | bits/weight | GB/s (%zu MiB, from RAM) | %% of bandwidth | GB/s (512 KiB, in L2) "
      "|\n",
      mib);
  std::printf("|---|---:|---:|---:|---:|\n");
  const TensorType types[] = {
      TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0, TensorType::Q5_1,
      TensorType::Q5_0, TensorType::Q4_1, TensorType::Q4_0, TensorType::Q6_K, TensorType::Q5_K,
      TensorType::Q4_K, TensorType::Q3_K, TensorType::Q2_K};
  for (const TensorType t : types) {
    if (!only.empty() && es::tensor_type_name(t) != only) continue;
    const Result r = bench_type(t, mib, reps);
    std::printf("| %s | %.2f | %.1f | %.0f%% | %.1f |\n", es::tensor_type_name(t).data(),
                r.bits_per_weight, r.gbps_memory, bw > 0 ? 100.0 * r.gbps_memory / bw : 0.0,
                r.gbps_cache);
    std::fflush(stdout);
  }
  return 0;
}
