#include "repo/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

namespace vecsafe::repo {
namespace {

// Fetched once: EVP_sha256()/EVP_aes_256_gcm() would fetch from the provider
// on every init, which costs more than hashing a small chunk.
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL has no SHA256");
    return m;
  }();
  return md;
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* c = [] {
    const EVP_CIPHER* x = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (x == nullptr) throw std::runtime_error("OpenSSL has no AES-256-GCM");
    return x;
  }();
  return c;
}

EVP_MD_CTX* Md(void* p) { return static_cast<EVP_MD_CTX*>(p); }

// One cipher context per thread, reused across calls (allocation is not free).
struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};
EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local CipherCtx c;
  return c.ctx;
}

int ToInt(size_t n) {
  if (n > static_cast<size_t>(std::numeric_limits<int>::max() / 2)) {
    throw std::length_error("AES-GCM message larger than 1 GiB");
  }
  return static_cast<int>(n);
}

Status InitSodium() {
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialise");
  return Status::OK();
}

}  // namespace

Hash256 Sha256(const void* data, size_t n) {
  Hash256 out;
  unsigned int len = 0;
  if (EVP_Digest(data, n, out.data(), &len, Sha256Md(), nullptr) != 1 || len != out.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(Md(ctx_), Sha256Md(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 init failed");
  }
}
Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(Md(ctx_)); }
Sha256Stream::Sha256Stream(Sha256Stream&& other) noexcept : ctx_(other.ctx_) {
  other.ctx_ = nullptr;
}
Sha256Stream& Sha256Stream::operator=(Sha256Stream&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(Md(ctx_));
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}
void Sha256Stream::Update(const void* data, size_t n) {
  if (n > 0) EVP_DigestUpdate(Md(ctx_), data, n);
}
Hash256 Sha256Stream::Finish() {
  Hash256 out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(Md(ctx_), out.data(), &len);
  EVP_DigestInit_ex(Md(ctx_), Sha256Md(), nullptr);
  return out;
}

HmacSha256Keyed::HmacSha256Keyed(std::string_view key) {
  // RFC 2104 by hand over SHA-256 contexts: the two padded-key blocks are
  // absorbed once and the contexts copied per message.
  uint8_t block[64] = {};
  if (key.size() > sizeof(block)) {
    const Hash256 kh = Sha256(key);
    std::memcpy(block, kh.data(), kh.size());
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  uint8_t pad[64];
  inner_ = EVP_MD_CTX_new();
  outer_ = EVP_MD_CTX_new();
  if (inner_ == nullptr || outer_ == nullptr) throw std::bad_alloc();
  for (size_t i = 0; i < 64; ++i) pad[i] = block[i] ^ 0x36;
  EVP_DigestInit_ex(Md(inner_), Sha256Md(), nullptr);
  EVP_DigestUpdate(Md(inner_), pad, sizeof(pad));
  for (size_t i = 0; i < 64; ++i) pad[i] = block[i] ^ 0x5c;
  EVP_DigestInit_ex(Md(outer_), Sha256Md(), nullptr);
  EVP_DigestUpdate(Md(outer_), pad, sizeof(pad));
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(pad, sizeof(pad));
}

HmacSha256Keyed::~HmacSha256Keyed() {
  EVP_MD_CTX_free(Md(inner_));
  EVP_MD_CTX_free(Md(outer_));
}

Hash256 HmacSha256Keyed::Mac(const void* data, size_t n) const {
  thread_local struct Ctx {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(c); }
  } tl;
  Hash256 inner;
  Hash256 out;
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(tl.c, Md(inner_));
  if (n > 0) EVP_DigestUpdate(tl.c, data, n);
  EVP_DigestFinal_ex(tl.c, inner.data(), &len);
  EVP_MD_CTX_copy_ex(tl.c, Md(outer_));
  EVP_DigestUpdate(tl.c, inner.data(), inner.size());
  EVP_DigestFinal_ex(tl.c, out.data(), &len);
  return out;
}

Hash256 HmacSha256(std::string_view key, const void* data, size_t n) {
  return HmacSha256Keyed(key).Mac(data, n);
}

Key256 DeriveSubkey(const Key256& master, std::string_view label) {
  const std::string info = "vecsafe/" + std::string(label);
  return HmacSha256(std::string_view(reinterpret_cast<const char*>(master.data()), master.size()),
                    info);
}

std::string HexEncode(const void* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return InvalidArgument("hex string has an odd length (" + std::to_string(hex.size()) + ")",
                           "Hex strings encode whole bytes: two digits per byte.");
  }
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument(
          "not a hex digit at position " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1),
          "Use only 0-9 and a-f.");
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

Result<Hash256> ParseHash256(std::string_view hex) {
  if (hex.size() != 64) {
    return InvalidArgument("expected 64 hex digits, got " + std::to_string(hex.size()),
                           "Give the full id, as `vecsafe snapshots --json` prints it.");
  }
  // Decoded in place: manifests and indexes hold tens of thousands of ids.
  Hash256 h;
  for (size_t i = 0; i < h.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return HexDecode(hex).status();  // its error names the position
    h[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return h;
}

Status RandomBytes(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    const int step = static_cast<int>(n > (1u << 30) ? (1u << 30) : n);
    if (RAND_bytes(p, step) != 1) {
      return Internal("the system random number generator failed",
                      "Check that /dev/urandom is available.");
    }
    p += step;
    n -= static_cast<size_t>(step);
  }
  return Status::OK();
}

bool ConstantTimeEqual(const void* a, const void* b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

Status AesGcmSealWithNonce(const Key256& key, const uint8_t (&nonce)[kGcmNonceSize],
                           const void* plaintext, size_t n, std::string_view aad,
                           std::string* out) {
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  if (ctx == nullptr) return Internal("cannot allocate a cipher context");
  const size_t base = out->size();
  out->resize(base + n + kGcmOverhead);
  auto* dst = reinterpret_cast<unsigned char*>(out->data() + base);
  std::memcpy(dst, nonce, kGcmNonceSize);
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, Aes256Gcm(), nullptr, key.data(), nonce) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                           ToInt(aad.size())) == 1;
  }
  if (ok && n > 0) {
    ok = EVP_EncryptUpdate(ctx, dst + kGcmNonceSize, &len,
                           static_cast<const unsigned char*>(plaintext), ToInt(n)) == 1;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx, dst + kGcmNonceSize + n, &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                                 dst + kGcmNonceSize + n) == 1;
  if (!ok) {
    out->resize(base);
    return Internal("AES-256-GCM encryption failed");
  }
  return Status::OK();
}

Status AesGcmSeal(const Key256& key, const void* plaintext, size_t n, std::string_view aad,
                  std::string* out) {
  uint8_t nonce[kGcmNonceSize];
  VS_RETURN_IF_ERROR(RandomBytes(nonce, sizeof(nonce)));
  return AesGcmSealWithNonce(key, nonce, plaintext, n, aad, out);
}

Status AesGcmOpen(const Key256& key, std::string_view sealed, std::string_view aad,
                  std::string* out) {
  if (sealed.size() < kGcmOverhead) {
    return DataLoss("encrypted object is " + std::to_string(sealed.size()) +
                    " bytes, shorter than the 28-byte nonce and tag");
  }
  const size_t n = sealed.size() - kGcmOverhead;
  const auto* src = reinterpret_cast<const unsigned char*>(sealed.data());
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  if (ctx == nullptr) return Internal("cannot allocate a cipher context");
  const size_t base = out->size();
  out->resize(base + n);
  auto* dst = reinterpret_cast<unsigned char*>(out->data() + base);
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, Aes256Gcm(), nullptr, key.data(), src) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                           ToInt(aad.size())) == 1;
  }
  if (ok && n > 0) ok = EVP_DecryptUpdate(ctx, dst, &len, src + kGcmNonceSize, ToInt(n)) == 1;
  // The tag is const in the input; OpenSSL's ctrl API takes a non-const pointer.
  unsigned char tag[kGcmTagSize];
  std::memcpy(tag, src + kGcmNonceSize + n, kGcmTagSize);
  ok =
      ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize), tag) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, dst + n, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(dst, n);
    out->resize(base);
    return DataLoss("encrypted object failed authentication (damaged, or a different key)",
                    "Check the password; if it is right, the data is damaged: run "
                    "`vecsafe verify --read-data`.");
  }
  return Status::OK();
}

Status Argon2Params::Validate() const {
  if (ops_limit < 1 || ops_limit > 64 || ops_limit < crypto_pwhash_OPSLIMIT_MIN) {
    return InvalidArgument("Argon2id ops limit " + std::to_string(ops_limit) + " is outside 1..64");
  }
  if (mem_limit_bytes < 8192 || mem_limit_bytes > (4ull << 30) ||
      mem_limit_bytes < crypto_pwhash_MEMLIMIT_MIN) {
    return InvalidArgument("Argon2id memory limit " + std::to_string(mem_limit_bytes) +
                           " bytes is outside 8 KiB..4 GiB");
  }
  return Status::OK();
}

Status DeriveKeyArgon2id(std::string_view password, const uint8_t (&salt)[kArgon2SaltSize],
                         const Argon2Params& params, uint8_t* out, size_t out_len) {
  VS_RETURN_IF_ERROR(InitSodium());
  VS_RETURN_IF_ERROR(params.Validate());
  if (out_len < 16 || out_len > 1024) {
    return InvalidArgument("Argon2id output length " + std::to_string(out_len) +
                           " is outside 16..1024");
  }
  static_assert(kArgon2SaltSize == crypto_pwhash_SALTBYTES);
  if (crypto_pwhash(out, out_len, password.data(), password.size(), salt, params.ops_limit,
                    static_cast<size_t>(params.mem_limit_bytes),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhausted("Argon2id key derivation could not allocate " +
                                 std::to_string(params.mem_limit_bytes >> 20) + " MiB",
                             "Free memory, or lower the key's memory parameter when creating it.");
  }
  return Status::OK();
}

}  // namespace vecsafe::repo
