// Context: KV cache position bookkeeping, batching and token validation around the
// forward pass.
#include "expertscope/context.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <thread>

#include "backend/backend.h"
#include "expertscope/error.h"
#include "model/forward.h"
#include "timed_backend.h"

namespace es {

struct Context::Impl {
  std::shared_ptr<const Model> model;
  ContextParams params;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<runtime::TimedBackend> timed;  ///< Wraps `backend`; the forward pass's.
  std::unique_ptr<model::Forward> forward;
  uint32_t n_past = 0;
  std::vector<float> logits;
  uint32_t n_logit_rows = 0;
  RoutingBatch routing;
  RoutingBatch chunk_routing;
  std::vector<float> chunk_logits;
  std::vector<int32_t> positions;
  std::vector<int32_t> tokens;  ///< The token at each cached position (replayed on a switch).
  /// Positions whose embedding was given (projected media), for a replay.
  std::map<uint32_t, std::vector<float>> injected;
  std::vector<model::Forward::Injection> chunk_inject;
  std::string backend_warning;  ///< Why the backend asked for is not the one running.

  // Statistics (EngineStats), updated by decode() without allocating.
  std::array<DecodeStep, EngineStats::history_capacity> history{};  ///< A ring.
  size_t history_next = 0;                                          ///< Where the next step goes.
  size_t history_size = 0;
  uint64_t n_prompt_tokens = 0;
  uint64_t n_generated_tokens = 0;
  PassProfile last_pass;
  std::vector<uint64_t> expert_hits;  ///< [moe layer][expert]
  uint64_t n_routed_tokens = 0;
  uint64_t weights_bytes = 0;

  /// Adds the experts a chunk's tokens went to to the hit counters.
  void count_hits(const RoutingBatch& r) {
    const size_t n_moe = r.n_moe_layers();
    const uint32_t n_expert = r.n_expert;
    if (n_moe == 0 || expert_hits.size() < n_moe * n_expert) return;
    for (uint32_t t = 0; t < r.n_tokens; ++t) {
      for (uint32_t m = 0; m < n_moe; ++m) {
        uint64_t* row = expert_hits.data() + static_cast<size_t>(m) * n_expert;
        for (uint32_t k = 0; k < r.top_k; ++k) {
          const uint16_t e = r.experts[r.at(t, m, k)];
          if (e < n_expert) ++row[e];
        }
      }
    }
    n_routed_tokens += r.n_tokens;
  }

  /// Records a finished decode() call in the history and the last-pass profile.
  void record_step(uint32_t n_tokens, double wall_ms, double pass_ms) {
    const StepKind kind = n_tokens > 1 ? StepKind::prompt : StepKind::generation;
    history[history_next] = DecodeStep{n_tokens, wall_ms, kind};
    history_next = (history_next + 1) % history.size();
    history_size = std::min(history_size + 1, history.size());
    (kind == StepKind::prompt ? n_prompt_tokens : n_generated_tokens) += n_tokens;
    last_pass.n_tokens = n_tokens;
    last_pass.wall_ms = pass_ms;
    last_pass.ops = timed->ops();
    OpTimes device{};
    if (timed->take_op_times(device)) last_pass.ops = device;
  }

  /// Creates the backend `name` and the forward pass on it.
  void build(const std::string& name) {
    forward.reset();
    timed.reset();
    backend.reset();
    backend = backend::make_backend(name, params.n_threads);
    timed = std::make_unique<runtime::TimedBackend>(*backend);
    forward = std::make_unique<model::Forward>(*model, *timed, params.n_ctx,
                                               std::min(params.n_batch, params.n_ctx),
                                               params.kv_f16, params.full_router_layer);
  }

  /// After backend `failed` threw `e`: carries on with the CPU backend (recomputing the
  /// KV cache of the cached tokens there), remembering why. Rethrows when already on the
  /// CPU, or when the error is the input's, not the device's.
  void fall_back_to_cpu(const Error& e) {
    if (backend->name() == "cpu" || e.kind() == ErrorKind::bad_input ||
        e.kind() == ErrorKind::usage) {
      throw;
    }
    backend_warning = std::string(e.what()) + "; continuing on the CPU";
    build("cpu");
    RoutingBatch scratch_routing;
    std::vector<float> scratch_logits;
    const uint32_t n_batch = forward->n_batch();
    for (uint32_t start = 0; start < n_past; start += n_batch) {
      const uint32_t n = std::min(n_batch, n_past - start);
      positions.resize(n);
      std::vector<model::Forward::Injection> inject;
      for (uint32_t i = 0; i < n; ++i) {
        positions[i] = static_cast<int32_t>(start + i);
        if (const auto it = injected.find(start + i); it != injected.end()) {
          inject.push_back({i, it->second.data()});
        }
      }
      forward->run(std::span<const int32_t>(tokens.data() + start, n), positions, false,
                   scratch_logits, scratch_routing, inject);
    }
  }
};

namespace {

/// Appends the routing of a chunk to the routing of the whole decode.
void append_routing(RoutingBatch& all, const RoutingBatch& chunk) {
  if (all.n_tokens == 0) {
    all = chunk;  // Copy-assignment reuses the vectors' capacity.
    return;
  }
  all.n_tokens += chunk.n_tokens;
  all.experts.insert(all.experts.end(), chunk.experts.begin(), chunk.experts.end());
  all.weights.insert(all.weights.end(), chunk.weights.begin(), chunk.weights.end());
  all.entropy.insert(all.entropy.end(), chunk.entropy.begin(), chunk.entropy.end());
  all.full_probs.insert(all.full_probs.end(), chunk.full_probs.begin(), chunk.full_probs.end());
}

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

Context::Context(std::shared_ptr<const Model> model, const ContextParams& params)
    : impl_(std::make_unique<Impl>()) {
  if (params.n_ctx == 0 || params.n_batch == 0) {
    throw Error(ErrorKind::usage, "context: n_ctx and n_batch must be positive");
  }
  impl_->model = std::move(model);
  impl_->params = params;
  if (impl_->params.n_threads == 0) {
    impl_->params.n_threads = std::max(1u, std::thread::hardware_concurrency());
  }
  try {
    impl_->build(impl_->params.backend);
  } catch (const Error& e) {
    // No device, no memory for the weights, a driver that fails: say so and run on the
    // CPU. An unknown backend name is the caller's mistake and stays an error.
    if (e.kind() == ErrorKind::usage || impl_->params.backend == "cpu") throw;
    impl_->backend_warning = std::string(e.what()) + "; running on the CPU instead";
    impl_->build("cpu");
  }
  const HParams& hp = impl_->model->hparams();
  impl_->tokens.reserve(impl_->params.n_ctx);  // the history never reallocates while decoding
  impl_->expert_hits.assign(impl_->model->moe_layers().size() * size_t{hp.n_expert}, 0);
  for (const gguf::TensorInfo& t : impl_->model->file().tensors())
    impl_->weights_bytes += t.n_bytes;
}

Context::~Context() = default;

bool Context::decode(std::span<const int32_t> tokens, LogitsRows rows,
                     const std::atomic<bool>* cancel, std::span<const float> embeddings) {
  Impl& s = *impl_;
  const HParams& hp = s.model->hparams();
  if (tokens.empty()) throw Error(ErrorKind::usage, "decode: no tokens");
  if (!embeddings.empty() && embeddings.size() != tokens.size() * size_t{hp.n_embd}) {
    throw Error(ErrorKind::usage, "decode: " + std::to_string(embeddings.size()) +
                                      " embedding values for " + std::to_string(tokens.size()) +
                                      " tokens of width " + std::to_string(hp.n_embd));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || static_cast<uint32_t>(tokens[i]) >= hp.n_vocab) {
      throw Error(ErrorKind::bad_input,
                  "token " + std::to_string(i) + " has id " + std::to_string(tokens[i]) +
                      ", outside the vocabulary (0.." + std::to_string(hp.n_vocab - 1) + ")");
    }
  }
  if (tokens.size() > s.params.n_ctx - s.n_past) {
    throw Error(ErrorKind::bad_input,
                std::to_string(tokens.size()) +
                    " tokens do not fit in the context: " + std::to_string(s.n_past) + " of " +
                    std::to_string(s.params.n_ctx) + " positions are used");
  }
  const Clock::time_point t0 = Clock::now();
  const bool all = rows == LogitsRows::all;
  s.logits.clear();
  s.n_logit_rows = 0;
  // Keep every buffer's capacity: steady-state decoding allocates nothing.
  s.routing.n_tokens = 0;
  const uint32_t n_batch = s.forward->n_batch();
  s.timed->reset_ops();
  double pass_ms = 0.0;
  uint32_t n_done = 0;
  for (size_t start = 0; start < tokens.size(); start += n_batch) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      if (n_done > 0) s.record_step(n_done, ms_since(t0), pass_ms);
      return false;
    }
    const size_t n = std::min<size_t>(n_batch, tokens.size() - start);
    s.positions.resize(n);
    for (size_t i = 0; i < n; ++i) s.positions[i] = static_cast<int32_t>(s.n_past + i);
    s.chunk_inject.clear();
    if (!embeddings.empty()) {
      for (size_t i = 0; i < n; ++i) {
        s.chunk_inject.push_back(
            {static_cast<uint32_t>(i), embeddings.data() + (start + i) * size_t{hp.n_embd}});
      }
    }
    const bool last_chunk = start + n == tokens.size();
    const Clock::time_point p0 = Clock::now();
    s.timed->begin_pass();
    try {
      s.forward->run(tokens.subspan(start, n), s.positions, all, s.chunk_logits, s.chunk_routing,
                     s.chunk_inject);
    } catch (const Error& e) {
      s.fall_back_to_cpu(e);  // Rethrows unless the device failed.
      s.positions.resize(n);
      for (size_t i = 0; i < n; ++i) s.positions[i] = static_cast<int32_t>(s.n_past + i);
      s.timed->begin_pass();
      s.forward->run(tokens.subspan(start, n), s.positions, all, s.chunk_logits, s.chunk_routing,
                     s.chunk_inject);
    }
    pass_ms += ms_since(p0);
    s.tokens.resize(s.n_past);
    s.tokens.insert(s.tokens.end(), tokens.begin() + static_cast<ptrdiff_t>(start),
                    tokens.begin() + static_cast<ptrdiff_t>(start + n));
    s.injected.erase(s.injected.lower_bound(s.n_past), s.injected.end());
    for (const auto& in : s.chunk_inject) {
      s.injected[s.n_past + in.row].assign(in.values, in.values + hp.n_embd);
    }
    s.count_hits(s.chunk_routing);
    append_routing(s.routing, s.chunk_routing);
    if (all || last_chunk) {
      s.logits.insert(s.logits.end(), s.chunk_logits.begin(), s.chunk_logits.end());
      s.n_logit_rows += static_cast<uint32_t>(s.chunk_logits.size() / hp.n_vocab);
    }
    s.n_past += static_cast<uint32_t>(n);
    n_done += static_cast<uint32_t>(n);
  }
  s.record_step(n_done, ms_since(t0), pass_ms);
  return true;
}

std::span<const float> Context::logits(uint32_t i) const {
  const uint32_t n_vocab = impl_->model->hparams().n_vocab;
  if (i >= impl_->n_logit_rows) throw Error(ErrorKind::usage, "logits: row out of range");
  return {impl_->logits.data() + static_cast<size_t>(i) * n_vocab, n_vocab};
}

uint32_t Context::n_logit_rows() const noexcept {
  return impl_->n_logit_rows;
}
const RoutingBatch& Context::routing() const noexcept {
  return impl_->routing;
}
uint32_t Context::n_past() const noexcept {
  return impl_->n_past;
}
uint32_t Context::n_ctx() const noexcept {
  return impl_->params.n_ctx;
}
std::string_view Context::backend_name() const noexcept {
  return impl_->backend->name();
}
const std::string& Context::backend_warning() const noexcept {
  return impl_->backend_warning;
}
uint32_t Context::n_threads() const noexcept {
  return impl_->params.n_threads;
}
const Model& Context::model() const noexcept {
  return *impl_->model;
}

EngineStats Context::stats() const {
  const Impl& s = *impl_;
  EngineStats st;
  st.backend = std::string(s.backend->name());
  st.backend_warning = s.backend_warning;
  st.n_threads = s.params.n_threads;
  st.history.reserve(s.history_size);
  const size_t first = (s.history_next + s.history.size() - s.history_size) % s.history.size();
  for (size_t i = 0; i < s.history_size; ++i) {
    st.history.push_back(s.history[(first + i) % s.history.size()]);
  }
  st.n_prompt_tokens = s.n_prompt_tokens;
  st.n_generated_tokens = s.n_generated_tokens;
  st.last_pass = s.last_pass;
  st.memory.weights_bytes = s.weights_bytes;
  st.memory.kv_cache_bytes = s.forward->kv_bytes();
  st.memory.scratch_bytes = s.forward->scratch_bytes();
  const auto vec_bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  st.memory.output_bytes = vec_bytes(s.logits) + vec_bytes(s.chunk_logits) +
                           vec_bytes(s.positions) + vec_bytes(s.expert_hits);
  for (const RoutingBatch* r : {&s.routing, &s.chunk_routing}) {
    st.memory.output_bytes += vec_bytes(r->experts) + vec_bytes(r->weights) +
                              vec_bytes(r->entropy) + vec_bytes(r->full_probs);
  }
  st.n_past = s.n_past;
  st.n_ctx = s.params.n_ctx;
  st.n_expert = s.model->hparams().n_expert;
  st.top_k = s.model->hparams().n_expert_used;
  st.moe_layers = s.model->moe_layers();
  st.expert_hits = s.expert_hits;
  st.n_routed_tokens = s.n_routed_tokens;
  return st;
}

void Context::reset_stats() noexcept {
  Impl& s = *impl_;
  s.history_next = 0;
  s.history_size = 0;
  s.n_prompt_tokens = 0;
  s.n_generated_tokens = 0;
  s.last_pass = PassProfile{};
  std::fill(s.expert_hits.begin(), s.expert_hits.end(), 0);
  s.n_routed_tokens = 0;
}

void Context::truncate(uint32_t n) {
  if (n > impl_->n_past) throw Error(ErrorKind::usage, "truncate: beyond the current position");
  impl_->n_past = n;
  if (impl_->tokens.size() > n) impl_->tokens.resize(n);
  impl_->injected.erase(impl_->injected.lower_bound(n), impl_->injected.end());
}

}  // namespace es
