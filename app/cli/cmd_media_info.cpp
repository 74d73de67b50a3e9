// expertscope-cli media-info FILE: what a file becomes (DESIGN.md's `media-info` contract)
// as one JSON object: kind, width, height, duration_s, frames_sampled (at the default
// sampling policy), and pages / chars for documents and text.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "expertscope/media.h"

namespace es::cli {

int cmd_media_info(const Args& args) {
  args.reject_unknown_options({"-m", "--model", "--compact"});
  // -m MODEL is accepted but not used yet: with a model whose projector is loaded,
  // `n_tokens` (what the file costs in the context) will be added here.
  const std::vector<std::string> rest = args.positionals({"-m", "--model"});
  if (rest.size() != 1) throw usage_error("media-info: expected exactly one file");
  const media::ProbeResult p = media::probe(rest.front());
  nlohmann::ordered_json j{{"file", rest.front()},       {"kind", media::kind_name(p.kind)},
                           {"width", p.width},           {"height", p.height},
                           {"duration_s", p.duration_s}, {"frames_sampled", p.frames_sampled}};
  if (p.kind == media::Kind::image || p.kind == media::Kind::video) {
    j["rotation_deg"] = p.rotation_deg;
    j["container"] = p.container;
    j["codec"] = p.codec;
  }
  if (p.kind == media::Kind::document || p.kind == media::Kind::text) {
    j["pages"] = p.pages;
    j["chars"] = p.chars;
  }
  // Build the whole text first: nothing reaches stdout unless the probe is complete.
  std::string text = j.dump(args.has("--compact") ? -1 : 2);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? exit_ok : exit_internal;
}

}  // namespace es::cli
