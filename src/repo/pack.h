// Packs: the data/ objects (docs/FORMAT.md, "pack"). A pack is a run of
// stored blobs followed by a header that lists them, so the index can always
// be rebuilt from the packs alone:
//
//   pack    = blob* sealed_header header_len:u32le magic:"VSPACK01"
//   header  = "VSPH" version:u8 count:u32le entry{count} sha256(preceding):32
//   entry   = chunk_id:32 offset:u64le length:u32le raw_length:u32le encoding:u8
//             [base_id:32]   (version 2 only, and only after encoding 3: a delta)
// A pack without deltas is written as version 1, byte for byte as before
// deltas existed.
//
// sealed_header is the header itself (unencrypted repository) or
// AES-256-GCM(data key, header, aad "vecsafe pack header").
#ifndef VECSAFE_REPO_PACK_H_
#define VECSAFE_REPO_PACK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repo/crypto.h"
#include "vecsafe/status.h"

namespace vecsafe::repo {

inline constexpr char kPackMagic[] = "VSPACK01";  // 8 bytes, no NUL stored
inline constexpr size_t kPackTailSize = 4 + 8;
inline constexpr uint32_t kMaxPackEntries = 1u << 22;
inline constexpr uint8_t kPackDeltaEncoding = 3;  // BlobEncoding::kDelta

struct PackEntry {
  Hash256 id{};
  uint64_t offset = 0;
  uint32_t length = 0;      // stored bytes
  uint32_t raw_length = 0;  // plaintext bytes
  uint8_t encoding = 0;     // BlobEncoding of the stored form
  Hash256 base{};           // the base chunk when encoding is 3 (delta), else zero
  bool is_delta() const { return encoding == kPackDeltaEncoding; }
};

// Collects blobs into one pack buffer. Not thread-safe.
class PackWriter {
 public:
  PackWriter() = default;
  // Starts on `buffer`'s memory (its contents are dropped): a backup hands the
  // buffer of an uploaded pack back, so packs reuse pages already faulted in
  // instead of growing the heap by a fresh 16 MiB each time.
  explicit PackWriter(std::string buffer) : buf_(std::move(buffer)) { buf_.clear(); }
  void Reserve(size_t n) { buf_.reserve(n); }
  // `base`: the base chunk of a delta (encoding 3), else null.
  void Add(const Hash256& id, std::string_view stored, uint32_t raw_length, uint8_t encoding,
           const Hash256* base = nullptr);
  size_t size() const { return buf_.size(); }
  size_t count() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<PackEntry>& entries() const { return entries_; }
  // Appends the header and tail; returns the finished bytes (the writer is
  // then empty). `data_key` set = encrypted repository. *pack_id gets the
  // pack's id: SHA-256 of the header as stored, which names every blob with
  // its offset and length (and, encrypted, a fresh nonce), so hashing a few
  // KiB names the pack as uniquely as hashing all of its bytes would.
  Result<std::string> Finish(const std::optional<Key256>& data_key, Hash256* pack_id);

 private:
  std::string buf_;
  std::vector<PackEntry> entries_;
};

// Encodes the plain header for `entries` (exposed for tests and fuzzing).
std::string EncodePackHeader(const std::vector<PackEntry>& entries);
// Parses a plain header; checks its checksum and that every blob lies in
// [0, data_end). kDataLoss on any damage.
Result<std::vector<PackEntry>> ParsePackHeader(std::string_view header, uint64_t data_end);
// From the last kPackTailSize bytes: the sealed header's length.
Result<uint32_t> ParsePackTail(std::string_view tail, uint64_t pack_size);
// Parses a whole pack (or its last bytes: `suffix` = the last suffix.size()
// bytes of a pack of `pack_size` bytes, enough to hold the header and tail).
Result<std::vector<PackEntry>> ParsePackSuffix(std::string_view suffix, uint64_t pack_size,
                                               const std::optional<Key256>& data_key);

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_PACK_H_
