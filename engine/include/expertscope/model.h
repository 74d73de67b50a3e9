// A loaded model: the mapped GGUF file, its validated hyper-parameters and tensors.
// Immutable once loaded and shared (std::shared_ptr<const Model>) by every Context that
// runs it, on any thread.
#pragma once

#include <filesystem>
#include <memory>

#include "expertscope/gguf.h"
#include "expertscope/model_info.h"

namespace es {

class Model {
 public:
  /// Maps `path`, reads the hyper-parameters and checks every tensor. Throws es::Error
  /// naming the file and the problem (an unsupported architecture or type by name).
  static std::shared_ptr<const Model> load(const std::filesystem::path& path);

  [[nodiscard]] const gguf::File& file() const noexcept { return file_; }
  [[nodiscard]] const HParams& hparams() const noexcept { return hp_; }
  /// Block indices of the MoE layers, ascending.
  [[nodiscard]] const std::vector<uint32_t>& moe_layers() const noexcept { return moe_layers_; }

 private:
  Model(gguf::File file, HParams hp);
  gguf::File file_;
  HParams hp_;
  std::vector<uint32_t> moe_layers_;
};

}  // namespace es
