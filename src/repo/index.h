// The index: where each chunk lives (docs/FORMAT.md, "index").
//
// index/<id> objects are JSON documents (compressed, and encrypted in an
// encrypted repository, like every metadata object):
//   {"version":1,"supersedes":[<index id>...],
//    "packs":[{"id":<pack id>,"size":<bytes>,
//              "blobs":[{"id":<chunk id>,"offset":n,"length":n,"raw_length":n,
//                        "encoding":n[,"base":<chunk id>]}...]}...]}
// "base" names the base chunk of a delta (encoding 3), and only there.
// `supersedes` names index objects that this one replaces (written by prune;
// a reader that sees both ignores the superseded ones).
#ifndef VECSAFE_REPO_INDEX_H_
#define VECSAFE_REPO_INDEX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "repo/crypto.h"
#include "repo/format.h"
#include "repo/pack.h"
#include "vecsafe/status.h"

namespace vecsafe::repo {

struct IndexPack {
  Hash256 id{};
  uint64_t size = 0;
  std::vector<PackEntry> blobs;
};

struct IndexFile {
  std::vector<Hash256> supersedes;
  std::vector<IndexPack> packs;
};

std::string EncodeIndexJson(const IndexFile& index);
// kDataLoss on any damage. Never throws.
Result<IndexFile> ParseIndexJson(std::string_view json);

struct BlobLocation {
  uint32_t pack = 0;  // into MasterIndex::packs()
  uint32_t length = 0;
  uint32_t raw_length = 0;
  uint64_t offset = 0;
};

// All index files merged. Not thread-safe; callers lock.
class MasterIndex {
 public:
  void AddPack(const IndexPack& pack);
  const BlobLocation* Find(const Hash256& chunk) const;
  bool Has(const Hash256& chunk) const { return Find(chunk) != nullptr; }
  // The base chunk when the copy Find() gives is a delta, else null.
  const Hash256* BaseOf(const Hash256& chunk) const;
  size_t delta_count() const { return bases_.size(); }
  const Hash256& pack_id(uint32_t i) const { return packs_[i].id; }
  uint64_t pack_size(uint32_t i) const { return packs_[i].size; }
  size_t pack_count() const { return packs_.size(); }
  size_t blob_count() const { return blobs_.size(); }
  // Packs with every blob of each (duplicates included).
  const std::vector<IndexPack>& packs() const { return packs_; }
  bool HasPack(const Hash256& id) const { return pack_pos_.count(id) != 0; }

 private:
  std::vector<IndexPack> packs_;
  std::unordered_map<Hash256, uint32_t, Hash256Hasher> pack_pos_;
  std::unordered_map<Hash256, BlobLocation, Hash256Hasher> blobs_;
  // Only the few chunks stored as deltas, so the common case costs nothing.
  std::unordered_map<Hash256, Hash256, Hash256Hasher> bases_;
};

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_INDEX_H_
