// Two SHA-256 computations over the same bytes in one pass: the running
// digest of a whole file and the id of each chunk cut from it.
//
// A backup hashes every byte twice (the file's sha256 for the manifest, the
// chunk id for deduplication). One SHA-NI stream is bound by the latency of
// its round instructions, so two independent streams interleaved on one core
// cost little more than one: on the 2-core benchmark machine (AMD EPYC) both
// digests of a 64 KiB chunk take 40 us, against 76 us with OpenSSL one after
// the other (bench/micro: BM_FileAndChunkId*).
//
// Only on x86-64 CPUs with SHA-NI (and SSE4.1); Available() says whether this
// CPU has them. Callers fall back to Sha256Stream + HmacSha256Keyed
// otherwise; both paths give identical digests (tested against OpenSSL).
#ifndef VECSAFE_REPO_SHA256_PAIR_H_
#define VECSAFE_REPO_SHA256_PAIR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "repo/crypto.h"

namespace vecsafe::repo {

class Sha256Pair {
 public:
  // True when this CPU can run it (checked once).
  static bool Available();

  // Chunk ids are HMAC-SHA256(chunk_key, chunk) when chunk_key is given, else
  // SHA-256(chunk), as BlobCodec::ChunkId. REQUIRES: Available().
  explicit Sha256Pair(const std::optional<Key256>& chunk_key);

  // Feeds the next `n` bytes of the file, which form one whole chunk, and
  // returns that chunk's id.
  Hash256 Chunk(const uint8_t* p, size_t n);

  // The file's SHA-256 over every chunk fed since construction or the last
  // FinishFile(); starts the next file.
  Hash256 FinishFile();

  // The ids of two different chunks, hashed side by side (verify checks
  // chunks two at a time this way). Does not touch the file's digest.
  std::pair<Hash256, Hash256> TwoChunkIds(const uint8_t* a, size_t na, const uint8_t* b,
                                          size_t nb) const;

 private:
  using State = std::array<uint32_t, 8>;

  // A chunk's id once its whole 64-byte blocks are in `chunk`: the last
  // partial block, then HMAC's outer hash when keyed.
  Hash256 CloseChunk(State chunk, const uint8_t* p, size_t n) const;

  State file_state_;
  uint64_t file_bytes_ = 0;
  std::array<uint8_t, 64> file_tail_{};  // file_bytes_ % 64 bytes not yet compressed
  State chunk_init_;                     // after key ^ ipad, or the IV
  State outer_init_;                     // after key ^ opad (HMAC only)
  uint64_t chunk_prefix_ = 0;            // bytes absorbed into chunk_init_ (64 or 0)
  bool keyed_ = false;
};

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_SHA256_PAIR_H_
