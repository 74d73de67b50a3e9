// RoPE in place (normal: pairs (2i, 2i+1); NeoX: pairs (i, i + n_rot/2)), plain, linear or
// YaRN, as the CPU backend computes it. One invocation per (pair i, row); it rotates that
// pair in every head of the row.
//
// The angle must equal the CPU's float(pos * double(base^(-2i/n_rot))) without float64 on
// the device: the host stages each inverse frequency as a + b + c (a and b with 12
// significant bits, c a float), the position is split into two 12-bit halves, so the
// four products with a and b are exact and their leading sum is error-free (TwoSum); the
// angle is then rounded once, as the CPU rounds the double product. cos and sin are our
// own (Cody-Waite reduction by pi/2 in exact pieces, minimax polynomials on [-pi/4, pi/4]):
// the built-ins are only specified to 2^-11 on [-pi, pi] and positions reach 10^5 rad.
#version 450

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
// Per pair i: a, b, c (the inverse frequency) and the YaRN mix (0 without YaRN).
layout(std430, binding = 2) readonly buffer Dims { vec4 dims[]; };

layout(push_constant) uniform Params {
  uint rows;
  uint half_rot;  // n_rot / 2
  uint n_heads;
  uint head_stride;
  uint rot_offset;
  uint off_x;
  uint stride_x;
  uint off_pos;  // the positions follow the pairs' constants in one staged buffer
  uint neox;
  uint yarn;
  float freq_scale;
  float mscale;  // attn_factor, times YaRN's magnitude correction
} p;

// The angle pos * inv_freq rounded once to float (pos >= 0, < 2^24).
float angle(uint ps, vec4 d) {
  const uint p2u = ps & 0xfffu;
  const float p1 = float(ps - p2u), p2 = float(p2u);
  precise float t1 = p1 * d.x;  // exact: 12 x 12 significant bits
  precise float t2 = p2 * d.x;
  precise float s = t1 + t2;  // TwoSum: s + e == t1 + t2 exactly
  precise float bb = s - t1;
  precise float e = (t1 - (s - bb)) + (t2 - bb);
  precise float rest = ((float(ps) * d.z + p2 * d.y) + e) + p1 * d.y;
  precise float r = s + rest;
  return r;
}

// sin and cos of x (|x| < ~10^6): x = k pi/2 + r, r in [-pi/4, pi/4].
vec2 sincos_(float xin) {
  precise float kf = floor(xin * 0.63661977236758134 + 0.5);
  const int ki = int(kf);
  const uint ku = uint(abs(ki));
  const float k2 = float(ku & 0xfffu) * sign(kf);
  const float k1 = kf - k2;
  // pi/2 = P1 + P2 + P3 (12 significant bits each: k1 * Pj and k2 * Pj are exact) + P4.
  const float P1 = 1.5703125;
  const float P2 = 0.0004837512969970703;
  const float P3 = 7.549533620476723e-08;
  const float P4 = 2.5632829192545614e-12;
  precise float r = xin - k1 * P1;
  r = r - k2 * P1;
  r = r - k1 * P2;
  r = r - k2 * P2;
  r = r - k1 * P3;
  r = r - k2 * P3;
  r = r - kf * P4;
  precise float z = r * r;
  precise float sn = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  precise float cs =
      (((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z -
       0.5 * z) +
      1.0;
  switch (ki & 3) {
    case 0:
      return vec2(sn, cs);
    case 1:
      return vec2(cs, -sn);
    case 2:
      return vec2(-sn, -cs);
    default:
      return vec2(-cs, sn);
  }
}

void main() {
  const uint i = gl_GlobalInvocationID.x;
  const uint r = gl_GlobalInvocationID.y;
  if (i >= p.half_rot || r >= p.rows) return;
  const int ps = pos[p.off_pos + r];
  const vec4 d = dims[i];
  // theta(-pos) == -theta(pos) exactly, so negative positions reuse the same path.
  const float mag = angle(uint(abs(ps)), d);
  precise float theta_extrap = ps < 0 ? -mag : mag;
  precise float theta = p.freq_scale * theta_extrap;
  if (p.yarn != 0u) theta = theta * (1.0 - d.w) + theta_extrap * d.w;
  const vec2 sc = sincos_(theta);
  precise float c = sc.y * p.mscale;
  precise float s = sc.x * p.mscale;
  const uint a = p.neox != 0u ? i : 2u * i;
  const uint b = p.neox != 0u ? i + p.half_rot : 2u * i + 1u;
  const uint row = p.off_x + r * p.stride_x + p.rot_offset;
  for (uint h = 0u; h < p.n_heads; ++h) {
    const uint base = row + h * p.head_stride;
    const float x0 = x[base + a], x1 = x[base + b];
    precise float y0 = x0 * c - x1 * s;
    precise float y1 = x0 * s + x1 * c;
    x[base + a] = y0;
    x[base + b] = y1;
  }
}
