// Matrix products: dense (mul_mat) and per-expert (mul_mat_id). Weights are used in place
// from the file mapping, row by row; activations are prepared once per call (quantized to
// 8 bits for quantized weights), so no weight matrix is ever widened as a whole.
#include <cstring>

#include "cpu_backend.h"
#include "expertscope/error.h"

namespace es::backend::cpu {
namespace {

RowKernel kernel_for(const Weight& w) {
  const auto k = row_kernel(w.type);
  if (!k) {
    throw Error(ErrorKind::unsupported, "cpu backend: matrix products with " +
                                            std::string(tensor_type_name(w.type)) +
                                            " weights are not supported yet");
  }
  return *k;
}

/// Output rows handled together: their weights stay in cache while every token passes.
constexpr size_t kRowBlock = 16;

}  // namespace

size_t CpuBackend::prepare_activations(const RowKernel& kernel, Mat in) {
  const size_t row_bytes = (kernel.act_row_bytes(in.cols) + 63) / 64 * 64;
  const size_t need = row_bytes * in.rows;
  if (act_scratch_.size() < need) act_scratch_.resize(need);
  uint8_t* base = act_scratch_.data();
  pool_.parallel_for(in.rows, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t t = b; t < e; ++t) {
      kernel.prepare(row_ptr(in, static_cast<uint32_t>(t)), base + t * row_bytes, in.cols);
    }
  });
  return row_bytes;
}

void CpuBackend::mul_mat(Mat out, const Weight& w, Mat in, uint32_t matrix) {
  const RowKernel k = kernel_for(w);
  const size_t act_bytes = prepare_activations(k, in);
  const uint8_t* acts = act_scratch_.data();
  const uint8_t* wbase = w.host + static_cast<size_t>(matrix) * w.matrix_bytes();
  const size_t n_out = out.cols;
  const size_t n_blocks = (n_out + kRowBlock - 1) / kRowBlock;
  pool_.parallel_for(n_blocks, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t blk = b; blk < e; ++blk) {
      const size_t o0 = blk * kRowBlock, o1 = std::min(n_out, o0 + kRowBlock);
      for (uint32_t t = 0; t < in.rows; ++t) {
        k.matvec(wbase, w.row_bytes, acts + t * act_bytes, in.cols, row_ptr(out, t), o0, o1);
      }
    }
  });
}

void CpuBackend::mul_mat_id(Mat out, const Weight& w, Mat in, std::span<const uint16_t> ids,
                            uint32_t top_k, const Weight* bias) {
  const RowKernel k = kernel_for(w);
  const uint32_t n_tokens = static_cast<uint32_t>(ids.size() / top_k);
  const bool broadcast = in.rows == n_tokens && top_k > 1;
  const size_t act_bytes = prepare_activations(k, in);
  const uint8_t* acts = act_scratch_.data();
  const auto n_expert = static_cast<uint32_t>(w.ne[2]);

  // Group the (token, rank) slots by expert: a counting sort.
  expert_begin_.assign(n_expert + 1, 0);
  for (const uint16_t e : ids) ++expert_begin_[e + 1];
  for (uint32_t e = 0; e < n_expert; ++e) expert_begin_[e + 1] += expert_begin_[e];
  expert_rows_.resize(ids.size());
  {
    thread_local std::vector<uint32_t> fill;
    fill.assign(expert_begin_.begin(), expert_begin_.end() - 1);
    for (uint32_t slot = 0; slot < ids.size(); ++slot) expert_rows_[fill[ids[slot]]++] = slot;
  }

  // Work items: (expert, block of output rows), only for experts that got a token.
  const size_t n_out = out.cols;
  const size_t blocks_per_expert = (n_out + kRowBlock - 1) / kRowBlock;
  const auto* bias_data = bias != nullptr ? reinterpret_cast<const float*>(bias->host) : nullptr;
  pool_.parallel_for(n_expert * blocks_per_expert, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t item = b; item < e; ++item) {
      const auto expert = static_cast<uint32_t>(item / blocks_per_expert);
      const uint32_t r0 = expert_begin_[expert], r1 = expert_begin_[expert + 1];
      if (r0 == r1) continue;  // No token chose this expert.
      const size_t o0 = (item % blocks_per_expert) * kRowBlock;
      const size_t o1 = std::min(n_out, o0 + kRowBlock);
      const uint8_t* wbase = w.host + static_cast<size_t>(expert) * w.matrix_bytes();
      for (uint32_t r = r0; r < r1; ++r) {
        const uint32_t slot = expert_rows_[r];
        const uint8_t* x = acts + (broadcast ? slot / top_k : slot) * act_bytes;
        float* y = row_ptr(out, slot);
        k.matvec(wbase, w.row_bytes, x, in.cols, y, o0, o1);
        if (bias_data != nullptr) {
          for (size_t o = o0; o < o1; ++o) y[o] += bias_data[expert * n_out + o];
        }
      }
    }
  });
}

}  // namespace es::backend::cpu
