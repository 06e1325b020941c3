// Turns a chunk's plaintext into the bytes stored in a pack, and back.
//
// Stored form (docs/FORMAT.md, "blob"):
//   unencrypted:  header(1) || payload
//   encrypted:    AES-256-GCM( header(1) || payload ) = nonce(12) || ct || tag(16)
// header 0x00: payload is the plaintext (raw).
//        0x01: payload is one zstd frame that records its content size.
//        0x02: byte planes, for data made of 32-bit values (float32 vectors,
//              int32 ids): u32le n || u8 mask || plane 0..3 || tail, where
//              plane k holds bytes k, k+4, k+8, ... of the first 4*(n/4)
//              bytes, stored as u32le size || zstd frame if bit k of mask
//              is set, else raw; tail is the last n%4 bytes raw.
//        0x03: delta: base chunk id(32) || one zstd frame compressed with
//              the base chunk's plaintext as its prefix (raw content). A
//              chunk that is an older chunk with a few pages rewritten then
//              costs about the rewritten bytes instead of the whole chunk.
//              The base is never itself a delta (one level, so a read costs
//              at most one more chunk).
// A cheap sample of byte statistics picks the encoding: near-random data
// is stored raw without trying zstd; data whose bytes at offsets 0,1,2,3
// mod 4 are far more predictable than the whole (vectors) is split into
// planes, so the sign/exponent bytes compress and the mantissas are not
// searched for matches; everything else is zstd at the configured level.
// Compression is kept only if it saves at least 1/32 of the bytes.
//
// Chunk id: SHA-256(plaintext), or HMAC-SHA256(id_key, plaintext) when the
// repository is encrypted (ids then reveal nothing about the content).
#ifndef VECSAFE_REPO_BLOB_CODEC_H_
#define VECSAFE_REPO_BLOB_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "repo/crypto.h"
#include "vecsafe/status.h"

namespace vecsafe::repo {

// Values are the stored header byte.
enum class BlobEncoding : uint8_t { kRaw = 0, kZstd = 1, kZstdPlanes4 = 2, kDelta = 3 };

// Gives the plaintext of a delta blob's base chunk (id as stored in the
// blob), appended to *out; errors are passed on to the caller of Decode.
using BaseReader = std::function<Status(const Hash256& base, std::string* out)>;

struct BlobKeys {
  Key256 data;  // AES-256-GCM key of blob contents
  Key256 id;    // HMAC key of chunk ids

  // The keys a repository master key implies: DeriveSubkey(master, "data"/"chunk-id").
  static BlobKeys FromMaster(const Key256& master);
};

struct BlobCodecOptions {
  // zstd level for compressible data. Default: 1 (see bench/results/micro.md).
  int zstd_level = 1;
  // Whether to compress at all. Default: true.
  bool compress = true;
  // Whether data of 32-bit values may use the byte-plane encoding (0x02).
  // Default: true (smaller and faster on vectors; off only for comparisons).
  bool byte_planes = true;
  // Set for an encrypted repository. Default: none (plaintext repository).
  std::optional<BlobKeys> keys;
  // Decode refuses blobs claiming a larger plaintext (damage, not a real
  // blob). Default: 1 GiB.
  size_t max_plaintext_size = size_t{1} << 30;
};

// Thread-safe: all methods are const and use per-thread zstd contexts.
class BlobCodec {
 public:
  explicit BlobCodec(const BlobCodecOptions& options);
  ~BlobCodec();
  BlobCodec(const BlobCodec&) = delete;
  BlobCodec& operator=(const BlobCodec&) = delete;

  const BlobCodecOptions& options() const { return options_; }
  bool encrypted() const { return options_.keys.has_value(); }

  Hash256 ChunkId(const void* data, size_t n) const;
  // The HMAC key of chunk ids (encrypted repositories), or none: chunk ids
  // are then plain SHA-256. For computing ids outside the codec (Sha256Pair).
  std::optional<Key256> chunk_id_key() const {
    return options_.keys ? std::optional<Key256>(options_.keys->id) : std::nullopt;
  }
  Hash256 ChunkId(std::string_view data) const { return ChunkId(data.data(), data.size()); }

  // Appends the stored form of data[0..n) to *out. `aad` (encrypted only) is
  // authenticated, not stored: pass the same to Decode (e.g. the chunk id, so
  // a blob cannot be swapped for another one). If `encoding` is given it
  // receives the encoding chosen. Errors: kInternal (library failure).
  Status Encode(const void* data, size_t n, std::string* out, std::string_view aad = {},
                BlobEncoding* encoding = nullptr) const;
  Status Encode(std::string_view data, std::string* out) const {
    return Encode(data.data(), data.size(), out);
  }

  // Appends the stored form of data[0..n) as a delta (0x03) against `base`,
  // the plaintext of chunk `base_id`, to *out. The caller compares its size
  // with Encode's and keeps the smaller. Errors: kInternal.
  Status EncodeDelta(const void* data, size_t n, std::string_view base, const Hash256& base_id,
                     std::string* out, std::string_view aad = {}) const;

  // Appends the plaintext of a stored blob to *out. kDataLoss on any damage
  // (bad tag, unknown header, bad zstd frame, size over the limit, trailing
  // bytes); *out is then unchanged. Never crashes on any input. A delta blob
  // reads its base through `base` (none given: kDataLoss, as for a delta
  // whose base is itself a delta).
  Status Decode(std::string_view stored, std::string* out, std::string_view aad = {},
                const BaseReader* base = nullptr) const;
  // Like Decode, into dst[0..cap) (no zero-filling of a string first):
  // returns the plaintext length; kDataLoss also if it is over `cap`.
  Result<size_t> DecodeTo(std::string_view stored, std::string_view aad, char* dst, size_t cap,
                          const BaseReader* base = nullptr) const;

  // An upper bound of the stored size of an n-byte plaintext.
  static size_t MaxEncodedSize(size_t n);

 private:
  // The framed plaintext of a stored blob: `stored` itself, or for an
  // encrypted repository its decryption (in a per-thread buffer, valid until
  // the thread's next Open).
  Result<std::string_view> Open(std::string_view stored, std::string_view aad) const;
  Status DecodePlain(std::string_view framed, std::string* out, const BaseReader* base) const;
  // A delta blob's plaintext into dst (REQUIRES: size == PlainSize(framed)).
  Status DecodeDeltaTo(std::string_view framed, uint8_t* dst, size_t size,
                       const BaseReader* base) const;
  // The plaintext length a framed blob claims (checked against the limit).
  Result<size_t> PlainSize(std::string_view framed) const;
  // REQUIRES: size == PlainSize(framed). Every encoding, deltas through `base`.
  Status DecodePlainTo(std::string_view framed, uint8_t* dst, size_t size,
                       const BaseReader* base) const;

  BlobCodecOptions options_;
  std::unique_ptr<HmacSha256Keyed> id_mac_;
};

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_BLOB_CODEC_H_
