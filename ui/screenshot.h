// `expertscope [MODEL.gguf] --screenshot OUT.png`: open a model, wait for the engine,
// save a picture of the whole window, quit. For docs, for looking at the GUI under
// xvfb-run, and for scripts. (Issue 6 grows this into the full automation.)
#pragma once

#include <QObject>
#include <QString>

namespace es::ui {

class MainWindow;

/// Drives one screenshot run of `window`. Create it after the window is shown, then call
/// start(); when done it calls QCoreApplication::exit() with the status: 0 when the model
/// opened (or none was asked for) and the PNG was written, 3 when the model failed to
/// open (the PNG, showing the error, is still written), 1 when the PNG could not be
/// written or the engine did not answer within `timeout_ms`. Errors go to stderr as one
/// `error: ` line.
class ScreenshotRun : public QObject {
  Q_OBJECT

 public:
  ScreenshotRun(MainWindow* window, QString model_path, QString out_path, int timeout_ms = 120000);

  /// Starts opening the model (if any); the picture is taken once the engine answered.
  void start();

 private:
  void ui_capture(int status);

  MainWindow* window_;
  QString model_path_;
  QString out_path_;
  int timeout_ms_;
  bool done_ = false;
};

}  // namespace es::ui
