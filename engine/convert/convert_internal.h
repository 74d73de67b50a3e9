// Private to engine/convert: the pieces of the Hugging Face checkpoint converter
// (hf_convert.h). config.json look-ups, the checkpoint's tensors across shards, and the
// plan an architecture's mapping makes: GGUF metadata plus output tensors whose rows are
// produced on demand while the file is written (nothing is held in memory whole).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/hf_tokenizer.h"
#include "expertscope/safetensors.h"

namespace es::convert {

using nlohmann::json;

/// config.json (or any JSON object) with typed look-ups whose errors name the file and key.
class Config {
 public:
  Config(json root, std::string file) : root_(std::move(root)), file_(std::move(file)) {}
  /// Reads and parses `path` (io error if unreadable, bad_input if not a JSON object).
  static Config load(const std::filesystem::path& path);
  /// A nested object `key` as a Config (errors then name "file: key.sub").
  [[nodiscard]] Config object(std::string_view key) const;

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] const json& root() const noexcept { return root_; }
  /// Present and not null.
  [[nodiscard]] bool has(std::string_view key) const;
  /// A required non-negative integer that fits 32 bits.
  [[nodiscard]] uint32_t u32(std::string_view key) const;
  [[nodiscard]] uint32_t u32_or(std::string_view key, uint32_t fallback) const;
  /// A required number.
  [[nodiscard]] double f64(std::string_view key) const;
  [[nodiscard]] double f64_or(std::string_view key, double fallback) const;
  [[nodiscard]] bool bool_or(std::string_view key, bool fallback) const;
  [[nodiscard]] std::string str_or(std::string_view key, std::string fallback) const;

  /// "<file>: <what>" as an es::Error of `kind`.
  [[nodiscard]] Error error(ErrorKind kind, const std::string& what) const;
  /// The full name of a key in messages ("rope_scaling.factor" inside an object).
  [[nodiscard]] std::string key_name(std::string_view key) const;

 private:
  Config(json root, std::string file, std::string prefix)
      : root_(std::move(root)), file_(std::move(file)), prefix_(std::move(prefix)) {}
  [[nodiscard]] const json& required(std::string_view key) const;
  json root_;
  std::string file_;
  std::string prefix_;  ///< "rope_scaling." for a nested object.
};

/// One tensor of the checkpoint: a safetensors entry in one of the shard files.
struct SourceTensor {
  const safetensors::File* file = nullptr;
  const safetensors::TensorEntry* entry = nullptr;
};

/// The tensors of every *.safetensors file of a checkpoint folder (one file, or the
/// shards model.safetensors.index.json names), mapped and validated at construction.
class Checkpoint {
 public:
  explicit Checkpoint(const std::filesystem::path& dir);

  /// True if the checkpoint holds `name`.
  [[nodiscard]] bool has(const std::string& name) const;
  /// The tensor `name`, which must have exactly `shape` (torch order) and a float dtype
  /// (F32, F16, BF16). Marks it used. Errors name the tensor and its file: missing,
  /// wrong shape (both shapes given), unsupported dtype.
  const SourceTensor& get(const std::string& name, const std::vector<int64_t>& shape);
  /// Decodes `n` elements starting at element `first` of `t` into `dst` as floats.
  static void read(const SourceTensor& t, uint64_t first, uint64_t n, float* dst);
  /// Names of the tensors no get() asked for, sorted.
  [[nodiscard]] std::vector<std::string> unused() const;
  /// The dtypes the checkpoint's tensors use ("BF16", "F32+F16", ...).
  [[nodiscard]] std::string dtypes() const;
  /// The folder (or index file) errors about a missing tensor name.
  [[nodiscard]] const std::string& where() const noexcept { return where_; }

 private:
  void open_index(const std::filesystem::path& dir, const std::filesystem::path& index);
  void add_file(const std::filesystem::path& path);

  std::vector<std::unique_ptr<safetensors::File>> files_;
  std::unordered_map<std::string, SourceTensor> tensors_;
  std::unordered_set<std::string> used_;
  std::string where_;
};

/// Writes the floats of row `row` of an output tensor (ne[0] values; rows count over
/// ne[1], ne[2], ... with ne[1] fastest) into `dst`.
using RowFn = std::function<void(int64_t row, float* dst)>;

/// Whether an output tensor takes the requested weight type or stays F32.
enum class Keep : int {
  unset = 0,
  weight = 1,  ///< A 2-D+ weight: the requested type (F16 if its rows do not fit the blocks).
  f32 = 2,     ///< Norms, biases, the router, exp_probs_b, every 1-D tensor.
};

/// One tensor of the output GGUF.
struct OutTensor {
  std::string name;
  std::vector<int64_t> ne;  ///< ggml order: ne[0] innermost.
  Keep keep = Keep::unset;
  RowFn row;
};

/// What an architecture's mapping makes of a checkpoint.
struct Plan {
  std::string arch;    ///< GGUF general.architecture.
  MetadataEntries kv;  ///< Architecture metadata (general.* and tokenizer.* come later).
  std::vector<OutTensor> tensors;
  uint32_t n_vocab = 0;  ///< Rows of token_embd: config.json's vocab_size.
  uint32_t n_embd = 0;   ///< The model's width (hidden_size).
  /// Tensor names of the checkpoint to leave out without complaint (beyond the ones every
  /// architecture ignores), e.g. DeepSeek's multi-token-prediction layers.
  std::vector<std::string> ignore_prefixes;
  /// Caveats for the user (printed on stderr by the CLI).
  std::vector<std::string> warnings;
};

/// Adds output tensors with the usual Hugging Face → GGUF layouts.
class PlanBuilder {
 public:
  PlanBuilder(Checkpoint& ck, Plan& plan) : ck_(ck), plan_(plan) {}

  /// A torch [out, in] matrix as ggml {in, out} (the same bytes, row r = torch row r).
  void matrix(std::string gguf, const std::string& hf, int64_t out, int64_t in,
              Keep keep = Keep::weight);
  /// A torch [n] vector (or [1, n]: `shape` as torch has it) as ggml {n}, F32.
  void vector(std::string gguf, const std::string& hf, int64_t n, std::vector<int64_t> shape = {});
  /// A matrix whose output rows are reordered: output row r is torch row `perm(r)`.
  void permuted(std::string gguf, const std::string& hf, int64_t out, int64_t in,
                std::function<int64_t(int64_t)> perm);
  /// Per-expert torch [out, in] matrices `hf_prefix + e + hf_suffix` for e < n_expert,
  /// stacked as ggml {in, out, n_expert}.
  void experts(std::string gguf, const std::string& hf_prefix, const std::string& hf_suffix,
               uint32_t n_expert, int64_t out, int64_t in);
  /// An output tensor with its own row function (the tensor's rows are read by `row`).
  void custom(std::string gguf, std::vector<int64_t> ne, Keep keep, RowFn row);

  [[nodiscard]] Checkpoint& checkpoint() noexcept { return ck_; }

 private:
  Checkpoint& ck_;
  Plan& plan_;
};

/// Metadata helpers: `<arch>.<key>` entries of the plan.
void put_u32(Plan& plan, const std::string& key, uint32_t value);
void put_f32(Plan& plan, const std::string& key, double value);
void put_bool(Plan& plan, const std::string& key, bool value);
void put_str(Plan& plan, const std::string& key, std::string value);

/// Writes rope.freq_base and the rope.scaling.* keys of config.json's rope_scaling (or
/// transformers 5's rope_parameters): none, linear, or YaRN (for deepseek2 with
/// yarn_log_multiplier from mscale_all_dim). Scalings the engine cannot reproduce (llama3,
/// longrope, dynamic, YaRN with other betas or magnitudes) are refused naming the key.
void put_rope(const Config& c, Plan& plan);

// The architectures (one file each).
Plan plan_deepseek2(const Config& c, Checkpoint& ck, bool v3);
Plan plan_qwen_moe(const Config& c, Checkpoint& ck, bool qwen3);
Plan plan_olmoe(const Config& c, Checkpoint& ck);
Plan plan_mixtral(const Config& c, Checkpoint& ck);

/// The es-patch vision projector of config.json's vision_config (projector_type
/// "es-patch"): its metadata and F32 tensors. `n_embd` and `n_vocab` are the language
/// model's.
Plan plan_es_patch(const Config& vision, Checkpoint& ck, uint32_t n_embd, uint32_t n_vocab);

/// Optional warnings sink shared by the pieces (may be empty).
using WarnFn = std::function<void(const std::string&)>;

}  // namespace es::convert
