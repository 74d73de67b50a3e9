#include "recent_models.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace es::ui {

namespace {
const QString kKey = QStringLiteral("recentModels");
}

RecentModels::RecentModels(bool persistent) : persistent_(persistent) {
  if (!persistent_) return;
  const QStringList stored = QSettings().value(kKey).toStringList();
  for (const QString& path : stored) {
    const QString clean = normalized(path);
    if (!clean.isEmpty() && !paths_.contains(clean)) paths_.append(clean);
    if (paths_.size() == max_entries) break;
  }
}

QString RecentModels::normalized(const QString& path) {
  if (path.isEmpty()) return QString();
  return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
}

void RecentModels::add(const QString& path) {
  const QString clean = normalized(path);
  if (clean.isEmpty()) return;
  paths_.removeAll(clean);
  paths_.prepend(clean);
  while (paths_.size() > max_entries) paths_.removeLast();
  save();
}

void RecentModels::remove(const QString& path) {
  if (paths_.removeAll(normalized(path)) > 0) save();
}

void RecentModels::clear() {
  paths_.clear();
  save();
}

void RecentModels::save() const {
  if (persistent_) QSettings().setValue(kKey, paths_);
}

}  // namespace es::ui
