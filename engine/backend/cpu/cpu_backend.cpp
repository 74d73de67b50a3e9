// The CPU backend: buffers, weight binding and the element-wise op families.
#include "cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "expertscope/error.h"

namespace es::backend::cpu {

HostBuffer::HostBuffer(size_t n_bytes) : n_bytes_(n_bytes) {
  const size_t rounded = (std::max<size_t>(n_bytes, 64) + 63) / 64 * 64;
  data_ = static_cast<float*>(std::aligned_alloc(64, rounded));
  if (data_ == nullptr) {
    throw Error(ErrorKind::io,
                "cpu backend: cannot allocate " + std::to_string(n_bytes) + " bytes");
  }
  std::memset(data_, 0, rounded);
}

HostBuffer::~HostBuffer() {
  std::free(data_);
}

CpuBackend::CpuBackend(uint32_t n_threads) : pool_(n_threads) {}

bool CpuBackend::supports(Op op, TensorType type) const noexcept {
  switch (op) {
    case Op::get_rows:
    case Op::mul_mat:
    case Op::mul_mat_id:
      return row_kernel(type).has_value();
    case Op::rms_norm:
    case Op::add_bias:
      return type == TensorType::F32;
    case Op::unset:
      return false;
    default:
      return true;
  }
}

std::unique_ptr<Buffer> CpuBackend::alloc(size_t n_bytes) {
  return std::make_unique<HostBuffer>(n_bytes);
}

Weight CpuBackend::bind(const gguf::File& file, const gguf::TensorInfo& tensor) {
  Weight w;
  w.type = tensor.type;
  w.ne = tensor.ne;
  const auto& traits = tensor_type_traits(tensor.type);
  w.row_bytes = static_cast<size_t>(tensor.ne[0]) / traits.block_elems * traits.block_bytes;
  w.host = file.tensor_data(tensor).data();
  return w;
}

void CpuBackend::get_rows(Mat out, const Weight& table, std::span<const int32_t> ids) {
  const auto k = row_kernel(table.type);
  if (!k) {
    throw Error(ErrorKind::unsupported,
                "cpu backend: no row kernel for " + std::string(tensor_type_name(table.type)));
  }
  pool_.parallel_for(ids.size(), 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t t = b; t < e; ++t) {
      k->widen(table.host + static_cast<size_t>(ids[t]) * table.row_bytes,
               row_ptr(out, static_cast<uint32_t>(t)), out.cols);
    }
  });
}

void CpuBackend::rms_norm(Mat out, Mat in, const Weight* w, float eps, uint32_t group) {
  const uint32_t g = group == 0 ? in.cols : group;
  const auto* scale = w != nullptr ? reinterpret_cast<const float*>(w->host) : nullptr;
  pool_.parallel_for(in.rows, 4, [&](size_t b, size_t e, uint32_t) {
    for (size_t r = b; r < e; ++r) {
      const float* x = row_ptr(in, static_cast<uint32_t>(r));
      float* y = row_ptr(out, static_cast<uint32_t>(r));
      for (uint32_t c0 = 0; c0 < in.cols; c0 += g) {
        double ss = 0;
        for (uint32_t i = 0; i < g; ++i) ss += static_cast<double>(x[c0 + i]) * x[c0 + i];
        const float inv = 1.0f / std::sqrt(static_cast<float>(ss / g) + eps);
        for (uint32_t i = 0; i < g; ++i) {
          y[c0 + i] = x[c0 + i] * inv * (scale != nullptr ? scale[i] : 1.0f);
        }
      }
    }
  });
}

void CpuBackend::add_bias(Mat x, const Weight& b, uint32_t matrix) {
  const auto* bias = reinterpret_cast<const float*>(b.host) + static_cast<size_t>(matrix) * x.cols;
  for (uint32_t r = 0; r < x.rows; ++r) {
    float* y = row_ptr(x, r);
    for (uint32_t c = 0; c < x.cols; ++c) y[c] += bias[c];
  }
}

void CpuBackend::add(Mat acc, Mat x, float scale) {
  for (uint32_t r = 0; r < acc.rows; ++r) {
    float* y = row_ptr(acc, r);
    const float* v = row_ptr(x, r);
    for (uint32_t c = 0; c < acc.cols; ++c) y[c] += scale * v[c];
  }
}

void CpuBackend::copy(Mat dst, Mat src) {
  for (uint32_t r = 0; r < dst.rows; ++r) {
    std::memcpy(row_ptr(dst, r), row_ptr(src, r), dst.cols * sizeof(float));
  }
}

void CpuBackend::scale(Mat x, float s) {
  for (uint32_t r = 0; r < x.rows; ++r) {
    float* y = row_ptr(x, r);
    for (uint32_t c = 0; c < x.cols; ++c) y[c] *= s;
  }
}

void CpuBackend::sigmoid_gate(Mat x, Mat gate) {
  for (uint32_t r = 0; r < x.rows; ++r) {
    const float g = 1.0f / (1.0f + std::exp(-row_ptr(gate, r)[0]));
    float* y = row_ptr(x, r);
    for (uint32_t c = 0; c < x.cols; ++c) y[c] *= g;
  }
}

void CpuBackend::swiglu(Mat out, Mat gate, Mat up, GluKind kind) {
  pool_.parallel_for(out.rows, 16, [&](size_t b, size_t e, uint32_t) {
    for (size_t r = b; r < e; ++r) {
      const float* g = row_ptr(gate, static_cast<uint32_t>(r));
      const float* u = row_ptr(up, static_cast<uint32_t>(r));
      float* y = row_ptr(out, static_cast<uint32_t>(r));
      if (kind == GluKind::oai_clamped) {
        for (uint32_t c = 0; c < out.cols; ++c) {
          const float gl = std::min(g[c], 7.0f);
          const float ul = std::clamp(u[c], -7.0f, 7.0f);
          y[c] = gl / (1.0f + std::exp(-1.702f * gl)) * (ul + 1.0f);
        }
      } else {
        for (uint32_t c = 0; c < out.cols; ++c) y[c] = g[c] / (1.0f + std::exp(-g[c])) * u[c];
      }
    }
  });
}

void CpuBackend::moe_sum(Mat out, Mat x, std::span<const float> weights, uint32_t top_k) {
  for (uint32_t t = 0; t < out.rows; ++t) {
    float* y = row_ptr(out, t);
    std::memset(y, 0, out.cols * sizeof(float));
    for (uint32_t r = 0; r < top_k; ++r) {
      const float w = weights[static_cast<size_t>(t) * top_k + r];
      const float* v = row_ptr(x, t * top_k + r);
      for (uint32_t c = 0; c < out.cols; ++c) y[c] += w * v[c];
    }
  }
}

namespace {

/// YaRN's ramp between the interpolated and extrapolated frequencies (ggml's formula).
float yarn_ramp(float low, float high, uint32_t i0) {
  const float y = (static_cast<float>(i0) / 2 - low) / std::max(0.001f, high - low);
  return 1.0f - std::min(1.0f, std::max(0.0f, y));
}

float yarn_corr_dim(uint32_t n_dims, uint32_t n_ctx_orig, float n_rot, float base) {
  return static_cast<float>(n_dims) *
         std::log(static_cast<float>(n_ctx_orig) / (n_rot * 2.0f * static_cast<float>(M_PI))) /
         (2.0f * std::log(base));
}

}  // namespace

void CpuBackend::rope(Mat x, uint32_t n_heads, uint32_t head_stride, uint32_t rot_offset,
                      const RopeParams& p, std::span<const int32_t> pos) {
  const uint32_t half = p.n_rot / 2;
  float corr_lo = 0, corr_hi = 0;
  if (p.ext_factor != 0.0f) {
    corr_lo =
        std::max(0.0f, std::floor(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_fast, p.freq_base)));
    corr_hi = std::min(static_cast<float>(p.n_rot - 1),
                       std::ceil(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_slow, p.freq_base)));
  }
  pool_.parallel_for(x.rows, 4, [&](size_t b, size_t e, uint32_t) {
    for (size_t r = b; r < e; ++r) {
      float* row = row_ptr(x, static_cast<uint32_t>(r));
      for (uint32_t i = 0; i < half; ++i) {
        const auto theta_extrap = static_cast<float>(
            pos[r] * std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot));
        float theta = p.freq_scale * theta_extrap;
        float mscale = p.attn_factor;
        if (p.ext_factor != 0.0f) {
          const float mix = yarn_ramp(corr_lo, corr_hi, 2 * i) * p.ext_factor;
          theta = theta * (1 - mix) + theta_extrap * mix;
          mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
        }
        const float c = std::cos(theta) * mscale, s = std::sin(theta) * mscale;
        const uint32_t a = p.style == RopeStyle::neox ? i : 2 * i;
        const uint32_t bb = p.style == RopeStyle::neox ? i + half : 2 * i + 1;
        for (uint32_t h = 0; h < n_heads; ++h) {
          float* v = row + static_cast<size_t>(h) * head_stride + rot_offset;
          const float x0 = v[a], x1 = v[bb];
          v[a] = x0 * c - x1 * s;
          v[bb] = x0 * s + x1 * c;
        }
      }
    }
  });
}

}  // namespace es::backend::cpu

namespace es::backend {
std::unique_ptr<Backend> make_cpu_backend(uint32_t n_threads) {
  return std::make_unique<cpu::CpuBackend>(n_threads);
}
}  // namespace es::backend
