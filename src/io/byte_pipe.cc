#include "io/byte_pipe.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace vecsafe {

BytePipe::BytePipe(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)),
      max_piece_(std::max<size_t>(capacity_ / 4, 1)),
      ring_(new char[capacity_]) {}

Status BytePipe::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return size_ < capacity_ || !consumer_error_.ok(); });
    if (!consumer_error_.ok()) return consumer_error_;
    if (closed_) return FailedPrecondition("BytePipe::Write() after CloseWrite()");
    // The free space from tail_ up to the end of the ring (or up to head_):
    // only the producer writes there, so copy without the lock.
    const size_t tail = (head_ + size_) % capacity_;
    const size_t room = tail >= head_ && size_ < capacity_ ? capacity_ - tail : head_ - tail;
    const size_t n = std::min(room, bytes.size());
    lk.unlock();
    std::memcpy(ring_.get() + tail, bytes.data(), n);
    bytes.remove_prefix(n);
    lk.lock();
    const bool was_empty = size_ == 0;
    size_ += n;
    lk.unlock();
    if (was_empty) cv_.notify_all();
  }
  return Status::OK();
}

void BytePipe::CloseWrite(Status status) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return;
    closed_ = true;
    close_status_ = std::move(status);
  }
  cv_.notify_all();
}

Status BytePipe::Drain(const std::function<Status(std::string_view)>& fn) {
  while (true) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return size_ > 0 || closed_; });
    if (closed_ && (size_ == 0 || !close_status_.ok())) return close_status_;
    // Contiguous bytes from head_: the producer never writes there.
    const size_t n = std::min({size_, capacity_ - head_, max_piece_});
    const char* piece = ring_.get() + head_;
    lk.unlock();
    Status s = fn(std::string_view(piece, n));
    lk.lock();
    if (!s.ok()) {
      consumer_error_ = s;
      lk.unlock();
      cv_.notify_all();
      return s;
    }
    const bool was_full = size_ == capacity_;
    head_ = (head_ + n) % capacity_;
    size_ -= n;
    lk.unlock();
    if (was_full) cv_.notify_all();
  }
}

}  // namespace vecsafe
