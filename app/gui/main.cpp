// expertscope: the desktop workbench. A thin main: parse the command line, show the
// main window, optionally open a model and take a screenshot (see ui/screenshot.h).
#include <QApplication>
#include <QCommandLineParser>
#include <cstdio>

#include "app_icon.h"
#include "main_window.h"
#include "screenshot.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QCoreApplication::setOrganizationName(QStringLiteral("Expertscope"));
  QCoreApplication::setApplicationName(QStringLiteral("Expertscope"));
  QCoreApplication::setApplicationVersion(QStringLiteral(ES_VERSION));
  QGuiApplication::setDesktopFileName(QStringLiteral("expertscope"));
  QApplication::setWindowIcon(es::ui::app_icon());

  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("A workbench for Mixture-of-Experts language models."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("A GGUF model to open."),
                               QStringLiteral("[MODEL.gguf]"));
  const QCommandLineOption model_option(QStringLiteral("model"),
                                        QStringLiteral("A GGUF model to open."),
                                        QStringLiteral("MODEL.gguf"));
  const QCommandLineOption screenshot_option(
      QStringLiteral("screenshot"),
      QStringLiteral("Open the model, save a PNG of the whole window to OUT.png and exit "
                     "(non-zero status on any error)."),
      QStringLiteral("OUT.png"));
  parser.addOption(model_option);
  parser.addOption(screenshot_option);
  parser.process(app);

  QString model = parser.value(model_option);
  const QStringList positional = parser.positionalArguments();
  if (positional.size() > 1 || (!model.isEmpty() && !positional.isEmpty())) {
    std::fprintf(stderr, "error: give at most one model\n");
    return 2;
  }
  if (model.isEmpty() && !positional.isEmpty()) model = positional.front();
  const QString screenshot = parser.value(screenshot_option);

  es::ui::MainWindow window(es::ui::MainWindow::Options{.use_settings = screenshot.isEmpty()});
  window.show();
  if (!screenshot.isEmpty()) {
    auto* run = new es::ui::ScreenshotRun(&window, model, screenshot);
    run->start();
  } else if (!model.isEmpty()) {
    window.openModel(model);
  }
  return QApplication::exec();
}
