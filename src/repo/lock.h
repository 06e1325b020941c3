// Repository locks (docs/FORMAT.md, "locks"): locks/<32 hex> holding plain
// JSON {"version":1,"mode":"shared"|"exclusive","hostname":..,"pid":..,
// "created":unix,"refreshed":unix,"operation":..}. Plain even in an encrypted
// repository so that any process can tell who holds the repository.
//
// Acquire: write our lock, then list the others; on a conflict remove ours
// and wait (bounded) or fail with kLocked naming the holder. Two processes
// racing for exclusive locks both back off and retry with jitter.
#ifndef VECSAFE_REPO_LOCK_H_
#define VECSAFE_REPO_LOCK_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "vecsafe/object_store.h"
#include "vecsafe/repository.h"

namespace vecsafe::repo {

std::string EncodeLock(const LockInfo& lock);
// kDataLoss on damage. `id` is copied into the result. Never throws.
Result<LockInfo> ParseLock(std::string_view bytes, std::string_view id);

// Fills stale/stale_reason: same host and the process is gone, or not
// refreshed for kLockStaleSeconds (`now_unix`).
void JudgeStaleness(LockInfo* lock, std::string_view this_host, int64_t now_unix);

std::string DescribeLock(const LockInfo& lock, int64_t now_unix);

// A held lock: refreshed in the background, removed on destruction.
class LockHandle {
 public:
  LockHandle(ObjectStore* store, LockInfo info);
  ~LockHandle();
  LockHandle(const LockHandle&) = delete;
  LockHandle& operator=(const LockHandle&) = delete;
  const LockInfo& info() const { return info_; }
  // Removes the lock now (also done by the destructor).
  Status Release();

 private:
  void RefreshLoop();
  ObjectStore* store_;
  LockInfo info_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool released_ = false;
  std::thread refresher_;
};

struct LockRequest {
  LockMode mode = LockMode::kShared;
  std::string operation;
  std::string hostname;
  int wait_seconds = 0;
  bool break_stale = false;
};

// Errors: kLocked (names host, pid and age of a holder), store errors.
Result<std::unique_ptr<LockHandle>> AcquireLock(ObjectStore* store, const LockRequest& request);

// All locks in the store, judged for staleness. Damaged lock objects are
// returned with operation "damaged" and stale=true.
Result<std::vector<LockInfo>> ListAllLocks(ObjectStore* store, std::string_view this_host);

std::string LocalHostname();

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_LOCK_H_
