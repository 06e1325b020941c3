// Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with
// normalized chunking level 2 and the two-bytes-per-step gear loop.
//
// A cut point depends only on the bytes since the start of the current chunk,
// so an edit shifts at most the chunk(s) around it: data before the edit is cut
// identically and the cuts after it resynchronise within a chunk or two.
//
// The gear table is derived from a 64-bit seed stored in the repository
// config (for an encrypted repository the seed comes from the key, so chunk
// sizes reveal nothing about the plaintext). Changing the seed, the sizes or
// this algorithm changes every boundary: all of it is format (docs/FORMAT.md)
// and pinned by a known-answer test.
//
// Streaming: the caller keeps the bytes of the current chunk from its start;
// FindBoundary() looks at them and says where the chunk ends, or that it needs
// more bytes. StreamChunker does that buffering for a stream that arrives in
// pieces of any size and never rescans a byte.
#ifndef VECSAFE_REPO_CHUNKER_H_
#define VECSAFE_REPO_CHUNKER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "vecsafe/status.h"

namespace vecsafe::repo {

struct ChunkerParams {
  // No chunk is smaller, except the last chunk of a stream. Default: 16 KiB.
  size_t min_size = 16 * 1024;
  // Target average size; must be a power of two. Default: 64 KiB.
  size_t avg_size = 64 * 1024;
  // No chunk is larger. Default: 256 KiB.
  size_t max_size = 256 * 1024;
  // Seeds the gear table. Default: 0 (tests; repositories store a random one).
  uint64_t seed = 0;

  // kInvalidArgument unless 64 <= min_size <= avg_size <= max_size <= 64 MiB,
  // avg_size is a power of two in [256, 16 MiB].
  Status Validate() const;
};

class Chunker {
 public:
  // REQUIRES: params.Validate().ok() (throws std::invalid_argument otherwise).
  explicit Chunker(const ChunkerParams& params);

  // `data[0..n)` are the bytes from the start of the current chunk (maybe
  // fewer than the whole chunk). Returns the length of the chunk that starts
  // at data[0]: in [1, max_size], and >= min_size unless at_eof cut it short.
  // Returns 0 when the cut is not decided yet: no cut point in data[0..n),
  // n < max_size and !at_eof; call again with more bytes (same start).
  // Returns 0 when n == 0. Thread-safe (const).
  size_t FindBoundary(const uint8_t* data, size_t n, bool at_eof) const;

  const ChunkerParams& params() const { return params_; }

  // The gear table for `seed` (exposed for the format test and reference
  // implementations): SplitMix64 outputs, in order, from state `seed`.
  static std::array<uint64_t, 256> GearTable(uint64_t seed);
  // The masks (bit sets that must be all zero at a cut) before and after
  // avg_size: log2(avg)+2 and log2(avg)-2 bits, just below bit 63.
  uint64_t mask_small() const { return mask_s_; }
  uint64_t mask_large() const { return mask_l_; }

  // Resumable scan used by StreamChunker: continues a scan of the chunk at
  // `data` from position `*pos` with gear state `*hash` (start: pos=0, hash=0)
  // over data[*pos..n). Same result as FindBoundary(data, n, at_eof), but
  // bytes before *pos are not looked at again. On a 0 return, *pos/*hash are
  // updated so that the next call continues where this one stopped.
  size_t FindBoundaryFrom(const uint8_t* data, size_t n, bool at_eof, size_t* pos,
                          uint64_t* hash) const;

 private:
  ChunkerParams params_;
  uint64_t mask_s_ = 0;
  uint64_t mask_l_ = 0;
  std::array<uint64_t, 256> gear_{};
  std::array<uint64_t, 256> gear_ls_{};  // gear_ << 1, for the 2-bytes step
};

// Cuts a stream that arrives in pieces into chunks. Not thread-safe.
//
//   StreamChunker sc(chunker);
//   while (read piece) VS_RETURN_IF_ERROR(sc.Write(piece, n, sink));
//   VS_RETURN_IF_ERROR(sc.Finish(sink));
//
// `sink` is called once per chunk, in order, with a pointer that is valid
// only during the call. A non-OK status from the sink stops and is returned.
// The same bytes give the same chunks whatever the piece sizes.
class StreamChunker {
 public:
  using Sink = std::function<Status(const uint8_t* data, size_t n)>;

  explicit StreamChunker(const Chunker& chunker);

  Status Write(const uint8_t* data, size_t n, const Sink& sink);
  // Emits the remaining bytes as the last chunk(s) and resets for a new stream.
  Status Finish(const Sink& sink);

  // Bytes accepted so far in this stream.
  uint64_t bytes_in() const { return bytes_in_; }

 private:
  Status Drain(bool at_eof, const Sink& sink);

  const Chunker& chunker_;
  std::string buf_;  // pending bytes; the current chunk starts at buf_[start_]
  size_t start_ = 0;
  size_t scan_pos_ = 0;  // relative to start_
  uint64_t scan_hash_ = 0;
  uint64_t bytes_in_ = 0;
};

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_CHUNKER_H_
