#include "screenshot.h"

#include <QCoreApplication>
#include <QPixmap>
#include <QTimer>
#include <cstdio>

#include "main_window.h"

namespace es::ui {

namespace {

/// Time for the last layout and paint after the model is shown.
constexpr int kSettleMs = 300;

void print_error(const QString& message) {
  std::fprintf(stderr, "error: %s\n", message.toLocal8Bit().constData());
}

}  // namespace

ScreenshotRun::ScreenshotRun(MainWindow* window, QString model_path, QString out_path,
                             int timeout_ms)
    : QObject(window),
      window_(window),
      model_path_(std::move(model_path)),
      out_path_(std::move(out_path)),
      timeout_ms_(timeout_ms) {}

void ScreenshotRun::start() {
  if (model_path_.isEmpty()) {
    QTimer::singleShot(kSettleMs, this, [this] { ui_capture(0); });
    return;
  }
  connect(window_, &MainWindow::modelOpened, this,
          [this] { QTimer::singleShot(kSettleMs, this, [this] { ui_capture(0); }); });
  connect(window_, &MainWindow::modelOpenFailed, this,
          [this](const QString&, const QString& message) {
            print_error(message);
            QTimer::singleShot(kSettleMs, this, [this] { ui_capture(3); });
          });
  QTimer::singleShot(timeout_ms_, this, [this] {
    if (done_) return;
    done_ = true;
    print_error(tr("%1: the engine did not finish opening it within %2 s")
                    .arg(model_path_)
                    .arg(timeout_ms_ / 1000));
    QCoreApplication::exit(1);
  });
  window_->openModel(model_path_);
}

void ScreenshotRun::ui_capture(int status) {
  if (done_) return;
  done_ = true;
  const QPixmap shot = window_->grab();
  if (shot.isNull() || !shot.save(out_path_, "PNG")) {
    print_error(tr("%1: could not write the screenshot").arg(out_path_));
    QCoreApplication::exit(1);
    return;
  }
  QCoreApplication::exit(status);
}

}  // namespace es::ui
