// What every CLI verb shares: the common flags (--repo, --json, --quiet),
// where the repository URL and the password come from, how results and errors
// are printed, and the progress bar.
//
// A verb lives in src/cli/<verb>.cc and exposes one function
//   void RegisterFooVerb(CLI::App& parent, VerbContext& ctx);
// that adds its sub-command to `parent` and sets a callback which stores the
// verb's exit status in ctx.exit_status. src/cli/app.cc calls every Register*.
//
// Output rules (a contract: tests and people's scripts depend on them):
//   - stdout carries results only. With --json it carries exactly one JSON
//     document (PrintJson), also on failure (the "error" object, see
//     ErrorJson); without --json, human text.
//   - stderr carries warnings, errors ("vecsafe: <message> (VS-<n> <kind>)"
//     then "HINT: <what to do>") and the progress bar (only on a terminal,
//     never with --json or --quiet).
//   - The exit status comes from the error table (include/vecsafe/error_table.inc);
//     `vecsafe errors` prints it.
#ifndef VECSAFE_CLI_COMMON_H_
#define VECSAFE_CLI_COMMON_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace vecsafe::cli {

// Flags every verb accepts (added by AddCommonFlags).
struct CommonFlags {
  std::string repo;                // --repo URL. Default: $VECSAFE_REPO, then the deployment env.
  int lock_wait_seconds = 0;       // --lock-wait S: wait for a conflicting lock. Default: 0.
  bool break_stale_locks = false;  // --break-stale-locks. Default: off.
  bool json = false;               // --json: one JSON document on stdout.
  bool quiet = false;              // --quiet: no progress bar, no informational lines.
};

// State shared by all verbs of one process run.
struct VerbContext {
  CommonFlags flags;
  // Set by the verb's callback; the process exits with it.
  int exit_status = 0;
};

// Adds --json and --quiet to `cmd`; with `with_repo`, also --repo,
// --lock-wait and --break-stale-locks.
// The flags write into ctx.flags (only one verb runs per process).
void AddCommonFlags(CLI::App* cmd, VerbContext& ctx, bool with_repo);

// The repository URL: --repo, else the environment (VECSAFE_REPO, then the
// existing deployments' GCS_BUCKET_NAME + GCS_FOLDER_PREFIX or
// BACKUP_LOCAL_PATH; see DefaultRepositoryUrlFromEnv in src/io/store_registry.h).
// Error kInvalidArgument with a hint when none is set.
Result<std::string> ResolveRepoUrl(const CommonFlags& flags);

// The repository password (VECSAFE_PASSWORD, VECSAFE_PASSWORD_FILE, else a
// prompt on a terminal, asked twice when `confirm`); see GetRepositoryPassword.
Result<std::string> ResolvePassword(const CommonFlags& flags, bool confirm);

// Opens the repository named by the flags. The password (VECSAFE_PASSWORD,
// VECSAFE_PASSWORD_FILE, else a prompt on a terminal; see
// GetRepositoryPassword) is only asked for when the repository is encrypted.
// Errors: as ResolveRepoUrl and OpenRepositoryFromUrl.
Result<std::unique_ptr<Repository>> OpenRepositoryFromFlags(const CommonFlags& flags, OpenOptions options = {});

// The snapshot named on the command line: a full id, a unique prefix (4+ hex),
// or "latest" (the newest snapshot; "latest:KIND" the newest of that source
// kind). Errors: kNotFound (hint: `vecsafe snapshots`), kInvalidArgument.
Result<Manifest> LoadSnapshotArg(Repository& repo, std::string_view arg);

// The documented JSON shape of a snapshot (docs/OPERATIONS.md, "JSON output"):
// id, short_id, time, hostname, source_kind, source, tags, parent,
// vecsafe_version, stats{files, dirs, bytes_total, bytes_read, files_unchanged,
// chunks_total, chunks_new, bytes_new_raw, bytes_new_stored, chunks_delta, packs_written,
// seconds}.
nlohmann::json SnapshotJson(const Manifest& m);
nlohmann::json SnapshotStatsJson(const SnapshotStats& s);
// A short description of the source: its path, URL (+ collection), or JSON.
std::string SourceLabel(const Manifest& m);

// Prints `doc` as the one JSON document of this run (compact, one line) on stdout.
void PrintJson(const nlohmann::json& doc);

// {"error": {"code": "VS-2", "number": 2, "name": "kNotFound", "kind": "not found",
//            "message": "...", "hint": "...", "exit_status": 3}}
nlohmann::json ErrorJson(const Status& status);

// Reports a failed Status the documented way (stderr text; plus ErrorJson on
// stdout with --json) and returns its exit status. REQUIRES: !status.ok().
int ReportError(const Status& status, const CommonFlags& flags);

// A warning that does not stop the verb: "vecsafe: warning: <text>" on stderr
// (also with --json, where stdout must stay one document).
void Warn(std::string_view text);

// Informational line for people: stdout unless --json or --quiet.
void Say(const CommonFlags& flags, std::string_view text);

// True when `fd` is a terminal.
bool IsTerminal(int fd);

// Human sizes: "1.5 GiB", "312 B".
std::string FormatBytes(uint64_t bytes);
// "1:02:03" or "2:03".
std::string FormatDuration(double seconds);

// A progress bar on stderr: bytes and files done (of a total when known),
// MiB/s and ETA, redrawn a few times a second by its own thread. Inactive
// (every call a cheap no-op) unless stderr is a terminal and neither --json
// nor --quiet was given. Add*/Set* may be called from any thread.
class Progress {
 public:
  Progress(const CommonFlags& flags, std::string label);
  ~Progress();  // Calls Finish().
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool active() const { return active_; }
  // Totals, when known (0 = unknown: no percentage or ETA shown).
  void SetTotals(uint64_t bytes, uint64_t files);
  void AddBytes(uint64_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  void AddFiles(uint64_t n) { files_.fetch_add(n, std::memory_order_relaxed); }
  void SetBytes(uint64_t n) { bytes_.store(n, std::memory_order_relaxed); }
  void SetFiles(uint64_t n) { files_.store(n, std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t files() const { return files_.load(std::memory_order_relaxed); }
  // Stops the bar and clears its line. Idempotent.
  void Finish();

  // The text of one redraw (exposed for tests).
  static std::string Render(std::string_view label, uint64_t bytes, uint64_t total_bytes,
                            uint64_t files, uint64_t total_files, double elapsed_seconds,
                            size_t width);

 private:
  void Loop();
  void Draw();

  bool active_ = false;
  std::string label_;
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> files_{0};
  std::atomic<uint64_t> total_bytes_{0};
  std::atomic<uint64_t> total_files_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_COMMON_H_
