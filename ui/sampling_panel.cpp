#include "sampling_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QThread>
#include <random>

namespace es::ui {

namespace {

QDoubleSpinBox* number(QWidget* parent, double lo, double hi, double step, int decimals) {
  auto* box = new QDoubleSpinBox(parent);
  box->setRange(lo, hi);
  box->setSingleStep(step);
  box->setDecimals(decimals);
  return box;
}

}  // namespace

SamplingPanel::SamplingPanel(bool use_settings, QWidget* parent)
    : QWidget(parent), use_settings_(use_settings) {
  setObjectName(QStringLiteral("samplingPanel"));
  temperature_ = number(this, 0, 2, 0.05, 2);
  temperature_->setToolTip(tr("0 picks the most likely token every time"));
  top_k_ = new QSpinBox(this);
  top_k_->setRange(0, 1000);
  top_k_->setSpecialValueText(tr("off"));
  top_p_ = number(this, 0, 1, 0.01, 2);
  min_p_ = number(this, 0, 1, 0.01, 2);
  repeat_ = number(this, 0.5, 2, 0.05, 2);
  seed_ = new QSpinBox(this);
  seed_->setRange(-1, 1'000'000'000);
  seed_->setSpecialValueText(tr("random"));
  max_tokens_ = new QSpinBox(this);
  max_tokens_->setRange(1, 100'000);
  threads_ = new QSpinBox(this);
  threads_->setRange(0, 1024);
  threads_->setSpecialValueText(tr("all cores (%1)").arg(QThread::idealThreadCount()));
  auto* reset = new QPushButton(tr("Defaults"), this);
  auto* form = new QFormLayout(this);
  form->addRow(tr("Temperature"), temperature_);
  form->addRow(tr("Top-k"), top_k_);
  form->addRow(tr("Top-p"), top_p_);
  form->addRow(tr("Min-p"), min_p_);
  form->addRow(tr("Repetition penalty"), repeat_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(tr("Max tokens"), max_tokens_);
  form->addRow(tr("Threads"), threads_);
  form->addRow(QString(), reset);
  resetToDefaults();
  for (QDoubleSpinBox* b : {temperature_, top_p_, min_p_, repeat_}) {
    connect(b, &QDoubleSpinBox::valueChanged, this, [this] { save(); });
  }
  for (QSpinBox* b : {top_k_, seed_, max_tokens_, threads_}) {
    connect(b, &QSpinBox::valueChanged, this, [this] { save(); });
  }
  connect(reset, &QPushButton::clicked, this, &SamplingPanel::resetToDefaults);
}

void SamplingPanel::resetToDefaults() {
  const SamplerParams d;
  loading_ = true;
  temperature_->setValue(d.temperature);
  top_k_->setValue(d.top_k);
  top_p_->setValue(d.top_p);
  min_p_->setValue(d.min_p);
  repeat_->setValue(d.repetition_penalty);
  seed_->setValue(-1);
  max_tokens_->setValue(512);
  loading_ = false;
  save();
}

void SamplingPanel::setTemperature(double t) {
  temperature_->setValue(t);
}
void SamplingPanel::setMaxTokens(int n) {
  max_tokens_->setValue(n);
}
void SamplingPanel::setSeed(int seed) {
  seed_->setValue(seed);
}

GenerateParams SamplingPanel::params() const {
  GenerateParams p;
  p.n_predict = static_cast<uint32_t>(max_tokens_->value());
  p.sampling.temperature = static_cast<float>(temperature_->value());
  p.sampling.top_k = top_k_->value();
  p.sampling.top_p = static_cast<float>(top_p_->value());
  p.sampling.min_p = static_cast<float>(min_p_->value());
  p.sampling.repetition_penalty = static_cast<float>(repeat_->value());
  p.sampling.seed =
      seed_->value() >= 0 ? static_cast<uint64_t>(seed_->value()) : std::random_device{}();
  return p;
}

uint32_t SamplingPanel::threads() const {
  return static_cast<uint32_t>(threads_->value());
}

QString SamplingPanel::settingsJson() const {
  QJsonObject o;
  o[QStringLiteral("mode")] = QStringLiteral("chat");
  o[QStringLiteral("n_predict")] = max_tokens_->value();
  o[QStringLiteral("temperature")] = temperature_->value();
  o[QStringLiteral("top_k")] = top_k_->value();
  o[QStringLiteral("top_p")] = top_p_->value();
  o[QStringLiteral("min_p")] = min_p_->value();
  o[QStringLiteral("repeat_penalty")] = repeat_->value();
  if (seed_->value() >= 0) o[QStringLiteral("seed")] = seed_->value();
  o[QStringLiteral("backend")] = backend();
  o[QStringLiteral("threads")] = static_cast<int>(threads());
  return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

void SamplingPanel::setModelKey(const QString& key) {
  key_ = key;
  if (!use_settings_ || key.isEmpty()) return;
  QSettings s;
  s.beginGroup(QStringLiteral("sampling/") + key);
  if (!s.contains(QStringLiteral("temperature"))) return;
  loading_ = true;
  temperature_->setValue(s.value(QStringLiteral("temperature")).toDouble());
  top_k_->setValue(s.value(QStringLiteral("top_k")).toInt());
  top_p_->setValue(s.value(QStringLiteral("top_p")).toDouble());
  min_p_->setValue(s.value(QStringLiteral("min_p")).toDouble());
  repeat_->setValue(s.value(QStringLiteral("repeat_penalty")).toDouble());
  seed_->setValue(s.value(QStringLiteral("seed")).toInt());
  max_tokens_->setValue(s.value(QStringLiteral("max_tokens")).toInt());
  threads_->setValue(s.value(QStringLiteral("threads"), 0).toInt());
  loading_ = false;
}

void SamplingPanel::save() const {
  if (!use_settings_ || loading_ || key_.isEmpty()) return;
  QSettings s;
  s.beginGroup(QStringLiteral("sampling/") + key_);
  s.setValue(QStringLiteral("temperature"), temperature_->value());
  s.setValue(QStringLiteral("top_k"), top_k_->value());
  s.setValue(QStringLiteral("top_p"), top_p_->value());
  s.setValue(QStringLiteral("min_p"), min_p_->value());
  s.setValue(QStringLiteral("repeat_penalty"), repeat_->value());
  s.setValue(QStringLiteral("seed"), seed_->value());
  s.setValue(QStringLiteral("max_tokens"), max_tokens_->value());
  s.setValue(QStringLiteral("threads"), threads_->value());
}

}  // namespace es::ui
