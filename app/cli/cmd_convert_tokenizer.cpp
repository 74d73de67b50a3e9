// expertscope-cli convert-tokenizer tokenizer.json [tokenizer_config.json] -o OUT.gguf: a
// Hugging Face tokenizer as a GGUF of tokenizer metadata only, which tokenize, detokenize
// and the tests use as a model.
#include <cstdio>
#include <string>

#include "cli.h"
#include "expertscope/gguf.h"
#include "expertscope/hf_tokenizer.h"

namespace es::cli {
namespace {

/// "\"...\"" with JSON escapes, for the one-line summary.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", b);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int cmd_convert_tokenizer(const Args& args) {
  args.reject_unknown_options({"-o", "--output"});
  std::optional<std::string> out = args.value("-o");
  if (!out) out = args.value("--output");
  if (!out) throw usage_error("convert-tokenizer: no output given (-o OUT.gguf)");
  const std::vector<std::string> files = args.positionals({"-o", "--output"});
  if (files.empty() || files.size() > 2) {
    throw usage_error("convert-tokenizer: expected tokenizer.json [tokenizer_config.json]");
  }
  require_readable_file(files[0]);
  std::optional<std::filesystem::path> config;
  if (files.size() == 2) {
    require_readable_file(files[1]);
    config = files[1];
  }
  MetadataEntries entries = convert_hf_tokenizer_files(files[0], config);
  std::string pre;
  size_t n_tokens = 0, n_merges = 0;
  gguf::Writer writer;
  for (auto& [key, value] : entries) {
    if (key == "tokenizer.ggml.pre") pre = std::get<std::string>(value.data);
    if (key == "tokenizer.ggml.tokens") n_tokens = std::get<gguf::Array>(value.data).items.size();
    if (key == "tokenizer.ggml.merges") n_merges = std::get<gguf::Array>(value.data).items.size();
    writer.set(std::move(key), std::move(value));
  }
  writer.write(*out);
  std::printf("{\"output\":%s,\"model\":\"gpt2\",\"pre\":%s,\"n_tokens\":%zu,\"n_merges\":%zu}\n",
              json_string(*out).c_str(), json_string(pre).c_str(), n_tokens, n_merges);
  return exit_ok;
}

}  // namespace es::cli
