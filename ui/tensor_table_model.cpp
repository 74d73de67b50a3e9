#include "tensor_table_model.h"

#include <QFontDatabase>
#include <QRegularExpression>

#include "format.h"

namespace es::ui {

namespace {

/// "blk.2" < "blk.10": runs of digits compare as numbers, everything else as
/// case-folded characters. Locale-free on purpose (QCollator ignores numeric mode in
/// the C locale), and tensor names are ASCII anyway.
int natural_compare(QStringView a, QStringView b) {
  qsizetype i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].isDigit() && b[j].isDigit()) {
      while (i < a.size() && a[i] == u'0') ++i;  // Leading zeros do not count.
      while (j < b.size() && b[j] == u'0') ++j;
      qsizetype ei = i, ej = j;
      while (ei < a.size() && a[ei].isDigit()) ++ei;
      while (ej < b.size() && b[ej].isDigit()) ++ej;
      if (ei - i != ej - j) return ei - i < ej - j ? -1 : 1;  // Fewer digits: smaller.
      if (const int c = a.sliced(i, ei - i).compare(b.sliced(j, ej - j)); c != 0) return c;
      i = ei;
      j = ej;
      continue;
    }
    const char16_t ca = a[i].toCaseFolded().unicode();
    const char16_t cb = b[j].toCaseFolded().unicode();
    if (ca != cb) return ca < cb ? -1 : 1;
    ++i;
    ++j;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

}  // namespace

TensorTableModel::TensorTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void TensorTableModel::setSnapshot(ModelSnapshotPtr snapshot) {
  beginResetModel();
  snapshot_ = std::move(snapshot);
  endResetModel();
}

const TensorRow* TensorTableModel::tensorAt(int row) const {
  if (!snapshot_ || row < 0 || static_cast<size_t>(row) >= snapshot_->tensors.size()) {
    return nullptr;
  }
  return &snapshot_->tensors[static_cast<size_t>(row)];
}

int TensorTableModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() || !snapshot_) return 0;
  return static_cast<int>(snapshot_->tensors.size());
}

int TensorTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : column_count;
}

QVariant TensorTableModel::data(const QModelIndex& index, int role) const {
  const TensorRow* row = tensorAt(index.row());
  if (!row) return {};
  const int column = index.column();
  switch (role) {
    case Qt::DisplayRole:
      return displayData(*row, column);
    case Qt::ToolTipRole:
      return toolTipData(*row, column);
    case sort_role:
      if (column == shape) return QVariant::fromValue<qulonglong>(row->n_elements);
      if (column == bytes) return QVariant::fromValue<qulonglong>(row->n_bytes);
      return displayData(*row, column);
    case filter_role:
      if (column == name) return row->name;
      if (column == type) return row->type;
      return QString();
    case Qt::TextAlignmentRole:
      if (column == bytes || column == shape) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
      }
      return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::FontRole:
      if (column == name || column == shape) {
        return QFontDatabase::systemFont(QFontDatabase::FixedFont);
      }
      return {};
    default:
      return {};
  }
}

QVariant TensorTableModel::displayData(const TensorRow& row, int column) const {
  switch (column) {
    case name:
      return row.name;
    case type:
      return row.type;
    case shape:
      return format_shape(row.n_dims, row.ne);
    case bytes:
      return format_bytes(row.n_bytes);
    default:
      return {};
  }
}

QVariant TensorTableModel::toolTipData(const TensorRow& row, int column) const {
  switch (column) {
    case shape:
      return tr("%1 elements (ggml order, innermost dimension first)")
          .arg(format_count(row.n_elements));
    case bytes:
      return tr("%1 bytes at data offset %2")
          .arg(format_count(row.n_bytes), format_count(row.offset));
    default:
      return row.name;
  }
}

QVariant TensorTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case name:
        return tr("Name");
      case type:
        return tr("Type");
      case shape:
        return tr("Shape");
      case bytes:
        return tr("Bytes");
      default:
        return {};
    }
  }
  if (role == Qt::TextAlignmentRole && (section == bytes || section == shape)) {
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  }
  if (role == Qt::ToolTipRole && section == shape) {
    return tr("Dimensions in ggml order (innermost first); sorts by element count");
  }
  return {};
}

TensorFilterProxy::TensorFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(TensorTableModel::sort_role);
  setFilterRole(TensorTableModel::filter_role);
  setFilterKeyColumn(-1);  // Any column; only name and type answer the filter role.
  setSortCaseSensitivity(Qt::CaseInsensitive);
}

bool TensorFilterProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const {
  const QVariant a = left.data(sortRole());
  const QVariant b = right.data(sortRole());
  if (a.typeId() == QMetaType::QString && b.typeId() == QMetaType::QString) {
    return natural_compare(a.toString(), b.toString()) < 0;
  }
  return a.toULongLong() < b.toULongLong();
}

void TensorFilterProxy::setPattern(const QString& pattern) {
  const QString text = pattern.trimmed();
  QRegularExpression re;
  if (text.contains(QLatin1Char('*')) || text.contains(QLatin1Char('?'))) {
    re = QRegularExpression(QRegularExpression::wildcardToRegularExpression(
        text, QRegularExpression::UnanchoredWildcardConversion));
  } else {
    re = QRegularExpression(QRegularExpression::escape(text));
  }
  re.setPatternOptions(re.patternOptions() | QRegularExpression::CaseInsensitiveOption);
  setFilterRegularExpression(re);
}

}  // namespace es::ui
