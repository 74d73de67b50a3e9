#include "composer.h"

#include <QBuffer>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QIcon>
#include <QImage>
#include <QImageReader>
#include <QKeyEvent>
#include <QLabel>
#include <QLocale>
#include <QMimeData>
#include <QMimeDatabase>
#include <QPixmap>
#include <QPushButton>
#include <QStringDecoder>
#include <QToolButton>
#include <QVBoxLayout>

#include "expertscope/error.h"
#include "expertscope/media.h"

namespace es::ui {

namespace {

/// Text attachments larger than this are refused (they would not fit a context anyway).
constexpr qint64 kMaxTextBytes = 4 << 20;
constexpr qint64 kMaxImageBytes = 32 << 20;
constexpr qint64 kMaxMediaBytes = qint64{512} << 20;

/// What media::probe makes of a file: image, video, document, text or unknown; a broken
/// file that claims to be media sets `error` and gives unknown.
media::Kind probe_kind(const QString& path, QString* error) {
  try {
    return media::probe(QFile::encodeName(path).toStdString()).kind;
  } catch (const Error& e) {
    *error = QString::fromUtf8(e.what());
    return media::Kind::unknown;
  }
}

}  // namespace

bool read_attachment_file(const QString& path, bool accept_images, const QString& images_why_not,
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
  const QMimeType mime = QMimeDatabase().mimeTypeForFile(info);
  const QByteArray format = QImageReader::imageFormat(&file);
  if (!format.isEmpty() && QList<QByteArray>{"png", "jpeg", "gif", "webp"}.contains(format)) {
    if (!accept_images) {
      *error = QObject::tr("%1 is an image: %2").arg(name, images_why_not);
      return false;
    }
    if (info.size() > kMaxImageBytes) {
      *error = QObject::tr("%1 is larger than 32 MiB").arg(name);
      return false;
    }
    out->kind = "image";
    file.seek(0);
    const QByteArray all = file.readAll();
    out->data.assign(all.begin(), all.end());
  } else if (const media::Kind kind = probe_kind(path, error); kind == media::Kind::video ||
                                                               kind == media::Kind::document ||
                                                               kind == media::Kind::image) {
    // Videos, PDFs and the image formats Qt does not read (BMP, TIFF ... via FFmpeg).
    if (kind != media::Kind::document && !accept_images) {
      *error =
          QObject::tr("%1 is %2: %3")
              .arg(name,
                   kind == media::Kind::video ? QObject::tr("a video") : QObject::tr("an image"),
                   images_why_not);
      return false;
    }
    if (info.size() > kMaxMediaBytes) {
      *error = QObject::tr("%1 is larger than 512 MiB").arg(name);
      return false;
    }
    out->kind = kind == media::Kind::video ? "video" : kind == media::Kind::image ? "image" : "pdf";
    const QByteArray all = file.readAll();
    out->data.assign(all.begin(), all.end());
  } else if (!error->isEmpty()) {
    return false;  // a file that claims to be media but is broken: probe said why
  } else {
    if (info.size() > kMaxTextBytes) {
      *error = QObject::tr("%1 is larger than 4 MiB; attach a smaller text file").arg(name);
      return false;
    }
    QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QByteArray all = file.readAll();
    (void)utf8.decode(all);
    if (utf8.hasError() || all.contains('\0')) {
      *error = QObject::tr(
                   "%1 (%2) is not a UTF-8 text file; this model can read text files "
                   "only")
                   .arg(name, mime.comment());
      return false;
    }
    out->kind = "text";
    out->data.assign(all.begin(), all.end());
  }
  out->file_name = name.toStdString();
  out->mime_type = (out->kind == "text" && !mime.name().startsWith(QLatin1String("text/")) &&
                    mime.name() != QLatin1String("application/json"))
                       ? "text/plain"
                       : mime.name().toStdString();
  out->size = out->data.size();
  out->sha256.clear();
  return true;
}

ComposerEdit::ComposerEdit(QWidget* parent) : QPlainTextEdit(parent) {
  setObjectName(QStringLiteral("composerEdit"));
  setPlaceholderText(tr("Ask the model…  (Enter sends, Shift+Enter for a new line)"));
  setTabChangesFocus(true);
}

void ComposerEdit::keyPressEvent(QKeyEvent* event) {
  if ((event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter) &&
      !(event->modifiers() & Qt::ShiftModifier)) {
    emit submitRequested();
    return;
  }
  if (event->key() == Qt::Key_Escape) {
    emit escapePressed();
    return;
  }
  QPlainTextEdit::keyPressEvent(event);
}

bool ComposerEdit::canInsertFromMimeData(const QMimeData* source) const {
  return source->hasImage() || source->hasUrls() || QPlainTextEdit::canInsertFromMimeData(source);
}

void ComposerEdit::insertFromMimeData(const QMimeData* source) {
  if (source->hasImage()) {
    emit imagePasted(qvariant_cast<QImage>(source->imageData()));
    return;
  }
  if (source->hasUrls()) {
    QStringList files;
    for (const QUrl& url : source->urls()) {
      if (url.isLocalFile()) files << url.toLocalFile();
    }
    if (!files.isEmpty()) {
      emit filesPasted(files);
      return;
    }
  }
  QPlainTextEdit::insertFromMimeData(source);
}

Composer::Composer(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("composer"));
  edit_ = new ComposerEdit(this);
  edit_->setMinimumHeight(fontMetrics().height() * 3);
  edit_->setMaximumHeight(fontMetrics().height() * 6);
  edit_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Maximum);
  attach_ = new QToolButton(this);
  attach_->setObjectName(QStringLiteral("attachButton"));
  attach_->setText(tr("Attach…"));
  attach_->setToolTip(tr("Attach a text file (or drop files anywhere on the window)"));
  send_ = new QPushButton(tr("Send"), this);
  send_->setObjectName(QStringLiteral("sendButton"));
  send_->setDefault(true);
  chips_ = new QWidget(this);
  chips_layout_ = new QHBoxLayout(chips_);
  chips_layout_->setContentsMargins(0, 0, 0, 0);
  chips_layout_->addStretch(1);
  chips_->hide();
  cost_ = new QLabel(this);
  cost_->setObjectName(QStringLiteral("attachmentCost"));
  cost_->setTextFormat(Qt::PlainText);
  cost_->setWordWrap(true);
  cost_->hide();

  auto* buttons = new QVBoxLayout;
  buttons->addWidget(send_);
  buttons->addWidget(attach_);
  buttons->addStretch(1);
  auto* row = new QHBoxLayout;
  row->addWidget(edit_, 1);
  row->addLayout(buttons);
  auto* column = new QVBoxLayout(this);
  column->setContentsMargins(8, 4, 8, 8);
  column->addWidget(chips_);
  column->addWidget(cost_);
  column->addLayout(row);

  connect(send_, &QPushButton::clicked, this, &Composer::onButton);
  connect(attach_, &QToolButton::clicked, this, &Composer::attachDialog);
  connect(edit_, &ComposerEdit::submitRequested, this, [this] {
    if (!busy_ && fits_) emit sendRequested();
  });
  connect(edit_, &ComposerEdit::escapePressed, this, [this] {
    if (busy_) emit stopRequested();
  });
  connect(edit_, &ComposerEdit::imagePasted, this, [this](const QImage& image) {
    QString error;
    if (!addImage(image, &error)) emit attachmentRejected(error);
  });
  connect(edit_, &ComposerEdit::filesPasted, this, [this](const QStringList& files) {
    for (const QString& f : files) {
      QString error;
      if (!addFile(f, &error)) emit attachmentRejected(error);
    }
  });
}

QString Composer::text() const {
  return edit_->toPlainText();
}

void Composer::clear() {
  edit_->clear();
  attachments_.clear();
  rebuildChips();
}

void Composer::setAcceptsImages(bool accepts, const QString& why_not) {
  accepts_images_ = accepts;
  images_why_not_ = why_not;
}

bool Composer::addFile(const QString& path, QString* error) {
  Attachment a;
  if (!read_attachment_file(path, accepts_images_, images_why_not_, &a, error)) return false;
  attachments_.push_back(std::move(a));
  rebuildChips();
  return true;
}

bool Composer::addImage(const QImage& image, QString* error) {
  if (!accepts_images_) {
    *error = tr("The pasted image cannot be used: %1").arg(images_why_not_);
    return false;
  }
  QByteArray png;
  QBuffer buffer(&png);
  buffer.open(QIODevice::WriteOnly);
  image.save(&buffer, "PNG");
  Attachment a;
  a.kind = "image";
  a.file_name = "pasted-image.png";
  a.mime_type = "image/png";
  a.data.assign(png.begin(), png.end());
  a.size = a.data.size();
  attachments_.push_back(std::move(a));
  rebuildChips();
  return true;
}

void Composer::setBusy(bool busy) {
  busy_ = busy;
  send_->setText(busy ? tr("Stop") : tr("Send"));
  send_->setToolTip(busy ? tr("Stop the answer (Esc)") : tr("Send (Enter)"));
  attach_->setEnabled(!busy);
}

void Composer::onButton() {
  if (busy_) {
    emit stopRequested();
  } else if (fits_) {
    emit sendRequested();
  }
}

void Composer::setModelInput(std::shared_ptr<const Tokenizer> tokenizer,
                             std::shared_ptr<const Projector> projector, uint32_t n_ctx) {
  tokenizer_ = std::move(tokenizer);
  projector_ = std::move(projector);
  n_ctx_ = n_ctx;
  costs_.clear();  // recomputed for the new model
  rebuildChips();
}

QString Composer::costText() const {
  return cost_->text();
}

void Composer::updateCost() {
  fits_ = true;
  if (!tokenizer_ || attachments_.empty()) {
    cost_->hide();
    send_->setEnabled(true);
    return;
  }
  uint64_t total = 0;
  for (const AttachmentCost& c : costs_) total += c.tokens;
  const QLocale locale;
  QString text = tr("Attachments: %1 tokens").arg(locale.toString(static_cast<qulonglong>(total)));
  if (n_ctx_ > 0) {
    const double share = 100.0 * static_cast<double>(total) / n_ctx_;
    text += tr(" — %1 % of the %2-token context")
                .arg(share, 0, 'f', share < 10 ? 1 : 0)
                .arg(locale.toString(n_ctx_));
    // The conversation and the answer need room too: attachments may take at most 90 %.
    fits_ = total <= uint64_t{n_ctx_} * 9 / 10;
    if (!fits_) {
      text +=
          tr(". They do not fit: remove an attachment (click its ✕) or attach a shorter "
             "part of it — nothing is cut silently.");
    }
  }
  cost_->setText(text);
  cost_->setStyleSheet(fits_ ? QString() : QStringLiteral("color: #b35c00;"));
  cost_->show();
  send_->setEnabled(fits_ || busy_);
}

void Composer::attachDialog() {
  const QStringList files = QFileDialog::getOpenFileNames(this, tr("Attach Files"));
  for (const QString& f : files) {
    QString error;
    if (!addFile(f, &error)) emit attachmentRejected(error);
  }
}

void Composer::rebuildChips() {
  while (chips_layout_->count() > 1) {
    QLayoutItem* item = chips_layout_->takeAt(0);
    delete item->widget();
    delete item;
  }
  // Costs of new attachments (those past the end of costs_).
  costs_.resize(std::min(costs_.size(), attachments_.size()));
  while (costs_.size() < attachments_.size()) {
    costs_.push_back(
        tokenizer_ ? attachment_cost(attachments_[costs_.size()], *tokenizer_, projector_.get())
                   : AttachmentCost{});
  }
  const QLocale locale;
  for (size_t i = 0; i < attachments_.size(); ++i) {
    const AttachmentCost& c = costs_[i];
    auto* chip = new QToolButton(chips_);
    chip->setObjectName(QStringLiteral("attachmentChip"));
    chip->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    QString label = QString::fromStdString(attachments_[i].file_name);
    if (tokenizer_) {
      label += c.error.isEmpty() ? tr(" · %1 tokens").arg(locale.toString(c.tokens))
                                 : tr(" · cannot be read");
    }
    chip->setText(QStringLiteral("%1  ✕").arg(label));
    if (!c.thumbnail.isNull()) {
      chip->setIcon(QIcon(QPixmap::fromImage(c.thumbnail)));
      chip->setIconSize(c.thumbnail.size());
    }
    QString tip = QString::fromStdString(attachments_[i].mime_type);
    if (!c.detail.isEmpty()) tip += QStringLiteral(" · ") + c.detail;
    if (!c.error.isEmpty()) tip += QStringLiteral("\n") + c.error;
    chip->setToolTip(tr("%1 — click to remove").arg(tip));
    connect(chip, &QToolButton::clicked, this, [this, i] {
      if (i < attachments_.size()) {
        attachments_.erase(attachments_.begin() + static_cast<long>(i));
        if (i < costs_.size()) costs_.erase(costs_.begin() + static_cast<long>(i));
      }
      rebuildChips();
    });
    chips_layout_->insertWidget(static_cast<int>(i), chip);
  }
  chips_->setVisible(!attachments_.empty());
  updateCost();
}

}  // namespace es::ui
