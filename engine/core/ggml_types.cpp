#include "expertscope/ggml_types.h"

#include <array>

namespace es {
namespace {

// Block geometry from ggml's type_traits (blck_size, type_size). QK_K = 256.
constexpr std::array kTraits = {
    TensorTypeTraits{TensorType::F32, "F32", 1, 4},
    TensorTypeTraits{TensorType::F16, "F16", 1, 2},
    TensorTypeTraits{TensorType::Q4_0, "Q4_0", 32, 18},
    TensorTypeTraits{TensorType::Q4_1, "Q4_1", 32, 20},
    TensorTypeTraits{TensorType::Q5_0, "Q5_0", 32, 22},
    TensorTypeTraits{TensorType::Q5_1, "Q5_1", 32, 24},
    TensorTypeTraits{TensorType::Q8_0, "Q8_0", 32, 34},
    TensorTypeTraits{TensorType::Q8_1, "Q8_1", 32, 36},
    TensorTypeTraits{TensorType::Q2_K, "Q2_K", 256, 84},
    TensorTypeTraits{TensorType::Q3_K, "Q3_K", 256, 110},
    TensorTypeTraits{TensorType::Q4_K, "Q4_K", 256, 144},
    TensorTypeTraits{TensorType::Q5_K, "Q5_K", 256, 176},
    TensorTypeTraits{TensorType::Q6_K, "Q6_K", 256, 210},
    TensorTypeTraits{TensorType::Q8_K, "Q8_K", 256, 292},
    TensorTypeTraits{TensorType::IQ2_XXS, "IQ2_XXS", 256, 66},
    TensorTypeTraits{TensorType::IQ2_XS, "IQ2_XS", 256, 74},
    TensorTypeTraits{TensorType::IQ3_XXS, "IQ3_XXS", 256, 98},
    TensorTypeTraits{TensorType::IQ1_S, "IQ1_S", 256, 50},
    TensorTypeTraits{TensorType::IQ4_NL, "IQ4_NL", 32, 18},
    TensorTypeTraits{TensorType::IQ3_S, "IQ3_S", 256, 110},
    TensorTypeTraits{TensorType::IQ2_S, "IQ2_S", 256, 82},
    TensorTypeTraits{TensorType::IQ4_XS, "IQ4_XS", 256, 136},
    TensorTypeTraits{TensorType::I8, "I8", 1, 1},
    TensorTypeTraits{TensorType::I16, "I16", 1, 2},
    TensorTypeTraits{TensorType::I32, "I32", 1, 4},
    TensorTypeTraits{TensorType::I64, "I64", 1, 8},
    TensorTypeTraits{TensorType::F64, "F64", 1, 8},
    TensorTypeTraits{TensorType::IQ1_M, "IQ1_M", 256, 56},
    TensorTypeTraits{TensorType::BF16, "BF16", 1, 2},
    TensorTypeTraits{TensorType::TQ1_0, "TQ1_0", 256, 54},
    TensorTypeTraits{TensorType::TQ2_0, "TQ2_0", 256, 66},
    TensorTypeTraits{TensorType::MXFP4, "MXFP4", 32, 17},
};

}  // namespace

std::optional<TensorTypeTraits> tensor_type_traits(uint32_t type_id) noexcept {
  for (const auto& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == type_id) return t;
  }
  return std::nullopt;
}

const TensorTypeTraits& tensor_type_traits(TensorType type) noexcept {
  for (const auto& t : kTraits) {
    if (t.type == type) return t;
  }
  return kTraits[0];  // Unreachable for a valid enumerator.
}

std::string_view tensor_type_name(TensorType type) noexcept {
  return tensor_type_traits(type).name;
}

std::optional<TensorType> tensor_type_from_name(std::string_view name) noexcept {
  for (const auto& t : kTraits) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

}  // namespace es
