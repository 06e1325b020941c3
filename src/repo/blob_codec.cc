#include "repo/blob_codec.h"

// For ZSTD_c_literalCompressionMode (stable in libzstd since 1.5.1; the call
// is checked and falls back to default parameters if a library refuses it).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vecsafe::repo {
namespace {

constexpr uint8_t kHeaderRaw = static_cast<uint8_t>(BlobEncoding::kRaw);
constexpr uint8_t kHeaderZstd = static_cast<uint8_t>(BlobEncoding::kZstd);
constexpr uint8_t kHeaderPlanes = static_cast<uint8_t>(BlobEncoding::kZstdPlanes4);
constexpr uint8_t kHeaderDelta = static_cast<uint8_t>(BlobEncoding::kDelta);
constexpr size_t kDeltaIdSize = 32;

// zstd "acceleration" for byte planes: the planes of float vectors and
// integer arrays have almost no long matches, their gain is in the literal
// entropy coding, so a sparse match search keeps the gain at 2-3x the speed.
constexpr int kPlaneAcceleration = 256;

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}

// Per-thread zstd contexts: creating one costs more than compressing a chunk.
struct ZstdContexts {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();        // whole-blob compression, level below
  ZSTD_CCtx* plane_cctx = ZSTD_createCCtx();  // byte planes
  ZSTD_CCtx* delta_cctx = ZSTD_createCCtx();  // deltas against a base chunk
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  int level = 0x7fff;
  bool plane_ready = false;
  bool delta_ready = false;
  std::string planes;  // scratch for the transposed input / output
  ~ZstdContexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeCCtx(plane_cctx);
    ZSTD_freeCCtx(delta_cctx);
    ZSTD_freeDCtx(dctx);
  }
  void SetupDelta() {
    if (delta_ready) return;
    // Level 1: what a delta gains is the long matches into the base, which
    // the fastest match finder already takes; a 512 KiB window (2^19)
    // covers a base and a chunk of the largest size (256 KiB each).
    ZSTD_CCtx_setParameter(delta_cctx, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(delta_cctx, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(delta_cctx, ZSTD_c_windowLog, 19);
    delta_ready = true;
  }
  void SetLevel(int l) {
    if (level == l) return;
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, l);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    level = l;
  }
  void SetupPlanes() {
    if (plane_ready) return;
    ZSTD_CCtx_setParameter(plane_cctx, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(plane_cctx, ZSTD_c_contentSizeFlag, 1);
    // Acceleration alone would switch literal compression off; keep it on.
    const size_t r =
        ZSTD_CCtx_setParameter(plane_cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
    if (!ZSTD_isError(r)) {
      ZSTD_CCtx_setParameter(plane_cctx, ZSTD_c_targetLength, kPlaneAcceleration);
    }
    plane_ready = true;
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

double Entropy(const uint32_t* hist, double total) {
  double bits = 0;
  for (int i = 0; i < 256; ++i) {
    if (hist[i] != 0) {
      const double q = hist[i] / total;
      bits -= q * std::log2(q);
    }
  }
  return bits;
}

// What a cheap look at a few spread-out samples says about the data.
struct Shape {
  double all = 0;       // order-0 entropy, bits per byte
  double lane[4] = {};  // entropy of the bytes at offsets = k (mod 4)
  double lane_mean = 0;
};

constexpr size_t kSampleMin = 16 * 1024;
constexpr size_t kSampleBlocks = 4;
constexpr size_t kSampleBlock = 2048;

Shape Analyze(const uint8_t* p, size_t n) {
  uint32_t hist[4][256] = {};
  // Sample starts are multiples of 4 so that lanes line up across samples.
  const size_t step = ((n - kSampleBlock) / (kSampleBlocks - 1)) & ~size_t{3};
  for (size_t b = 0; b < kSampleBlocks; ++b) {
    const uint8_t* s = p + b * step;
    for (size_t i = 0; i < kSampleBlock; i += 4) {
      ++hist[0][s[i]];
      ++hist[1][s[i + 1]];
      ++hist[2][s[i + 2]];
      ++hist[3][s[i + 3]];
    }
  }
  uint32_t all[256];
  for (int i = 0; i < 256; ++i) all[i] = hist[0][i] + hist[1][i] + hist[2][i] + hist[3][i];
  Shape shape;
  constexpr double kTotal = kSampleBlocks * kSampleBlock;
  shape.all = Entropy(all, kTotal);
  for (int k = 0; k < 4; ++k) {
    shape.lane[k] = Entropy(hist[k], kTotal / 4);
    shape.lane_mean += shape.lane[k] / 4;
  }
  return shape;
}

// Data at ~8 bits/byte (random, encrypted, already compressed) cannot shrink
// by the 1/32 we require unless it repeats itself at long range, which chunks
// of such data practically never do. Uniform random bytes measure ~7.96 on
// 8 KiB of samples (small-sample bias).
constexpr double kIncompressibleBits = 7.9;
// Lanes much more predictable than the whole: 32-bit structure (float32
// vectors, int32 ids) measure 0.75+ bits apart; text and SQLite pages
// within ~0.05 bit.
constexpr double kLaneGainBits = 0.3;

// Byte planes: plane k holds bytes k, k+4, k+8, ... of the first 4*m bytes.
// The byte-at-a-time loops ran at ~1 GB/s and took 6.5 % of a backup's CPU
// on float-vector data; SSE2 (baseline on x86-64) moves 16 elements a step.
void SplitPlanes(const uint8_t* p, size_t m, uint8_t* out) {
  uint8_t* p0 = out;
  uint8_t* p1 = out + m;
  uint8_t* p2 = out + 2 * m;
  uint8_t* p3 = out + 3 * m;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi32(0xff);
  uint8_t* planes[4] = {p0, p1, p2, p3};
  for (; i + 16 <= m; i += 16) {
    const __m128i v[4] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 * i)),
                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 * i + 16)),
                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 * i + 32)),
                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 * i + 48))};
    for (int k = 0; k < 4; ++k) {
      // Byte k of each 32-bit element, widened to 0..255, then narrowed in
      // element order: packs keeps values <= 255 exact.
      __m128i w[4];
      for (int j = 0; j < 4; ++j) {
        w[j] = _mm_and_si128(_mm_srli_epi32(v[j], 8 * k), low);
      }
      const __m128i bytes =
          _mm_packus_epi16(_mm_packs_epi32(w[0], w[1]), _mm_packs_epi32(w[2], w[3]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(planes[k] + i), bytes);
    }
  }
#endif
  for (; i < m; ++i) {
    p0[i] = p[4 * i];
    p1[i] = p[4 * i + 1];
    p2[i] = p[4 * i + 2];
    p3[i] = p[4 * i + 3];
  }
}
void JoinPlanes(const uint8_t* planes, size_t m, uint8_t* out) {
  const uint8_t* p0 = planes;
  const uint8_t* p1 = planes + m;
  const uint8_t* p2 = planes + 2 * m;
  const uint8_t* p3 = planes + 3 * m;
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= m; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1 + i));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p2 + i));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p3 + i));
    // Bytes 0,1 and 2,3 of each element side by side, then the two halves.
    const __m128i ab_lo = _mm_unpacklo_epi8(a, b);
    const __m128i ab_hi = _mm_unpackhi_epi8(a, b);
    const __m128i cd_lo = _mm_unpacklo_epi8(c, d);
    const __m128i cd_hi = _mm_unpackhi_epi8(c, d);
    auto* o = reinterpret_cast<__m128i*>(out + 4 * i);
    _mm_storeu_si128(o, _mm_unpacklo_epi16(ab_lo, cd_lo));
    _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab_lo, cd_lo));
    _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab_hi, cd_hi));
    _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab_hi, cd_hi));
  }
#endif
  for (; i < m; ++i) {
    out[4 * i] = p0[i];
    out[4 * i + 1] = p1[i];
    out[4 * i + 2] = p2[i];
    out[4 * i + 3] = p3[i];
  }
}

// Appends the kZstdPlanes4 payload (after the header byte) to *frame, giving
// up (false) once it cannot stay under `limit` payload bytes.
bool EncodePlanes(const uint8_t* p, size_t n, const Shape& shape, size_t limit,
                  std::string* frame) {
  ZstdContexts& z = ThreadZstd();
  z.SetupPlanes();
  const size_t m = n / 4;
  z.planes.resize(4 * m);
  auto* planes = reinterpret_cast<uint8_t*>(z.planes.data());
  SplitPlanes(p, m, planes);
  const size_t base = frame->size();
  frame->resize(base + 5 + limit);
  char* out = frame->data() + base;
  size_t used = 5;
  uint8_t mask = 0;
  PutU32(static_cast<uint32_t>(n), out);
  for (int k = 0; k < 4; ++k) {
    const uint8_t* plane = planes + k * m;
    bool packed = false;
    if (shape.lane[k] <= kIncompressibleBits && used + 4 < limit) {
      const size_t r = ZSTD_compress2(z.plane_cctx, out + used + 4, limit - used - 4, plane, m);
      if (!ZSTD_isError(r) && r < m) {
        PutU32(static_cast<uint32_t>(r), out + used);
        used += 4 + r;
        mask |= static_cast<uint8_t>(1u << k);
        packed = true;
      }
    }
    if (!packed) {
      if (used + m > limit) {
        frame->resize(base);
        return false;
      }
      std::memcpy(out + used, plane, m);
      used += m;
    }
  }
  const size_t tail = n - 4 * m;
  if (used + tail > limit) {
    frame->resize(base);
    return false;
  }
  std::memcpy(out + used, p + 4 * m, tail);
  used += tail;
  out[4] = static_cast<char>(mask);
  frame->resize(base + used);
  return true;
}

Status BadBlob(const std::string& what) { return DataLoss("blob is damaged: " + what); }

// Decompresses exactly `want` bytes from one zstd frame that must fill `in`;
// `prefix` is the raw-content prefix the frame was compressed against (deltas).
Status DecompressExact(std::string_view in, size_t want, uint8_t* out,
                       std::string_view prefix = {}) {
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size != want) {
    return BadBlob("zstd frame header is invalid or has the wrong size");
  }
  const size_t frame_size = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame_size) || frame_size != in.size()) {
    return BadBlob("zstd frame is truncated or has trailing bytes");
  }
  ZstdContexts& z = ThreadZstd();
  if (z.dctx == nullptr) return Internal("cannot allocate a zstd context");
  if (!prefix.empty()) {
    // Single use: applies to the next frame only, as raw content (never
    // parsed as a zstd dictionary, whatever its first bytes).
    const size_t p = ZSTD_DCtx_refPrefix(z.dctx, prefix.data(), prefix.size());
    if (ZSTD_isError(p)) return Internal(std::string("zstd prefix: ") + ZSTD_getErrorName(p));
  }
  const size_t r = ZSTD_decompressDCtx(z.dctx, out, want, in.data(), in.size());
  if (ZSTD_isError(r) || r != want) {
    return BadBlob(std::string("zstd data: ") +
                   (ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size mismatch"));
  }
  return Status::OK();
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

size_t BlobCodec::MaxEncodedSize(size_t n) { return 1 + n + kGcmOverhead; }

Status BlobCodec::Encode(const void* data, size_t n, std::string* out, std::string_view aad,
                         BlobEncoding* encoding) const {
  const auto* p = static_cast<const uint8_t*>(data);
  // Frame into *out directly when not encrypting, else into scratch.
  std::string* frame = encrypted() ? &ThreadScratch() : out;
  const size_t base = encrypted() ? 0 : out->size();
  if (encrypted()) frame->clear();

  BlobEncoding used = BlobEncoding::kRaw;
  if (options_.compress && n >= 64) {
    const size_t limit = n - n / 32;  // compression must save at least 1/32
    Shape shape;
    bool try_zstd = true;
    if (n >= kSampleMin && n <= UINT32_MAX) {
      shape = Analyze(p, n);
      if (shape.all > kIncompressibleBits) {
        try_zstd = false;
      } else if (options_.byte_planes && shape.lane_mean < shape.all - kLaneGainBits) {
        frame->resize(base);
        frame->push_back(static_cast<char>(kHeaderPlanes));
        if (EncodePlanes(p, n, shape, limit, frame)) {
          used = BlobEncoding::kZstdPlanes4;
        } else {
          frame->resize(base);
        }
        try_zstd = false;
      }
    }
    if (try_zstd) {
      ZstdContexts& z = ThreadZstd();
      if (z.cctx == nullptr) return Internal("cannot allocate a zstd context");
      z.SetLevel(options_.zstd_level);
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

Status BlobCodec::EncodeDelta(const void* data, size_t n, std::string_view base,
                              const Hash256& base_id, std::string* out,
                              std::string_view aad) const {
  if (base.empty()) return InvalidArgument("a delta needs a non-empty base");
  std::string* frame = encrypted() ? &ThreadScratch() : out;
  const size_t start = encrypted() ? 0 : out->size();
  if (encrypted()) frame->clear();
  ZstdContexts& z = ThreadZstd();
  if (z.delta_cctx == nullptr) return Internal("cannot allocate a zstd context");
  z.SetupDelta();
  const size_t bound = ZSTD_compressBound(n);
  frame->resize(start + 1 + kDeltaIdSize + bound);
  char* p = frame->data() + start;
  p[0] = static_cast<char>(kHeaderDelta);
  std::memcpy(p + 1, base_id.data(), kDeltaIdSize);
  size_t r = ZSTD_CCtx_refPrefix(z.delta_cctx, base.data(), base.size());
  if (!ZSTD_isError(r)) r = ZSTD_compress2(z.delta_cctx, p + 1 + kDeltaIdSize, bound, data, n);
  if (ZSTD_isError(r)) {
    ZSTD_CCtx_reset(z.delta_cctx, ZSTD_reset_session_only);
    frame->resize(start);
    return Internal(std::string("zstd delta compression failed: ") + ZSTD_getErrorName(r));
  }
  frame->resize(start + 1 + kDeltaIdSize + r);
  if (encrypted()) {
    return AesGcmSeal(options_.keys->data, frame->data(), frame->size(), aad, out);
  }
  return Status::OK();
}

Result<size_t> BlobCodec::PlainSize(std::string_view framed) const {
  if (framed.empty()) return BadBlob("empty (no header byte)");
  const uint8_t header = static_cast<uint8_t>(framed[0]);
  std::string_view payload = framed.substr(1);
  size_t size = 0;
  if (header == kHeaderRaw) {
    size = payload.size();
  } else if (header == kHeaderZstd) {
    unsigned long long z = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (z == ZSTD_CONTENTSIZE_ERROR || z == ZSTD_CONTENTSIZE_UNKNOWN) {
      return BadBlob("zstd frame header is invalid");
    }
    if (z > options_.max_plaintext_size) z = options_.max_plaintext_size + 1;  // refused below
    size = static_cast<size_t>(z);
  } else if (header == kHeaderPlanes) {
    if (payload.size() < 5) return BadBlob("byte-plane header is truncated");
    size = GetU32(payload.data());
  } else if (header == kHeaderDelta) {
    if (payload.size() < kDeltaIdSize) return BadBlob("delta header is truncated");
    payload.remove_prefix(kDeltaIdSize);
    unsigned long long z = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (z == ZSTD_CONTENTSIZE_ERROR || z == ZSTD_CONTENTSIZE_UNKNOWN) {
      return BadBlob("delta zstd frame header is invalid");
    }
    if (z > options_.max_plaintext_size) z = options_.max_plaintext_size + 1;  // refused below
    size = static_cast<size_t>(z);
  } else {
    return BadBlob("unknown header byte " + std::to_string(header));
  }
  if (size > options_.max_plaintext_size) {
    return BadBlob("claims " + std::to_string(size) + " bytes, over the limit");
  }
  return size;
}

Status BlobCodec::DecodePlainTo(std::string_view framed, uint8_t* dst, size_t size,
                                const BaseReader* base) const {
  const uint8_t header = static_cast<uint8_t>(framed[0]);
  if (header == kHeaderDelta) return DecodeDeltaTo(framed, dst, size, base);
  std::string_view payload = framed.substr(1);
  if (header == kHeaderRaw) {
    std::memcpy(dst, payload.data(), size);
    return Status::OK();
  }
  if (header == kHeaderZstd) return DecompressExact(payload, size, dst);
  const size_t n = size;
  const uint8_t mask = static_cast<uint8_t>(payload[4]);
  if (mask > 0x0f) return BadBlob("byte-plane mask has unknown bits");
  payload.remove_prefix(5);
  const size_t m = n / 4;
  ZstdContexts& z = ThreadZstd();
  z.planes.resize(4 * m);
  auto* planes = reinterpret_cast<uint8_t*>(z.planes.data());
  for (int k = 0; k < 4; ++k) {
    uint8_t* plane = planes + k * m;
    if ((mask >> k) & 1) {
      if (payload.size() < 4) return BadBlob("byte-plane size is truncated");
      const size_t clen = GetU32(payload.data());
      payload.remove_prefix(4);
      if (clen > payload.size()) return BadBlob("byte plane runs past the end");
      VS_RETURN_IF_ERROR(DecompressExact(payload.substr(0, clen), m, plane));
      payload.remove_prefix(clen);
    } else {
      if (payload.size() < m) return BadBlob("raw byte plane is truncated");
      std::memcpy(plane, payload.data(), m);
      payload.remove_prefix(m);
    }
  }
  if (payload.size() != n - 4 * m) return BadBlob("byte-plane tail has the wrong length");
  JoinPlanes(planes, m, dst);
  if (!payload.empty()) std::memcpy(dst + 4 * m, payload.data(), payload.size());
  return Status::OK();
}

Status BlobCodec::DecodeDeltaTo(std::string_view framed, uint8_t* dst, size_t size,
                                const BaseReader* base) const {
  if (base == nullptr || !*base) {
    return BadBlob("a delta blob where none may be (its base is itself a delta)");
  }
  Hash256 base_id;
  std::memcpy(base_id.data(), framed.data() + 1, kDeltaIdSize);
  // Reading the base decodes another blob on this thread, which reuses the
  // thread's scratch that `framed` may point into: keep a copy of the frame.
  const std::string frame(framed.substr(1 + kDeltaIdSize));
  std::string plain;
  VS_RETURN_IF_ERROR((*base)(base_id, &plain));
  if (plain.empty()) return BadBlob("its delta base is empty");
  return DecompressExact(frame, size, dst, plain);
}

Status BlobCodec::DecodePlain(std::string_view framed, std::string* out,
                              const BaseReader* base) const {
  VS_ASSIGN_OR_RETURN(const size_t size, PlainSize(framed));
  const size_t start = out->size();
  out->resize(start + size);
  Status st = DecodePlainTo(framed, reinterpret_cast<uint8_t*>(out->data() + start), size, base);
  if (!st.ok()) out->resize(start);
  return st;
}

Result<std::string_view> BlobCodec::Open(std::string_view stored, std::string_view aad) const {
  if (!encrypted()) return stored;
  std::string& scratch = ThreadScratch();
  scratch.clear();
  VS_RETURN_IF_ERROR(AesGcmOpen(options_.keys->data, stored, aad, &scratch));
  return std::string_view(scratch);
}

Result<size_t> BlobCodec::DecodeTo(std::string_view stored, std::string_view aad, char* dst,
                                   size_t cap, const BaseReader* base) const {
  VS_ASSIGN_OR_RETURN(const std::string_view framed, Open(stored, aad));
  VS_ASSIGN_OR_RETURN(const size_t size, PlainSize(framed));
  if (size > cap) {
    return BadBlob("claims " + std::to_string(size) + " bytes, more than the " +
                   std::to_string(cap) + " expected");
  }
  VS_RETURN_IF_ERROR(DecodePlainTo(framed, reinterpret_cast<uint8_t*>(dst), size, base));
  return size;
}

Status BlobCodec::Decode(std::string_view stored, std::string* out, std::string_view aad,
                         const BaseReader* base) const {
  VS_ASSIGN_OR_RETURN(const std::string_view framed, Open(stored, aad));
  return DecodePlain(framed, out, base);
}

}  // namespace vecsafe::repo
