// The backend seam (DESIGN.md seam 3): one interface every compute backend implements,
// with per-op capability queries. The forward pass (engine/model/forward.cpp) is written
// once against it. CPU is the reference and the fallback.
//
// Activations are f32 matrices in backend memory, addressed by Mat views (a buffer, an
// element offset, rows, columns and a row stride), so heads and column ranges are views,
// not copies. Weights are bound once from the GGUF file (the CPU uses the mapping in
// place). Ops are enqueued in call order; synchronize() waits for all of them, and host
// reads of a buffer are valid only after it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "expertscope/engine_stats.h"
#include "expertscope/error.h"
#include "expertscope/ggml_types.h"
#include "expertscope/gguf.h"
#include "expertscope/model_info.h"

namespace es::backend {

/// Memory owned by a backend.
class Buffer {
 public:
  virtual ~Buffer() = default;
  [[nodiscard]] virtual size_t n_bytes() const noexcept = 0;
  /// Host address of the memory where the host can see it (CPU, unified memory), else
  /// nullptr; valid to read after Backend::synchronize().
  [[nodiscard]] virtual float* host() noexcept = 0;
};

/// A row-major f32 matrix view inside a Buffer: element (r, c) is at
/// offset + r * stride + c (in floats).
struct Mat {
  Buffer* buf = nullptr;
  size_t offset = 0;
  uint32_t rows = 0;
  uint32_t cols = 0;
  size_t stride = 0;

  /// Columns [c0, c0 + n) of every row.
  [[nodiscard]] Mat cols_view(uint32_t c0, uint32_t n) const noexcept {
    return Mat{buf, offset + c0, rows, n, stride};
  }
  /// Rows [r0, r0 + n).
  [[nodiscard]] Mat rows_view(uint32_t r0, uint32_t n) const noexcept {
    return Mat{buf, offset + static_cast<size_t>(r0) * stride, n, cols, stride};
  }
};

/// A weight tensor bound to a backend: ne in ggml order ({in, out, n_matrices} for
/// matrices), rows of ne[0] values stored in `row_bytes`.
struct Weight {
  TensorType type = TensorType::F32;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  size_t row_bytes = 0;
  const uint8_t* host = nullptr;  ///< The bytes in host memory (the file mapping).
  Buffer* device = nullptr;       ///< Where a device backend keeps its copy.
  size_t device_offset = 0;

  [[nodiscard]] bool valid() const noexcept { return host != nullptr || device != nullptr; }
  [[nodiscard]] size_t matrix_bytes() const noexcept {
    return row_bytes * static_cast<size_t>(ne[1]);
  }
};

/// The ops of the forward pass, for capability queries.
enum class Op : int {
  unset = 0,
  get_rows,
  rms_norm,
  mul_mat,
  mul_mat_id,
  add_bias,
  add,
  rope,
  swiglu,
  route,
  moe_sum,
  kv_store,
  attention,
  copy,
  scale,
  sigmoid_gate,
};

/// RoPE as the model configures it (YaRN fields unused for plain RoPE).
struct RopeParams {
  RopeStyle style = RopeStyle::normal;
  uint32_t n_rot = 0;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;   ///< 1 / scaling factor.
  float ext_factor = 0.0f;   ///< YaRN extrapolation mix (0: plain RoPE).
  float attn_factor = 1.0f;  ///< Scales cos/sin (YaRN magnitude correction).
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  uint32_t n_ctx_orig = 0;
};

/// The activation of a gated FFN: act(gate) * up.
enum class GluKind : int {
  unset = 0,
  silu = 1,         ///< SwiGLU: silu(gate) * up.
  oai_clamped = 2,  ///< gpt-oss: g = min(gate, 7); g * sigmoid(1.702 g) * (clamp(up, ±7) + 1).
};

/// How the router turns logits into a selection (llama.cpp's build_moe_ffn).
struct RouterParams {
  Gating gating = Gating::softmax;
  uint32_t n_expert = 0;
  uint32_t top_k = 0;
  uint32_t n_groups = 0;  ///< Group-limited routing when > 1.
  uint32_t n_group_used = 0;
  bool norm_weights = false;
  float weights_scale = 0.0f;  ///< 0: no scaling.
};

/// Where the router writes its decisions for one layer: ids and weights [rows][top_k],
/// entropy [rows], optionally the full distribution [rows][n_expert]. Host memory.
struct RouterOut {
  uint16_t* experts = nullptr;
  float* weights = nullptr;
  float* entropy = nullptr;
  float* full_probs = nullptr;  ///< nullptr unless requested.
  size_t row_stride = 0;        ///< Between tokens in experts/weights (elements).
  size_t entropy_stride = 0;
};

/// Per-layer attention KV cache storage in backend memory (f16 or f32 rows).
struct KvView {
  Buffer* buf = nullptr;
  size_t k_offset_bytes = 0;
  size_t v_offset_bytes = 0;
  size_t k_row_bytes = 0;  ///< Between positions.
  size_t v_row_bytes = 0;
  bool f16 = true;
  uint32_t n_head_kv = 0;
  uint32_t head_dim_k = 0;
  uint32_t head_dim_v = 0;
  /// MLA: V is the first head_dim_v values of each K row (no separate V storage).
  bool v_is_k_prefix = false;
};

struct AttentionParams {
  uint32_t n_head = 0;
  float scale = 1.0f;
  uint32_t window = 0;           ///< Sliding window in positions; 0: none.
  const float* sinks = nullptr;  ///< Per-head sink logits (gpt-oss), host; or nullptr.
};

class Backend {
 public:
  virtual ~Backend() = default;

  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Whether `op` runs here for weights of `type` (ignored for ops without weights).
  [[nodiscard]] virtual bool supports(Op op, TensorType type) const noexcept = 0;

  [[nodiscard]] virtual std::unique_ptr<Buffer> alloc(size_t n_bytes) = 0;
  /// Makes a tensor of the mapped file usable by this backend's ops.
  [[nodiscard]] virtual Weight bind(const gguf::File& file, const gguf::TensorInfo& tensor) = 0;

  /// out[t] = row ids[t] of `table`, widened to f32.
  virtual void get_rows(Mat out, const Weight& table, std::span<const int32_t> ids) = 0;
  /// out = in / rms(in) * w, over groups of `group` columns (0: the whole row); w may be
  /// nullptr (no scale) and has `group` (or cols) values.
  virtual void rms_norm(Mat out, Mat in, const Weight* w, float eps, uint32_t group) = 0;
  /// out[t] = W[matrix] · in[t], with W's matrix `matrix` of shape {in.cols, out.cols}.
  virtual void mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) = 0;
  /// x[t] += b (row `matrix` of a 2-D bias, or the 1-D bias).
  virtual void add_bias(Mat x, const Weight& b, uint32_t matrix) = 0;
  /// Expert products: out row (t * top_k + r) = W[ids[t][r]] · in row (t * top_k + r)
  /// when in has rows * top_k rows, or in row t when in.rows == n_tokens (broadcast).
  /// ids is host memory [n_tokens][top_k]. bias (optional) is {out, n_expert}.
  virtual void mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids,
                          uint32_t top_k, const Weight* bias) = 0;
  /// acc += scale * x
  virtual void add(Mat acc, Mat x, float scale) = 0;
  /// dst = src (same shape).
  virtual void copy(Mat dst, Mat src) = 0;
  /// x *= s
  virtual void scale(Mat x, float s) = 0;
  /// x[t] *= sigmoid(gate[t][0]) (qwen2moe's shared-expert gate).
  virtual void sigmoid_gate(Mat x, Mat gate) = 0;
  /// Rotates, for each row t at position pos[t], dims [rot_offset, rot_offset + n_rot) of
  /// each of the row's n_heads heads (head h starts at column h * head_stride).
  virtual void rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
                    const RopeParams& p, std::span<const int32_t> pos) = 0;
  /// out = act(gate) * up.
  virtual void swiglu(Mat out, Mat gate, Mat up, GluKind kind) = 0;
  /// The router: logits [t][n_expert] (+ selection bias, host, may be nullptr) → selected
  /// experts and weights, written to host memory `out` (descending weight).
  virtual void route(Mat logits, const float* selection_bias, const RouterParams& p,
                     const RouterOut& out) = 0;
  /// out[t] = Σ_r weights[t][r] * x row (t * top_k + r).
  virtual void moe_sum(Mat out, Mat x, std::span<const float> weights, uint32_t top_k) = 0;
  /// Writes k (and v unless kv.v_is_k_prefix) rows into the cache at positions pos[t].
  virtual void kv_store(const KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) = 0;
  /// out[t] (n_head * head_dim_v) = softmax(q[t] · K[0..pos[t]] * scale) · V, causal,
  /// grouped-query (n_head / kv.n_head_kv queries per KV head), flash-style.
  virtual void attention(Mat out, Mat q, const KvView& kv, const AttentionParams& p,
                         std::span<const int32_t> pos) = 0;

  /// Waits for every enqueued op.
  virtual void synchronize() = 0;
  /// Copies src + r * dst.cols into row r of `dst` for every row, ordered with the ops
  /// enqueued before and after it.
  virtual void write(Mat dst, const float* src) {
    synchronize();
    float* h = dst.buf->host();
    if (h == nullptr) {
      throw Error(ErrorKind::unsupported, std::string(name()) + ": memory the host cannot write");
    }
    for (uint32_t r = 0; r < dst.rows; ++r) {
      std::memcpy(h + dst.offset + r * dst.stride, src + static_cast<size_t>(r) * dst.cols,
                  dst.cols * sizeof(float));
    }
  }
  /// Copies row r of `src` to dst + r * src.cols for every row, after synchronize(): from
  /// the host address where there is one, else as the backend transfers it.
  virtual void read(Mat src, float* dst) {
    const float* h = src.buf->host();
    if (h == nullptr) {
      throw Error(ErrorKind::unsupported, std::string(name()) + ": memory the host cannot read");
    }
    for (uint32_t r = 0; r < src.rows; ++r) {
      std::memcpy(dst + static_cast<size_t>(r) * src.cols, h + src.offset + r * src.stride,
                  src.cols * sizeof(float));
    }
  }
  /// Device time per op since the last call, where the device measures it (timestamp
  /// queries): fills `out` and returns true; false when only host timing is available.
  virtual bool take_op_times(OpTimes& out) {
    (void)out;
    return false;
  }
};

/// The CPU backend with `n_threads` threads (0: one per core).
[[nodiscard]] std::unique_ptr<Backend> make_cpu_backend(uint32_t n_threads);
/// The Vulkan backend on device `device` (-1: the chosen one, vk_context.h); `n_threads`
/// for the ops that fall back to the CPU. Throws es::Error (unsupported) when Vulkan or a
/// device is missing.
[[nodiscard]] std::unique_ptr<Backend> make_vulkan_backend(uint32_t n_threads, int device = -1);
/// A backend by name: "cpu", "vulkan", "vulkan:N" (Vulkan device N), "auto" (Vulkan on a
/// GPU, else the CPU) or the name of a plugin. Throws es::Error: usage for an unknown name,
/// unsupported when the named backend cannot run here.
[[nodiscard]] std::unique_ptr<Backend> make_backend(std::string_view name, uint32_t n_threads);

}  // namespace es::backend
