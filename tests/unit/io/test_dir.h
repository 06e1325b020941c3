// A fresh temporary folder per test, removed afterwards.
#ifndef VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_
#define VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

// How many of a file's pages are in the page cache (mincore on a mapping
// that is never touched); SIZE_MAX when that cannot be told.
inline size_t ResidentPagesForTest(const std::filesystem::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SIZE_MAX;
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size == 0) {
    ::close(fd);
    return SIZE_MAX;
  }
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t len = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return SIZE_MAX;
  std::vector<unsigned char> vec((len + page - 1) / page);
  size_t n = SIZE_MAX;
  if (::mincore(map, len, vec.data()) == 0) {
    n = static_cast<size_t>(
        std::count_if(vec.begin(), vec.end(), [](unsigned char v) { return (v & 1) != 0; }));
  }
  ::munmap(map, len);
  return n;
}

}  // namespace vecsafe

#endif  // VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_
