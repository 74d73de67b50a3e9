#include "tensor_table_model.h"

#include <QFontDatabase>
#include <QRegularExpression>

#include "format.h"

namespace es::ui {

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
  collator_.setNumericMode(true);
  collator_.setCaseSensitivity(Qt::CaseInsensitive);
}

bool TensorFilterProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const {
  const QVariant a = left.data(sortRole());
  const QVariant b = right.data(sortRole());
  if (a.typeId() == QMetaType::QString && b.typeId() == QMetaType::QString) {
    return collator_.compare(a.toString(), b.toString()) < 0;
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
