// media::Source: an image or video opened on our reader, its integrity checked by one
// demux-only pass, frames decoded on request: the frame a player shows at each time.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "av_input.h"

namespace es::media {

using detail::FramePtr;
using detail::LogCapture;
using detail::OpenedInput;

namespace {

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

/// Packets of the chosen stream, read without decoding: where the video really ends
/// (seconds from its start), or an error for a file that cannot be read to its end.
struct Scan {
  double end_s = 0;
  int64_t packets = 0;
};

Scan scan_packets(OpenedInput& in, const std::string& name, const Limits& limits) {
  LogCapture log;
  AVStream* st = in.fmt->streams[in.stream_index];
  const double tb = av_q2d(st->time_base);
  const int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  const double frame_s = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0
                             ? 1.0 / av_q2d(st->avg_frame_rate)
                             : 0.0;
  auto pkt = detail::make_packet();
  Scan scan;
  for (;;) {
    const int rc = av_read_frame(in.fmt.get(), pkt.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      throw Error(ErrorKind::bad_input,
                  name + ": truncated or corrupt video (" +
                      (log.last().empty() ? detail::av_error_text(rc) : log.last()) + ")");
    }
    if (pkt->stream_index == in.stream_index) {
      if ((pkt->flags & AV_PKT_FLAG_CORRUPT) != 0) {
        throw Error(ErrorKind::bad_input, name + ": corrupt video packet");
      }
      const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      if (ts != AV_NOPTS_VALUE) {
        const double dur = pkt->duration > 0 ? static_cast<double>(pkt->duration) * tb : frame_s;
        scan.end_s = std::max(scan.end_s, static_cast<double>(ts - start) * tb + dur);
      }
      ++scan.packets;
      if (scan.end_s > limits.max_duration_s) {
        throw Error(ErrorKind::bad_input,
                    name + ": longer than the " + seconds_text(limits.max_duration_s) + " limit");
      }
    }
    av_packet_unref(pkt.get());
  }
  if (scan.packets == 0) throw detail::not_decodable(name, "no video frames in it");
  return scan;
}

}  // namespace

struct Source::Impl {
  std::string name;
  Limits limits;
  std::unique_ptr<OpenedInput> in;
  Kind kind = Kind::unset;
  int width = 0;   // as shown
  int height = 0;  // as shown
  double duration_s = 0;
  detail::SwsPtr sws;
  Frame first;  // an image's picture, a video's first frame

  // Decoding state: frames come out in presentation order.
  detail::PacketPtr pkt;
  FramePtr cur;      // the last frame at or before the last target (valid if have_cur)
  FramePtr pending;  // a decoded frame after the last target (valid if have_pending)
  bool have_cur = false;
  bool have_pending = false;
  bool flushed = false;  // the end of the stream was sent to the decoder
  bool ended = false;    // the decoder gave its last frame
  int64_t last_pts = std::numeric_limits<int64_t>::min();
  bool decoded_any = false;

  [[nodiscard]] AVStream* stream() const { return in->fmt->streams[in->stream_index]; }
  [[nodiscard]] int64_t start_pts() const {
    return stream()->start_time != AV_NOPTS_VALUE ? stream()->start_time : 0;
  }

  void reopen() {
    auto bytes = in->bytes;
    in.reset();
    in = detail::open_input(std::move(bytes), name, limits);
    reset_decoder_state();
  }

  void reset_decoder_state() {
    have_cur = have_pending = flushed = ended = false;
    last_pts = std::numeric_limits<int64_t>::min();
    decoded_any = false;
  }

  Error decode_error(const LogCapture& log, int rc, const char* what) const {
    const std::string detail = log.last().empty() ? detail::av_error_text(rc) : log.last();
    if (kind == Kind::image) return detail::not_decodable(name, detail);
    return Error(ErrorKind::bad_input, name + ": " + what + " (" + detail + ")");
  }

  /// Decodes the next frame into `out`; false at the end of the stream.
  bool next_frame(AVFrame* out) {
    LogCapture log;
    AVCodecContext* cc = in->codec.get();
    for (;;) {
      int rc = avcodec_receive_frame(cc, out);
      if (rc == 0) {
        if ((out->flags & AV_FRAME_FLAG_CORRUPT) != 0 || out->decode_error_flags != 0) {
          throw decode_error(log, AVERROR_INVALIDDATA, "corrupt frame");
        }
        // A still-image decoder that complained (a JPEG cut short: "EOI missing") gives
        // a partial picture: refuse it.
        if (kind == Kind::image &&
            (log.had_error() || log.last().find("EOI missing") != std::string::npos)) {
          throw decode_error(log, AVERROR_INVALIDDATA, "corrupt picture");
        }
        if (int64_t{out->width} * out->height > limits.max_pixels) {
          throw Error(ErrorKind::bad_input, name + ": " + std::to_string(out->width) + "x" +
                                                std::to_string(out->height) + " is more than the " +
                                                detail::megapixels(limits.max_pixels) +
                                                "-megapixel limit");
        }
        int64_t pts = out->best_effort_timestamp;
        if (pts == AV_NOPTS_VALUE || pts <= last_pts) {
          const int64_t step = out->pkt_duration > 0 ? out->pkt_duration : 1;
          pts = decoded_any ? last_pts + step : start_pts();
        }
        out->pts = pts;
        last_pts = pts;
        decoded_any = true;
        return true;
      }
      if (rc == AVERROR_EOF) {
        ended = true;
        return false;
      }
      if (rc != AVERROR(EAGAIN)) throw decode_error(log, rc, "cannot decode the video");
      if (flushed) {
        ended = true;
        return false;
      }
      // Feed one packet of our stream (or the end of the stream).
      for (;;) {
        rc = av_read_frame(in->fmt.get(), pkt.get());
        if (rc == AVERROR_EOF) {
          flushed = true;
          rc = avcodec_send_packet(cc, nullptr);
          if (rc < 0 && rc != AVERROR_EOF) throw decode_error(log, rc, "cannot decode the video");
          break;
        }
        if (rc < 0) throw decode_error(log, rc, "truncated or corrupt video");
        if (pkt->stream_index != in->stream_index) {
          av_packet_unref(pkt.get());
          continue;
        }
        rc = avcodec_send_packet(cc, pkt.get());
        av_packet_unref(pkt.get());
        if (rc < 0 && rc != AVERROR(EAGAIN)) throw decode_error(log, rc, "cannot decode the video");
        break;
      }
    }
  }

  /// Seeks to the key frame at or before `target` when that is ahead of what was decoded:
  /// decoding from there gives the same frames sooner. True if it seeked.
  bool maybe_seek(int64_t target) {
    if (!decoded_any) return false;  // at the start already
    AVStream* st = stream();
    const AVIndexEntry* e =
        avformat_index_get_entry_from_timestamp(st, target, AVSEEK_FLAG_BACKWARD);
    if (e == nullptr || (e->flags & AVINDEX_KEYFRAME) == 0) return false;
    const int64_t known = have_pending ? pending->pts : (have_cur ? cur->pts : last_pts);
    if (e->timestamp <= known) return false;
    if (av_seek_frame(in->fmt.get(), in->stream_index, e->timestamp, AVSEEK_FLAG_BACKWARD) < 0) {
      return false;  // keep decoding straight through
    }
    avcodec_flush_buffers(in->codec.get());
    reset_decoder_state();
    return true;
  }

  Frame convert(const AVFrame& f) {
    try {
      Frame out = detail::to_rgb(f, in->rotation_cw, kind == Kind::image, sws);
      out.time_s = kind == Kind::image ? 0.0
                                       : std::max(0.0, static_cast<double>(f.pts - start_pts()) *
                                                           av_q2d(stream()->time_base));
      return out;
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw detail::not_decodable(name, e.what());
    }
  }

  /// The frames shown at each of `times` (ascending seconds).
  std::vector<Frame> frames_at(const std::vector<double>& times) {
    if (!pkt) pkt = detail::make_packet();
    if (!cur) cur = detail::make_frame();
    if (!pending) pending = detail::make_frame();
    if (decoded_any || flushed) reopen();  // start over: earlier times than decoded so far
    const AVRational tb = stream()->time_base;
    bool seeking = true;
    std::vector<Frame> out;
    out.reserve(times.size());
    for (const double t : times) {
      const int64_t target =
          start_pts() +
          av_rescale_q_rnd(std::llround(t * 1e6), AVRational{1, 1000000}, tb, AV_ROUND_DOWN);
      bool seeked = kind == Kind::video && seeking && maybe_seek(target);
      for (;;) {
        if (have_pending) {
          if (pending->pts > target && have_cur) break;
          if (pending->pts > target && seeked) {
            // The key frame we seeked to is shown after `target` (reordered frames):
            // the frame shown at `target` lies before it. Start over from the beginning.
            reopen();
            seeking = false;
            seeked = false;
            continue;
          }
          std::swap(cur, pending);
          have_cur = true;
          have_pending = false;
          if (cur->pts > target) break;  // the first frame starts after `target`
        }
        if (ended || !next_frame(pending.get())) break;
        have_pending = true;
      }
      if (!have_cur) throw detail::not_decodable(name, "no frame could be decoded");
      out.push_back(convert(*cur));
      if (kind == Kind::image) break;
    }
    return out;
  }
};

Source::Source(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Source::Source(Source&&) noexcept = default;
Source& Source::operator=(Source&&) noexcept = default;
Source::~Source() = default;

namespace {

double tolerance_s(const OpenedInput& in) {
  const AVStream* st = in.fmt->streams[in.stream_index];
  const double frame_s = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0
                             ? 1.0 / av_q2d(st->avg_frame_rate)
                             : 0.1;
  if (in.duration_exact) return std::max(0.1, 2.5 * frame_s);
  // Only the container's length is known: it may include a longer audio track.
  return std::max(1.0, 0.1 * in.duration_s);
}

}  // namespace

std::unique_ptr<Source::Impl> Source::finish_open(std::unique_ptr<Impl> s,
                                                  std::shared_ptr<detail::ByteSource> bytes) {
  s->in = detail::open_input(std::move(bytes), s->name, s->limits);
  s->kind = s->in->kind;
  if (s->kind == Kind::video) {
    if (s->in->duration_s > s->limits.max_duration_s) {
      throw Error(ErrorKind::bad_input, s->name + ": " + seconds_text(s->in->duration_s) +
                                            " long, more than the " +
                                            seconds_text(s->limits.max_duration_s) + " limit");
    }
    const Scan scan = scan_packets(*s->in, s->name, s->limits);
    if (s->in->duration_s > 0 && scan.end_s < s->in->duration_s - tolerance_s(*s->in)) {
      throw Error(ErrorKind::bad_input, s->name + ": truncated: the video stops at " +
                                            seconds_text(scan.end_s) + " of its " +
                                            seconds_text(s->in->duration_s));
    }
    s->duration_s = scan.end_s;
    s->reopen();
  }
  // Decode the first picture now: a file that cannot give one fails to open, and the
  // size as shown is the decoded one.
  const std::vector<Frame> first = s->frames_at({0.0});
  s->first = first.front();
  s->width = s->first.width;
  s->height = s->first.height;
  return s;
}

Source Source::open(const std::filesystem::path& path, const Limits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->name = path.string();
  impl->limits = limits;
  auto bytes = detail::file_bytes(path, impl->name, limits.max_file_bytes);
  return Source(finish_open(std::move(impl), std::move(bytes)));
}

Source Source::open_memory(std::span<const uint8_t> bytes, std::string_view name,
                           const Limits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::string(name);
  impl->limits = limits;
  detail::check_file_bytes(static_cast<int64_t>(bytes.size()), impl->name, limits.max_file_bytes);
  return Source(finish_open(std::move(impl), detail::memory_bytes(bytes)));
}

Kind Source::kind() const noexcept {
  return impl_->kind;
}
int Source::width() const noexcept {
  return impl_->width;
}
int Source::height() const noexcept {
  return impl_->height;
}
double Source::duration_s() const noexcept {
  return impl_->duration_s;
}
int Source::rotation_deg() const noexcept {
  return impl_->in->rotation_cw;
}
const std::string& Source::name() const noexcept {
  return impl_->name;
}
const std::string& Source::container() const noexcept {
  return impl_->in->container;
}
const std::string& Source::codec() const noexcept {
  return impl_->in->codec_name;
}

Frame Source::first_frame() {
  return impl_->first;
}

std::vector<Frame> Source::sample(const SamplingPolicy& policy) {
  if (policy.max_frames > impl_->limits.max_frames) {
    throw Error(ErrorKind::bad_input,
                impl_->name + ": sampling " + std::to_string(policy.max_frames) +
                    " frames is more than the " + std::to_string(impl_->limits.max_frames) +
                    "-frame limit");
  }
  const std::vector<double> times = sample_times(impl_->duration_s, policy);
  if (impl_->kind == Kind::image) return {impl_->first};
  return impl_->frames_at(times);
}

Frame Source::frame_at(double time_s) {
  if (impl_->kind == Kind::image) return impl_->first;
  double t = std::isfinite(time_s) ? std::clamp(time_s, 0.0, impl_->duration_s) : 0.0;
  return impl_->frames_at({t}).front();
}

Frame Source::poster() {
  if (impl_->kind == Kind::image) return impl_->first;
  return frame_at(0.1 * impl_->duration_s);
}

std::vector<double> sample_times(double duration_s, const SamplingPolicy& policy) {
  if (!(policy.target_fps > 0) || !std::isfinite(policy.target_fps) || policy.max_frames < 1) {
    throw Error(ErrorKind::usage, "sampling policy: target_fps must be > 0 and max_frames >= 1");
  }
  if (!(duration_s > 0) || !std::isfinite(duration_s)) return {0.0};
  const double at_fps = std::ceil(duration_s * policy.target_fps - 1e-9);
  std::vector<double> times;
  if (at_fps <= policy.max_frames) {
    const auto n = std::max<int64_t>(1, static_cast<int64_t>(at_fps));
    for (int64_t i = 0; i < n; ++i) times.push_back(static_cast<double>(i) / policy.target_fps);
  } else {
    const int n = policy.max_frames;
    for (int i = 0; i < n; ++i) times.push_back(duration_s * i / n);
  }
  return times;
}

std::string_view kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::image:
      return "image";
    case Kind::video:
      return "video";
    case Kind::document:
      return "document";
    case Kind::text:
      return "text";
    case Kind::unknown:
      return "unknown";
    default:
      return "unset";
  }
}

Decoded decode(const std::filesystem::path& path, const SamplingPolicy& policy,
               const Limits& limits) {
  Source s = Source::open(path, limits);
  Decoded d;
  d.kind = s.kind();
  d.duration_s = s.duration_s();
  d.frames = s.sample(policy);
  return d;
}

Decoded decode_memory(std::span<const uint8_t> bytes, std::string_view name,
                      const SamplingPolicy& policy, const Limits& limits) {
  Source s = Source::open_memory(bytes, name, limits);
  Decoded d;
  d.kind = s.kind();
  d.duration_s = s.duration_s();
  d.frames = s.sample(policy);
  return d;
}

}  // namespace es::media
