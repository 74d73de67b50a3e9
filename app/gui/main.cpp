// expertscope: the desktop workbench. A thin main: parse the command line, show the
// main window, optionally open a model and take a screenshot (see ui/screenshot.h).
#include <QApplication>
#include <QCommandLineParser>
#include <QTemporaryDir>
#include <cstdio>

#include "app_icon.h"
#include "device_picker.h"
#include "expertscope/demo_model.h"
#include "main_window.h"
#include "model_panel.h"
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
  parser.addPositionalArgument(QStringLiteral("model"),
                               QStringLiteral("A GGUF model to open (default: the bundled demo "
                                              "model)."),
                               QStringLiteral("[MODEL.gguf]"));
  const QCommandLineOption model_option(QStringLiteral("model"),
                                        QStringLiteral("A GGUF model to open."),
                                        QStringLiteral("MODEL.gguf"));
  const QCommandLineOption screenshot_option(
      QStringLiteral("screenshot"),
      QStringLiteral("Open the model, save a PNG of the whole window to OUT.png and exit "
                     "(non-zero status on any error)."),
      QStringLiteral("OUT.png"));
  const QCommandLineOption prompt_option(
      QStringLiteral("prompt"), QStringLiteral("Send this message once the model is open."),
      QStringLiteral("TEXT"));
  const QCommandLineOption attach_option(QStringLiteral("attach"),
                                         QStringLiteral("Attach a file to --prompt (repeatable)."),
                                         QStringLiteral("FILE"));
  const QCommandLineOption no_send_option(
      QStringLiteral("no-send"),
      QStringLiteral("Type --prompt and attach the --attach files but do not send them: a "
                     "picture of the composer (costs, the context line, the truncate choice)."));
  const QCommandLineOption inspector_option(
      QStringLiteral("inspector"),
      QStringLiteral("Show this Routing Inspector view (tokens, heatmap, load, path, expert, "
                     "coactivation, stats), the Engine Inspector (engine) or the Model panel "
                     "(model)."),
      QStringLiteral("VIEW"));
  const QCommandLineOption db_option(
      QStringLiteral("db"),
      QStringLiteral("The session database (default: ~/.local/share/expertscope/sessions.db; "
                     "a temporary one for --screenshot runs)."),
      QStringLiteral("FILE"));
  parser.addOption(model_option);
  parser.addOption(screenshot_option);
  parser.addOption(prompt_option);
  parser.addOption(attach_option);
  parser.addOption(no_send_option);
  parser.addOption(inspector_option);
  const QCommandLineOption backend_option(
      QStringLiteral("backend"),
      QStringLiteral("Run on this backend: auto, cpu, vulkan:N, or a plugin's name (as the Model "
                     "panel's device list offers)."),
      QStringLiteral("B"));
  parser.addOption(db_option);
  parser.addOption(backend_option);
  parser.process(app);

  QString model = parser.value(model_option);
  const QStringList positional = parser.positionalArguments();
  if (positional.size() > 1 || (!model.isEmpty() && !positional.isEmpty())) {
    std::fprintf(stderr, "error: give at most one model\n");
    return 2;
  }
  if (model.isEmpty() && !positional.isEmpty()) model = positional.front();
  // No model chosen: the bundled demo model, so the workbench answers from the first start.
  if (model.isEmpty()) model = QString::fromStdString(es::demo_model_path().string());
  const QString screenshot = parser.value(screenshot_option);
  if (screenshot.isEmpty() && (parser.isSet(prompt_option) || parser.isSet(attach_option) ||
                               parser.isSet(no_send_option) || parser.isSet(inspector_option))) {
    std::fprintf(stderr,
                 "error: --prompt, --attach, --no-send and --inspector need --screenshot\n");
    return 2;
  }
  static const QStringList views = {"tokens",       "heatmap", "load",   "path", "expert",
                                    "coactivation", "stats",   "engine", "model"};
  if (parser.isSet(inspector_option) && !views.contains(parser.value(inspector_option))) {
    std::fprintf(stderr, "error: --inspector: expected one of %s\n",
                 views.join(QStringLiteral(", ")).toLocal8Bit().constData());
    return 2;
  }

  // QWidget::grab() cannot read a native Vulkan child window back: pictures of the Engine
  // Inspector need its OpenGL renderer.
  if (!screenshot.isEmpty() && qEnvironmentVariableIsEmpty("EXPERTSCOPE_INSPECTOR_RENDERER")) {
    qputenv("EXPERTSCOPE_INSPECTOR_RENDERER", "opengl");
  }
  // A screenshot run neither reads nor changes the user's settings or sessions.
  QTemporaryDir scratch;
  QString db = parser.value(db_option);
  if (db.isEmpty() && !screenshot.isEmpty()) db = scratch.filePath(QStringLiteral("sessions.db"));
  es::ui::MainWindow window(
      es::ui::MainWindow::Options{.use_settings = screenshot.isEmpty(), .store_path = db});
  window.show();
  if (parser.isSet(backend_option) &&
      !window.modelPanel()->devicePicker()->setBackend(parser.value(backend_option))) {
    std::fprintf(stderr,
                 "error: --backend %s: not in the device list (see expertscope-cli devices)\n",
                 parser.value(backend_option).toLocal8Bit().constData());
    return 2;
  }
  if (!screenshot.isEmpty()) {
    es::ui::AutomationOptions run_options;
    run_options.model_path = model;
    run_options.prompt = parser.value(prompt_option);
    run_options.attach = parser.values(attach_option);
    run_options.no_send = parser.isSet(no_send_option);
    run_options.inspector = parser.value(inspector_option);
    run_options.out_path = screenshot;
    auto* run = new es::ui::ScreenshotRun(&window, run_options);
    run->start();
  } else if (!model.isEmpty()) {
    window.openModel(model);
  }
  return QApplication::exec();
}
