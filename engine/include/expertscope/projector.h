// Vision projectors: what turns an image or a video's frames into embeddings a language
// model reads in place of token embeddings. A projector is a GGUF file loaded beside the
// model, as llama.cpp pairs a model with its `mmproj` file.
//
// The first implementation is the project's own patch projector (architecture
// "es-patch", below): the image, resized to image_size × image_size RGB, is cut into
// patch_size × patch_size patches; each patch (values x / 127.5 - 1, row-major, RGB
// interleaved) is projected linearly to the model's width, a learned 2-D position
// embedding is added per patch, and for video a learned temporal embedding per sampled
// frame; video frames are average-pooled by `video_pool` × `video_pool` patches first.
// An optional RMS norm (with weight) ends it. An optional convolutional stem comes first:
// 3 × 3 convolutions (padding 1, each followed by GELU) over the image's values; the patch
// projection then reads the last feature map, patch_size / (product of the strides) cells a
// side per patch (channels innermost, as RGB is in the plain case). The interface leaves room for
// ViT projectors (Qwen2.5-VL, Kimi-VL) later: a projector says what input size it wants and how
// many tokens an input costs, and encodes.
//
// GGUF layout of "es-patch":
//   general.architecture = "es-patch"
//   es-patch.n_embd, .image_size, .patch_size, .video_pool, .max_frames (u32),
//   es-patch.norm_eps (f32, with post_norm.weight)
//   es-patch.image_begin_token, .image_end_token, .video_begin_token,
//   .video_end_token, .media_pad_token (u32 token ids of the model's vocabulary)
//   patch.weight {3 p², n_embd}, patch.bias {n_embd}, pos_embd.weight {n_embd, g²},
//   temporal_embd.weight {n_embd, max_frames}, post_norm.weight {n_embd} (optional);
//   the stem, optional: conv.{i}.weight {9 c_in, c_out} (torch's [c_out, c_in, 3, 3]),
//   conv.{i}.bias {c_out}, es-patch.conv.{i}.stride (u32, 1–4) for i = 0, 1, ... (c_in of
//   conv.0 is 3); with it patch.weight is {c_last q², n_embd}, q = patch_size / strides;
//   F32 or F16.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "expertscope/gguf.h"
#include "expertscope/model.h"

namespace es {

/// An RGB8 picture, rows packed (width * 3 bytes per row).
struct RgbImage {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> rgb;
};

/// The marker tokens around a projected span.
struct MediaTokens {
  int32_t image_begin = -1;
  int32_t image_end = -1;
  int32_t video_begin = -1;
  int32_t video_end = -1;
  int32_t pad = -1;  ///< Stands for a projected position in token lists and traces.
};

class Projector {
 public:
  /// Loads the projector in `path` and checks it against `model` (width, marker ids).
  /// Throws es::Error naming the file and the problem.
  static std::unique_ptr<Projector> load(const std::filesystem::path& path, const Model& model);
  /// The projector beside a model: `<model stem>.mmproj.gguf` or `mmproj-<model file>` in
  /// the model's folder, if one exists (empty path otherwise).
  [[nodiscard]] static std::filesystem::path find_beside(const std::filesystem::path& model_path);

  virtual ~Projector() = default;

  /// The square input size an image or frame must be resized to.
  [[nodiscard]] virtual uint32_t image_size() const noexcept = 0;
  /// The most video frames it has temporal embeddings for.
  [[nodiscard]] virtual uint32_t max_frames() const noexcept = 0;
  [[nodiscard]] virtual uint32_t n_embd() const noexcept = 0;
  [[nodiscard]] virtual const MediaTokens& tokens() const noexcept = 0;
  /// Embedding rows one image becomes (markers not included).
  [[nodiscard]] virtual uint32_t image_tokens() const noexcept = 0;
  /// Embedding rows one video frame becomes (markers not included).
  [[nodiscard]] virtual uint32_t frame_tokens() const noexcept = 0;

  /// Appends image_tokens() rows of n_embd() floats for `image` (image_size() square).
  virtual void encode_image(const RgbImage& image, std::vector<float>& out) const = 0;
  /// Appends frame_tokens() rows for `image`, frame number `frame` (< max_frames()) of a
  /// video.
  virtual void encode_frame(const RgbImage& image, uint32_t frame,
                            std::vector<float>& out) const = 0;
};

}  // namespace es
