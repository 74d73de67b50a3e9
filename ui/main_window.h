// Expertscope's main window: the menus, the Model panel, the status bar with progress,
// drag and drop of .gguf files, the recent-models list, and the engine controller that
// every engine request goes through (DESIGN.md seam 2).
//
// The central area is the chat: the sessions sidebar beside the conversation and the
// composer. The Model panel, Sampling, the Routing Inspector and the Engine Inspector are
// docks (nested and tabbed; saveState() persists their layout). Sessions live in the
// store the ChatController opens on the engine thread.
#pragma once

#include <QMainWindow>
#include <memory>

#include "expertscope/trace.h"
#include "model_snapshot.h"
#include "recent_models.h"

class QAction;
class QLabel;
class QMenu;
class QMimeData;
class QProgressBar;
class QTimer;
class QToolButton;

namespace es::inspector {
class InspectorData;
class RoutingInspector;
}  // namespace es::inspector

namespace es::ui {

class ChatController;
class Composer;
class ConversationView;
class EngineController;
class EngineInspector;
class ModelLoader;
class ModelPanel;
class SamplingPanel;
class SessionsSidebar;
enum class OpenPhase : int;

/// The main window (see the file comment).
class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  /// How the window treats the user's settings.
  struct Options {
    /// Restore and save geometry, dock layout and recent models in QSettings. Off for
    /// screenshot runs, which must neither depend on nor change the user's settings.
    bool use_settings = true;
    /// The session database; empty: default_database_path().
    QString store_path;
  };

  explicit MainWindow(Options options, QWidget* parent = nullptr);
  /// With the default options.
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  /// The engine controller (one engine thread for the whole window).
  [[nodiscard]] EngineController* engine() const { return engine_; }
  /// Opens and closes models; its signals tell when the engine is done.
  [[nodiscard]] ModelLoader* loader() const { return loader_; }
  /// The Model panel.
  [[nodiscard]] ModelPanel* modelPanel() const { return panel_; }
  /// The recent-models list (newest first).
  [[nodiscard]] const RecentModels& recentModels() const { return recent_; }
  /// File → Open Recent.
  [[nodiscard]] QMenu* recentMenu() const { return recent_menu_; }
  /// The status bar's busy indicator (visible while a model request runs).
  [[nodiscard]] QProgressBar* busyIndicator() const { return busy_bar_; }
  /// Sessions and chat turns.
  [[nodiscard]] ChatController* chat() const { return chat_; }
  [[nodiscard]] Composer* composer() const { return composer_; }
  [[nodiscard]] ConversationView* conversation() const { return conversation_; }
  [[nodiscard]] SessionsSidebar* sessions() const { return sidebar_; }
  [[nodiscard]] SamplingPanel* sampling() const { return sampling_; }
  [[nodiscard]] EngineInspector* engineInspector() const { return engine_inspector_; }
  [[nodiscard]] inspector::RoutingInspector* routingInspector() const { return routing_; }
  /// The path of the session database in use.
  [[nodiscard]] QString storePath() const { return store_path_; }

 public slots:
  /// Opens the model at `path` on the engine thread (File → Open Model…, Open Recent,
  /// drops and the command line all end here). Returns at once.
  void openModel(const QString& path);
  /// Asks for a .gguf file and opens it.
  void openModelDialog();
  /// Closes the open model.
  void closeModel();
  /// Sends what the composer holds to the current session.
  void sendMessage();
  /// Attaches files to the composer (drops, pastes); unusable ones are reported.
  void attachFiles(const QStringList& paths);
  /// Exports session `id` (asks for the file and format).
  void exportSessionDialog(int64_t id);
  /// "system", "light" or "dark".
  void setTheme(const QString& theme);
  /// Shows a Routing Inspector view by name (tokens, heatmap, load, path, expert,
  /// coactivation, stats); "engine" raises the Engine Inspector.
  void showInspectorView(const QString& view);

 signals:
  /// The model at `path` is open and shown.
  void modelOpened(const QString& path);
  /// Opening `path` failed; `message` is shown in the window.
  void modelOpenFailed(const QString& path, const QString& message);
  /// A message shown to the user as a problem (status bar and, where it belongs, the
  /// conversation): for tests and scripts.
  void problemShown(const QString& message);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void createActions();
  void createMenus();
  void createStatusBar();
  void createChat();
  void createDocks();
  void showProblem(const QString& message);
  /// Hands the streaming answer's routing so far to the Routing Inspector.
  void pushStreamingRouting();
  void restoreWindowState();
  void saveWindowState() const;
  void rebuildRecentMenu();
  void showAbout();

  void ui_onOpened(const ModelSnapshotPtr& snapshot);
  void ui_onOpenFailed(const QString& path, const QString& message);
  void ui_onClosed();
  void ui_onBusyChanged(bool busy);
  void ui_onPhase(OpenPhase phase, const QString& path);

  /// The first local .gguf file among `mime`'s URLs; otherwise empty, with the local
  /// files that are not models in `others`.
  [[nodiscard]] static QString modelPathFromMime(const QMimeData* mime, QStringList* others);

  Options options_;
  EngineController* engine_ = nullptr;
  ModelLoader* loader_ = nullptr;
  ModelPanel* panel_ = nullptr;
  ChatController* chat_ = nullptr;
  Composer* composer_ = nullptr;
  ConversationView* conversation_ = nullptr;
  SessionsSidebar* sidebar_ = nullptr;
  SamplingPanel* sampling_ = nullptr;
  EngineInspector* engine_inspector_ = nullptr;
  inspector::RoutingInspector* routing_ = nullptr;
  /// The Routing Inspector's data: the session shown, plus the answer streaming now.
  std::shared_ptr<const inspector::InspectorData> routing_base_;
  int64_t routing_session_ = 0;  ///< The session routing_base_ was made from.
  RoutingTrace streaming_trace_;
  std::vector<std::string> streaming_texts_;
  QTimer* routing_timer_ = nullptr;
  QMenu* view_menu_ = nullptr;
  QString store_path_;
  RecentModels recent_;

  QAction* new_session_action_ = nullptr;
  QAction* export_action_ = nullptr;
  QAction* open_action_ = nullptr;
  QAction* close_action_ = nullptr;
  QAction* clear_recent_action_ = nullptr;
  QAction* quit_action_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  QLabel* phase_label_ = nullptr;
  QProgressBar* busy_bar_ = nullptr;
  QToolButton* cancel_open_ = nullptr;
  bool restored_layout_ = false;  ///< The dock layout came from the user's settings.
};

}  // namespace es::ui
