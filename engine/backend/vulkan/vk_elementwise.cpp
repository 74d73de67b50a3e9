// The Vulkan backend's element-wise and reduction ops: add, copy, scale, the gated
// activations, the shared expert's sigmoid gate, bias, RMSNorm and the experts' weighted
// sum (shaders/ops/eltwise.comp, rms_norm.comp, moe_sum.comp).
#include <cstring>

#include "expertscope/error.h"
#include "vk_backend.h"

namespace es::backend::vulkan {

namespace {

constexpr uint32_t kLocal = 64;

struct EltPush {
  uint32_t rows, cols, off_a, stride_a, off_b, stride_b, off_d, stride_d;
  float s;
};

uint32_t groups_for(uint32_t n) {
  return (n + kLocal - 1) / kLocal;
}

uint32_t u32(size_t v) {
  return static_cast<uint32_t>(v);
}

}  // namespace

namespace {

/// a (op) b, d: the three-operand element-wise shader.
void eltwise(VulkanBackend& be, const char* shader, Tag tag, const Mat& a, const Operand& oa,
             const Operand& ob, size_t stride_b, const Operand& od, size_t stride_d, float s) {
  const EltPush push{a.rows,    a.cols,        oa.offset, u32(a.stride), ob.offset, u32(stride_b),
                     od.offset, u32(stride_d), s};
  be.dispatch(shader, {oa, ob, od}, push, Groups{groups_for(a.cols), a.rows, 1}, kLocal, tag);
}

}  // namespace

void VulkanBackend::add(Mat acc, Mat x, float s) {
  const Operand a = operand(acc), b = operand(x);
  eltwise(*this, "add", Tag::add, acc, a, b, x.stride, b, x.stride, s);
}

void VulkanBackend::copy(Mat dst, Mat src) {
  const Operand a = operand(dst), b = operand(src);
  eltwise(*this, "copy", Tag::copy, dst, a, b, src.stride, b, src.stride, 0.0f);
}

void VulkanBackend::scale(Mat x, float s) {
  const Operand a = operand(x);
  eltwise(*this, "scale", Tag::scale, x, a, a, x.stride, a, x.stride, s);
}

void VulkanBackend::sigmoid_gate(Mat x, Mat gate) {
  const Operand a = operand(x), b = operand(gate);
  eltwise(*this, "sigmoid_gate", Tag::sigmoid_gate, x, a, b, gate.stride, b, gate.stride, 0.0f);
}

void VulkanBackend::swiglu(Mat out, Mat gate, Mat up, GluKind kind) {
  const Operand a = operand(out), b = operand(gate), d = operand(up);
  eltwise(*this, kind == GluKind::oai_clamped ? "glu_oai" : "swiglu", Tag::swiglu, out, a, b,
          gate.stride, d, up.stride, 0.0f);
}

void VulkanBackend::add_bias(Mat x, const Weight& b, uint32_t matrix) {
  if (b.type != TensorType::F32 || b.device == nullptr) {
    fallback().add_bias(x, b, matrix);
    return;
  }
  const Operand a = operand(x);
  Operand w = weight_operand(b, size_t{matrix} * x.cols * sizeof(float), x.cols * sizeof(float));
  w.offset /= sizeof(float);
  eltwise(*this, "add_bias", Tag::add_bias, x, a, w, 0, w, 0, 0.0f);
}

void VulkanBackend::rms_norm(Mat out, Mat in, const Weight* w, float eps, uint32_t group) {
  if (w != nullptr && (w->type != TensorType::F32 || w->device == nullptr)) {
    fallback().rms_norm(out, in, w, eps, group);
    return;
  }
  const uint32_t g = group == 0 ? in.cols : group;
  struct Push {
    uint32_t rows, cols, group, off_x, stride_x, off_y, stride_y, off_w, has_w;
    float eps;
  };
  const Operand x = operand(in), y = operand(out);
  Operand wt = x;
  if (w != nullptr) {
    wt = weight_operand(*w, 0, g * sizeof(float));
    wt.offset /= sizeof(float);
  }
  const Push push{in.rows,
                  in.cols,
                  g,
                  x.offset,
                  u32(in.stride),
                  y.offset,
                  u32(out.stride),
                  wt.offset,
                  w != nullptr ? 1u : 0u,
                  eps};
  dispatch("rms_norm", {x, wt, y}, push, Groups{groups_for(in.cols / g), in.rows, 1}, kLocal,
           Tag::rms_norm);
}

void VulkanBackend::moe_sum(Mat out, Mat x, std::span<const float> weights, uint32_t top_k) {
  struct Push {
    uint32_t rows, cols, top_k, off_o, stride_o, off_x, stride_x;
  };
  const Operand o = operand(out), xs = operand(x), wt = stage(weights.data(), weights.size_bytes());
  const Push push{out.rows, out.cols, top_k, o.offset, u32(out.stride), xs.offset, u32(x.stride)};
  dispatch("moe_sum", {o, xs, wt}, push, Groups{groups_for(out.cols), out.rows, 1}, kLocal,
           Tag::moe_sum);
}

}  // namespace es::backend::vulkan
