// The engine controller (DESIGN.md seam 2): one engine thread, commands in order, tagged
// requests that replace queued ones, blockInvoke, and results back on the UI thread.
#include <QtTest>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "engine_controller.h"

using es::ui::EngineController;
using es::ui::EngineState;

namespace {

/// Holds the engine thread inside a command until released, so tests can queue behind it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void waitEntered() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

}  // namespace

class TestEngineController : public QObject {
  Q_OBJECT

 private slots:
  void runsCommandsInOrderOnOneEngineThread() {
    EngineController engine;
    std::vector<int> order;
    std::set<std::thread::id> threads;
    for (int i = 0; i < 50; ++i) {
      engine.asyncInvoke([&, i](EngineState&) {
        order.push_back(i);
        threads.insert(std::this_thread::get_id());
      });
    }
    engine.blockInvoke([](EngineState&) {});  // Everything queued before has run.
    QCOMPARE(order.size(), size_t{50});
    for (int i = 0; i < 50; ++i) QCOMPARE(order[static_cast<size_t>(i)], i);
    QCOMPARE(threads.size(), size_t{1});
    QVERIFY(*threads.begin() != std::this_thread::get_id());
    QVERIFY(!engine.onEngineThread());
  }

  void taggedRequestReplacesQueuedOnesOfItsTag() {
    EngineController engine;
    Gate gate;
    engine.asyncInvoke([&](EngineState&) { gate.wait(); });
    gate.waitEntered();  // The engine is busy: what follows stays queued.
    std::vector<QString> ran;
    engine.asyncInvoke(QStringLiteral("hover"), [&](EngineState&) { ran.push_back("hover 1"); });
    engine.asyncInvoke(QStringLiteral("open"), [&](EngineState&) { ran.push_back("open 1"); });
    engine.asyncInvoke([&](EngineState&) { ran.push_back("plain"); });
    engine.asyncInvoke(QStringLiteral("hover"), [&](EngineState&) { ran.push_back("hover 2"); });
    engine.asyncInvoke(QStringLiteral("hover"), [&](EngineState&) { ran.push_back("hover 3"); });
    QCOMPARE(engine.pendingCount(), 3);  // open 1, plain, hover 3.
    gate.open();
    engine.blockInvoke([](EngineState&) {});
    const std::vector<QString> expected{"open 1", "plain", "hover 3"};
    QCOMPARE(ran, expected);
  }

  void blockInvokeReturnsAfterTheCommandAndRethrows() {
    EngineController engine;
    std::atomic<int> value = 0;
    bool had_file = true;
    engine.blockInvoke([&](EngineState& state) {
      had_file = state.file.has_value();
      value = 42;
    });
    QCOMPARE(value.load(), 42);
    QVERIFY(!had_file);
    bool caught = false;
    try {
      engine.blockInvoke([](EngineState&) { throw std::runtime_error("boom"); });
    } catch (const std::runtime_error& e) {
      caught = QByteArray(e.what()) == "boom";
    }
    QVERIFY(caught);
    // The engine thread survived the exception.
    engine.blockInvoke([&](EngineState&) { value = 7; });
    QCOMPARE(value.load(), 7);
  }

  void blockInvokeOnTheEngineThreadRunsInline() {
    EngineController engine;
    bool inner = false;
    bool on_engine = false;
    engine.blockInvoke([&](EngineState&) {
      on_engine = engine.onEngineThread();
      engine.blockInvoke([&](EngineState&) { inner = true; });
    });
    QVERIFY(on_engine);
    QVERIFY(inner);
  }

  void guiInvokeRunsOnTheUiThread() {
    EngineController engine;
    std::thread::id ui_thread = std::this_thread::get_id();
    std::thread::id ran_on;
    bool ran = false;
    engine.asyncInvoke([&](EngineState&) {
      engine.guiInvoke([&] {
        ran_on = std::this_thread::get_id();
        ran = true;
      });
    });
    QTRY_VERIFY_WITH_TIMEOUT(ran, 300000);  // A hang guard only, not a time limit.
    QVERIFY(ran_on == ui_thread);
  }

  void destructionDropsQueuedCommandsAndJoins() {
    std::atomic<int> ran = 0;
    Gate gate;
    std::thread opener;
    {
      EngineController engine;
      engine.asyncInvoke([&](EngineState&) {
        gate.wait();
        ++ran;
      });
      gate.waitEntered();
      for (int i = 0; i < 10; ++i) engine.asyncInvoke([&](EngineState&) { ++ran; });
      opener = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        gate.open();
      });
    }  // Waits for the running command; the ten queued ones never run.
    opener.join();
    QCOMPARE(ran.load(), 1);
  }

  void uncaughtExceptionInAsyncCommandKeepsTheThreadAlive() {
    EngineController engine;
    QTest::ignoreMessage(QtWarningMsg, "engine thread: uncaught exception: lost");
    engine.asyncInvoke([](EngineState&) { throw std::runtime_error("lost"); });
    bool alive = false;
    engine.blockInvoke([&](EngineState&) { alive = true; });
    QVERIFY(alive);
  }
};

QTEST_MAIN(TestEngineController)
#include "test_engine_controller.moc"
