// expertscope-cli tokenize / detokenize: the model's tokenizer on its own (DESIGN.md, "The
// command-line contract"). MODEL is any GGUF with tokenizer.ggml.* keys, tensors or not
// (e.g. the output of convert-tokenizer).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "cli.h"
#include "expertscope/demo_model.h"
#include "expertscope/gguf.h"
#include "expertscope/tokenizer.h"

namespace es::cli {
namespace {

/// Options parsed in order, so that a value may itself start with '-' (--text "- item").
struct Options {
  std::map<std::string, std::string, std::less<>> values;
  std::set<std::string, std::less<>> flags;

  Options(const Args& args, std::initializer_list<std::string_view> value_options,
          std::initializer_list<std::string_view> flag_options) {
    const std::vector<std::string>& items = args.items();
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& a = items[i];
      if (std::find(value_options.begin(), value_options.end(), a) != value_options.end()) {
        if (i + 1 >= items.size()) {
          throw usage_error(args.command() + ": option " + a + " needs a value");
        }
        values[a] = items[++i];
      } else if (std::find(flag_options.begin(), flag_options.end(), a) != flag_options.end()) {
        flags.insert(a);
      } else {
        throw usage_error(args.command() + ": unexpected argument '" + a + "'");
      }
    }
  }
  [[nodiscard]] std::optional<std::string> value(std::string_view a,
                                                 std::string_view b = {}) const {
    for (const std::string_view key : {a, b}) {
      if (const auto it = values.find(key); !key.empty() && it != values.end()) return it->second;
    }
    return std::nullopt;
  }
  [[nodiscard]] bool has(std::string_view flag) const { return flags.count(flag) > 0; }
};

std::string model_option(const Args& args, const Options& opts) {
  const std::optional<std::string> path = opts.value("-m", "--model");
  if (!path) throw usage_error(args.command() + ": no model given (-m MODEL)");
  const std::string resolved = resolve_model_name(*path).string();  // "demo": the bundled model
  require_readable_file(resolved);
  return resolved;
}

std::string read_input_file(const std::string& path) {
  require_readable_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, path + ": read error");
  return std::move(ss).str();
}

}  // namespace

int cmd_tokenize(const Args& args) {
  const Options opts(args, {"-m", "--model", "--text", "--file"},
                     {"--add-special", "--no-parse-special"});
  const std::string model_path = model_option(args, opts);
  const std::optional<std::string> text = opts.value("--text");
  const std::optional<std::string> file = opts.value("--file");
  if (text.has_value() == file.has_value()) {
    throw usage_error("tokenize: give exactly one of --text S and --file F");
  }
  const std::string input = text ? *text : read_input_file(*file);
  const auto gguf = gguf::File::open(model_path);
  const Tokenizer tokenizer = Tokenizer::from_gguf(gguf);
  EncodeOptions options;
  options.add_special = opts.has("--add-special");
  options.parse_special = !opts.has("--no-parse-special");
  const std::vector<TokenId> ids = tokenizer.encode(input, options);
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return exit_ok;
}

int cmd_detokenize(const Args& args) {
  const Options opts(args, {"-m", "--model", "--tokens"}, {"--no-special", "--raw"});
  const std::string model_path = model_option(args, opts);
  const std::optional<std::string> list = opts.value("--tokens");
  if (!list) throw usage_error("detokenize: no tokens given (--tokens 1,2,3)");
  const std::vector<int32_t> ids = list->empty() ? std::vector<int32_t>{} : parse_token_list(*list);
  const auto gguf = gguf::File::open(model_path);
  const Tokenizer tokenizer = Tokenizer::from_gguf(gguf);
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<uint32_t>(id) >= tokenizer.n_tokens()) {
      throw Error(ErrorKind::bad_input, model_path + ": token id " + std::to_string(id) +
                                            " is out of range (the vocabulary has " +
                                            std::to_string(tokenizer.n_tokens()) + " tokens)");
    }
  }
  DecodeOptions options;
  options.render_special = !opts.has("--no-special");
  options.raw_bytes = opts.has("--raw");
  const std::string text = tokenizer.decode(ids, options);
  std::fwrite(text.data(), 1, text.size(), stdout);  // Exactly the text: no newline added.
  return exit_ok;
}

}  // namespace es::cli
