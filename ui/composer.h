// The message composer: a multi-line editor (Enter sends, Shift+Enter breaks the line,
// Esc stops a running answer), the attachments waiting to be sent (files from the attach
// button, drops anywhere on the window, images pasted from the clipboard), and the
// Send / Stop button.
//
// Above the editor, one chip per attachment (thumbnail, name, token cost, ✕ to remove)
// and the context line: how much of the chat context the next turn takes — the
// conversation so far rendered with the chat template as the next turn renders it, the
// typed text and the attachments. Costs are measured off the UI thread (reading the file,
// probing, decoding a poster frame, extracting a PDF's text, tokenizing): a chip says
// "measuring…" until its cost arrives, and Send waits for every attachment's cost. When the turn
// cannot fit, Send is disabled and the line says what to do; a text file or PDF then offers
// "Truncate to fit" beside ✕ (whole pages or lines from the start are kept and the text
// the model reads says so); nothing is ever cut silently.
#pragma once

#include <QPlainTextEdit>
#include <QTimer>
#include <QWidget>
#include <memory>
#include <vector>

#include "attachment_cost.h"
#include "attachment_file.h"
#include "expertscope/session.h"

class QHBoxLayout;
class QLabel;
class QImage;
class QPushButton;
class QToolButton;

namespace es::ui {

/// The editor of the composer: turns keys and pastes into signals.
class ComposerEdit : public QPlainTextEdit {
  Q_OBJECT

 public:
  explicit ComposerEdit(QWidget* parent = nullptr);

 signals:
  void submitRequested();
  void escapePressed();
  /// An image was pasted (it is not inserted as text).
  void imagePasted(const QImage& image);
  /// Local files were pasted.
  void filesPasted(const QStringList& paths);

 protected:
  void keyPressEvent(QKeyEvent* event) override;
  [[nodiscard]] bool canInsertFromMimeData(const QMimeData* source) const override;
  void insertFromMimeData(const QMimeData* source) override;
};

/// The composer (see the file comment).
class Composer : public QWidget {
  Q_OBJECT

 public:
  explicit Composer(QWidget* parent = nullptr);
  ~Composer() override;

  /// The text typed so far.
  [[nodiscard]] QString text() const;
  /// The attachments waiting to be sent, in order (a copy). One still being measured has
  /// its name, kind and size but no data yet.
  [[nodiscard]] std::vector<Attachment> attachments() const;
  /// How many attachments wait to be sent (without copying them).
  [[nodiscard]] size_t attachmentCount() const { return items_.size(); }
  /// Empties the editor and the attachments (after sending).
  void clear();
  /// Whether the current model can take images and video (and why not).
  void setAcceptsImages(bool accepts, const QString& why_not);
  /// Attaches a file. What the name, the size and the first bytes tell is checked at once:
  /// false, with the reason in `*error` (naming the file), when it cannot be used. The rest
  /// (reading it, checking its content, its cost) happens off the UI thread; a file found
  /// unusable there is dropped again with attachmentRejected.
  bool addFile(const QString& path, QString* error);
  /// Attaches a pasted image (PNG-encoded off the UI thread); false with the reason when
  /// images are not accepted.
  bool addImage(const QImage& image, QString* error);
  /// Switches the button between Send and Stop.
  void setBusy(bool busy);
  /// What costs are measured with: the model's tokenizer, its vision projector (may be
  /// null), its chat template source (empty: the built-in fallback) and the chat context
  /// size. A null tokenizer (no model) shows no costs. Every cost is measured again.
  void setModelInput(std::shared_ptr<const Tokenizer> tokenizer,
                     std::shared_ptr<const Projector> projector, uint32_t n_ctx,
                     std::string chat_template = {});
  /// The conversation the next message continues (null or no messages: a new one); its
  /// tokens are counted off the UI thread.
  void setConversation(std::shared_ptr<const Session> session);

  /// Each attachment's cost, in attachments() order (a default cost while measuring).
  [[nodiscard]] std::vector<AttachmentCost> costs() const;
  /// Whether attachment `i` is still being measured.
  [[nodiscard]] bool measuring(size_t i) const;
  /// Whether an attachment is still being measured: Send waits until none is. (The
  /// conversation and the typed text are counted too, but never hold Send back: the turn
  /// itself refuses a prompt longer than the context.)
  [[nodiscard]] bool measuring() const;
  /// Whether the conversation is still being counted.
  [[nodiscard]] bool countingConversation() const { return conversation_ticket_ != 0; }
  /// Nothing is being measured or counted, and typing has been counted: the context line
  /// is final (costsChanged follows each step towards this).
  [[nodiscard]] bool settled() const {
    return !measuring() && conversation_ticket_ == 0 && typed_ticket_ == 0 &&
           !typed_timer_.isActive();
  }
  /// Tokens of the conversation so far with the template of the next user turn (0 until
  /// counted, and without a model).
  [[nodiscard]] uint32_t conversationTokens() const { return conversation_tokens_; }
  /// Tokens of the typed text (counted off the UI thread shortly after typing stops).
  [[nodiscard]] uint32_t typedTokens() const { return typed_tokens_; }
  /// Conversation + typed text + attachments.
  [[nodiscard]] uint64_t totalTokens() const;
  /// The most the next turn's prompt may take: 90 % of the context (the answer needs
  /// room too); 0 without a model.
  [[nodiscard]] uint32_t promptBudget() const { return n_ctx_ - n_ctx_ / 10; }
  /// The context line ("Context: 1,234 of 8,192 tokens …").
  [[nodiscard]] QString costText() const;
  /// False while the turn cannot fit the context (Send is disabled then).
  [[nodiscard]] bool fits() const { return fits_; }
  /// Whether attachment `i` offers "Truncate to fit" now (a text file or PDF, measured,
  /// while the turn does not fit).
  [[nodiscard]] bool canTruncate(size_t i) const;
  /// Keeps as many whole pages or lines from the start of attachment `i` as fit the room
  /// the rest of the turn leaves (measured off the UI thread; the chip says "measuring…"
  /// meanwhile). If not even one fits, attachmentRejected says so and nothing changes.
  void truncateToFit(size_t i);
  /// Removes attachment `i`.
  void removeAttachment(size_t i);
  [[nodiscard]] ComposerEdit* editor() const { return edit_; }

 signals:
  void sendRequested();
  void stopRequested();
  /// Something the user tried to attach cannot be used; `message` says what and why.
  void attachmentRejected(const QString& message);
  /// A cost arrived, an attachment came or went, or the conversation was counted.
  void costsChanged();

 private:
  struct Item;
  struct Job;

  void rebuildChips();
  void updateCost();
  void onButton();
  void attachDialog();
  void startMeasure(Item& item, uint32_t fit_budget = 0);
  void countConversation();
  void countTyped();
  void ui_measured(uint64_t id, uint64_t ticket, const std::shared_ptr<Job>& job);
  [[nodiscard]] size_t indexOf(uint64_t id) const;
  [[nodiscard]] bool sendable() const { return fits_ && !measuring(); }

  ComposerEdit* edit_ = nullptr;
  QPushButton* send_ = nullptr;
  QToolButton* attach_ = nullptr;
  QWidget* chips_ = nullptr;
  QHBoxLayout* chips_layout_ = nullptr;
  std::vector<std::unique_ptr<Item>> items_;
  uint64_t next_id_ = 1;
  uint64_t next_ticket_ = 1;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const Projector> projector_;
  std::string chat_template_;
  uint32_t n_ctx_ = 0;
  std::shared_ptr<const Session> conversation_;
  uint32_t conversation_tokens_ = 0;
  uint64_t conversation_ticket_ = 0;  ///< The count awaited (0: none).
  uint32_t typed_tokens_ = 0;
  uint64_t typed_ticket_ = 0;
  QTimer typed_timer_;
  QLabel* cost_ = nullptr;
  bool fits_ = true;
  bool busy_ = false;
  bool accepts_images_ = false;
  QString images_why_not_;
};

}  // namespace es::ui
