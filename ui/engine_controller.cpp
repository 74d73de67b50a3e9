#include "engine_controller.h"

#include <pthread.h>

#include <QMetaObject>
#include <algorithm>
#include <exception>
#include <utility>

namespace es::ui {

EngineController::EngineController(QObject* parent)
    : QObject(parent), state_(std::make_unique<EngineState>()) {
  thread_ = std::thread([this] { rt_loop(); });
  pthread_setname_np(thread_.native_handle(), "es-engine");
}

EngineController::~EngineController() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The engine thread is gone; the state (an open model's mapping) goes with it here.
  state_.reset();
}

void EngineController::asyncInvoke(Command command) {
  enqueue(Item{QString(), std::move(command)});
}

void EngineController::asyncInvoke(const QString& tag, Command command) {
  enqueue(Item{tag, std::move(command)});
}

bool EngineController::enqueue(Item item) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    if (!item.tag.isEmpty()) {
      std::erase_if(queue_, [&](const Item& queued) { return queued.tag == item.tag; });
    }
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
  return true;
}

void EngineController::blockInvoke(Command command) {
  if (onEngineThread()) {
    command(*state_);
    return;
  }
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::exception_ptr error;
  const bool queued = enqueue(Item{QString(), [&](EngineState& state) {
                                     try {
                                       command(state);
                                     } catch (...) {
                                       error = std::current_exception();
                                     }
                                     std::lock_guard lock(done_mutex);
                                     done = true;
                                     done_cv.notify_one();
                                   }});
  if (!queued) return;  // Shutting down: nothing runs any more.
  std::unique_lock lock(done_mutex);
  done_cv.wait(lock, [&] { return done; });
  if (error) std::rethrow_exception(error);  // On the caller's thread, as if called here.
}

void EngineController::guiInvoke(std::function<void()> fn) {
  // Posting an event is thread-safe; the event dies with this object if it never runs.
  QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

bool EngineController::onEngineThread() const noexcept {
  return std::this_thread::get_id() == thread_.get_id();
}

int EngineController::pendingCount() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

void EngineController::rt_loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    // A command reports its own errors through guiInvoke; anything that escapes is a
    // bug, but it must not take the engine thread (and the application) down with it.
    try {
      item.command(*state_);
    } catch (const std::exception& e) {
      qWarning("engine thread: uncaught exception: %s", e.what());
    } catch (...) {
      qWarning("engine thread: uncaught exception");
    }
  }
}

}  // namespace es::ui
