// Chat and sessions as the UI sees them: every store read and write and every chat turn
// runs on the engine thread (EngineController, DESIGN.md seam 2); results come back as
// signals on the UI thread. The UI thread never touches SQLite or the model.
//
// Streaming: each generated token arrives as tokenArrived() (one queued call per token:
// a repaint per token is fine, DESIGN.md); stop() raises an atomic flag the generation
// loop checks between tokens, so it takes effect within one token.
#pragma once

#include <QObject>
#include <QString>
#include <QVector>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "expertscope/engine_stats.h"
#include "expertscope/generate.h"
#include "expertscope/session.h"
#include "expertscope/store.h"
#include "expertscope/transcript.h"

namespace es::ui {

class EngineController;
struct EngineState;

/// A session loaded for the UI: immutable, shared.
using SessionPtr = std::shared_ptr<const Session>;

/// One streamed token as the UI gets it.
struct StreamedToken {
  int32_t token = 0;
  uint32_t pos = 0;
  QString text;
  float logprob = 0;
  /// The token's routing (one token), empty when the token was not evaluated.
  RoutingBatch routing;
};

/// The figures of a finished turn.
struct TurnStats {
  int64_t session_id = 0;
  int64_t answer_id = 0;
  uint32_t n_prompt = 0;
  uint32_t n_reused = 0;
  uint32_t n_tokens = 0;
  double prompt_ms = 0;
  double generate_ms = 0;
  double first_token_ms = 0;
  QString stop_reason;
};

/// Sessions and chat turns through the engine thread.
class ChatController : public QObject {
  Q_OBJECT

 public:
  /// `engine` must outlive this object.
  explicit ChatController(EngineController* engine, QObject* parent = nullptr);

  /// Opens (or creates) the session database on the engine thread; storeReady or
  /// storeFailed follows.
  void openStore(const QString& path);
  /// Lists the sessions (sessionsChanged follows).
  void refreshSessions();
  /// Loads a session and makes it current (sessionLoaded follows).
  void loadSession(int64_t id);
  /// The next message starts a new session.
  void newSession();
  void renameSession(int64_t id, const QString& title);
  void deleteSession(int64_t id);
  /// Copies a session (messages, attachments, traces) under "<title> (copy)".
  void duplicateSession(int64_t id);
  /// Full-text search (searchResults follows).
  void search(const QString& query);
  /// Exports a session; exportFinished follows. PDF is written on the UI thread by the
  /// caller (it needs Qt's text layout), the other formats on the engine thread.
  void exportSession(int64_t id, transcript::Format format, const QString& path);

  /// Sends `user` (text and attachments) to the current session (a new one if none) with
  /// these generation parameters. Ignored while a turn runs (busy()).
  void send(std::shared_ptr<const Message> user, const GenerateParams& params,
            const QString& settings_json);
  /// The engine's backend and threads for the next turns (the context is rebuilt when
  /// they change; its KV cache is then refilled from the session).
  void setEngine(const QString& backend, uint32_t threads);
  /// Stops the running turn at the next token (its answer is stored `cancelled`).
  void stop();

  [[nodiscard]] bool busy() const noexcept { return busy_; }
  /// The session the next message goes to (0: a new one).
  [[nodiscard]] int64_t currentSession() const noexcept { return current_; }

 signals:
  void storeReady(const QString& path);
  void storeFailed(const QString& path, const QString& message);
  void sessionsChanged(const QVector<es::SessionSummary>& sessions);
  void sessionLoaded(es::ui::SessionPtr session);
  void searchResults(const QString& query, const QVector<es::SearchHit>& hits);
  /// The user message is committed; the answer streams next.
  void turnStarted(int64_t session_id, int64_t user_id, int64_t answer_id);
  void tokenArrived(const es::ui::StreamedToken& token);
  /// The turn ended; sessionLoaded with the stored session follows.
  void turnFinished(const es::ui::TurnStats& stats);
  /// The turn could not run (nothing is lost: what was committed stays).
  void turnFailed(const QString& message);
  void exportFinished(const QString& path, const QString& error);
  void busyChanged(bool busy);
  /// A store operation failed.
  void storeError(const QString& message);
  /// The engine's statistics (published at most every 100 ms during a turn and at its
  /// end): what the Engine Inspector draws.
  void engineStats(const es::EngineStats& stats);

 private:
  void setBusy(bool busy);
  /// Queues `fn(state)` on the engine thread; an exception becomes storeError.
  template <typename Fn>
  void rt(Fn fn);

  EngineController* engine_;
  int64_t current_ = 0;
  bool busy_ = false;
  std::string backend_ = "cpu";
  uint32_t threads_ = 0;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace es::ui

Q_DECLARE_METATYPE(es::ui::StreamedToken)
Q_DECLARE_METATYPE(es::ui::TurnStats)
Q_DECLARE_METATYPE(es::ui::SessionPtr)
Q_DECLARE_METATYPE(es::EngineStats)
