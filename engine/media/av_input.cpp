// FFmpeg plumbing: a quiet log, our own reader under the demuxer (no FFmpeg protocol is
// ever opened), the demuxer and decoder allow-lists, opening an input with its caps.
#include "av_input.h"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

namespace es::media::detail {

void FormatCloser::operator()(AVFormatContext* p) const noexcept {
  avformat_close_input(&p);
}
void CodecCloser::operator()(AVCodecContext* p) const noexcept {
  avcodec_free_context(&p);
}
void FrameCloser::operator()(AVFrame* p) const noexcept {
  av_frame_free(&p);
}
void PacketCloser::operator()(AVPacket* p) const noexcept {
  av_packet_free(&p);
}
void IoCloser::operator()(AVIOContext* p) const noexcept {
  if (p != nullptr) av_freep(&p->buffer);
  avio_context_free(&p);
}
void SwsCloser::operator()(SwsContext* p) const noexcept {
  sws_freeContext(p);
}

FramePtr make_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw std::bad_alloc();
  return f;
}

PacketPtr make_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw std::bad_alloc();
  return p;
}

// ---- FFmpeg's log ------------------------------------------------------------------------

namespace {

thread_local LogCapture* t_capture = nullptr;

void quiet_log(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_WARNING || t_capture == nullptr) return;
  char line[512];
  int print_prefix = 0;
  va_list copy;
  va_copy(copy, vl);
  av_log_format_line2(avcl, level, fmt, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  t_capture->keep(level, line);
}

std::once_flag g_log_once;

}  // namespace

LogCapture::LogCapture() : outer_(t_capture) {
  std::call_once(g_log_once, [] { av_log_set_callback(quiet_log); });
  t_capture = this;
}

LogCapture::~LogCapture() {
  t_capture = outer_;
}

std::string LogCapture::last() const {
  return error_.empty() ? warning_ : error_;
}

bool LogCapture::had_error() const noexcept {
  return !error_.empty();
}

void LogCapture::keep(int level, std::string_view line) {
  std::string text(line);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.empty()) return;
  (level <= AV_LOG_ERROR ? error_ : warning_) = std::move(text);
  if (outer_ != nullptr) outer_->keep(level, line);
}

std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

Error not_decodable(const std::string& name, const std::string& detail) {
  return Error(ErrorKind::bad_input,
               name + ": not an image or video FFmpeg can decode (" + detail + ")");
}

std::string megapixels(int64_t pixels) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(pixels) / 1e6);
  return buf;
}

// ---- Bytes -------------------------------------------------------------------------------

namespace {

class MemoryBytes final : public ByteSource {
 public:
  explicit MemoryBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  int64_t read_at(int64_t offset, uint8_t* out, int64_t n) noexcept override {
    const auto size = static_cast<int64_t>(bytes_.size());
    if (offset < 0 || n < 0) return -1;
    if (offset >= size) return 0;
    const int64_t k = std::min(n, size - offset);
    std::memcpy(out, bytes_.data() + offset, static_cast<size_t>(k));
    return k;
  }
  [[nodiscard]] int64_t size() const noexcept override {
    return static_cast<int64_t>(bytes_.size());
  }

 private:
  std::vector<uint8_t> bytes_;
};

class FileBytes final : public ByteSource {
 public:
  FileBytes(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~FileBytes() override { ::close(fd_); }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  int64_t read_at(int64_t offset, uint8_t* out, int64_t n) noexcept override {
    if (offset < 0 || n < 0) return -1;
    for (;;) {
      const ssize_t got = ::pread(fd_, out, static_cast<size_t>(n), offset);
      if (got >= 0) return got;
      if (errno != EINTR) return -1;
    }
  }
  [[nodiscard]] int64_t size() const noexcept override { return size_; }

 private:
  int fd_;
  int64_t size_;
};

std::string bytes_text(int64_t n) {
  char buf[48];
  if (n >= (int64_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1 << 30));
  } else if (n >= (int64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(n));
  }
  return buf;
}

}  // namespace

void check_file_bytes(int64_t size, const std::string& name, int64_t max_bytes) {
  if (size > max_bytes) {
    throw Error(ErrorKind::bad_input, name + ": " + bytes_text(size) + " is more than the " +
                                          bytes_text(max_bytes) + " file limit");
  }
}

std::shared_ptr<ByteSource> memory_bytes(std::span<const uint8_t> bytes) {
  return std::make_shared<MemoryBytes>(bytes);
}

std::shared_ptr<ByteSource> file_bytes(const std::filesystem::path& path, const std::string& name,
                                       int64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw Error(ErrorKind::io, name + ": no such file");
    if (err == EISDIR) throw Error(ErrorKind::io, name + ": is a directory");
    throw Error(ErrorKind::io, name + ": cannot open (" + std::strerror(err) + ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    ::close(fd);
    throw Error(ErrorKind::io, name + (dir ? ": is a directory" : ": not a regular file"));
  }
  const auto size = static_cast<int64_t>(st.st_size);
  auto src = std::make_shared<FileBytes>(fd, size);
  check_file_bytes(size, name, max_bytes);
  return src;
}

std::vector<uint8_t> head_bytes(ByteSource& src, int64_t n) {
  std::vector<uint8_t> out(static_cast<size_t>(std::clamp<int64_t>(src.size(), 0, n)));
  int64_t done = 0;
  while (done < static_cast<int64_t>(out.size())) {
    const int64_t got =
        src.read_at(done, out.data() + done, static_cast<int64_t>(out.size()) - done);
    if (got <= 0) break;
    done += got;
  }
  out.resize(static_cast<size_t>(done));
  return out;
}

// ---- The demuxer on our reader -------------------------------------------------------------

namespace {

int read_packet(void* opaque, uint8_t* buf, int n) {
  auto* r = static_cast<Reader*>(opaque);
  const int64_t got = r->src->read_at(r->pos, buf, n);
  if (got < 0) return AVERROR(EIO);
  if (got == 0) return AVERROR_EOF;
  r->pos += got;
  return static_cast<int>(got);
}

int64_t seek(void* opaque, int64_t offset, int whence) {
  auto* r = static_cast<Reader*>(opaque);
  whence &= ~AVSEEK_FORCE;
  int64_t base = 0;
  switch (whence) {
    case AVSEEK_SIZE:
      return r->src->size();
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = r->pos;
      break;
    case SEEK_END:
      base = r->src->size();
      break;
    default:
      return AVERROR(EINVAL);
  }
  if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0) return AVERROR(EINVAL);
  r->pos = base + offset;
  return r->pos;
}

/// A container may name other files (HLS playlists, concat lists, DASH manifests):
/// never open them.
int deny_io_open(AVFormatContext* /*s*/, AVIOContext** /*pb*/, const char* /*url*/, int /*flags*/,
                 AVDictionary** /*options*/) {
  return AVERROR(EPERM);
}

/// Demuxers we accept (one name of FFmpeg's comma-separated list suffices).
bool demuxer_allowed(const char* names) {
  static const std::set<std::string, std::less<>> allowed = {
      "mov",       "matroska",  "avi",      "mpegts",    "mpeg",     "flv",        "ivf",
      "h264",      "hevc",      "m4v",      "obu",       "gif",      "apng",       "png_pipe",
      "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "qoi_pipe", "jpegls_pipe"};
  std::string_view rest(names);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    if (allowed.count(rest.substr(0, comma)) != 0) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

bool is_image_demuxer(std::string_view name) {
  return name == "gif" || name == "apng" ||
         (name.size() > 5 && name.substr(name.size() - 5) == "_pipe");
}

/// Decoders we accept: still-image codecs and the common video codecs.
bool codec_allowed(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_PNG:
    case AV_CODEC_ID_APNG:
    case AV_CODEC_ID_MJPEG:
    case AV_CODEC_ID_JPEGLS:
    case AV_CODEC_ID_WEBP:
    case AV_CODEC_ID_BMP:
    case AV_CODEC_ID_TIFF:
    case AV_CODEC_ID_GIF:
    case AV_CODEC_ID_QOI:
    case AV_CODEC_ID_H264:
    case AV_CODEC_ID_HEVC:
    case AV_CODEC_ID_VP8:
    case AV_CODEC_ID_VP9:
    case AV_CODEC_ID_AV1:
    case AV_CODEC_ID_MPEG4:
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_THEORA:
    case AV_CODEC_ID_PRORES:
      return true;
    default:
      return false;
  }
}

constexpr const char* kCodecWhitelist =
    "png,apng,mjpeg,jpegls,webp,bmp,tiff,gif,qoi,h264,hevc,vp8,vp9,libvpx,libvpx-vp9,"
    "libdav1d,av1,mpeg4,mpeg1video,mpeg2video,theora,prores";

int rotation_of(const AVStream& st) {
  size_t size = 0;
  const uint8_t* m = av_stream_get_side_data(&st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (m == nullptr || size < 9 * sizeof(int32_t)) return 0;
  int32_t matrix[9];
  std::memcpy(matrix, m, sizeof matrix);
  const double ccw = av_display_rotation_get(matrix);
  if (std::isnan(ccw)) return 0;
  const long quarter = std::lround(-ccw / 90.0);
  return static_cast<int>(((quarter % 4) + 4) % 4) * 90;
}

/// "HH:MM:SS.fraction" (Matroska's per-track DURATION tag) in seconds, or -1.
double parse_clock(const char* text) {
  if (text == nullptr) return -1;
  int h = 0;
  int m = 0;
  double s = 0;
  if (std::sscanf(text, "%d:%d:%lf", &h, &m, &s) != 3 || h < 0 || m < 0 || s < 0) return -1;
  return h * 3600.0 + m * 60.0 + s;
}

}  // namespace

std::unique_ptr<OpenedInput> open_input(std::shared_ptr<ByteSource> bytes, const std::string& name,
                                        const Limits& limits) {
  LogCapture log;
  auto in = std::make_unique<OpenedInput>();
  in->bytes = std::move(bytes);
  if (in->bytes->size() == 0) throw not_decodable(name, "the file is empty");
  check_file_bytes(in->bytes->size(), name, limits.max_file_bytes);
  in->reader = std::make_unique<Reader>();
  in->reader->src = in->bytes.get();

  constexpr int kIoBuffer = 64 * 1024;
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBuffer));
  if (buffer == nullptr) throw std::bad_alloc();
  in->io.reset(
      avio_alloc_context(buffer, kIoBuffer, 0, in->reader.get(), read_packet, nullptr, seek));
  if (!in->io) {
    av_free(buffer);
    throw std::bad_alloc();
  }

  const AVInputFormat* fmt = nullptr;
  int rc = av_probe_input_buffer2(in->io.get(), &fmt, "", nullptr, 0, 0);
  if (rc < 0 || fmt == nullptr) {
    throw not_decodable(name, log.last().empty() ? "unknown format" : log.last());
  }
  if (!demuxer_allowed(fmt->name)) {
    throw Error(ErrorKind::unsupported, name + ": the container '" + fmt->name +
                                            "' is not an image or video format " +
                                            "this build accepts");
  }

  AVFormatContext* ctx = avformat_alloc_context();
  if (ctx == nullptr) throw std::bad_alloc();
  ctx->pb = in->io.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  ctx->io_open = deny_io_open;
  ctx->codec_whitelist = av_strdup(kCodecWhitelist);
  rc = avformat_open_input(&ctx, "", fmt, nullptr);  // frees ctx on failure
  if (rc < 0) {
    throw not_decodable(name, log.last().empty() ? av_error_text(rc) : log.last());
  }
  in->fmt.reset(ctx);
  rc = avformat_find_stream_info(ctx, nullptr);
  if (rc < 0) throw not_decodable(name, log.last().empty() ? av_error_text(rc) : log.last());

  rc = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (rc == AVERROR_STREAM_NOT_FOUND) throw not_decodable(name, "no picture in it");
  if (rc < 0 || rc >= static_cast<int>(ctx->nb_streams)) {
    throw not_decodable(name, log.last().empty() ? av_error_text(rc) : log.last());
  }
  in->stream_index = rc;
  AVStream* st = ctx->streams[in->stream_index];
  const AVCodecParameters* par = st->codecpar;
  const AVCodec* decoder = nullptr;
  if (par->codec_id == AV_CODEC_ID_AV1) decoder = avcodec_find_decoder_by_name("libdav1d");
  if (decoder == nullptr) decoder = avcodec_find_decoder(par->codec_id);
  if (decoder == nullptr || !codec_allowed(par->codec_id)) {
    throw Error(ErrorKind::unsupported, name + ": the video codec '" +
                                            avcodec_get_name(par->codec_id) +
                                            "' is not one this build decodes");
  }

  in->container = fmt->name;
  in->codec_name = decoder->name;
  in->kind = is_image_demuxer(fmt->name) || (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0
                 ? Kind::image
                 : Kind::video;
  in->coded_width = par->width;
  in->coded_height = par->height;
  in->rotation_cw = rotation_of(*st);
  if (par->width < 0 || par->height < 0) throw not_decodable(name, "negative picture size");
  const int64_t pixels = int64_t{par->width} * par->height;
  if (pixels > limits.max_pixels) {
    throw Error(ErrorKind::bad_input, name + ": " + std::to_string(par->width) + "x" +
                                          std::to_string(par->height) + " is more than the " +
                                          megapixels(limits.max_pixels) + "-megapixel limit");
  }

  if (in->kind == Kind::video) {
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
      in->duration_s = static_cast<double>(st->duration) * av_q2d(st->time_base);
      in->duration_exact = true;
    } else if (const AVDictionaryEntry* e = av_dict_get(st->metadata, "DURATION", nullptr, 0);
               e != nullptr && parse_clock(e->value) > 0) {
      in->duration_s = parse_clock(e->value);
      in->duration_exact = true;
    } else if (ctx->duration != AV_NOPTS_VALUE && ctx->duration > 0) {
      in->duration_s = static_cast<double>(ctx->duration) / AV_TIME_BASE;
    }
    if (!std::isfinite(in->duration_s) || in->duration_s < 0) in->duration_s = 0;
  }

  AVCodecContext* cc = avcodec_alloc_context3(decoder);
  if (cc == nullptr) throw std::bad_alloc();
  in->codec.reset(cc);
  rc = avcodec_parameters_to_context(cc, par);
  if (rc < 0) throw not_decodable(name, av_error_text(rc));
  cc->pkt_timebase = st->time_base;
  cc->max_pixels = limits.max_pixels;
  cc->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
  cc->err_recognition = AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_BUFFER;
  cc->thread_count = in->kind == Kind::image ? 1 : 0;
  rc = avcodec_open2(cc, decoder, nullptr);
  if (rc < 0) throw not_decodable(name, log.last().empty() ? av_error_text(rc) : log.last());
  return in;
}

OpenedInput::~OpenedInput() {
  codec.reset();
  fmt.reset();
  io.reset();
}

}  // namespace es::media::detail
