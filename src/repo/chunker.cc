#include "repo/chunker.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace vecsafe::repo {
namespace {

// Highest mask bit is 59, so the mask shifted left by up to 3 still fits in
// 64 bits: the 4-bytes-per-step loop tests h_i << 3, h_{i+1} << 2, ... which
// it gets without the serial shift of the plain gear loop.
constexpr int kMaskTop = 60;

uint64_t MaskBits(int bits) { return ((uint64_t{1} << bits) - 1) << (kMaskTop - bits); }

}  // namespace

Status ChunkerParams::Validate() const {
  const auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid chunker parameters (min " + std::to_string(min_size) +
                               ", avg " + std::to_string(avg_size) + ", max " +
                               std::to_string(max_size) + "): " + why,
                           "The repository config is damaged or was written by another tool.");
  };
  if (min_size < 64) return bad("min_size must be at least 64");
  if (!(min_size <= avg_size && avg_size <= max_size)) return bad("need min <= avg <= max");
  if (max_size > (64u << 20)) return bad("max_size must be at most 64 MiB");
  if (!std::has_single_bit(avg_size) || avg_size < 256 || avg_size > (16u << 20)) {
    return bad("avg_size must be a power of two in 256..16 MiB");
  }
  return Status::OK();
}

std::array<uint64_t, 256> Chunker::GearTable(uint64_t seed) {
  std::array<uint64_t, 256> t{};
  uint64_t state = seed;
  for (auto& v : t) {
    // SplitMix64 (Steele, Lea, Flood 2014).
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    v = z ^ (z >> 31);
  }
  return t;
}

Chunker::Chunker(const ChunkerParams& params) : params_(params) {
  if (!params.Validate().ok()) throw std::invalid_argument(params.Validate().message());
  const int bits = std::countr_zero(params.avg_size);
  mask_s_ = MaskBits(bits + 2);
  mask_l_ = MaskBits(bits - 2);
  gear_ = GearTable(params.seed);
  for (size_t i = 0; i < 256; ++i) gear_ls_[i] = gear_[i] << 1;
}

namespace {

// Scans p[i..end) continuing gear state h. Returns the chunk length (i+1 for
// a cut after byte i) or 0 if no cut; h then holds the state after end-1.
inline size_t Scan(const uint8_t* p, size_t i, size_t end, uint64_t* hp, uint64_t mask,
                   const uint64_t* g, const uint64_t* g1) {
  uint64_t h = *hp;
  const uint64_t m1 = mask << 1;
  const uint64_t m2 = mask << 2;
  const uint64_t m3 = mask << 3;
  // h_{k+1} = (h_k << 1) + g[b]. Four bytes per step: the prefix sums of the
  // shifted gear values are independent of h, so the loop-carried chain is
  // one shift and one add per four bytes. Each h_{i+j} is tested shifted
  // left by 3-j against the mask shifted the same way.
  while (i + 4 <= end) {
    const uint64_t t = h << 4;
    const uint64_t a0 = g1[p[i]] << 2;  // g[b0] << 3
    const uint64_t a1 = a0 + (g[p[i + 1]] << 2);
    const uint64_t a2 = a1 + g1[p[i + 2]];
    const uint64_t a3 = a2 + g[p[i + 3]];
    h = t + a3;
    if (((t + a0) & m3) == 0) [[unlikely]]
      return i + 1;
    if (((t + a1) & m2) == 0) [[unlikely]]
      return i + 2;
    if (((t + a2) & m1) == 0) [[unlikely]]
      return i + 3;
    if ((h & mask) == 0) [[unlikely]]
      return i + 4;
    i += 4;
  }
  while (i < end) {
    h = (h << 1) + g[p[i]];
    ++i;
    if ((h & mask) == 0) return i;
  }
  *hp = h;
  return 0;
}

}  // namespace

size_t Chunker::FindBoundaryFrom(const uint8_t* data, size_t n, bool at_eof, size_t* pos,
                                 uint64_t* hash) const {
  if (n == 0) return 0;
  const size_t min = params_.min_size;
  const size_t avg = params_.avg_size;
  const size_t limit = std::min(n, params_.max_size);
  if (limit == params_.max_size && limit <= min) return limit;
  if (limit <= min) return at_eof ? n : 0;
  size_t i = std::max(*pos, min);
  uint64_t h = *pos <= min ? 0 : *hash;
  if (i < avg) {
    const size_t end = std::min(avg, limit);
    if (const size_t cut = Scan(data, i, end, &h, mask_s_, gear_.data(), gear_ls_.data())) {
      return cut;
    }
    i = end;
  }
  if (i < limit) {
    if (const size_t cut = Scan(data, i, limit, &h, mask_l_, gear_.data(), gear_ls_.data())) {
      return cut;
    }
    i = limit;
  }
  if (limit == params_.max_size) return limit;
  if (at_eof) return n;
  *pos = i;
  *hash = h;
  return 0;
}

size_t Chunker::FindBoundary(const uint8_t* data, size_t n, bool at_eof) const {
  size_t pos = 0;
  uint64_t hash = 0;
  return FindBoundaryFrom(data, n, at_eof, &pos, &hash);
}

StreamChunker::StreamChunker(const Chunker& chunker) : chunker_(chunker) {}

Status StreamChunker::Drain(bool at_eof, const Sink& sink) {
  const auto* base = reinterpret_cast<const uint8_t*>(buf_.data());
  while (start_ < buf_.size()) {
    const size_t avail = buf_.size() - start_;
    const size_t cut =
        chunker_.FindBoundaryFrom(base + start_, avail, at_eof, &scan_pos_, &scan_hash_);
    if (cut == 0) break;
    const size_t at = start_;
    start_ += cut;
    scan_pos_ = 0;
    scan_hash_ = 0;
    VS_RETURN_IF_ERROR(sink(base + at, cut));
  }
  return Status::OK();
}

Status StreamChunker::Write(const uint8_t* data, size_t n, const Sink& sink) {
  bytes_in_ += n;
  const size_t max = chunker_.params().max_size;
  while (n > 0) {
    // Drop consumed bytes once they outnumber the pending ones (pending bytes
    // are always fewer than max_size), so the memmove cost stays amortised.
    if (start_ > 0 && start_ >= buf_.size() - start_) {
      buf_.erase(0, start_);
      start_ = 0;
    }
    const size_t take = std::min(n, 4 * max);
    buf_.append(reinterpret_cast<const char*>(data), take);
    data += take;
    n -= take;
    VS_RETURN_IF_ERROR(Drain(false, sink));
  }
  return Status::OK();
}

Status StreamChunker::Finish(const Sink& sink) {
  Status st = Drain(true, sink);
  buf_.clear();
  start_ = 0;
  scan_pos_ = 0;
  scan_hash_ = 0;
  bytes_in_ = 0;
  return st;
}

}  // namespace vecsafe::repo
