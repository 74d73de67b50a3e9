// Private: a backend plugin (plugins/include/expertscope_plugin.h) behind the engine's
// backend interface, so the forward pass runs through the C ABI unchanged. Every C++ call
// becomes one vtable call; a failed call becomes an es::Error naming the plugin and
// carrying its last_error text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "backend/backend.h"
#include "backend/plugin_loader.h"

namespace es::backend {

/// The plugin's library and vtable, shared by the backend and every buffer it allocated,
/// so the library stays loaded until the last of them is gone.
struct PluginCore;

class PluginBackend final : public Backend {
 public:
  /// Adopts an accepted plugin and starts it with `n_threads` host threads (0: its choice).
  PluginBackend(std::unique_ptr<LoadedPlugin> plugin, uint32_t n_threads);
  ~PluginBackend() override;
  PluginBackend(const PluginBackend&) = delete;
  PluginBackend& operator=(const PluginBackend&) = delete;

  /// The plugin's own name (its vtable's `name`).
  [[nodiscard]] std::string_view name() const noexcept override { return name_; }
  [[nodiscard]] bool supports(Op op, TensorType type) const noexcept override;

  /// A buffer of the plugin's; host() is its memory where the plugin says the host can
  /// see it, else nullptr.
  [[nodiscard]] std::unique_ptr<Buffer> alloc(size_t n_bytes) override;
  /// Binds the tensor's bytes in the mapping; binding the same tensor again returns the
  /// same plugin weight (bound weights are released with the backend).
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
  /// Reads through the plugin's download where its memory is not host-visible.
  void read(Mat src, float* dst) override;
  void write(Mat dst, const float* src) override;

  /// Copies host bytes into a buffer of this backend (after the ops enqueued before).
  void upload(Buffer& dst, size_t offset, const void* src, size_t n_bytes);
  /// Copies a buffer's bytes to the host (after the ops enqueued before have finished).
  void download(const Buffer& src, size_t offset, void* dst, size_t n_bytes);

 private:
  class WeightRef;
  [[nodiscard]] const WeightRef& weight(const Weight& w, const char* op) const;

  std::shared_ptr<PluginCore> core_;
  std::string name_;
  std::unordered_map<const uint8_t*, std::unique_ptr<WeightRef>> weights_;
};

/// The backend of the accepted plugin called `name` in plugin_dirs() (the best-scored one
/// when several are), started with `n_threads` host threads. Throws es::Error (usage) when
/// none is: the message names the plugins that were accepted and why the others were
/// rejected.
[[nodiscard]] std::unique_ptr<Backend> make_plugin_backend(std::string_view name,
                                                           uint32_t n_threads);

}  // namespace es::backend
