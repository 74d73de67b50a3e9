// Attachments to model input (multimodal.h).
#include "expertscope/multimodal.h"

#include <algorithm>

#include "expertscope/error.h"

namespace es {

namespace {

RgbImage for_projector(const media::Frame& frame, uint32_t size) {
  // The projector takes a square picture: the whole frame scaled to it (the aspect ratio
  // is not kept, nothing is cut off).
  const media::Frame f =
      media::resize(frame, static_cast<int>(size), static_cast<int>(size), media::Filter::area);
  RgbImage img;
  img.width = size;
  img.height = size;
  img.rgb.resize(size_t{size} * size * 3);
  for (uint32_t y = 0; y < size; ++y) {
    std::copy_n(f.rgb.data() + static_cast<size_t>(y) * static_cast<size_t>(f.stride_bytes),
                size_t{size} * 3, img.rgb.data() + size_t{y} * size * 3);
  }
  return img;
}

}  // namespace

media::SamplingPolicy video_policy(const Projector& projector) {
  media::SamplingPolicy p;
  p.max_frames = static_cast<int>(
      std::min<uint32_t>(static_cast<uint32_t>(p.max_frames), projector.max_frames()));
  return p;
}

EncodedMedia encode_media(const Projector& projector, std::span<const uint8_t> bytes,
                          std::string_view name) {
  const media::Decoded d = media::decode_memory(bytes, name, video_policy(projector));
  EncodedMedia out;
  out.name = std::string(name);
  const MediaTokens& t = projector.tokens();
  const uint32_t size = projector.image_size();
  if (d.kind == media::Kind::image) {
    out.modality = Modality::image;
    out.n_frames = 1;
    projector.encode_image(for_projector(d.frames.at(0), size), out.rows);
    out.tokens.push_back(t.image_begin);
    out.tokens.insert(out.tokens.end(), projector.image_tokens(), t.pad);
    out.tokens.push_back(t.image_end);
    return out;
  }
  if (d.kind != media::Kind::video || d.frames.empty()) {
    throw Error(ErrorKind::unsupported, std::string(name) + ": not an image or a video");
  }
  out.modality = Modality::video;
  out.tokens.push_back(t.video_begin);
  for (const media::Frame& f : d.frames) {
    if (out.n_frames >= projector.max_frames()) break;
    projector.encode_frame(for_projector(f, size), out.n_frames, out.rows);
    out.tokens.insert(out.tokens.end(), projector.frame_tokens(), t.pad);
    out.frame_times.push_back(f.time_s);
    ++out.n_frames;
  }
  out.tokens.push_back(t.video_end);
  return out;
}

uint32_t media_token_cost(const Projector& projector, const media::ProbeResult& probe) {
  if (probe.kind == media::Kind::image) return projector.image_tokens() + 2;
  if (probe.kind == media::Kind::video) {
    const auto frames = static_cast<uint32_t>(
        media::sample_times(probe.duration_s, video_policy(projector)).size());
    return frames * projector.frame_tokens() + 2;
  }
  return 0;
}

std::vector<Modality> position_modalities(uint32_t n, std::span<const MediaSpan> spans) {
  std::vector<Modality> m(n, Modality::text);
  for (const MediaSpan& s : spans) {
    for (uint32_t i = s.offset; i < std::min(n, s.offset + s.n); ++i) m[i] = s.modality;
  }
  return m;
}

}  // namespace es
