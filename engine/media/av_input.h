// Private to engine/media: FFmpeg plumbing shared by the decoder and the resize helpers.
// The only header of the project that includes FFmpeg headers (with av_input.cpp,
// source.cpp and frame_ops.cpp that include it).
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expertscope/error.h"
#include "expertscope/media.h"

namespace es::media::detail {

// ---- Owning pointers ---------------------------------------------------------------------

struct FormatCloser {
  void operator()(AVFormatContext* p) const noexcept;
};
struct CodecCloser {
  void operator()(AVCodecContext* p) const noexcept;
};
struct FrameCloser {
  void operator()(AVFrame* p) const noexcept;
};
struct PacketCloser {
  void operator()(AVPacket* p) const noexcept;
};
struct IoCloser {
  void operator()(AVIOContext* p) const noexcept;
};
struct SwsCloser {
  void operator()(SwsContext* p) const noexcept;
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecCloser>;
using FramePtr = std::unique_ptr<AVFrame, FrameCloser>;
using PacketPtr = std::unique_ptr<AVPacket, PacketCloser>;
using IoPtr = std::unique_ptr<AVIOContext, IoCloser>;
using SwsPtr = std::unique_ptr<SwsContext, SwsCloser>;

[[nodiscard]] FramePtr make_frame();
[[nodiscard]] PacketPtr make_packet();

// ---- FFmpeg's log ------------------------------------------------------------------------

/// While alive on a thread, FFmpeg's messages logged on that thread are kept here (the
/// last error, else the last warning) instead of printed. FFmpeg's log goes nowhere
/// else, ever: the first LogCapture installs a quiet callback for the whole process.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  /// The last message kept (trimmed, one line), or "".
  [[nodiscard]] std::string last() const;
  /// True if an error-level message was kept.
  [[nodiscard]] bool had_error() const noexcept;
  void keep(int level, std::string_view line);

 private:
  LogCapture* outer_;
  std::string error_;
  std::string warning_;
};

/// FFmpeg's text for an AVERROR code.
[[nodiscard]] std::string av_error_text(int code);

// ---- Input -------------------------------------------------------------------------------

/// The bytes of an input: a whole buffer in memory, or a file read on demand.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to `n` bytes at `offset`; 0 at the end. Throws nothing (returns -1 on error).
  virtual int64_t read_at(int64_t offset, uint8_t* out, int64_t n) noexcept = 0;
  [[nodiscard]] virtual int64_t size() const noexcept = 0;
};

/// Bytes copied into memory.
[[nodiscard]] std::shared_ptr<ByteSource> memory_bytes(std::span<const uint8_t> bytes);
/// A regular file (opened now: es::Error io for a missing file or a directory, bad_input
/// for more than `max_bytes`).
[[nodiscard]] std::shared_ptr<ByteSource> file_bytes(const std::filesystem::path& path,
                                                     const std::string& name, int64_t max_bytes);

/// The first up-to-n bytes of `src`.
[[nodiscard]] std::vector<uint8_t> head_bytes(ByteSource& src, int64_t n);

/// Throws es::Error(bad_input) naming `name` if `size` is more than `max_bytes`.
void check_file_bytes(int64_t size, const std::string& name, int64_t max_bytes);

/// Where the demuxer's reader is in a ByteSource.
struct Reader {
  ByteSource* src = nullptr;
  int64_t pos = 0;
};

/// A demuxer opened on our own reader, with the stream chosen and its decoder set up.
struct OpenedInput {
  OpenedInput() = default;
  OpenedInput(const OpenedInput&) = delete;
  OpenedInput& operator=(const OpenedInput&) = delete;
  ~OpenedInput();  ///< Closes the decoder, then the demuxer, then the reader.

  std::shared_ptr<ByteSource> bytes;
  std::unique_ptr<Reader> reader;
  IoPtr io;
  FormatPtr fmt;
  CodecPtr codec;
  int stream_index = -1;
  Kind kind = Kind::unset;
  int rotation_cw = 0;  ///< Clockwise degrees to show the coded picture upright.
  int coded_width = 0;
  int coded_height = 0;
  double duration_s = 0;        ///< From the headers; 0 when unknown or an image.
  bool duration_exact = false;  ///< The video stream's own duration (not the container's).
  std::string container;
  std::string codec_name;
};

/// Opens `bytes` as an image or video: probes the container (only demuxers on our list),
/// picks the best video stream, checks its codec (only decoders on our list) and the
/// caps, opens the decoder. Throws es::Error naming `name`.
[[nodiscard]] std::unique_ptr<OpenedInput> open_input(std::shared_ptr<ByteSource> bytes,
                                                      const std::string& name,
                                                      const Limits& limits);

/// The error for a file FFmpeg cannot decode: "NAME: not an image or video FFmpeg can
/// decode (DETAIL)".
[[nodiscard]] Error not_decodable(const std::string& name, const std::string& detail);

/// A decoded AVFrame as a packed RGB8 Frame (swscale), rotated clockwise by `rotation_cw`
/// and, for images, by the EXIF orientation the decoder attached.
[[nodiscard]] Frame to_rgb(const AVFrame& frame, int rotation_cw, bool apply_exif, SwsPtr& sws);

/// `frame` rotated clockwise by 90, 180 or 270 degrees (0: unchanged), after a
/// horizontal mirror when `mirror`.
[[nodiscard]] Frame orient(Frame frame, int rotation_cw, bool mirror);

/// "3840x2160 is more than the 16.0-megapixel limit" style numbers.
[[nodiscard]] std::string megapixels(int64_t pixels);

}  // namespace es::media::detail
