// Weight decoding shared by the matrix products and the embedding gather (matmul.comp,
// get_rows.comp): es_decode32(row, u, v) writes values 32u .. 32u + 31 of the weight row
// that starts at byte `row` of binding `w` (uint words) as f32, exactly as engine/quant's
// reference dequantizers compute them (same operations in the same order, `precise` so
// that no multiply-add is fused): get_rows is compared bit for bit with them.
//
// Reads are whole 32-bit words (ES_LOAD_WORDS): the blocks of most types are not 4-byte
// aligned, so the aligned words around a block are read and shifted; no word that holds no
// byte of the block is read. Types: TYPE_F32, TYPE_F16, TYPE_BF16, TYPE_Q4_0, TYPE_Q4_1,
// TYPE_Q5_0, TYPE_Q5_1, TYPE_Q8_0, TYPE_Q2_K, TYPE_Q3_K, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K.
// The including shader declares `w` and the push constant `p.n_in` (values per row).

// NW words holding bytes [at, at + 4 NW) into v[0 .. NW-1]. `at` is even (every block
// size, row size and tensor offset is); bytes beyond at + nbytes are unspecified, and no
// word past the one holding byte at + nbytes - 1 is read. With nbytes a constant, the
// words read are exactly those the bytes span (NMAX: the most bytes, a constant).
#define ES_LOAD_WORDS(v, NW, at, nbytes) ES_LOAD_WORDS_N(v, NW, at, nbytes, nbytes)
#define ES_LOAD_WORDS_N(v, NW, at, nbytes, NMAX)                                 \
  {                                                                             \
    const uint i0_ = (at) >> 2u;                                                \
    const uint last_ = ((at) + (nbytes)-1u) >> 2u;                             \
    const uint sh_ = (at)&2u;                                                   \
    uint prev_ = w[i0_];                                                        \
    [[unroll]] for (uint k_ = 0u; k_ < (NW); ++k_) {                            \
      uint next_ = 0u;                                                          \
      if (4u * (k_ + 1u) < 2u + (NMAX)) next_ = w[min(i0_ + k_ + 1u, last_)];   \
      v[k_] = sh_ == 0u ? prev_ : ((prev_ >> 16u) | (next_ << 16u));           \
      prev_ = next_;                                                            \
    }                                                                           \
  }

// Byte j (a constant) of a word array.
#define ES_WB(v, j) ((v[(j) >> 2] >> (((j)&3) * 8)) & 0xffu)
// Byte j (any value < 12) of three words.
uint es_byte3(uint a0, uint a1, uint a2, uint j) {
  const uint word = j < 4u ? a0 : (j < 8u ? a1 : a2);
  return (word >> ((j & 3u) * 8u)) & 0xffu;
}
float es_half_lo(uint v) { return unpackHalf2x16(v).x; }
float es_half_hi(uint v) { return unpackHalf2x16(v).y; }

#if defined(TYPE_F32)
#define ES_BLOCK_ELEMS 1u
#elif defined(TYPE_F16) || defined(TYPE_BF16)
#define ES_BLOCK_ELEMS 1u
#elif defined(TYPE_Q2_K) || defined(TYPE_Q3_K) || defined(TYPE_Q4_K) || defined(TYPE_Q5_K) || \
    defined(TYPE_Q6_K)
#define ES_BLOCK_ELEMS 256u
#else
#define ES_BLOCK_ELEMS 32u
#endif

// Units of 32 values per row (float types: the last may be partial; its tail decodes to 0).
uint es_units() { return (p.n_in + 31u) / 32u; }

void es_decode32(uint row, uint u, out float v[32]) {
#if defined(TYPE_F32)
  const uint base = (row >> 2) + 32u * u;
  const uint n = p.n_in - 32u * u;  // values left in the row
  [[unroll]] for (uint j = 0u; j < 32u; ++j) {
    v[j] = j < n ? uintBitsToFloat(w[base + min(j, n - 1u)]) : 0.0;
  }
#elif defined(TYPE_F16) || defined(TYPE_BF16)
  const uint n = p.n_in - 32u * u;
  uint a[16];
  ES_LOAD_WORDS_N(a, 16u, row + 64u * u, 2u * min(n, 32u), 64u);
  [[unroll]] for (uint j = 0u; j < 16u; ++j) {
#if defined(TYPE_F16)
    const float lo = es_half_lo(a[j]), hi = es_half_hi(a[j]);
#else
    const float lo = uintBitsToFloat(a[j] << 16), hi = uintBitsToFloat(a[j] & 0xffff0000u);
#endif
    v[2u * j] = 2u * j < n ? lo : 0.0;
    v[2u * j + 1u] = 2u * j + 1u < n ? hi : 0.0;
  }
#elif defined(TYPE_Q4_0)
  uint a[5];
  ES_LOAD_WORDS(a, 5u, row + 18u * u, 18u);
  const float d = es_half_lo(a[0]);
  [[unroll]] for (int j = 0; j < 16; ++j) {
    const uint b = ES_WB(a, 2 + j);
    precise float lo = float(int(b & 15u) - 8) * d;
    precise float hi = float(int(b >> 4u) - 8) * d;
    v[j] = lo;
    v[j + 16] = hi;
  }
#elif defined(TYPE_Q4_1)
  uint a[5];
  ES_LOAD_WORDS(a, 5u, row + 20u * u, 20u);
  const float d = es_half_lo(a[0]), m = es_half_hi(a[0]);
  [[unroll]] for (int j = 0; j < 16; ++j) {
    const uint b = ES_WB(a, 4 + j);
    precise float lo = float(b & 15u) * d + m;
    precise float hi = float(b >> 4u) * d + m;
    v[j] = lo;
    v[j + 16] = hi;
  }
#elif defined(TYPE_Q5_0)
  uint a[6];
  ES_LOAD_WORDS(a, 6u, row + 22u * u, 22u);
  const float d = es_half_lo(a[0]);
  const uint qh = (a[0] >> 16) | (a[1] << 16);
  [[unroll]] for (int j = 0; j < 16; ++j) {
    const uint b = ES_WB(a, 6 + j);
    const uint h0 = ((qh >> j) & 1u) << 4, h1 = ((qh >> (j + 16)) & 1u) << 4;
    precise float lo = float(int((b & 15u) | h0) - 16) * d;
    precise float hi = float(int((b >> 4u) | h1) - 16) * d;
    v[j] = lo;
    v[j + 16] = hi;
  }
#elif defined(TYPE_Q5_1)
  uint a[6];
  ES_LOAD_WORDS(a, 6u, row + 24u * u, 24u);
  const float d = es_half_lo(a[0]), m = es_half_hi(a[0]);
  const uint qh = a[1];
  [[unroll]] for (int j = 0; j < 16; ++j) {
    const uint b = ES_WB(a, 8 + j);
    const uint h0 = ((qh >> j) & 1u) << 4, h1 = ((qh >> (j + 16)) & 1u) << 4;
    precise float lo = float((b & 15u) | h0) * d + m;
    precise float hi = float((b >> 4u) | h1) * d + m;
    v[j] = lo;
    v[j + 16] = hi;
  }
#elif defined(TYPE_Q8_0)
  uint a[9];
  ES_LOAD_WORDS(a, 9u, row + 34u * u, 34u);
  const float d = es_half_lo(a[0]);
  [[unroll]] for (int j = 0; j < 32; ++j) {
    const int q = int(ES_WB(a, 2 + j) << 24) >> 24;
    precise float r = float(q) * d;
    v[j] = r;
  }
#elif defined(TYPE_Q2_K)
  // Unit s of the block: values 128n + 32j + 16h + l, n = s / 4, j = s % 4.
  const uint qb = row + 84u * (u / 8u), s = u % 8u, n = s / 4u, jj = s % 4u;
  uint q[8], sc[1], dd[1];
  ES_LOAD_WORDS(q, 8u, qb + 16u + 32u * n, 32u);
  ES_LOAD_WORDS(sc, 1u, qb + 8u * n + 2u * jj, 2u);
  ES_LOAD_WORDS(dd, 1u, qb + 80u, 4u);
  const float d = es_half_lo(dd[0]), dmin = es_half_hi(dd[0]);
  [[unroll]] for (int l = 0; l < 32; ++l) {
    const uint scale = (sc[0] >> (l < 16 ? 0 : 8)) & 0xffu;
    const uint qv = (ES_WB(q, l) >> (2u * jj)) & 3u;
    precise float r = d * float(scale & 15u) * float(qv) - dmin * float(scale >> 4u);
    v[l] = r;
  }
#elif defined(TYPE_Q3_K)
  const uint qb = row + 110u * (u / 8u), s = u % 8u, n = s / 4u, jj = s % 4u;
  uint hm[8], q[8], sp[3], dd[1];
  ES_LOAD_WORDS(hm, 8u, qb, 32u);
  ES_LOAD_WORDS(q, 8u, qb + 32u + 32u * n, 32u);
  ES_LOAD_WORDS(sp, 3u, qb + 96u, 12u);
  ES_LOAD_WORDS(dd, 1u, qb + 108u, 2u);
  const float d = es_half_lo(dd[0]);
  float scl[2];
  [[unroll]] for (uint h = 0u; h < 2u; ++h) {
    const uint i = 8u * n + 2u * jj + h;  // the scale's index, 0..15
    const uint low = i < 8u ? es_byte3(sp[0], sp[1], sp[2], i) & 15u
                            : es_byte3(sp[0], sp[1], sp[2], i - 8u) >> 4u;
    const uint high = (es_byte3(sp[0], sp[1], sp[2], 8u + i % 4u) >> (2u * (i / 4u))) & 3u;
    scl[h] = float(int(low | (high << 4u)) - 32);
  }
  [[unroll]] for (int l = 0; l < 32; ++l) {
    const uint low = (ES_WB(q, l) >> (2u * jj)) & 3u;
    const uint high = (ES_WB(hm, l) >> (4u * n + jj)) & 1u;
    const int qv = int(low) - (high != 0u ? 0 : 4);
    precise float r = d * scl[l / 16] * float(qv);
    v[l] = r;
  }
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
#if defined(TYPE_Q4_K)
  const uint bb = 144u, qs_at = 16u;
#else
  const uint bb = 176u, qs_at = 48u;
#endif
  const uint qb = row + bb * (u / 8u), s = u % 8u;
  uint dd[1], sp[3], q[8];
  ES_LOAD_WORDS(dd, 1u, qb, 4u);
  ES_LOAD_WORDS(sp, 3u, qb + 4u, 12u);
  ES_LOAD_WORDS(q, 8u, qb + qs_at + 32u * (s / 2u), 32u);
#if defined(TYPE_Q5_K)
  uint qh[8];
  ES_LOAD_WORDS(qh, 8u, qb + 16u, 32u);
#endif
  uint sc, m;
  if (s < 4u) {
    sc = es_byte3(sp[0], sp[1], sp[2], s) & 63u;
    m = es_byte3(sp[0], sp[1], sp[2], s + 4u) & 63u;
  } else {
    sc = (es_byte3(sp[0], sp[1], sp[2], s + 4u) & 15u) |
         ((es_byte3(sp[0], sp[1], sp[2], s - 4u) >> 6u) << 4u);
    m = (es_byte3(sp[0], sp[1], sp[2], s + 4u) >> 4u) |
        ((es_byte3(sp[0], sp[1], sp[2], s) >> 6u) << 4u);
  }
  const float d = es_half_lo(dd[0]), dmin = es_half_hi(dd[0]);
  precise float dl = d * float(sc);
  precise float ml = dmin * float(m);
  const uint shift = 4u * (s % 2u);
  [[unroll]] for (int l = 0; l < 32; ++l) {
    uint qv = (ES_WB(q, l) >> shift) & 15u;
#if defined(TYPE_Q5_K)
    qv |= ((ES_WB(qh, l) >> s) & 1u) << 4u;
#endif
    precise float r = dl * float(qv) - ml;
    v[l] = r;
  }
#elif defined(TYPE_Q6_K)
  const uint qb = row + 210u * (u / 8u), s = u % 8u, n = s / 4u, k = s % 4u;
  uint ql[8], qh[8], sc[1], dd[1];
  ES_LOAD_WORDS(ql, 8u, qb + 64u * n + 32u * (k & 1u), 32u);
  ES_LOAD_WORDS(qh, 8u, qb + 128u + 32u * n, 32u);
  ES_LOAD_WORDS(sc, 1u, qb + 192u + 8u * n + 2u * k, 2u);
  ES_LOAD_WORDS(dd, 1u, qb + 208u, 2u);
  const float d = es_half_lo(dd[0]);
  const float s0 = float(int(sc[0] << 24) >> 24), s1 = float(int(sc[0] << 16) >> 24);
  const uint lshift = 4u * (k / 2u);
  [[unroll]] for (int l = 0; l < 32; ++l) {
    const uint low = (ES_WB(ql, l) >> lshift) & 15u;
    const uint high = (ES_WB(qh, l) >> (2u * k)) & 3u;
    const int qv = int(low | (high << 4u)) - 32;
    precise float r = d * (l < 16 ? s0 : s1) * float(qv);
    v[l] = r;
  }
#else
#error "define a TYPE_"
#endif
}

