// Unicode normalisation (utf8proc) of text segments before pre-tokenization.
#include <utf8proc.h>

#include <cstdlib>

#include "vocab.h"

namespace es::detail {

bool normalize_text(Normalization form, std::string_view text, std::string& out) {
  if (form != Normalization::nfc && form != Normalization::nfkc) return false;
  // Code points below U+0300 are NFC-stable and never combine with what precedes them;
  // their lead bytes are below 0xCC. NFKC also maps Latin-1 (U+00A0, ª, ...): ASCII only.
  const unsigned limit = form == Normalization::nfc ? 0xCC : 0x80;
  bool trivial = true;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= limit) {
      trivial = false;
      break;
    }
  }
  if (trivial) return false;
  int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (form == Normalization::nfkc) options |= UTF8PROC_COMPAT;
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &result,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    std::free(result);
    return false;  // Not valid UTF-8 (the caller repairs input first): leave it as it is.
  }
  out.assign(reinterpret_cast<const char*>(result), static_cast<size_t>(n));
  std::free(result);
  return true;
}

}  // namespace es::detail
