#include "repo/sha256_pair.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace vecsafe::repo {
namespace {

constexpr std::array<uint32_t, 8> kIv = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

void PutBe32(uint32_t v, uint8_t* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

void PutBe64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

Hash256 Digest(const std::array<uint32_t, 8>& state) {
  Hash256 h;
  for (int i = 0; i < 8; ++i) PutBe32(state[i], h.data() + 4 * i);
  return h;
}

#if defined(__x86_64__)

alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define VS_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

// One lane's working registers: the state as SHA-NI wants it (ABEF, CDGH)
// and the last 16 message words.
struct Lane {
  __m128i abef, cdgh, abef_save, cdgh_save;
  __m128i w[4];
};

VS_SHA_TARGET inline void LoadState(const uint32_t* s, Lane& l) {
  __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));       // A B C D
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 4));  // E F G H
  tmp = _mm_shuffle_epi32(tmp, 0xB1);                                       // C D A B
  efgh = _mm_shuffle_epi32(efgh, 0x1B);                                     // H G F E
  l.abef = _mm_alignr_epi8(tmp, efgh, 8);
  l.cdgh = _mm_blend_epi16(efgh, tmp, 0xF0);
}

VS_SHA_TARGET inline void StoreState(const Lane& l, uint32_t* s) {
  const __m128i feba = _mm_shuffle_epi32(l.abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(l.cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s + 4), _mm_alignr_epi8(dchg, feba, 8));
}

VS_SHA_TARGET inline void BeginBlock(const uint8_t* block, Lane& l) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  for (int j = 0; j < 4; ++j) {
    l.w[j] =
        _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * j)), swap);
  }
  l.abef_save = l.abef;
  l.cdgh_save = l.cdgh;
}

// Rounds 4i .. 4i+3, after extending the message schedule to words 4i .. 4i+3.
VS_SHA_TARGET inline void Rounds(int i, Lane& l) {
  if (i >= 4) {
    // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] for four t at once;
    // w[i & 3] holds words 4i-16 .. 4i-13 on entry.
    const __m128i w7 = _mm_alignr_epi8(l.w[(i - 1) & 3], l.w[(i - 2) & 3], 4);
    __m128i x = _mm_sha256msg1_epu32(l.w[i & 3], l.w[(i - 3) & 3]);
    x = _mm_add_epi32(x, w7);
    l.w[i & 3] = _mm_sha256msg2_epu32(x, l.w[(i - 1) & 3]);
  }
  __m128i m =
      _mm_add_epi32(l.w[i & 3], _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * i)));
  l.cdgh = _mm_sha256rnds2_epu32(l.cdgh, l.abef, m);
  m = _mm_shuffle_epi32(m, 0x0E);
  l.abef = _mm_sha256rnds2_epu32(l.abef, l.cdgh, m);
}

VS_SHA_TARGET inline void EndBlock(Lane& l) {
  l.abef = _mm_add_epi32(l.abef, l.abef_save);
  l.cdgh = _mm_add_epi32(l.cdgh, l.cdgh_save);
}

VS_SHA_TARGET void Compress1(uint32_t* state, const uint8_t* p, size_t blocks) {
  Lane a;
  LoadState(state, a);
  for (size_t b = 0; b < blocks; ++b, p += 64) {
    BeginBlock(p, a);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) Rounds(i, a);
    EndBlock(a);
  }
  StoreState(a, state);
}

// Both lanes' rounds interleaved: each waits on its own round latency, and
// the other lane's instructions fill the gaps.
VS_SHA_TARGET void Compress2(uint32_t* sa, const uint8_t* pa, uint32_t* sb, const uint8_t* pb,
                             size_t blocks) {
  Lane a;
  Lane b;
  LoadState(sa, a);
  LoadState(sb, b);
  for (size_t k = 0; k < blocks; ++k, pa += 64, pb += 64) {
    BeginBlock(pa, a);
    BeginBlock(pb, b);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      Rounds(i, a);
      Rounds(i, b);
    }
    EndBlock(a);
    EndBlock(b);
  }
  StoreState(a, sa);
  StoreState(b, sb);
}

bool CpuHasShaNi() {
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool ssse3 = (ecx & (1u << 9)) != 0;
  const bool sse41 = (ecx & (1u << 19)) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool sha = (ebx & (1u << 29)) != 0;
  return ssse3 && sse41 && sha;
}

#else  // not x86-64: Available() is false and nothing below runs.

void Compress1(uint32_t*, const uint8_t*, size_t) { std::abort(); }
void Compress2(uint32_t*, const uint8_t*, uint32_t*, const uint8_t*, size_t) { std::abort(); }
bool CpuHasShaNi() { return false; }

#endif

// Compresses the final block(s) of a message whose last `tail_len` bytes
// (< 64) are `tail`, `total` bytes long in all.
void Finish(uint32_t* state, const uint8_t* tail, size_t tail_len, uint64_t total) {
  uint8_t last[128] = {};
  if (tail_len != 0) std::memcpy(last, tail, tail_len);  // tail may be null when empty
  last[tail_len] = 0x80;
  const size_t blocks = tail_len < 56 ? 1 : 2;
  PutBe64(total * 8, last + 64 * blocks - 8);
  Compress1(state, last, blocks);
}

}  // namespace

bool Sha256Pair::Available() {
  static const bool available = CpuHasShaNi();
  return available;
}

Sha256Pair::Sha256Pair(const std::optional<Key256>& chunk_key)
    : file_state_(kIv), chunk_init_(kIv), outer_init_(kIv) {
  if (!chunk_key) return;
  // HMAC with a 32-byte key: the key padded with zeros to one block, then
  // xored with ipad / opad, each absorbed once here.
  uint8_t pad[64];
  for (size_t i = 0; i < 64; ++i) pad[i] = (i < 32 ? (*chunk_key)[i] : uint8_t{0}) ^ 0x36;
  Compress1(chunk_init_.data(), pad, 1);
  for (size_t i = 0; i < 64; ++i) pad[i] = (i < 32 ? (*chunk_key)[i] : uint8_t{0}) ^ 0x5c;
  Compress1(outer_init_.data(), pad, 1);
  chunk_prefix_ = 64;
  keyed_ = true;
}

Hash256 Sha256Pair::Chunk(const uint8_t* p, size_t n) {
  static constexpr uint8_t kNoBytes[1] = {0};
  if (n == 0) p = kNoBytes;  // an empty chunk may come as nullptr; memcpy must not see it
  // The file's stream first completes the block it has pending; from there
  // both streams run on whole blocks of the same bytes, at different offsets.
  const size_t pending = file_bytes_ % 64;
  size_t file_from = 0;
  if (pending != 0) {
    const size_t fill = std::min(n, 64 - pending);
    std::memcpy(file_tail_.data() + pending, p, fill);
    file_from = fill;
    if (pending + fill == 64) Compress1(file_state_.data(), file_tail_.data(), 1);
  }
  file_bytes_ += n;
  const size_t file_blocks = (n - file_from) / 64;
  const size_t chunk_blocks = n / 64;  // >= file_blocks
  State chunk = chunk_init_;
  Compress2(file_state_.data(), p + file_from, chunk.data(), p, file_blocks);
  if (chunk_blocks > file_blocks) {
    Compress1(chunk.data(), p + 64 * file_blocks, chunk_blocks - file_blocks);
  }
  const size_t file_done = file_from + 64 * file_blocks;
  if (file_done < n) std::memcpy(file_tail_.data(), p + file_done, n - file_done);
  return CloseChunk(chunk, p, n);
}

Hash256 Sha256Pair::CloseChunk(State chunk, const uint8_t* p, size_t n) const {
  const size_t blocks = n / 64;
  Finish(chunk.data(), p + 64 * blocks, n - 64 * blocks, chunk_prefix_ + n);
  if (!keyed_) return Digest(chunk);
  // HMAC's outer hash: one block holding the inner digest.
  const Hash256 inner = Digest(chunk);
  State outer = outer_init_;
  Finish(outer.data(), inner.data(), inner.size(), 64 + inner.size());
  return Digest(outer);
}

std::pair<Hash256, Hash256> Sha256Pair::TwoChunkIds(const uint8_t* a, size_t na, const uint8_t* b,
                                                    size_t nb) const {
  static constexpr uint8_t kNoBytes[1] = {0};
  if (na == 0) a = kNoBytes;
  if (nb == 0) b = kNoBytes;
  const size_t blocks_a = na / 64;
  const size_t blocks_b = nb / 64;
  const size_t both = std::min(blocks_a, blocks_b);
  State sa = chunk_init_;
  State sb = chunk_init_;
  Compress2(sa.data(), a, sb.data(), b, both);
  if (blocks_a > both) Compress1(sa.data(), a + 64 * both, blocks_a - both);
  if (blocks_b > both) Compress1(sb.data(), b + 64 * both, blocks_b - both);
  return {CloseChunk(sa, a, na), CloseChunk(sb, b, nb)};
}

Hash256 Sha256Pair::FinishFile() {
  const size_t pending = file_bytes_ % 64;
  Finish(file_state_.data(), file_tail_.data(), pending, file_bytes_);
  const Hash256 out = Digest(file_state_);
  file_state_ = kIv;
  file_bytes_ = 0;
  return out;
}

}  // namespace vecsafe::repo
