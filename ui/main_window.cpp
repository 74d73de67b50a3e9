#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>

#include "app_icon.h"
#include "engine_controller.h"
#include "model_loader.h"
#include "model_panel.h"

namespace es::ui {

namespace {

constexpr int kStatusTimeoutMs = 8000;
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");

bool is_model_file(const QString& path) {
  return path.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive) && !QFileInfo(path).isDir();
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : MainWindow(Options{}, parent) {}

MainWindow::MainWindow(Options options, QWidget* parent)
    : QMainWindow(parent), options_(options), recent_(options.use_settings) {
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(QStringLiteral("Expertscope"));
  setWindowIcon(app_icon());
  setAcceptDrops(true);
  setDockOptions(AnimatedDocks | AllowNestedDocks | AllowTabbedDocks);

  engine_ = new EngineController(this);
  loader_ = new ModelLoader(engine_, this);
  panel_ = new ModelPanel(this);
  setCentralWidget(panel_);

  createActions();
  createMenus();
  createStatusBar();

  connect(panel_, &ModelPanel::openRequested, this, &MainWindow::openModelDialog);
  connect(loader_, &ModelLoader::opened, this, &MainWindow::ui_onOpened);
  connect(loader_, &ModelLoader::openFailed, this, &MainWindow::ui_onOpenFailed);
  connect(loader_, &ModelLoader::closed, this, &MainWindow::ui_onClosed);
  connect(loader_, &ModelLoader::busyChanged, this, &MainWindow::ui_onBusyChanged);
  connect(loader_, &ModelLoader::phaseChanged, this, &MainWindow::ui_onPhase);

  restoreWindowState();
}

MainWindow::~MainWindow() {
  // Stop the engine thread (and unmap the model) before the widgets it reports to go.
  delete engine_;
  engine_ = nullptr;
}

void MainWindow::createActions() {
  open_action_ = new QAction(tr("&Open Model…"), this);
  open_action_->setShortcut(QKeySequence::Open);
  open_action_->setStatusTip(tr("Open a GGUF model file"));
  connect(open_action_, &QAction::triggered, this, &MainWindow::openModelDialog);

  close_action_ = new QAction(tr("&Close Model"), this);
  close_action_->setShortcut(QKeySequence::Close);
  close_action_->setStatusTip(tr("Close the open model and release its memory"));
  close_action_->setEnabled(false);
  connect(close_action_, &QAction::triggered, this, &MainWindow::closeModel);

  clear_recent_action_ = new QAction(tr("Clear Recent Models"), this);
  connect(clear_recent_action_, &QAction::triggered, this, [this] {
    recent_.clear();
    rebuildRecentMenu();
  });

  quit_action_ = new QAction(tr("&Quit"), this);
  quit_action_->setShortcut(QKeySequence::Quit);
  quit_action_->setMenuRole(QAction::QuitRole);
  connect(quit_action_, &QAction::triggered, this, &QWidget::close);
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(open_action_);
  recent_menu_ = file->addMenu(tr("Open &Recent"));
  recent_menu_->setObjectName(QStringLiteral("recentMenu"));
  connect(recent_menu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  file->addSeparator();
  file->addAction(close_action_);
  file->addSeparator();
  file->addAction(quit_action_);
  rebuildRecentMenu();

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* about = help->addAction(tr("&About Expertscope"));
  about->setMenuRole(QAction::AboutRole);
  connect(about, &QAction::triggered, this, &MainWindow::showAbout);
  QAction* about_qt = help->addAction(tr("About &Qt"));
  about_qt->setMenuRole(QAction::AboutQtRole);
  connect(about_qt, &QAction::triggered, qApp, &QApplication::aboutQt);
}

void MainWindow::createStatusBar() {
  phase_label_ = new QLabel(this);
  phase_label_->setObjectName(QStringLiteral("phaseLabel"));
  busy_bar_ = new QProgressBar(this);
  busy_bar_->setObjectName(QStringLiteral("busyIndicator"));
  busy_bar_->setRange(0, 0);  // Indeterminate: the reader reports phases, not fractions.
  busy_bar_->setTextVisible(false);
  busy_bar_->setMaximumWidth(160);
  busy_bar_->setMaximumHeight(fontMetrics().height());
  statusBar()->addPermanentWidget(phase_label_);
  statusBar()->addPermanentWidget(busy_bar_);
  phase_label_->hide();
  busy_bar_->hide();
  statusBar()->showMessage(tr("Ready"), kStatusTimeoutMs);
}

void MainWindow::restoreWindowState() {
  if (options_.use_settings) {
    QSettings settings;
    if (restoreGeometry(settings.value(kGeometryKey).toByteArray())) {
      restoreState(settings.value(kStateKey).toByteArray());
      return;
    }
  }
  resize(1280, 820);
}

void MainWindow::saveWindowState() const {
  if (!options_.use_settings) return;
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveWindowState();
  QMainWindow::closeEvent(event);
}

void MainWindow::rebuildRecentMenu() {
  recent_menu_->clear();
  int number = 1;
  for (const QString& path : recent_.paths()) {
    const QFileInfo info(path);
    const bool exists = info.isFile();
    QString text = QStringLiteral("&%1  %2").arg(number % 10).arg(info.fileName());
    if (!exists) text += tr("  (not found)");
    QAction* action = recent_menu_->addAction(text);
    action->setData(path);
    action->setEnabled(exists);
    action->setToolTip(path);
    action->setStatusTip(exists ? path : tr("%1 no longer exists").arg(path));
    connect(action, &QAction::triggered, this, [this, path] { openModel(path); });
    ++number;
  }
  if (!recent_.paths().isEmpty()) {
    recent_menu_->addSeparator();
    recent_menu_->addAction(clear_recent_action_);
  }
  recent_menu_->menuAction()->setEnabled(!recent_.paths().isEmpty());
}

void MainWindow::openModelDialog() {
  QString dir = QDir::homePath();
  if (!recent_.paths().isEmpty()) dir = QFileInfo(recent_.paths().front()).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), dir,
                                                    tr("GGUF models (*.gguf);;All files (*)"));
  if (!path.isEmpty()) openModel(path);
}

void MainWindow::openModel(const QString& path) {
  if (path.isEmpty()) return;
  const QString absolute = RecentModels::normalized(path);
  statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(absolute).fileName()));
  loader_->open(absolute);
}

void MainWindow::closeModel() {
  if (!loader_->current()) return;
  loader_->close();
}

void MainWindow::ui_onOpened(const ModelSnapshotPtr& snapshot) {
  panel_->showModel(snapshot);
  recent_.add(snapshot->path);
  rebuildRecentMenu();
  close_action_->setEnabled(true);
  const QString file_name = QFileInfo(snapshot->path).fileName();
  setWindowTitle(tr("%1 — Expertscope").arg(file_name));
  statusBar()->showMessage(tr("Opened %1: %2 tensors").arg(file_name).arg(snapshot->tensors.size()),
                           kStatusTimeoutMs);
  emit modelOpened(snapshot->path);
}

void MainWindow::ui_onOpenFailed(const QString& path, const QString& message) {
  const QString file_name = QFileInfo(path).fileName();
  QString details = message;
  if (loader_->current()) {
    details += tr("\n\n%1 is still open.").arg(QFileInfo(loader_->current()->path).fileName());
  }
  panel_->showError(tr("Could not open %1").arg(file_name), details);
  statusBar()->showMessage(tr("Could not open %1").arg(file_name), kStatusTimeoutMs);
  emit modelOpenFailed(path, message);
}

void MainWindow::ui_onClosed() {
  panel_->clearModel();
  close_action_->setEnabled(false);
  setWindowTitle(QStringLiteral("Expertscope"));
  statusBar()->showMessage(tr("Model closed"), kStatusTimeoutMs);
}

void MainWindow::ui_onBusyChanged(bool busy) {
  busy_bar_->setVisible(busy);
  phase_label_->setVisible(busy);
  if (!busy) phase_label_->clear();
}

void MainWindow::ui_onPhase(OpenPhase phase, const QString& path) {
  phase_label_->setText(tr("%1: %2…").arg(QFileInfo(path).fileName(), open_phase_text(phase)));
}

QString MainWindow::modelPathFromMime(const QMimeData* mime, QString* rejected) {
  if (!mime || !mime->hasUrls()) return QString();
  for (const QUrl& url : mime->urls()) {
    const QString path = url.toLocalFile();
    if (!path.isEmpty() && is_model_file(path)) return path;
    if (rejected && rejected->isEmpty()) {
      *rejected = path.isEmpty() ? url.toDisplayString() : QFileInfo(path).fileName();
    }
  }
  return QString();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  QString rejected;
  const QString path = modelPathFromMime(event->mimeData(), &rejected);
  if (!path.isEmpty()) {
    event->acceptProposedAction();
    statusBar()->showMessage(tr("Drop to open %1").arg(QFileInfo(path).fileName()),
                             kStatusTimeoutMs);
    return;
  }
  if (!rejected.isEmpty()) {
    statusBar()->showMessage(
        tr("%1 is not a GGUF model: only .gguf files can be opened").arg(rejected),
        kStatusTimeoutMs);
  }
  event->ignore();
}

void MainWindow::dropEvent(QDropEvent* event) {
  QString rejected;
  const QString path = modelPathFromMime(event->mimeData(), &rejected);
  if (path.isEmpty()) {
    statusBar()->showMessage(tr("%1 is not a GGUF model: only .gguf files can be opened")
                                 .arg(rejected.isEmpty() ? tr("That") : rejected),
                             kStatusTimeoutMs);
    event->ignore();
    return;
  }
  event->acceptProposedAction();
  openModel(path);
}

void MainWindow::showAbout() {
  QMessageBox::about(
      this, tr("About Expertscope"),
      tr("<h3>Expertscope %1</h3>"
         "<p>A workbench for Mixture-of-Experts language models: open a GGUF file to see "
         "its architecture, experts and tensors.</p>")
          .arg(QCoreApplication::applicationVersion().toHtmlEscaped()));
}

}  // namespace es::ui
