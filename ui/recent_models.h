// The most recently opened models, newest first, remembered in QSettings.
#pragma once

#include <QString>
#include <QStringList>

namespace es::ui {

/// A most-recent-first list of model paths, at most `max_entries` long. With
/// `persistent`, it is read from and written to QSettings (key "recentModels") at once on
/// every change; otherwise it lives in memory only (screenshot runs, some tests).
class RecentModels {
 public:
  static constexpr int max_entries = 10;

  explicit RecentModels(bool persistent = true);

  /// Absolute paths, newest first.
  [[nodiscard]] const QStringList& paths() const noexcept { return paths_; }
  /// Moves `path` (made absolute) to the front, dropping the oldest beyond max_entries.
  void add(const QString& path);
  /// Forgets `path`.
  void remove(const QString& path);
  /// Forgets every path.
  void clear();

  /// The absolute, cleaned form under which paths are stored.
  [[nodiscard]] static QString normalized(const QString& path);

 private:
  void save() const;

  bool persistent_;
  QStringList paths_;
};

}  // namespace es::ui
