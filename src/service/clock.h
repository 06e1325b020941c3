// The daemon's notion of "now", injectable so that tests control time.
//
// RealClock is the system clock. ManualClock only moves when a test says so.
// ScaledClock runs `scale` times faster than real time from the moment it is
// made (hidden flag `vecsafe serve --test-clock-scale N`, for tests only): at
// scale 60 a cron job due every minute fires every real second.
#ifndef VECSAFE_SERVICE_CLOCK_H_
#define VECSAFE_SERVICE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vecsafe::service {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds. Thread-safe.
  virtual int64_t NowMs() const = 0;
  // Real milliseconds that pass while this clock advances `ms` (for sleeping).
  virtual int64_t RealMsFor(int64_t ms) const { return ms; }
};

inline int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RealClock final : public Clock {
 public:
  int64_t NowMs() const override { return SystemNowMs(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale) : scale_(scale), start_(SystemNowMs()) {}
  int64_t NowMs() const override {
    return start_ + static_cast<int64_t>(static_cast<double>(SystemNowMs() - start_) * scale_);
  }
  int64_t RealMsFor(int64_t ms) const override {
    return static_cast<int64_t>(static_cast<double>(ms) / scale_) + 1;
  }

 private:
  double scale_;
  int64_t start_;
};

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_CLOCK_H_
