// The reference backend plugin: plain C++ arithmetic behind the C ABI
// (plugins/include/expertscope_plugin.h), built for the tests to prove the path through
// the loader (load, score, init, upload, run, download). Defines make the broken variants
// the loader must reject: ES_PLUGIN_API_VERSION (another ABI version) and
// ES_PLUGIN_SCORE (0: "cannot run here").
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "expertscope_plugin.h"

#ifndef ES_PLUGIN_API_VERSION
#define ES_PLUGIN_API_VERSION EXPERTSCOPE_BACKEND_API_VERSION
#endif
#ifndef ES_PLUGIN_SCORE
#define ES_PLUGIN_SCORE 10
#endif

struct es_backend_buffer {
  std::vector<uint8_t> bytes;
};

namespace {

struct State {
  std::string error;
};

int fail(State* s, std::string message) {
  s->error = std::move(message);
  return 1;
}

const float* floats(const es_backend_buffer* b) {
  return reinterpret_cast<const float*>(b->bytes.data());
}

es_backend_buffer* alloc(void* state, uint64_t bytes) {
  try {
    auto* b = new es_backend_buffer;
    b->bytes.resize(static_cast<size_t>(bytes));
    return b;
  } catch (const std::bad_alloc&) {
    static_cast<State*>(state)->error = "out of memory for " + std::to_string(bytes) + " bytes";
    return nullptr;
  }
}

void free_buffer(void*, es_backend_buffer* b) {
  delete b;
}

int upload(void* state, es_backend_buffer* dst, uint64_t offset, const void* src, uint64_t n) {
  if (offset > dst->bytes.size() || n > dst->bytes.size() - offset) {
    return fail(static_cast<State*>(state), "upload past the end of the buffer");
  }
  std::memcpy(dst->bytes.data() + offset, src, static_cast<size_t>(n));
  return 0;
}

int download(void* state, const es_backend_buffer* src, uint64_t offset, void* dst, uint64_t n) {
  if (offset > src->bytes.size() || n > src->bytes.size() - offset) {
    return fail(static_cast<State*>(state), "download past the end of the buffer");
  }
  std::memcpy(dst, src->bytes.data() + offset, static_cast<size_t>(n));
  return 0;
}

int supports(void*, uint32_t op, uint32_t weight_type) {
  return weight_type == 0 &&
         (op == ES_OP_ADD_F32 || op == ES_OP_MUL_F32 || op == ES_OP_RMS_NORM_F32);
}

int run_op(void* state, uint32_t op, const es_backend_buffer* const* in, uint32_t n_in,
           es_backend_buffer* out, const void* params, uint32_t params_bytes) {
  auto* s = static_cast<State*>(state);
  if (op == ES_OP_ADD_F32 || op == ES_OP_MUL_F32) {
    uint32_t n = 0;
    if (n_in != 2 || params_bytes != sizeof n) return fail(s, "binary op: 2 inputs, uint32 n");
    std::memcpy(&n, params, sizeof n);
    if (in[0]->bytes.size() < n * 4ull || in[1]->bytes.size() < n * 4ull ||
        out->bytes.size() < n * 4ull) {
      return fail(s, "binary op: a buffer is smaller than n floats");
    }
    float* y = reinterpret_cast<float*>(out->bytes.data());
    for (uint32_t i = 0; i < n; ++i) {
      y[i] = op == ES_OP_ADD_F32 ? floats(in[0])[i] + floats(in[1])[i]
                                 : floats(in[0])[i] * floats(in[1])[i];
    }
    return 0;
  }
  if (op == ES_OP_RMS_NORM_F32) {
    struct {
      uint32_t rows, cols;
      float eps;
    } p{};
    if (n_in != 2 || params_bytes != sizeof p) return fail(s, "rms_norm: 2 inputs, rows/cols/eps");
    std::memcpy(&p, params, sizeof p);
    const uint64_t n = uint64_t{p.rows} * p.cols;
    if (in[0]->bytes.size() < n * 4 || in[1]->bytes.size() < p.cols * 4ull ||
        out->bytes.size() < n * 4) {
      return fail(s, "rms_norm: a buffer is too small");
    }
    float* y = reinterpret_cast<float*>(out->bytes.data());
    for (uint32_t r = 0; r < p.rows; ++r) {
      const float* x = floats(in[0]) + uint64_t{r} * p.cols;
      double ss = 0;
      for (uint32_t i = 0; i < p.cols; ++i) ss += double(x[i]) * x[i];
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / p.cols + p.eps));
      for (uint32_t i = 0; i < p.cols; ++i)
        y[uint64_t{r} * p.cols + i] = x[i] * scale * floats(in[1])[i];
    }
    return 0;
  }
  return fail(s, "unsupported op " + std::to_string(op));
}

const char* last_error(void* state) {
  return static_cast<State*>(state)->error.c_str();
}

void destroy(void* state) {
  delete static_cast<State*>(state);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int expertscope_backend_score(
    uint32_t host_api_version) {
  return host_api_version == EXPERTSCOPE_BACKEND_API_VERSION ? ES_PLUGIN_SCORE : 0;
}

extern "C" __attribute__((visibility("default"))) int expertscope_backend_init(
    uint32_t host_api_version, es_backend_vtable* out, uint32_t out_size) {
  (void)host_api_version;
  es_backend_vtable vt{};
  vt.struct_size = sizeof(es_backend_vtable);
  vt.api_version = ES_PLUGIN_API_VERSION;
  vt.name = "reference";
  vt.state = new (std::nothrow) State;
  if (vt.state == nullptr) return 1;
  vt.destroy = destroy;
  vt.alloc = alloc;
  vt.free = free_buffer;
  vt.upload = upload;
  vt.download = download;
  vt.supports = supports;
  vt.run_op = run_op;
  vt.last_error = last_error;
  std::memcpy(out, &vt, out_size < sizeof vt ? out_size : sizeof vt);
  return 0;
}
