// Helpers the compute shaders share: reading bytes, halves and int8s out of uint-typed
// storage buffers (ggml blocks are byte-packed and not 4-byte aligned).

// Byte `i` of a buffer seen as uint words (little-endian).
#define ES_BYTE(buf, i) ((buf[(i) >> 2] >> (((i) & 3u) * 8u)) & 0xffu)

// The IEEE half at byte offset `i` (2-byte aligned) as a float.
#define ES_HALF(buf, i) unpackHalf2x16(ES_BYTE(buf, i) | (ES_BYTE(buf, (i) + 1u) << 8u)).x

// The signed byte at offset `i`.
#define ES_INT8(buf, i) (int(ES_BYTE(buf, i) << 24u) >> 24)
