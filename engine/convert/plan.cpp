// PlanBuilder (the usual Hugging Face → GGUF tensor layouts), metadata helpers, and RoPE
// keys from config.json.
#include <cmath>

#include "convert_internal.h"

namespace es::convert {

void PlanBuilder::matrix(std::string gguf, const std::string& hf, int64_t out, int64_t in,
                         Keep keep) {
  const SourceTensor& t = ck_.get(hf, {out, in});
  custom(std::move(gguf), {in, out}, keep, [&t, in](int64_t row, float* dst) {
    Checkpoint::read(t, static_cast<uint64_t>(row * in), static_cast<uint64_t>(in), dst);
  });
}

void PlanBuilder::vector(std::string gguf, const std::string& hf, int64_t n,
                         std::vector<int64_t> shape) {
  if (shape.empty()) shape = {n};
  const SourceTensor& t = ck_.get(hf, shape);
  custom(std::move(gguf), {n}, Keep::f32,
         [&t, n](int64_t, float* dst) { Checkpoint::read(t, 0, static_cast<uint64_t>(n), dst); });
}

void PlanBuilder::permuted(std::string gguf, const std::string& hf, int64_t out, int64_t in,
                           std::function<int64_t(int64_t)> perm) {
  const SourceTensor& t = ck_.get(hf, {out, in});
  custom(std::move(gguf), {in, out}, Keep::weight,
         [&t, in, perm = std::move(perm)](int64_t row, float* dst) {
           Checkpoint::read(t, static_cast<uint64_t>(perm(row) * in), static_cast<uint64_t>(in),
                            dst);
         });
}

void PlanBuilder::experts(std::string gguf, const std::string& hf_prefix,
                          const std::string& hf_suffix, uint32_t n_expert, int64_t out,
                          int64_t in) {
  std::vector<const SourceTensor*> parts;
  parts.reserve(n_expert);
  for (uint32_t e = 0; e < n_expert; ++e) {
    parts.push_back(&ck_.get(hf_prefix + std::to_string(e) + hf_suffix, {out, in}));
  }
  custom(std::move(gguf), {in, out, n_expert}, Keep::weight,
         [parts = std::move(parts), out, in](int64_t row, float* dst) {
           const SourceTensor& t = *parts[static_cast<size_t>(row / out)];
           Checkpoint::read(t, static_cast<uint64_t>((row % out) * in), static_cast<uint64_t>(in),
                            dst);
         });
}

void PlanBuilder::custom(std::string gguf, std::vector<int64_t> ne, Keep keep, RowFn row) {
  plan_.tensors.push_back(OutTensor{std::move(gguf), std::move(ne), keep, std::move(row)});
}

void put_u32(Plan& plan, const std::string& key, uint32_t value) {
  plan.kv.emplace_back(plan.arch + "." + key, gguf::Value(value));
}

void put_f32(Plan& plan, const std::string& key, double value) {
  plan.kv.emplace_back(plan.arch + "." + key, gguf::Value(static_cast<float>(value)));
}

void put_bool(Plan& plan, const std::string& key, bool value) {
  plan.kv.emplace_back(plan.arch + "." + key, gguf::Value(value));
}

void put_str(Plan& plan, const std::string& key, std::string value) {
  plan.kv.emplace_back(plan.arch + "." + key, gguf::Value(std::move(value)));
}

namespace {

double get_mscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

/// YaRN: factor, original context, the betas the engine implements (32 and 1), and the
/// magnitude keys. DeepSeek scales attention by mscale_all_dim (llama.cpp's
/// yarn_log_multiplier, written times 0.1 as llama.cpp's converter does); other
/// architectures use Hugging Face's default attention factor 0.1 ln(factor) + 1.
void put_yarn(const Config& c, const Config& rs, Plan& plan, bool deepseek) {
  const double factor = rs.f64("factor");
  if (!(factor >= 1.0)) {
    throw rs.error(ErrorKind::bad_input, rs.key_name("factor") + " must be at least 1");
  }
  put_str(plan, "rope.scaling.type", "yarn");
  put_f32(plan, "rope.scaling.factor", factor);
  put_u32(plan, "rope.scaling.original_context_length",
          rs.u32_or("original_max_position_embeddings", c.u32("max_position_embeddings")));
  if (rs.f64_or("beta_fast", 32.0) != 32.0 || rs.f64_or("beta_slow", 1.0) != 1.0) {
    throw rs.error(ErrorKind::unsupported, rs.key_name("beta_fast") + " / " +
                                               rs.key_name("beta_slow") +
                                               ": YaRN is supported with 32 and 1 only");
  }
  if (rs.has("attention_factor") || !rs.bool_or("truncate", true)) {
    throw rs.error(ErrorKind::unsupported, rs.key_name("attention_factor") + " / " +
                                               rs.key_name("truncate") + " are not supported");
  }
  const double mscale = rs.f64_or("mscale", 1.0);
  const double all_dim = rs.f64_or("mscale_all_dim", 0.0);
  if (deepseek) {
    // DeepSeek's rotary magnitude is get_mscale(f, mscale) / get_mscale(f, mscale_all_dim)
    // and its softmax scale gains get_mscale(f, mscale_all_dim)^2; llama.cpp's deepseek2
    // graph (and this engine's) represents exactly the configs with mscale ==
    // mscale_all_dim (V2: 0.707 both, V3: 1.0 both).
    if (all_dim == 0.0 ||
        std::abs(get_mscale(factor, mscale) - get_mscale(factor, all_dim)) > 1e-6) {
      throw rs.error(ErrorKind::unsupported,
                     rs.key_name("mscale") + " and " + rs.key_name("mscale_all_dim") +
                         " must be equal and non-zero for a deepseek2 GGUF (as in DeepSeek "
                         "V2 and V3)");
    }
    put_f32(plan, "rope.scaling.yarn_log_multiplier", 0.1 * all_dim);
    return;
  }
  if (rs.has("mscale") || all_dim != 0.0) {
    throw rs.error(ErrorKind::unsupported, rs.key_name("mscale") + " / " +
                                               rs.key_name("mscale_all_dim") + " are supported " +
                                               "for DeepSeek models only");
  }
}

}  // namespace

void put_rope(const Config& c, Plan& plan) {
  const bool deepseek = plan.arch == "deepseek2";
  // transformers 5 moved rope_theta and the scaling into rope_parameters.
  const bool params = c.has("rope_parameters");
  const Config rp = params ? c.object("rope_parameters") : c;
  const double theta = rp.f64_or("rope_theta", c.f64_or("rope_theta", 10000.0));
  if (!(theta > 0.0)) throw c.error(ErrorKind::bad_input, "rope_theta must be positive");
  put_f32(plan, "rope.freq_base", theta);
  std::optional<Config> rs;
  if (params) {
    rs = rp;
  } else if (c.has("rope_scaling")) {
    rs = c.object("rope_scaling");
  }
  if (!rs) return;
  const std::string type = rs->str_or("rope_type", rs->str_or("type", "default"));
  if (type == "default") return;
  if (type == "linear") {
    const double factor = rs->f64("factor");
    if (!(factor > 0.0))
      throw rs->error(ErrorKind::bad_input, rs->key_name("factor") + " must be positive");
    put_str(plan, "rope.scaling.type", "linear");
    put_f32(plan, "rope.scaling.factor", factor);
    return;
  }
  if (type == "yarn") {
    put_yarn(c, *rs, plan, deepseek);
    return;
  }
  throw rs->error(ErrorKind::unsupported,
                  rs->key_name("rope_type") + " \"" + type +
                      "\" is not supported (supported: default, linear, yarn)");
}

}  // namespace es::convert
