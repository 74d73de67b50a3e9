// TimedBackend: each op forwards to the wrapped backend, then takes its lap.
#include "timed_backend.h"

namespace es::runtime {

using backend::Mat;
using backend::Weight;

void TimedBackend::get_rows(Mat out, const Weight& table, std::span<const int32_t> ids) {
  inner_.get_rows(out, table, ids);
  lap(EngineOp::get_rows);
}

void TimedBackend::rms_norm(Mat out, Mat in, const Weight* w, float eps, uint32_t group) {
  inner_.rms_norm(out, in, w, eps, group);
  lap(EngineOp::rms_norm);
}

void TimedBackend::mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) {
  inner_.mul_mat(out, w, in, matrix);
  lap(EngineOp::mul_mat);
}

void TimedBackend::add_bias(Mat x, const Weight& b, uint32_t matrix) {
  inner_.add_bias(x, b, matrix);
  lap(EngineOp::add_bias);
}

void TimedBackend::mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids,
                              uint32_t top_k, const Weight* bias) {
  inner_.mul_mat_id(out, w, in, ids, top_k, bias);
  lap(EngineOp::mul_mat_id);
}

void TimedBackend::add(Mat acc, Mat x, float scale) {
  inner_.add(acc, x, scale);
  lap(EngineOp::add);
}

void TimedBackend::copy(Mat dst, Mat src) {
  inner_.copy(dst, src);
  lap(EngineOp::copy);
}

void TimedBackend::scale(Mat x, float s) {
  inner_.scale(x, s);
  lap(EngineOp::scale);
}

void TimedBackend::sigmoid_gate(Mat x, Mat gate) {
  inner_.sigmoid_gate(x, gate);
  lap(EngineOp::sigmoid_gate);
}

void TimedBackend::rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
                        const backend::RopeParams& p, std::span<const int32_t> pos) {
  inner_.rope(x, n_heads, head_stride, rot_offset, p, pos);
  lap(EngineOp::rope);
}

void TimedBackend::swiglu(Mat out, Mat gate, Mat up, backend::GluKind kind) {
  inner_.swiglu(out, gate, up, kind);
  lap(EngineOp::swiglu);
}

void TimedBackend::route(Mat logits, const float* selection_bias, const backend::RouterParams& p,
                         const backend::RouterOut& out) {
  inner_.route(logits, selection_bias, p, out);
  lap(EngineOp::router);
}

void TimedBackend::moe_sum(Mat out, Mat x, std::span<const float> weights, uint32_t top_k) {
  inner_.moe_sum(out, x, weights, top_k);
  lap(EngineOp::moe_sum);
}

void TimedBackend::kv_store(const backend::KvView& kv, Mat k, Mat v, std::span<const int32_t> pos) {
  inner_.kv_store(kv, k, v, pos);
  lap(EngineOp::kv_store);
}

void TimedBackend::attention(Mat out, Mat q, const backend::KvView& kv,
                             const backend::AttentionParams& p, std::span<const int32_t> pos) {
  inner_.attention(out, q, kv, p, pos);
  lap(EngineOp::attention);
}

void TimedBackend::synchronize() {
  inner_.synchronize();
  lap(EngineOp::synchronize);
}

}  // namespace es::runtime
