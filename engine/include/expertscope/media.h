// Images and videos: decoding into RGB8 frames, video frame sampling, and the resize and
// crop helpers a vision projector needs (DESIGN.md seam 5: media behind one module with
// an opaque handle).
//
// engine/media/ is the only code that includes FFmpeg; nothing here names an FFmpeg type.
// A file is read from a path or from bytes in memory (attachments are stored as blobs),
// always through our own reader: no FFmpeg protocol (file:, http:, concat: ...) is ever
// opened, and a container cannot make FFmpeg open another file.
//
// Everything that fails throws es::Error naming the file: kind io for a missing file or a
// directory, bad_input for a truncated, corrupt or unknown file and for a cap exceeded,
// unsupported for a codec this module does not decode. Nothing is returned partially:
// a video that ends early or fails to decode midway is an error, not fewer frames.
// FFmpeg's own log never reaches stderr; its last message is quoted in the error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace es::media {

namespace detail {
class ByteSource;
}

/// What a file is. Zero means "unset".
enum class Kind : int {
  unset = 0,
  image = 1,     ///< One picture (PNG, JPEG, WebP, BMP, TIFF, GIF's first frame ...).
  video = 2,     ///< Moving pictures (MP4, WebM, MKV, MOV ... with a decodable codec).
  document = 3,  ///< A PDF (text extracted page by page: document.h).
  text = 4,      ///< UTF-8 text: plain, Markdown, source code (document.h).
  unknown = 5,   ///< None of these (probe() only; decoding one is an error).
};

/// "image", "video", "document", "text", "unknown" ("unset" for Kind::unset).
[[nodiscard]] std::string_view kind_name(Kind kind) noexcept;

/// One decoded picture: RGB8, 3 bytes per pixel, top row first, rotation already applied
/// (the picture as a player would show it).
struct Frame {
  int width = 0;
  int height = 0;
  /// Bytes from one row to the next. Frames this module returns are packed:
  /// stride_bytes == 3 * width.
  int stride_bytes = 0;
  /// Presentation time of this frame in seconds from the start of the video (0 for an
  /// image): the frame a player shows at the requested time.
  double time_s = 0;
  std::vector<uint8_t> rgb;  ///< height * stride_bytes bytes.

  /// The 3 bytes of pixel (x, y); no bounds check.
  [[nodiscard]] const uint8_t* pixel(int x, int y) const noexcept {
    return rgb.data() + static_cast<size_t>(y) * static_cast<size_t>(stride_bytes) +
           static_cast<size_t>(x) * 3;
  }
};

/// Caps on what a file may make this module do. Each exceeded gives es::Error(bad_input)
/// naming the file and the limit.
struct Limits {
  int64_t max_pixels = 40'000'000;            ///< Width × height of one frame (as coded).
  double max_duration_s = 3 * 3600.0;         ///< Length of a video.
  int max_frames = 64;                        ///< Frames one sampling may return.
  int64_t max_file_bytes = int64_t{4} << 30;  ///< Size of the file or byte buffer.
};

/// Which frames of a video to decode: `target_fps` frames a second (at 0, 1/fps, 2/fps
/// ... seconds), or, when that would be more than `max_frames`, `max_frames` frames
/// uniformly over the duration (at i × duration / max_frames).
struct SamplingPolicy {
  double target_fps = 1.0;
  int max_frames = 32;
};

/// The times (seconds) `policy` samples in a video `duration_s` long: at least one (0)
/// for any duration > 0, ascending, each < duration_s. Throws es::Error(usage) for a
/// policy with target_fps <= 0 or max_frames < 1.
[[nodiscard]] std::vector<double> sample_times(double duration_s, const SamplingPolicy& policy);

/// What probe() finds without decoding every frame.
struct ProbeResult {
  Kind kind = Kind::unset;
  int width = 0;  ///< As shown (after rotation); 0 for documents and text.
  int height = 0;
  double duration_s = 0;  ///< Videos; 0 otherwise.
  int rotation_deg = 0;   ///< Clockwise rotation applied to show it: 0, 90, 180, 270.
  /// Frames the default SamplingPolicy would give: 1 for an image, 0 for documents.
  int frames_sampled = 0;
  std::string container;  ///< FFmpeg's demuxer name, "pdf" or "text".
  std::string codec;      ///< FFmpeg's decoder name (images and videos).
  int pages = 0;          ///< Documents: pages; text: 1.
  int64_t chars = 0;      ///< Documents and text: Unicode characters of the text.
};

/// What a file is, with its shape. The file's content decides, with its name (extension)
/// as the claim it must live up to: "photo.png" that holds text is an error, not text.
/// A file whose name claims nothing known is sniffed (PDF, UTF-8 text, image/video);
/// kind unknown if none fits. Throws es::Error for a missing file, a directory, a file
/// that is not what its name claims, or a cap exceeded.
[[nodiscard]] ProbeResult probe(const std::filesystem::path& path, const Limits& limits = {});
/// The same for bytes in memory; `name` is the file name used for the claim and errors.
[[nodiscard]] ProbeResult probe_memory(std::span<const uint8_t> bytes, std::string_view name,
                                       const Limits& limits = {});

/// An opened image or video (the opaque handle). Opening reads the headers and checks the
/// caps; frames are decoded on request. Not thread-safe: one thread uses a Source at a
/// time (different Sources on different threads are fine).
class Source {
 public:
  /// Opens the file at `path`. Throws es::Error (see the top of this header).
  static Source open(const std::filesystem::path& path, const Limits& limits = {});
  /// Opens bytes in memory (copied); `name` names it in errors.
  static Source open_memory(std::span<const uint8_t> bytes, std::string_view name,
                            const Limits& limits = {});

  Source(Source&&) noexcept;
  Source& operator=(Source&&) noexcept;
  ~Source();

  [[nodiscard]] Kind kind() const noexcept;                     ///< image or video.
  [[nodiscard]] int width() const noexcept;                     ///< As shown (after rotation).
  [[nodiscard]] int height() const noexcept;                    ///< As shown (after rotation).
  [[nodiscard]] double duration_s() const noexcept;             ///< 0 for an image.
  [[nodiscard]] int rotation_deg() const noexcept;              ///< Clockwise: 0, 90, 180, 270.
  [[nodiscard]] const std::string& name() const noexcept;       ///< As given.
  [[nodiscard]] const std::string& container() const noexcept;  ///< Demuxer name.
  [[nodiscard]] const std::string& codec() const noexcept;      ///< Decoder name.

  /// An image's picture, or a video's first frame.
  [[nodiscard]] Frame first_frame();
  /// The frames `policy` samples (sample_times), each the frame shown at its time, with
  /// that frame's own timestamp; an image gives its one picture. Seeks where the
  /// container has an index, else decodes straight through. Throws es::Error(bad_input)
  /// if the policy asks for more than Limits::max_frames.
  [[nodiscard]] std::vector<Frame> sample(const SamplingPolicy& policy = {});
  /// The frame shown at `time_s` (clamped to the video); an image's picture.
  [[nodiscard]] Frame frame_at(double time_s);
  /// A representative picture: an image itself, a video's frame at 10 % of its length
  /// (past a black opening, before the content starts to repeat).
  [[nodiscard]] Frame poster();

 public:
  struct Impl;  ///< Private to engine/media.

 private:
  explicit Source(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> finish_open(std::unique_ptr<Impl> impl,
                                           std::shared_ptr<detail::ByteSource> bytes);
  std::unique_ptr<Impl> impl_;
};

/// An image's picture or a video's sampled frames: what DESIGN.md calls media::decode.
struct Decoded {
  Kind kind = Kind::unset;
  std::vector<Frame> frames;  ///< One for an image, the sampled frames for a video.
  double duration_s = 0;
};

/// Opens and decodes in one call (Source::open + sample).
[[nodiscard]] Decoded decode(const std::filesystem::path& path, const SamplingPolicy& policy = {},
                             const Limits& limits = {});
/// The same for bytes in memory.
[[nodiscard]] Decoded decode_memory(std::span<const uint8_t> bytes, std::string_view name,
                                    const SamplingPolicy& policy = {}, const Limits& limits = {});

// ---- Resizing and cropping (frame_ops.cpp; swscale) -------------------------------------

/// How resize() filters: area averaging (best for shrinking), bicubic (enlarging or
/// mild shrinking), bilinear (fast).
enum class Filter : int { unset = 0, area = 1, bicubic = 2, bilinear = 3 };

/// `frame` scaled to exactly width × height (aspect not kept). Throws es::Error(usage) for
/// a size < 1 or an empty frame.
[[nodiscard]] Frame resize(const Frame& frame, int width, int height, Filter filter = Filter::area);
/// The rectangle (x, y, width, height) of `frame` (clipped to the frame; usage error if
/// nothing is left).
[[nodiscard]] Frame crop(const Frame& frame, int x, int y, int width, int height);
/// The largest centred square of `frame`.
[[nodiscard]] Frame center_crop_square(const Frame& frame);
/// `frame` scaled to fit in n × n, aspect kept (never enlarged); for previews.
[[nodiscard]] Frame thumbnail(const Frame& frame, int n, Filter filter = Filter::area);

/// Sizes for a patch projector: both sides multiples of `patch`, aspect kept as far as
/// rounding allows, width × height within [min_pixels, max_pixels] (Qwen2-VL's
/// smart_resize rule).
struct PatchFit {
  int patch = 14;
  int64_t min_pixels = 56 * 56;
  int64_t max_pixels = 1280 * 28 * 28;
};
/// The size (width, height) `fit` gives a width × height picture. usage error for a
/// patch < 1, an empty size or max_pixels < patch².
[[nodiscard]] std::pair<int, int> patch_fit_size(int width, int height, const PatchFit& fit);
/// `frame` resized (bicubic) to patch_fit_size.
[[nodiscard]] Frame resize_to_patches(const Frame& frame, const PatchFit& fit);

}  // namespace es::media
