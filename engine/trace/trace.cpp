// RoutingTrace: shape, appending batches, random access.
#include "expertscope/trace.h"

#include <algorithm>
#include <string>

#include "trace_internal.h"

namespace es {

using trace_detail::fail_usage;
using trace_detail::float_to_half;
using trace_detail::half_to_float;
using trace_detail::shape_problem;

namespace {

[[noreturn]] void fail_input(const std::string& what) {
  throw Error(ErrorKind::bad_input, "routing trace: " + what);
}

/// Appends `values` rounded to halves (resize grows the vector geometrically).
void append_halves(std::vector<uint16_t>& out, std::span<const float> values) {
  const size_t old = out.size();
  out.resize(old + values.size());
  for (size_t i = 0; i < values.size(); ++i) out[old + i] = float_to_half(values[i]);
}

bool valid_modality(Modality m) noexcept {
  return m == Modality::text || m == Modality::image || m == Modality::video;
}

/// Checks that the batch fits the trace's shape and holds consistent, valid values.
void check_batch(const TraceShape& shape, const RoutingBatch& b, size_t n_ids, size_t n_pos,
                 size_t n_mod) {
  const size_t n = b.n_tokens;
  if (n_ids != n || n_pos != n || n_mod != n) {
    fail_usage("batch of " + std::to_string(n) + " tokens came with " + std::to_string(n_ids) +
               " ids, " + std::to_string(n_pos) + " positions and " + std::to_string(n_mod) +
               " modalities");
  }
  if (b.n_expert != shape.n_expert || b.top_k != shape.top_k || b.moe_layers != shape.moe_layers) {
    fail_usage("batch shape (" + std::to_string(b.n_expert) + " experts, top " +
               std::to_string(b.top_k) + ", " + std::to_string(b.moe_layers.size()) +
               " MoE layers) differs from the trace's (" + std::to_string(shape.n_expert) + ", " +
               std::to_string(shape.top_k) + ", " + std::to_string(shape.moe_layers.size()) + ")");
  }
  const size_t n_layers = shape.moe_layers.size();
  if (b.experts.size() != n * n_layers * b.top_k || b.weights.size() != b.experts.size() ||
      b.entropy.size() != n * n_layers) {
    fail_usage("batch arrays are not sized for " + std::to_string(n) + " tokens");
  }
  if (shape.full_layer >= 0 &&
      (b.full_layer != shape.full_layer || b.full_probs.size() != n * shape.n_expert)) {
    fail_usage("the trace keeps layer " + std::to_string(shape.full_layer) +
               "'s full distribution but the batch does not carry it");
  }
}

/// Checks the values of a batch: ids in range and distinct per (token, layer).
void check_batch_values(const TraceShape& shape, const RoutingBatch& b,
                        std::span<const int32_t> ids, std::span<const int32_t> pos) {
  const size_t n_layers = shape.moe_layers.size();
  const uint32_t k = shape.top_k;
  for (uint32_t t = 0; t < b.n_tokens; ++t) {
    if (ids[t] < 0 || pos[t] < 0) {
      fail_input("token " + std::to_string(t) + " of the batch has id " + std::to_string(ids[t]) +
                 " and position " + std::to_string(pos[t]) + " (both must be >= 0)");
    }
    for (size_t m = 0; m < n_layers; ++m) {
      const uint16_t* e = b.experts.data() + (t * n_layers + m) * k;
      for (uint32_t r = 0; r < k; ++r) {
        if (e[r] >= shape.n_expert) {
          fail_input("token " + std::to_string(t) + " of the batch, layer " +
                     std::to_string(shape.moe_layers[m]) + ": expert " + std::to_string(e[r]) +
                     " is out of range (" + std::to_string(shape.n_expert) + " experts)");
        }
        for (uint32_t q = 0; q < r; ++q) {
          if (e[q] == e[r]) {
            fail_input("token " + std::to_string(t) + " of the batch, layer " +
                       std::to_string(shape.moe_layers[m]) + ": expert " + std::to_string(e[r]) +
                       " is selected twice");
          }
        }
      }
    }
  }
}

}  // namespace

std::string_view modality_name(Modality modality) noexcept {
  switch (modality) {
    case Modality::text:
      return "text";
    case Modality::image:
      return "image";
    case Modality::video:
      return "video";
    default:
      return "unset";
  }
}

namespace trace_detail {

/// Why `shape` cannot be a trace's shape, or "" if it can.
std::string shape_problem(const TraceShape& shape) {
  if (shape.n_expert == 0 || shape.n_expert > 65536) {
    return "n_expert " + std::to_string(shape.n_expert) + " is outside 1..65536";
  }
  if (shape.top_k == 0 || shape.top_k > max_experts_used || shape.top_k > shape.n_expert) {
    return "top_k " + std::to_string(shape.top_k) + " is outside 1.." +
           std::to_string(std::min(max_experts_used, shape.n_expert));
  }
  if (shape.moe_layers.empty()) return "no MoE layers";
  for (size_t i = 1; i < shape.moe_layers.size(); ++i) {
    if (shape.moe_layers[i] <= shape.moe_layers[i - 1]) {
      return "MoE layer indices are not strictly ascending (" +
             std::to_string(shape.moe_layers[i - 1]) + " then " +
             std::to_string(shape.moe_layers[i]) + ")";
    }
  }
  if (shape.full_layer >= 0 && !std::binary_search(shape.moe_layers.begin(), shape.moe_layers.end(),
                                                   static_cast<uint32_t>(shape.full_layer))) {
    return "full-distribution layer " + std::to_string(shape.full_layer) + " is not an MoE layer";
  }
  if (shape.full_layer < -1) return "full-distribution layer " + std::to_string(shape.full_layer);
  return {};
}

Span resolve(const RoutingTrace& trace, const TokenRange& range) {
  const uint32_t end = std::min(range.end, trace.n_tokens());
  if (range.begin > end) {
    fail_usage("token range begins at " + std::to_string(range.begin) + ", past its end " +
               std::to_string(end) + " (trace of " + std::to_string(trace.n_tokens()) + " tokens)");
  }
  return {range.begin, end};
}

}  // namespace trace_detail

RoutingTrace::RoutingTrace(TraceShape shape) {
  set_shape(std::move(shape));
}

void RoutingTrace::set_shape(TraceShape shape) {
  const std::string problem = shape_problem(shape);
  if (!problem.empty()) fail_usage(problem);
  shape_ = std::move(shape);
  expert_bits_ = trace_detail::bits_for_experts(shape_.n_expert);
}

std::optional<uint32_t> RoutingTrace::moe_index(uint32_t block) const noexcept {
  const auto it = std::lower_bound(shape_.moe_layers.begin(), shape_.moe_layers.end(), block);
  if (it == shape_.moe_layers.end() || *it != block) return std::nullopt;
  return static_cast<uint32_t>(it - shape_.moe_layers.begin());
}

void RoutingTrace::append(const RoutingBatch& batch, std::span<const int32_t> token_ids,
                          std::span<const int32_t> positions, Modality modality) {
  if (!valid_modality(modality)) fail_usage("modality must be text, image or video");
  append_routing(batch, token_ids, positions, batch.n_tokens);
  modalities_.insert(modalities_.end(), batch.n_tokens, modality);
}

void RoutingTrace::append(const RoutingBatch& batch, std::span<const int32_t> token_ids,
                          std::span<const int32_t> positions,
                          std::span<const Modality> modalities) {
  for (const Modality m : modalities) {
    if (!valid_modality(m)) fail_usage("modality must be text, image or video");
  }
  append_routing(batch, token_ids, positions, modalities.size());
  modalities_.insert(modalities_.end(), modalities.begin(), modalities.end());
}

void RoutingTrace::append_routing(const RoutingBatch& batch, std::span<const int32_t> token_ids,
                                  std::span<const int32_t> positions, size_t n_modalities) {
  TraceShape first;  // the shape a first batch brings
  const TraceShape* shape = &shape_;
  if (!has_shape()) {
    first = {batch.n_expert, batch.top_k, batch.moe_layers,
             batch.full_probs.empty() ? -1 : batch.full_layer};
    const std::string problem = shape_problem(first);
    if (!problem.empty()) fail_usage("first batch: " + problem);
    shape = &first;
  }
  check_batch(*shape, batch, token_ids.size(), positions.size(), n_modalities);
  check_batch_values(*shape, batch, token_ids, positions);
  const size_t n = batch.n_tokens;
  if (n > size_t{UINT32_MAX} - token_ids_.size()) fail_usage("more than 2^32 - 1 tokens");
  if (!has_shape()) set_shape(std::move(first));

  const size_t old_slots = token_ids_.size() * shape_.moe_layers.size() * shape_.top_k;
  token_ids_.insert(token_ids_.end(), token_ids.begin(), token_ids.end());
  positions_.insert(positions_.end(), positions.begin(), positions.end());

  const size_t n_slots = batch.experts.size();
  expert_bits_data_.resize(trace_detail::packed_bytes(old_slots + n_slots, expert_bits_), 0);
  for (size_t i = 0; i < n_slots; ++i) {
    trace_detail::put_packed(expert_bits_data_, old_slots + i, expert_bits_, batch.experts[i]);
  }
  append_halves(weights_, batch.weights);
  append_halves(entropy_, batch.entropy);
  if (has_full_probs()) append_halves(full_probs_, batch.full_probs);
}

void RoutingTrace::reserve(uint32_t n_tokens) {
  if (!has_shape()) fail_usage("reserve() needs a trace with a shape");
  const size_t n = n_tokens, per_token = shape_.moe_layers.size() * shape_.top_k;
  token_ids_.reserve(n);
  positions_.reserve(n);
  modalities_.reserve(n);
  expert_bits_data_.reserve(trace_detail::packed_bytes(n * per_token, expert_bits_));
  weights_.reserve(n * per_token);
  entropy_.reserve(n * shape_.moe_layers.size());
  if (has_full_probs()) full_probs_.reserve(n * shape_.n_expert);
}

void RoutingTrace::truncate(uint32_t n_tokens) {
  if (n_tokens >= token_ids_.size()) return;
  const size_t n_layers = shape_.moe_layers.size();
  const size_t n_slots = static_cast<size_t>(n_tokens) * n_layers * shape_.top_k;
  token_ids_.resize(n_tokens);
  positions_.resize(n_tokens);
  modalities_.resize(n_tokens);
  expert_bits_data_.resize(trace_detail::packed_bytes(n_slots, expert_bits_));
  const size_t used_bits = n_slots * expert_bits_ % 8;
  if (used_bits != 0) expert_bits_data_.back() &= static_cast<uint8_t>((1u << used_bits) - 1);
  weights_.resize(n_slots);
  entropy_.resize(static_cast<size_t>(n_tokens) * n_layers);
  if (has_full_probs()) full_probs_.resize(static_cast<size_t>(n_tokens) * shape_.n_expert);
}

void RoutingTrace::check_token(uint32_t token) const {
  if (token >= token_ids_.size()) {
    fail_usage("token " + std::to_string(token) + " is out of range (" +
               std::to_string(token_ids_.size()) + " tokens)");
  }
}

void RoutingTrace::check_layer(uint32_t m) const {
  if (m >= shape_.moe_layers.size()) {
    fail_usage("MoE layer index " + std::to_string(m) + " is out of range (" +
               std::to_string(shape_.moe_layers.size()) + " MoE layers)");
  }
}

void RoutingTrace::check_rank(uint32_t rank) const {
  if (rank >= shape_.top_k) {
    fail_usage("rank " + std::to_string(rank) + " is out of range (top " +
               std::to_string(shape_.top_k) + ")");
  }
}

int32_t RoutingTrace::token_id(uint32_t token) const {
  check_token(token);
  return token_ids_[token];
}

int32_t RoutingTrace::position(uint32_t token) const {
  check_token(token);
  return positions_[token];
}

Modality RoutingTrace::modality(uint32_t token) const {
  check_token(token);
  return modalities_[token];
}

uint16_t RoutingTrace::expert(uint32_t token, uint32_t m, uint32_t rank) const {
  check_token(token);
  check_layer(m);
  check_rank(rank);
  return static_cast<uint16_t>(TraceAccess{*this}.expert(token, m, rank));
}

float RoutingTrace::weight(uint32_t token, uint32_t m, uint32_t rank) const {
  check_token(token);
  check_layer(m);
  check_rank(rank);
  return half_to_float(weights_[slot(token, m, rank)]);
}

float RoutingTrace::entropy(uint32_t token, uint32_t m) const {
  check_token(token);
  check_layer(m);
  return half_to_float(TraceAccess{*this}.entropy_bits(token, m));
}

void RoutingTrace::routing(uint32_t token, uint32_t m, std::span<uint16_t> experts,
                           std::span<float> weights) const {
  check_token(token);
  check_layer(m);
  if (experts.size() != shape_.top_k || weights.size() != shape_.top_k) {
    fail_usage("routing() needs spans of top_k = " + std::to_string(shape_.top_k) + " entries");
  }
  const TraceAccess access{*this};
  for (uint32_t r = 0; r < shape_.top_k; ++r) {
    experts[r] = static_cast<uint16_t>(access.expert(token, m, r));
    weights[r] = access.weight(token, m, r);
  }
}

float RoutingTrace::full_prob(uint32_t token, uint32_t expert) const {
  if (!has_full_probs()) fail_usage("the trace keeps no full router distribution");
  check_token(token);
  if (expert >= shape_.n_expert) {
    fail_usage("expert " + std::to_string(expert) + " is out of range (" +
               std::to_string(shape_.n_expert) + " experts)");
  }
  return half_to_float(full_probs_[static_cast<size_t>(token) * shape_.n_expert + expert]);
}

RoutingBatch RoutingTrace::batch(TokenRange range) const {
  const auto [begin, end] = trace_detail::resolve(*this, range);
  RoutingBatch b;
  b.n_expert = shape_.n_expert;
  b.top_k = shape_.top_k;
  b.moe_layers = shape_.moe_layers;
  b.full_layer = shape_.full_layer;
  b.resize(end - begin);
  const size_t per_token = shape_.moe_layers.size() * shape_.top_k;
  const size_t first = begin * per_token;
  for (size_t i = 0; i < b.experts.size(); ++i) {
    b.experts[i] =
        static_cast<uint16_t>(trace_detail::get_packed(expert_bits_data_, first + i, expert_bits_));
    b.weights[i] = half_to_float(weights_[first + i]);
  }
  const size_t first_h = begin * shape_.moe_layers.size();
  for (size_t i = 0; i < b.entropy.size(); ++i) b.entropy[i] = half_to_float(entropy_[first_h + i]);
  const size_t first_p = static_cast<size_t>(begin) * shape_.n_expert;
  for (size_t i = 0; i < b.full_probs.size(); ++i) {
    b.full_probs[i] = half_to_float(full_probs_[first_p + i]);
  }
  return b;
}

size_t RoutingTrace::storage_bytes() const noexcept {
  return token_ids_.size() * sizeof(int32_t) + positions_.size() * sizeof(int32_t) +
         modalities_.size() * sizeof(Modality) + expert_bits_data_.size() +
         (weights_.size() + entropy_.size() + full_probs_.size()) * sizeof(uint16_t);
}

}  // namespace es
