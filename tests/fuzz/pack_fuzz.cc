// Parsing arbitrary bytes as the end of a pack (trailer + header) must never
// crash, with or without a key; every blob a parsed header lists must lie
// inside the pack.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "repo/pack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vecsafe::repo;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const std::optional<Key256>& key :
       {std::optional<Key256>(), std::optional<Key256>(Key256{})}) {
    auto entries = ParsePackSuffix(in, size, key);
    if (!entries.ok()) {
      if (entries.status().code() != vecsafe::ErrorCode::kDataLoss) std::abort();
      continue;
    }
    for (const auto& e : *entries) {
      if (e.offset + e.length > size) std::abort();
    }
  }
  auto header = ParsePackHeader(in, size);
  if (header.ok() && EncodePackHeader(*header) != in) std::abort();
  return 0;
}
