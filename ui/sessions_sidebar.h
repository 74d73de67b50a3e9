// The sessions sidebar: every session of the store, newest first, a full-text search box
// (matching messages are listed with a snippet; picking one opens its session), New, and
// a context menu with Rename, Duplicate, Export and Delete.
#pragma once

#include <QTimer>
#include <QVector>
#include <QWidget>

#include "expertscope/store.h"
#include "expertscope/transcript.h"

class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QPushButton;

namespace es::ui {

/// The sidebar (see the file comment). It only shows and asks; ChatController acts.
class SessionsSidebar : public QWidget {
  Q_OBJECT

 public:
  explicit SessionsSidebar(QWidget* parent = nullptr);

  /// Shows these sessions (keeps the selection when its session is still there).
  void setSessions(const QVector<SessionSummary>& sessions);
  /// Shows search hits for `query` (if it is still the query typed).
  void setSearchResults(const QString& query, const QVector<SearchHit>& hits);
  /// Marks the current session.
  void setCurrent(int64_t id);
  [[nodiscard]] QListWidget* list() const { return list_; }
  [[nodiscard]] QLineEdit* searchBox() const { return search_; }

 signals:
  void newRequested();
  void sessionActivated(int64_t id);
  void renameRequested(int64_t id, const QString& title);
  void duplicateRequested(int64_t id);
  void deleteRequested(int64_t id);
  void exportRequested(int64_t id);
  /// The search text changed (debounced).
  void searchRequested(const QString& query);

 private:
  void showMenu(const QPoint& at);
  void showList();

  QLineEdit* search_ = nullptr;
  QListWidget* list_ = nullptr;
  QPushButton* new_ = nullptr;
  QTimer debounce_;
  QVector<SessionSummary> sessions_;
  int64_t current_ = 0;
  bool showing_hits_ = false;
};

}  // namespace es::ui
