// Writes a random-weight model with a real MoE model's shape, quantized with the project's
// own quantizer, for `expertscope-cli bench`. The files are several GB: generated on
// demand (tests/bench/make_bench_models.sh), never committed.
//
//   make_bench_model --type Q4_0|Q8_0|Q4_K_M|F16 [--layers N] -o OUT.gguf
//
// Shape: OLMoE-1B-7B (16 layers, width 2048, 16 heads, 64 experts of width 1024, 8 per
// token, vocabulary 50304). Q4_K_M mixes Q4_K and Q6_K as llama.cpp's Q4_K_M does: Q6_K
// for output.weight and for attn_v / ffn_down_exps on the layers llama.cpp gives more bits
// (the first and last eighth, and every third layer between).
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "expertscope/quant.h"

namespace {

using es::TensorType;

struct Shape {
  uint32_t n_layer = 16, n_embd = 2048, n_head = 16, n_expert = 64, n_expert_used = 8;
  uint32_t n_ff_exp = 1024, n_vocab = 50304, n_ctx = 4096;
};

/// llama.cpp's use_more_bits(i_layer, n_layers).
bool more_bits(uint32_t i, uint32_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

/// Fills `dst` with `n_rows` rows of `n_cols` seeded N(0, std) values in `type`.
void fill_rows(std::span<uint8_t> dst, TensorType type, int64_t n_cols, uint64_t n_rows,
               uint64_t seed, float stddev) {
  const size_t row_bytes = es::quant::row_bytes(type, n_cols);
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < n_threads; ++w) {
    workers.emplace_back([&, w] {
      std::vector<float> row(static_cast<size_t>(n_cols));
      for (uint64_t r = w; r < n_rows; r += n_threads) {
        std::mt19937_64 rng(seed * 1000003 + r);
        std::normal_distribution<float> normal(0.0f, stddev);
        for (float& v : row) v = normal(rng);
        es::quant::quantize_row_ref(type, row.data(), dst.data() + r * row_bytes, n_cols);
      }
    });
  }
  for (auto& t : workers) t.join();
}

struct Builder {
  es::gguf::Writer w;
  uint64_t seed = 1;

  void weight(const std::string& name, TensorType type, std::vector<int64_t> shape,
              float stddev = 0.02f) {
    uint64_t n_rows = 1;
    for (size_t d = 1; d < shape.size(); ++d) n_rows *= static_cast<uint64_t>(shape[d]);
    const int64_t n_cols = shape[0];
    const uint64_t s = seed++;
    w.add_tensor_streamed(name, type, std::move(shape), [=](std::span<uint8_t> dst) {
      fill_rows(dst, type, n_cols, n_rows, s, stddev);
    });
  }
  void ones(const std::string& name, int64_t n) {
    std::vector<float> v(static_cast<size_t>(n), 1.0f);
    w.add_tensor_f32(name, {n}, v);
  }
};

int run(int argc, char** argv) {
  std::string type_name = "Q4_0", out;
  Shape s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--type" && i + 1 < argc)
      type_name = argv[++i];
    else if (a == "-o" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--layers" && i + 1 < argc)
      s.n_layer = static_cast<uint32_t>(std::stoul(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: make_bench_model --type Q4_0|Q8_0|Q4_K_M|F16 [--layers N] -o OUT\n");
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "error: no output file (-o)\n");
    return 2;
  }
  const bool k_mix = type_name == "Q4_K_M";
  TensorType base = TensorType::Q4_K;
  if (!k_mix) {
    const auto t = es::tensor_type_from_name(type_name);
    if (!t || !es::quant::is_weight_type(*t)) {
      std::fprintf(stderr, "error: unsupported type %s\n", type_name.c_str());
      return 2;
    }
    base = *t;
  }
  const auto pick = [&](bool more) { return k_mix && more ? TensorType::Q6_K : base; };

  Builder b;
  auto& w = b.w;
  const std::string a = "olmoe.";
  w.set("general.architecture", "olmoe");
  w.set("general.name", "OLMoE-1B-7B-shaped random " + type_name);
  w.set(a + "block_count", s.n_layer);
  w.set(a + "context_length", s.n_ctx);
  w.set(a + "embedding_length", s.n_embd);
  w.set(a + "feed_forward_length", s.n_ff_exp);
  w.set(a + "attention.head_count", s.n_head);
  w.set(a + "attention.head_count_kv", s.n_head);
  w.set(a + "attention.layer_norm_rms_epsilon", 1e-5f);
  w.set(a + "rope.freq_base", 10000.0f);
  w.set(a + "expert_count", s.n_expert);
  w.set(a + "expert_used_count", s.n_expert_used);
  w.set(a + "vocab_size", s.n_vocab);
  const int64_t E = s.n_embd, F = s.n_ff_exp, X = s.n_expert, V = s.n_vocab;
  b.weight("token_embd.weight", base, {E, V});
  b.ones("output_norm.weight", E);
  b.weight("output.weight", k_mix ? TensorType::Q6_K : base, {E, V});
  for (uint32_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const bool more = more_bits(l, s.n_layer);
    b.ones(p + "attn_norm.weight", E);
    b.weight(p + "attn_q.weight", base, {E, E});
    b.weight(p + "attn_k.weight", base, {E, E});
    b.weight(p + "attn_v.weight", pick(more), {E, E});
    b.weight(p + "attn_output.weight", base, {E, E});
    b.ones(p + "attn_q_norm.weight", E);
    b.ones(p + "attn_k_norm.weight", E);
    b.ones(p + "ffn_norm.weight", E);
    b.weight(p + "ffn_gate_inp.weight", TensorType::F32, {E, X});
    b.weight(p + "ffn_gate_exps.weight", base, {E, F, X});
    b.weight(p + "ffn_up_exps.weight", base, {E, F, X});
    b.weight(p + "ffn_down_exps.weight", pick(more), {F, E, X});
  }
  w.write(out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const es::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
}
