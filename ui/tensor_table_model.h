// The tensor table of the Model panel: a read-only Qt model over the tensor rows of a
// ModelSnapshot, and the proxy that sorts and filters it.
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include "model_snapshot.h"

namespace es::ui {

/// One row per tensor: name, type, shape, bytes. Lives and changes on the UI thread only.
class TensorTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column : int { name = 0, type, shape, bytes, column_count };
  /// The value each column sorts by: numbers for shape (elements) and bytes.
  static constexpr int sort_role = Qt::UserRole + 1;
  /// The text the filter matches: name and type; empty for the numeric columns.
  static constexpr int filter_role = Qt::UserRole + 2;

  explicit TensorTableModel(QObject* parent = nullptr);

  /// Shows the tensors of `snapshot` (null: none).
  void setSnapshot(ModelSnapshotPtr snapshot);
  /// The tensor of source row `row`, or null.
  [[nodiscard]] const TensorRow* tensorAt(int row) const;

  [[nodiscard]] int rowCount(const QModelIndex& parent = QModelIndex()) const override;
  [[nodiscard]] int columnCount(const QModelIndex& parent = QModelIndex()) const override;
  [[nodiscard]] QVariant data(const QModelIndex& index, int role) const override;
  [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                    int role) const override;

 private:
  [[nodiscard]] QVariant displayData(const TensorRow& row, int column) const;
  [[nodiscard]] QVariant toolTipData(const TensorRow& row, int column) const;

  ModelSnapshotPtr snapshot_;
};

/// Sorts by TensorTableModel::sort_role (names naturally: blk.2 before blk.10) and
/// filters names and types by a pattern: a plain case-insensitive substring, or a
/// wildcard pattern when it holds `*` or `?`.
class TensorFilterProxy : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit TensorFilterProxy(QObject* parent = nullptr);
  /// Sets the filter text (see the class comment); empty shows every tensor.
  void setPattern(const QString& pattern);

 protected:
  [[nodiscard]] bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;
};

}  // namespace es::ui
