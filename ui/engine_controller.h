// The one door between the UI and the engine (DESIGN.md seam 2).
//
// EngineController owns one engine thread and a queue of commands, after RenderDoc's
// qrenderdoc ReplayManager: the UI thread enqueues work with asyncInvoke (fire and
// forget), a tagged asyncInvoke (a newer request drops the older queued ones with the
// same tag: scrubbing, hovering, re-opening) or blockInvoke (wait for the result; for
// short work only). Each command is a function that takes the EngineState as its only
// parameter, so engine state is reachable only from the engine thread. By convention
// such functions are named `rt_*` and UI-thread handlers `ui_*`.
//
// Results travel back with guiInvoke(), which queues a function to the UI thread (the
// GUIInvoke::call of RenderDoc). The engine never touches a widget or a Qt model.
#pragma once

#include <QObject>
#include <QString>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "expertscope/chat_session.h"
#include "expertscope/gguf.h"
#include "expertscope/model.h"
#include "expertscope/model_info.h"
#include "expertscope/projector.h"
#include "expertscope/store.h"

namespace es::ui {

/// Everything the engine thread owns. Only functions running on the engine thread (the
/// commands of EngineController) ever see it.
struct EngineState {
  /// The opened model file, if any.
  std::optional<gguf::File> file;
  /// What summarize() reported for `file` (valid when `file` is set).
  std::optional<ModelSummary> summary;
  /// The same file loaded for running (null when it cannot run: `model_error` says why).
  std::shared_ptr<const Model> model;
  std::string model_error;
  /// The vision projector beside `model` (null: none, images cannot be shown).
  std::shared_ptr<const Projector> projector;
  /// The session store (opened by the chat controller).
  std::optional<Store> store;
  /// Chat turns of `model` recorded in `store` (made at the first turn, dropped when the
  /// model or the store changes).
  std::unique_ptr<ChatRunner> runner;
  /// The backend and threads (0: all cores) `runner`'s context was made for.
  std::string runner_backend;
  uint32_t runner_threads = 0;
};

/// Owns the engine thread and its command queue. Lives on the UI thread; its methods
/// are called from the UI thread except guiInvoke(), which any thread may call.
class EngineController : public QObject {
  Q_OBJECT

 public:
  /// A command: runs on the engine thread with the engine state as its only parameter.
  using Command = std::function<void(EngineState&)>;

  /// Starts the engine thread.
  explicit EngineController(QObject* parent = nullptr);
  /// Drops the commands still queued, waits for the running one, stops the thread.
  ~EngineController() override;

  EngineController(const EngineController&) = delete;
  EngineController& operator=(const EngineController&) = delete;

  /// Queues `command`; returns at once.
  void asyncInvoke(Command command);
  /// Queues `command` after dropping every queued (not yet running) command with the
  /// same non-empty `tag`: only the newest request of a kind survives.
  void asyncInvoke(const QString& tag, Command command);
  /// Queues `command` and waits until it has run. Runs it directly when called on the
  /// engine thread. Blocks the caller: for short work (shutdown, tests) only. An exception
  /// the command throws is rethrown here.
  void blockInvoke(Command command);

  /// Queues `fn` to run on the UI thread (this object's thread). Safe from any thread;
  /// `fn` is dropped if the controller is destroyed before it runs.
  void guiInvoke(std::function<void()> fn);

  /// True when called on the engine thread.
  [[nodiscard]] bool onEngineThread() const noexcept;
  /// Commands queued and not yet started.
  [[nodiscard]] int pendingCount() const;

 private:
  struct Item {
    QString tag;
    Command command;
  };

  void rt_loop();
  /// False when the controller is shutting down (the item is dropped).
  bool enqueue(Item item);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::unique_ptr<EngineState> state_;  // Touched only by the engine thread.
  std::thread thread_;
};

}  // namespace es::ui
