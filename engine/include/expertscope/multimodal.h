// Images and videos as model input: an attachment decoded (media.h), its frames resized
// for the vision projector and encoded (projector.h), laid out as marker tokens around
// placeholder tokens whose embeddings the projector's rows replace:
//
//   image:  [image_begin] pad × image_tokens() [image_end]
//   video:  [video_begin] (pad × frame_tokens()) per sampled frame [video_end]
//
// Every position advances by one; the placeholders are tagged image or video in the
// routing trace. A prompt is a token list plus MediaSpans saying which positions take
// projected rows.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/media.h"
#include "expertscope/projector.h"
#include "expertscope/routing.h"

namespace es {

/// One attachment made into model input.
struct EncodedMedia {
  Modality modality = Modality::unset;  ///< image or video.
  std::string name;                     ///< The file name, for messages.
  std::vector<int32_t> tokens;          ///< Markers and placeholders, in order.
  /// Rows of n_embd floats, one per placeholder (tokens equal to the projector's pad),
  /// in order.
  std::vector<float> rows;
  uint32_t n_frames = 0;            ///< Frames encoded (1 for an image).
  std::vector<double> frame_times;  ///< Seconds, for a video.
};

/// How frames are taken from a video for a projector: the default policy, capped at the
/// projector's temporal embeddings.
[[nodiscard]] media::SamplingPolicy video_policy(const Projector& projector);

/// Decodes an image or video attachment (bytes + file name) and encodes it. Throws
/// es::Error naming the file (decoding, caps) or saying what the projector cannot take.
[[nodiscard]] EncodedMedia encode_media(const Projector& projector, std::span<const uint8_t> bytes,
                                        std::string_view name);

/// The tokens an image or video costs this projector, markers included (from a probe:
/// no frame is decoded).
[[nodiscard]] uint32_t media_token_cost(const Projector& projector,
                                        const media::ProbeResult& probe);

/// Positions of a prompt whose embeddings come from projected rows.
struct MediaSpan {
  uint32_t offset = 0;          ///< First position (index into the prompt's tokens).
  uint32_t n = 0;               ///< Positions.
  const float* rows = nullptr;  ///< n rows of n_embd floats.
  Modality modality = Modality::unset;
};

/// The modality of each of `n` positions: text except inside `spans`.
[[nodiscard]] std::vector<Modality> position_modalities(uint32_t n,
                                                        std::span<const MediaSpan> spans);

}  // namespace es
