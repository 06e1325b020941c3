#include "io/byte_pipe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace vecsafe {
namespace {

// Deterministic bytes that differ at every offset modulo 251 (a prime, so a
// piece landing at the wrong offset in the ring shows up).
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

TEST(BytePipeTest, DeliversEveryByteInOrderThroughAWrappingRing) {
  const std::string data = Pattern(1'000'003);
  BytePipe pipe(4096);  // far smaller than the data: the ring wraps many times
  std::thread producer([&] {
    // Writes of odd sizes, some larger than the ring.
    const size_t sizes[] = {1, 700, 5000, 4096, 13, 9999};
    size_t off = 0, i = 0;
    while (off < data.size()) {
      const size_t n = std::min(sizes[i++ % 6], data.size() - off);
      ASSERT_TRUE(pipe.Write(std::string_view(data).substr(off, n)).ok());
      off += n;
    }
    pipe.CloseWrite();
  });
  std::string got;
  size_t largest = 0;
  const Status s = pipe.Drain([&](std::string_view piece) {
    largest = std::max(largest, piece.size());
    got.append(piece);
    return Status::OK();
  });
  producer.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, data);
  EXPECT_LE(largest, 1024u);  // pieces of at most a quarter of the ring
}

TEST(BytePipeTest, ProducerFailureEndsDrainWithItsStatus) {
  BytePipe pipe(1024);
  std::thread producer([&] {
    ASSERT_TRUE(pipe.Write("abc").ok());
    pipe.CloseWrite(Unavailable("connection lost"));
  });
  const Status s = pipe.Drain([](std::string_view) { return Status::OK(); });
  producer.join();
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_NE(s.ToString().find("connection lost"), std::string::npos);
}

TEST(BytePipeTest, ConsumerFailureUnblocksAndFailsTheProducer) {
  BytePipe pipe(1024);
  Status write_status;
  std::thread producer([&] {
    const std::string block(512, 'x');
    // Keeps writing until the consumer's failure reaches it (the ring is full
    // long before 1000 blocks, so Write() must wake up to see it).
    for (int i = 0; i < 1000 && write_status.ok(); ++i) write_status = pipe.Write(block);
    pipe.CloseWrite(write_status);
  });
  const Status s = pipe.Drain([](std::string_view) { return IoError("disk full"); });
  producer.join();
  EXPECT_EQ(s.code(), ErrorCode::kIoError);
  EXPECT_EQ(write_status.code(), ErrorCode::kIoError);
}

TEST(BytePipeTest, WriteAfterCloseIsRefused) {
  BytePipe pipe(64);
  pipe.CloseWrite();
  EXPECT_EQ(pipe.Write("x").code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(pipe.Drain([](std::string_view) { return Status::OK(); }).ok());
}

}  // namespace
}  // namespace vecsafe
