// Where the engine runs: a list of the compute devices (the CPU, every Vulkan device with
// its kind and memory, every backend plugin the loader accepts) to choose from, and what
// the engine actually runs on — with the reason when that is not what was chosen (no
// device, out of device memory, a lost device: the engine carries on on the CPU). The
// choice is remembered (QSettings "engine/backend").
#pragma once

#include <QWidget>

#include "expertscope/devices.h"

class QComboBox;
class QLabel;

namespace es::ui {

class DevicePicker : public QWidget {
  Q_OBJECT

 public:
  /// Lists the devices now (list_compute_devices) unless `devices` is given (tests).
  explicit DevicePicker(QWidget* parent = nullptr, bool use_settings = true);

  /// Replaces the listed devices (keeps the choice when it is still listed).
  void setDevices(const std::vector<ComputeDevice>& devices, const QString& vulkan_error = {});
  /// The backend to ask the engine for: "auto", "cpu", "vulkan", "vulkan:N" or a plugin's
  /// name.
  [[nodiscard]] QString backend() const;
  /// Chooses `backend` if listed; false otherwise.
  bool setBackend(const QString& backend);
  /// What the engine reports it runs on, and why when it is not what was asked for.
  void showRunning(const QString& backend, const QString& warning);
  /// The status line's text (tests).
  [[nodiscard]] QString statusText() const;
  /// The list (tests).
  [[nodiscard]] QComboBox* combo() const { return combo_; }

 signals:
  /// The user chose another backend.
  void backendChanged(const QString& backend);

 private:
  QComboBox* combo_ = nullptr;
  QLabel* status_ = nullptr;
  bool use_settings_ = true;
};

}  // namespace es::ui
