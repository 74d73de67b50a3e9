// A backend plugin behind the engine's backend interface (plugin_backend.h).
#include "backend/plugin_backend.h"

#include <algorithm>

#include "expertscope/error.h"

namespace es::backend {

struct PluginCore {
  std::unique_ptr<LoadedPlugin> plugin;
  const es_backend_vtable* vt = nullptr;
  std::string label;  ///< `backend plugin "name" (path)`, for messages.

  /// The plugin's last_error, or a placeholder when it has none.
  [[nodiscard]] std::string last_error() const {
    const char* e = vt->last_error(vt->state);
    return e != nullptr && *e != '\0' ? std::string(e) : std::string("no message");
  }

  /// Throws for a failed call (`status` != ES_BACKEND_OK), naming the plugin and the call.
  void check(int status, const char* call) const {
    if (status == ES_BACKEND_OK) return;
    ErrorKind kind = ErrorKind::io;
    if (status == ES_BACKEND_ERR_UNSUPPORTED) kind = ErrorKind::unsupported;
    if (status == ES_BACKEND_ERR_INVALID) kind = ErrorKind::bad_input;
    throw Error(kind, label + ": " + call + " failed: " + last_error());
  }
};

namespace {

/// A buffer of the plugin's. Keeps the plugin loaded while it lives.
class PluginBuffer final : public Buffer {
 public:
  PluginBuffer(std::shared_ptr<PluginCore> core, es_backend_buffer* handle, size_t n_bytes)
      : core_(std::move(core)), handle_(handle), n_bytes_(n_bytes) {
    host_ = static_cast<float*>(core_->vt->buffer_host(core_->vt->state, handle_));
  }
  ~PluginBuffer() override { core_->vt->free(core_->vt->state, handle_); }
  PluginBuffer(const PluginBuffer&) = delete;
  PluginBuffer& operator=(const PluginBuffer&) = delete;

  [[nodiscard]] size_t n_bytes() const noexcept override { return n_bytes_; }
  [[nodiscard]] float* host() noexcept override { return host_; }
  [[nodiscard]] es_backend_buffer* handle() const noexcept { return handle_; }
  [[nodiscard]] const PluginCore* core() const noexcept { return core_.get(); }

 private:
  std::shared_ptr<PluginCore> core_;
  es_backend_buffer* handle_;
  size_t n_bytes_;
  float* host_ = nullptr;
};

uint32_t abi_op(Op op) noexcept {
  switch (op) {
    case Op::get_rows:
      return ES_OP_GET_ROWS;
    case Op::rms_norm:
      return ES_OP_RMS_NORM;
    case Op::mul_mat:
      return ES_OP_MUL_MAT;
    case Op::mul_mat_id:
      return ES_OP_MUL_MAT_ID;
    case Op::add_bias:
      return ES_OP_ADD_BIAS;
    case Op::add:
      return ES_OP_ADD;
    case Op::rope:
      return ES_OP_ROPE;
    case Op::swiglu:
      return ES_OP_SWIGLU;
    case Op::route:
      return ES_OP_ROUTE;
    case Op::moe_sum:
      return ES_OP_MOE_SUM;
    case Op::kv_store:
      return ES_OP_KV_STORE;
    case Op::attention:
      return ES_OP_ATTENTION;
    case Op::copy:
      return ES_OP_COPY;
    case Op::scale:
      return ES_OP_SCALE;
    case Op::sigmoid_gate:
      return ES_OP_SIGMOID_GATE;
    case Op::unset:
      break;
  }
  return 0;
}

uint32_t abi_rope_style(RopeStyle s) noexcept {
  return s == RopeStyle::neox ? ES_ROPE_NEOX : s == RopeStyle::normal ? ES_ROPE_NORMAL : 0;
}

uint32_t abi_gating(Gating g) noexcept {
  switch (g) {
    case Gating::softmax:
      return ES_GATING_SOFTMAX;
    case Gating::sigmoid:
      return ES_GATING_SIGMOID;
    case Gating::softmax_selected:
      return ES_GATING_SOFTMAX_SELECTED;
    case Gating::unset:
      break;
  }
  return 0;
}

uint32_t abi_glu(GluKind k) noexcept {
  switch (k) {
    case GluKind::silu:
      return ES_GLU_SILU;
    case GluKind::oai_clamped:
      return ES_GLU_OAI_CLAMPED;
    case GluKind::unset:
      break;
  }
  return 0;
}

template <typename T>
uint32_t count(std::span<T> s, const PluginCore& core, const char* op) {
  if (s.size() > UINT32_MAX) {
    throw Error(ErrorKind::usage, core.label + ": " + op + ": more than 2^32 - 1 entries");
  }
  return static_cast<uint32_t>(s.size());
}

}  // namespace

/// A weight bound to the plugin; Weight::device points at it (it is never used as memory).
class PluginBackend::WeightRef final : public Buffer {
 public:
  WeightRef(const PluginBackend* owner, es_backend_weight* handle, size_t n_bytes)
      : owner_(owner), handle_(handle), n_bytes_(n_bytes) {}
  [[nodiscard]] size_t n_bytes() const noexcept override { return n_bytes_; }
  [[nodiscard]] float* host() noexcept override { return nullptr; }
  [[nodiscard]] const PluginBackend* owner() const noexcept { return owner_; }
  [[nodiscard]] es_backend_weight* handle() const noexcept { return handle_; }

 private:
  const PluginBackend* owner_;
  es_backend_weight* handle_;
  size_t n_bytes_;
};

namespace {

/// The C view of a Mat, which must lie in a buffer of `core`'s plugin.
es_mat abi_mat(const Mat& m, const PluginCore& core, const char* op) {
  const auto* b = dynamic_cast<const PluginBuffer*>(m.buf);
  if (b == nullptr || b->core() != &core) {
    throw Error(ErrorKind::usage,
                core.label + ": " + op + ": a matrix is not in a buffer of this backend");
  }
  return es_mat{b->handle(), m.offset, m.rows, m.cols, m.stride};
}

es_kv_view abi_kv(const KvView& kv, const PluginCore& core, const char* op) {
  const auto* b = dynamic_cast<const PluginBuffer*>(kv.buf);
  if (b == nullptr || b->core() != &core) {
    throw Error(ErrorKind::usage,
                core.label + ": " + op + ": the KV cache is not in a buffer of this backend");
  }
  return es_kv_view{b->handle(),    kv.k_offset_bytes,         kv.v_offset_bytes, kv.k_row_bytes,
                    kv.v_row_bytes, kv.f16 ? 1u : 0u,          kv.n_head_kv,      kv.head_dim_k,
                    kv.head_dim_v,  kv.v_is_k_prefix ? 1u : 0u};
}

}  // namespace

PluginBackend::PluginBackend(std::unique_ptr<LoadedPlugin> plugin, uint32_t n_threads)
    : core_(std::make_shared<PluginCore>()) {
  core_->label = "backend plugin \"" + plugin->name() + "\" (" + plugin->path().string() + ")";
  core_->vt = &plugin->vtable();
  core_->plugin = std::move(plugin);
  name_ = core_->plugin->name();
  core_->check(core_->vt->start(core_->vt->state, n_threads), "start");
}

PluginBackend::~PluginBackend() {
  for (auto& [host, ref] : weights_) core_->vt->free_weight(core_->vt->state, ref->handle());
}

bool PluginBackend::supports(Op op, TensorType type) const noexcept {
  const uint32_t abi = abi_op(op);
  return abi != 0 && core_->vt->supports(core_->vt->state, abi, static_cast<uint32_t>(type)) != 0;
}

std::unique_ptr<Buffer> PluginBackend::alloc(size_t n_bytes) {
  es_backend_buffer* h = core_->vt->alloc(core_->vt->state, n_bytes);
  if (h == nullptr) {
    throw Error(ErrorKind::io, core_->label + ": cannot allocate " + std::to_string(n_bytes) +
                                   " bytes: " + core_->last_error());
  }
  return std::make_unique<PluginBuffer>(core_, h, n_bytes);
}

Weight PluginBackend::bind(const gguf::File& file, const gguf::TensorInfo& tensor) {
  Weight w;
  w.type = tensor.type;
  w.ne = tensor.ne;
  const auto& traits = tensor_type_traits(tensor.type);
  w.row_bytes = static_cast<size_t>(tensor.ne[0]) / traits.block_elems * traits.block_bytes;
  w.host = file.tensor_data(tensor).data();
  auto it = weights_.find(w.host);
  if (it == weights_.end()) {
    es_backend_weight* h = core_->vt->bind_weight(core_->vt->state, static_cast<uint32_t>(w.type),
                                                  w.ne.data(), w.row_bytes, w.host);
    if (h == nullptr) {
      throw Error(ErrorKind::unsupported, core_->label + ": cannot bind tensor " +
                                              std::string(tensor.name) + " of " + file.name() +
                                              ": " + core_->last_error());
    }
    const size_t n_bytes = w.row_bytes * static_cast<size_t>(w.ne[1] * w.ne[2] * w.ne[3]);
    it = weights_.emplace(w.host, std::make_unique<WeightRef>(this, h, n_bytes)).first;
  }
  w.device = it->second.get();
  return w;
}

const PluginBackend::WeightRef& PluginBackend::weight(const Weight& w, const char* op) const {
  const auto* ref = dynamic_cast<const WeightRef*>(w.device);
  if (ref == nullptr || ref->owner() != this) {
    throw Error(ErrorKind::usage,
                core_->label + ": " + op + ": a weight was not bound by this backend");
  }
  return *ref;
}

void PluginBackend::get_rows(Mat out, const Weight& table, std::span<const int32_t> ids) {
  const PluginCore& c = *core_;
  const es_mat o = abi_mat(out, c, "get_rows");
  c.check(c.vt->get_rows(c.vt->state, &o, weight(table, "get_rows").handle(), ids.data(),
                         count(ids, c, "get_rows")),
          "get_rows");
}

void PluginBackend::rms_norm(Mat out, Mat in, const Weight* w, float eps, uint32_t group) {
  const PluginCore& c = *core_;
  const es_mat o = abi_mat(out, c, "rms_norm"), i = abi_mat(in, c, "rms_norm");
  c.check(c.vt->rms_norm(c.vt->state, &o, &i,
                         w != nullptr ? weight(*w, "rms_norm").handle() : nullptr, eps, group),
          "rms_norm");
}

void PluginBackend::mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) {
  const PluginCore& c = *core_;
  const es_mat o = abi_mat(out, c, "mul_mat"), i = abi_mat(in, c, "mul_mat");
  c.check(c.vt->mul_mat(c.vt->state, &o, weight(w, "mul_mat").handle(), &i, matrix), "mul_mat");
}

void PluginBackend::add_bias(Mat x, const Weight& b, uint32_t matrix) {
  const PluginCore& c = *core_;
  const es_mat m = abi_mat(x, c, "add_bias");
  c.check(c.vt->add_bias(c.vt->state, &m, weight(b, "add_bias").handle(), matrix), "add_bias");
}

void PluginBackend::mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids,
                               uint32_t top_k, const Weight* bias) {
  const PluginCore& c = *core_;
  const es_mat o = abi_mat(out, c, "mul_mat_id"), i = abi_mat(in, c, "mul_mat_id");
  c.check(c.vt->mul_mat_id(c.vt->state, &o, weight(w, "mul_mat_id").handle(), &i, ids.data(),
                           count(ids, c, "mul_mat_id"), top_k,
                           bias != nullptr ? weight(*bias, "mul_mat_id").handle() : nullptr),
          "mul_mat_id");
}

void PluginBackend::add(Mat acc, Mat x, float scale) {
  const PluginCore& c = *core_;
  const es_mat a = abi_mat(acc, c, "add"), b = abi_mat(x, c, "add");
  c.check(c.vt->add(c.vt->state, &a, &b, scale), "add");
}

void PluginBackend::copy(Mat dst, Mat src) {
  const PluginCore& c = *core_;
  const es_mat d = abi_mat(dst, c, "copy"), s = abi_mat(src, c, "copy");
  c.check(c.vt->copy(c.vt->state, &d, &s), "copy");
}

void PluginBackend::scale(Mat x, float s) {
  const PluginCore& c = *core_;
  const es_mat m = abi_mat(x, c, "scale");
  c.check(c.vt->scale(c.vt->state, &m, s), "scale");
}

void PluginBackend::sigmoid_gate(Mat x, Mat gate) {
  const PluginCore& c = *core_;
  const es_mat m = abi_mat(x, c, "sigmoid_gate"), g = abi_mat(gate, c, "sigmoid_gate");
  c.check(c.vt->sigmoid_gate(c.vt->state, &m, &g), "sigmoid_gate");
}

void PluginBackend::rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
                         const RopeParams& p, std::span<const int32_t> pos) {
  const PluginCore& c = *core_;
  const es_mat m = abi_mat(x, c, "rope");
  const es_rope_params rp{
      abi_rope_style(p.style), p.n_rot,     p.freq_base, p.freq_scale, p.ext_factor,
      p.attn_factor,           p.beta_fast, p.beta_slow, p.n_ctx_orig};
  c.check(c.vt->rope(c.vt->state, &m, n_heads, head_stride, rot_offset, &rp, pos.data(),
                     count(pos, c, "rope")),
          "rope");
}

void PluginBackend::swiglu(Mat out, Mat gate, Mat up, GluKind kind) {
  const PluginCore& c = *core_;
  const es_mat o = abi_mat(out, c, "swiglu"), g = abi_mat(gate, c, "swiglu"),
               u = abi_mat(up, c, "swiglu");
  c.check(c.vt->swiglu(c.vt->state, &o, &g, &u, abi_glu(kind)), "swiglu");
}

void PluginBackend::route(Mat logits, const float* selection_bias, const RouterParams& p,
                          const RouterOut& out) {
  const PluginCore& c = *core_;
  const es_mat l = abi_mat(logits, c, "route");
  const es_router_params rp{abi_gating(p.gating), p.n_expert,     p.top_k,
                            p.n_groups,           p.n_group_used, p.norm_weights ? 1u : 0u,
                            p.weights_scale};
  const es_router_out ro{out.experts,    out.weights,    out.entropy,
                         out.full_probs, out.row_stride, out.entropy_stride};
  c.check(c.vt->route(c.vt->state, &l, selection_bias, &rp, &ro), "route");
}

void PluginBackend::moe_sum(Mat out, Mat x, std::span<const float> weights, uint32_t top_k) {
  const PluginCore& c = *core_;
  const es_mat o = abi_mat(out, c, "moe_sum"), m = abi_mat(x, c, "moe_sum");
  c.check(c.vt->moe_sum(c.vt->state, &o, &m, weights.data(), count(weights, c, "moe_sum"), top_k),
          "moe_sum");
}

void PluginBackend::kv_store(const KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) {
  const PluginCore& c = *core_;
  const es_kv_view view = abi_kv(kv, c, "kv_store");
  const es_mat km = abi_mat(k, c, "kv_store");
  es_mat vm{};
  if (!kv.v_is_k_prefix) vm = abi_mat(v, c, "kv_store");
  c.check(c.vt->kv_store(c.vt->state, &view, &km, kv.v_is_k_prefix ? nullptr : &vm, pos.data(),
                         count(pos, c, "kv_store")),
          "kv_store");
}

void PluginBackend::attention(Mat out, Mat q, const KvView& kv, const AttentionParams& p,
                              std::span<const int32_t> pos) {
  const PluginCore& c = *core_;
  const es_kv_view view = abi_kv(kv, c, "attention");
  const es_mat o = abi_mat(out, c, "attention"), qm = abi_mat(q, c, "attention");
  const es_attention_params ap{p.n_head, p.scale, p.window, p.sinks};
  c.check(c.vt->attention(c.vt->state, &o, &qm, &view, &ap, pos.data(), count(pos, c, "attention")),
          "attention");
}

void PluginBackend::write(Mat dst, const float* src) {
  if (dst.buf->host() != nullptr) {
    Backend::write(dst, src);
    return;
  }
  for (uint32_t r = 0; r < dst.rows; ++r) {
    upload(*dst.buf, (dst.offset + static_cast<size_t>(r) * dst.stride) * sizeof(float),
           src + static_cast<size_t>(r) * dst.cols, dst.cols * sizeof(float));
  }
}

void PluginBackend::read(Mat src, float* dst) {
  if (src.buf->host() != nullptr) {
    Backend::read(src, dst);
    return;
  }
  for (uint32_t r = 0; r < src.rows; ++r) {
    download(*src.buf, (src.offset + static_cast<size_t>(r) * src.stride) * sizeof(float),
             dst + static_cast<size_t>(r) * src.cols, src.cols * sizeof(float));
  }
}

void PluginBackend::synchronize() {
  core_->check(core_->vt->synchronize(core_->vt->state), "synchronize");
}

void PluginBackend::upload(Buffer& dst, size_t offset, const void* src, size_t n_bytes) {
  const auto* b = dynamic_cast<const PluginBuffer*>(&dst);
  if (b == nullptr || b->core() != core_.get()) {
    throw Error(ErrorKind::usage, core_->label + ": upload: not a buffer of this backend");
  }
  core_->check(core_->vt->upload(core_->vt->state, b->handle(), offset, src, n_bytes), "upload");
}

void PluginBackend::download(const Buffer& src, size_t offset, void* dst, size_t n_bytes) {
  const auto* b = dynamic_cast<const PluginBuffer*>(&src);
  if (b == nullptr || b->core() != core_.get()) {
    throw Error(ErrorKind::usage, core_->label + ": download: not a buffer of this backend");
  }
  core_->check(core_->vt->download(core_->vt->state, b->handle(), offset, dst, n_bytes),
               "download");
}

std::unique_ptr<Backend> make_plugin_backend(std::string_view name, uint32_t n_threads) {
  const auto dirs = plugin_dirs();
  PluginScan scan = scan_plugins(dirs);
  for (auto& plugin : scan.accepted) {  // Best score first.
    if (plugin->name() == name)
      return std::make_unique<PluginBackend>(std::move(plugin), n_threads);
  }
  std::string accepted;
  for (const auto& plugin : scan.accepted) {
    accepted += (accepted.empty() ? "" : ", ") + plugin->name();
  }
  std::string message =
      "backend \"" + std::string(name) + "\" is not available: no plugin is called that (";
  message += accepted.empty() ? "no plugin was accepted" : "plugins accepted: " + accepted;
  std::string rejected;
  for (const std::string& line : scan.log) {
    if (line.find(": rejected: ") != std::string::npos) rejected += "; " + line;
  }
  if (!rejected.empty()) message += rejected;
  if (scan.log.empty()) {
    std::string where;
    for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d.string();
    message += "; no plugin files in " + (where.empty() ? std::string("any folder") : where);
  }
  message += ")";
  throw Error(ErrorKind::usage, message);
}

}  // namespace es::backend
