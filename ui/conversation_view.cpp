#include "conversation_view.h"

#include <QApplication>
#include <QClipboard>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHash>
#include <QImage>
#include <QLabel>
#include <QPixmap>
#include <QRegularExpression>
#include <QScrollBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "expertscope/media.h"
#include "expertscope/multimodal.h"
#include "off_ui.h"

namespace es::ui {

namespace {

QString role_title(const std::string& role) {
  if (role == "user") return ConversationView::tr("You");
  if (role == "assistant") return ConversationView::tr("Model");
  return ConversationView::tr("System");
}

/// The fenced code blocks of a Markdown text, in order.
QStringList code_blocks(const QString& markdown) {
  static const QRegularExpression fence(QStringLiteral("```[^\\n]*\\n(.*?)```"),
                                        QRegularExpression::DotMatchesEverythingOption);
  QStringList blocks;
  auto it = fence.globalMatch(markdown);
  while (it.hasNext()) blocks << it.next().captured(1);
  return blocks;
}

QString when(int64_t ms) {
  return ms == 0 ? QString()
                 : QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

/// A word-wrapped label whose minimum height does not come from laying the text out at
/// its minimum width: the card's height follows heightForWidth at the real width, so a long
/// answer does not leave the conversation a screen of blank space below it.
class WrapLabel : public QLabel {
 public:
  using QLabel::QLabel;
  [[nodiscard]] QSize minimumSizeHint() const override {
    return {minimumWidth(), fontMetrics().height()};
  }
};

constexpr int kThumbPx = 96;

/// What the worker makes of a picture or video for its card.
struct Preview {
  QImage image;
  QString caption;  ///< "12.0 s · 12 frames sampled"; a picture: empty.
  QString error;
};

QImage to_qimage(const media::Frame& f) {
  QImage img(f.rgb.data(), f.width, f.height, f.stride_bytes, QImage::Format_RGB888);
  return img.copy();
}

/// A picture's thumbnail, or a video's poster frame with its duration and the frames
/// `policy` samples. Any thread.
Preview make_preview(const Attachment& a, const media::SamplingPolicy& policy) {
  Preview p;
  if (a.kind == "image") {
    QImage image;
    if (image.loadFromData(a.data.data(), static_cast<int>(a.data.size()))) {
      p.image = image.scaled(kThumbPx, kThumbPx, Qt::KeepAspectRatio, Qt::SmoothTransformation);
      return p;
    }
  }
  try {  // a video, or a picture Qt does not read (BMP, TIFF ... through FFmpeg)
    media::Source source = media::Source::open_memory(a.data, a.file_name);
    p.image = to_qimage(media::thumbnail(source.poster(), kThumbPx));
    if (source.kind() == media::Kind::video) {
      const size_t frames = media::sample_times(source.duration_s(), policy).size();
      const QString seconds = QString::number(source.duration_s(), 'f', 1);
      p.caption = frames == 1 ? ConversationView::tr("%1 s · 1 frame sampled").arg(seconds)
                              : ConversationView::tr("%1 s · %2 frames sampled")
                                    .arg(seconds)
                                    .arg(static_cast<qulonglong>(frames));
    }
  } catch (const std::exception& e) {
    p.error = QString::fromUtf8(e.what());
  }
  return p;
}

/// Previews by content (and sampling policy), on the UI thread only.
constexpr qsizetype kPreviewCacheSize = 256;
QHash<QString, Preview>& preview_cache() {
  static QHash<QString, Preview> cache;
  return cache;
}

/// "first 12 pages kept" for a document cut to fit the context; empty otherwise.
QString kept_caption(const Attachment& a) {
  if (a.kept_units == 0) return {};
  const bool pages = a.kind == "pdf";
  if (a.kept_units == 1) {
    return pages ? ConversationView::tr("first page kept")
                 : ConversationView::tr("first line kept");
  }
  return (pages ? ConversationView::tr("first %1 pages kept")
                : ConversationView::tr("first %1 lines kept"))
      .arg(a.kept_units);
}

/// One attachment under a message: a picture or a video's poster frame (filled in off
/// the UI thread) over its caption, or a framed name for a document.
QWidget* attachment_widget(std::shared_ptr<const Attachment> a, const Projector* projector,
                           QWidget* parent) {
  auto* box = new QWidget(parent);
  box->setObjectName(QStringLiteral("attachmentBox"));
  auto* column = new QVBoxLayout(box);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(2);
  const QString name = QString::fromStdString(a->file_name);
  auto* thumb = new QLabel(box);
  thumb->setObjectName(QStringLiteral("attachmentThumb"));
  thumb->setToolTip(QStringLiteral("%1 · %2 · %3 bytes")
                        .arg(name, QString::fromStdString(a->mime_type))
                        .arg(a->size));
  column->addWidget(thumb);
  const bool media = a->kind == "image" || a->kind == "video";
  if (!media || a->data.empty()) {
    QString text = name;
    if (const QString kept = kept_caption(*a); !kept.isEmpty()) {
      text += QStringLiteral("\n") + kept;
    }
    thumb->setText(text);
    thumb->setFrameShape(QFrame::StyledPanel);
    thumb->setMargin(4);
    return box;
  }
  auto* caption = new QLabel(box);
  caption->setObjectName(QStringLiteral("attachmentCaption"));
  caption->setStyleSheet(QStringLiteral("color: gray; font-size: small"));
  thumb->setFixedSize(kThumbPx, kThumbPx);
  thumb->setAlignment(Qt::AlignCenter);
  thumb->setFrameShape(QFrame::StyledPanel);
  thumb->setText(a->kind == "video" ? QStringLiteral("▶") : QStringLiteral("▣"));
  caption->setText(a->kind == "video" ? ConversationView::tr("%1 · decoding…").arg(name) : name);
  column->addWidget(caption);
  const media::SamplingPolicy policy =
      projector != nullptr ? video_policy(*projector) : media::SamplingPolicy{};
  const auto show = [thumb, caption, name](const Preview& p) {
    if (!p.error.isEmpty()) {
      caption->setText(ConversationView::tr("%1 · cannot be shown").arg(name));
      thumb->setToolTip(thumb->toolTip() + QStringLiteral("\n") + p.error);
      return;
    }
    thumb->setFrameShape(QFrame::NoFrame);
    thumb->setPixmap(QPixmap::fromImage(p.image));
    caption->setText(p.caption.isEmpty() ? name : QStringLiteral("%1 · %2").arg(name, p.caption));
  };
  // A stored session is shown again after every turn: its pictures are decoded once.
  const QString key = a->sha256.empty() ? QString()
                                        : QStringLiteral("%1/%2/%3")
                                              .arg(QString::fromStdString(a->sha256))
                                              .arg(policy.target_fps)
                                              .arg(policy.max_frames);
  if (const auto it = preview_cache().constFind(key);
      !key.isEmpty() && it != preview_cache().cend()) {
    show(*it);
    return box;
  }
  run_off_ui(
      thumb, [a, policy] { return make_preview(*a, policy); },
      [show, key](const Preview& p) {
        if (!key.isEmpty()) {
          if (preview_cache().size() >= kPreviewCacheSize) preview_cache().clear();
          preview_cache().insert(key, p);
        }
        show(p);
      });
  return box;
}

}  // namespace

QString answer_footer(const Message& m) {
  if (m.role != "assistant") return QString();
  QStringList parts;
  parts << ConversationView::tr("%n token(s)", nullptr, static_cast<int>(m.n_tokens));
  if (m.timings.generate_ms > 0 && m.n_tokens > 0) {
    parts << ConversationView::tr("%1 tokens/s")
                 .arg(1000.0 * m.n_tokens / m.timings.generate_ms, 0, 'f', 1);
  }
  if (m.timings.first_token_ms > 0) {
    parts << ConversationView::tr("first token %1 ms").arg(m.timings.first_token_ms, 0, 'f', 0);
  }
  if (m.state != MessageState::complete) {
    parts << QString::fromUtf8(message_state_name(m.state).data());
  } else if (!m.stop_reason.empty()) {
    parts << ConversationView::tr("stopped: %1").arg(QString::fromStdString(m.stop_reason));
  }
  return parts.join(QStringLiteral(" · "));
}

MessageCard::MessageCard(std::shared_ptr<const Message> message, const Projector* projector,
                         QWidget* parent)
    : QFrame(parent) {
  const Message& m = *message;
  setObjectName(m.role == "user" ? QStringLiteral("userCard") : QStringLiteral("answerCard"));
  setFrameShape(QFrame::StyledPanel);
  setAutoFillBackground(true);
  QPalette pal = palette();
  const QColor base = pal.color(QPalette::Base);
  const QColor accent = m.role == "user" ? QColor(0x1f, 0x6f, 0xd1) : QColor(0x8a, 0x4f, 0xd8);
  pal.setColor(QPalette::Window, m.role == "user" ? base : pal.color(QPalette::AlternateBase));
  setPalette(pal);

  auto* header =
      new QLabel(QStringLiteral("<b style='color:%1'>%2</b> <span style='color:gray'>%3</span>")
                     .arg(accent.name(), role_title(m.role).toHtmlEscaped(), when(m.created_ms)),
                 this);
  tokens_button_ = new QToolButton(this);
  tokens_button_->setObjectName(QStringLiteral("tokensButton"));
  tokens_button_->setText(tr("Tokens"));
  tokens_button_->setToolTip(
      tr("Show the text token by token: hover a token to see its path "
         "through the experts in the Routing Inspector"));
  tokens_button_->setCheckable(true);
  tokens_button_->setAutoRaise(true);
  tokens_button_->hide();
  connect(tokens_button_, &QToolButton::toggled, this, &MessageCard::setTokensShown);
  text_ = new WrapLabel(this);
  text_->setObjectName(QStringLiteral("messageText"));
  text_->setTextFormat(Qt::MarkdownText);
  text_->setWordWrap(true);
  text_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard |
                                 Qt::LinksAccessibleByMouse);
  connect(text_, &QLabel::linkHovered, this, [this](const QString& link) {
    if (link.startsWith(QLatin1String("t:"))) emit tokenHovered(link.mid(2).toInt());
  });
  // Ignored horizontally: a long unbroken word must not widen the card past the view.
  text_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
  text_->setMinimumWidth(80);
  footer_ = new WrapLabel(this);
  footer_->setObjectName(QStringLiteral("messageFooter"));
  footer_->setStyleSheet(QStringLiteral("color: gray"));
  footer_->setWordWrap(true);
  footer_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
  code_row_ = new QWidget(this);
  auto* code_layout = new QHBoxLayout(code_row_);
  code_layout->setContentsMargins(0, 0, 0, 0);
  code_layout->addStretch(1);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 8, 12, 8);
  auto* header_row = new QHBoxLayout;
  header_row->addWidget(header, 1);
  header_row->addWidget(tokens_button_);
  layout->addLayout(header_row);
  layout->addWidget(text_);
  if (!m.attachments.empty()) {
    auto* row = new QHBoxLayout;
    for (const Attachment& a : m.attachments) {
      // Shared with the message, not copied: a video can be large.
      row->addWidget(
          attachment_widget(std::shared_ptr<const Attachment>(message, &a), projector, this));
    }
    row->addStretch(1);
    layout->addLayout(row);
  }
  layout->addWidget(code_row_);
  layout->addWidget(footer_);
  setContent(QString::fromStdString(m.content));
  setFooter(answer_footer(m));
  if (m.trace && m.token_texts.size() == m.trace->n_tokens()) setTokens(m.token_texts);
}

void MessageCard::setContent(const QString& markdown) {
  markdown_ = markdown;
  render();
  rebuildCodeButtons();
}

void MessageCard::setTokens(std::vector<std::string> token_texts) {
  token_texts_ = std::move(token_texts);
  tokens_button_->setVisible(!token_texts_.empty());
  if (token_texts_.empty()) tokens_shown_ = false;
  render();
}

void MessageCard::setTokensShown(bool shown) {
  tokens_shown_ = shown && !token_texts_.empty();
  tokens_button_->setChecked(tokens_shown_);
  render();
}

void MessageCard::render() {
  if (!tokens_shown_) {
    text_->setTextFormat(Qt::MarkdownText);
    text_->setText(markdown_.isEmpty() ? QStringLiteral("…") : markdown_);
    return;
  }
  // Each token a link (hover target) with a faint alternating background, so token
  // boundaries show; text escaped, newlines kept.
  QString html = QStringLiteral("<p style='white-space:pre-wrap'>");
  for (size_t i = 0; i < token_texts_.size(); ++i) {
    QString piece =
        QString::fromUtf8(token_texts_[i].data(), static_cast<qsizetype>(token_texts_[i].size()))
            .toHtmlEscaped();
    if (piece.isEmpty()) continue;
    piece.replace(QLatin1Char('\n'), QStringLiteral("↵<br>"));
    html += QStringLiteral(
                "<a href='t:%1' style='color:palette(text);text-decoration:none;"
                "background-color:%2'>%3</a>")
                .arg(i)
                .arg(i % 2 == 0 ? QStringLiteral("rgba(127,127,127,0.10)")
                                : QStringLiteral("rgba(127,127,127,0.25)"))
                .arg(piece);
  }
  html += QStringLiteral("</p>");
  text_->setTextFormat(Qt::RichText);
  text_->setText(html);
}

void MessageCard::setFooter(const QString& text) {
  footer_->setText(text);
  footer_->setVisible(!text.isEmpty());
}

void MessageCard::rebuildCodeButtons() {
  auto* layout = static_cast<QHBoxLayout*>(code_row_->layout());
  const QStringList blocks = code_blocks(markdown_);
  if (layout->count() - 1 == blocks.size()) return;  // stretch + one button per block
  while (layout->count() > 1) {
    QLayoutItem* item = layout->takeAt(0);
    delete item->widget();
    delete item;
  }
  for (int i = 0; i < blocks.size(); ++i) {
    auto* copy = new QToolButton(code_row_);
    copy->setObjectName(QStringLiteral("copyCodeButton"));
    copy->setText(blocks.size() == 1 ? tr("Copy code") : tr("Copy code %1").arg(i + 1));
    connect(copy, &QToolButton::clicked, this, [this, i] {
      const QStringList now = code_blocks(markdown_);
      if (i < now.size()) QApplication::clipboard()->setText(now[i]);
    });
    layout->insertWidget(i, copy);
  }
  code_row_->setVisible(!blocks.isEmpty());
}

ConversationView::ConversationView(QWidget* parent) : QScrollArea(parent) {
  setObjectName(QStringLiteral("conversationView"));
  setWidgetResizable(true);
  setFrameShape(QFrame::NoFrame);
  setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  canvas_ = new QWidget(this);
  layout_ = new QVBoxLayout(canvas_);
  layout_->setContentsMargins(16, 16, 16, 16);
  layout_->setSpacing(10);
  empty_ = new QLabel(tr("Open a model, then ask it something. Drop files anywhere to attach "
                         "them (text, PDFs, pictures, video); the Routing Inspector shows which "
                         "experts each token went through."),
                      canvas_);
  empty_->setWordWrap(true);
  empty_->setAlignment(Qt::AlignCenter);
  empty_->setStyleSheet(QStringLiteral("color: gray; padding: 40px"));
  layout_->addWidget(empty_);
  layout_->addStretch(1);
  setWidget(canvas_);
  render_timer_.setSingleShot(true);
  render_timer_.setInterval(40);
  connect(&render_timer_, &QTimer::timeout, this, &ConversationView::renderStreaming);
}

void ConversationView::clearCards() {
  for (MessageCard* c : cards_) {
    layout_->removeWidget(c);
    c->deleteLater();
  }
  cards_.clear();
  streaming_ = nullptr;
  streaming_text_.clear();
}

MessageCard* ConversationView::addCard(std::shared_ptr<const Message> message) {
  auto* card = new MessageCard(std::move(message), projector_.get(), canvas_);
  layout_->insertWidget(layout_->count() - 1, card);
  cards_.push_back(card);
  empty_->hide();
  return card;
}

void ConversationView::setSession(const SessionPtr& session) {
  session_ = session;
  clearCards();
  if (session) {
    for (size_t i = 0; i < session->messages.size(); ++i) {
      MessageCard* card = addCard(std::shared_ptr<const Message>(session, &session->messages[i]));
      connect(card, &MessageCard::tokenHovered, this,
              [this, i](int token) { emit tokenHovered(static_cast<int>(i), token); });
    }
  }
  empty_->setVisible(cards_.empty());
  scrollToEnd();
}

void ConversationView::beginTurn(std::shared_ptr<const Message> user) {
  const int64_t when =
      user->created_ms != 0 ? user->created_ms : QDateTime::currentMSecsSinceEpoch();
  addCard(std::move(user));
  auto answer = std::make_shared<Message>();
  answer->role = "assistant";
  answer->state = MessageState::streaming;
  answer->created_ms = when;
  streaming_ = addCard(std::move(answer));
  streaming_text_.clear();
  streaming_tokens_ = 0;
  streaming_clock_.start();
  streaming_->setFooter(tr("thinking…"));
  scrollToEnd();
}

void ConversationView::appendToken(const StreamedToken& token) {
  if (streaming_ == nullptr) return;
  streaming_text_ += token.text;
  ++streaming_tokens_;
  if (!render_timer_.isActive()) render_timer_.start();
}

void ConversationView::renderStreaming() {
  if (streaming_ == nullptr) return;
  streaming_->setContent(streaming_text_);
  const double s = streaming_clock_.elapsed() / 1000.0;
  streaming_->setFooter(
      tr("%n token(s)", nullptr, static_cast<int>(streaming_tokens_)) +
      (s > 0 ? tr(" · %1 tokens/s").arg(streaming_tokens_ / s, 0, 'f', 1) : QString()));
  scrollToEnd();
}

void ConversationView::failTurn(const QString& message) {
  if (streaming_ == nullptr) return;
  render_timer_.stop();
  streaming_->setContent(streaming_text_);
  streaming_->setFooter(tr("Failed: %1").arg(message));
  streaming_ = nullptr;
}

void ConversationView::scrollToEnd() {
  QTimer::singleShot(0, this,
                     [this] { verticalScrollBar()->setValue(verticalScrollBar()->maximum()); });
}

}  // namespace es::ui
