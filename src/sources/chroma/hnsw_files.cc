#include "sources/chroma/hnsw_files.h"

#include <fmt/format.h>

#include <cstring>

namespace vecsafe::chroma {
namespace {

template <typename T>
T Load(std::string_view b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

Status Impossible(const std::string& what) {
  return DataLoss("header.bin is damaged: " + what,
                  "Restore the segment folder from a backup, or recover the collection with "
                  "`vecsafe recover chroma PATH --plan` to rebuild it.");
}

}  // namespace

Result<HnswHeader> ParseHnswHeader(std::string_view b) {
  if (b.size() < kHnswHeaderSize) {
    return Impossible(fmt::format("{} bytes, an hnswlib header has {}", b.size(), kHnswHeaderSize));
  }
  HnswHeader h;
  h.persistence_version = Load<int32_t>(b, 0);
  b.remove_prefix(4);
  if (h.persistence_version != 1) {
    return Impossible(
        fmt::format("persistence version {} (Chroma writes 1)", h.persistence_version));
  }
  h.offset_level0 = Load<uint64_t>(b, 0);
  h.max_elements = Load<uint64_t>(b, 8);
  h.cur_element_count = Load<uint64_t>(b, 16);
  h.size_data_per_element = Load<uint64_t>(b, 24);
  h.label_offset = Load<uint64_t>(b, 32);
  h.offset_data = Load<uint64_t>(b, 40);
  h.max_level = Load<int32_t>(b, 48);
  h.enterpoint_node = Load<uint32_t>(b, 52);
  h.max_m = Load<uint64_t>(b, 56);
  h.max_m0 = Load<uint64_t>(b, 64);
  h.m = Load<uint64_t>(b, 72);
  h.mult = Load<double>(b, 80);
  h.ef_construction = Load<uint64_t>(b, 88);

  if (h.offset_level0 != 0) return Impossible(fmt::format("offset_level0 is {}", h.offset_level0));
  if (h.m == 0 || h.m > 100000) return Impossible(fmt::format("M is {}", h.m));
  if (h.max_m0 == 0 || h.max_m0 > 200000) return Impossible(fmt::format("maxM0 is {}", h.max_m0));
  if (h.offset_data != h.max_m0 * 4 + 4) {
    return Impossible(fmt::format("offset_data {} != maxM0 {} * 4 + 4", h.offset_data, h.max_m0));
  }
  if (h.label_offset <= h.offset_data || (h.label_offset - h.offset_data) % 4 != 0 ||
      h.label_offset - h.offset_data > 4 * 65536) {
    return Impossible(
        fmt::format("label_offset {} does not fit offset_data {}", h.label_offset, h.offset_data));
  }
  if (h.size_data_per_element != h.label_offset + 8) {
    return Impossible(fmt::format("size_data_per_element {} != label_offset {} + 8",
                                  h.size_data_per_element, h.label_offset));
  }
  if (h.cur_element_count > h.max_elements) {
    return Impossible(
        fmt::format("cur_element_count {} > max_elements {}", h.cur_element_count, h.max_elements));
  }
  if (h.max_elements > (uint64_t{1} << 40) / h.size_data_per_element) {
    return Impossible(fmt::format("max_elements {} is implausibly large", h.max_elements));
  }
  if (h.cur_element_count > 0 && h.enterpoint_node >= h.cur_element_count) {
    return Impossible(
        fmt::format("entry point {} >= element count {}", h.enterpoint_node, h.cur_element_count));
  }
  if (h.max_level < -1 || h.max_level > 64) {
    return Impossible(fmt::format("max level {}", h.max_level));
  }
  return h;
}

LinkListsWalk WalkLinkLists(std::string_view bytes, uint64_t max_records) {
  LinkListsWalk w;
  uint64_t pos = 0;
  while (w.records < max_records && pos + 4 <= bytes.size()) {
    const uint32_t n = Load<uint32_t>(bytes, pos);
    if (n > bytes.size() - pos - 4) {
      w.overrun = true;
      break;
    }
    pos += 4 + uint64_t{n};
    ++w.records;
  }
  if (w.records < max_records && !w.overrun && pos < bytes.size()) w.overrun = true;
  w.end_offset = pos;
  return w;
}

HnswElement ReadElement(const HnswHeader& h, std::string_view level0, uint64_t index) {
  const size_t base = index * h.size_data_per_element;
  HnswElement e;
  const uint32_t head = Load<uint32_t>(level0, base);
  e.link_count = head & 0xffff;
  e.deleted = ((head >> 16) & 0x1) != 0;
  e.label = Load<uint64_t>(level0, base + h.label_offset);
  return e;
}

const char* ElementVector(const HnswHeader& h, std::string_view level0, uint64_t index) {
  return level0.data() + index * h.size_data_per_element + h.offset_data;
}

}  // namespace vecsafe::chroma
