#include "model_loader.h"

#include <QFile>
#include <QPointer>
#include <algorithm>
#include <exception>
#include <new>
#include <utility>

#include "engine_controller.h"
#include "expertscope/error.h"

namespace es::ui {

namespace {

/// Model requests share one tag: a newer open or close replaces a queued older one.
const QString kModelTag = QStringLiteral("model");

}  // namespace

/// What an engine command knows of its request. The loader is reached only through
/// guiInvoke and a QPointer checked on the UI thread, so a loader destroyed meanwhile
/// simply misses the report.
struct ModelLoader::Request {
  EngineController* engine = nullptr;
  QPointer<ModelLoader> loader;
  uint64_t id = 0;
  QString path;
  std::shared_ptr<std::atomic<bool>> cancel;

  /// Queues `fn(loader)` to the UI thread.
  template <typename Fn>
  void send(Fn fn) const {
    engine->guiInvoke([loader = loader, fn = std::move(fn)] {
      if (loader) fn(*loader);
    });
  }
};

QString open_phase_text(OpenPhase phase) {
  switch (phase) {
    case OpenPhase::mapping:
      return ModelLoader::tr("Mapping and validating the file");
    case OpenPhase::reading:
      return ModelLoader::tr("Reading hyper-parameters");
    case OpenPhase::checking:
      return ModelLoader::tr("Checking tensors");
    case OpenPhase::counting:
      return ModelLoader::tr("Counting parameters");
    case OpenPhase::loading:
      return ModelLoader::tr("Preparing to run");
    case OpenPhase::warming:
      return ModelLoader::tr("Reading the weights");
    case OpenPhase::unset:
      break;
  }
  return QString();
}

ModelLoader::ModelLoader(EngineController* engine, QObject* parent)
    : QObject(parent), engine_(engine) {}

void ModelLoader::open(const QString& path) {
  const bool was_busy = busy();
  pending_path_ = path;
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  const Request request{engine_, this, ++requested_, path, cancel_};
  if (!was_busy) emit busyChanged(true);
  engine_->asyncInvoke(kModelTag, [request](EngineState& state) { rt_openModel(state, request); });
}

void ModelLoader::close() {
  const bool was_busy = busy();
  pending_path_.clear();
  const Request request{engine_, this, ++requested_, QString(), cancel_};
  if (!was_busy) emit busyChanged(true);
  engine_->asyncInvoke(kModelTag, [request](EngineState& state) { rt_closeModel(state, request); });
}

void ModelLoader::cancel() {
  cancel_->store(true);
}

void ModelLoader::rt_openModel(EngineState& state, const Request& request) {
  const auto phase = [&request](OpenPhase p) {
    if (request.cancel && request.cancel->load()) {
      throw Error(ErrorKind::usage, tr("%1: opening cancelled").arg(request.path).toStdString());
    }
    request.send(
        [p, id = request.id, path = request.path](ModelLoader& l) { l.ui_phase(id, p, path); });
  };
  ModelSnapshotPtr snapshot;
  QString error;
  try {
    phase(OpenPhase::mapping);
    gguf::File file = gguf::File::open(QFile::encodeName(request.path).toStdString());
    phase(OpenPhase::reading);
    const HParams hp = read_hparams(file);
    phase(OpenPhase::checking);
    check_tensors(file, hp);
    phase(OpenPhase::counting);
    ModelSummary summary = summarize(file);
    ModelSnapshot made = make_snapshot(request.path, file, summary);
    phase(OpenPhase::loading);
    std::shared_ptr<const Model> model;
    std::shared_ptr<const Projector> projector;
    try {
      model = Model::load(QFile::encodeName(request.path).toStdString());
      // Read every page of the weights now, with progress and a chance to cancel, instead
      // of stalling the first answer on page faults.
      phase(OpenPhase::warming);
      const auto& tensors = model->file().tensors();
      uint64_t total = 0;
      for (const auto& t : tensors) total += t.n_bytes;
      uint64_t done = 0;
      int reported = -1;
      volatile uint8_t sink = 0;
      for (const auto& t : tensors) {
        const auto bytes = model->file().tensor_data(t);
        for (size_t off = 0; off < bytes.size(); off += 4096) {
          sink = static_cast<uint8_t>(sink + bytes[off]);
          if ((off & ((size_t{1} << 24) - 1)) == 0) {  // every 16 MiB
            if (request.cancel && request.cancel->load()) {
              throw Error(ErrorKind::usage,
                          tr("%1: opening cancelled").arg(request.path).toStdString());
            }
            const int percent = total ? static_cast<int>(100 * (done + off) / total) : 100;
            if (percent != reported) {
              reported = percent;
              request.send(
                  [id = request.id, f = percent / 100.0](ModelLoader& l) { l.ui_progress(id, f); });
            }
          }
        }
        done += bytes.size();
      }
      request.send([id = request.id](ModelLoader& l) { l.ui_progress(id, 1.0); });
      made.chat_context = chat_context_size(model->hparams().n_ctx_train);
      made.chat_template = chat_template_source(*model);
      try {
        made.tokenizer = std::make_shared<const Tokenizer>(Tokenizer::from_gguf(model->file()));
      } catch (const Error&) {  // NOLINT(bugprone-empty-catch): no costs shown then
      }
      // A vision projector beside the model (MODEL.mmproj.gguf or mmproj-MODEL).
      const std::filesystem::path pj =
          Projector::find_beside(QFile::encodeName(request.path).toStdString());
      if (!pj.empty()) {
        try {
          projector = Projector::load(pj, *model);
          made.projector = projector;
          made.projector_path = QString::fromStdString(pj.string());
          made.image_tokens = projector->image_tokens() + 2;
        } catch (const Error& e) {
          made.projector_error = QString::fromUtf8(e.what());
        }
      }
    } catch (const Error& e) {
      if (request.cancel && request.cancel->load()) throw;
      // The panel still shows what the file holds; chat says why it cannot run.
      made.run_error = QString::fromUtf8(e.what());
    }
    snapshot = std::make_shared<const ModelSnapshot>(std::move(made));
    // Only now, with everything checked, does the new model replace the old one.
    state.runner.reset();
    state.summary = std::move(summary);
    state.file = std::move(file);
    state.model = std::move(model);
    state.projector = std::move(projector);
    state.model_error = snapshot->run_error.toStdString();
  } catch (const std::bad_alloc&) {
    error = tr("%1: out of memory while reading the model").arg(request.path);
  } catch (const std::exception& e) {
    error = QString::fromUtf8(e.what());
  }
  if (snapshot) {
    request.send([snapshot, id = request.id](ModelLoader& l) { l.ui_opened(id, snapshot); });
  } else {
    request.send([error, id = request.id, path = request.path](ModelLoader& l) {
      l.ui_failed(id, path, error);
    });
  }
}

void ModelLoader::rt_closeModel(EngineState& state, const Request& request) {
  state.runner.reset();
  state.projector.reset();
  state.model.reset();
  state.model_error.clear();
  state.summary.reset();
  state.file.reset();  // Unmaps the file, here on the engine thread.
  request.send([id = request.id](ModelLoader& l) { l.ui_closed(id); });
}

void ModelLoader::ui_phase(uint64_t request, OpenPhase phase, const QString& path) {
  if (request == requested_) emit phaseChanged(phase, path);
}

void ModelLoader::ui_progress(uint64_t request, double fraction) {
  if (request == requested_) emit progressChanged(fraction);
}

void ModelLoader::ui_opened(uint64_t request, ModelSnapshotPtr snapshot) {
  current_ = std::move(snapshot);
  ui_finish(request);
  emit opened(current_);
}

void ModelLoader::ui_failed(uint64_t request, const QString& path, const QString& message) {
  ui_finish(request);
  emit openFailed(path, message);
}

void ModelLoader::ui_closed(uint64_t request) {
  current_.reset();
  ui_finish(request);
  emit closed();
}

void ModelLoader::ui_finish(uint64_t request) {
  const bool was_busy = busy();
  completed_ = std::max(completed_, request);
  if (!busy()) pending_path_.clear();
  if (was_busy && !busy()) emit busyChanged(false);
}

}  // namespace es::ui
