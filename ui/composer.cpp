#include "composer.h"

#include <QBuffer>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QImage>
#include <QKeyEvent>
#include <QLabel>
#include <QLocale>
#include <QMimeData>
#include <QPixmap>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <utility>

#include "expertscope/chat_session.h"
#include "expertscope/error.h"
#include "off_ui.h"

namespace es::ui {

namespace {

/// Typing stops this long before the typed text is counted.
constexpr int kTypedDelayMs = 150;

}  // namespace

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

// ---- Measuring off the UI thread -------------------------------------------------------

/// One attachment of the composer.
struct Composer::Item {
  uint64_t id = 0;
  /// Kind, name, MIME type, size and kept_units; no data (that is in `loaded`).
  Attachment info;
  /// The attachment with its data once read (kept_units 0 there: `info` says what is
  /// kept). Immutable: workers share it.
  std::shared_ptr<const Attachment> loaded;
  QString path;   ///< The file to read, until read.
  QImage pasted;  ///< The picture to encode, until encoded.
  AttachmentCost cost;
  uint64_t ticket = 0;  ///< The measurement awaited; 0: measured.
};

/// One measurement: what a worker needs (copied or shared, never the Item) and what it
/// finds.
struct Composer::Job {
  // In.
  Attachment info;
  std::shared_ptr<const Attachment> loaded;
  QString path;
  QImage pasted;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const Projector> projector;
  bool accept_images = false;
  QString images_why_not;
  AttachmentCost whole;     ///< A document's whole cost already measured (for a fit).
  uint32_t fit_budget = 0;  ///< Truncate to this many tokens (0: do not).
  // Out.
  QString rejected;  ///< The attachment cannot be used.
  QString fit_error;
  uint32_t kept_units = 0;
  AttachmentCost cost;

  void run() {
    try {
      measure();
    } catch (const std::exception& e) {  // e.g. out of memory: the attachment is refused
      rejected = QStringLiteral("%1: %2").arg(QString::fromStdString(info.file_name),
                                              QString::fromUtf8(e.what()));
    }
  }

  void measure() {
    if (!loaded) {
      Attachment a = info;
      if (!pasted.isNull()) {
        QByteArray png;
        QBuffer buffer(&png);
        buffer.open(QIODevice::WriteOnly);
        pasted.save(&buffer, "PNG");
        a.data.assign(png.begin(), png.end());
        a.size = a.data.size();
      } else if (!load_attachment_file(path, accept_images, images_why_not, &a, &rejected)) {
        return;
      }
      a.kept_units = 0;
      loaded = std::make_shared<const Attachment>(std::move(a));
    }
    kept_units = info.kept_units;
    if (!tokenizer) return;
    if (!whole.document) whole = attachment_cost(*loaded, *tokenizer, projector.get());
    if (!whole.error.isEmpty()) {
      rejected = whole.error;
      return;
    }
    if (fit_budget > 0 && whole.document) {
      const DocumentFit fit =
          fit_document(*whole.document, whole.whole_tokens, *tokenizer, fit_budget);
      if (fit.error.isEmpty()) {
        kept_units = fit.kept_units;
      } else {
        fit_error =
            QStringLiteral("%1: %2").arg(QString::fromStdString(loaded->file_name), fit.error);
      }
    }
    cost = with_kept_units(whole, kept_units, *tokenizer);
  }
};

Composer::Composer(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("composer"));
  edit_ = new ComposerEdit(this);
  edit_->setMinimumHeight(fontMetrics().height() * 3);
  edit_->setMaximumHeight(fontMetrics().height() * 6);
  edit_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Maximum);
  attach_ = new QToolButton(this);
  attach_->setObjectName(QStringLiteral("attachButton"));
  attach_->setText(tr("Attach…"));
  attach_->setToolTip(
      tr("Attach a text file, PDF, picture or video (or drop files anywhere on the window)"));
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

  typed_timer_.setSingleShot(true);
  typed_timer_.setInterval(kTypedDelayMs);
  connect(&typed_timer_, &QTimer::timeout, this, &Composer::countTyped);
  connect(edit_, &QPlainTextEdit::textChanged, this, [this] {
    if (edit_->document()->isEmpty()) {
      typed_timer_.stop();
      typed_ticket_ = 0;
      typed_tokens_ = 0;
      updateCost();
    } else {
      typed_timer_.start();
    }
  });
  connect(send_, &QPushButton::clicked, this, &Composer::onButton);
  connect(attach_, &QToolButton::clicked, this, &Composer::attachDialog);
  connect(edit_, &ComposerEdit::submitRequested, this, [this] {
    if (!busy_ && sendable()) emit sendRequested();
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

Composer::~Composer() = default;  // results of workers still running are dropped

QString Composer::text() const {
  return edit_->toPlainText();
}

std::vector<Attachment> Composer::attachments() const {
  std::vector<Attachment> out;
  out.reserve(items_.size());
  for (const auto& item : items_) {
    Attachment a = item->loaded ? *item->loaded : item->info;
    a.kind = item->info.kind;
    a.kept_units = item->info.kept_units;
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<AttachmentCost> Composer::costs() const {
  std::vector<AttachmentCost> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item->cost);
  return out;
}

bool Composer::measuring(size_t i) const {
  return i < items_.size() && items_[i]->ticket != 0;
}

bool Composer::measuring() const {
  return std::any_of(items_.begin(), items_.end(),
                     [](const auto& item) { return item->ticket != 0; });
}

uint64_t Composer::totalTokens() const {
  uint64_t total = uint64_t{conversation_tokens_} + typed_tokens_;
  for (const auto& item : items_) total += item->cost.tokens;
  return total;
}

void Composer::clear() {
  edit_->clear();
  items_.clear();
  typed_tokens_ = 0;
  typed_ticket_ = 0;
  rebuildChips();
}

void Composer::setAcceptsImages(bool accepts, const QString& why_not) {
  accepts_images_ = accepts;
  images_why_not_ = why_not;
}

size_t Composer::indexOf(uint64_t id) const {
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i]->id == id) return i;
  }
  return items_.size();
}

bool Composer::addFile(const QString& path, QString* error) {
  auto item = std::make_unique<Item>();
  if (!check_attachment_file(path, accepts_images_, images_why_not_, &item->info, error)) {
    return false;
  }
  item->id = next_id_++;
  item->path = path;
  startMeasure(*item);
  items_.push_back(std::move(item));
  rebuildChips();
  return true;
}

bool Composer::addImage(const QImage& image, QString* error) {
  if (!accepts_images_) {
    *error = tr("The pasted image cannot be used: %1").arg(images_why_not_);
    return false;
  }
  auto item = std::make_unique<Item>();
  item->id = next_id_++;
  item->info.kind = "image";
  item->info.file_name = "pasted-image.png";
  item->info.mime_type = "image/png";
  item->pasted = image;
  startMeasure(*item);
  items_.push_back(std::move(item));
  rebuildChips();
  return true;
}

void Composer::startMeasure(Item& item, uint32_t fit_budget) {
  auto job = std::make_shared<Job>();
  job->info = item.info;
  job->loaded = item.loaded;
  job->path = item.path;
  job->pasted = item.pasted;
  job->tokenizer = tokenizer_;
  job->projector = projector_;
  job->accept_images = accepts_images_;
  job->images_why_not = images_why_not_;
  job->fit_budget = fit_budget;
  // A model's costs stay valid for a truncation; a new model measures everything again.
  if (fit_budget > 0 && item.ticket == 0 && item.cost.document) job->whole = item.cost;
  const uint64_t ticket = next_ticket_++;
  item.ticket = ticket;
  const uint64_t id = item.id;
  run_off_ui(
      this,
      [job] {
        job->run();
        return job;
      },
      [this, id, ticket](const std::shared_ptr<Job>& done) { ui_measured(id, ticket, done); });
}

void Composer::ui_measured(uint64_t id, uint64_t ticket, const std::shared_ptr<Job>& job) {
  const size_t i = indexOf(id);
  if (i == items_.size() || items_[i]->ticket != ticket) return;  // removed, or measured again
  Item& item = *items_[i];
  if (!job->rejected.isEmpty()) {
    items_.erase(items_.begin() + static_cast<ptrdiff_t>(i));
    rebuildChips();
    emit attachmentRejected(job->rejected);
    return;
  }
  item.ticket = 0;
  item.loaded = job->loaded;
  item.path.clear();
  item.pasted = QImage();
  item.info.kind = item.loaded->kind;
  item.info.mime_type = item.loaded->mime_type;
  item.info.size = item.loaded->size;
  item.info.kept_units = job->kept_units;
  item.cost = job->cost;
  rebuildChips();
  if (!job->fit_error.isEmpty()) emit attachmentRejected(job->fit_error);
}

void Composer::setBusy(bool busy) {
  busy_ = busy;
  send_->setText(busy ? tr("Stop") : tr("Send"));
  attach_->setEnabled(!busy);
  updateCost();
}

void Composer::onButton() {
  if (busy_) {
    emit stopRequested();
  } else if (sendable()) {
    emit sendRequested();
  }
}

void Composer::setModelInput(std::shared_ptr<const Tokenizer> tokenizer,
                             std::shared_ptr<const Projector> projector, uint32_t n_ctx,
                             std::string chat_template) {
  tokenizer_ = std::move(tokenizer);
  projector_ = std::move(projector);
  n_ctx_ = n_ctx;
  chat_template_ = std::move(chat_template);
  for (auto& item : items_) {
    item->cost = AttachmentCost{};
    startMeasure(*item);  // for the new model
  }
  countConversation();
  typed_tokens_ = 0;
  countTyped();
  rebuildChips();
}

void Composer::setConversation(std::shared_ptr<const Session> session) {
  conversation_ = std::move(session);
  countConversation();
  updateCost();
}

void Composer::countConversation() {
  conversation_tokens_ = 0;
  conversation_ticket_ = 0;
  if (!tokenizer_) return;
  const uint64_t ticket = next_ticket_++;
  conversation_ticket_ = ticket;
  run_off_ui(
      this,
      [tokenizer = tokenizer_, projector = projector_, source = chat_template_,
       session = conversation_] {
        std::pair<uint32_t, QString> r;
        try {
          Message next;
          next.role = "user";
          const std::vector<Message> none;
          r.first = count_chat_prompt(source, *tokenizer, projector.get(),
                                      session ? session->messages : none, next);
        } catch (const std::exception& e) {
          r.second = QString::fromUtf8(e.what());
        }
        return r;
      },
      [this, ticket](const std::pair<uint32_t, QString>& r) {
        if (conversation_ticket_ != ticket) return;
        conversation_ticket_ = 0;
        conversation_tokens_ = r.first;
        if (!r.second.isEmpty()) emit attachmentRejected(tr("The conversation: %1").arg(r.second));
        updateCost();
      });
}

void Composer::countTyped() {
  typed_ticket_ = 0;
  const QString text = edit_->toPlainText();
  if (!tokenizer_ || text.isEmpty()) {
    typed_tokens_ = 0;
    updateCost();
    return;
  }
  const uint64_t ticket = next_ticket_++;
  typed_ticket_ = ticket;
  run_off_ui(
      this,
      [tokenizer = tokenizer_, utf8 = text.toStdString()] {
        try {
          return static_cast<uint32_t>(tokenizer->encode(utf8).size());
        } catch (const std::exception&) {
          return uint32_t{0};  // the turn itself reports what is wrong with the text
        }
      },
      [this, ticket](uint32_t n) {
        if (typed_ticket_ != ticket) return;
        typed_ticket_ = 0;
        typed_tokens_ = n;
        updateCost();
      });
}

bool Composer::canTruncate(size_t i) const {
  if (fits_ || i >= items_.size()) return false;
  const Item& item = *items_[i];
  return item.ticket == 0 && item.cost.document && item.cost.units > 1 &&
         (item.info.kept_units == 0 || item.info.kept_units > 1);
}

void Composer::truncateToFit(size_t i) {
  if (!canTruncate(i)) return;
  Item& item = *items_[i];
  // The room the rest of the turn leaves this attachment.
  const uint64_t others = totalTokens() - item.cost.tokens;
  const uint64_t budget = promptBudget();
  if (others >= budget) {
    emit attachmentRejected(
        tr("%1 cannot be truncated to fit: the rest of the message already takes %2 of the %3 "
           "tokens the prompt may take; remove another attachment or start a new chat")
            .arg(QString::fromStdString(item.info.file_name), QLocale().toString(others),
                 QLocale().toString(budget)));
    return;
  }
  startMeasure(item, static_cast<uint32_t>(budget - others));
  rebuildChips();
}

void Composer::removeAttachment(size_t i) {
  if (i >= items_.size()) return;
  items_.erase(items_.begin() + static_cast<ptrdiff_t>(i));
  rebuildChips();
}

QString Composer::costText() const {
  return cost_->text();
}

void Composer::updateCost() {
  fits_ = true;
  if (!tokenizer_) {
    cost_->hide();
    send_->setEnabled(busy_ || !measuring());
    send_->setToolTip(busy_ ? tr("Stop the answer (Esc)") : tr("Send (Enter)"));
    emit costsChanged();
    return;
  }
  uint64_t attached = 0;
  bool truncatable = false;
  for (const auto& item : items_) {
    attached += item->cost.tokens;
    truncatable = truncatable || (item->cost.document && item->cost.units > 1);
  }
  const uint64_t total = totalTokens();
  const QLocale locale;
  const auto n = [&](uint64_t v) { return locale.toString(static_cast<qulonglong>(v)); };
  QString text = tr("Context: %1 of %2 tokens").arg(n(total), n(n_ctx_));
  if (n_ctx_ > 0) {
    const double share = 100.0 * static_cast<double>(total) / n_ctx_;
    text += tr(" (%1 %)").arg(share, 0, 'f', share < 10 ? 1 : 0);
  }
  QStringList parts;
  parts << (conversation_ticket_ != 0 ? tr("conversation: counting…")
                                      : tr("conversation %1").arg(n(conversation_tokens_)));
  parts << tr("message %1").arg(n(typed_tokens_));
  if (!items_.empty()) parts << tr("attachments %1").arg(n(attached));
  text += QStringLiteral(" — ") + parts.join(QStringLiteral(" · "));
  if (measuring()) {
    text += tr(". Measuring… Send waits until every cost is known.");
  } else if (n_ctx_ > 0) {
    fits_ = total <= promptBudget();
    if (!fits_) {
      text += tr(". Too long: the prompt may take %1 tokens, leaving the rest for the answer. ")
                  .arg(n(promptBudget()));
      if (truncatable) {
        text +=
            tr("Truncate a document to fit (its first pages or lines are kept, and the model "
               "is told) or remove an attachment; nothing is cut silently.");
      } else if (!items_.empty()) {
        text += tr("Remove an attachment (click its ✕); nothing is cut silently.");
      } else {
        text += tr("Shorten the message or start a new chat.");
      }
    }
  }
  cost_->setText(text);
  cost_->setStyleSheet(fits_ ? QStringLiteral("color: gray;") : QStringLiteral("color: #b35c00;"));
  cost_->show();
  send_->setEnabled(busy_ || sendable());
  send_->setToolTip(busy_         ? tr("Stop the answer (Esc)")
                    : measuring() ? tr("Waiting for the attachments' costs")
                    : !fits_      ? tr("The message does not fit the context")
                                  : tr("Send (Enter)"));
  // The truncate buttons follow the fit.
  for (QToolButton* b : chips_->findChildren<QToolButton*>(QStringLiteral("truncateButton"))) {
    b->setVisible(canTruncate(static_cast<size_t>(b->property("index").toInt())));
  }
  emit costsChanged();
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
    // Later: this may run inside a click of one of the chip's own buttons.
    QWidget* w = item->widget();
    w->hide();
    w->setParent(nullptr);
    w->deleteLater();
    delete item;
  }
  const QLocale locale;
  for (size_t i = 0; i < items_.size(); ++i) {
    const Item& item = *items_[i];
    const AttachmentCost& c = item.cost;
    auto* chip = new QFrame(chips_);
    chip->setObjectName(QStringLiteral("attachmentChip"));
    chip->setFrameShape(QFrame::StyledPanel);
    auto* layout = new QHBoxLayout(chip);
    layout->setContentsMargins(4, 2, 2, 2);
    layout->setSpacing(4);
    if (!c.thumbnail.isNull()) {
      auto* icon = new QLabel(chip);
      icon->setPixmap(QPixmap::fromImage(c.thumbnail));
      layout->addWidget(icon);
    }
    QString label = QString::fromStdString(item.info.file_name);
    if (item.ticket != 0) {
      label += tr(" · measuring…");
    } else if (tokenizer_) {
      if (!c.kept.isEmpty()) label += QStringLiteral(" · ") + c.kept;
      label += tr(" · %1 tokens").arg(locale.toString(c.tokens));
    }
    auto* name = new QLabel(label, chip);
    name->setObjectName(QStringLiteral("attachmentLabel"));
    layout->addWidget(name);
    QString tip = QString::fromStdString(item.info.mime_type);
    if (!c.detail.isEmpty()) tip += QStringLiteral(" · ") + c.detail;
    chip->setToolTip(tip);
    const uint64_t id = item.id;
    if (c.document) {
      auto* truncate = new QToolButton(chip);
      truncate->setObjectName(QStringLiteral("truncateButton"));
      truncate->setText(tr("Truncate to fit"));
      truncate->setToolTip(
          tr("Keep as many whole %1 from the start as fit the context; the model is told "
             "what was cut")
              .arg(c.document->kind == media::Kind::document ? tr("pages") : tr("lines")));
      truncate->setProperty("index", static_cast<int>(i));
      truncate->setVisible(false);  // updateCost shows it while the turn does not fit
      connect(truncate, &QToolButton::clicked, this, [this, id] { truncateToFit(indexOf(id)); });
      layout->addWidget(truncate);
    }
    auto* remove = new QToolButton(chip);
    remove->setObjectName(QStringLiteral("removeButton"));
    remove->setText(QStringLiteral("✕"));
    remove->setAutoRaise(true);
    remove->setToolTip(tr("Remove %1").arg(QString::fromStdString(item.info.file_name)));
    connect(remove, &QToolButton::clicked, this, [this, id] { removeAttachment(indexOf(id)); });
    layout->addWidget(remove);
    chips_layout_->insertWidget(static_cast<int>(i), chip);
  }
  chips_->setVisible(!items_.empty());
  updateCost();
}

}  // namespace es::ui
