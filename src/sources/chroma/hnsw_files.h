// Chroma's on-disk HNSW index (chroma-hnswlib's persistent layout), read-only.
//
// A vector segment folder holds the hnswlib index split into four files
// (docs/chroma.md, "On-disk format", has the verified layout):
//   header.bin       i32 persistence version (1), then the hnswlib header:
//                    6 x u64, i32 max level, u32 entry point, 3 x u64 (maxM,
//                    maxM0, M), f64 mult, u64 ef_construction (100 bytes)
//   data_level0.bin  one record of size_data_per_element per element, at
//                    least cur_element_count of them: u32 link count (+ flags
//                    byte 2: 1 = deleted), maxM0 x u32 links, dim x f32
//                    vector, u64 label
//   length.bin       one f32 per element: the norm of the vector as given, for
//                    spaces that normalize (cosine); unset bytes otherwise
//   link_lists.bin   per element in order: u32 byte count, then its upper-level
//                    link lists (count 0 for level-0-only elements)
// plus index_metadata.pickle (see chroma_model.h).
#ifndef VECSAFE_SOURCES_CHROMA_HNSW_FILES_H_
#define VECSAFE_SOURCES_CHROMA_HNSW_FILES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::chroma {

inline constexpr size_t kHnswHeaderSize = 100;

struct HnswHeader {
  int32_t persistence_version = 0;
  uint64_t offset_level0 = 0;
  uint64_t max_elements = 0;
  uint64_t cur_element_count = 0;
  uint64_t size_data_per_element = 0;
  uint64_t label_offset = 0;
  uint64_t offset_data = 0;
  int32_t max_level = 0;
  uint32_t enterpoint_node = 0;
  uint64_t max_m = 0;
  uint64_t max_m0 = 0;
  uint64_t m = 0;
  double mult = 0;
  uint64_t ef_construction = 0;

  // Vector dimension implied by the record layout (float32 components).
  uint64_t Dimension() const { return (label_offset - offset_data) / 4; }
};

// Decodes and sanity-checks header.bin. Errors: kDataLoss naming the field
// that is impossible (short file, offsets that disagree, count > capacity).
Result<HnswHeader> ParseHnswHeader(std::string_view bytes);

// Walks link_lists.bin: returns how many (u32 size, bytes) records it holds
// and the byte offset where the walk stopped. A record that runs past the
// end stops the walk (truncation).
struct LinkListsWalk {
  uint64_t records = 0;
  uint64_t end_offset = 0;
  bool overrun = false;
};
LinkListsWalk WalkLinkLists(std::string_view bytes, uint64_t max_records);

// One element of data_level0.bin.
struct HnswElement {
  uint64_t label = 0;
  bool deleted = false;
  uint32_t link_count = 0;
};

// Reads the fixed fields of element `index` from a data_level0 buffer.
// REQUIRES: (index + 1) * h.size_data_per_element <= level0.size().
HnswElement ReadElement(const HnswHeader& h, std::string_view level0, uint64_t index);
// Pointer to the float32 components of element `index` (unaligned: copy out).
const char* ElementVector(const HnswHeader& h, std::string_view level0, uint64_t index);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_HNSW_FILES_H_
