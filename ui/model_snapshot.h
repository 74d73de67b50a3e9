// Plain data about an opened model, made on the engine thread and handed to the UI
// thread by value (behind a shared pointer to const). The UI never sees the gguf::File:
// the tensor infos are copied out of the mapping into owned rows here.
#pragma once

#include <QString>
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "expertscope/gguf.h"
#include "expertscope/model_info.h"
#include "expertscope/projector.h"
#include "expertscope/tokenizer.h"

namespace es::ui {

/// One tensor of the file, owned (no views into the mapping).
struct TensorRow {
  QString name;
  QString type;  ///< ggml's type name ("F32", "Q4_K", ...).
  uint32_t n_dims = 0;
  std::array<int64_t, gguf::max_dims> ne{1, 1, 1, 1};  ///< ggml order: ne[0] innermost.
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t offset = 0;  ///< Relative to the data section.
};

/// Everything the Model panel shows about one opened file.
struct ModelSnapshot {
  QString path;               ///< As the user gave it (absolute).
  uint32_t gguf_version = 0;  ///< 2 or 3.
  uint64_t file_size_bytes = 0;
  uint64_t n_metadata = 0;  ///< Metadata entries in the file.
  ModelSummary summary;
  std::vector<TensorRow> tensors;  ///< In file order.
  /// Empty when the engine can run the model; otherwise why not (the panel still shows it).
  QString run_error;
  /// The vision projector found beside the model (empty: none), or why it cannot be used.
  QString projector_path;
  QString projector_error;
  uint32_t image_tokens = 0;  ///< Tokens one image costs with it (markers included).
  /// For costing attachments on the UI thread (immutable, shared with the engine thread);
  /// null when the model cannot run.
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const Projector> projector;
  uint32_t chat_context = 0;  ///< Positions a chat context gets (chat_context_size).
  /// The chat template's source (chat_template_source; empty: the built-in fallback), so
  /// that the composer counts a conversation as the next turn renders it.
  std::string chat_template;
};

/// The context a chat runs in: the model's training context, at most 8192 positions.
[[nodiscard]] inline uint32_t chat_context_size(uint32_t n_ctx_train) {
  constexpr uint32_t kChatContext = 8192;
  return n_ctx_train != 0 ? std::min(kChatContext, n_ctx_train) : kChatContext;
}

/// Shared, immutable: the engine thread makes it, the UI thread reads it.
using ModelSnapshotPtr = std::shared_ptr<const ModelSnapshot>;

/// Copies what the UI needs out of an opened file and its summary. Runs on the engine
/// thread (it reads the File) and touches no Qt object, only value types.
[[nodiscard]] ModelSnapshot make_snapshot(const QString& path, const gguf::File& file,
                                          const ModelSummary& summary);

}  // namespace es::ui
