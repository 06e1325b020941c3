// Fuzzes the safe pickle reader and the id-map decoder: any input must give a
// value or an error, never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sources/chroma/chroma_model.h"
#include "sources/chroma/safe_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  vecsafe::chroma::PickleLimits limits;
  limits.max_values = 1u << 20;
  auto v = vecsafe::chroma::ParsePickle(in, limits);
  if (v.ok()) (void)v.value()->KindName();
  auto maps = vecsafe::chroma::ParseIdMaps(in);
  (void)maps.ok();
  return 0;
}
