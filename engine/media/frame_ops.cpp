// Decoded pictures to RGB8 (colour matrix and range from the frame, transparency over
// white, rotation), and the resize / crop helpers of media.h (swscale).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "av_input.h"

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/pixdesc.h>
}

namespace es::media::detail {
namespace {

int sws_colorspace(AVColorSpace cs, int height) {
  switch (cs) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
      return SWS_CS_ITU601;
    default:
      // Untagged: what players assume (BT.709 for HD, BT.601 below).
      return height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
  }
}

bool has_alpha(AVPixelFormat fmt) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  return d != nullptr && (d->flags & (AV_PIX_FMT_FLAG_ALPHA | AV_PIX_FMT_FLAG_PAL)) != 0;
}

bool is_yuv(AVPixelFormat fmt) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  return d != nullptr && (d->flags & AV_PIX_FMT_FLAG_RGB) == 0 && d->nb_components >= 3;
}

/// EXIF orientation 1..8 as a mirror and a clockwise rotation.
void exif_orientation(const AVFrame& frame, bool& mirror, int& rotation_cw) {
  mirror = false;
  rotation_cw = 0;
  const AVDictionaryEntry* e = av_dict_get(frame.metadata, "Orientation", nullptr, 0);
  if (e == nullptr || e->value == nullptr) return;
  switch (std::atoi(e->value)) {
    case 2:
      mirror = true;
      break;
    case 3:
      rotation_cw = 180;
      break;
    case 4:
      mirror = true;
      rotation_cw = 180;
      break;
    case 5:
      mirror = true;
      rotation_cw = 270;
      break;
    case 6:
      rotation_cw = 90;
      break;
    case 7:
      mirror = true;
      rotation_cw = 90;
      break;
    case 8:
      rotation_cw = 270;
      break;
    default:
      break;
  }
}

Frame empty_frame(int w, int h) {
  Frame f;
  f.width = w;
  f.height = h;
  f.stride_bytes = w * 3;
  f.rgb.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  return f;
}

}  // namespace

Frame to_rgb(const AVFrame& frame, int rotation_cw, bool apply_exif, SwsPtr& sws) {
  const int w = frame.width;
  const int h = frame.height;
  if (w <= 0 || h <= 0) throw std::runtime_error("decoded frame without a size");
  const auto src_fmt = static_cast<AVPixelFormat>(frame.format);
  const bool alpha = has_alpha(src_fmt);
  const AVPixelFormat dst_fmt = alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
  sws.reset(sws_getCachedContext(sws.release(), w, h, src_fmt, w, h, dst_fmt,
                                 SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
                                 nullptr, nullptr));
  if (!sws) throw std::runtime_error("swscale cannot convert this pixel format");
  if (is_yuv(src_fmt)) {
    const int* coeffs = sws_getCoefficients(sws_colorspace(frame.colorspace, h));
    const int src_range = frame.color_range == AVCOL_RANGE_JPEG ? 1 : 0;
    // The deprecated yuvj formats are full range whatever the frame says.
    const bool yuvj = src_fmt == AV_PIX_FMT_YUVJ420P || src_fmt == AV_PIX_FMT_YUVJ422P ||
                      src_fmt == AV_PIX_FMT_YUVJ444P || src_fmt == AV_PIX_FMT_YUVJ440P;
    sws_setColorspaceDetails(sws.get(), coeffs, yuvj ? 1 : src_range,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
  }
  Frame out = empty_frame(w, h);
  std::vector<uint8_t> rgba;
  uint8_t* dst[4] = {out.rgb.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {w * 3, 0, 0, 0};
  if (alpha) {
    rgba.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 4);
    dst[0] = rgba.data();
    dst_stride[0] = w * 4;
  }
  const int rows = sws_scale(sws.get(), frame.data, frame.linesize, 0, h, dst, dst_stride);
  if (rows != h) throw std::runtime_error("swscale failed");
  if (alpha) {  // transparency over white
    const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
    for (size_t i = 0; i < n; ++i) {
      const unsigned a = rgba[i * 4 + 3];
      for (int c = 0; c < 3; ++c) {
        out.rgb[i * 3 + c] =
            static_cast<uint8_t>((rgba[i * 4 + c] * a + 255u * (255u - a) + 127u) / 255u);
      }
    }
  }
  bool mirror = false;
  int exif_rotation = 0;
  if (apply_exif) exif_orientation(frame, mirror, exif_rotation);
  return orient(std::move(out), (rotation_cw + exif_rotation) % 360, mirror);
}

Frame orient(Frame in, int rotation_cw, bool mirror) {
  if (mirror) {
    for (int y = 0; y < in.height; ++y) {
      uint8_t* row = in.rgb.data() + static_cast<size_t>(y) * in.stride_bytes;
      for (int a = 0, b = in.width - 1; a < b; ++a, --b) {
        std::swap_ranges(row + a * 3, row + a * 3 + 3, row + b * 3);
      }
    }
  }
  rotation_cw = ((rotation_cw % 360) + 360) % 360;
  if (rotation_cw == 0) return in;
  const bool quarter = rotation_cw != 180;
  Frame out = empty_frame(quarter ? in.height : in.width, quarter ? in.width : in.height);
  out.time_s = in.time_s;
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      int ox = x;
      int oy = y;
      if (rotation_cw == 90) {
        ox = in.height - 1 - y;
        oy = x;
      } else if (rotation_cw == 180) {
        ox = in.width - 1 - x;
        oy = in.height - 1 - y;
      } else {  // 270
        ox = y;
        oy = in.width - 1 - x;
      }
      std::memcpy(
          out.rgb.data() + static_cast<size_t>(oy) * out.stride_bytes + static_cast<size_t>(ox) * 3,
          in.pixel(x, y), 3);
    }
  }
  return out;
}

}  // namespace es::media::detail

namespace es::media {
namespace {

void check_frame(const Frame& f, const char* what) {
  if (f.width <= 0 || f.height <= 0 || f.stride_bytes < f.width * 3 ||
      f.rgb.size() < static_cast<size_t>(f.height) * static_cast<size_t>(f.stride_bytes)) {
    throw Error(ErrorKind::usage, std::string(what) + ": the frame is empty or inconsistent");
  }
}

int sws_filter(Filter f) {
  switch (f) {
    case Filter::bicubic:
      return SWS_BICUBIC;
    case Filter::bilinear:
      return SWS_BILINEAR;
    default:
      return SWS_AREA;
  }
}

}  // namespace

Frame resize(const Frame& frame, int width, int height, Filter filter) {
  check_frame(frame, "resize");
  const detail::LogCapture quiet;  // swscale's warnings stay off stderr
  if (width < 1 || height < 1) {
    throw Error(ErrorKind::usage, "resize: the size " + std::to_string(width) + "x" +
                                      std::to_string(height) + " is empty");
  }
  detail::SwsPtr sws(sws_getContext(
      frame.width, frame.height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_RGB24,
      sws_filter(filter) | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr));
  if (!sws) throw Error(ErrorKind::usage, "resize: swscale refuses this size");
  Frame out;
  out.width = width;
  out.height = height;
  out.stride_bytes = width * 3;
  out.time_s = frame.time_s;
  out.rgb.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  const uint8_t* src[4] = {frame.rgb.data(), nullptr, nullptr, nullptr};
  const int src_stride[4] = {frame.stride_bytes, 0, 0, 0};
  uint8_t* dst[4] = {out.rgb.data(), nullptr, nullptr, nullptr};
  const int dst_stride[4] = {out.stride_bytes, 0, 0, 0};
  sws_scale(sws.get(), src, src_stride, 0, frame.height, dst, dst_stride);
  return out;
}

Frame crop(const Frame& frame, int x, int y, int width, int height) {
  check_frame(frame, "crop");
  const int x0 = std::clamp(x, 0, frame.width);
  const int y0 = std::clamp(y, 0, frame.height);
  const int x1 = static_cast<int>(std::clamp<int64_t>(int64_t{x} + width, x0, frame.width));
  const int y1 = static_cast<int>(std::clamp<int64_t>(int64_t{y} + height, y0, frame.height));
  if (x1 <= x0 || y1 <= y0) throw Error(ErrorKind::usage, "crop: nothing of the frame is left");
  Frame out;
  out.width = x1 - x0;
  out.height = y1 - y0;
  out.stride_bytes = out.width * 3;
  out.time_s = frame.time_s;
  out.rgb.resize(static_cast<size_t>(out.height) * out.stride_bytes);
  for (int row = 0; row < out.height; ++row) {
    std::memcpy(out.rgb.data() + static_cast<size_t>(row) * out.stride_bytes,
                frame.pixel(x0, y0 + row), static_cast<size_t>(out.stride_bytes));
  }
  return out;
}

Frame center_crop_square(const Frame& frame) {
  check_frame(frame, "center_crop_square");
  const int side = std::min(frame.width, frame.height);
  return crop(frame, (frame.width - side) / 2, (frame.height - side) / 2, side, side);
}

Frame thumbnail(const Frame& frame, int n, Filter filter) {
  check_frame(frame, "thumbnail");
  if (n < 1) throw Error(ErrorKind::usage, "thumbnail: the size must be at least 1");
  if (frame.width <= n && frame.height <= n) return crop(frame, 0, 0, frame.width, frame.height);
  const double scale =
      std::min(static_cast<double>(n) / frame.width, static_cast<double>(n) / frame.height);
  const int w = std::clamp(static_cast<int>(std::lround(frame.width * scale)), 1, n);
  const int h = std::clamp(static_cast<int>(std::lround(frame.height * scale)), 1, n);
  return resize(frame, w, h, filter);
}

std::pair<int, int> patch_fit_size(int width, int height, const PatchFit& fit) {
  const int64_t p = fit.patch;
  if (p < 1 || width < 1 || height < 1 || fit.max_pixels < p * p) {
    throw Error(ErrorKind::usage, "patch_fit_size: an empty size or a patch that cannot fit");
  }
  auto round_to = [p](double v) { return std::max<int64_t>(p, std::llround(v / p) * p); };
  int64_t h = round_to(height);
  int64_t w = round_to(width);
  if (h * w > fit.max_pixels) {
    const double beta = std::sqrt(static_cast<double>(height) * width / fit.max_pixels);
    h = std::max<int64_t>(p, static_cast<int64_t>(std::floor(height / beta / p)) * p);
    w = std::max<int64_t>(p, static_cast<int64_t>(std::floor(width / beta / p)) * p);
    // A very long, thin picture: one side is already a single patch.
    while (h * w > fit.max_pixels && (h > p || w > p)) (h > w ? h : w) -= p;
  } else if (h * w < fit.min_pixels) {
    const double beta =
        std::sqrt(static_cast<double>(fit.min_pixels) / (static_cast<double>(height) * width));
    h = static_cast<int64_t>(std::ceil(height * beta / p)) * p;
    w = static_cast<int64_t>(std::ceil(width * beta / p)) * p;
    while (h * w > fit.max_pixels && (h > p || w > p)) (h > w ? h : w) -= p;
  }
  return {static_cast<int>(w), static_cast<int>(h)};
}

Frame resize_to_patches(const Frame& frame, const PatchFit& fit) {
  check_frame(frame, "resize_to_patches");
  const auto [w, h] = patch_fit_size(frame.width, frame.height, fit);
  if (w == frame.width && h == frame.height) return crop(frame, 0, 0, w, h);
  return resize(frame, w, h, Filter::bicubic);
}

}  // namespace es::media
