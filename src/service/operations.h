// Operations: every piece of long work the daemon does (a scheduled job, a
// backup or restore asked for through the API, a recovery) runs as an
// Operation on a small worker pool. The API answers 202 with the operation's
// id; GET /api/v1/operations/{id} reads its state and progress; DELETE asks it
// to stop (the work checks `cancelled()` and child processes are terminated).
//
// Exclusivity: an operation may name an exclusive key (the job name, or
// "source:<name>"); a second submission with a key that is queued or running
// is refused with kLocked, so the same job never runs twice at once.
//
// Thread safety: all methods may be called from any thread.
#ifndef VECSAFE_SERVICE_OPERATIONS_H_
#define VECSAFE_SERVICE_OPERATIONS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/clock.h"
#include "vecsafe/status.h"

namespace vecsafe::service {

enum class OpState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
std::string_view ToString(OpState s);

// What a running operation sees: cancellation and a place to report progress.
class OpContext {
 public:
  bool cancelled() const { return cancel_->load(); }
  const std::atomic<bool>* cancel_flag() const { return cancel_.get(); }
  // Progress from 0 to 1 (or negative when unknown) and a short message.
  void SetProgress(double fraction, std::string message);
  // The operation's id (journal entries of the work carry it).
  const std::string& id() const { return id_; }

 private:
  friend class OperationManager;
  std::string id_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::function<void(double, std::string)> progress_;
};

// The outcome of a piece of work.
struct OpOutcome {
  Status status;
  nlohmann::json result = nlohmann::json::object();  // shown in the API
};

struct OperationInfo {
  std::string id;
  std::string kind;    // "backup", "restore", "job", ...
  std::string target;  // source, snapshot or job name
  std::string actor;   // token name, "scheduler" or "cli:<user>"
  std::string exclusive_key;
  OpState state = OpState::kQueued;
  double progress = -1;
  std::string message;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  nlohmann::json result = nlohmann::json::object();
  std::string error;   // Status::ToString() when failed
  int error_code = 0;  // VS-<n>
  bool cancel_requested = false;

  nlohmann::json ToJson() const;
};

class OperationManager {
 public:
  using Work = std::function<OpOutcome(OpContext&)>;
  // Called when an operation finishes (on the worker thread).
  using FinishHook = std::function<void(const OperationInfo&)>;

  OperationManager(const Clock* clock, int workers, size_t keep_finished = 2000);
  ~OperationManager();  // cancels queued work, waits for running work
  OperationManager(const OperationManager&) = delete;
  OperationManager& operator=(const OperationManager&) = delete;

  // Queues `work`. kLocked when `exclusive_key` is non-empty and an operation
  // with the same key is queued or running; kUnavailable after Shutdown().
  Result<std::string> Submit(std::string kind, std::string target, std::string actor,
                             std::string exclusive_key, Work work);

  std::optional<OperationInfo> Get(const std::string& id) const;
  // Newest first; at most `limit`.
  std::vector<OperationInfo> List(size_t limit = 100) const;
  // True when an operation with this key is queued or running.
  bool IsBusy(const std::string& exclusive_key) const;
  // Asks an operation to stop. kNotFound for an unknown id; kFailedPrecondition
  // when it has already finished. A queued one is cancelled at once.
  Status Cancel(const std::string& id);

  size_t queued() const;
  size_t running() const;
  // How many operations have finished since start (a change marker for caches
  // of what operations may change, like the list of snapshots).
  uint64_t finished_count() const;
  void SetFinishHook(FinishHook hook);
  // Stops accepting work, cancels what is queued and asks running work to stop.
  void Shutdown();

 private:
  struct Entry {
    OperationInfo info;
    Work work;
    std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  };
  void WorkerLoop();
  void Finish(Entry& e, OpOutcome outcome);  // REQUIRES: mu_ held

  const Clock* clock_;
  size_t keep_finished_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Entry>> ops_;  // guarded by mu_
  std::deque<std::shared_ptr<Entry>> queue_;           // guarded by mu_
  std::deque<std::string> finished_order_;             // guarded by mu_
  std::map<std::string, std::string> busy_keys_;       // key -> op id; guarded by mu_
  size_t running_ = 0;                                 // guarded by mu_
  uint64_t finished_count_ = 0;                        // guarded by mu_
  FinishHook finish_hook_;                             // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_OPERATIONS_H_
