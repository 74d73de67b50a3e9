// An inline, non-modal error message: an icon, a bold title, the message (selectable, so
// it can be copied into a bug report) and a button that dismisses it.
#pragma once

#include <QFrame>

class QLabel;

namespace es::ui {

/// A dismissible error strip for the top of a panel. Hidden until showError().
class ErrorBanner : public QFrame {
  Q_OBJECT

 public:
  explicit ErrorBanner(QWidget* parent = nullptr);

  /// Shows `title` and `message` (plain text) and makes the banner visible.
  void showError(const QString& title, const QString& message);
  /// Hides the banner and forgets its text.
  void clear();

  /// The title shown (empty when hidden).
  [[nodiscard]] QString title() const;
  /// The message shown (empty when hidden).
  [[nodiscard]] QString message() const;

 private:
  QLabel* title_;
  QLabel* message_;
};

}  // namespace es::ui
