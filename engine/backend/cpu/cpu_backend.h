// Private: the CPU backend's class, shared by its op-family files.
#pragma once

#include <vector>

#include "../backend.h"
#include "row_kernels.h"
#include "thread_pool.h"

namespace es::backend::cpu {

/// Host memory, 64-byte aligned.
class HostBuffer final : public Buffer {
 public:
  explicit HostBuffer(size_t n_bytes);
  ~HostBuffer() override;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  [[nodiscard]] size_t n_bytes() const noexcept override { return n_bytes_; }
  [[nodiscard]] float* host() noexcept override { return data_; }

 private:
  float* data_ = nullptr;
  size_t n_bytes_ = 0;
};

/// Address of element (r, 0) of a view.
inline float* row_ptr(const Mat& m, uint32_t r) noexcept {
  return m.buf->host() + m.offset + static_cast<size_t>(r) * m.stride;
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(uint32_t n_threads);

  [[nodiscard]] std::string_view name() const noexcept override { return "cpu"; }
  [[nodiscard]] bool supports(Op op, TensorType type) const noexcept override;
  [[nodiscard]] std::unique_ptr<Buffer> alloc(size_t n_bytes) override;
  [[nodiscard]] Weight bind(const gguf::File& file, const gguf::TensorInfo& tensor) override;

  void get_rows(Mat out, const Weight& table, std::span<const int32_t> ids) override;
  void rms_norm(Mat out, Mat in, const Weight* w, float eps, uint32_t group) override;
  void mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) override;
  void add_bias(Mat x, const Weight& b, uint32_t matrix) override;
  void mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids, uint32_t top_k,
                  const Weight* bias) override;
  void add(Mat acc, Mat x, float scale) override;
  void copy(Mat dst, Mat src) override;
  void scale(Mat x, float s) override;
  void sigmoid_gate(Mat x, Mat gate) override;
  void rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset, const RopeParams& p,
            std::span<const int32_t> pos) override;
  void swiglu(Mat out, Mat gate, Mat up, GluKind kind) override;
  void route(Mat logits, const float* selection_bias, const RouterParams& p,
             const RouterOut& out) override;
  void moe_sum(Mat out, Mat x, std::span<const float> weights, uint32_t top_k) override;
  void kv_store(const KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) override;
  void attention(Mat out, Mat q, const KvView& kv, const AttentionParams& p,
                 std::span<const int32_t> pos) override;
  void synchronize() override {}

 private:
  /// Prepares rows of `in` for dot products with weights of `kernel`'s type into
  /// act_scratch_; returns the bytes per prepared row.
  size_t prepare_activations(const RowKernel& kernel, Mat in);
  /// mul_mat_id for several tokens, once the rows are grouped by expert (expert_rows_,
  /// expert_begin_) and the activations prepared (`act_bytes` per row in act_scratch_).
  void mul_mat_id_batched(Mat out, const Weight& w, Mat in, const RowKernel& k, size_t act_bytes,
                          uint32_t top_k, bool broadcast, const Weight* bias);

  ThreadPool pool_;
  std::vector<uint8_t> act_scratch_;      ///< Prepared (e.g. 8-bit quantized) activations.
  std::vector<uint32_t> expert_rows_;     ///< mul_mat_id: rows grouped by expert.
  std::vector<uint32_t> expert_begin_;    ///< mul_mat_id: start of each expert's rows.
  std::vector<uint32_t> active_experts_;  ///< mul_mat_id: experts that received a token.
  std::vector<uint8_t> gathered_acts_;    ///< mul_mat_id: activation rows in expert order.
  std::vector<float> gathered_out_;       ///< mul_mat_id: products in expert order.
  std::vector<float> thread_scratch_;     ///< Per-thread work space (attention, router).
};

}  // namespace es::backend::cpu
