#include "cli/common.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "io/store_registry.h"

namespace vecsafe::cli {
namespace {

std::string KindWords(ErrorCode code) {
  if (code == ErrorCode::kOk) return "ok";
  // Status::ToString() is "VS-<n> <kind>: <message> (HINT: ...)"; take the kind from it so
  // the words stay in one place (src/base/status.cc).
  const std::string s = Status(code, "").ToString();
  const size_t space = s.find(' ');
  const size_t colon = s.find(':');
  if (space == std::string::npos || colon == std::string::npos || colon < space) return "error";
  return s.substr(space + 1, colon - space - 1);
}

size_t TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

}  // namespace

void AddCommonFlags(CLI::App* cmd, VerbContext& ctx, bool with_repo) {
  if (with_repo) {
    cmd->add_option("-r,--repo", ctx.flags.repo,
                    "Repository URL: a local path, s3://bucket/prefix or gs://bucket/prefix. "
                    "Default: $VECSAFE_REPO, else GCS_BUCKET_NAME + GCS_FOLDER_PREFIX or "
                    "BACKUP_LOCAL_PATH");
    cmd->add_option("--lock-wait", ctx.flags.lock_wait_seconds,
                    "Seconds to wait for a conflicting lock (e.g. prune while a backup runs) "
                    "before failing. Default: 0 (fail at once)")
        ->check(CLI::Range(0, 86400));
    cmd->add_flag("--break-stale-locks", ctx.flags.break_stale_locks,
                  "Remove stale locks in the way (their process is gone, or they were not "
                  "refreshed for 30 min) instead of failing. Default: off");
  }
  cmd->add_flag("--json", ctx.flags.json,
                "Print one JSON document on stdout instead of text (errors too). Default: off");
  cmd->add_flag("-q,--quiet", ctx.flags.quiet,
                "No progress bar and no informational lines. Default: off");
}

Result<std::string> ResolveRepoUrl(const CommonFlags& flags) {
  if (!flags.repo.empty()) return flags.repo;
  if (std::optional<std::string> env = DefaultRepositoryUrlFromEnv(); env.has_value()) {
    return *env;
  }
  return Status(ErrorCode::kInvalidArgument, "no repository given",
                "Pass --repo URL or set VECSAFE_REPO (a path, s3://bucket/prefix or "
                "gs://bucket/prefix).");
}

Result<std::string> ResolvePassword(const CommonFlags& /*flags*/, bool confirm) {
  PasswordOptions options;
  options.confirm = confirm;
  return GetRepositoryPassword(options);
}

Result<std::unique_ptr<Repository>> OpenRepositoryFromFlags(const CommonFlags& flags, OpenOptions options) {
  VS_ASSIGN_OR_RETURN(std::string url, ResolveRepoUrl(flags));
  options.lock_wait_seconds = std::max(options.lock_wait_seconds, flags.lock_wait_seconds);
  options.break_stale_locks = options.break_stale_locks || flags.break_stale_locks;
  PasswordOptions no_prompt;
  no_prompt.allow_prompt = false;
  Result<std::string> password = GetRepositoryPassword(no_prompt);
  if (password.ok()) {
    options.password = *password;
  } else if (password.status().code() != ErrorCode::kUnauthenticated) {
    return password.status();  // a password file that cannot be read
  }
  Result<std::unique_ptr<Repository>> repo = OpenRepositoryFromUrl(url, options);
  if (!repo.ok() && repo.status().code() == ErrorCode::kUnauthenticated &&
      options.password.empty() && IsTerminal(STDIN_FILENO)) {
    // Encrypted and no password in the environment: ask once.
    VS_ASSIGN_OR_RETURN(options.password, GetRepositoryPassword(PasswordOptions{}));
    repo = OpenRepositoryFromUrl(url, options);
  }
  return repo;
}

Result<Manifest> LoadSnapshotArg(Repository& repo, std::string_view arg) {
  if (arg == "latest" || arg.rfind("latest:", 0) == 0) {
    const std::string kind = arg == "latest" ? std::string() : std::string(arg.substr(7));
    VS_ASSIGN_OR_RETURN(std::vector<Manifest> list, repo.ListSnapshots());
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
      if (kind.empty() || it->source_kind == kind) return std::move(*it);
    }
    return Status(ErrorCode::kNotFound,
                  kind.empty() ? "the repository has no snapshot"
                               : "the repository has no snapshot of kind " + kind,
                  "Make one with `vecsafe backup ...`; `vecsafe snapshots` lists them.");
  }
  return repo.LoadSnapshot(arg);
}

void PrintJson(const nlohmann::json& doc) {
  std::cout << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

nlohmann::json ErrorJson(const Status& status) {
  const int number = static_cast<int>(status.code());
  return {{"error",
           {{"code", "VS-" + std::to_string(number)},
            {"number", number},
            {"name", std::string(GetErrorInfo(status.code()).name)},
            {"kind", KindWords(status.code())},
            {"message", status.message()},
            {"hint", status.hint()},
            {"exit_status", status.exit_status()}}}};
}

int ReportError(const Status& status, const CommonFlags& flags) {
  const int number = static_cast<int>(status.code());
  std::cerr << "vecsafe: " << status.message() << " (VS-" << number << ' '
            << KindWords(status.code()) << ")\n";
  const std::string hint = status.hint();
  if (!hint.empty()) std::cerr << "HINT: " << hint << '\n';
  std::cerr.flush();
  if (flags.json) PrintJson(ErrorJson(status));
  return status.exit_status();
}

void Warn(std::string_view text) {
  std::cerr << "vecsafe: warning: " << text << '\n';
  std::cerr.flush();
}

void Say(const CommonFlags& flags, std::string_view text) {
  if (flags.json || flags.quiet) return;
  std::cout << text << '\n';
  std::cout.flush();
}

bool IsTerminal(int fd) { return isatty(fd) == 1; }

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 10 ? "%.2f %s" : (v < 100 ? "%.1f %s" : "%.0f %s"), v,
                kUnits[unit]);
  return buf;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<uint64_t>(seconds + 0.5);
  const uint64_t h = total / 3600;
  const uint64_t m = (total / 60) % 60;
  const uint64_t s = total % 60;
  char buf[32];
  if (h > 0) {
    std::snprintf(buf, sizeof(buf), "%llu:%02llu:%02llu", static_cast<unsigned long long>(h),
                  static_cast<unsigned long long>(m), static_cast<unsigned long long>(s));
  } else {
    std::snprintf(buf, sizeof(buf), "%llu:%02llu", static_cast<unsigned long long>(m),
                  static_cast<unsigned long long>(s));
  }
  return buf;
}

Progress::Progress(const CommonFlags& flags, std::string label)
    : label_(std::move(label)), start_(std::chrono::steady_clock::now()) {
  active_ = !flags.json && !flags.quiet && IsTerminal(STDERR_FILENO);
  if (active_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Finish(); }

void Progress::SetTotals(uint64_t bytes, uint64_t files) {
  total_bytes_.store(bytes, std::memory_order_relaxed);
  total_files_.store(files, std::memory_order_relaxed);
}

void Progress::Finish() {
  if (!active_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Clear the bar so the verb's own summary starts on a clean line.
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void Progress::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    Draw();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; });
  }
}

void Progress::Draw() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string line =
      Render(label_, bytes(), total_bytes_.load(std::memory_order_relaxed), files(),
             total_files_.load(std::memory_order_relaxed), elapsed, TerminalWidth());
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

std::string Progress::Render(std::string_view label, uint64_t bytes, uint64_t total_bytes,
                             uint64_t files, uint64_t total_files, double elapsed_seconds,
                             size_t width) {
  const double rate = elapsed_seconds > 0.05 ? static_cast<double>(bytes) / elapsed_seconds : 0;
  std::ostringstream tail;
  tail << FormatBytes(bytes);
  if (total_bytes > 0) tail << " / " << FormatBytes(total_bytes);
  tail << "  " << files;
  if (total_files > 0) tail << "/" << total_files;
  tail << " files  ";
  char rate_buf[32];
  std::snprintf(rate_buf, sizeof(rate_buf), "%.1f MiB/s", rate / (1024.0 * 1024.0));
  tail << rate_buf;
  if (total_bytes > 0 && rate > 0 && bytes <= total_bytes) {
    tail << "  ETA " << FormatDuration(static_cast<double>(total_bytes - bytes) / rate);
  }
  tail << "  " << FormatDuration(elapsed_seconds);
  std::string out(label);
  if (total_bytes > 0) {
    const double frac =
        std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_bytes));
    const std::string t = tail.str();
    // Bar width: what is left of the line after the label, the text and brackets.
    const size_t fixed = out.size() + t.size() + 10;
    const size_t bar = width > fixed + 10 ? std::min<size_t>(width - fixed, 40) : 10;
    const auto filled = static_cast<size_t>(frac * static_cast<double>(bar));
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(frac * 100));
    out += " [" + std::string(filled, '=') + std::string(bar - filled, ' ') + "] " + pct + "  " + t;
  } else {
    out += "  " + tail.str();
  }
  if (out.size() > width - 1) out.resize(width - 1);
  return out;
}

}  // namespace vecsafe::cli
