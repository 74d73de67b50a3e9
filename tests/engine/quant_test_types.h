// Shared by the quant test suites: the weight types under test and their names for Qt
// Test data rows.
#pragma once

#include <QByteArray>
#include <QMetaType>
#include <vector>

#include "expertscope/ggml_types.h"

Q_DECLARE_METATYPE(es::TensorType)

namespace es::test {

/// Every weight type engine/quant multiplies, in ggml's order.
inline const std::vector<TensorType> kWeightTypes = {
    TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
    TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
    TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

/// ggml's name of a type, for data row tags.
inline QByteArray type_name(TensorType t) {
  return QByteArray(tensor_type_name(t).data(), static_cast<int>(tensor_type_name(t).size()));
}

}  // namespace es::test
