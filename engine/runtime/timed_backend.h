// Private: a Backend decorator that times every op of the forward pass for EngineStats.
// It takes one steady_clock reading per op call and allocates nothing while timing; the
// time since the previous reading (or since begin_pass()) is added to the op, so the
// forward pass's own host work between two ops counts towards the later one.
#pragma once

#include <chrono>
#include <memory>

#include "backend/backend.h"
#include "expertscope/engine_stats.h"

namespace es::runtime {

class TimedBackend final : public backend::Backend {
 public:
  /// Wraps `inner`, which must outlive this object.
  explicit TimedBackend(backend::Backend& inner) noexcept : inner_(inner) {}

  /// Clears the op times (the start of a decode() call).
  void reset_ops() noexcept { ops_ = OpTimes{}; }
  /// Marks the start of a forward pass: the first op's time runs from here.
  void begin_pass() noexcept { last_ = Clock::now(); }
  /// Op times accumulated since reset_ops().
  [[nodiscard]] const OpTimes& ops() const noexcept { return ops_; }

  [[nodiscard]] std::string_view name() const noexcept override { return inner_.name(); }
  [[nodiscard]] bool supports(backend::Op op, TensorType type) const noexcept override {
    return inner_.supports(op, type);
  }
  [[nodiscard]] std::unique_ptr<backend::Buffer> alloc(size_t n_bytes) override {
    return inner_.alloc(n_bytes);
  }
  [[nodiscard]] backend::Weight bind(const gguf::File& file,
                                     const gguf::TensorInfo& tensor) override {
    return inner_.bind(file, tensor);
  }

  void get_rows(backend::Mat out, const backend::Weight& table,
                std::span<const int32_t> ids) override;
  void rms_norm(backend::Mat out, backend::Mat in, const backend::Weight* w, float eps,
                uint32_t group) override;
  void mul_mat(backend::Mat out, const backend::Weight& w, backend::Mat in,
               uint32_t matrix) override;
  void add_bias(backend::Mat x, const backend::Weight& b, uint32_t matrix) override;
  void mul_mat_id(backend::Mat out, const backend::Weight& w, backend::Mat in,
                  std::span<const uint16_t> ids, uint32_t top_k,
                  const backend::Weight* bias) override;
  void add(backend::Mat acc, backend::Mat x, float scale) override;
  void copy(backend::Mat dst, backend::Mat src) override;
  void scale(backend::Mat x, float s) override;
  void sigmoid_gate(backend::Mat x, backend::Mat gate) override;
  void rope(backend::Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
            const backend::RopeParams& p, std::span<const int32_t> pos) override;
  void swiglu(backend::Mat out, backend::Mat gate, backend::Mat up, backend::GluKind kind) override;
  void route(backend::Mat logits, const float* selection_bias, const backend::RouterParams& p,
             const backend::RouterOut& out) override;
  void moe_sum(backend::Mat out, backend::Mat x, std::span<const float> weights,
               uint32_t top_k) override;
  void kv_store(const backend::KvView& kv, backend::Mat k, backend::Mat v,
                std::span<const int32_t> pos) override;
  void attention(backend::Mat out, backend::Mat q, const backend::KvView& kv,
                 const backend::AttentionParams& p, std::span<const int32_t> pos) override;
  void synchronize() override;
  bool take_op_times(OpTimes& out) override { return inner_.take_op_times(out); }
  void read(backend::Mat src, float* dst) override { inner_.read(src, dst); }
  void write(backend::Mat dst, const float* src) override { inner_.write(dst, src); }

 private:
  using Clock = std::chrono::steady_clock;
  /// Adds the time since the previous reading to `op`.
  void lap(EngineOp op) noexcept {
    const Clock::time_point now = Clock::now();
    OpTime& t = ops_[static_cast<size_t>(op)];
    t.total_ms += std::chrono::duration<double, std::milli>(now - last_).count();
    ++t.n_calls;
    last_ = now;
  }

  backend::Backend& inner_;
  OpTimes ops_{};
  Clock::time_point last_ = Clock::now();
};

}  // namespace es::runtime
