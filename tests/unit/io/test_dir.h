// A fresh temporary folder per test, removed afterwards.
#ifndef VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_
#define VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace vecsafe {

class TestDir {
 public:
  TestDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ =
        std::string(base != nullptr && *base ? base : "/tmp") + "/vecsafe-io-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Every file name under the folder (relative paths), folders excluded.
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_directory()) out.push_back(std::filesystem::relative(it->path(), path_).string());
    }
    return out;
  }

 private:
  std::filesystem::path path_;
};

// Maps a whole non-empty file read-only (shared); nullptr when it cannot.
inline void* MapFileForTest(const std::filesystem::path& p, size_t* len) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st;
  void* map = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    *len = static_cast<size_t>(st.st_size);
    map = ::mmap(nullptr, *len, PROT_READ, MAP_SHARED, fd, 0);
  }
  ::close(fd);
  return map == MAP_FAILED ? nullptr : map;
}

// How many of a file's pages are in the page cache (mincore on a mapping
// that is never touched); SIZE_MAX when that cannot be told.
inline size_t ResidentPagesForTest(const std::filesystem::path& p) {
  size_t len = 0;
  void* map = MapFileForTest(p, &len);
  if (map == nullptr) return SIZE_MAX;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((len + page - 1) / page);
  size_t n = SIZE_MAX;
  if (::mincore(map, len, vec.data()) == 0) {
    n = static_cast<size_t>(
        std::count_if(vec.begin(), vec.end(), [](unsigned char v) { return (v & 1) != 0; }));
  }
  ::munmap(map, len);
  return n;
}

// How many of a file's cached pages are not yet on the disk (dirty or under
// writeback), read from /proc/self/pagemap and /proc/kpageflags; SIZE_MAX
// when that cannot be told (not root, no such files, tmpfs whose pages are
// never written back).
inline size_t UnwrittenPagesForTest(const std::filesystem::path& p) {
  constexpr uint64_t kDirty = 1ull << 4, kWriteback = 1ull << 8;  // linux/kernel-page-flags.h
  constexpr long kTmpfsMagic = 0x01021994;
  struct statfs sfs;
  if (::statfs(p.c_str(), &sfs) != 0 || sfs.f_type == kTmpfsMagic) return SIZE_MAX;
  size_t len = 0;
  auto* map = static_cast<volatile unsigned char*>(MapFileForTest(p, &len));
  if (map == nullptr) return SIZE_MAX;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const int pagemap = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  const int flags = ::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  size_t n = (pagemap < 0 || flags < 0) ? SIZE_MAX : 0;
  const auto base = reinterpret_cast<uintptr_t>(map);
  for (size_t off = 0; n != SIZE_MAX && off < len; off += page) {
    (void)map[off];  // map the cached page (it was just written, so no read)
    uint64_t entry = 0, f = 0;
    if (::pread(pagemap, &entry, 8, static_cast<off_t>((base + off) / page * 8)) != 8) {
      n = SIZE_MAX;
      break;
    }
    const uint64_t pfn = entry & ((1ull << 55) - 1);
    if ((entry >> 63) == 0 || pfn == 0 ||  // PFNs read as 0 without CAP_SYS_ADMIN
        ::pread(flags, &f, 8, static_cast<off_t>(pfn * 8)) != 8) {
      n = SIZE_MAX;
      break;
    }
    if ((f & (kDirty | kWriteback)) != 0) ++n;
  }
  if (pagemap >= 0) ::close(pagemap);
  if (flags >= 0) ::close(flags);
  ::munmap(const_cast<unsigned char*>(map), len);
  return n;
}

}  // namespace vecsafe

#endif  // VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_
