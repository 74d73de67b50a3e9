// Matrix products: dense (mul_mat) and per-expert (mul_mat_id). Weights are used in place
// from the file mapping, row by row; activations are prepared once per call (quantized to
// 8 bits for quantized weights), so no weight matrix is ever widened as a whole.
//
// One token (decode) takes quant::matvec per block of output rows. Several tokens
// (prefill) take the register-tiled quant::matmul: per block of kGemmRows output rows, all
// tokens at once; mul_mat_id first gathers each expert's activation rows into one dense
// block (expert order), multiplies every expert's block, then scatters the products back
// to their (token, rank) rows. Threads split the output-row blocks (of every expert).
#include <algorithm>
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
/// Output rows of one multi-token product call (a multiple of every kernel's row tile).
constexpr size_t kGemmRows = 64;

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
  if (in.rows > 1) {
    const size_t n_blocks = (n_out + kGemmRows - 1) / kGemmRows;
    pool_.parallel_for(n_blocks, 1, [&](size_t b, size_t e, uint32_t) {
      for (size_t blk = b; blk < e; ++blk) {
        const size_t o0 = blk * kGemmRows, o1 = std::min(n_out, o0 + kGemmRows);
        k.matmul(wbase, w.row_bytes, acts, act_bytes, in.cols, in.rows, row_ptr(out, 0), out.stride,
                 o0, o1);
      }
    });
    return;
  }
  // One token: each chunk of rows is one matvec call (the kernel prepares the activation
  // once per call, so fewer, longer calls are cheaper).
  pool_.parallel_for(n_out, kRowBlock, [&](size_t o0, size_t o1, uint32_t) {
    for (uint32_t t = 0; t < in.rows; ++t) {
      k.matvec(wbase, w.row_bytes, acts + t * act_bytes, in.cols, row_ptr(out, t), o0, o1);
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

  const size_t n_out = out.cols;
  if (n_tokens > 1) return mul_mat_id_batched(out, w, in, k, act_bytes, top_k, broadcast, bias);

  // One token: only the experts it chose, their output rows split evenly over the pool
  // (a chunk may span two experts).
  active_experts_.clear();
  for (uint32_t e = 0; e < n_expert; ++e) {
    if (expert_begin_[e] != expert_begin_[e + 1]) active_experts_.push_back(e);
  }
  const auto* bias_data = bias != nullptr ? reinterpret_cast<const float*>(bias->host) : nullptr;
  pool_.parallel_for(active_experts_.size() * n_out, kRowBlock, [&](size_t b, size_t e, uint32_t) {
    for (size_t pos = b; pos < e;) {
      const uint32_t expert = active_experts_[pos / n_out];
      const size_t o0 = pos % n_out, o1 = std::min(n_out, o0 + (e - pos));
      pos += o1 - o0;
      const uint8_t* wbase = w.host + static_cast<size_t>(expert) * w.matrix_bytes();
      for (uint32_t r = expert_begin_[expert]; r < expert_begin_[expert + 1]; ++r) {
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

void CpuBackend::mul_mat_id_batched(Mat out, const Weight& w, Mat in, const RowKernel& k,
                                    size_t act_bytes, uint32_t top_k, bool broadcast,
                                    const Weight* bias) {
  const auto n_expert = static_cast<uint32_t>(w.ne[2]);
  const size_t n_slots = expert_rows_.size(), n_out = out.cols;
  // Scratch grows to the largest batch once and is reused.
  if (gathered_acts_.size() < n_slots * act_bytes) gathered_acts_.resize(n_slots * act_bytes);
  if (gathered_out_.size() < n_slots * n_out) gathered_out_.resize(n_slots * n_out);
  const uint8_t* acts = act_scratch_.data();
  pool_.parallel_for(n_slots, 16, [&](size_t b, size_t e, uint32_t) {
    for (size_t p = b; p < e; ++p) {
      const uint32_t slot = expert_rows_[p];
      std::memcpy(gathered_acts_.data() + p * act_bytes,
                  acts + (broadcast ? slot / top_k : slot) * act_bytes, act_bytes);
    }
  });

  // Work items: (block of output rows, expert), block-major so that the threads' halves
  // hold the same amount of work whatever the experts' loads; empty experts are skipped.
  const size_t n_blocks = (n_out + kGemmRows - 1) / kGemmRows;
  pool_.parallel_for(n_blocks * n_expert, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t item = b; item < e; ++item) {
      const auto expert = static_cast<uint32_t>(item % n_expert);
      const uint32_t p0 = expert_begin_[expert], p1 = expert_begin_[expert + 1];
      if (p0 == p1) continue;
      const size_t o0 = (item / n_expert) * kGemmRows, o1 = std::min(n_out, o0 + kGemmRows);
      k.matmul(w.host + static_cast<size_t>(expert) * w.matrix_bytes(), w.row_bytes,
               gathered_acts_.data() + p0 * act_bytes, act_bytes, in.cols, p1 - p0,
               gathered_out_.data() + p0 * n_out, n_out, o0, o1);
    }
  });

  // Scatter to the (token, rank) rows, adding the expert's bias.
  const auto* bias_data = bias != nullptr ? reinterpret_cast<const float*>(bias->host) : nullptr;
  pool_.parallel_for(n_expert, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t expert = b; expert < e; ++expert) {
      for (uint32_t p = expert_begin_[expert]; p < expert_begin_[expert + 1]; ++p) {
        float* y = row_ptr(out, expert_rows_[p]);
        const float* src = gathered_out_.data() + static_cast<size_t>(p) * n_out;
        if (bias_data == nullptr) {
          std::memcpy(y, src, n_out * sizeof(float));
        } else {
          const float* bias_row = bias_data + expert * n_out;
          for (size_t o = 0; o < n_out; ++o) y[o] = src[o] + bias_row[o];
        }
      }
    }
  });
}

}  // namespace es::backend::cpu
