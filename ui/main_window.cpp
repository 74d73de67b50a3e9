#include "main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
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
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "app_icon.h"
#include "chat_controller.h"
#include "composer.h"
#include "conversation_view.h"
#include "device_picker.h"
#include "engine_controller.h"
#include "engine_inspector.h"
#include "expertscope/store.h"
#include "inspector_data.h"
#include "model_loader.h"
#include "model_panel.h"
#include "routing_inspector.h"
#include "sampling_panel.h"
#include "sessions_sidebar.h"

namespace es::ui {

namespace {

constexpr int kStatusTimeoutMs = 8000;
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");
const QString kThemeKey = QStringLiteral("ui/theme");

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
  chat_ = new ChatController(engine_, this);
  panel_ = new ModelPanel(this, options_.use_settings);

  createActions();
  createChat();
  createDocks();
  createMenus();
  createStatusBar();

  connect(panel_, &ModelPanel::openRequested, this, &MainWindow::openModelDialog);
  connect(loader_, &ModelLoader::opened, this, &MainWindow::ui_onOpened);
  connect(loader_, &ModelLoader::openFailed, this, &MainWindow::ui_onOpenFailed);
  connect(loader_, &ModelLoader::closed, this, &MainWindow::ui_onClosed);
  connect(loader_, &ModelLoader::busyChanged, this, &MainWindow::ui_onBusyChanged);
  connect(loader_, &ModelLoader::phaseChanged, this, &MainWindow::ui_onPhase);
  connect(loader_, &ModelLoader::progressChanged, this, [this](double f) {
    busy_bar_->setRange(0, 100);
    busy_bar_->setValue(static_cast<int>(100 * f));
  });

  restoreWindowState();
  if (options_.use_settings)
    setTheme(QSettings().value(kThemeKey, QStringLiteral("system")).toString());

  store_path_ = options_.store_path.isEmpty()
                    ? QString::fromStdString(default_database_path().string())
                    : options_.store_path;
  chat_->openStore(store_path_);
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

  new_session_action_ = new QAction(tr("&New Session"), this);
  new_session_action_->setShortcut(QKeySequence::New);
  connect(new_session_action_, &QAction::triggered, this, [this] { chat_->newSession(); });

  export_action_ = new QAction(tr("&Export Session…"), this);
  export_action_->setShortcut(QKeySequence(tr("Ctrl+E")));
  export_action_->setEnabled(false);
  connect(export_action_, &QAction::triggered, this,
          [this] { exportSessionDialog(chat_->currentSession()); });

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
  file->addAction(new_session_action_);
  file->addAction(export_action_);
  file->addSeparator();
  file->addAction(open_action_);
  recent_menu_ = file->addMenu(tr("Open &Recent"));
  recent_menu_->setObjectName(QStringLiteral("recentMenu"));
  connect(recent_menu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  file->addSeparator();
  file->addAction(close_action_);
  file->addSeparator();
  file->addAction(quit_action_);
  rebuildRecentMenu();

  view_menu_ = menuBar()->addMenu(tr("&View"));
  for (QDockWidget* dock : findChildren<QDockWidget*>())
    view_menu_->addAction(dock->toggleViewAction());
  view_menu_->addSeparator();
  QMenu* theme = view_menu_->addMenu(tr("&Theme"));
  auto* themes = new QActionGroup(this);
  const QString current = options_.use_settings
                              ? QSettings().value(kThemeKey, QStringLiteral("system")).toString()
                              : QStringLiteral("system");
  for (const auto& [key, label] : {std::pair{QStringLiteral("system"), tr("Follow the System")},
                                   std::pair{QStringLiteral("light"), tr("Light")},
                                   std::pair{QStringLiteral("dark"), tr("Dark")}}) {
    QAction* a = theme->addAction(label);
    a->setCheckable(true);
    a->setChecked(key == current);
    themes->addAction(a);
    connect(a, &QAction::triggered, this, [this, key = key] { setTheme(key); });
  }

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
  cancel_open_ = new QToolButton(this);
  cancel_open_->setObjectName(QStringLiteral("cancelOpenButton"));
  cancel_open_->setText(tr("Cancel"));
  cancel_open_->setAutoRaise(true);
  connect(cancel_open_, &QToolButton::clicked, loader_, &ModelLoader::cancel);
  statusBar()->addPermanentWidget(phase_label_);
  statusBar()->addPermanentWidget(busy_bar_);
  statusBar()->addPermanentWidget(cancel_open_);
  phase_label_->hide();
  busy_bar_->hide();
  cancel_open_->hide();
  statusBar()->showMessage(tr("Ready"), kStatusTimeoutMs);
}

void MainWindow::restoreWindowState() {
  if (options_.use_settings) {
    QSettings settings;
    if (restoreGeometry(settings.value(kGeometryKey).toByteArray())) {
      restored_layout_ = restoreState(settings.value(kStateKey).toByteArray());
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
  if (chat_->busy()) {
    // The engine thread is answering: ask, then stop the answer (stored `cancelled`); the
    // open runs right after it on the engine thread.
    if (options_.use_settings &&
        QMessageBox::question(this, tr("Stop the answer?"),
                              tr("An answer is being generated. Stop it and open %1?")
                                  .arg(QFileInfo(path).fileName())) != QMessageBox::Yes) {
      return;
    }
    chat_->stop();
  }
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
  sampling_->setModelKey(QString::fromLatin1(
      QCryptographicHash::hash(snapshot->path.toUtf8(), QCryptographicHash::Sha256)
          .toHex()
          .left(16)));
  composer_->setModelInput(snapshot->tokenizer, snapshot->projector, snapshot->chat_context,
                           snapshot->chat_template);
  conversation_->setProjector(snapshot->projector);
  if (!snapshot->projector_path.isEmpty()) {
    composer_->setAcceptsImages(true, QString());
  } else {
    composer_->setAcceptsImages(
        false, snapshot->projector_error.isEmpty()
                   ? tr("%1 has no vision projector, so it cannot see images or video")
                         .arg(QFileInfo(snapshot->path).fileName())
                   : tr("its vision projector cannot be used: %1").arg(snapshot->projector_error));
  }
  if (!snapshot->run_error.isEmpty()) {
    showProblem(tr("%1 can be inspected but not run: %2")
                    .arg(QFileInfo(snapshot->path).fileName(), snapshot->run_error));
  }
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
  if (auto* dock = findChild<QDockWidget*>(QStringLiteral("modelDock"))) dock->raise();
  showProblem(tr("Could not open %1: %2").arg(file_name, message));
  emit modelOpenFailed(path, message);
}

void MainWindow::ui_onClosed() {
  panel_->clearModel();
  composer_->setModelInput(nullptr, nullptr, 0);
  composer_->setAcceptsImages(false, tr("no model is open"));
  conversation_->setProjector(nullptr);
  close_action_->setEnabled(false);
  setWindowTitle(QStringLiteral("Expertscope"));
  statusBar()->showMessage(tr("Model closed"), kStatusTimeoutMs);
}

void MainWindow::ui_onBusyChanged(bool busy) {
  busy_bar_->setVisible(busy);
  cancel_open_->setVisible(busy && !loader_->pendingPath().isEmpty());
  phase_label_->setVisible(busy);
  if (!busy) phase_label_->clear();
}

void MainWindow::ui_onPhase(OpenPhase phase, const QString& path) {
  if (phase != OpenPhase::warming) busy_bar_->setRange(0, 0);  // indeterminate
  phase_label_->setText(tr("%1: %2…").arg(QFileInfo(path).fileName(), open_phase_text(phase)));
}

QString MainWindow::modelPathFromMime(const QMimeData* mime, QStringList* others) {
  if (!mime || !mime->hasUrls()) return QString();
  QString model;
  for (const QUrl& url : mime->urls()) {
    const QString path = url.toLocalFile();
    if (!path.isEmpty() && is_model_file(path) && model.isEmpty()) {
      model = path;
    } else if (others && !path.isEmpty()) {
      *others << path;  // a local file to attach (remote URLs are not fetched)
    }
  }
  return model;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  QStringList others;
  const QString path = modelPathFromMime(event->mimeData(), &others);
  if (!path.isEmpty()) {
    event->acceptProposedAction();
    statusBar()->showMessage(tr("Drop to open %1").arg(QFileInfo(path).fileName()),
                             kStatusTimeoutMs);
    return;
  }
  if (!others.isEmpty()) {
    event->acceptProposedAction();
    statusBar()->showMessage(
        tr("Drop to attach %n file(s)", nullptr, static_cast<int>(others.size())),
        kStatusTimeoutMs);
    return;
  }
  event->ignore();
}

void MainWindow::dropEvent(QDropEvent* event) {
  QStringList others;
  const QString path = modelPathFromMime(event->mimeData(), &others);
  if (path.isEmpty() && others.isEmpty()) {
    event->ignore();
    return;
  }
  event->acceptProposedAction();
  if (!path.isEmpty()) openModel(path);
  attachFiles(others);
}

void MainWindow::attachFiles(const QStringList& paths) {
  for (const QString& p : paths) {
    QString error;
    if (composer_->addFile(p, &error)) {
      statusBar()->showMessage(tr("Attached %1").arg(QFileInfo(p).fileName()), kStatusTimeoutMs);
    } else {
      showProblem(error);
    }
  }
}

void MainWindow::showProblem(const QString& message) {
  statusBar()->showMessage(message, 2 * kStatusTimeoutMs);
  emit problemShown(message);
}

void MainWindow::createChat() {
  sidebar_ = new SessionsSidebar(this);
  conversation_ = new ConversationView(this);
  composer_ = new Composer(this);
  composer_->setAcceptsImages(false, tr("no model is open"));
  composer_->setModelInput(nullptr, nullptr, 0);
  auto* right = new QWidget(this);
  auto* column = new QVBoxLayout(right);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(0);
  column->addWidget(conversation_, 1);
  column->addWidget(composer_);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->setObjectName(QStringLiteral("chatSplitter"));
  split->addWidget(sidebar_);
  split->addWidget(right);
  split->setStretchFactor(1, 1);
  split->setSizes({240, 800});
  setCentralWidget(split);

  connect(composer_, &Composer::sendRequested, this, &MainWindow::sendMessage);
  connect(composer_, &Composer::stopRequested, chat_, &ChatController::stop);
  connect(composer_, &Composer::attachmentRejected, this, &MainWindow::showProblem);
  connect(chat_, &ChatController::busyChanged, composer_, &Composer::setBusy);
  connect(chat_, &ChatController::tokenArrived, conversation_, &ConversationView::appendToken);
  connect(chat_, &ChatController::sessionLoaded, this, [this](const SessionPtr& s) {
    conversation_->setSession(s);
    composer_->setConversation(s);
    sidebar_->setCurrent(s ? s->id : 0);
    export_action_->setEnabled(s && s->id != 0);
    if (s && s->id != 0)
      setWindowTitle(tr("%1 — Expertscope").arg(QString::fromStdString(s->title)));
  });
  connect(chat_, &ChatController::sessionsChanged, sidebar_, &SessionsSidebar::setSessions);
  connect(chat_, &ChatController::searchResults, sidebar_, &SessionsSidebar::setSearchResults);
  connect(chat_, &ChatController::turnFailed, this, [this](const QString& message) {
    conversation_->failTurn(message);
    showProblem(message);
  });
  connect(chat_, &ChatController::turnFinished, this, [this](const TurnStats& t) {
    statusBar()->showMessage(
        tr("%n token(s) in %1 s · first token after %2 ms", nullptr, static_cast<int>(t.n_tokens))
            .arg(t.generate_ms / 1000.0, 0, 'f', 1)
            .arg(t.first_token_ms, 0, 'f', 0),
        kStatusTimeoutMs);
  });
  connect(chat_, &ChatController::storeError, this, &MainWindow::showProblem);
  connect(
      chat_, &ChatController::storeFailed, this,
      [this](const QString& path, const QString& message) {
        showProblem(message);
        if (!options_.use_settings) return;  // scripted runs never ask
        if (QMessageBox::warning(this, tr("Session database"),
                                 tr("%1\n\nMove the damaged file aside and start a new, empty "
                                    "database? Nothing is deleted.")
                                     .arg(message),
                                 QMessageBox::Yes | QMessageBox::No) == QMessageBox::Yes) {
          try {
            const auto moved = Store::move_aside(QFile::encodeName(path).toStdString());
            statusBar()->showMessage(tr("Moved to %1").arg(QString::fromStdString(moved.string())));
            chat_->openStore(path);
          } catch (const std::exception& e) {
            showProblem(QString::fromUtf8(e.what()));
          }
        }
      });
  connect(chat_, &ChatController::exportFinished, this,
          [this](const QString& path, const QString& error) {
            if (error.isEmpty()) {
              statusBar()->showMessage(tr("Exported %1").arg(QFileInfo(path).fileName()),
                                       kStatusTimeoutMs);
            } else {
              showProblem(error);
            }
          });
  connect(sidebar_, &SessionsSidebar::newRequested, chat_, &ChatController::newSession);
  connect(sidebar_, &SessionsSidebar::sessionActivated, this, [this](int64_t id) {
    if (chat_->busy()) {
      if (!options_.use_settings ||
          QMessageBox::question(this, tr("Stop the answer?"),
                                tr("An answer is being generated. Stop it and switch sessions?")) ==
              QMessageBox::Yes) {
        chat_->stop();
      } else {
        return;
      }
    }
    chat_->loadSession(id);
  });
  connect(sidebar_, &SessionsSidebar::renameRequested, chat_, &ChatController::renameSession);
  connect(sidebar_, &SessionsSidebar::duplicateRequested, chat_, &ChatController::duplicateSession);
  connect(sidebar_, &SessionsSidebar::deleteRequested, chat_, &ChatController::deleteSession);
  connect(sidebar_, &SessionsSidebar::exportRequested, this, &MainWindow::exportSessionDialog);
  connect(sidebar_, &SessionsSidebar::searchRequested, chat_, &ChatController::search);
}

void MainWindow::createDocks() {
  auto* model_dock = new QDockWidget(tr("Model"), this);
  model_dock->setObjectName(QStringLiteral("modelDock"));
  model_dock->setWidget(panel_);
  addDockWidget(Qt::RightDockWidgetArea, model_dock);
  sampling_ = new SamplingPanel(options_.use_settings, this);
  auto* sampling_dock = new QDockWidget(tr("Sampling"), this);
  sampling_dock->setObjectName(QStringLiteral("samplingDock"));
  sampling_dock->setWidget(sampling_);
  addDockWidget(Qt::RightDockWidgetArea, sampling_dock);
  tabifyDockWidget(model_dock, sampling_dock);
  engine_inspector_ = new EngineInspector(this);
  auto* engine_dock = new QDockWidget(tr("Engine Inspector"), this);
  engine_dock->setObjectName(QStringLiteral("engineInspectorDock"));
  engine_dock->setWidget(engine_inspector_);
  addDockWidget(Qt::RightDockWidgetArea, engine_dock);
  tabifyDockWidget(sampling_dock, engine_dock);
  connect(chat_, &ChatController::engineStats, engine_inspector_, &EngineInspector::setSnapshot);
  connect(chat_, &ChatController::engineStats, this, [this](const EngineStats& st) {
    panel_->devicePicker()->showRunning(QString::fromStdString(st.backend),
                                        QString::fromStdString(st.backend_warning));
  });
  connect(loader_, &ModelLoader::closed, engine_inspector_, &EngineInspector::clearSnapshot);

  routing_ = new inspector::RoutingInspector(this);
  auto* routing_dock = new QDockWidget(tr("Routing Inspector"), this);
  routing_dock->setObjectName(QStringLiteral("routingInspectorDock"));
  routing_dock->setWidget(routing_);
  addDockWidget(Qt::RightDockWidgetArea, routing_dock);
  tabifyDockWidget(engine_dock, routing_dock);
  routing_timer_ = new QTimer(this);
  routing_timer_->setSingleShot(true);
  routing_timer_->setInterval(500);
  connect(routing_timer_, &QTimer::timeout, this, &MainWindow::pushStreamingRouting);
  connect(chat_, &ChatController::sessionLoaded, this, [this, routing_dock](const SessionPtr& s) {
    const bool other_session = !s || !routing_base_ || s->id != routing_session_;
    routing_session_ = s ? s->id : 0;
    routing_base_ = s ? inspector::InspectorData::fromSession(s) : nullptr;
    streaming_trace_ = RoutingTrace();
    streaming_texts_.clear();
    if (other_session) {
      // A selection of the previous session means nothing in this one.
      routing_->setSelection({});
      routing_->setCompareSelection(std::nullopt);
    }
    routing_->setData(routing_base_);
    if (routing_base_ && routing_base_->hasShape() && !routing_dock->isHidden()) {
      routing_dock->raise();
    }
  });
  connect(chat_, &ChatController::turnStarted, this, [this] {
    streaming_trace_ = RoutingTrace();
    streaming_texts_.clear();
  });
  connect(chat_, &ChatController::tokenArrived, this, [this](const StreamedToken& t) {
    if (t.routing.n_tokens != 1 || t.routing.moe_layers.empty()) return;
    const auto pos = static_cast<int32_t>(t.pos);
    try {
      streaming_trace_.append(t.routing, std::span(&t.token, 1), std::span(&pos, 1),
                              Modality::text);
      streaming_texts_.push_back(t.text.toStdString());
    } catch (const std::exception&) {
      return;  // a routing of another shape: the stored session will show it
    }
    if (!routing_timer_->isActive()) routing_timer_->start();
  });
  // A token hovered in the chat shows its path in the Routing Inspector.
  connect(conversation_, &ConversationView::tokenHovered, routing_,
          &inspector::RoutingInspector::showMessageTokenPath);
  model_dock->raise();
  // The chat keeps most of the width; applied once the window has its size (a saved
  // layout, restored later, wins).
  QTimer::singleShot(0, this, [this, model_dock] {
    if (!restored_layout_) resizeDocks({model_dock}, {width() * 3 / 10}, Qt::Horizontal);
  });
}

void MainWindow::sendMessage() {
  const QString text = composer_->text().trimmed();
  if (text.isEmpty() && composer_->attachmentCount() == 0) return;
  if (chat_->busy()) return;
  if (composer_->measuring() || !composer_->fits()) {
    showProblem(composer_->costText());  // Send waits for every cost; nothing is cut
    return;
  }
  auto user = std::make_shared<Message>();
  user->role = "user";
  user->content = text.toStdString();
  user->attachments = composer_->attachments();
  user->created_ms = QDateTime::currentMSecsSinceEpoch();
  conversation_->beginTurn(user);
  sampling_->setBackend(panel_->devicePicker()->backend());
  chat_->setEngine(sampling_->backend(), sampling_->threads());
  chat_->send(std::move(user), sampling_->params(), sampling_->settingsJson());
  composer_->clear();
}

void MainWindow::exportSessionDialog(int64_t id) {
  if (id == 0) return;
  QString selected;
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export Session"), QDir::homePath(),
      tr("HTML page (*.html);;Markdown (*.md);;JSON (*.json);;PDF (*.pdf);;Routing CSV "
         "(*.csv);;Routing NumPy (*.npy)"),
      &selected);
  if (path.isEmpty()) return;
  const auto format = transcript::parse_format(QFileInfo(path).suffix().toLower().toStdString());
  if (!format) {
    showProblem(tr("%1: give the file one of the extensions .html .md .json .pdf .csv .npy")
                    .arg(QFileInfo(path).fileName()));
    return;
  }
  statusBar()->showMessage(tr("Exporting %1…").arg(QFileInfo(path).fileName()));
  busy_bar_->show();
  chat_->exportSession(id, *format, path);
}

void MainWindow::showInspectorView(const QString& view) {
  const bool engine = view == QLatin1String("engine");
  const bool model = view == QLatin1String("model");
  const QString dock = engine  ? QStringLiteral("engineInspectorDock")
                       : model ? QStringLiteral("modelDock")
                               : QStringLiteral("routingInspectorDock");
  if (auto* d = findChild<QDockWidget*>(dock)) {
    d->show();
    d->raise();
  }
  if (!engine && !model) routing_->setView(view);
}

void MainWindow::pushStreamingRouting() {
  if (!streaming_trace_.has_shape()) return;
  const auto segment = inspector::InspectorData::makeSegment(streaming_trace_, streaming_texts_,
                                                             QStringLiteral("assistant"));
  const auto base =
      routing_base_ ? routing_base_ : std::make_shared<const inspector::InspectorData>();
  routing_->setData(inspector::InspectorData::withSegment(base, base->segmentCount(), segment));
}

void MainWindow::setTheme(const QString& theme) {
  if (options_.use_settings) QSettings().setValue(kThemeKey, theme);
  static const QPalette system_palette = QApplication::palette();
  if (theme == QLatin1String("dark")) {
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QPalette p;
    p.setColor(QPalette::Window, QColor(0x20, 0x22, 0x26));
    p.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Base, QColor(0x17, 0x19, 0x1c));
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x29, 0x2e));
    p.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Button, QColor(0x2b, 0x2e, 0x33));
    p.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x7e, 0xdb));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::ToolTipBase, QColor(0x2b, 0x2e, 0x33));
    p.setColor(QPalette::ToolTipText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x8f, 0x98));
    p.setColor(QPalette::Link, QColor(0x6c, 0xa8, 0xff));
    QApplication::setPalette(p);
  } else if (theme == QLatin1String("light")) {
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QApplication::setPalette(QApplication::style()->standardPalette());
  } else {
    QApplication::setPalette(system_palette);
  }
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
