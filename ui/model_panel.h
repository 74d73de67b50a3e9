// The Model panel: what is inside the opened GGUF file. A header with the model's name
// and architecture, summary cards (architecture, experts, size, MLA, tokenizer, bytes by
// type), and a sortable, filterable tensor table. Shows a welcome page when no model is
// open and an inline error banner when opening fails.
//
// It only displays: it is fed ModelSnapshots (plain data made on the engine thread) and
// never reaches the engine.
#pragma once

#include <QWidget>

#include "model_snapshot.h"

class QLabel;
class QLineEdit;
class QScrollArea;
class QSplitter;
class QStackedWidget;
class QTableView;

namespace es::ui {

class DevicePicker;
class ErrorBanner;
class TensorFilterProxy;
class TensorTableModel;

/// The Model panel (see the file comment).
class ModelPanel : public QWidget {
  Q_OBJECT

 public:
  /// `use_settings`: remember the device chosen (QSettings).
  explicit ModelPanel(QWidget* parent = nullptr, bool use_settings = true);

  /// Shows `snapshot` (replacing what was shown) and hides the error banner.
  void showModel(ModelSnapshotPtr snapshot);
  /// Shows the welcome page; the error banner is left as it is.
  void clearModel();
  /// Shows the inline error banner above whatever is shown.
  void showError(const QString& title, const QString& message);
  /// Hides the error banner.
  void clearError();

  /// The snapshot shown, or null.
  [[nodiscard]] ModelSnapshotPtr snapshot() const { return snapshot_; }

  // Read access for tests and automation.

  /// The displayed value of summary field `key` (see SummaryField), or a null string.
  [[nodiscard]] QString fieldText(const QString& key) const;
  /// The header's title (the model's name); empty when no model is shown.
  [[nodiscard]] QString titleText() const;
  /// True while the error banner is visible (to a shown window).
  [[nodiscard]] bool errorShown() const;
  /// The error banner's title and message, joined by a newline.
  [[nodiscard]] QString errorText() const;
  /// Where the engine runs (the device list).
  [[nodiscard]] DevicePicker* devicePicker() const { return devices_; }
  /// The tensor filter's line edit.
  [[nodiscard]] QLineEdit* tensorFilter() const { return filter_; }
  /// The tensor table view.
  [[nodiscard]] QTableView* tensorView() const { return table_; }
  /// The sorting and filtering proxy over the tensor table model.
  [[nodiscard]] TensorFilterProxy* tensorProxy() const { return proxy_; }

 signals:
  /// The welcome page's "Open Model…" button was clicked.
  void openRequested();

 private:
  QWidget* buildWelcomePage();
  QWidget* buildModelPage();
  QWidget* buildTensorSection();
  void rebuildCards();
  void updateTensorCount();

  ModelSnapshotPtr snapshot_;
  ErrorBanner* banner_ = nullptr;
  QStackedWidget* stack_ = nullptr;
  QWidget* welcome_ = nullptr;
  QWidget* model_page_ = nullptr;
  QLabel* title_ = nullptr;
  QLabel* subtitle_ = nullptr;
  QLabel* path_ = nullptr;
  DevicePicker* devices_ = nullptr;
  QScrollArea* cards_scroll_ = nullptr;
  QWidget* cards_host_ = nullptr;  ///< Rebuilt for every model.
  QSplitter* split_ = nullptr;     ///< Summary cards above, tensor table below.
  QLineEdit* filter_ = nullptr;
  QLabel* tensor_count_ = nullptr;
  QTableView* table_ = nullptr;
  TensorTableModel* tensors_ = nullptr;
  TensorFilterProxy* proxy_ = nullptr;
};

}  // namespace es::ui
