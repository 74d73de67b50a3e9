// expertscope-cli media-info FILE: what a file becomes (DESIGN.md's `media-info` contract)
// as one JSON object: kind, width, height, duration_s, frames_sampled (at the default
// sampling policy), and pages / chars for documents and text. With -m MODEL and a vision
// projector beside it: the frames that projector takes and the tokens the file costs.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "expertscope/demo_model.h"
#include "expertscope/media.h"
#include "expertscope/model.h"
#include "expertscope/multimodal.h"
#include "expertscope/projector.h"

namespace es::cli {

int cmd_media_info(const Args& args) {
  args.reject_unknown_options({"-m", "--model", "--compact"});
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
  std::optional<std::string> model_path = args.value("-m");
  if (!model_path) model_path = args.value("--model");
  if (model_path && (p.kind == media::Kind::image || p.kind == media::Kind::video)) {
    const auto path = resolve_model_name(*model_path);
    require_readable_file(path.string());
    const auto model = Model::load(path);
    const auto projector_path = Projector::find_beside(path);
    if (projector_path.empty()) {
      j["projector"] = nullptr;  // the model sees the file's name only
    } else {
      const auto projector = Projector::load(projector_path, *model);
      j["projector"] = projector_path.string();
      if (p.kind == media::Kind::video) {
        j["frames_sampled"] = media::sample_times(p.duration_s, video_policy(*projector)).size();
      }
      j["n_tokens"] = media_token_cost(*projector, p);
    }
  }
  // Build the whole text first: nothing reaches stdout unless the probe is complete.
  std::string text = j.dump(args.has("--compact") ? -1 : 2);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? exit_ok : exit_internal;
}

}  // namespace es::cli
