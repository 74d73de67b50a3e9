// expertscope-cli bench: prompt processing (one batch of -p tokens) and text generation
// (-n tokens one at a time from an empty context) in tokens per second, as llama-bench
// measures pp512 / tg128. Prints one JSON object.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli.h"
#include "expertscope/context.h"
#include "expertscope/demo_model.h"
#include "expertscope/model.h"

namespace es::cli {
namespace {

/// Peak resident memory of this process (VmHWM), in bytes; 0 if unknown.
uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

int cmd_bench(const Args& args) {
  args.reject_unknown_options({"-m", "--model", "--backend", "--threads", "-p", "-n", "-r",
                               "--reps", "--kv-type", "--ops"});
  const bool with_ops = args.has("--ops");
  std::optional<std::string> model_path = args.value("-m");
  if (!model_path) model_path = args.value("--model");
  if (!model_path) throw usage_error("bench: no model given (-m MODEL)");
  *model_path = resolve_model_name(*model_path).string();  // "demo": the bundled model
  const auto count = [&](const char* opt, int64_t def, int64_t lo, int64_t hi) {
    const auto v = args.value(opt);
    const int64_t n = v ? parse_int(*v, opt) : def;
    if (n < lo || n > hi) {
      throw usage_error(std::string("bench: ") + opt + " must be in " + std::to_string(lo) + ".." +
                        std::to_string(hi));
    }
    return static_cast<uint32_t>(n);
  };
  const uint32_t n_prompt = count("-p", 512, 0, 65536);
  const uint32_t n_gen = count("-n", 128, 0, 65536);
  const auto reps_opt = args.value("-r") ? args.value("-r") : args.value("--reps");
  const uint32_t reps = reps_opt ? static_cast<uint32_t>(parse_int(*reps_opt, "-r")) : 3;
  if (reps == 0 || reps > 100) throw usage_error("bench: -r must be in 1..100");

  ContextParams params;
  params.backend = args.value("--backend").value_or("auto");
  params.n_threads = count("--threads", 0, 0, 1024);
  const std::string kv_type = args.value("--kv-type").value_or("f16");
  if (kv_type != "f32" && kv_type != "f16") throw usage_error("--kv-type: expected f32 or f16");
  params.kv_f16 = kv_type == "f16";
  params.n_ctx = n_prompt + n_gen + 16;
  params.n_batch = std::max<uint32_t>(n_prompt, 1);

  require_readable_file(*model_path);
  const auto model = Model::load(*model_path);
  Context ctx(model, params);
  report_backend(ctx);
  std::mt19937 rng(1234);
  const auto random_token = [&] { return static_cast<int32_t>(rng() % model->hparams().n_vocab); };

  // Warm up: read every weight page once (as llama-bench's runs find the file in the page
  // cache), then size every buffer with a short decode.
  {
    uint64_t checksum = 0;
    for (const auto& t : model->file().tensors()) {
      const auto bytes = model->file().tensor_data(t);
      for (size_t i = 0; i < bytes.size(); i += 4096) checksum += bytes[i];
    }
    if (checksum == 1) std::fputc(' ', stderr);  // Keeps the loop from being optimised away.
  }
  std::vector<int32_t> warm(std::min<uint32_t>(std::max<uint32_t>(n_prompt, 1), 8));
  for (auto& t : warm) t = random_token();
  ctx.decode(warm, LogitsRows::last);
  ctx.truncate(0);

  std::vector<double> pp, tg;
  OpTimes pp_ops{}, tg_ops{};  // The last prompt pass's op times; the generation steps' sum.
  for (uint32_t r = 0; r < reps; ++r) {
    if (n_prompt > 0) {
      std::vector<int32_t> prompt(n_prompt);
      for (auto& t : prompt) t = random_token();
      ctx.truncate(0);
      const auto t0 = std::chrono::steady_clock::now();
      ctx.decode(prompt, LogitsRows::last);
      pp.push_back(n_prompt / seconds_since(t0));
      pp_ops = ctx.stats().last_pass.ops;
    }
    if (n_gen > 0) {
      ctx.truncate(0);
      int32_t token = random_token();
      const auto t0 = std::chrono::steady_clock::now();
      tg_ops = OpTimes{};
      for (uint32_t i = 0; i < n_gen; ++i) {
        ctx.decode(std::span(&token, 1), LogitsRows::last);
        token = random_token();
        if (with_ops) {
          const OpTimes step = ctx.stats().last_pass.ops;
          for (size_t k = 0; k < step.size(); ++k) {
            tg_ops[k].total_ms += step[k].total_ms;
            tg_ops[k].n_calls += step[k].n_calls;
          }
        }
      }
      tg.push_back(n_gen / seconds_since(t0));
    }
  }

  uint64_t model_bytes = 0;
  for (const auto& t : model->file().tensors()) model_bytes += t.n_bytes;
  nlohmann::ordered_json j;
  j["model"] = model->hparams().name;
  j["arch"] = std::string(arch_name(model->hparams().arch));
  j["backend"] = std::string(ctx.backend_name());
  j["threads"] = ctx.n_threads();
  j["model_bytes"] = model_bytes;
  j["n_prompt"] = n_prompt;
  j["n_gen"] = n_gen;
  j["reps"] = reps;
  j["pp_tok_s"] = mean(pp);
  j["tg_tok_s"] = mean(tg);
  j["pp_tok_s_runs"] = pp;
  j["tg_tok_s_runs"] = tg;
  j["kv_type"] = kv_type;
  j["peak_rss_bytes"] = peak_rss_bytes();
  if (with_ops) {
    // Per-op milliseconds of the last repetition: the prompt pass, and the generation
    // steps summed (device timestamps on Vulkan, wall time on the CPU).
    const auto ops_json = [](const OpTimes& ops) {
      nlohmann::ordered_json o;
      for (size_t k = 1; k < ops.size(); ++k) {
        if (ops[k].n_calls == 0) continue;
        o[std::string(engine_op_name(static_cast<EngineOp>(k)))] = {{"ms", ops[k].total_ms},
                                                                    {"calls", ops[k].n_calls}};
      }
      return o;
    };
    j["pp_ops"] = ops_json(pp_ops);
    j["tg_ops"] = ops_json(tg_ops);
  }
  std::printf("%s\n", j.dump().c_str());
  return exit_ok;
}

}  // namespace es::cli
