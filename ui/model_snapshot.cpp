#include "model_snapshot.h"

namespace es::ui {

namespace {

QString from_view(std::string_view text) {
  return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
}

}  // namespace

ModelSnapshot make_snapshot(const QString& path, const gguf::File& file,
                            const ModelSummary& summary) {
  ModelSnapshot snapshot;
  snapshot.path = path;
  snapshot.gguf_version = file.version();
  snapshot.file_size_bytes = file.file_size_bytes();
  snapshot.n_metadata = file.metadata().size();
  snapshot.summary = summary;
  const auto tensors = file.tensors();
  snapshot.tensors.reserve(tensors.size());
  for (const gguf::TensorInfo& info : tensors) {
    TensorRow row;
    row.name = from_view(info.name);
    row.type = from_view(tensor_type_name(info.type));
    row.n_dims = info.n_dims;
    row.ne = info.ne;
    row.n_elements = info.n_elements;
    row.n_bytes = info.n_bytes;
    row.offset = info.offset;
    snapshot.tensors.push_back(std::move(row));
  }
  return snapshot;
}

}  // namespace es::ui
