// The reference backend plugin: the engine's CPU backend behind the C ABI
// (plugins/include/expertscope_plugin.h), built for the tests to prove the whole path
// through the loader and the host adapter (load, start, upload, run, read back, routing):
// a model run through it must give the CPU backend's results bit for bit. What crosses
// the ABI is validated here (views inside their buffers, shapes that fit the weights, ids
// and positions in range), so a bad call fails with a message instead of corrupting
// memory; no exception leaves a function of the vtable.
//
// Defines make the broken variants the loader must reject: ES_PLUGIN_API_VERSION (another
// ABI version) and ES_PLUGIN_SCORE (0: "cannot run here").
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <unordered_set>

#include "backend/backend.h"
#include "expertscope/error.h"
#include "expertscope/routing.h"
#include "expertscope_plugin.h"

#ifndef ES_PLUGIN_API_VERSION
#define ES_PLUGIN_API_VERSION EXPERTSCOPE_BACKEND_API_VERSION
#endif
#ifndef ES_PLUGIN_SCORE
#define ES_PLUGIN_SCORE 10
#endif

namespace eb = es::backend;

struct es_backend_buffer {
  std::unique_ptr<eb::Buffer> mem;
};

struct es_backend_weight {
  eb::Weight w;  ///< host: the caller's bytes, used in place.
};

namespace {

struct State {
  std::string error;
  std::unique_ptr<eb::Backend> cpu;                ///< Created by start.
  std::unordered_set<es_backend_buffer*> buffers;  ///< Live, released by destroy.
  std::unordered_set<es_backend_weight*> weights;
};

/// A failed call: its status and message.
struct Failure {
  int status;
  std::string message;
};

[[noreturn]] void invalid(const std::string& message) {
  throw Failure{ES_BACKEND_ERR_INVALID, message};
}

std::string str(uint64_t v) {
  return std::to_string(v);
}

/// Runs `f(state)`, turning every exception into a status and last_error.
template <typename F>
int guarded(void* state, bool needs_start, F&& f) {
  auto* s = static_cast<State*>(state);
  try {
    if (needs_start && !s->cpu) {
      throw Failure{ES_BACKEND_ERR_FAILED, "the plugin was not started (call start first)"};
    }
    f(*s);
    return ES_BACKEND_OK;
  } catch (const Failure& e) {
    s->error = e.message;
    return e.status;
  } catch (const es::Error& e) {
    s->error = e.what();
    switch (e.kind()) {
      case es::ErrorKind::unsupported:
        return ES_BACKEND_ERR_UNSUPPORTED;
      case es::ErrorKind::usage:
      case es::ErrorKind::bad_input:
        return ES_BACKEND_ERR_INVALID;
      default:
        return ES_BACKEND_ERR_FAILED;
    }
  } catch (const std::bad_alloc&) {
    s->error = "out of memory";
    return ES_BACKEND_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    s->error = e.what();
    return ES_BACKEND_ERR_FAILED;
  } catch (...) {
    s->error = "unknown exception";
    return ES_BACKEND_ERR_FAILED;
  }
}

// --- Validation of what crosses the ABI --------------------------------------------------

/// a * b + c, or a failure naming `what` on overflow.
uint64_t mul_add(uint64_t a, uint64_t b, uint64_t c, const char* what) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || __builtin_add_overflow(r, c, &r)) {
    invalid(std::string(what) + ": sizes overflow");
  }
  return r;
}

/// The engine's view of `m`, which must lie inside its buffer.
eb::Mat mat(const es_mat* m, const char* what) {
  if (m == nullptr || m->buffer == nullptr) invalid(std::string(what) + ": no matrix");
  const uint64_t n_floats = m->buffer->mem->n_bytes() / sizeof(float);
  if (m->rows != 0 && m->cols != 0) {
    if (m->rows > 1 && m->stride < m->cols) {
      invalid(std::string(what) + ": rows overlap (stride " + str(m->stride) + " < " +
              str(m->cols) + " columns)");
    }
    const uint64_t end = mul_add(m->rows - 1, m->stride, m->offset + uint64_t{m->cols}, what);
    if (end > n_floats) {
      invalid(std::string(what) + ": a " + str(m->rows) + " x " + str(m->cols) + " view at float " +
              str(m->offset) + " (stride " + str(m->stride) + ") runs past its buffer's " +
              str(n_floats) + " floats");
    }
  }
  return eb::Mat{m->buffer->mem.get(), m->offset, m->rows, m->cols, m->stride};
}

void same_shape(const eb::Mat& a, const eb::Mat& b) {
  if (a.rows != b.rows || a.cols != b.cols) {
    invalid("shapes differ (" + str(a.rows) + " x " + str(a.cols) + " and " + str(b.rows) + " x " +
            str(b.cols) + ")");
  }
}

const eb::Weight& weight(const es_backend_weight* w, const char* what) {
  if (w == nullptr) invalid(std::string("no ") + what);
  return w->w;
}

std::string shape(const eb::Weight& w) {
  return "{" + str(w.ne[0]) + ", " + str(w.ne[1]) + ", " + str(w.ne[2]) + "}";
}

/// The engine's op for an ABI op value, or unset.
eb::Op engine_op(uint32_t op) {
  switch (op) {
    case ES_OP_GET_ROWS:
      return eb::Op::get_rows;
    case ES_OP_RMS_NORM:
      return eb::Op::rms_norm;
    case ES_OP_MUL_MAT:
      return eb::Op::mul_mat;
    case ES_OP_MUL_MAT_ID:
      return eb::Op::mul_mat_id;
    case ES_OP_ADD_BIAS:
      return eb::Op::add_bias;
    case ES_OP_ADD:
      return eb::Op::add;
    case ES_OP_ROPE:
      return eb::Op::rope;
    case ES_OP_SWIGLU:
      return eb::Op::swiglu;
    case ES_OP_ROUTE:
      return eb::Op::route;
    case ES_OP_MOE_SUM:
      return eb::Op::moe_sum;
    case ES_OP_KV_STORE:
      return eb::Op::kv_store;
    case ES_OP_ATTENTION:
      return eb::Op::attention;
    case ES_OP_COPY:
      return eb::Op::copy;
    case ES_OP_SCALE:
      return eb::Op::scale;
    case ES_OP_SIGMOID_GATE:
      return eb::Op::sigmoid_gate;
    default:
      return eb::Op::unset;
  }
}

/// Fails (unsupported) unless the CPU runs `op` with weights of w's type.
void need_kernel(const State& s, eb::Op op, const eb::Weight& w) {
  if (!s.cpu->supports(op, w.type)) {
    throw Failure{ES_BACKEND_ERR_UNSUPPORTED,
                  "no kernel for weights of type " + std::string(es::tensor_type_name(w.type))};
  }
}

/// The engine's view of a KV cache, checked against its buffer for positions up to
/// `max_pos`.
eb::KvView kv_view(const es_kv_view* kv, int32_t max_pos) {
  if (kv == nullptr || kv->buffer == nullptr) invalid("no KV cache");
  const uint64_t elem = kv->f16 != 0 ? 2 : 4;
  if (kv->n_head_kv == 0 || kv->head_dim_k == 0 || kv->head_dim_v == 0) {
    invalid("empty KV heads");
  }
  const uint64_t k_used = uint64_t{kv->n_head_kv} * kv->head_dim_k * elem;
  const uint64_t v_used = uint64_t{kv->n_head_kv} * kv->head_dim_v * elem;
  if (kv->k_row_bytes < k_used) invalid("the KV cache's K rows are too short");
  if (kv->v_is_k_prefix != 0 ? kv->head_dim_v > kv->head_dim_k : kv->v_row_bytes < v_used) {
    invalid("the KV cache's V rows are too short");
  }
  const uint64_t n_bytes = kv->buffer->mem->n_bytes();
  if (max_pos >= 0) {
    const auto p = static_cast<uint64_t>(max_pos);
    const bool k_out =
        mul_add(p, kv->k_row_bytes, kv->k_offset_bytes + k_used, "the KV cache") > n_bytes;
    const bool v_out =
        kv->v_is_k_prefix == 0 &&
        mul_add(p, kv->v_row_bytes, kv->v_offset_bytes + v_used, "the KV cache") > n_bytes;
    if (k_out || v_out) {
      invalid("position " + str(p) + " lies past the KV cache's " + str(n_bytes) + " bytes");
    }
  }
  eb::KvView v;
  v.buf = kv->buffer->mem.get();
  v.k_offset_bytes = kv->k_offset_bytes;
  v.v_offset_bytes = kv->v_offset_bytes;
  v.k_row_bytes = kv->k_row_bytes;
  v.v_row_bytes = kv->v_row_bytes;
  v.f16 = kv->f16 != 0;
  v.n_head_kv = kv->n_head_kv;
  v.head_dim_k = kv->head_dim_k;
  v.head_dim_v = kv->head_dim_v;
  v.v_is_k_prefix = kv->v_is_k_prefix != 0;
  return v;
}

/// Positions: n_pos of them, none negative, for `rows` rows; returns the largest (-1: none).
int32_t positions(const int32_t* pos, uint32_t n_pos, uint32_t rows) {
  if (n_pos != rows) {
    invalid(str(n_pos) + " positions for " + str(rows) + " rows");
  }
  if (n_pos != 0 && pos == nullptr) invalid("no positions");
  int32_t max_pos = -1;
  for (uint32_t t = 0; t < n_pos; ++t) {
    if (pos[t] < 0) invalid("negative position");
    max_pos = std::max(max_pos, pos[t]);
  }
  return max_pos;
}

// --- The vtable ----------------------------------------------------------------------------

const char* last_error(void* state) {
  return static_cast<State*>(state)->error.c_str();
}

void destroy(void* state) {
  auto* s = static_cast<State*>(state);
  for (es_backend_buffer* b : s->buffers) delete b;
  for (es_backend_weight* w : s->weights) delete w;
  delete s;
}

int start(void* state, uint32_t n_threads) {
  return guarded(state, false, [&](State& s) {
    if (s.cpu) throw Failure{ES_BACKEND_ERR_FAILED, "already started"};
    s.cpu = eb::make_cpu_backend(n_threads);
  });
}

int supports(void* state, uint32_t op, uint32_t weight_type) {
  const auto* s = static_cast<const State*>(state);
  const eb::Op o = engine_op(op);
  if (!s->cpu || o == eb::Op::unset || !es::tensor_type_traits(weight_type)) return 0;
  return s->cpu->supports(o, static_cast<es::TensorType>(weight_type)) ? 1 : 0;
}

es_backend_buffer* alloc(void* state, uint64_t bytes) {
  es_backend_buffer* out = nullptr;
  guarded(state, true, [&](State& s) {
    if (bytes > SIZE_MAX / 2) throw Failure{ES_BACKEND_ERR_OUT_OF_MEMORY, "too large"};
    auto b = std::make_unique<es_backend_buffer>();
    b->mem = s.cpu->alloc(static_cast<size_t>(bytes));
    s.buffers.insert(b.get());
    out = b.release();
  });
  return out;
}

void free_buffer(void* state, es_backend_buffer* buffer) {
  if (buffer == nullptr) return;
  static_cast<State*>(state)->buffers.erase(buffer);
  delete buffer;
}

void* buffer_host(void*, es_backend_buffer* buffer) {
  return buffer != nullptr ? buffer->mem->host() : nullptr;
}

/// Checks that [offset, offset + n) lies in the buffer.
void in_buffer(const es_backend_buffer* b, uint64_t offset, uint64_t n) {
  if (b == nullptr) invalid("no buffer");
  const uint64_t size = b->mem->n_bytes();
  if (offset > size || n > size - offset) {
    invalid("bytes [" + str(offset) + ", " + str(offset) + " + " + str(n) +
            ") lie past the buffer's " + str(size));
  }
}

int upload(void* state, es_backend_buffer* dst, uint64_t offset, const void* src, uint64_t n) {
  return guarded(state, true, [&](State&) {
    in_buffer(dst, offset, n);
    if (n != 0) std::memcpy(reinterpret_cast<uint8_t*>(dst->mem->host()) + offset, src, n);
  });
}

int download(void* state, es_backend_buffer* src, uint64_t offset, void* dst, uint64_t n) {
  return guarded(state, true, [&](State& s) {
    in_buffer(src, offset, n);
    s.cpu->synchronize();
    if (n != 0) std::memcpy(dst, reinterpret_cast<const uint8_t*>(src->mem->host()) + offset, n);
  });
}

es_backend_weight* bind_weight(void* state, uint32_t type, const int64_t ne[4], uint64_t row_bytes,
                               const void* data) {
  es_backend_weight* out = nullptr;
  guarded(state, false, [&](State& s) {
    const auto traits = es::tensor_type_traits(type);
    if (!traits) throw Failure{ES_BACKEND_ERR_UNSUPPORTED, "unknown ggml type " + str(type)};
    if (ne == nullptr || data == nullptr) invalid("no shape or no data");
    for (int i = 0; i < 4; ++i) {
      if (ne[i] < 1) invalid("dimension " + str(i) + " is " + std::to_string(ne[i]));
    }
    if (ne[0] % traits->block_elems != 0 ||
        row_bytes != static_cast<uint64_t>(ne[0]) / traits->block_elems * traits->block_bytes) {
      invalid("rows of " + std::to_string(ne[0]) + " " + std::string(traits->name) +
              " values cannot take " + str(row_bytes) + " bytes");
    }
    auto w = std::make_unique<es_backend_weight>();
    w->w.type = traits->type;
    w->w.ne = {ne[0], ne[1], ne[2], ne[3]};
    w->w.row_bytes = static_cast<size_t>(row_bytes);
    w->w.host = static_cast<const uint8_t*>(data);
    s.weights.insert(w.get());
    out = w.release();
  });
  return out;
}

void free_weight(void* state, es_backend_weight* weight) {
  if (weight == nullptr) return;
  static_cast<State*>(state)->weights.erase(weight);
  delete weight;
}

int synchronize(void* state) {
  return guarded(state, true, [](State& s) { s.cpu->synchronize(); });
}

int get_rows(void* state, const es_mat* out, const es_backend_weight* table, const int32_t* ids,
             uint32_t n_ids) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out");
    const eb::Weight& t = weight(table, "the table");
    need_kernel(s, eb::Op::get_rows, t);
    if (o.rows != n_ids || o.cols != t.ne[0]) {
      invalid("" + str(n_ids) + " rows of " + shape(t) + " do not fit out (" + str(o.rows) + " x " +
              str(o.cols) + ")");
    }
    if (n_ids != 0 && ids == nullptr) invalid("no ids");
    for (uint32_t i = 0; i < n_ids; ++i) {
      if (ids[i] < 0 || ids[i] >= t.ne[1] * t.ne[2] * t.ne[3]) {
        invalid("row " + std::to_string(ids[i]) + " is outside the table's " + str(t.ne[1]) +
                " rows");
      }
    }
    s.cpu->get_rows(o, t, std::span<const int32_t>(ids, n_ids));
  });
}

int rms_norm(void* state, const es_mat* out, const es_mat* in, const es_backend_weight* w,
             float eps, uint32_t group) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out"), i = mat(in, "in");
    same_shape(o, i);
    const uint32_t g = group == 0 ? i.cols : group;
    if (g == 0 || i.cols % g != 0) invalid("groups of " + str(g) + " in " + str(i.cols));
    const eb::Weight* ww = w != nullptr ? &w->w : nullptr;
    if (ww != nullptr && (ww->type != es::TensorType::F32 || ww->ne[0] != g)) {
      invalid("the weight " + shape(*ww) + " is not " + str(g) + " f32 values");
    }
    s.cpu->rms_norm(o, i, ww, eps, group);
  });
}

int mul_mat(void* state, const es_mat* out, const es_backend_weight* w, const es_mat* in,
            uint32_t matrix) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out"), i = mat(in, "in");
    const eb::Weight& ww = weight(w, "the weight");
    need_kernel(s, eb::Op::mul_mat, ww);
    if (i.cols != ww.ne[0] || o.cols != ww.ne[1] || i.rows != o.rows ||
        matrix >= ww.ne[2] * ww.ne[3]) {
      invalid("matrix " + str(matrix) + " of " + shape(ww) + " does not map in (" + str(i.rows) +
              " x " + str(i.cols) + ") to out (" + str(o.rows) + " x " + str(o.cols) + ")");
    }
    s.cpu->mul_mat(o, ww, i, matrix);
  });
}

int add_bias(void* state, const es_mat* x, const es_backend_weight* b, uint32_t matrix) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat m = mat(x, "x");
    const eb::Weight& bb = weight(b, "the bias");
    if (bb.type != es::TensorType::F32 || bb.ne[0] != m.cols || matrix >= bb.ne[1] * bb.ne[2]) {
      invalid("row " + str(matrix) + " of the bias " + shape(bb) + " does not fit " + str(m.cols) +
              " f32 columns");
    }
    s.cpu->add_bias(m, bb, matrix);
  });
}

int mul_mat_id(void* state, const es_mat* out, const es_backend_weight* w, const es_mat* in,
               const uint16_t* ids, uint32_t n_ids, uint32_t top_k, const es_backend_weight* bias) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out"), i = mat(in, "in");
    const eb::Weight& ww = weight(w, "the weight");
    need_kernel(s, eb::Op::mul_mat_id, ww);
    if (top_k == 0 || n_ids % top_k != 0) {
      invalid("" + str(n_ids) + " ids are not rows of top_k " + str(top_k));
    }
    const uint32_t n_tokens = n_ids / top_k;
    if (o.rows != n_ids || (i.rows != n_ids && i.rows != n_tokens) || i.cols != ww.ne[0] ||
        o.cols != ww.ne[1]) {
      invalid("experts " + shape(ww) + " do not map in (" + str(i.rows) + " x " + str(i.cols) +
              ") to out (" + str(o.rows) + " x " + str(o.cols) + ") for " + str(n_ids) + " ids");
    }
    if (n_ids != 0 && ids == nullptr) invalid("no ids");
    for (uint32_t k = 0; k < n_ids; ++k) {
      if (ids[k] >= ww.ne[2]) {
        invalid("expert " + str(ids[k]) + " of " + str(ww.ne[2]));
      }
    }
    const eb::Weight* bb = bias != nullptr ? &bias->w : nullptr;
    if (bb != nullptr &&
        (bb->type != es::TensorType::F32 || bb->ne[0] != o.cols || bb->ne[1] != ww.ne[2])) {
      invalid("the bias " + shape(*bb) + " is not {" + str(o.cols) + ", " + str(ww.ne[2]) +
              "} f32");
    }
    s.cpu->mul_mat_id(o, ww, i, std::span<const uint16_t>(ids, n_ids), top_k, bb);
  });
}

int add(void* state, const es_mat* acc, const es_mat* x, float scale) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat a = mat(acc, "acc"), b = mat(x, "x");
    same_shape(a, b);
    s.cpu->add(a, b, scale);
  });
}

int copy(void* state, const es_mat* dst, const es_mat* src) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat d = mat(dst, "dst"), sm = mat(src, "src");
    same_shape(d, sm);
    s.cpu->copy(d, sm);
  });
}

int scale(void* state, const es_mat* x, float f) {
  return guarded(state, true, [&](State& s) { s.cpu->scale(mat(x, "x"), f); });
}

int sigmoid_gate(void* state, const es_mat* x, const es_mat* gate) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat m = mat(x, "x"), g = mat(gate, "gate");
    if (g.rows != m.rows || (m.rows != 0 && g.cols == 0)) {
      invalid("the gate (" + str(g.rows) + " x " + str(g.cols) + ") does not have " + str(m.rows) +
              " rows");
    }
    s.cpu->sigmoid_gate(m, g);
  });
}

int rope(void* state, const es_mat* x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
         const es_rope_params* p, const int32_t* pos, uint32_t n_pos) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat m = mat(x, "x");
    if (p == nullptr) invalid("no parameters");
    positions(pos, n_pos, m.rows);
    if (p->style != ES_ROPE_NORMAL && p->style != ES_ROPE_NEOX) {
      invalid("unknown style " + str(p->style));
    }
    if (p->n_rot % 2 != 0) invalid("n_rot " + str(p->n_rot) + " is odd");
    if (n_heads != 0 &&
        mul_add(n_heads - 1, head_stride, uint64_t{rot_offset} + p->n_rot, "heads") > m.cols) {
      invalid("" + str(n_heads) + " heads of stride " + str(head_stride) + " rotating [" +
              str(rot_offset) + ", +" + str(p->n_rot) + ") exceed " + str(m.cols) + " columns");
    }
    eb::RopeParams rp;
    rp.style = p->style == ES_ROPE_NEOX ? es::RopeStyle::neox : es::RopeStyle::normal;
    rp.n_rot = p->n_rot;
    rp.freq_base = p->freq_base;
    rp.freq_scale = p->freq_scale;
    rp.ext_factor = p->ext_factor;
    rp.attn_factor = p->attn_factor;
    rp.beta_fast = p->beta_fast;
    rp.beta_slow = p->beta_slow;
    rp.n_ctx_orig = p->n_ctx_orig;
    s.cpu->rope(m, n_heads, head_stride, rot_offset, rp, std::span<const int32_t>(pos, n_pos));
  });
}

int swiglu(void* state, const es_mat* out, const es_mat* gate, const es_mat* up, uint32_t kind) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out"), g = mat(gate, "gate"), u = mat(up, "up");
    same_shape(o, g);
    same_shape(o, u);
    if (kind != ES_GLU_SILU && kind != ES_GLU_OAI_CLAMPED) {
      invalid("unknown activation " + str(kind));
    }
    s.cpu->swiglu(o, g, u, kind == ES_GLU_SILU ? eb::GluKind::silu : eb::GluKind::oai_clamped);
  });
}

int route(void* state, const es_mat* logits, const float* selection_bias, const es_router_params* p,
          const es_router_out* out) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat l = mat(logits, "logits");
    if (p == nullptr || out == nullptr) invalid("no parameters or no output");
    if (p->gating < ES_GATING_SOFTMAX || p->gating > ES_GATING_SOFTMAX_SELECTED) {
      invalid("unknown gating " + str(p->gating));
    }
    if (p->n_expert == 0 || p->n_expert > 65536 || l.cols != p->n_expert) {
      invalid("" + str(p->n_expert) + " experts for logits of " + str(l.cols) + " columns");
    }
    if (p->top_k == 0 || p->top_k > p->n_expert || p->top_k > es::max_experts_used) {
      invalid("top_k " + str(p->top_k) + " of " + str(p->n_expert) + " experts (at most " +
              str(es::max_experts_used) + ")");
    }
    if (p->n_groups > 1 && (p->n_groups > 256 || p->n_expert % p->n_groups != 0 ||
                            p->n_group_used == 0 || p->n_group_used > p->n_groups)) {
      invalid("" + str(p->n_group_used) + " of " + str(p->n_groups) + " groups of " +
              str(p->n_expert) + " experts");
    }
    if (out->experts == nullptr || out->weights == nullptr || out->entropy == nullptr ||
        (l.rows > 1 && (out->row_stride < p->top_k || out->entropy_stride == 0))) {
      invalid("the output arrays are missing or overlap");
    }
    eb::RouterParams rp;
    rp.gating = p->gating == ES_GATING_SOFTMAX   ? es::Gating::softmax
                : p->gating == ES_GATING_SIGMOID ? es::Gating::sigmoid
                                                 : es::Gating::softmax_selected;
    rp.n_expert = p->n_expert;
    rp.top_k = p->top_k;
    rp.n_groups = p->n_groups;
    rp.n_group_used = p->n_group_used;
    rp.norm_weights = p->norm_weights != 0;
    rp.weights_scale = p->weights_scale;
    const eb::RouterOut ro{out->experts,    out->weights,    out->entropy,
                           out->full_probs, out->row_stride, out->entropy_stride};
    s.cpu->route(l, selection_bias, rp, ro);
  });
}

int moe_sum(void* state, const es_mat* out, const es_mat* x, const float* weights,
            uint32_t n_weights, uint32_t top_k) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out"), m = mat(x, "x");
    if (top_k == 0 || uint64_t{o.rows} * top_k != n_weights || m.rows != n_weights ||
        m.cols != o.cols || (n_weights != 0 && weights == nullptr)) {
      invalid("" + str(n_weights) + " weights and x (" + str(m.rows) + " x " + str(m.cols) +
              ") do not make out (" + str(o.rows) + " x " + str(o.cols) + ") with top_k " +
              str(top_k));
    }
    s.cpu->moe_sum(o, m, std::span<const float>(weights, n_weights), top_k);
  });
}

int kv_store(void* state, const es_kv_view* kv, const es_mat* k, const es_mat* v,
             const int32_t* pos, uint32_t n_pos) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat km = mat(k, "k");
    const int32_t max_pos = positions(pos, n_pos, km.rows);
    const eb::KvView view = kv_view(kv, max_pos);
    if (km.cols != view.n_head_kv * view.head_dim_k) {
      invalid("k has " + str(km.cols) + " columns, the cache " +
              str(view.n_head_kv * view.head_dim_k));
    }
    eb::Mat vm{};
    if (!view.v_is_k_prefix) {
      vm = mat(v, "v");
      if (vm.rows != km.rows || vm.cols != view.n_head_kv * view.head_dim_v) {
        invalid("v (" + str(vm.rows) + " x " + str(vm.cols) + ") does not fit the cache");
      }
    }
    s.cpu->kv_store(view, km, vm, std::span<const int32_t>(pos, n_pos));
  });
}

int attention(void* state, const es_mat* out, const es_mat* q, const es_kv_view* kv,
              const es_attention_params* p, const int32_t* pos, uint32_t n_pos) {
  return guarded(state, true, [&](State& s) {
    const eb::Mat o = mat(out, "out"), qm = mat(q, "q");
    if (p == nullptr) invalid("no parameters");
    const int32_t max_pos = positions(pos, n_pos, qm.rows);
    const eb::KvView view = kv_view(kv, max_pos);
    if (p->n_head == 0 || p->n_head % view.n_head_kv != 0) {
      invalid("" + str(p->n_head) + " query heads over " + str(view.n_head_kv) + " KV heads");
    }
    if (o.rows != qm.rows || qm.cols != uint64_t{p->n_head} * view.head_dim_k ||
        o.cols != uint64_t{p->n_head} * view.head_dim_v) {
      invalid("q (" + str(qm.rows) + " x " + str(qm.cols) + ") and out (" + str(o.rows) + " x " +
              str(o.cols) + ") do not fit " + str(p->n_head) + " heads of the cache");
    }
    eb::AttentionParams ap;
    ap.n_head = p->n_head;
    ap.scale = p->scale;
    ap.window = p->window;
    ap.sinks = p->sinks;
    s.cpu->attention(o, qm, view, ap, std::span<const int32_t>(pos, n_pos));
  });
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int expertscope_backend_score(
    uint32_t host_api_version) {
  return host_api_version == EXPERTSCOPE_BACKEND_API_VERSION ? ES_PLUGIN_SCORE : 0;
}

extern "C" __attribute__((visibility("default"))) int expertscope_backend_init(
    uint32_t host_api_version, es_backend_vtable* out, uint32_t out_size) {
  (void)host_api_version;
  if (out == nullptr) return 1;
  es_backend_vtable vt{};
  vt.struct_size = sizeof(es_backend_vtable);
  vt.api_version = ES_PLUGIN_API_VERSION;
  vt.name = "reference";
  vt.state = new (std::nothrow) State;
  if (vt.state == nullptr) return 1;
  vt.destroy = destroy;
  vt.last_error = last_error;
  vt.start = start;
  vt.supports = supports;
  vt.alloc = alloc;
  vt.free = free_buffer;
  vt.buffer_host = buffer_host;
  vt.upload = upload;
  vt.download = download;
  vt.bind_weight = bind_weight;
  vt.free_weight = free_weight;
  vt.synchronize = synchronize;
  vt.get_rows = get_rows;
  vt.rms_norm = rms_norm;
  vt.mul_mat = mul_mat;
  vt.add_bias = add_bias;
  vt.mul_mat_id = mul_mat_id;
  vt.add = add;
  vt.copy = copy;
  vt.scale = scale;
  vt.sigmoid_gate = sigmoid_gate;
  vt.rope = rope;
  vt.swiglu = swiglu;
  vt.route = route;
  vt.moe_sum = moe_sum;
  vt.kv_store = kv_store;
  vt.attention = attention;
  std::memcpy(out, &vt, out_size < sizeof vt ? out_size : sizeof vt);
  return 0;
}
