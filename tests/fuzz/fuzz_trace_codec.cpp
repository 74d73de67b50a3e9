// libFuzzer target for the stored routing-trace decoder (engine/store/trace_codec.h). The
// input is the uncompressed payload: the harness wraps it in a zstd frame first, so the
// fuzzer explores the payload parser instead of zstd's checksum. Any bytes must decode to
// a valid trace or give an es::Error, never a crash or an outsized allocation.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "expertscope/error.h"
#include "store/trace_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame(ZSTD_compressBound(size));
  const size_t n = ZSTD_compress(frame.data(), frame.size(), data, size, 1);
  if (ZSTD_isError(n)) return 0;
  frame.resize(n);
  try {
    const auto d = es::store_detail::decode_trace(frame, 1, "fuzz");
    // What decodes must encode and decode to itself.
    const auto again = es::store_detail::decode_trace(
        es::store_detail::encode_trace(d.trace, d.token_texts), 1, "fuzz");
    if (again.trace.serialize() != d.trace.serialize()) __builtin_trap();
  } catch (const es::Error&) {
  }
  return 0;
}
