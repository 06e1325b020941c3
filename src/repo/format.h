// Internal names and small types of the repository format (docs/FORMAT.md).
#ifndef VECSAFE_REPO_FORMAT_H_
#define VECSAFE_REPO_FORMAT_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "repo/crypto.h"
#include "vecsafe/status.h"

namespace vecsafe::repo {

struct Hash256Hasher {
  size_t operator()(const Hash256& h) const {
    size_t v = 0;
    std::memcpy(&v, h.data(), sizeof(v));
    return v;
  }
};

// data/<first 2 hex>/<64 hex>
std::string PackKey(const Hash256& pack_id);
std::string IndexKey(const Hash256& id);
std::string SnapshotKey(const Hash256& id);

// The last path part of `key` as a Hash256 (for data/, index/, snapshots/).
// kInvalidArgument if it is not 64 hex characters.
Result<Hash256> IdFromKey(std::string_view key);

// RFC 3339 UTC with nanoseconds: "2026-11-22T00:07:13.123456789Z".
std::string FormatTimeNs(int64_t unix_ns);
int64_t NowUnixNs();

// Little-endian fixed-width helpers for the binary pack header.
inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}
inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 8);
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_FORMAT_H_
