// check_tensors: the file holds exactly the tensors its architecture's loader creates,
// with the expected shapes and types the engine can compute with.
#include <unordered_map>
#include <unordered_set>

#include "expertscope/error.h"
#include "expertscope/model_info.h"
#include "tensor_specs.h"

namespace es {
namespace {

/// Weight types the engine's kernels handle (DESIGN.md "Weight formats").
bool is_supported_weight_type(TensorType type) {
  switch (type) {
    case TensorType::F32:
    case TensorType::F16:
    case TensorType::BF16:
    case TensorType::Q4_0:
    case TensorType::Q4_1:
    case TensorType::Q5_0:
    case TensorType::Q5_1:
    case TensorType::Q8_0:
    case TensorType::Q2_K:
    case TensorType::Q3_K:
    case TensorType::Q4_K:
    case TensorType::Q5_K:
    case TensorType::Q6_K:
    case TensorType::MXFP4:
      return true;
    default:
      return false;
  }
}

bool is_float_type(TensorType type) {
  return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
}

Error tensor_error(const gguf::File& file, ErrorKind kind, const std::string& what) {
  return Error(kind, file.name() + ": " + what);
}

void check_one(const gguf::File& file, const model::TensorSpec& spec, const gguf::TensorInfo& t) {
  // Compare all four dimensions; absent trailing dimensions are 1 on both sides.
  if (t.ne != spec.ne) {
    throw tensor_error(file, ErrorKind::bad_input,
                       "tensor " + spec.name + " has shape " + model::shape_string(t.ne, t.n_dims) +
                           ", expected " + model::shape_string(spec.ne, spec.n_dims));
  }
  const std::string type(tensor_type_name(t.type));
  if (!is_supported_weight_type(t.type)) {
    throw tensor_error(
        file, ErrorKind::unsupported,
        "tensor " + spec.name + " has type " + type + ", which is not a supported weight type yet");
  }
  if (spec.vector && !is_float_type(t.type)) {
    throw tensor_error(file, ErrorKind::bad_input,
                       "tensor " + spec.name + " has type " + type +
                           "; norms and biases must be F32, F16 or BF16");
  }
}

}  // namespace

void check_tensors(const gguf::File& file, const HParams& hp) {
  const std::vector<model::TensorSpec> specs = model::expected_tensors(hp);
  std::unordered_map<std::string_view, const gguf::TensorInfo*> in_file;
  in_file.reserve(file.tensors().size());
  for (const gguf::TensorInfo& t : file.tensors()) in_file.emplace(t.name, &t);

  std::unordered_set<std::string_view> expected;
  expected.reserve(specs.size());
  for (const model::TensorSpec& spec : specs) {
    expected.insert(spec.name);
    auto it = in_file.find(spec.name);
    if (it == in_file.end()) {
      if (!spec.required) continue;
      throw tensor_error(file, ErrorKind::bad_input,
                         "missing tensor " + spec.name + " (expected shape " +
                             model::shape_string(spec.ne, spec.n_dims) + ", architecture " +
                             std::string(arch_name(hp.arch)) + ")");
    }
    check_one(file, spec, *it->second);
  }
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (expected.count(t.name) == 0) {
      throw tensor_error(file, ErrorKind::bad_input,
                         "unexpected tensor " + std::string(t.name) + " (architecture " +
                             std::string(arch_name(hp.arch)) + " with these hyper-parameters " +
                             "does not use it)");
    }
  }
}

}  // namespace es
