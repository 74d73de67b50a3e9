// The session store's figures for BENCHMARKS.md:
//  - bytes of stored routing trace per (token, MoE layer, selected expert) for one long
//    answer, and the time to save and to load that message with its trace;
//  - the time to load a 100-message session and to export it in each format.
//
// Usage: bench_store [-m MODEL.gguf] [-n 2000] [--threads N] [--reps 5] [--keep DB]
// (--keep copies the database out, e.g. to time `expertscope-cli export --format pdf` on
// its session 3, the 100-message one)
// With a model the answer is really generated (random-weight benchmark models route
// close to uniformly: the hardest case for compression); without one the trace is
// synthetic, OLMoE-shaped (16 MoE layers, 8 of 64 experts) with Zipf-skewed experts, as
// trained routers skew. Prints one JSON object.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "expertscope/generate.h"
#include "expertscope/model.h"
#include "expertscope/store.h"
#include "expertscope/tokenizer.h"
#include "expertscope/transcript.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Answer {
  es::RoutingTrace trace;
  std::vector<std::string> texts;
  std::string content;
};

Answer synthetic_answer(uint32_t n) {
  const uint32_t n_expert = 64;
  const uint32_t k = 8;
  std::vector<uint32_t> layers(16);
  for (uint32_t i = 0; i < 16; ++i) layers[i] = i;
  std::mt19937 rng(42);
  std::vector<double> zipf(n_expert);
  for (uint32_t e = 0; e < n_expert; ++e) zipf[e] = 1.0 / (1.0 + e);
  std::discrete_distribution<uint32_t> pick(zipf.begin(), zipf.end());
  es::RoutingBatch b;
  b.n_expert = n_expert;
  b.top_k = k;
  b.moe_layers = layers;
  b.resize(n);
  std::vector<int32_t> ids(n);
  std::vector<int32_t> pos(n);
  Answer a;
  for (uint32_t t = 0; t < n; ++t) {
    ids[t] = static_cast<int32_t>(rng() % 50000);
    pos[t] = static_cast<int32_t>(100 + t);
    for (uint32_t m = 0; m < layers.size(); ++m) {
      std::vector<uint32_t> chosen;
      while (chosen.size() < k) {
        const uint32_t e = (pick(rng) * 5 + m * 11) % n_expert;
        if (std::find(chosen.begin(), chosen.end(), e) == chosen.end()) chosen.push_back(e);
      }
      std::vector<float> w(k);
      float sum = 0;
      for (float& x : w) sum += x = std::exponential_distribution<float>(1.0f)(rng);
      std::sort(w.begin(), w.end(), std::greater<>());
      for (uint32_t r = 0; r < k; ++r) {
        b.experts[b.at(t, m, r)] = static_cast<uint16_t>(chosen[r]);
        b.weights[b.at(t, m, r)] = w[r] / sum * 0.6f;
      }
      b.entropy[t * layers.size() + m] = std::uniform_real_distribution<float>(2.0f, 4.0f)(rng);
    }
    a.texts.push_back(" tok" + std::to_string(ids[t] % 97));
    a.content += a.texts.back();
  }
  a.trace.append(b, ids, pos, es::Modality::text);
  return a;
}

Answer generated_answer(const std::string& model_path, uint32_t n, uint32_t threads) {
  // Benchmark models carry no tokenizer: decode token by token, sampling from the logits
  // with a seeded softmax, and record each token's routing as generation would.
  const auto model = es::Model::load(model_path);
  es::ContextParams cp;
  cp.n_ctx = n + 64;
  cp.n_threads = threads;
  es::Context ctx(model, cp);
  std::vector<int32_t> next = {1, 450, 15114, 310, 263, 29871};
  std::mt19937 rng(7);
  Answer a;
  for (uint32_t i = 0; i <= n; ++i) {
    ctx.decode(next, es::LogitsRows::last);
    if (i > 0) {
      const auto pos = static_cast<int32_t>(ctx.n_past() - 1);
      a.trace.append(ctx.routing(), next, std::span(&pos, 1), es::Modality::text);
      a.texts.emplace_back();
    }
    if (i == n) break;
    const std::span<const float> logits = ctx.logits(0);
    const float top = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(logits.size());
    for (size_t v = 0; v < p.size(); ++v) p[v] = std::exp((logits[v] - top) / 0.8);
    std::discrete_distribution<int32_t> sample(p.begin(), p.end());
    next = {sample(rng)};
  }
  return a;
}

es::Message answer_message(const Answer& a, es::TokenRange range) {
  es::Message m;
  m.role = "assistant";
  m.trace.emplace();
  const uint32_t end = std::min(range.end, a.trace.n_tokens());
  m.trace->append(a.trace.batch(range), a.trace.token_ids().subspan(range.begin, end - range.begin),
                  a.trace.positions().subspan(range.begin, end - range.begin), es::Modality::text);
  for (uint32_t t = range.begin; t < end; ++t) {
    m.token_texts.push_back(a.texts[t]);
    m.content += a.texts[t].empty() ? " <" + std::to_string(a.trace.token_id(t)) + ">" : a.texts[t];
  }
  m.n_tokens = end - range.begin;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  uint32_t n = 2000;
  uint32_t threads = 0;
  int reps = 5;
  std::string keep;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "-m")
      model = argv[i + 1];
    else if (opt == "-n")
      n = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (opt == "--threads")
      threads = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (opt == "--reps")
      reps = std::max(1, std::atoi(argv[i + 1]));
    else if (opt == "--keep")
      keep = argv[i + 1];
  }
  try {
    const Answer answer = model.empty() ? synthetic_answer(n) : generated_answer(model, n, threads);
    const fs::path dir = fs::temp_directory_path() / ("bench_store-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    es::Store store(dir / "bench.db");

    // One long answer: save (a transaction with the trace) and load.
    const es::Message long_answer = answer_message(answer, {});
    const int64_t sid = store.create_session("bench", std::nullopt);
    std::vector<int64_t> ids;
    const double save_ms =
        median_ms(reps, [&] { ids.push_back(store.add_message(sid, long_answer)); });
    const auto storage = store.trace_storage(ids.back());
    const int64_t one = store.create_session("one", std::nullopt);
    store.add_message(one, long_answer);
    const double load_ms = median_ms(reps, [&] { (void)store.load_session(one); });
    const double slots =
        double(answer.trace.n_tokens()) * answer.trace.n_moe_layers() * answer.trace.top_k();

    // A 100-message session: 50 questions and 50 answers of n/10 tokens each.
    const int64_t big = store.create_session("hundred", std::nullopt);
    const uint32_t per = std::max(1u, answer.trace.n_tokens() / 10);
    for (int i = 0; i < 50; ++i) {
      es::Message q;
      q.role = "user";
      q.content = "Question " + std::to_string(i) + ": which experts take <code> & \"quotes\"?";
      store.add_message(big, q);
      const uint32_t start = (static_cast<uint32_t>(i) * per) % (answer.trace.n_tokens() - per + 1);
      store.add_message(big, answer_message(answer, {start, start + per}));
    }
    es::Session session;
    const double load100_ms = median_ms(reps, [&] { session = store.load_session(big); });
    std::printf(
        "{\n  \"source\": \"%s\",\n  \"n_tokens\": %u,\n  \"moe_layers\": %u,\n"
        "  \"n_expert\": %u,\n  \"top_k\": %u,\n  \"trace_raw_bytes\": %llu,\n"
        "  \"trace_disk_bytes\": %llu,\n  \"bytes_per_slot\": %.3f,\n"
        "  \"save_ms\": %.2f,\n  \"load_ms\": %.2f,\n  \"load_100_messages_ms\": %.2f",
        model.empty() ? "synthetic" : model.c_str(), answer.trace.n_tokens(),
        answer.trace.n_moe_layers(), answer.trace.n_expert(), answer.trace.top_k(),
        static_cast<unsigned long long>(storage->raw_bytes),
        static_cast<unsigned long long>(storage->disk_bytes), double(storage->disk_bytes) / slots,
        save_ms, load_ms, load100_ms);
    using es::transcript::Format;
    for (const auto& [name, format] :
         {std::pair{"md", Format::markdown}, std::pair{"html", Format::html},
          std::pair{"json", Format::json}, std::pair{"csv", Format::csv},
          std::pair{"npy", Format::npy}}) {
      const fs::path out = dir / (std::string("session.") + name);
      const double ms =
          median_ms(reps, [&] { es::transcript::write_export(session, format, out); });
      std::printf(",\n  \"export_%s_ms\": %.2f, \"export_%s_bytes\": %llu", name, ms, name,
                  static_cast<unsigned long long>(fs::file_size(out)));
    }
    std::printf("\n}\n");
    if (!keep.empty()) {
      store = es::Store(dir / "other.db");  // closes bench.db (checkpointing its WAL)
      fs::copy_file(dir / "bench.db", keep, fs::copy_options::overwrite_existing);
    }
    fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}
