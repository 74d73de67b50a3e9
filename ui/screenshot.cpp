#include "screenshot.h"

#include <QCoreApplication>
#include <QDockWidget>
#include <QPixmap>
#include <QTimer>
#include <cstdio>

#include "chat_controller.h"
#include "composer.h"
#include "main_window.h"

namespace es::ui {

namespace {

/// Time for the last layout and paint before the picture.
constexpr int kSettleMs = 400;

void print_error(const QString& message) {
  std::fprintf(stderr, "error: %s\n", message.toLocal8Bit().constData());
}

}  // namespace

ScreenshotRun::ScreenshotRun(MainWindow* window, AutomationOptions options)
    : QObject(window), window_(window), options_(std::move(options)) {}

void ScreenshotRun::start() {
  QTimer::singleShot(options_.timeout_ms, this, [this] {
    if (done_) return;
    done_ = true;
    print_error(tr("the run did not finish within %1 s").arg(options_.timeout_ms / 1000));
    QCoreApplication::exit(1);
  });
  if (options_.model_path.isEmpty()) {
    if (!options_.prompt.isEmpty() || !options_.attach.isEmpty()) {
      ui_fail(tr("--prompt and --attach need --model"));
      return;
    }
    QTimer::singleShot(kSettleMs, this, [this] { ui_capture(0); });
    return;
  }
  connect(window_, &MainWindow::modelOpened, this, &ScreenshotRun::ui_modelReady);
  connect(window_, &MainWindow::modelOpenFailed, this,
          [this](const QString&, const QString& message) { ui_fail(message); });
  window_->openModel(options_.model_path);
}

void ScreenshotRun::ui_modelReady() {
  if ((options_.prompt.isEmpty() && options_.attach.isEmpty()) || sent_) {
    QTimer::singleShot(kSettleMs, this, [this] { ui_capture(0); });
    return;
  }
  sent_ = true;
  for (const QString& f : options_.attach) {
    QString error;
    if (!window_->composer()->addFile(f, &error)) {
      ui_fail(error);
      return;
    }
  }
  window_->composer()->editor()->setPlainText(options_.prompt);
  // Send waits for the attachments' costs (measured off the UI thread).
  composing_ = true;
  connect(window_->composer(), &Composer::costsChanged, this, &ScreenshotRun::ui_composed);
  ui_composed();
}

void ScreenshotRun::ui_composed() {
  Composer* composer = window_->composer();
  if (done_ || !composing_ || !composer->settled()) return;
  composing_ = false;
  if (options_.no_send) {
    QTimer::singleShot(kSettleMs, this, [this] { ui_capture(0); });
    return;
  }
  if (!composer->fits()) {
    ui_fail(composer->costText());
    return;
  }
  ChatController* chat = window_->chat();
  connect(chat, &ChatController::turnFailed, this, &ScreenshotRun::ui_fail);
  connect(chat, &ChatController::storeFailed, this,
          [this](const QString&, const QString& message) { ui_fail(message); });
  // The stored session arrives after the turn: the picture shows the finished answer.
  connect(chat, &ChatController::sessionLoaded, this, [this, chat](const SessionPtr& s) {
    if (done_ || chat->busy() || !s || s->messages.empty()) return;
    QTimer::singleShot(kSettleMs, this, [this] { ui_capture(0); });
  });
  window_->sendMessage();
}

void ScreenshotRun::ui_fail(const QString& message) {
  if (done_) return;
  print_error(message);
  QTimer::singleShot(kSettleMs, this, [this] { ui_capture(3); });
}

void ScreenshotRun::showInspector() {
  const QString dock =
      options_.inspector == QLatin1String("engine")  ? QStringLiteral("engineInspectorDock")
      : options_.inspector == QLatin1String("model") ? QStringLiteral("modelDock")
                                                     : QStringLiteral("routingInspectorDock");
  if (auto* d = window_->findChild<QDockWidget*>(dock)) {
    d->show();
    d->raise();
  }
  window_->showInspectorView(options_.inspector);
}

void ScreenshotRun::ui_capture(int status) {
  if (done_) return;
  if (!options_.inspector.isEmpty() && !inspector_shown_) {
    // Show the view, then give it time to lay out and draw before the picture.
    inspector_shown_ = true;
    showInspector();
    QTimer::singleShot(2 * kSettleMs, this, [this, status] { ui_capture(status); });
    return;
  }
  done_ = true;
  const QPixmap shot = window_->grab();
  if (shot.isNull() || !shot.save(options_.out_path, "PNG")) {
    print_error(tr("%1: could not write the screenshot").arg(options_.out_path));
    QCoreApplication::exit(1);
    return;
  }
  QCoreApplication::exit(status);
}

}  // namespace es::ui
