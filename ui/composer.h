// The message composer: a multi-line editor (Enter sends, Shift+Enter breaks the line,
// Esc stops a running answer), the attachments waiting to be sent (files from the attach
// button, drops anywhere on the window, images pasted from the clipboard), and the
// Send / Stop button.
#pragma once

#include <QPlainTextEdit>
#include <QWidget>
#include <vector>

#include "attachment_cost.h"
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

  /// The text typed so far.
  [[nodiscard]] QString text() const;
  /// The attachments waiting to be sent.
  [[nodiscard]] const std::vector<Attachment>& attachments() const { return attachments_; }
  /// Empties the editor and the attachments (after sending).
  void clear();
  /// Whether the current model can take images (none can before the media module).
  void setAcceptsImages(bool accepts, const QString& why_not);
  /// Attaches a file: a UTF-8 text file, or an image when images are accepted. False,
  /// with the reason in `*error` (naming the file), when it cannot be used.
  bool addFile(const QString& path, QString* error);
  /// Attaches a pasted image (PNG-encoded); false with the reason when not accepted.
  bool addImage(const QImage& image, QString* error);
  /// Switches the button between Send and Stop.
  void setBusy(bool busy);
  /// What attachments cost: the model's tokenizer, its vision projector (may be null) and
  /// the context size. A null tokenizer (no model) shows no costs.
  void setModelInput(std::shared_ptr<const Tokenizer> tokenizer,
                     std::shared_ptr<const Projector> projector, uint32_t n_ctx);
  /// Each attachment's cost, in attachments() order.
  [[nodiscard]] const std::vector<AttachmentCost>& costs() const { return costs_; }
  /// The line under the attachments ("… tokens of the 8,192-token context").
  [[nodiscard]] QString costText() const;
  /// False while the attachments cannot fit the context (Send is disabled then).
  [[nodiscard]] bool fits() const { return fits_; }
  [[nodiscard]] ComposerEdit* editor() const { return edit_; }

 signals:
  void sendRequested();
  void stopRequested();
  /// Something the user tried to attach cannot be used; `message` says what and why.
  void attachmentRejected(const QString& message);

 private:
  void rebuildChips();
  void updateCost();
  void onButton();
  void attachDialog();

  ComposerEdit* edit_ = nullptr;
  QPushButton* send_ = nullptr;
  QToolButton* attach_ = nullptr;
  QWidget* chips_ = nullptr;
  QHBoxLayout* chips_layout_ = nullptr;
  std::vector<Attachment> attachments_;
  std::vector<AttachmentCost> costs_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const Projector> projector_;
  uint32_t n_ctx_ = 0;
  QLabel* cost_ = nullptr;
  bool fits_ = true;
  bool busy_ = false;
  bool accepts_images_ = false;
  QString images_why_not_;
};

/// A file as an attachment: UTF-8 text becomes kind "text"; images (PNG, JPEG, GIF,
/// WebP) kind "image". Throws nothing: false with `*error` naming the file otherwise.
bool read_attachment_file(const QString& path, bool accept_images, const QString& images_why_not,
                          Attachment* out, QString* error);

}  // namespace es::ui
