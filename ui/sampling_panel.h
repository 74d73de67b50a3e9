// Sampling settings: temperature, top-k, top-p, min-p, repetition penalty, seed and the
// answer length, and the engine's backend and threads; remembered per model (QSettings, keyed by
// the model's content hash) so each model comes back with its own preset.
#pragma once

#include <QString>
#include <QWidget>

#include "expertscope/generate.h"

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace es::ui {

class SamplingPanel : public QWidget {
  Q_OBJECT

 public:
  /// `use_settings` false: presets are neither read nor written (screenshot runs, tests).
  explicit SamplingPanel(bool use_settings, QWidget* parent = nullptr);

  /// The parameters as set now.
  [[nodiscard]] GenerateParams params() const;
  /// CPU threads for the engine (0: one per core).
  [[nodiscard]] uint32_t threads() const;
  /// The backend recorded with each turn's settings (chosen in the Model panel).
  [[nodiscard]] QString backend() const { return backend_; }
  void setBackend(const QString& backend) { backend_ = backend; }
  /// The same as a JSON object text (stored with each answer).
  [[nodiscard]] QString settingsJson() const;
  /// Switches to the preset of model `key` (its content hash); defaults when it has none.
  void setModelKey(const QString& key);
  /// Sets every control to the defaults.
  void resetToDefaults();
  void setTemperature(double t);
  void setMaxTokens(int n);
  void setSeed(int seed);

 private:
  void save() const;

  bool use_settings_;
  QString key_;
  bool loading_ = false;
  QDoubleSpinBox* temperature_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  QDoubleSpinBox* top_p_ = nullptr;
  QDoubleSpinBox* min_p_ = nullptr;
  QDoubleSpinBox* repeat_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QSpinBox* max_tokens_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QString backend_ = QStringLiteral("auto");
};

}  // namespace es::ui
