/* The C ABI of Expertscope backend plugins (DESIGN.md seam 4), API version 2.
 *
 * A plugin is a shared library that exports two functions:
 *
 *   int expertscope_backend_score(uint32_t host_api_version);
 *       How well the plugin can run on this machine: 0 = cannot (no device, wrong driver,
 *       unknown API version), higher = better. Called first; must be cheap and safe.
 *   int expertscope_backend_init(uint32_t host_api_version, es_backend_vtable* out,
 *                                uint32_t out_size);
 *       Fills `out` (at most `out_size` bytes; the plugin writes its own struct_size) and
 *       returns 0, or a non-zero error code. Must be cheap: the host initialises every
 *       plugin it finds and keeps only the one it was asked for (no device work here;
 *       that waits for `start`).
 *
 * The vtable's first field is its own size as the plugin was built, so a host can accept
 * plugins built against an older, shorter vtable (after OBS's obs_register_source_s);
 * fields appended in later revisions of one API version are optional, and the host checks
 * struct_size before it calls them. The first five fields (struct_size, api_version, name,
 * state, destroy) keep their place in every version, so a host can always release a plugin
 * it rejects.
 *
 * The vtable mirrors the engine's backend interface (engine/backend/backend.h): one
 * function per op of the forward pass, each taking plain C structs. No C++ type crosses
 * this boundary: plain C types, opaque handles, error strings owned by the plugin, and no
 * exception ever leaves a plugin function. All calls for one vtable come from one host
 * thread.
 *
 * Memory and data:
 *  - Activations are f32 matrices in plugin memory, addressed by es_mat views (a buffer,
 *    an element offset, rows, columns, a row stride), so heads and column ranges are
 *    views, not copies.
 *  - Weights are bound once from host bytes (the model file's mapping, valid while the
 *    weight handle lives); a plugin may use them in place or copy them to its device.
 *  - Ops are enqueued in call order; `synchronize` waits for all of them. Host arrays an
 *    op takes (token ids, positions, expert ids, expert weights, selection bias, sinks)
 *    are read before the call returns, except the router's output (es_router_out), which
 *    the plugin writes and the host reads after `synchronize`.
 *
 * Errors: every function that returns int returns ES_BACKEND_OK (0) on success, else one
 * of the es_backend_status codes, and `last_error` then says what went wrong. A plugin
 * validates what it is given (views inside their buffers, shapes that fit the weights,
 * ids and positions in range) and fails with a message rather than crash.
 */
#ifndef EXPERTSCOPE_PLUGIN_H
#define EXPERTSCOPE_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI. A host accepts plugins of exactly its version. */
#define EXPERTSCOPE_BACKEND_API_VERSION 2u

/* What a function returns (the values are part of the ABI). */
enum es_backend_status {
  ES_BACKEND_OK = 0,
  ES_BACKEND_ERR_FAILED = 1,        /* the device or the plugin failed (the general case) */
  ES_BACKEND_ERR_UNSUPPORTED = 2,   /* valid, but this plugin cannot do it (a weight type) */
  ES_BACKEND_ERR_INVALID = 3,       /* the arguments are inconsistent: out of bounds, bad shape */
  ES_BACKEND_ERR_OUT_OF_MEMORY = 4, /* an allocation failed */
};

/* The ops of the forward pass, for `supports` (the values are part of the ABI). */
enum es_backend_op {
  ES_OP_GET_ROWS = 1,
  ES_OP_RMS_NORM = 2,
  ES_OP_MUL_MAT = 3,
  ES_OP_MUL_MAT_ID = 4,
  ES_OP_ADD_BIAS = 5,
  ES_OP_ADD = 6,
  ES_OP_ROPE = 7,
  ES_OP_SWIGLU = 8,
  ES_OP_ROUTE = 9,
  ES_OP_MOE_SUM = 10,
  ES_OP_KV_STORE = 11,
  ES_OP_ATTENTION = 12,
  ES_OP_COPY = 13,
  ES_OP_SCALE = 14,
  ES_OP_SIGMOID_GATE = 15,
};

/* How RoPE pairs the dimensions it rotates. */
enum es_rope_style {
  ES_ROPE_NORMAL = 1, /* adjacent pairs (x[2i], x[2i+1]): llama, granitemoe, deepseek2 */
  ES_ROPE_NEOX = 2,   /* half-split pairs (x[i], x[i + n_rot/2]): qwen*, olmoe, gpt-oss */
};

/* How the router turns logits into probabilities. */
enum es_gating {
  ES_GATING_SOFTMAX = 1,
  ES_GATING_SIGMOID = 2,
  ES_GATING_SOFTMAX_SELECTED = 3, /* softmax over the selected experts' logits only */
};

/* The activation of a gated FFN: out = act(gate) * up. */
enum es_glu_kind {
  /* silu(gate) * up */
  ES_GLU_SILU = 1,
  /* gpt-oss: g = min(gate, 7); g * sigmoid(1.702 g) * (clamp(up, ±7) + 1) */
  ES_GLU_OAI_CLAMPED = 2,
};

/* A block of plugin memory (opaque). */
typedef struct es_backend_buffer es_backend_buffer;
/* A weight tensor bound to the plugin (opaque). */
typedef struct es_backend_weight es_backend_weight;

/* A row-major f32 matrix view inside a buffer: element (r, c) is the float at
 * offset + r * stride + c (all in floats). Every element must lie inside the buffer. */
typedef struct es_mat {
  es_backend_buffer* buffer;
  uint64_t offset;
  uint32_t rows;
  uint32_t cols;
  uint64_t stride;
} es_mat;

/* RoPE as the model configures it (the YaRN fields are unused when ext_factor is 0). */
typedef struct es_rope_params {
  uint32_t style; /* es_rope_style */
  uint32_t n_rot; /* dimensions rotated per head (even) */
  float freq_base;
  float freq_scale;  /* 1 / the context scaling factor */
  float ext_factor;  /* YaRN extrapolation mix (0: plain RoPE) */
  float attn_factor; /* scales cos and sin (YaRN magnitude correction) */
  float beta_fast;
  float beta_slow;
  uint32_t n_ctx_orig;
} es_rope_params;

/* How the router selects experts (llama.cpp's build_moe_ffn). */
typedef struct es_router_params {
  uint32_t gating; /* es_gating */
  uint32_t n_expert;
  uint32_t top_k;
  uint32_t n_groups;     /* group-limited routing when > 1 */
  uint32_t n_group_used; /* groups kept when n_groups > 1 */
  uint32_t norm_weights; /* non-zero: the selected weights are normalised to sum 1 */
  float weights_scale;   /* multiplies the selected weights; 0: no scaling */
} es_router_params;

/* Where the router writes its decisions, in host memory: expert ids and weights
 * [rows][top_k] (descending weight; row t at t * row_stride), the entropy of each row's
 * distribution over all experts [rows] (at t * entropy_stride), and optionally the full
 * distribution [rows][n_expert]. */
typedef struct es_router_out {
  uint16_t* experts;
  float* weights;
  float* entropy;
  float* full_probs; /* NULL unless wanted */
  uint64_t row_stride;
  uint64_t entropy_stride;
} es_router_out;

/* One layer's attention KV cache inside a buffer: position p's key row starts at byte
 * k_offset_bytes + p * k_row_bytes (n_head_kv heads of head_dim_k values, f16 or f32), its
 * value row at v_offset_bytes + p * v_row_bytes. */
typedef struct es_kv_view {
  es_backend_buffer* buffer;
  uint64_t k_offset_bytes;
  uint64_t v_offset_bytes;
  uint64_t k_row_bytes;
  uint64_t v_row_bytes;
  uint32_t f16; /* non-zero: rows hold IEEE half values, else f32 */
  uint32_t n_head_kv;
  uint32_t head_dim_k;
  uint32_t head_dim_v;
  uint32_t v_is_k_prefix; /* non-zero (MLA): V is the first head_dim_v values of each K row */
} es_kv_view;

/* Attention of one layer. */
typedef struct es_attention_params {
  uint32_t n_head;
  float scale;        /* multiplies q · k */
  uint32_t window;    /* sliding window in positions; 0: none */
  const float* sinks; /* per-head sink logits (gpt-oss) in host memory, or NULL */
} es_attention_params;

typedef struct es_backend_vtable {
  /* --- These five keep their place in every API version. --- */
  uint32_t struct_size; /* sizeof(es_backend_vtable) as the plugin was built */
  uint32_t api_version; /* EXPERTSCOPE_BACKEND_API_VERSION the plugin was built with */
  const char* name;     /* e.g. "reference": what a user asks for; owned by the plugin */
  void* state;          /* passed back to every call */
  /* Releases `state` and everything the plugin still holds. The last call. */
  void (*destroy)(void* state);

  /* The message of the last failure (owned by the plugin; valid until the next call).
   * Never NULL; "" until something fails. */
  const char* (*last_error)(void* state);
  /* Prepares the plugin to compute with at most `n_threads` host threads (0: its own
   * choice). Called once, before any function below. */
  int (*start)(void* state, uint32_t n_threads);
  /* Capability query: non-zero if `op` (es_backend_op) runs here for weights of ggml type
   * `weight_type` (ignored by ops without weights). */
  int (*supports)(void* state, uint32_t op, uint32_t weight_type);

  /* --- Memory --- */
  /* A buffer of `bytes` bytes, zero-filled; NULL on failure. */
  es_backend_buffer* (*alloc)(void* state, uint64_t bytes);
  /* Releases a buffer from alloc (NULL is ignored). */
  void (*free)(void* state, es_backend_buffer* buffer);
  /* The buffer's memory if the host can address it directly (CPU, unified memory), else
   * NULL. Constant for the buffer's life; host reads are valid after `synchronize`. */
  void* (*buffer_host)(void* state, es_backend_buffer* buffer);
  /* Copies `bytes` host bytes into the buffer at byte `offset`, after every op enqueued
   * before it; `src` may be reused when it returns. */
  int (*upload)(void* state, es_backend_buffer* dst, uint64_t offset, const void* src,
                uint64_t bytes);
  /* Copies `bytes` from the buffer at byte `offset` to host memory, after every op
   * enqueued before it has finished. */
  int (*download)(void* state, es_backend_buffer* src, uint64_t offset, void* dst, uint64_t bytes);
  /* Binds a weight tensor: ggml type id `type`, `ne` in ggml order ({in, out, n_matrices,
   * 1} for matrices), rows of ne[0] values stored in `row_bytes` bytes each, ne[1] * ne[2]
   * * ne[3] rows at `data`. The bytes stay valid and unchanged until free_weight. NULL on
   * failure (an unknown or unsupported type, inconsistent sizes). */
  es_backend_weight* (*bind_weight)(void* state, uint32_t type, const int64_t ne[4],
                                    uint64_t row_bytes, const void* data);
  /* Releases a weight from bind_weight (NULL is ignored). */
  void (*free_weight)(void* state, es_backend_weight* weight);
  /* Waits for every enqueued op. */
  int (*synchronize)(void* state);

  /* --- Ops (es_backend_op in brackets) --- */
  /* [GET_ROWS] out row t = row ids[t] of `table` ({cols, n_rows}), widened to f32;
   * out has n_ids rows of table's ne[0] columns. */
  int (*get_rows)(void* state, const es_mat* out, const es_backend_weight* table,
                  const int32_t* ids, uint32_t n_ids);
  /* [RMS_NORM] out = in / rms(in) * w over groups of `group` columns (0: the whole row);
   * w (f32, `group` or cols values) may be NULL: no scale. out may be in. */
  int (*rms_norm)(void* state, const es_mat* out, const es_mat* in, const es_backend_weight* w,
                  float eps, uint32_t group);
  /* [MUL_MAT] out row t = W[matrix] · in row t, W[matrix] of shape {in.cols, out.cols}. */
  int (*mul_mat)(void* state, const es_mat* out, const es_backend_weight* w, const es_mat* in,
                 uint32_t matrix);
  /* [ADD_BIAS] x row t += b (row `matrix` of a 2-D f32 bias {x.cols, n}, or the 1-D bias). */
  int (*add_bias)(void* state, const es_mat* x, const es_backend_weight* b, uint32_t matrix);
  /* [MUL_MAT_ID] expert products: with n_tokens = n_ids / top_k, out row (t * top_k + r) =
   * W[ids[t * top_k + r]] · in row (t * top_k + r) when in has n_ids rows, or · in row t
   * when in has n_tokens rows (broadcast). `ids` is host memory; `bias` ({out.cols,
   * n_expert}, f32) may be NULL. */
  int (*mul_mat_id)(void* state, const es_mat* out, const es_backend_weight* w, const es_mat* in,
                    const uint16_t* ids, uint32_t n_ids, uint32_t top_k,
                    const es_backend_weight* bias);
  /* [ADD] acc += scale * x (same shape). */
  int (*add)(void* state, const es_mat* acc, const es_mat* x, float scale);
  /* [COPY] dst = src (same shape). */
  int (*copy)(void* state, const es_mat* dst, const es_mat* src);
  /* [SCALE] x *= s. */
  int (*scale)(void* state, const es_mat* x, float s);
  /* [SIGMOID_GATE] x row t *= sigmoid(gate row t, column 0) (qwen2moe's shared expert). */
  int (*sigmoid_gate)(void* state, const es_mat* x, const es_mat* gate);
  /* [ROPE] rotates, for each row t at position pos[t] (n_pos == x.rows), dims
   * [rot_offset, rot_offset + p->n_rot) of each of the row's n_heads heads (head h starts
   * at column h * head_stride). */
  int (*rope)(void* state, const es_mat* x, uint32_t n_heads, uint32_t head_stride,
              uint32_t rot_offset, const es_rope_params* p, const int32_t* pos, uint32_t n_pos);
  /* [SWIGLU] out = act(gate) * up (same shapes; out may be gate); kind: es_glu_kind. */
  int (*swiglu)(void* state, const es_mat* out, const es_mat* gate, const es_mat* up,
                uint32_t kind);
  /* [ROUTE] the router: logits [rows][n_expert] (+ selection_bias [n_expert], host memory,
   * may be NULL: it changes which experts are selected, not their weights) → the selected
   * experts and their weights, entropy and optionally the full distribution in `out`
   * (host memory, valid after `synchronize`). */
  int (*route)(void* state, const es_mat* logits, const float* selection_bias,
               const es_router_params* p, const es_router_out* out);
  /* [MOE_SUM] out row t = Σ_r weights[t * top_k + r] * x row (t * top_k + r); `weights`
   * (host memory) has n_weights = out.rows * top_k values. */
  int (*moe_sum)(void* state, const es_mat* out, const es_mat* x, const float* weights,
                 uint32_t n_weights, uint32_t top_k);
  /* [KV_STORE] writes row t of k (n_head_kv * head_dim_k columns) and of v (unless
   * v_is_k_prefix; v may then be NULL) into the cache at position pos[t] (n_pos == k.rows). */
  int (*kv_store)(void* state, const es_kv_view* kv, const es_mat* k, const es_mat* v,
                  const int32_t* pos, uint32_t n_pos);
  /* [ATTENTION] out row t (n_head * head_dim_v) = softmax(q row t · K[0..pos[t]] * scale) ·
   * V, causal (and windowed), grouped-query (n_head / n_head_kv query heads per KV head;
   * q has n_head * head_dim_k columns), with the per-head sinks in the softmax when given.
   * n_pos == q.rows. */
  int (*attention)(void* state, const es_mat* out, const es_mat* q, const es_kv_view* kv,
                   const es_attention_params* p, const int32_t* pos, uint32_t n_pos);
} es_backend_vtable;

typedef int (*es_backend_score_fn)(uint32_t host_api_version);
typedef int (*es_backend_init_fn)(uint32_t host_api_version, es_backend_vtable* out,
                                  uint32_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* EXPERTSCOPE_PLUGIN_H */
