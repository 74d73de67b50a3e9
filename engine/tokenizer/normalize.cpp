// Unicode normalisation (utf8proc) of text segments before pre-tokenization.
#include <utf8proc.h>

#include <cstdlib>

#include "utf8.h"
#include "vocab.h"

namespace es::detail {
namespace {

/// True if the character may change under normalisation or change its neighbour: it has
/// a combining class, a decomposition (canonical for NFC, any for NFKC), or can be the
/// second character of a canonical composition (Hangul vowels and trailing consonants,
/// some Indic vowel signs). False answers are exact; true ones may be conservative.
bool may_change(uint32_t cp, bool compat) {
  if (cp < 0x300) return false;  // NFC-stable and never the second of a composition.
  if ((cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2)) return true;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  if (p->combining_class != 0) return true;
  if (p->decomp_seqindex != UINT16_MAX && (compat || p->decomp_type == 0)) return true;
#if UTF8PROC_VERSION_MAJOR > 2 || (UTF8PROC_VERSION_MAJOR == 2 && UTF8PROC_VERSION_MINOR >= 7)
  // From 2.7 on, second characters of compositions have comb_index >= 0x8000.
  return p->comb_index != UINT16_MAX && p->comb_index >= 0x8000;
#else
  return p->comb_index != UINT16_MAX;
#endif
}

/// True if normalising `text` (valid UTF-8) cannot change it.
bool already_normal(std::string_view text, bool compat) {
  const unsigned limit = compat ? 0x80 : 0xCC;  // NFKC maps Latin-1 too (U+00A0, ª, ...).
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < limit) {
      ++i;
      continue;
    }
    if (compat && static_cast<unsigned char>(text[i]) < 0xCC) return false;
    if (may_change(utf8_next(text, i), compat)) return false;
  }
  return true;
}

}  // namespace

bool normalize_text(Normalization form, std::string_view text, std::string& out) {
  if (form != Normalization::nfc && form != Normalization::nfkc) return false;
  const bool compat = form == Normalization::nfkc;
  if (already_normal(text, compat)) return false;
  int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (compat) options |= UTF8PROC_COMPAT;
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
