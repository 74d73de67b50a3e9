// Context: KV cache position bookkeeping, batching and token validation around the
// forward pass.
#include "expertscope/context.h"

#include <thread>

#include "backend/backend.h"
#include "expertscope/error.h"
#include "model/forward.h"

namespace es {

struct Context::Impl {
  std::shared_ptr<const Model> model;
  ContextParams params;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<model::Forward> forward;
  uint32_t n_past = 0;
  std::vector<float> logits;
  uint32_t n_logit_rows = 0;
  RoutingBatch routing;
  RoutingBatch chunk_routing;
  std::vector<float> chunk_logits;
  std::vector<int32_t> positions;
};

namespace {

std::unique_ptr<backend::Backend> make_backend(const ContextParams& p) {
  if (p.backend == "cpu" || p.backend == "auto" || p.backend.empty()) {
    return backend::make_cpu_backend(p.n_threads);
  }
  throw Error(ErrorKind::usage, "backend \"" + p.backend + "\" is not available (available: cpu)");
}

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
  impl_->backend = make_backend(impl_->params);
  impl_->forward = std::make_unique<model::Forward>(*impl_->model, *impl_->backend, params.n_ctx,
                                                    std::min(params.n_batch, params.n_ctx),
                                                    params.kv_f16, params.full_router_layer);
}

Context::~Context() = default;

bool Context::decode(std::span<const int32_t> tokens, LogitsRows rows,
                     const std::atomic<bool>* cancel) {
  Impl& s = *impl_;
  const HParams& hp = s.model->hparams();
  if (tokens.empty()) throw Error(ErrorKind::usage, "decode: no tokens");
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
  const bool all = rows == LogitsRows::all;
  s.logits.clear();
  s.n_logit_rows = 0;
  // Keep every buffer's capacity: steady-state decoding allocates nothing.
  s.routing.n_tokens = 0;
  const uint32_t n_batch = s.forward->n_batch();
  for (size_t start = 0; start < tokens.size(); start += n_batch) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return false;
    const size_t n = std::min<size_t>(n_batch, tokens.size() - start);
    s.positions.resize(n);
    for (size_t i = 0; i < n; ++i) s.positions[i] = static_cast<int32_t>(s.n_past + i);
    const bool last_chunk = start + n == tokens.size();
    s.forward->run(tokens.subspan(start, n), s.positions, all, s.chunk_logits, s.chunk_routing);
    append_routing(s.routing, s.chunk_routing);
    if (all || last_chunk) {
      s.logits.insert(s.logits.end(), s.chunk_logits.begin(), s.chunk_logits.end());
      s.n_logit_rows += static_cast<uint32_t>(s.chunk_logits.size() / hp.n_vocab);
    }
    s.n_past += static_cast<uint32_t>(n);
  }
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
uint32_t Context::n_threads() const noexcept {
  return impl_->params.n_threads;
}
const Model& Context::model() const noexcept {
  return *impl_->model;
}

void Context::truncate(uint32_t n) {
  if (n > impl_->n_past) throw Error(ErrorKind::usage, "truncate: beyond the current position");
  impl_->n_past = n;
}

}  // namespace es
