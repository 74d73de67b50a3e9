// Reference quantizers of the K-quants Q2_K ... Q6_K.
//
// Same block layouts as ggml's quantize_row_*_ref, with a simpler scale search: each
// sub-block's scale (and min) comes from a least-squares fit over a few candidate grid
// spacings (fit_symmetric / fit_affine), the super-block then quantizes those scales, and
// the values are re-rounded with the scales as stored. Unweighted: it minimises the plain
// squared error, where ggml weights by |x|. Good enough for fixtures and tests; not
// byte-identical to llama.cpp's files.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/ref.h"

namespace es::quant::ref {
namespace {

/// x ~ s * L with L in [-nmax, nmax - 1]; returns s (negative when the value of largest
/// magnitude is positive, so that it lands on -nmax, the level with no mirror).
float fit_symmetric(const float* x, int n, int nmax, int8_t* L) {
  float max = 0.f, amax = 0.f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  float best_err = FLT_MAX, best_scale = 0.f;
  int8_t trial[32];
  for (int step = -9; step <= 9; ++step) {
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    double sum_xl = 0, sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      trial[i] = static_cast<int8_t>(std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      sum_xl += static_cast<double>(x[i]) * trial[i];
      sum_l2 += static_cast<double>(trial[i]) * trial[i];
    }
    if (sum_l2 <= 0) continue;
    const float scale = static_cast<float>(sum_xl / sum_l2);
    float err = 0.f;
    for (int i = 0; i < n; ++i) err += (x[i] - scale * trial[i]) * (x[i] - scale * trial[i]);
    if (err < best_err) {
      best_err = err;
      best_scale = scale;
      std::copy(trial, trial + n, L);
    }
  }
  return best_scale;
}

/// x ~ s * L - m with L in [0, nmax], s >= 0 and m >= 0; returns s and sets *m.
float fit_affine(const float* x, int n, int nmax, float* m) {
  float min = *std::min_element(x, x + n);
  const float max = *std::max_element(x, x + n);
  min = std::min(min, 0.f);
  if (max <= min) {
    *m = -min;
    return 0.f;
  }
  float best_err = FLT_MAX, best_scale = static_cast<float>(max - min) / nmax, best_min = min;
  for (int step = 0; step <= 20; ++step) {
    const float iscale = (static_cast<float>(nmax) - 1.f + 0.1f * step) / (max - min);
    double sum_l = 0, sum_l2 = 0, sum_xl = 0, sum_x = 0;
    int trial[32];
    for (int i = 0; i < n; ++i) {
      trial[i] = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      sum_l += trial[i];
      sum_l2 += static_cast<double>(trial[i]) * trial[i];
      sum_xl += static_cast<double>(x[i]) * trial[i];
      sum_x += x[i];
    }
    const double det = n * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    double scale = (n * sum_xl - sum_x * sum_l) / det;
    double offset = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (offset > 0) {  // Mins are stored as non-negative amounts to subtract.
      offset = 0;
      scale = sum_xl / sum_l2;
    }
    if (scale < 0) continue;
    float err = 0.f;
    for (int i = 0; i < n; ++i) {
      const float diff = static_cast<float>(scale * trial[i] + offset) - x[i];
      err += diff * diff;
    }
    if (err < best_err) {
      best_err = err;
      best_scale = static_cast<float>(scale);
      best_min = static_cast<float>(offset);
    }
  }
  *m = -best_min;
  return best_scale;
}

/// Quantizes non-negative per-sub-block values to integers in [0, levels] against their
/// maximum; returns the fp16 super-block step, as stored.
uint16_t quantize_steps(const float* v, int count, int levels, uint8_t* out) {
  const float max = *std::max_element(v, v + count);
  const uint16_t step = float_to_half(max > 0.f ? max / static_cast<float>(levels) : 0.f);
  const float stored = half_to_float(step);
  for (int j = 0; j < count; ++j) {
    out[j] =
        static_cast<uint8_t>(stored > 0.f ? std::clamp(nearest_int(v[j] / stored), 0, levels) : 0);
  }
  return step;
}

/// Pack Q4_K / Q5_K's eight 6-bit scales and mins into 12 bytes (inverse of scale_min_k4).
void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = ls[j];
      q[j + 4] = lm[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

/// Shared by Q4_K and Q5_K: fits the 8 sub-blocks of one super-block, stores d, dmin and
/// the scales, and writes the 0..nmax level of each value to L.
void fit_k4_superblock(const float* x, int nmax, uint16_t* d, uint16_t* dmin, uint8_t* scales,
                       uint8_t* L) {
  float sub_scale[8], sub_min[8];
  for (int j = 0; j < 8; ++j) sub_scale[j] = fit_affine(x + 32 * j, 32, nmax, &sub_min[j]);
  uint8_t ls[8], lm[8];
  *d = quantize_steps(sub_scale, 8, 63, ls);
  *dmin = quantize_steps(sub_min, 8, 63, lm);
  pack_scale_min_k4(ls, lm, scales);
  const float df = half_to_float(*d), mf = half_to_float(*dmin);
  for (int j = 0; j < 8; ++j) {
    const float dl = df * ls[j], ml = mf * lm[j];
    for (int l = 0; l < 32; ++l) {
      const int q = dl > 0.f ? nearest_int((x[32 * j + l] + ml) / dl) : 0;
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, nmax));
    }
  }
}

template <typename Block>
void store_block(void* dst, int64_t i, const Block& b) {
  std::memcpy(static_cast<uint8_t*>(dst) + i * static_cast<int64_t>(sizeof(Block)), &b,
              sizeof(Block));
}

/// Q2_K / Q3_K share the 2-bit packing: value 128n + 32j + r goes to bits 2j of qs[32n + r].
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int n = 0; n < 2; ++n) {
    for (int r = 0; r < 32; ++r) {
      const uint8_t* v = L + 128 * n + r;
      qs[32 * n + r] = static_cast<uint8_t>(v[0] | (v[32] << 2) | (v[64] << 4) | (v[96] << 6));
    }
  }
}

}  // namespace

void quant_q2_k(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    float sub_scale[16], sub_min[16];
    for (int j = 0; j < 16; ++j) sub_scale[j] = fit_affine(x + 16 * j, 16, 3, &sub_min[j]);
    BlockQ2_K b{};
    uint8_t ls[16], lm[16];
    b.d = quantize_steps(sub_scale, 16, 15, ls);
    b.dmin = quantize_steps(sub_min, 16, 15, lm);
    const float df = half_to_float(b.d), mf = half_to_float(b.dmin);
    uint8_t L[kQK_K];
    for (int j = 0; j < 16; ++j) {
      b.scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
      const float dl = df * ls[j], ml = mf * lm[j];
      for (int l = 0; l < 16; ++l) {
        const int q = dl > 0.f ? nearest_int((x[16 * j + l] + ml) / dl) : 0;
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, 3));
      }
    }
    pack_2bit(L, b.qs);
    store_block(dst, i, b);
  }
}

void quant_q3_k(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    int8_t trial[16];
    float sub_scale[16];
    float max_scale = 0.f;
    for (int j = 0; j < 16; ++j) {
      sub_scale[j] = fit_symmetric(x + 16 * j, 16, 4, trial);
      if (std::fabs(sub_scale[j]) > std::fabs(max_scale)) max_scale = sub_scale[j];
    }
    BlockQ3_K b{};
    int8_t sc[16] = {};
    if (max_scale != 0.f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        sc[j] = static_cast<int8_t>(std::clamp(nearest_int(iscale * sub_scale[j]), -32, 31));
        const int l = sc[j] + 32;
        if (j < 8) {
          b.scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          b.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        b.scales[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      b.d = float_to_half(1 / iscale);
    }
    const float df = half_to_float(b.d);
    uint8_t L[kQK_K];
    for (int v = 0; v < kQK_K; ++v) {
      const float dl = df * sc[v / 16];
      const int q = dl != 0.f ? std::clamp(nearest_int(x[v] / dl), -4, 3) : 0;
      L[v] = static_cast<uint8_t>(q + 4);
    }
    // The high bit of value 128n + 32j + r goes to bit 4n + j of hmask[r].
    for (int v = 0; v < kQK_K; ++v) {
      if (L[v] > 3) {
        b.hmask[v % 32] |= static_cast<uint8_t>(1u << (v / 32));
        L[v] -= 4;
      }
    }
    pack_2bit(L, b.qs);
    store_block(dst, i, b);
  }
}

void quant_q4_k(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockQ4_K b{};
    uint8_t L[kQK_K];
    fit_k4_superblock(src + i * kQK_K, 15, &b.d, &b.dmin, b.scales, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        b.qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
      }
    }
    store_block(dst, i, b);
  }
}

void quant_q5_k(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockQ5_K b{};
    uint8_t L[kQK_K];
    fit_k4_superblock(src + i * kQK_K, 31, &b.d, &b.dmin, b.scales, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        b.qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        b.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
    store_block(dst, i, b);
  }
}

void quant_q6_k(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    int8_t trial[16];
    float sub_scale[16];
    float max_scale = 0.f;
    for (int j = 0; j < 16; ++j) {
      sub_scale[j] = fit_symmetric(x + 16 * j, 16, 32, trial);
      if (std::fabs(sub_scale[j]) > std::fabs(max_scale)) max_scale = sub_scale[j];
    }
    BlockQ6_K b{};
    if (max_scale != 0.f) {
      const float iscale = -128.f / max_scale;
      b.d = float_to_half(1 / iscale);
      for (int j = 0; j < 16; ++j) {
        b.scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * sub_scale[j])));
      }
    }
    const float df = half_to_float(b.d);
    uint8_t L[kQK_K];
    for (int v = 0; v < kQK_K; ++v) {
      const float dl = df * b.scales[v / 16];
      const int q = dl != 0.f ? std::clamp(nearest_int(x[v] / dl), -32, 31) : 0;
      L[v] = static_cast<uint8_t>(q + 32);
    }
    for (int n128 = 0; n128 < 2; ++n128) {
      const uint8_t* v = L + 128 * n128;
      for (int l = 0; l < 32; ++l) {
        b.ql[64 * n128 + l] = static_cast<uint8_t>((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
        b.ql[64 * n128 + 32 + l] =
            static_cast<uint8_t>((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
        b.qh[32 * n128 + l] =
            static_cast<uint8_t>((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) |
                                 ((v[l + 96] >> 4) << 6));
      }
    }
    store_block(dst, i, b);
  }
}

}  // namespace es::quant::ref
