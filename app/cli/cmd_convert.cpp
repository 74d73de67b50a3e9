// expertscope-cli convert HF_DIR -o OUT.gguf [--type T]: a Hugging Face checkpoint
// (config.json, *.safetensors, tokenizer.json, tokenizer_config.json) as a GGUF, and its
// es-patch vision projector as OUT's stem + ".mmproj.gguf" when config.json has one.
// Warnings (type fallbacks, modelling caveats) go to stderr; one JSON line sums it up.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "expertscope/hf_convert.h"

namespace es::cli {
namespace {

TensorType parse_type(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto type = tensor_type_from_name(text);
  const auto allowed = hf_convert_types();
  if (type && std::find(allowed.begin(), allowed.end(), *type) != allowed.end()) return *type;
  std::string list;
  for (const TensorType t : allowed) {
    list += (list.empty() ? "" : ", ") + std::string(tensor_type_name(t));
  }
  throw usage_error("convert: unknown --type " + text + " (one of " + list + ")");
}

}  // namespace

int cmd_convert(const Args& args) {
  args.reject_unknown_options({"-o", "--output", "--type"});
  std::optional<std::string> out = args.value("-o");
  if (!out) out = args.value("--output");
  if (!out) throw usage_error("convert: no output given (-o OUT.gguf)");
  const std::vector<std::string> dirs = args.positionals({"-o", "--output", "--type"});
  if (dirs.size() != 1) throw usage_error("convert: expected one checkpoint folder HF_DIR");
  HfConvertOptions options;
  if (const auto t = args.value("--type")) options.type = parse_type(*t);
  std::error_code ec;
  if (!std::filesystem::exists(dirs[0], ec)) {
    throw Error(ErrorKind::io, dirs[0] + ": no such folder");
  }
  options.warn = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  const HfConvertResult r = convert_hf_checkpoint(dirs[0], *out, options);
  nlohmann::json j;
  j["output"] = *out;
  j["model_type"] = r.model_type;
  j["arch"] = r.arch;
  j["source_dtypes"] = r.source_dtypes;
  j["type"] = std::string(tensor_type_name(options.type));
  j["n_tensors"] = r.n_tensors;
  j["bytes"] = r.n_bytes;
  j["tensors_by_type"] = r.tensors_by_type;
  j["projector"] = r.projector.empty() ? nlohmann::json() : nlohmann::json(r.projector.string());
  if (!r.projector.empty()) j["projector_bytes"] = r.projector_bytes;
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return exit_ok;
}

}  // namespace es::cli
