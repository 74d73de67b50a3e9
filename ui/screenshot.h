// Automation for tests, docs and scripts:
//   expertscope --model M [--prompt S] [--attach F]... [--no-send] [--inspector VIEW]
//               --screenshot OUT.png
// opens the model, sends the prompt (with the attachments, once their costs are known)
// and waits for the whole answer — or with --no-send leaves them in the composer —, shows
// the Routing Inspector's VIEW, saves a picture of the whole window and quits.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

namespace es::ui {

class MainWindow;

/// What one automated run does.
struct AutomationOptions {
  QString model_path;  ///< Empty: no model (a picture of the empty window).
  QString prompt;      ///< Empty: no message is sent.
  QStringList attach;  ///< Files attached to the prompt.
  /// Type the prompt and attach the files but do not send: a picture of the composer
  /// (the attachments' costs, the context line, the truncate choice).
  bool no_send = false;
  QString inspector;  ///< Routing Inspector view to show (empty: leave as is).
  QString out_path;   ///< The PNG to write.
  int timeout_ms = 600000;
};

/// Drives one automated run of `window`. Create it after the window is shown, then call
/// start(); when done it calls QCoreApplication::exit() with the status: 0 when everything
/// asked for worked and the PNG was written; 3 when the model failed to open, an
/// attachment was refused or the answer failed (the PNG, showing the error, is still
/// written); 1 when the PNG could not be written or the run took longer than the timeout.
/// Errors go to stderr as one `error: ` line.
class ScreenshotRun : public QObject {
  Q_OBJECT

 public:
  ScreenshotRun(MainWindow* window, AutomationOptions options);

  void start();

 private:
  void ui_modelReady();
  /// Sends (or with no_send pictures) the composed message once its costs are known.
  void ui_composed();
  void ui_fail(const QString& message);
  void ui_capture(int status);
  void showInspector();

  MainWindow* window_;
  AutomationOptions options_;
  bool done_ = false;
  bool sent_ = false;
  bool composing_ = false;
  bool inspector_shown_ = false;
};

}  // namespace es::ui
