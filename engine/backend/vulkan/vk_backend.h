// Private: the Vulkan backend's class, shared by its op-family files (vk_backend.cpp:
// memory, weights, operands, the CPU fallback; vk_elementwise.cpp; vk_matmul.cpp;
// vk_attention.cpp; vk_router.cpp).
//
// Every op is recorded into the Context's command buffer; synchronize() submits and waits.
// Activations and the KV cache live in host-visible memory, so an op this backend lacks
// (supports() false) runs on the CPU backend in place after the recorded work is flushed —
// the "transfer" is the flush itself, since both sides see the same memory. Weights are
// copied once into device-local memory (bind()); the CPU fallback uses the file mapping.
//
// Operands: a Mat or a weight range is bound as a window of its buffer that starts at the
// device's binding alignment and spans at most its maxStorageBufferRange (lavapipe: 128
// MiB), with the remaining element (or byte) offset in the push constants; an op whose
// operand cannot fit one window is split by the op (matrix rows) or falls back.
#pragma once

#include <memory>
#include <vector>

#include "../backend.h"
#include "expertscope/engine_stats.h"
#include "vk_context.h"

namespace es::backend::vulkan {

/// Memory of this backend: a Vulkan buffer, mapped where host-visible.
class VkBuf final : public backend::Buffer {
 public:
  explicit VkBuf(vulkan::Buffer b) : b_(std::move(b)) {}
  [[nodiscard]] size_t n_bytes() const noexcept override { return b_.size(); }
  [[nodiscard]] float* host() noexcept override {
    return b_.bytes().empty() ? nullptr : reinterpret_cast<float*>(b_.bytes().data());
  }
  [[nodiscard]] vulkan::Buffer& raw() noexcept { return b_; }

 private:
  vulkan::Buffer b_;
};

/// A bound window of a buffer and the offset of the operand inside it (in elements of 4
/// bytes for activations, in bytes for weights).
struct Operand {
  Binding binding;
  uint32_t offset = 0;
};

/// Timestamp tags: each dispatch's device time goes to its EngineOp slot.
using Tag = EngineOp;
static_assert(static_cast<uint32_t>(EngineOp::count) <= Context::kTags);

class VulkanBackend final : public Backend {
 public:
  VulkanBackend(std::unique_ptr<Context> ctx, uint32_t n_threads);
  ~VulkanBackend() override;

  [[nodiscard]] std::string_view name() const noexcept override { return "vulkan"; }
  [[nodiscard]] bool supports(Op op, TensorType type) const noexcept override;
  [[nodiscard]] std::unique_ptr<backend::Buffer> alloc(size_t n_bytes) override;
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
  void synchronize() override;

  bool take_op_times(OpTimes& out) override;

  [[nodiscard]] Context& context() noexcept { return *ctx_; }
  /// How many ops ran on the CPU instead.
  [[nodiscard]] uint64_t n_fallbacks() const noexcept { return n_fallbacks_; }

  // For the op-family files.
  /// Whether `op` on weights of `type` has a shader (vk_matmul.cpp, vk_attention.cpp, ...).
  [[nodiscard]] static bool has_matmul_shader(Op op, TensorType type) noexcept;
  [[nodiscard]] static bool has_attention_shader(Op op) noexcept;
  /// The window binding rows [0, m.rows) of `m` (throws if it exceeds one binding).
  [[nodiscard]] Operand operand(const Mat& m) const;
  /// The window binding `bytes` bytes of `buf` from `byte_offset`.
  [[nodiscard]] Operand operand(backend::Buffer& buf, size_t byte_offset, size_t bytes) const;
  /// Weight bytes [byte_offset, +bytes) of `w`'s device copy (offset in bytes).
  [[nodiscard]] Operand weight_operand(const Weight& w, size_t byte_offset, size_t bytes) const;
  /// Copies host data into this pass's upload arena and binds it.
  [[nodiscard]] Operand stage(const void* data, size_t bytes);
  /// Records a dispatch; `push` is any trivially copyable struct.
  template <typename Push>
  void dispatch(std::string_view shader, std::initializer_list<Operand> ops, const Push& push,
                Groups groups, uint32_t local_size, Tag tag) {
    dispatch_raw(shader, ops, reinterpret_cast<const uint8_t*>(&push), sizeof(Push), groups,
                 local_size, tag);
  }
  /// The CPU backend, after flushing recorded work (an op this backend lacks).
  [[nodiscard]] Backend& fallback();
  /// Largest bytes one binding may span.
  [[nodiscard]] uint64_t max_binding() const noexcept { return ctx_->max_binding_bytes(); }

 private:
  void dispatch_raw(std::string_view shader, std::initializer_list<Operand> ops,
                    const uint8_t* push, size_t push_bytes, Groups groups, uint32_t local_size,
                    Tag tag);

  std::unique_ptr<Context> ctx_;
  std::unique_ptr<Backend> cpu_;
  std::vector<std::unique_ptr<VkBuf>> weights_;
  std::unique_ptr<VkBuf> router_scratch_;  ///< The router's per-token work space.
  std::unique_ptr<VkBuf> router_record_;   ///< The router's output, read by the host.
  std::unique_ptr<VkBuf> arena_;
  std::vector<std::unique_ptr<VkBuf>>
      retired_;  ///< Full arenas recorded work still reads.           ///< Host data of the ops
                 ///< recorded since the last flush.
  size_t arena_used_ = 0;
  uint64_t n_fallbacks_ = 0;
};

}  // namespace es::backend::vulkan
