#include "device_picker.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSettings>
#include <QVBoxLayout>

#include "format.h"

namespace es::ui {

namespace {

/// The backend string that runs on `d` ("vulkan:N" picks Vulkan device N).
QString backend_of(const ComputeDevice& d) {
  if (d.backend == "vulkan") return QStringLiteral("vulkan:%1").arg(d.index);
  return QString::fromStdString(d.backend);
}

QString describe(const ComputeDevice& d) {
  const QString name = QString::fromStdString(d.name);
  if (d.backend == "cpu") {
    return QObject::tr("CPU — %1 · %2 memory").arg(name, format_bytes(d.memory_bytes));
  }
  if (d.backend == "vulkan") {
    const QString kind = d.type == "cpu"
                             ? QObject::tr("CPU-backed Vulkan")
                             : QObject::tr("Vulkan %1 GPU").arg(QString::fromStdString(d.type));
    return QObject::tr("%1 — %2 · %3").arg(name, kind, format_bytes(d.memory_bytes));
  }
  return QObject::tr("Plugin “%1” — %2").arg(QString::fromStdString(d.backend), name);
}

}  // namespace

DevicePicker::DevicePicker(QWidget* parent, bool use_settings)
    : QWidget(parent), use_settings_(use_settings) {
  setObjectName(QStringLiteral("devicePicker"));
  combo_ = new QComboBox(this);
  combo_->setObjectName(QStringLiteral("deviceCombo"));
  combo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  combo_->setToolTip(
      tr("Where the model runs. Every device gives the same answers and "
         "routing; a CPU-backed Vulkan device (lavapipe) is slower than the CPU."));
  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("deviceStatus"));
  status_->setWordWrap(true);
  status_->setTextFormat(Qt::PlainText);
  auto* label = new QLabel(tr("Run on"), this);
  auto* row = new QHBoxLayout;
  row->setContentsMargins(0, 0, 0, 0);
  row->addWidget(label);
  row->addWidget(combo_, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  layout->addLayout(row);
  layout->addWidget(status_);
  std::string vulkan_error;
  const auto devices = list_compute_devices(&vulkan_error);
  setDevices(devices, QString::fromStdString(vulkan_error));
  if (use_settings_) {
    setBackend(
        QSettings().value(QStringLiteral("engine/backend"), QStringLiteral("auto")).toString());
  }
  connect(combo_, &QComboBox::currentIndexChanged, this, [this] {
    if (use_settings_) QSettings().setValue(QStringLiteral("engine/backend"), backend());
    status_->clear();
    emit backendChanged(backend());
  });
}

void DevicePicker::setDevices(const std::vector<ComputeDevice>& devices,
                              const QString& vulkan_error) {
  const QString keep = combo_->count() > 0 ? backend() : QStringLiteral("auto");
  const QSignalBlocker block(combo_);
  combo_->clear();
  QString auto_target = tr("CPU");
  for (const ComputeDevice& d : devices) {
    if (d.preferred) auto_target = QString::fromStdString(d.name);
  }
  combo_->addItem(tr("Automatic — %1").arg(auto_target), QStringLiteral("auto"));
  for (const ComputeDevice& d : devices) combo_->addItem(describe(d), backend_of(d));
  if (!vulkan_error.isEmpty()) {
    combo_->setItemData(0, tr("No Vulkan device: %1").arg(vulkan_error), Qt::ToolTipRole);
  }
  const int at = combo_->findData(keep);
  combo_->setCurrentIndex(at >= 0 ? at : 0);
}

QString DevicePicker::backend() const {
  return combo_->currentData().toString();
}

bool DevicePicker::setBackend(const QString& backend) {
  const int at = combo_->findData(backend);
  if (at < 0) return false;
  combo_->setCurrentIndex(at);
  return true;
}

void DevicePicker::showRunning(const QString& backend, const QString& warning) {
  if (!warning.isEmpty()) {
    status_->setStyleSheet(QStringLiteral("color: #b35c00;"));
    status_->setText(tr("Running on %1: %2").arg(backend, warning));
  } else {
    status_->setStyleSheet(QString());
    status_->setText(tr("Running on %1.").arg(backend));
  }
}

QString DevicePicker::statusText() const {
  return status_->text();
}

}  // namespace es::ui
