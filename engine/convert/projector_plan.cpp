// config.json's vision_config (projector_type "es-patch") → the es-patch projector GGUF
// that engine/model/projector.cpp reads (projector.h describes the layout). Torch's
// row-major shapes are ggml's reversed, so every tensor is copied as it is, in F32.
#include "arch_common.h"

namespace es::convert {

namespace {

/// An optional array of small non-negative integers (empty if absent).
std::vector<uint32_t> u32_list(const Config& v, std::string_view key) {
  if (!v.has(key)) return {};
  const json& a = v.root().at(std::string(key));
  std::vector<uint32_t> out;
  if (a.is_array()) {
    for (const json& x : a) {
      if (!x.is_number_unsigned() || x.get<uint64_t>() > UINT32_MAX) break;
      out.push_back(static_cast<uint32_t>(x.get<uint64_t>()));
    }
  }
  if (!a.is_array() || out.size() != a.size()) {
    throw v.error(ErrorKind::bad_input, v.key_name(key) + " is " + a.dump().substr(0, 40) +
                                            ", expected a list of non-negative integers");
  }
  return out;
}

}  // namespace

Plan plan_es_patch(const Config& v, Checkpoint& ck, uint32_t n_embd, uint32_t n_vocab) {
  Plan plan;
  plan.arch = "es-patch";
  const uint32_t image = v.u32("image_size"), patch = v.u32("patch_size");
  const uint32_t pool = v.u32_or("video_pool", 1), frames = v.u32("max_frames");
  if (patch == 0 || image == 0 || image % patch != 0 || image > 4096) {
    throw v.error(ErrorKind::bad_input, v.key_name("image_size") + " (" + std::to_string(image) +
                                            ") must be a multiple of " + v.key_name("patch_size") +
                                            " (" + std::to_string(patch) + "), at most 4096");
  }
  const uint32_t grid = image / patch;
  if (pool == 0 || grid % pool != 0) {
    throw v.error(ErrorKind::bad_input, v.key_name("video_pool") + " must divide the patch grid (" +
                                            std::to_string(grid) + ")");
  }
  if (frames == 0 || frames > 4096) {
    throw v.error(ErrorKind::bad_input, v.key_name("max_frames") + " must be 1 to 4096");
  }
  put_u32(plan, "n_embd", n_embd);
  put_u32(plan, "image_size", image);
  put_u32(plan, "patch_size", patch);
  put_u32(plan, "video_pool", pool);
  put_u32(plan, "max_frames", frames);
  for (const char* name : {"image_begin", "image_end", "video_begin", "video_end", "media_pad"}) {
    const std::string key = std::string(name) + "_token_id";
    const uint32_t id = v.u32(key);
    if (id >= n_vocab) {
      throw v.error(ErrorKind::bad_input, v.key_name(key) + " (" + std::to_string(id) +
                                              ") is outside the vocabulary (" +
                                              std::to_string(n_vocab) + " tokens)");
    }
    put_u32(plan, std::string(name) + "_token", id);
  }

  PlanBuilder b(ck, plan);
  const int64_t E = n_embd, g2 = int64_t{grid} * grid;
  const std::string p = "vision_projector.";
  // The optional convolutional stem: conv_channels[i] outputs at conv_strides[i].
  const std::vector<uint32_t> channels = u32_list(v, "conv_channels");
  const std::vector<uint32_t> strides = u32_list(v, "conv_strides");
  if (channels.size() != strides.size() || channels.size() > 16) {
    throw v.error(ErrorKind::bad_input, v.key_name("conv_channels") + " and " +
                                            v.key_name("conv_strides") +
                                            " must have the same length, at most 16");
  }
  uint32_t c_in = 3, scale = 1;
  for (size_t i = 0; i < channels.size(); ++i) {
    const uint32_t c_out = channels[i], stride = strides[i];
    if (c_out == 0 || c_out > 4096 || stride == 0 || stride > 4) {
      throw v.error(ErrorKind::bad_input, v.key_name("conv_channels") + "/" +
                                              v.key_name("conv_strides") + "[" + std::to_string(i) +
                                              "]: channels 1 to 4096 and stride 1 to 4");
    }
    scale *= stride;
    if (image % scale != 0 || patch % scale != 0) {
      throw v.error(ErrorKind::bad_input, v.key_name("conv_strides") + " (" +
                                              std::to_string(scale) +
                                              " in all) must divide image_size and patch_size");
    }
    const std::string name = "conv." + std::to_string(i);
    const SourceTensor& t = ck.get(p + name + ".weight", {c_out, c_in, 3, 3});
    const int64_t row = int64_t{9} * c_in;
    b.custom(name + ".weight", {row, c_out}, Keep::f32, [&t, row](int64_t r, float* dst) {
      Checkpoint::read(t, static_cast<uint64_t>(r * row), static_cast<uint64_t>(row), dst);
    });
    b.vector(name + ".bias", p + name + ".bias", c_out);
    put_u32(plan, name + ".stride", stride);
    c_in = c_out;
  }
  const int64_t cell = patch / scale, in = int64_t{c_in} * cell * cell;
  b.matrix("patch.weight", p + "patch.weight", E, in, Keep::f32);
  b.vector("patch.bias", p + "patch.bias", E);
  b.matrix("pos_embd.weight", p + "pos_embd", g2, E, Keep::f32);
  b.matrix("temporal_embd.weight", p + "temporal_embd", frames, E, Keep::f32);
  if (ck.has(p + "post_norm.weight")) {
    b.vector("post_norm.weight", p + "post_norm.weight", E);
    put_f32(plan, "norm_eps", v.f64_or("norm_eps", 1e-6));
  }
  return plan;
}

}  // namespace es::convert
