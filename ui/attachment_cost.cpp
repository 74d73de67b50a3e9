#include "attachment_cost.h"

#include <QObject>

#include "expertscope/document.h"
#include "expertscope/error.h"
#include "expertscope/media.h"
#include "expertscope/multimodal.h"

namespace es::ui {

namespace {

constexpr int kThumb = 40;

QImage to_qimage(const media::Frame& f) {
  QImage img(f.rgb.data(), f.width, f.height, f.stride_bytes, QImage::Format_RGB888);
  return img.copy();  // Own the pixels.
}

}  // namespace

AttachmentCost attachment_cost(const Attachment& a, const Tokenizer& tokenizer,
                               const Projector* projector) {
  AttachmentCost c;
  try {
    if (a.kind == "image" || a.kind == "video") {
      // One open: the source knows what a probe would say.
      media::Source source = media::Source::open_memory(a.data, a.file_name);
      media::ProbeResult probe;
      probe.kind = source.kind();
      probe.width = source.width();
      probe.height = source.height();
      probe.duration_s = source.duration_s();
      c.thumbnail = to_qimage(media::thumbnail(source.poster(), kThumb));
      if (probe.kind == media::Kind::video) {
        const auto frames =
            projector != nullptr
                ? media::sample_times(probe.duration_s, video_policy(*projector)).size()
                : size_t{0};
        c.detail = QObject::tr("%1 s · %2 frames sampled")
                       .arg(probe.duration_s, 0, 'f', 1)
                       .arg(static_cast<qulonglong>(frames));
      } else {
        c.detail = QStringLiteral("%1 × %2").arg(probe.width).arg(probe.height);
      }
      c.tokens = projector != nullptr ? media_token_cost(*projector, probe) : 0;
      return c;
    }
    const std::string text = media::attachment_text(a.data, a.file_name, a.mime_type);
    c.tokens = static_cast<uint32_t>(tokenizer.encode(text).size());
    if (a.kind == "pdf") {
      const media::ProbeResult probe = media::probe_memory(a.data, a.file_name);
      c.detail = QObject::tr("%n page(s)", nullptr, probe.pages);
    } else {
      c.detail = QObject::tr("%1 bytes").arg(static_cast<qulonglong>(a.data.size()));
    }
  } catch (const Error& e) {
    c.tokens = 0;
    c.error = QString::fromUtf8(e.what());
  }
  return c;
}

}  // namespace es::ui
