// Work that must not run on the UI thread (reading and measuring attachments, decoding
// poster frames) and whose result a widget shows: run_off_ui runs the work on Qt's
// global thread pool and hands the result back on the UI thread, to a receiver that may
// have been destroyed meanwhile (then the result is dropped). The work gets only what it
// captured by value — never the widget (DESIGN.md: no widget is touched off its thread).
#pragma once

#include <QCoreApplication>
#include <QMetaObject>
#include <QPointer>
#include <QThreadPool>
#include <utility>

namespace es::ui {

/// Runs `work()` on QThreadPool::globalInstance(), then `done(result)` on the UI thread
/// if `receiver` still exists. `work` must not touch `receiver`.
template <typename Work, typename Done>
void run_off_ui(QObject* receiver, Work work, Done done) {
  const QPointer<QObject> guard(receiver);
  QThreadPool::globalInstance()->start(
      [guard, work = std::move(work), done = std::move(done)]() mutable {
        auto result = work();
        QCoreApplication* app = QCoreApplication::instance();
        if (app == nullptr) return;  // the program is ending
        QMetaObject::invokeMethod(
            app,
            [guard, done = std::move(done), result = std::move(result)]() mutable {
              if (guard) done(std::move(result));
            },
            Qt::QueuedConnection);
      });
}

}  // namespace es::ui
