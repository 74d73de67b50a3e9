#include "attachment_file.h"

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QImageReader>
#include <QMimeDatabase>
#include <QStringDecoder>
#include <algorithm>
#include <span>
#include <vector>

#include "expertscope/document.h"
#include "expertscope/error.h"
#include "expertscope/media.h"

namespace es::ui {

namespace {

/// Text attachments larger than this are refused (they would not fit a context anyway).
constexpr qint64 kMaxTextBytes = 4 << 20;
constexpr qint64 kMaxImageBytes = 32 << 20;
constexpr qint64 kMaxMediaBytes = qint64{512} << 20;
std::span<const uint8_t> bytes_of(QByteArrayView b) {
  return {reinterpret_cast<const uint8_t*>(b.constData()), static_cast<size_t>(b.size())};
}

bool qt_reads_image(const QByteArray& head) {
  QByteArray copy = head;
  QBuffer buffer(&copy);
  buffer.open(QIODevice::ReadOnly);
  const QByteArray format = QImageReader::imageFormat(&buffer);
  return QList<QByteArray>{"png", "jpeg", "gif", "webp"}.contains(format);
}

QString a_kind(const std::string& kind) {
  return kind == "video" ? QObject::tr("a video") : QObject::tr("an image");
}

}  // namespace

bool check_attachment_file(const QString& path, bool accept_images, const QString& images_why_not,
                           Attachment* out, QString* error) {
  const QFileInfo info(path);
  const QString name = info.fileName();
  if (!info.isFile()) {
    *error = QObject::tr("%1: not a file").arg(path);
    return false;
  }
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = QObject::tr("%1: cannot be read (%2)").arg(path, file.errorString());
    return false;
  }
  const QByteArray head = file.read(4096);
  const QMimeType mime = QMimeDatabase().mimeTypeForFileNameAndData(name, head);
  std::string kind;
  qint64 cap = kMaxMediaBytes;
  QString cap_text = QObject::tr("%1 is larger than 512 MiB").arg(name);
  if (qt_reads_image(head)) {
    kind = "image";
    cap = kMaxImageBytes;
    cap_text = QObject::tr("%1 is larger than 32 MiB").arg(name);
  } else {
    media::Kind claim = media::claimed_kind(name.toStdString());
    if (claim == media::Kind::unknown) {
      if (media::looks_like_pdf(bytes_of(head))) {
        claim = media::Kind::document;
      } else if (!head.contains('\0')) {
        claim = media::Kind::text;
      }
    }
    switch (claim) {
      case media::Kind::image:
        kind = "image";
        break;
      case media::Kind::video:
        kind = "video";
        break;
      case media::Kind::document:
        kind = "pdf";
        cap = media::DocumentLimits{}.max_file_bytes;
        cap_text = QObject::tr("%1 is larger than %2 MiB").arg(name).arg(cap >> 20);
        break;
      case media::Kind::text:
        kind = "text";
        cap = kMaxTextBytes;
        cap_text = QObject::tr("%1 is larger than 4 MiB; attach a smaller text file").arg(name);
        break;
      default:
        kind = "file";  // only FFmpeg can tell (a video without an extension ...)
        break;
    }
  }
  if ((kind == "image" || kind == "video") && !accept_images) {
    *error = QObject::tr("%1 is %2: %3").arg(name, a_kind(kind), images_why_not);
    return false;
  }
  if (info.size() > cap) {
    *error = cap_text;
    return false;
  }
  out->kind = kind;
  out->file_name = name.toStdString();
  out->mime_type = (kind == "text" && !mime.name().startsWith(QLatin1String("text/")) &&
                    mime.name() != QLatin1String("application/json"))
                       ? "text/plain"
                       : mime.name().toStdString();
  out->size = static_cast<uint64_t>(info.size());
  out->sha256.clear();
  out->data.clear();
  return true;
}

bool load_attachment_file(const QString& path, bool accept_images, const QString& images_why_not,
                          Attachment* a, QString* error) {
  const QString name = QString::fromStdString(a->file_name);
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = QObject::tr("%1: cannot be read (%2)").arg(path, file.errorString());
    return false;
  }
  // Straight into the attachment: one copy of a large video, not two.
  std::vector<uint8_t> data(static_cast<size_t>(std::max<qint64>(file.size(), 0)));
  const qint64 got = file.read(reinterpret_cast<char*>(data.data()), file.size());
  if (got != file.size()) {
    *error = QObject::tr("%1: cannot be read (%2)").arg(path, file.errorString());
    return false;
  }
  const QByteArrayView all(data.data(), static_cast<qsizetype>(data.size()));
  const auto not_text = [&] {
    *error =
        QObject::tr(
            "%1 (%2) is not a UTF-8 text file, nor a picture, video or PDF this model "
            "can read")
            .arg(name,
                 QMimeDatabase().mimeTypeForName(QString::fromStdString(a->mime_type)).comment());
    return false;
  };
  const auto utf8_text = [&] {
    QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    (void)utf8.decode(all);
    return !utf8.hasError() && !all.contains('\0');
  };
  if (a->kind == "text") {
    if (!utf8_text()) return not_text();
  } else if (a->kind == "file") {
    // Only FFmpeg can tell. (A picture, video or PDF named as one is checked when its
    // cost is measured: opening it once is enough.)
    media::ProbeResult probe;
    try {
      probe = media::probe_memory(data, a->file_name);
    } catch (const Error& e) {
      *error = QString::fromUtf8(e.what());
      return false;
    }
    switch (probe.kind) {
      case media::Kind::image:
      case media::Kind::video:
        a->kind = probe.kind == media::Kind::video ? "video" : "image";
        if (!accept_images) {
          *error = QObject::tr("%1 is %2: %3").arg(name, a_kind(a->kind), images_why_not);
          return false;
        }
        break;
      case media::Kind::document:
        a->kind = "pdf";
        break;
      case media::Kind::text:
        if (!utf8_text()) return not_text();
        a->kind = "text";
        a->mime_type = "text/plain";
        break;
      default:
        return not_text();
    }
  }
  a->data = std::move(data);
  a->size = a->data.size();
  return true;
}

}  // namespace es::ui
