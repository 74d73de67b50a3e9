// libFuzzer target for the JSON import (es::transcript::from_json): any text must give a
// session or an es::Error, never a crash; a session read must export to JSON that reads
// back to the same session.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "expertscope/error.h"
#include "expertscope/transcript.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const es::Session s = es::transcript::from_json(text, "fuzz.json");
    const es::Session again = es::transcript::from_json(es::transcript::to_json(s), "again");
    if (!es::same_session(s, again)) __builtin_trap();
  } catch (const es::Error&) {
  }
  return 0;
}
