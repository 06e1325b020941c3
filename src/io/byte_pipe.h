// BytePipe: a bounded byte ring between one producer thread and one consumer
// thread, so that receiving a stream (e.g. curl's write callback) and
// processing it (chunking and hashing) run on two cores instead of taking
// turns on one.
//
// The producer's Write() copies bytes in and blocks while the ring is full;
// the consumer's Drain() hands out contiguous pieces straight from the ring
// (no second copy) until the producer closes. Either side can fail the
// stream: a consumer error makes the producer's next Write() return it, and
// the producer's close status ends Drain().
//
// Thread safety: one producer thread and one consumer thread at a time.
#ifndef VECSAFE_IO_BYTE_PIPE_H_
#define VECSAFE_IO_BYTE_PIPE_H_

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "vecsafe/status.h"

namespace vecsafe {

class BytePipe {
 public:
  // `capacity`: bytes the ring holds. REQUIRES: capacity > 0.
  explicit BytePipe(size_t capacity);
  BytePipe(const BytePipe&) = delete;
  BytePipe& operator=(const BytePipe&) = delete;

  // Producer. Copies `bytes` in, blocking while the ring is full. Errors:
  // the consumer's error once Drain() stopped early; FailedPrecondition
  // after CloseWrite().
  Status Write(std::string_view bytes);
  // Producer. No more bytes; a non-OK `status` tells the consumer the
  // stream failed (Drain() returns it without handing out the rest).
  void CloseWrite(Status status = Status::OK());

  // Consumer. Calls `fn` with the bytes in order, in pieces of at most a
  // quarter of the capacity, until the producer closes. Returns the first
  // error of `fn` (the producer then sees it) or the producer's close status.
  Status Drain(const std::function<Status(std::string_view)>& fn);

 private:
  const size_t capacity_;
  const size_t max_piece_;
  std::unique_ptr<char[]> ring_;
  std::mutex mu_;
  std::condition_variable cv_;  // either side waits on it; few waiters, so one cv
  size_t head_ = 0;             // next byte to read (offset into ring_)
  size_t size_ = 0;             // readable bytes from head_ (may wrap)
  bool closed_ = false;
  Status close_status_;
  Status consumer_error_;  // non-OK once Drain() stopped early
};

}  // namespace vecsafe

#endif  // VECSAFE_IO_BYTE_PIPE_H_
