// Fuzzes header.bin decoding and the link_lists.bin walk.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sources/chroma/hnsw_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto h = vecsafe::chroma::ParseHnswHeader(in);
  if (h.ok()) (void)h->Dimension();
  auto w = vecsafe::chroma::WalkLinkLists(in, 1000);
  (void)w.records;
  return 0;
}
