#include "repo/blob_codec.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <cmath>
#include <cstring>

namespace vecsafe::repo {
namespace {

constexpr uint8_t kHeaderRaw = static_cast<uint8_t>(BlobEncoding::kRaw);
constexpr uint8_t kHeaderZstd = static_cast<uint8_t>(BlobEncoding::kZstd);

// Per-thread zstd contexts: creating one costs more than compressing a chunk.
struct ZstdContexts {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  int level = 0x7fff;
  ~ZstdContexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};
ZstdContexts& ThreadZstd() {
  thread_local ZstdContexts z;
  return z;
}

// Scratch buffer for the framed plaintext before encryption / after decryption.
std::string& ThreadScratch() {
  thread_local std::string s;
  return s;
}

// Order-0 entropy (bits per byte) of a few spread-out samples. Data at
// ~8 bits/byte (random, encrypted, already compressed) cannot shrink by the
// 1/32 we require unless it repeats itself at long range, which chunks of
// such data practically never do; skipping it saves the whole zstd pass.
constexpr size_t kSampleMin = 16 * 1024;
bool LooksIncompressible(const uint8_t* p, size_t n) {
  if (n < kSampleMin) return false;
  constexpr size_t kBlocks = 4;
  constexpr size_t kBlock = 2048;
  uint32_t hist[256] = {};
  const size_t step = (n - kBlock) / (kBlocks - 1);
  for (size_t b = 0; b < kBlocks; ++b) {
    const uint8_t* s = p + b * step;
    for (size_t i = 0; i < kBlock; ++i) ++hist[s[i]];
  }
  constexpr double kTotal = kBlocks * kBlock;
  double bits = 0;
  for (uint32_t c : hist) {
    if (c != 0) {
      const double q = c / kTotal;
      bits -= q * std::log2(q);
    }
  }
  // Uniform random bytes measure ~7.96 here (small-sample bias).
  return bits > 7.9;
}

}  // namespace

BlobKeys BlobKeys::FromMaster(const Key256& master) {
  return BlobKeys{DeriveSubkey(master, "data"), DeriveSubkey(master, "chunk-id")};
}

BlobCodec::BlobCodec(const BlobCodecOptions& options) : options_(options) {
  if (options_.keys) id_mac_ = std::make_unique<HmacSha256Keyed>(options_.keys->id);
}

BlobCodec::~BlobCodec() = default;

Hash256 BlobCodec::ChunkId(const void* data, size_t n) const {
  return id_mac_ ? id_mac_->Mac(data, n) : Sha256(data, n);
}

size_t BlobCodec::MaxEncodedSize(size_t n) { return 1 + ZSTD_compressBound(n) + kGcmOverhead; }

Status BlobCodec::Encode(const void* data, size_t n, std::string* out, std::string_view aad,
                         BlobEncoding* encoding) const {
  const auto* p = static_cast<const uint8_t*>(data);
  // Frame into *out directly when not encrypting, else into scratch.
  std::string* frame = encrypted() ? &ThreadScratch() : out;
  const size_t base = encrypted() ? 0 : out->size();
  if (encrypted()) frame->clear();

  BlobEncoding used = BlobEncoding::kRaw;
  if (options_.compress && n >= 64 && !LooksIncompressible(p, n)) {
    ZstdContexts& z = ThreadZstd();
    if (z.cctx == nullptr) return Internal("cannot allocate a zstd context");
    if (z.level != options_.zstd_level) {
      ZSTD_CCtx_reset(z.cctx, ZSTD_reset_session_and_parameters);
      ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_compressionLevel, options_.zstd_level);
      ZSTD_CCtx_setParameter(z.cctx, ZSTD_c_contentSizeFlag, 1);
      z.level = options_.zstd_level;
    }
    const size_t limit = n - n / 32;  // must save at least 1/32
    frame->resize(base + 1 + limit);
    (*frame)[base] = static_cast<char>(kHeaderZstd);
    const size_t r = ZSTD_compress2(z.cctx, frame->data() + base + 1, limit, p, n);
    if (!ZSTD_isError(r)) {
      frame->resize(base + 1 + r);
      used = BlobEncoding::kZstd;
    } else if (ZSTD_getErrorCode(r) != ZSTD_error_dstSize_tooSmall) {
      frame->resize(base);
      return Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(r));
    }
  }
  if (used == BlobEncoding::kRaw) {
    frame->resize(base + 1 + n);
    (*frame)[base] = static_cast<char>(kHeaderRaw);
    if (n > 0) std::memcpy(frame->data() + base + 1, p, n);
  }
  if (encoding != nullptr) *encoding = used;
  if (encrypted()) {
    return AesGcmSeal(options_.keys->data, frame->data(), frame->size(), aad, out);
  }
  return Status::OK();
}

Status BlobCodec::DecodePlain(std::string_view framed, std::string* out) const {
  if (framed.empty()) return DataLoss("blob is empty (no header byte)");
  const uint8_t header = static_cast<uint8_t>(framed[0]);
  const std::string_view payload = framed.substr(1);
  if (header == kHeaderRaw) {
    if (payload.size() > options_.max_plaintext_size) {
      return DataLoss("raw blob of " + std::to_string(payload.size()) + " bytes exceeds the limit");
    }
    out->append(payload);
    return Status::OK();
  }
  if (header != kHeaderZstd) {
    return DataLoss("blob has unknown header byte " + std::to_string(header));
  }
  const unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return DataLoss("blob's zstd frame is damaged (no content size)");
  }
  if (size > options_.max_plaintext_size) {
    return DataLoss("blob claims " + std::to_string(size) + " bytes, over the limit");
  }
  const size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
  if (ZSTD_isError(frame_size) || frame_size != payload.size()) {
    return DataLoss("blob's zstd frame is damaged or has trailing bytes");
  }
  ZstdContexts& z = ThreadZstd();
  if (z.dctx == nullptr) return Internal("cannot allocate a zstd context");
  const size_t base = out->size();
  out->resize(base + size);
  const size_t r =
      ZSTD_decompressDCtx(z.dctx, out->data() + base, size, payload.data(), payload.size());
  if (ZSTD_isError(r) || r != size) {
    out->resize(base);
    return DataLoss(std::string("blob's zstd data is damaged: ") +
                    (ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size mismatch"));
  }
  return Status::OK();
}

Status BlobCodec::Decode(std::string_view stored, std::string* out, std::string_view aad) const {
  if (!encrypted()) return DecodePlain(stored, out);
  std::string& scratch = ThreadScratch();
  scratch.clear();
  VS_RETURN_IF_ERROR(AesGcmOpen(options_.keys->data, stored, aad, &scratch));
  return DecodePlain(scratch, out);
}

}  // namespace vecsafe::repo
