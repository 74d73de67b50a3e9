// libFuzzer target for the safetensors header parser (the first thing `convert` reads of
// a checkpoint): any bytes must give a valid Header or an es::Error, never a crash, an
// out-of-bounds read or an outsized allocation (run with -malloc_limit_mb), and a Header
// must keep its promises: every tensor inside the data section, sized by its shape and
// dtype, sorted, no two overlapping.
#include <cstddef>
#include <cstdint>

#include "expertscope/error.h"
#include "expertscope/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto h = es::safetensors::parse_header({data, size}, "fuzz.safetensors");
    if (h.data_offset < 8 || h.data_offset > size) __builtin_trap();
    const uint64_t data_bytes = size - h.data_offset;
    uint64_t prev_end = 0;
    for (const auto& t : h.tensors) {
      if (t.begin > t.end || t.end > data_bytes) __builtin_trap();
      if (t.n_elements() * es::safetensors::dtype_bytes(t.dtype) != t.end - t.begin) {
        __builtin_trap();
      }
      if (t.begin != t.end) {
        if (t.begin < prev_end) __builtin_trap();
        prev_end = t.end;
      }
      // Touch the first and last byte the tensor claims.
      if (t.end > t.begin) {
        volatile uint8_t b = data[h.data_offset + t.begin] ^ data[h.data_offset + t.end - 1];
        (void)b;
      }
    }
    return 0;
  } catch (const es::Error&) {
    return 0;
  }
}
