// Shared by the backend parity suites (test_backend_ops, test_backend_attention): a CPU and
// a device backend side by side, matrices uploaded to both, weights bound from an
// in-memory GGUF, and the normalised mean squared error they are judged by.
#pragma once

#include <QTest>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "expertscope/quant.h"

namespace es::test {

/// Normalised mean squared error of `got` against `want` (plain MSE where want is all 0).
inline double nmse(std::span<const float> got, std::span<const double> want) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return norm > 0 ? err / norm : err;
}

inline double nmse(std::span<const float> got, std::span<const float> want) {
  std::vector<double> w(want.begin(), want.end());
  return nmse(got, w);
}

/// Random normal values.
inline std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

/// A matrix in a backend's memory, made from host values (rows x cols, padded stride).
struct DevMat {
  std::unique_ptr<backend::Buffer> buf;
  backend::Mat m;
};

inline DevMat upload(backend::Backend& be, uint32_t rows, uint32_t cols,
                     std::span<const float> data, uint32_t pad = 3) {
  DevMat d;
  const size_t stride = size_t{cols} + pad;
  const size_t offset = 5;  // an unaligned start, as views inside the scratch are
  d.buf = be.alloc((offset + rows * stride + 16) * sizeof(float));
  float* h = d.buf->host();
  for (size_t i = 0; i < offset + rows * stride; ++i) h[i] = -1234.5f;  // poison
  for (uint32_t r = 0; r < rows; ++r) {
    std::memcpy(h + offset + r * stride, data.data() + size_t{r} * cols, cols * sizeof(float));
  }
  d.m = backend::Mat{d.buf.get(), offset, rows, cols, stride};
  return d;
}

/// The values of a matrix (after synchronize()), row after row.
inline std::vector<float> download(backend::Backend& be, const backend::Mat& m) {
  be.synchronize();
  std::vector<float> out(size_t{m.rows} * m.cols);
  const float* h = m.buf->host();
  for (uint32_t r = 0; r < m.rows; ++r) {
    std::memcpy(out.data() + size_t{r} * m.cols, h + m.offset + r * m.stride,
                m.cols * sizeof(float));
  }
  return out;
}

/// A weight tensor of `type` with ggml shape `shape` from f32 values (quantized with the
/// reference quantizer), in an in-memory GGUF that outlives the bindings.
struct TestWeight {
  std::vector<uint8_t> image;  ///< The GGUF bytes (the File reads them in place).
  std::unique_ptr<gguf::File> file;
  std::vector<float> decoded;  ///< What the reference dequantizer reads back.

  TestWeight(TensorType type, std::vector<int64_t> shape, std::span<const float> values) {
    const int64_t n_per_row = shape[0];
    int64_t n_rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) n_rows *= shape[i];
    const size_t rb = quant::row_bytes(type, n_per_row);
    std::vector<uint8_t> bytes(rb * static_cast<size_t>(n_rows));
    decoded.resize(static_cast<size_t>(n_per_row * n_rows));
    for (int64_t r = 0; r < n_rows; ++r) {
      quant::quantize_row_ref(type, values.data() + r * n_per_row, bytes.data() + r * rb,
                              n_per_row);
      quant::dequantize_row_ref(type, bytes.data() + r * rb, decoded.data() + r * n_per_row,
                                n_per_row);
    }
    gguf::Writer w;
    w.set("general.architecture", gguf::Value(std::string("test")));
    w.add_tensor("w", type, std::move(shape), std::move(bytes));
    image = w.to_bytes();
    file = std::make_unique<gguf::File>(gguf::File::from_memory(image, "test-weights"));
  }
  [[nodiscard]] backend::Weight bind(backend::Backend& be) const {
    return be.bind(*file, *file->find_tensor("w"));
  }
};

/// The device backend under test, or nullptr (and a reason) when there is none.
inline std::unique_ptr<backend::Backend> device_backend(std::string* why) {
  try {
    return backend::make_vulkan_backend(1);
  } catch (const Error& e) {
    *why = e.what();
    return nullptr;
  }
}

}  // namespace es::test
