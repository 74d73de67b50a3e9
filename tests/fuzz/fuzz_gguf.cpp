// libFuzzer target for the GGUF reader: any bytes must give a valid File or an es::Error,
// never a crash, an out-of-bounds read or an outsized allocation (run with
// -malloc_limit_mb to catch the latter).
#include <cstddef>
#include <cstdint>

#include "expertscope/error.h"
#include "expertscope/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = es::gguf::File::from_memory({data, size}, "fuzz.gguf");
    size_t sum = 0;
    for (const auto& kv : f.metadata()) {
      const auto v = kv.value.to_value();
      sum += static_cast<size_t>(v.type());
      (void)f.get_string(kv.key).has_value();
    }
    for (const auto& t : f.tensors()) {
      const auto bytes = f.tensor_data(t);
      if (!bytes.empty()) sum += bytes.front() + bytes.back();
      if (f.find_tensor(t.name) != &t) __builtin_trap();
    }
    return sum == 0xdeadbeef ? 1 : 0;
  } catch (const es::Error&) {
    return 0;
  }
}
