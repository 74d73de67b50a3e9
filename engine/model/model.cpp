// Model::load: map, read hyper-parameters, check tensors.
#include "expertscope/model.h"

namespace es {

Model::Model(gguf::File file, HParams hp) : file_(std::move(file)), hp_(std::move(hp)) {
  for (uint32_t l = 0; l < hp_.n_layer; ++l) {
    if (hp_.is_moe_layer(l)) moe_layers_.push_back(l);
  }
}

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path) {
  gguf::File file = gguf::File::open(path);
  HParams hp = read_hparams(file);
  check_tensors(file, hp);
  return std::shared_ptr<const Model>(new Model(std::move(file), std::move(hp)));
}

}  // namespace es
