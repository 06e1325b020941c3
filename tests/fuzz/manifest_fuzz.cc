// Parsing arbitrary bytes as a snapshot manifest must never crash: it yields
// a manifest or kDataLoss / kUnsupportedVersion. A parsed manifest must
// encode and parse again to the same entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "repo/manifest_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = vecsafe::repo::ParseManifestJson(in, "0123456789abcdef");
  if (!m.ok()) {
    auto code = m.status().code();
    if (code != vecsafe::ErrorCode::kDataLoss && code != vecsafe::ErrorCode::kUnsupportedVersion) {
      std::abort();
    }
    return 0;
  }
  auto again = vecsafe::repo::ParseManifestJson(vecsafe::repo::EncodeManifestJson(*m), m->id);
  if (!again.ok() || again->entries.size() != m->entries.size()) std::abort();
  for (size_t i = 0; i < m->entries.size(); ++i) {
    if (again->entries[i].path != m->entries[i].path ||
        again->entries[i].chunks != m->entries[i].chunks) {
      std::abort();
    }
  }
  return 0;
}
