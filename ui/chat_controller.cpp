#include "chat_controller.h"

#include <QFile>
#include <QPointer>
#include <chrono>
#include <exception>

#include "engine_controller.h"
#include "expertscope/chat_session.h"
#include "expertscope/error.h"
#include "model_snapshot.h"
#include "pdf_export.h"

namespace es::ui {

namespace {

QString what(const std::exception& e) {
  return QString::fromUtf8(e.what());
}

}  // namespace

ChatController::ChatController(EngineController* engine, QObject* parent)
    : QObject(parent), engine_(engine) {
  qRegisterMetaType<StreamedToken>();
  qRegisterMetaType<TurnStats>();
  qRegisterMetaType<SessionPtr>();
  qRegisterMetaType<EngineStats>();
}

template <typename Fn>
void ChatController::rt(Fn fn) {
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  engine_->asyncInvoke([self, engine, fn = std::move(fn)](EngineState& state) {
    try {
      fn(state);
    } catch (const std::exception& e) {
      const QString message = what(e);
      engine->guiInvoke([self, message] {
        if (self) emit self->storeError(message);
      });
    }
  });
}

void ChatController::openStore(const QString& path) {
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  engine_->asyncInvoke([self, engine, path](EngineState& state) {
    QString error;
    try {
      state.runner.reset();
      state.store.reset();
      state.store.emplace(QFile::encodeName(path).toStdString());
    } catch (const std::exception& e) {
      error = what(e);
    }
    engine->guiInvoke([self, path, error] {
      if (!self) return;
      if (error.isEmpty()) {
        emit self->storeReady(path);
        self->refreshSessions();
      } else {
        emit self->storeFailed(path, error);
      }
    });
  });
}

void ChatController::refreshSessions() {
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  rt([self, engine](EngineState& state) {
    if (!state.store) return;
    const auto list = state.store->list_sessions();
    QVector<SessionSummary> sessions(list.begin(), list.end());
    engine->guiInvoke([self, sessions] {
      if (self) emit self->sessionsChanged(sessions);
    });
  });
}

void ChatController::loadSession(int64_t id) {
  current_ = id;
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  // Tagged: clicking through sessions quickly loads only the last one.
  engine_->asyncInvoke(QStringLiteral("load-session"), [self, engine, id](EngineState& state) {
    try {
      if (!state.store) return;
      auto session = std::make_shared<const Session>(state.store->load_session(id));
      engine->guiInvoke([self, session] {
        if (self && self->current_ == session->id) emit self->sessionLoaded(session);
      });
    } catch (const std::exception& e) {
      const QString message = what(e);
      engine->guiInvoke([self, message] {
        if (self) emit self->storeError(message);
      });
    }
  });
}

void ChatController::newSession() {
  current_ = 0;
  emit sessionLoaded(std::make_shared<const Session>());
}

void ChatController::renameSession(int64_t id, const QString& title) {
  const std::string t = title.toStdString();
  rt([id, t](EngineState& state) {
    if (state.store) state.store->rename_session(id, t);
  });
  refreshSessions();
}

void ChatController::deleteSession(int64_t id) {
  rt([id](EngineState& state) {
    if (state.store) state.store->delete_session(id);
  });
  if (current_ == id) newSession();
  refreshSessions();
}

void ChatController::duplicateSession(int64_t id) {
  rt([id](EngineState& state) {
    if (!state.store) return;
    Session copy = state.store->load_session(id);
    copy.title += " (copy)";
    state.store->import_session(copy);
  });
  refreshSessions();
}

void ChatController::search(const QString& query) {
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  const std::string q = query.toStdString();
  engine_->asyncInvoke(QStringLiteral("search"), [self, engine, q, query](EngineState& state) {
    QVector<SearchHit> hits;
    try {
      if (state.store && !query.trimmed().isEmpty()) {
        const auto found = state.store->search(q, 100);
        hits = QVector<SearchHit>(found.begin(), found.end());
      }
    } catch (const Error&) {
      // A query with no words finds nothing.
    }
    engine->guiInvoke([self, query, hits] {
      if (self) emit self->searchResults(query, hits);
    });
  });
}

void ChatController::exportSession(int64_t id, transcript::Format format, const QString& path) {
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  engine_->asyncInvoke([self, engine, id, format, path](EngineState& state) {
    QString error;
    try {
      if (!state.store) throw Error(ErrorKind::usage, "no session store is open");
      auto session = std::make_shared<const Session>(state.store->load_session(id));
      if (format == transcript::Format::pdf) {
        // Qt's text layout runs on the UI thread.
        engine->guiInvoke([self, session, path] {
          QString err;
          try {
            pdf::write_pdf(*session, QFile::encodeName(path).toStdString());
          } catch (const std::exception& e) {
            err = what(e);
          }
          if (self) emit self->exportFinished(path, err);
        });
        return;
      }
      transcript::write_export(*session, format, QFile::encodeName(path).toStdString());
    } catch (const std::exception& e) {
      error = what(e);
    }
    engine->guiInvoke([self, path, error] {
      if (self) emit self->exportFinished(path, error);
    });
  });
}

void ChatController::setBusy(bool busy) {
  if (busy_ == busy) return;
  busy_ = busy;
  emit busyChanged(busy);
}

void ChatController::setEngine(const QString& backend, uint32_t threads) {
  backend_ = backend.toStdString();
  threads_ = threads;
}

void ChatController::stop() {
  cancel_->store(true);
}

void ChatController::send(std::shared_ptr<const Message> user, const GenerateParams& params,
                          const QString& settings_json) {
  if (busy_) return;
  setBusy(true);
  cancel_->store(false);
  QPointer<ChatController> self(this);
  EngineController* engine = engine_;
  const std::optional<int64_t> session =
      current_ != 0 ? std::optional<int64_t>(current_) : std::nullopt;
  auto cancel = cancel_;
  ChatTurnOptions options;
  options.generate = params;
  options.settings_json = settings_json.toStdString();
  const std::string backend = backend_;
  const uint32_t threads = threads_;
  engine_->asyncInvoke([self, engine, session, user, options, cancel, backend,
                        threads](EngineState& state) {
    const auto fail = [&](const QString& message) {
      engine->guiInvoke([self, message] {
        if (!self) return;
        self->setBusy(false);
        emit self->turnFailed(message);
      });
    };
    try {
      if (!state.store) return fail(tr("No session store is open."));
      if (!state.model) {
        return fail(state.model_error.empty() ? tr("Open a model first (File → Open Model…).")
                                              : QString::fromStdString(state.model_error));
      }
      if (state.runner && (state.runner_threads != threads || state.runner_backend != backend)) {
        state.runner.reset();  // other engine settings: a new context
      }
      if (!state.runner) {
        ContextParams cp;
        cp.backend = backend;
        cp.n_threads = threads;
        state.runner_backend = backend;
        state.runner_threads = threads;
        const uint32_t train = state.model->hparams().n_ctx_train;
        cp.n_ctx = chat_context_size(train);
        state.runner = std::make_unique<ChatRunner>(*state.store, state.model, cp);
        state.runner->set_projector(state.projector);
      }
      ChatTurnEvents events;
      auto last_stats = std::chrono::steady_clock::now() - std::chrono::seconds(1);
      const auto publish_stats = [&](bool force) {
        const auto now = std::chrono::steady_clock::now();
        if (!force && now - last_stats < std::chrono::milliseconds(100)) return;
        if (state.runner->context() == nullptr) return;
        last_stats = now;
        EngineStats st = state.runner->context()->stats();
        engine->guiInvoke([self, st = std::move(st)] {
          if (self) emit self->engineStats(st);
        });
      };
      events.on_started = [&](int64_t sid, int64_t uid, int64_t aid) {
        engine->guiInvoke([self, sid, uid, aid] {
          if (!self) return;
          self->current_ = sid;
          emit self->turnStarted(sid, uid, aid);
        });
      };
      events.on_token = [&](const TokenEvent& ev) {
        StreamedToken t;
        t.token = ev.token;
        t.pos = ev.pos;
        t.text = QString::fromUtf8(ev.text.data(), static_cast<qsizetype>(ev.text.size()));
        t.logprob = ev.logprob;
        if (ev.routing != nullptr) t.routing = *ev.routing;
        engine->guiInvoke([self, t = std::move(t)] {
          if (self) emit self->tokenArrived(t);
        });
        publish_stats(false);
        return true;
      };
      const ChatTurnResult r =
          state.runner->run_turn(session, *user, options, events, cancel.get());
      TurnStats stats;
      stats.session_id = r.session_id;
      stats.answer_id = r.answer_message_id;
      stats.n_prompt = r.n_prompt_tokens;
      stats.n_reused = r.n_reused_tokens;
      stats.n_tokens = static_cast<uint32_t>(r.generation.tokens.size());
      stats.prompt_ms = r.generation.prompt_ms;
      stats.generate_ms = r.generation.generate_ms;
      stats.first_token_ms = r.generation.first_token_ms;
      stats.stop_reason = QString::fromUtf8(stop_reason_name(r.generation.reason).data());
      auto stored = std::make_shared<const Session>(state.store->load_session(r.session_id));
      engine->guiInvoke([self, stats, stored] {
        if (!self) return;
        self->setBusy(false);
        emit self->turnFinished(stats);
        if (self->current_ == stored->id) emit self->sessionLoaded(stored);
        self->refreshSessions();
      });
    } catch (const std::exception& e) {
      fail(what(e));
    }
  });
}

}  // namespace es::ui
