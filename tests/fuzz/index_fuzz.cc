// Parsing arbitrary bytes as an index object must never crash; a parsed
// index must encode and parse again to the same packs and blobs (delta bases
// included).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "repo/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vecsafe::repo;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto idx = ParseIndexJson(in);
  if (!idx.ok()) {
    if (idx.status().code() != vecsafe::ErrorCode::kDataLoss) std::abort();
    return 0;
  }
  auto again = ParseIndexJson(EncodeIndexJson(*idx));
  if (!again.ok() || again->packs.size() != idx->packs.size()) std::abort();
  MasterIndex master;
  for (const auto& p : idx->packs) master.AddPack(p);
  for (const auto& p : idx->packs) {
    for (const auto& b : p.blobs) {
      if (!master.Has(b.id)) std::abort();
      // A delta's base survives the round trip and is never the chunk itself.
      if (b.is_delta() && b.base == b.id) std::abort();
    }
  }
  for (size_t i = 0; i < idx->packs.size(); ++i) {
    for (size_t j = 0; j < idx->packs[i].blobs.size(); ++j) {
      if (again->packs[i].blobs[j].base != idx->packs[i].blobs[j].base) std::abort();
    }
  }
  return 0;
}
