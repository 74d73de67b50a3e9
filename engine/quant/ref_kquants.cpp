// Reference dequantizers of the K-quants Q2_K ... Q6_K and the Q8_K activation format,
// value for value as ggml's dequantize_row_*; and the Q8_K quantizer (ggml's
// quantize_row_q8_K_ref, rounding included). The weight quantizers are in
// ref_kquants_fit.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/ref.h"

namespace es::quant::ref {
namespace {

template <typename Block>
Block load_block(const void* src, int64_t i) {
  Block b;
  std::memcpy(&b, static_cast<const uint8_t*>(src) + i * static_cast<int64_t>(sizeof(Block)),
              sizeof(Block));
  return b;
}

}  // namespace

void dequant_q2_k(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const auto b = load_block<BlockQ2_K>(src, i);
    const float d = half_to_float(b.d);
    const float dmin = half_to_float(b.dmin);
    float* y = dst + i * kQK_K;
    // Value 128n + 32j + 16h + l sits in bits 2j..2j+1 of qs[32n + 16h + l]; its
    // sub-block is 8n + 2j + h.
    for (int v = 0; v < kQK_K; ++v) {
      const int n128 = v / 128, j = (v % 128) / 32, h = (v % 32) / 16, l = v % 16;
      const int q = (b.qs[32 * n128 + 16 * h + l] >> (2 * j)) & 3;
      const uint8_t sc = b.scales[8 * n128 + 2 * j + h];
      y[v] = d * static_cast<float>(sc & 0xF) * static_cast<float>(q) -
             dmin * static_cast<float>(sc >> 4);
    }
  }
}

void dequant_q3_k(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const auto b = load_block<BlockQ3_K>(src, i);
    const float d = half_to_float(b.d);
    int8_t scales[16];
    unpack_q3_k_scales(b.scales, scales);
    float* y = dst + i * kQK_K;
    // Low bits as Q2_K; the high bit of value 128n + 32j + r is bit 4n + j of hmask[r].
    for (int v = 0; v < kQK_K; ++v) {
      const int n128 = v / 128, j = (v % 128) / 32, h = (v % 32) / 16, l = v % 16;
      const int low = (b.qs[32 * n128 + 16 * h + l] >> (2 * j)) & 3;
      const bool high = (b.hmask[16 * h + l] >> (4 * n128 + j)) & 1;
      const int q = low - (high ? 0 : 4);
      y[v] = d * static_cast<float>(scales[8 * n128 + 2 * j + h]) * static_cast<float>(q);
    }
  }
}

void dequant_q4_k(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const auto b = load_block<BlockQ4_K>(src, i);
    const float d = half_to_float(b.d);
    const float dmin = half_to_float(b.dmin);
    float* y = dst + i * kQK_K;
    // Sub-block 2c holds the low nibbles of qs[32c..32c+31], sub-block 2c+1 the high ones.
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, m;
      scale_min_k4(s, b.scales, &sc, &m);
      const float dl = d * sc, ml = dmin * m;
      const uint8_t* q = b.qs + 32 * (s / 2);
      const int shift = 4 * (s % 2);
      for (int l = 0; l < 32; ++l) {
        y[32 * s + l] = dl * static_cast<float>((q[l] >> shift) & 0xF) - ml;
      }
    }
  }
}

void dequant_q5_k(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const auto b = load_block<BlockQ5_K>(src, i);
    const float d = half_to_float(b.d);
    const float dmin = half_to_float(b.dmin);
    float* y = dst + i * kQK_K;
    // As Q4_K; the fifth bit of value 32s + l is bit s of qh[l].
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, m;
      scale_min_k4(s, b.scales, &sc, &m);
      const float dl = d * sc, ml = dmin * m;
      const uint8_t* q = b.qs + 32 * (s / 2);
      const int shift = 4 * (s % 2);
      for (int l = 0; l < 32; ++l) {
        const int q5 = ((q[l] >> shift) & 0xF) | (((b.qh[l] >> s) & 1) << 4);
        y[32 * s + l] = dl * static_cast<float>(q5) - ml;
      }
    }
  }
}

void dequant_q6_k(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const auto b = load_block<BlockQ6_K>(src, i);
    const float d = half_to_float(b.d);
    float* y = dst + i * kQK_K;
    // Value 128n + 32k + l (k = 0..3): low nibble of ql[64n + 32(k&1) + l] (k < 2) or its
    // high nibble (k >= 2), top bits 2k..2k+1 of qh[32n + l]; sub-block 8n + 2k + l/16.
    for (int v = 0; v < kQK_K; ++v) {
      const int n128 = v / 128, k = (v % 128) / 32, l = v % 32;
      const int low = (b.ql[64 * n128 + 32 * (k & 1) + l] >> (4 * (k / 2))) & 0xF;
      const int high = (b.qh[32 * n128 + l] >> (2 * k)) & 3;
      const int q = (low | (high << 4)) - 32;
      y[v] = d * static_cast<float>(b.scales[8 * n128 + 2 * k + l / 16]) * static_cast<float>(q);
    }
  }
}

void dequant_q8_k(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const auto b = load_block<BlockQ8_K>(src, i);
    for (int j = 0; j < kQK_K; ++j) dst[i * kQK_K + j] = b.d * static_cast<float>(b.qs[j]);
  }
}

void quant_q8_k(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    float max = 0.f, amax = 0.f;
    for (int j = 0; j < kQK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    BlockQ8_K b{};
    if (amax != 0.f) {
      const float iscale = -127.f / max;
      for (int j = 0; j < kQK_K; ++j) {
        b.qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
      }
      for (int j = 0; j < kQK_K / 16; ++j) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += b.qs[16 * j + l];
        b.bsums[j] = static_cast<int16_t>(sum);
      }
      b.d = 1 / iscale;
    }
    std::memcpy(static_cast<uint8_t*>(dst) + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
  }
}

}  // namespace es::quant::ref
