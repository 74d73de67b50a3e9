// Opening and closing models through the engine controller, as the UI sees it.
//
// ModelLoader lives on the UI thread. open() and close() queue `rt_` commands on the
// engine thread (tagged, so only the newest model request waits in the queue); the
// commands report their phases and their result back through guiInvoke to `ui_`
// handlers, which emit the signals below. A failed open leaves the previously opened
// model (if any) loaded.
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <cstdint>
#include <memory>

#include "model_snapshot.h"

namespace es::ui {

class EngineController;
struct EngineState;

/// The steps of opening a model, in order. Zero means "unset" (STYLE.md item 12).
enum class OpenPhase : int {
  unset = 0,
  mapping = 1,   ///< Mapping the file and validating its structure.
  reading = 2,   ///< Reading the hyper-parameters.
  checking = 3,  ///< Checking the tensors against the architecture.
  counting = 4,  ///< Counting parameters and bytes.
  loading = 5,   ///< Preparing the model to run.
  warming = 6,   ///< Reading the weights into memory (progress is reported).
};

/// "Mapping and validating", ... for the status bar.
[[nodiscard]] QString open_phase_text(OpenPhase phase);

/// Opens and closes models on the engine thread; reports on the UI thread.
class ModelLoader : public QObject {
  Q_OBJECT

 public:
  /// `engine` must outlive this object.
  explicit ModelLoader(EngineController* engine, QObject* parent = nullptr);

  /// Starts opening `path` (replacing a queued, not yet started request). Returns at once.
  void open(const QString& path);
  /// Starts closing the current model. Returns at once.
  void close();
  /// Cancels the open in flight: it stops at its next phase, the previous model stays
  /// open, and openFailed reports "cancelled".
  void cancel();

  /// True from open()/close() until the newest request has finished.
  [[nodiscard]] bool busy() const noexcept { return completed_ != requested_; }
  /// The model the engine holds now (as last reported), or null.
  [[nodiscard]] ModelSnapshotPtr current() const { return current_; }
  /// The path of the request in flight (empty when idle or closing).
  [[nodiscard]] QString pendingPath() const { return pending_path_; }

 signals:
  /// busy() changed.
  void busyChanged(bool busy);
  /// The engine started `phase` of opening `path`.
  void phaseChanged(es::ui::OpenPhase phase, const QString& path);
  /// Progress of the current phase, 0..1 (phases that report it: warming).
  void progressChanged(double fraction);
  /// `snapshot` is now the open model.
  void opened(es::ui::ModelSnapshotPtr snapshot);
  /// Opening `path` failed with `message` (which names the file and the problem); the
  /// previous model, if any, is still open.
  void openFailed(const QString& path, const QString& message);
  /// No model is open any more.
  void closed();

 private:
  struct Request;  // One open or close request, as its engine command carries it.

  // Engine thread: they see the engine state and report through Request::send.
  static void rt_openModel(EngineState& state, const Request& request);
  static void rt_closeModel(EngineState& state, const Request& request);

  // UI thread: the reports arrive here.
  void ui_phase(uint64_t request, OpenPhase phase, const QString& path);
  void ui_progress(uint64_t request, double fraction);
  void ui_opened(uint64_t request, ModelSnapshotPtr snapshot);
  void ui_failed(uint64_t request, const QString& path, const QString& message);
  void ui_closed(uint64_t request);
  void ui_finish(uint64_t request);

  EngineController* engine_;
  uint64_t requested_ = 0;  ///< Id of the newest request.
  uint64_t completed_ = 0;  ///< Id of the newest finished request.
  QString pending_path_;
  ModelSnapshotPtr current_;
  /// Raised by cancel(); each request holds the flag current when it was made.
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace es::ui
