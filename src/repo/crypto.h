// Cryptographic primitives of the repository: SHA-256, HMAC-SHA256, hex,
// secure random bytes, AES-256-GCM and Argon2id key derivation.
//
// Everything here is a thin, allocation-light wrapper over OpenSSL 3 (SHA-256
// uses SHA-NI, AES-GCM uses AES-NI/PCLMUL when the CPU has them) and libsodium
// (Argon2id). All functions are thread-safe; classes are not shared between
// threads unless stated.
//
// Formats fixed here are part of the repository format (docs/FORMAT.md):
// a sealed AES-256-GCM message is nonce(12) || ciphertext || tag(16).
#ifndef VECSAFE_REPO_CRYPTO_H_
#define VECSAFE_REPO_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vecsafe/status.h"

namespace vecsafe::repo {

using Hash256 = std::array<uint8_t, 32>;
// A 256-bit secret key (AES-256 key, HMAC key, master key).
using Key256 = std::array<uint8_t, 32>;

inline std::string_view AsStringView(const Hash256& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// ---- SHA-256 ----

Hash256 Sha256(const void* data, size_t n);
inline Hash256 Sha256(std::string_view data) { return Sha256(data.data(), data.size()); }

// Incremental SHA-256 (for whole files fed piece by piece).
// Not thread-safe; movable, not copyable.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&& other) noexcept;
  Sha256Stream& operator=(Sha256Stream&& other) noexcept;
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Returns the digest of everything fed since construction or the last
  // Finish(), and starts over (the stream can be reused).
  Hash256 Finish();

 private:
  void* ctx_ = nullptr;  // EVP_MD_CTX*
};

// ---- HMAC-SHA256 ----

Hash256 HmacSha256(std::string_view key, const void* data, size_t n);
inline Hash256 HmacSha256(std::string_view key, std::string_view data) {
  return HmacSha256(key, data.data(), data.size());
}

// HMAC-SHA256 with a fixed key, set up once (the key schedule is kept), for
// computing many MACs cheaply (chunk ids of an encrypted repository).
// Mac() is const and thread-safe.
class HmacSha256Keyed {
 public:
  explicit HmacSha256Keyed(std::string_view key);
  explicit HmacSha256Keyed(const Key256& key)
      : HmacSha256Keyed(std::string_view(reinterpret_cast<const char*>(key.data()), key.size())) {}
  ~HmacSha256Keyed();
  HmacSha256Keyed(const HmacSha256Keyed&) = delete;
  HmacSha256Keyed& operator=(const HmacSha256Keyed&) = delete;

  Hash256 Mac(const void* data, size_t n) const;
  Hash256 Mac(std::string_view data) const { return Mac(data.data(), data.size()); }

 private:
  void* inner_ = nullptr;  // EVP_MD_CTX* after absorbing key ^ ipad
  void* outer_ = nullptr;  // EVP_MD_CTX* after absorbing key ^ opad
};

// Derives an independent 256-bit subkey from `master` for one purpose:
// HMAC-SHA256(master, "vecsafe/" + label). Labels in use are listed in
// docs/FORMAT.md (e.g. "chunk-id", "chunker-seed", "data").
Key256 DeriveSubkey(const Key256& master, std::string_view label);

// ---- hex ----

// Lower-case hex of `n` bytes.
std::string HexEncode(const void* data, size_t n);
inline std::string HexEncode(std::string_view data) { return HexEncode(data.data(), data.size()); }
inline std::string HexEncode(const Hash256& h) { return HexEncode(h.data(), h.size()); }
// Accepts upper or lower case. kInvalidArgument on odd length or a non-hex char.
Result<std::string> HexDecode(std::string_view hex);
// Exactly 64 hex characters. kInvalidArgument otherwise.
Result<Hash256> ParseHash256(std::string_view hex);

// ---- randomness, comparison ----

// Fills `out` with `n` bytes from the OS CSPRNG. kInternal if that fails.
Status RandomBytes(void* out, size_t n);
// Compares in time independent of the contents (for MACs and key checks).
bool ConstantTimeEqual(const void* a, const void* b, size_t n);

// ---- AES-256-GCM ----

inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
inline constexpr size_t kGcmOverhead = kGcmNonceSize + kGcmTagSize;

// Encrypts `n` bytes with a fresh random 96-bit nonce and APPENDS
// nonce || ciphertext || tag (n + kGcmOverhead bytes) to `*out`.
// `aad` is authenticated but not stored. Thread-safe.
Status AesGcmSeal(const Key256& key, const void* plaintext, size_t n, std::string_view aad,
                  std::string* out);
// Same with a caller-chosen nonce. Only for tests and known-answer checks:
// reusing a nonce with one key breaks GCM.
Status AesGcmSealWithNonce(const Key256& key, const uint8_t (&nonce)[kGcmNonceSize],
                           const void* plaintext, size_t n, std::string_view aad, std::string* out);
// Authenticates and decrypts nonce || ciphertext || tag and APPENDS the
// plaintext to `*out`. kDataLoss if the input is too short, the tag does not
// match (damaged data, wrong key or wrong aad); `*out` is then unchanged.
Status AesGcmOpen(const Key256& key, std::string_view sealed, std::string_view aad,
                  std::string* out);

// ---- Argon2id ----

inline constexpr size_t kArgon2SaltSize = 16;

// Argon2id cost parameters. They are stored with the key file so that they
// can be raised later without breaking old repositories.
struct Argon2Params {
  // Passes over memory. Default: 3.
  uint64_t ops_limit = 3;
  // Memory in bytes. Default: 64 MiB (about 0.3 s on one modern core).
  uint64_t mem_limit_bytes = 64ull << 20;

  // kInvalidArgument unless within libsodium's accepted bounds and not absurd
  // (ops 1..64, memory 8 KiB..4 GiB), so a damaged key file cannot make us
  // allocate terabytes.
  Status Validate() const;
};

// Derives `out_len` (16..1024) bytes from a password with Argon2id v1.3.
// kResourceExhausted if the memory cannot be allocated.
Status DeriveKeyArgon2id(std::string_view password, const uint8_t (&salt)[kArgon2SaltSize],
                         const Argon2Params& params, uint8_t* out, size_t out_len);

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_CRYPTO_H_
