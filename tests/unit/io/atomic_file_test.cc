#include "io/atomic_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <thread>
#include <vector>

#include "io/test_dir.h"

namespace vecsafe {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kToEndForTest = std::numeric_limits<uint64_t>::max();

bool AnyTempFile(const TestDir& dir) {
  for (const std::string& f : dir.Files()) {
    if (IsTemporaryFileName(fs::path(f).filename().string())) return true;
  }
  return false;
}

TEST(AtomicFileTest, TemporaryNamesAreRecognisableAndDistinct) {
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    std::string n = MakeTemporaryFileName();
    EXPECT_TRUE(IsTemporaryFileName(n));
    EXPECT_EQ(n.size(), kTempFilePrefix.size() + 16);
    names.insert(n);
  }
  EXPECT_EQ(names.size(), 1000u);
  EXPECT_FALSE(IsTemporaryFileName("config"));
  EXPECT_FALSE(IsTemporaryFileName(".tmp-other"));
}

TEST(AtomicFileTest, WritesReplacesAndLeavesNoTemporaryFile) {
  TestDir dir;
  const fs::path p = dir.path() / "config";
  ASSERT_TRUE(WriteFileAtomically(p, "one").ok());
  EXPECT_EQ(ReadWholeFile(p).value(), "one");
  ASSERT_TRUE(WriteFileAtomically(p, "two, longer").ok());
  EXPECT_EQ(ReadWholeFile(p).value(), "two, longer");
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"config"});
}

TEST(AtomicFileTest, ModeIsApplied) {
  TestDir dir;
  AtomicWriteOptions opts;
  opts.mode = 0600;
  ASSERT_TRUE(WriteFileAtomically(dir.path() / "secret", "k", opts).ok());
  struct stat st;
  ASSERT_EQ(::stat((dir.path() / "secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(AtomicFileTest, IfAbsentRefusesAndKeepsTheOldFile) {
  TestDir dir;
  const fs::path p = dir.path() / "lock";
  AtomicWriteOptions opts;
  opts.if_absent = true;
  ASSERT_TRUE(WriteFileAtomically(p, "first", opts).ok());
  Status s = WriteFileAtomically(p, "second", opts);
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(ReadWholeFile(p).value(), "first");
  EXPECT_FALSE(AnyTempFile(dir));
}

TEST(AtomicFileTest, MissingFolderFailsCleanlyUnlessAskedToCreateIt) {
  TestDir dir;
  const fs::path p = dir.path() / "a" / "b" / "file";
  Status s = WriteFileAtomically(p, "x");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find(p.string()), std::string::npos) << s.message();
  AtomicWriteOptions opts;
  opts.create_parents = true;
  ASSERT_TRUE(WriteFileAtomically(p, "x", opts).ok());
  EXPECT_EQ(ReadWholeFile(p).value(), "x");
}

TEST(AtomicFileTest, FailedRenameRemovesTheTemporaryFile) {
  TestDir dir;
  // The target is a non-empty folder: rename(2) fails after the data was written.
  fs::create_directories(dir.path() / "target" / "inner");
  Status s = WriteFileAtomically(dir.path() / "target", "data");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(AnyTempFile(dir)) << "temporary file survived a failed write";
}

TEST(AtomicFileTest, ParentThatIsAFileIsAClearError) {
  TestDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.path() / "plain", "x").ok());
  AtomicWriteOptions opts;
  opts.create_parents = true;
  Status s = WriteFileAtomically(dir.path() / "plain" / "child", "y", opts);
  EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"plain"});
}

TEST(AtomicFileTest, AbortedWriterPublishesNothing) {
  TestDir dir;
  {
    AtomicFileWriter w;
    ASSERT_TRUE(w.Open(dir.path() / "big").ok());
    ASSERT_TRUE(w.Append("partial").ok());
    EXPECT_TRUE(fs::exists(w.temp_path()));
    // Destroyed without Commit(): an early return in the caller.
  }
  EXPECT_TRUE(dir.Files().empty());
}

TEST(AtomicFileTest, StreamingWriterCommitsAllAppends) {
  TestDir dir;
  AtomicFileWriter w;
  ASSERT_TRUE(w.Open(dir.path() / "streamed").ok());
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string part(1000 + i, static_cast<char>('a' + i % 26));
    expected += part;
    ASSERT_TRUE(w.Append(part).ok());
  }
  EXPECT_EQ(w.size(), expected.size());
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_EQ(ReadWholeFile(dir.path() / "streamed").value(), expected);
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"streamed"});
}

TEST(AtomicFileTest, ConcurrentWritersOfOneFileLeaveOneWholeVersion) {
  TestDir dir;
  const fs::path p = dir.path() / "shared";
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(WriteFileAtomically(p, std::string(5000, static_cast<char>('A' + t))).ok());
      }
    });
  }
  for (auto& th : pool) th.join();
  const std::string got = ReadWholeFile(p).value();
  ASSERT_EQ(got.size(), 5000u);
  EXPECT_EQ(std::count(got.begin(), got.end(), got[0]), 5000);
  EXPECT_EQ(dir.Files(), std::vector<std::string>{"shared"});
}

TEST(AtomicFileTest, ReadFileRangeClipsAndReadErrorsAreMapped) {
  TestDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.path() / "f", "0123456789").ok());
  EXPECT_EQ(ReadFileRange(dir.path() / "f", 2, 3).value(), "234");
  EXPECT_EQ(ReadFileRange(dir.path() / "f", 8, 100).value(), "89");
  EXPECT_EQ(ReadFileRange(dir.path() / "f", 50, 1).value(), "");
  EXPECT_EQ(ReadWholeFile(dir.path() / "missing").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(ReadWholeFile(dir.path()).status().code(), ErrorCode::kInvalidArgument);
}

// Sizes around the 64 KiB read steps and the 1 MiB buffer steps, read whole
// and in ranges, into one reused buffer that was bigger or smaller before.
TEST(AtomicFileTest, ReadFileRangeIntoReusesTheBufferAndReadsEveryByte) {
  TestDir dir;
  std::string content(3 * (1u << 20) + 12345, '\0');
  uint32_t x = 12345;
  for (char& c : content) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  std::string buf;
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537},
                      size_t{996859}, size_t{(1u << 20) - 1}, size_t{1u << 20},
                      size_t{(1u << 20) + 1}, content.size(), size_t{7}}) {
    SCOPED_TRACE(size);
    const fs::path p = dir.path() / "f";
    ASSERT_TRUE(WriteFileAtomically(p, std::string_view(content).substr(0, size)).ok());
    ASSERT_TRUE(ReadFileRangeInto(p, 0, std::numeric_limits<uint64_t>::max(), &buf).ok());
    EXPECT_TRUE(buf == std::string_view(content).substr(0, size));
    const uint64_t off = size / 3;
    ASSERT_TRUE(ReadFileRangeInto(p, off, size / 2 + 1, &buf).ok());
    EXPECT_TRUE(buf ==
                std::string_view(content).substr(off, std::min<size_t>(size / 2 + 1, size - off)));
    EXPECT_TRUE(ReadFileRange(p, off, size).value() ==
                std::string_view(content).substr(off, size - off));
  }
  // An error leaves the buffer empty, not holding the last file's bytes.
  EXPECT_EQ(ReadFileRangeInto(dir.path() / "missing", 0, 10, &buf).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(buf.empty());
  ASSERT_TRUE(ReadFileRangeInto(dir.path() / "f", 0, 3, &buf).ok());
  EXPECT_EQ(ReadFileRangeInto(dir.path(), 0, 10, &buf).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(buf.empty());
}

// A pack written with drop_cache leaves the page cache; a large read with
// kLeaveAsFound drops what it brought in and keeps what was already cached;
// small ranges and kKeep keep everything. The bytes read are right each way.
TEST(AtomicFileTest, OnePassWritesAndReadsLeaveThePageCacheAsFound) {
  TestDir dir;
  const fs::path p = dir.path() / "pack";
  const size_t size = 4u << 20;
  std::string content(size, '\0');
  for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>((i * 131) >> 7);
  AtomicWriteOptions opts;
  opts.drop_cache = true;
  ASSERT_TRUE(WriteFileAtomically(p, content, opts).ok());
  const size_t pages = size / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t after_write = ResidentPagesForTest(p);
  ASSERT_NE(after_write, SIZE_MAX);
  if (after_write > pages / 8) {
    // tmpfs and some overlay filesystems keep their pages whatever the advice.
    GTEST_SKIP() << "this filesystem ignores POSIX_FADV_DONTNEED (" << after_write << " of "
                 << pages << " pages still cached)";
  }
  std::string buf;
  ASSERT_TRUE(ReadFileRangeInto(p, 0, kToEndForTest, &buf, CacheUse::kLeaveAsFound).ok());
  EXPECT_TRUE(buf == content);
  EXPECT_LE(ResidentPagesForTest(p), pages / 8) << "a cold read left its pages behind";

  // A range below kOnePassBytes keeps its pages even with kLeaveAsFound.
  ASSERT_TRUE(ReadFileRangeInto(p, 0, 64 << 10, &buf, CacheUse::kLeaveAsFound).ok());
  EXPECT_TRUE(buf == std::string_view(content).substr(0, 64 << 10));
  EXPECT_GE(ResidentPagesForTest(p), size_t{16});

  // Cached by a kKeep read, the file stays cached through a kLeaveAsFound one.
  ASSERT_TRUE(ReadFileRangeInto(p, 0, kToEndForTest, &buf).ok());
  EXPECT_GE(ResidentPagesForTest(p), pages * 7 / 8);
  ASSERT_TRUE(ReadFileRangeInto(p, 1u << 20, 2u << 20, &buf, CacheUse::kLeaveAsFound).ok());
  EXPECT_TRUE(buf == std::string_view(content).substr(1u << 20, 2u << 20));
  EXPECT_GE(ResidentPagesForTest(p), pages * 7 / 8) << "a warm read dropped pages it found cached";

  // Without drop_cache the written file stays cached (the kernel's default).
  const fs::path q = dir.path() / "kept";
  ASSERT_TRUE(WriteFileAtomically(q, content).ok());
  EXPECT_GE(ResidentPagesForTest(q), pages * 7 / 8);
}

TEST(AtomicFileTest, WriteToAFullDeviceIsNoSpace) {
  // /dev/full fails every write with ENOSPC: the mapping callers rely on.
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "/dev/full not available";
  const int err = WriteAllToFd(fd, "some bytes");
  ::close(fd);
  ASSERT_EQ(err, ENOSPC);
  Status s = ErrnoToStatus(err, "cannot write", "/dev/full");
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace);
  EXPECT_NE(s.ToString().find("HINT:"), std::string::npos);
}

TEST(AtomicFileTest, StaleTemporaryFilesAreRemovedYoungOnesKept) {
  TestDir dir;
  fs::create_directories(dir.path() / "sub");
  const fs::path old_tmp = dir.path() / "sub" / (MakeTemporaryFileName());
  const fs::path young_tmp = dir.path() / (MakeTemporaryFileName());
  std::ofstream(old_tmp) << "x";
  std::ofstream(young_tmp) << "y";
  std::ofstream(dir.path() / "keep") << "z";
  const auto two_hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(old_tmp, two_hours_ago);

  EXPECT_EQ(RemoveStaleTemporaryFiles(dir.path(), std::chrono::hours(1), false).value(), 0u);
  EXPECT_EQ(RemoveStaleTemporaryFiles(dir.path(), std::chrono::hours(1), true).value(), 1u);
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_TRUE(fs::exists(young_tmp));
  EXPECT_TRUE(fs::exists(dir.path() / "keep"));
  EXPECT_EQ(RemoveStaleTemporaryFiles(dir.path() / "missing", std::chrono::hours(1), true).value(),
            0u);
}

TEST(AtomicFileTest, CreateDirectoriesDurablyIsIdempotent) {
  TestDir dir;
  ASSERT_TRUE(CreateDirectoriesDurably(dir.path() / "x" / "y" / "z").ok());
  ASSERT_TRUE(CreateDirectoriesDurably(dir.path() / "x" / "y" / "z").ok());
  EXPECT_TRUE(fs::is_directory(dir.path() / "x" / "y" / "z"));
  EXPECT_TRUE(SyncDirectory(dir.path() / "x").ok());
  EXPECT_EQ(SyncDirectory(dir.path() / "nope").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vecsafe

namespace vecsafe {
namespace {

TEST(ErrnoMappingTest, LocalWriteErrorsMapToTheirCodes) {
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "write", "/x").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(ErrnoToStatus(EDQUOT, "write", "/x").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(ErrnoToStatus(EACCES, "write", "/x").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(EROFS, "write", "/x").code(), ErrorCode::kPermissionDenied);
  Status big = ErrnoToStatus(EFBIG, "write", "/x");
  EXPECT_EQ(big.code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(big.hint().find("ulimit -f"), std::string::npos);
  EXPECT_EQ(ErrnoToStatus(EIO, "write", "/x").code(), ErrorCode::kIoError);
}

}  // namespace
}  // namespace vecsafe
