// Real resource exhaustion under the local driver, without root mounts:
//  - a full filesystem: a tmpfs of a few hundred KiB mounted inside a private
//    user + mount namespace (skipped where unprivileged namespaces are off);
//  - the file size limit (RLIMIT_FSIZE -> EFBIG).
// Each case runs in a forked child (limits and mounts stay there) and reports
// back through a pipe; the parent checks the error mapping and that no
// temporary file survived.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "io/atomic_file.h"
#include "io/local/local_store.h"
#include "io/test_dir.h"

namespace vecsafe {
namespace {

using Report = std::map<std::string, std::string>;

// Runs `body` in a child process; it fills a Report that comes back to the
// parent. Values must not contain newlines.
Report RunInChild(const std::function<void(Report&)>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return {{"error", "pipe failed"}};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    Report report;
    body(report);
    std::string out;
    for (const auto& [k, v] : report) out += k + "=" + v + "\n";
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  Report report;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) report[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) report["error"] = "child crashed";
  // Visible with --gtest_output=xml: the exact messages a user would see.
  for (const auto& [k, v] : report) ::testing::Test::RecordProperty(k, v);
  return report;
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

void RecordStatus(Report& r, const std::string& name, const Status& s) {
  r[name + ".code"] = std::to_string(static_cast<int>(s.code()));
  r[name + ".text"] = OneLine(s.ToString());
}

std::string TempFilesUnder(const std::filesystem::path& root) {
  std::string found;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (IsTemporaryFileName(it->path().filename().string())) found += it->path().string() + " ";
  }
  return found;
}

bool WriteProcFile(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// In the child: becomes root of a new user + mount namespace and mounts a
// small tmpfs on `dir`. Returns "" or why it could not.
std::string MountSmallTmpfs(const std::filesystem::path& dir, const std::string& options) {
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    return std::string("unshare: ") + std::strerror(errno);
  }
  WriteProcFile("/proc/self/setgroups", "deny");
  if (!WriteProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
      !WriteProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
    return "cannot write uid/gid maps";
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("make-rprivate: ") + std::strerror(errno);
  }
  if (::mount("vecsafe-test", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    return std::string("mount tmpfs: ") + std::strerror(errno);
  }
  return "";
}

TEST(LocalStoreFaultTest, FullFilesystemIsNoSpaceAndLeavesNoTemporaryFile) {
  TestDir dir;
  Report r = RunInChild([&](Report& out) {
    if (std::string why = MountSmallTmpfs(dir.path(), "size=256k,mode=0700"); !why.empty()) {
      out["skip"] = why;
      return;
    }
    auto store = LocalStore::Open(dir.path()).value();
    RecordStatus(out, "small", store->Put("config", "repository config"));
    RecordStatus(out, "big", store->Put("data/ab/pack1", std::string(1 << 20, 'p')));
    out["temps_after_big"] = TempFilesUnder(dir.path());
    // A pack that fits in what is left still lands; the earlier object is intact.
    RecordStatus(out, "fits", store->Put("data/ab/pack2", std::string(64 << 10, 'q')));
    Result<std::string> config = store->Get("config");
    out["config"] = config.ok() ? *config : OneLine(config.status().ToString());
    // Streaming writes (restores) fail on the Append that hits the limit.
    AtomicFileWriter writer;
    Status s = writer.Open(dir.path() / "restored.bin");
    for (int i = 0; s.ok() && i < 64; ++i) s = writer.Append(std::string(64 << 10, 'r'));
    if (s.ok()) s = writer.Commit();
    RecordStatus(out, "stream", s);
    out["temps_at_end"] = TempFilesUnder(dir.path());
    std::string listed;
    store
        ->List("",
               [&](const ObjectInfo& info) {
                 listed += info.key + " ";
                 return Status::OK();
               })
        .IgnoreError();
    out["listed"] = listed;
  });
  if (r.count("skip")) GTEST_SKIP() << "no unprivileged tmpfs here: " << r["skip"];
  ASSERT_FALSE(r.count("error")) << r["error"];
  EXPECT_EQ(r["small.code"], "0") << r["small.text"];
  EXPECT_EQ(r["big.code"], std::to_string(static_cast<int>(ErrorCode::kNoSpace))) << r["big.text"];
  EXPECT_NE(r["big.text"].find("data/ab/pack1"), std::string::npos) << r["big.text"];
  EXPECT_NE(r["big.text"].find("HINT: The disk or bucket is full"), std::string::npos)
      << r["big.text"];
  EXPECT_EQ(r["temps_after_big"], "");
  EXPECT_EQ(r["fits.code"], "0") << r["fits.text"];
  EXPECT_EQ(r["config"], "repository config");
  EXPECT_EQ(r["stream.code"], std::to_string(static_cast<int>(ErrorCode::kNoSpace)))
      << r["stream.text"];
  EXPECT_EQ(r["temps_at_end"], "");
  EXPECT_EQ(r["listed"].find("restored.bin"), std::string::npos);
  EXPECT_EQ(r["listed"].find("pack1"), std::string::npos) << r["listed"];
}

TEST(LocalStoreFaultTest, NoInodesLeftForFanOutFoldersIsNoSpace) {
  TestDir dir;
  Report r = RunInChild([&](Report& out) {
    if (std::string why = MountSmallTmpfs(dir.path(), "size=1m,nr_inodes=6"); !why.empty()) {
      out["skip"] = why;
      return;
    }
    auto store = LocalStore::Open(dir.path()).value();
    Status last;
    int written = 0;
    for (int i = 0; i < 20 && last.ok(); ++i) {
      char key[32];
      std::snprintf(key, sizeof(key), "data/%02x/pack", i);
      last = store->Put(key, "x");
      if (last.ok()) ++written;
    }
    out["written"] = std::to_string(written);
    RecordStatus(out, "last", last);
    out["temps"] = TempFilesUnder(dir.path());
    Result<std::vector<ObjectInfo>> all = store->ListAll("data/");
    out["listed"] = all.ok() ? std::to_string(all->size()) : OneLine(all.status().ToString());
  });
  if (r.count("skip")) GTEST_SKIP() << "no unprivileged tmpfs here: " << r["skip"];
  ASSERT_FALSE(r.count("error")) << r["error"];
  EXPECT_GT(std::stoi(r["written"]), 0);
  EXPECT_LT(std::stoi(r["written"]), 20);
  EXPECT_EQ(r["last.code"], std::to_string(static_cast<int>(ErrorCode::kNoSpace)))
      << r["last.text"];
  EXPECT_EQ(r["temps"], "");
  EXPECT_EQ(r["listed"], r["written"]);
}

TEST(LocalStoreFaultTest, FileSizeLimitIsResourceExhaustedWithAHint) {
  TestDir dir;
  Report r = RunInChild([&](Report& out) {
    std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
    struct rlimit lim;
    ::getrlimit(RLIMIT_FSIZE, &lim);
    lim.rlim_cur = 64 * 1024;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
      out["skip"] = "setrlimit failed";
      return;
    }
    auto store = LocalStore::Open(dir.path()).value();
    RecordStatus(out, "under", store->Put("index/small", std::string(1000, 'i')));
    RecordStatus(out, "over", store->Put("data/ab/big", std::string(256 << 10, 'b')));
    RecordStatus(out, "atomic",
                 WriteFileAtomically(dir.path() / "meta.json", std::string(100 << 10, 'm')));
    out["temps"] = TempFilesUnder(dir.path());
    out["big_exists"] = store->Stat("data/ab/big").ok() ? "yes" : "no";
  });
  if (r.count("skip")) GTEST_SKIP() << r["skip"];
  ASSERT_FALSE(r.count("error")) << r["error"];
  const std::string exhausted = std::to_string(static_cast<int>(ErrorCode::kResourceExhausted));
  EXPECT_EQ(r["under.code"], "0") << r["under.text"];
  EXPECT_EQ(r["over.code"], exhausted) << r["over.text"];
  EXPECT_NE(r["over.text"].find("ulimit -f"), std::string::npos) << r["over.text"];
  EXPECT_NE(r["over.text"].find("data/ab/big"), std::string::npos) << r["over.text"];
  EXPECT_EQ(r["atomic.code"], exhausted) << r["atomic.text"];
  EXPECT_EQ(r["temps"], "");
  EXPECT_EQ(r["big_exists"], "no");
}

}  // namespace
}  // namespace vecsafe
