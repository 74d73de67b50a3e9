// expertscope-cli info MODEL.gguf: the JSON summary of DESIGN.md's `info` contract.
#include <cstdio>

#include "cli.h"
#include "expertscope/demo_model.h"
#include "expertscope/gguf.h"
#include "expertscope/model_info.h"

namespace es::cli {

int cmd_info(const Args& args) {
  args.reject_unknown_options({"-m", "--model", "--compact"});
  std::optional<std::string> model = args.value("-m");
  if (!model) model = args.value("--model");
  const std::vector<std::string> rest = args.positionals({"-m", "--model"});
  if (!model && rest.size() == 1) {
    model = rest.front();
  } else if (!model || !rest.empty()) {
    throw usage_error("info: expected exactly one model file");
  }
  *model = resolve_model_name(*model).string();  // "demo": the bundled model
  require_readable_file(*model);
  const gguf::File file = gguf::File::open(*model);
  const ModelSummary summary = summarize(file);
  // Build the whole text first: nothing reaches stdout unless the summary is complete.
  std::string text = summary_json(summary, args.has("--compact") ? -1 : 2);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? exit_ok : exit_internal;
}

}  // namespace es::cli
