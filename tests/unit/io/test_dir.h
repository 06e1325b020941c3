// A fresh temporary folder per test, removed afterwards.
#ifndef VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_
#define VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_

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

}  // namespace vecsafe

#endif  // VECSAFE_TESTS_UNIT_IO_TEST_DIR_H_
