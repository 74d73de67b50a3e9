// convert_hf_checkpoint: config.json → an architecture's plan → tokenizer metadata →
// the GGUF (and the projector beside it), written with streamed tensors.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "convert_internal.h"
#include "expertscope/gguf.h"
#include "expertscope/hf_convert.h"
#include "expertscope/quant.h"
#include "expertscope/tokenizer.h"

namespace es {
namespace {

using convert::Checkpoint;
using convert::Config;
using convert::Keep;
using convert::OutTensor;
using convert::Plan;

constexpr std::array kTypes = {
    TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0,
    TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q2_K, TensorType::Q3_K,
    TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
};

/// llama.cpp's general.file_type (llama_ftype) of a file whose weights are all `type`.
uint32_t file_type(TensorType type) {
  switch (type) {
    case TensorType::F32:
      return 0;
    case TensorType::F16:
      return 1;
    case TensorType::Q4_0:
      return 2;
    case TensorType::Q4_1:
      return 3;
    case TensorType::Q8_0:
      return 7;
    case TensorType::Q5_0:
      return 8;
    case TensorType::Q5_1:
      return 9;
    case TensorType::Q2_K:
      return 10;
    case TensorType::Q3_K:
      return 11;  // Q3_K_S
    case TensorType::Q4_K:
      return 14;  // Q4_K_S
    case TensorType::Q5_K:
      return 16;  // Q5_K_S
    case TensorType::Q6_K:
      return 18;
    case TensorType::BF16:
      return 32;
    default:
      return 0;
  }
}

Plan plan_for(const std::string& model_type, const Config& c, Checkpoint& ck) {
  if (model_type == "deepseek_v3") return convert::plan_deepseek2(c, ck, true);
  if (model_type == "deepseek_v2") return convert::plan_deepseek2(c, ck, false);
  if (model_type == "qwen3_moe") return convert::plan_qwen_moe(c, ck, true);
  if (model_type == "qwen2_moe") return convert::plan_qwen_moe(c, ck, false);
  if (model_type == "olmoe") return convert::plan_olmoe(c, ck);
  if (model_type == "mixtral") return convert::plan_mixtral(c, ck);
  throw c.error(ErrorKind::unsupported,
                "model_type \"" + model_type +
                    "\" is not supported (supported: deepseek_v3, deepseek_v2, qwen3_moe, "
                    "qwen2_moe, olmoe, mixtral)");
}

/// Every checkpoint tensor must have a place in the output (or be known to be unused).
void check_unused(const Checkpoint& ck, const Plan& plan, const std::string& model_type) {
  std::vector<std::string> left;
  for (const std::string& name : ck.unused()) {
    if (name.ends_with(".rotary_emb.inv_freq")) continue;
    bool ignored = false;
    for (const std::string& p : plan.ignore_prefixes) ignored = ignored || name.starts_with(p);
    if (!ignored) left.push_back(name);
  }
  if (left.empty()) return;
  std::string what = ck.where() + ": tensor " + left.front();
  if (left.size() > 1) what += " (and " + std::to_string(left.size() - 1) + " more)";
  throw Error(ErrorKind::unsupported, what + " has no place in a " + plan.arch +
                                          " GGUF: this variant of " + model_type +
                                          " is not supported");
}

/// tokenizer.json (+ tokenizer_config.json) as metadata, the vocabulary padded to n_vocab.
MetadataEntries tokenizer_entries(const std::filesystem::path& dir, const Config& c,
                                  uint32_t n_vocab) {
  const std::filesystem::path tok_json = dir / "tokenizer.json",
                              cfg = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(tok_json, ec)) {
    throw Error(ErrorKind::bad_input, tok_json.string() + ": no such file (the model's tokenizer)");
  }
  std::optional<std::filesystem::path> config;
  if (std::filesystem::exists(cfg, ec)) config = cfg;
  MetadataEntries entries = convert_hf_tokenizer_files(tok_json, config);
  bool has_bos = false, has_eos = false;
  for (auto& [key, value] : entries) {
    has_bos = has_bos || key == "tokenizer.ggml.bos_token_id";
    has_eos = has_eos || key == "tokenizer.ggml.eos_token_id";
    auto* a = std::get_if<gguf::Array>(&value.data);
    if (a == nullptr || (key != "tokenizer.ggml.tokens" && key != "tokenizer.ggml.token_type")) {
      continue;
    }
    if (a->items.size() > n_vocab) {
      throw Error(ErrorKind::bad_input, tok_json.string() + ": " + std::to_string(a->items.size()) +
                                            " tokens, more than config.json's vocab_size " +
                                            std::to_string(n_vocab));
    }
    for (size_t id = a->items.size(); id < n_vocab; ++id) {
      if (key == "tokenizer.ggml.tokens") {
        a->items.emplace_back("[PAD" + std::to_string(id) + "]");
      } else {
        a->items.emplace_back(static_cast<int32_t>(TokenType::unused));
      }
    }
  }
  // Special ids config.json gives when tokenizer_config.json does not.
  const auto from_config = [&](const char* key, const char* gguf_key) {
    if (!c.has(key)) return;
    const convert::json& v = c.root()[key];
    const convert::json& id = v.is_array() && !v.empty() ? v[0] : v;
    if (!id.is_number_unsigned() || id.get<uint64_t>() >= n_vocab) return;
    entries.emplace_back(gguf_key, gguf::Value(static_cast<uint32_t>(id.get<uint64_t>())));
  };
  if (!has_bos) from_config("bos_token_id", "tokenizer.ggml.bos_token_id");
  if (!has_eos) from_config("eos_token_id", "tokenizer.ggml.eos_token_id");
  return entries;
}

std::string model_name(const std::filesystem::path& dir, const Config& c) {
  std::string name = c.str_or("_name_or_path", "");
  if (const size_t slash = name.find_last_of('/'); slash != std::string::npos) {
    name = name.substr(slash + 1);
  }
  if (!name.empty()) return name;
  std::filesystem::path d = dir.lexically_normal();
  if (d.filename().empty()) d = d.parent_path();
  return d.filename().string();
}

/// The type a tensor is written in; records fallbacks by tensor kind.
TensorType choose_type(const OutTensor& t, TensorType want,
                       std::map<std::string, std::pair<int64_t, uint64_t>>& fallbacks) {
  if (t.keep == Keep::f32 || t.ne.size() < 2) return TensorType::F32;
  const uint32_t block = tensor_type_traits(want).block_elems;
  if (t.ne[0] % block == 0) return want;
  std::string kind = t.name;
  if (kind.starts_with("blk.")) kind = kind.substr(kind.find('.', 4) + 1);
  auto& [row, count] = fallbacks[kind];
  row = t.ne[0];
  ++count;
  return TensorType::F16;
}

/// The fill callback of one streamed tensor: rows converted and encoded one at a time.
gguf::Writer::FillFn fill_for(const OutTensor& t, TensorType type, const std::string& where) {
  return [&t, type, where](std::span<uint8_t> dst) {
    const int64_t n = t.ne[0];
    int64_t rows = 1;
    for (size_t i = 1; i < t.ne.size(); ++i) rows *= t.ne[i];
    const size_t row_bytes = quant::row_bytes(type, n);
    std::vector<float> buf(static_cast<size_t>(n));
    for (int64_t r = 0; r < rows; ++r) {
      t.row(r, buf.data());
      for (const float v : buf) {
        if (!std::isfinite(v)) {
          throw Error(ErrorKind::bad_input, where + ": the weights of " + t.name + " (row " +
                                                std::to_string(r) +
                                                ") hold a NaN or infinite value");
        }
        if (type == TensorType::F16 && std::abs(v) > 65504.0f) {
          throw Error(ErrorKind::unsupported,
                      where + ": the weights of " + t.name + " hold " + std::to_string(v) +
                          ", beyond F16's range (65504): convert with --type BF16 or F32");
        }
      }
      uint8_t* out = dst.data() + static_cast<size_t>(r) * row_bytes;
      if (type == TensorType::F32) {
        std::memcpy(out, buf.data(), row_bytes);
      } else {
        quant::quantize_row_ref(type, buf.data(), out, n);
      }
    }
  };
}

/// Adds the plan's tensors to `w`; returns the number of tensors by type name.
std::map<std::string, uint64_t> add_tensors(gguf::Writer& w, const Plan& plan, TensorType want,
                                            const HfConvertOptions& options,
                                            const std::string& where) {
  std::map<std::string, std::pair<int64_t, uint64_t>> fallbacks;
  std::map<std::string, uint64_t> by_type;
  for (const OutTensor& t : plan.tensors) {
    const TensorType type = choose_type(t, want, fallbacks);
    ++by_type[std::string(tensor_type_name(type))];
    w.add_tensor_streamed(t.name, type, t.ne, fill_for(t, type, where));
  }
  if (options.warn) {
    for (const auto& [kind, f] : fallbacks) {
      options.warn(kind + " (" + std::to_string(f.second) + " tensor" + (f.second == 1 ? "" : "s") +
                   "): rows of " + std::to_string(f.first) + " values are not a whole number of " +
                   std::string(tensor_type_name(want)) + " blocks; written as F16");
    }
  }
  return by_type;
}

void set_entries(gguf::Writer& w, MetadataEntries entries) {
  for (auto& [key, value] : entries) w.set(std::move(key), std::move(value));
}

uint64_t bytes_of(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<uint64_t>(n);
}

}  // namespace

std::span<const TensorType> hf_convert_types() noexcept {
  return kTypes;
}

std::filesystem::path hf_projector_path(const std::filesystem::path& out) {
  return out.parent_path() / (out.stem().string() + ".mmproj.gguf");
}

HfConvertResult convert_hf_checkpoint(const std::filesystem::path& dir,
                                      const std::filesystem::path& out,
                                      const HfConvertOptions& options) {
  if (std::find(kTypes.begin(), kTypes.end(), options.type) == kTypes.end()) {
    throw Error(ErrorKind::unsupported, "convert: output type " +
                                            std::string(tensor_type_name(options.type)) +
                                            " is not supported");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorKind::io, dir.string() + ": not a folder");
  }
  const Config c = Config::load(dir / "config.json");
  const std::string model_type = c.str_or("model_type", "");
  if (model_type.empty()) throw c.error(ErrorKind::bad_input, "missing key model_type");
  Checkpoint ck(dir);
  Plan plan = plan_for(model_type, c, ck);
  std::optional<Plan> projector;
  if (c.has("vision_config")) {
    const Config v = c.object("vision_config");
    const std::string kind = v.str_or("projector_type", "");
    if (kind != "es-patch") {
      throw v.error(ErrorKind::unsupported, "vision_config.projector_type \"" + kind +
                                                "\" is not supported (supported: es-patch)");
    }
    projector = convert::plan_es_patch(v, ck, plan.n_embd, plan.n_vocab);
  }
  check_unused(ck, plan, model_type);
  if (options.warn) {
    for (const std::string& w : plan.warnings) options.warn(w);
  }

  gguf::Writer w;
  w.set("general.architecture", gguf::Value(plan.arch));
  w.set("general.name", gguf::Value(model_name(dir, c)));
  w.set("general.file_type", gguf::Value(file_type(options.type)));
  w.set("general.quantization_version", gguf::Value(uint32_t{2}));
  set_entries(w, std::move(plan.kv));
  set_entries(w, tokenizer_entries(dir, c, plan.n_vocab));
  HfConvertResult result;
  result.model_type = model_type;
  result.arch = plan.arch;
  result.source_dtypes = ck.dtypes();
  result.tensors_by_type = add_tensors(w, plan, options.type, options, ck.where());
  result.n_tensors = plan.tensors.size();

  // The projector goes to a temporary name first, so that a failure of either file
  // leaves neither behind.
  std::filesystem::path proj_tmp;
  if (projector) {
    gguf::Writer pw;
    pw.set("general.architecture", gguf::Value(projector->arch));
    set_entries(pw, std::move(projector->kv));
    add_tensors(pw, *projector, TensorType::F32, options, ck.where());
    result.projector = hf_projector_path(out);
    proj_tmp = result.projector;
    proj_tmp += ".partial-" + std::to_string(::getpid());
    pw.write(proj_tmp);
  }
  try {
    w.write(out);
  } catch (...) {
    if (!proj_tmp.empty()) std::filesystem::remove(proj_tmp, ec);
    throw;
  }
  if (!projector && options.warn && std::filesystem::exists(hf_projector_path(out), ec)) {
    options.warn(hf_projector_path(out).string() +
                 " is beside the output, but this checkpoint has no vision projector: it "
                 "belongs to another model (the engine would load it with this one)");
  }
  if (projector) {
    std::filesystem::rename(proj_tmp, result.projector, ec);
    if (ec) {
      std::filesystem::remove(proj_tmp, ec);
      std::filesystem::remove(out, ec);
      throw Error(ErrorKind::io, result.projector.string() +
                                     ": cannot rename the written file "
                                     "into place");
    }
    result.projector_bytes = bytes_of(result.projector);
  }
  result.n_bytes = bytes_of(out);
  return result;
}

}  // namespace es
