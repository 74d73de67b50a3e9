// The checkpoint's tensors: every shard mapped and validated, looked up by name.
#include <algorithm>
#include <cstring>
#include <set>

#include "convert_internal.h"
#include "core/half.h"

namespace es::convert {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float bf16_to_float(uint16_t v) {
  const uint32_t bits = uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

Checkpoint::Checkpoint(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorKind::io, dir.string() + ": not a folder");
  }
  const std::filesystem::path index = dir / "model.safetensors.index.json";
  if (std::filesystem::exists(index, ec)) {
    where_ = index.string();
    open_index(dir, index);
    return;
  }
  where_ = dir.string();
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".safetensors") paths.push_back(e.path());
  }
  if (ec) throw Error(ErrorKind::io, dir.string() + ": cannot list the folder: " + ec.message());
  if (paths.empty()) {
    throw Error(ErrorKind::bad_input,
                dir.string() + ": no *.safetensors files (and no model.safetensors.index.json)");
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) add_file(p);
}

void Checkpoint::open_index(const std::filesystem::path& dir, const std::filesystem::path& index) {
  const Config cfg = Config::load(index);
  if (!cfg.has("weight_map") || !cfg.root()["weight_map"].is_object()) {
    throw cfg.error(ErrorKind::bad_input, "missing key weight_map (an object)");
  }
  const json& map = cfg.root()["weight_map"];
  std::set<std::string> shards;
  for (const auto& [name, file] : map.items()) {
    if (!file.is_string()) {
      throw cfg.error(ErrorKind::bad_input, "weight_map \"" + name + "\" is not a file name");
    }
    const auto f = file.get<std::string>();
    if (f.empty() || f == "." || f == ".." || f.find('/') != std::string::npos ||
        f.find('\\') != std::string::npos) {
      throw cfg.error(ErrorKind::bad_input,
                      "weight_map \"" + name + "\" names \"" + f + "\", not a file in the folder");
    }
    shards.insert(f);
  }
  if (shards.empty()) throw cfg.error(ErrorKind::bad_input, "weight_map is empty");
  for (const std::string& f : shards) {
    const std::filesystem::path p = dir / f;
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      throw cfg.error(ErrorKind::bad_input, "the shard " + f + " it names is missing");
    }
    add_file(p);
  }
  for (const auto& [name, file] : map.items()) {
    const auto it = tensors_.find(name);
    const std::string shard = (dir / file.get<std::string>()).string();
    if (it == tensors_.end() || it->second.file->name() != shard) {
      throw cfg.error(ErrorKind::bad_input, "tensor " + name + " is said to be in " +
                                                file.get<std::string>() +
                                                ", which does not hold it");
    }
  }
}

void Checkpoint::add_file(const std::filesystem::path& path) {
  files_.push_back(std::make_unique<safetensors::File>(safetensors::File::open(path)));
  const safetensors::File& f = *files_.back();
  for (const safetensors::TensorEntry& t : f.header().tensors) {
    const auto [it, inserted] = tensors_.emplace(t.name, SourceTensor{&f, &t});
    if (!inserted) {
      throw Error(ErrorKind::bad_input,
                  f.name() + ": tensor " + t.name + " is also in " + it->second.file->name());
    }
  }
}

bool Checkpoint::has(const std::string& name) const {
  return tensors_.contains(name);
}

const SourceTensor& Checkpoint::get(const std::string& name, const std::vector<int64_t>& shape) {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw Error(ErrorKind::bad_input, where_ + ": missing tensor " + name);
  }
  const SourceTensor& t = it->second;
  if (t.entry->shape != shape) {
    throw Error(ErrorKind::bad_input, t.file->name() + ": tensor " + name + " has shape " +
                                          shape_text(t.entry->shape) + ", expected " +
                                          shape_text(shape) + " (from config.json)");
  }
  const safetensors::DType d = t.entry->dtype;
  if (d != safetensors::DType::F32 && d != safetensors::DType::F16 &&
      d != safetensors::DType::BF16) {
    throw Error(ErrorKind::unsupported, t.file->name() + ": tensor " + name + " has dtype " +
                                            std::string(safetensors::dtype_name(d)) +
                                            "; the converter reads F32, F16 and BF16 weights");
  }
  used_.insert(name);
  return t;
}

void Checkpoint::read(const SourceTensor& t, uint64_t first, uint64_t n, float* dst) {
  const uint8_t* p = t.file->data(*t.entry).data();
  switch (t.entry->dtype) {
    case safetensors::DType::F32:
      std::memcpy(dst, p + first * 4, n * 4);
      break;
    case safetensors::DType::F16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + (first + i) * 2, 2);
        dst[i] = half_to_float(h);
      }
      break;
    case safetensors::DType::BF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + (first + i) * 2, 2);
        dst[i] = bf16_to_float(h);
      }
      break;
    default:
      throw Error(ErrorKind::unsupported,
                  t.file->name() + ": tensor " + t.entry->name + ": dtype " +
                      std::string(safetensors::dtype_name(t.entry->dtype)) + " cannot be read");
  }
}

std::vector<std::string> Checkpoint::unused() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) {
    if (!used_.contains(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Checkpoint::dtypes() const {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors_)
    names.insert(std::string(safetensors::dtype_name(t.entry->dtype)));
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : "+") + n;
  return s;
}

}  // namespace es::convert
