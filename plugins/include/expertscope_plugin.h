/* The C ABI of Expertscope backend plugins (DESIGN.md seam 4).
 *
 * A plugin is a shared library that exports two functions:
 *
 *   int expertscope_backend_score(uint32_t host_api_version);
 *       How well the plugin can run on this machine: 0 = cannot (no device, wrong driver,
 *       unknown API version), higher = better. Called first; must be cheap and safe.
 *   int expertscope_backend_init(uint32_t host_api_version, es_backend_vtable* out,
 *                                uint32_t out_size);
 *       Fills `out` (at most `out_size` bytes; the plugin writes its own struct_size) and
 *       returns 0, or a non-zero error code.
 *
 * The vtable's first field is its own size as the plugin was built, so a host can accept
 * plugins built against an older, shorter vtable (after OBS's obs_register_source_s). No
 * C++ type crosses this boundary: plain C types, opaque handles, error strings owned by
 * the plugin. All calls for one vtable come from one host thread.
 */
#ifndef EXPERTSCOPE_PLUGIN_H
#define EXPERTSCOPE_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI. A host accepts plugins of exactly its version. */
#define EXPERTSCOPE_BACKEND_API_VERSION 1u

/* Operations (the values are part of the ABI). */
enum es_backend_op {
  ES_OP_ADD_F32 = 1, /* out[i] = in0[i] + in1[i]; params: uint32 n */
  ES_OP_MUL_F32 = 2, /* out[i] = in0[i] * in1[i]; params: uint32 n */
  ES_OP_RMS_NORM_F32 =
      3, /* rows of in0 normalised, times in1; params: uint32 rows, cols; float eps */
};

/* A block of backend memory (opaque). */
typedef struct es_backend_buffer es_backend_buffer;

typedef struct es_backend_vtable {
  uint32_t struct_size; /* sizeof(es_backend_vtable) as the plugin was built */
  uint32_t api_version; /* EXPERTSCOPE_BACKEND_API_VERSION the plugin was built with */
  const char* name;     /* e.g. "reference"; owned by the plugin */
  void* state;          /* passed back to every call */

  void (*destroy)(void* state);
  /* Memory: NULL / non-zero on failure (then last_error says why). */
  es_backend_buffer* (*alloc)(void* state, uint64_t bytes);
  void (*free)(void* state, es_backend_buffer* buffer);
  int (*upload)(void* state, es_backend_buffer* dst, uint64_t offset, const void* src,
                uint64_t bytes);
  int (*download)(void* state, const es_backend_buffer* src, uint64_t offset, void* dst,
                  uint64_t bytes);
  /* Capability query: non-zero if `op` runs here (weight_type: a ggml type id, or 0). */
  int (*supports)(void* state, uint32_t op, uint32_t weight_type);
  /* Runs `op`; 0 on success. */
  int (*run_op)(void* state, uint32_t op, const es_backend_buffer* const* inputs, uint32_t n_inputs,
                es_backend_buffer* output, const void* params, uint32_t params_bytes);
  /* The message of the last failure (owned by the plugin; valid until the next call). */
  const char* (*last_error)(void* state);
} es_backend_vtable;

typedef int (*es_backend_score_fn)(uint32_t host_api_version);
typedef int (*es_backend_init_fn)(uint32_t host_api_version, es_backend_vtable* out,
                                  uint32_t out_size);

#ifdef __cplusplus
}
#endif

#endif /* EXPERTSCOPE_PLUGIN_H */
