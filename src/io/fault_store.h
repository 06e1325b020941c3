// FaultStore: wraps any ObjectStore and injects the failures a real disk or
// bucket produces, for tests (LevelDB's fault_injection_test Env, RocksDB's
// FaultInjectionTestFS).
//
//   MemoryStore mem;
//   FaultStore store(&mem);
//   store.FailNthPut(3, IoError("injected"));        // the 3rd Put from now fails
//   store.SetNoSpaceAfterBytes(1 << 20);            // a full disk after 1 MiB
//   ... run a backup against `store` ...
//   store.SimulateCrash();                          // lose what was not synced
//   EXPECT_EQ(store.KeysWritten(), expected_keys);  // the exact set of writes
//
// Every rule counts the calls it matches (kind and key prefix); when several
// rules fire on one call, the one added first decides the error. An injected failure of a Put or
// Delete happens before the base store is touched (nothing written), unless the rule says
// `after_effect` (the write happened but its reply was lost, like a timeout
// after the server committed).
//
// Puts and Deletes are serialised (one at a time, each with a read of the
// object's previous state) so SimulateCrash() restores an exact state.
//
// Ownership: the base store is borrowed (must outlive the FaultStore) or
// owned, depending on the constructor.
// Thread safety: every method may be called concurrently.
#ifndef VECSAFE_IO_FAULT_STORE_H_
#define VECSAFE_IO_FAULT_STORE_H_

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vecsafe/object_store.h"

namespace vecsafe {

enum class StoreOp : uint8_t { kPut, kGet, kStat, kList, kDelete };

inline constexpr uint64_t kForever = std::numeric_limits<uint64_t>::max();

struct FaultRule {
  // The call kind the rule applies to. Default: kPut.
  StoreOp op = StoreOp::kPut;
  // Applies to keys starting with this (for List: list prefixes starting with
  // it). Default: "" (every call of that kind).
  std::string key_prefix;
  // Matching calls let through before the rule starts failing. Default: 0.
  uint64_t skip = 0;
  // Matching calls failed after that; kForever for all. Default: 1.
  uint64_t times = 1;
  // The error returned. Default: kIoError "injected fault".
  Status error = IoError("injected fault");
  // Put/Delete only: perform the call on the base store, then return `error`.
  // Default: false.
  bool after_effect = false;
};

// What SimulateCrash() does with writes made since the last SyncPoint().
enum class CrashMode : uint8_t {
  // Objects written or deleted since the sync point are back to their state
  // at the sync point (new ones vanish): an atomic store that was not durable.
  kDropUnsynced,
  // Puts since the sync point leave the first half of their new bytes (a torn
  // write); deletes are undone: a store that was neither atomic nor durable.
  kTruncateUnsynced,
};

// Where CorruptObject() damages an object.
enum class CorruptWhere : uint8_t { kStart, kMiddle, kEnd };

struct FaultCounters {
  uint64_t puts = 0;  // calls, failed ones included
  uint64_t gets = 0;
  uint64_t stats = 0;
  uint64_t lists = 0;
  uint64_t deletes = 0;
  uint64_t injected_failures = 0;
  uint64_t bytes_put = 0;  // by successful puts
  uint64_t bytes_got = 0;
};

class FaultStore final : public ObjectStore {
 public:
  // Borrows `base`. REQUIRES: base != nullptr and outlives this object.
  explicit FaultStore(ObjectStore* base);
  // Owns `base`. REQUIRES: base != nullptr.
  explicit FaultStore(std::unique_ptr<ObjectStore> base);

  // ---- Faults ----
  // Adds a rule; returns its id for RemoveRule().
  int AddRule(FaultRule rule);
  void RemoveRule(int id);
  // The n-th Put from now (1-based) fails with `error`.
  int FailNthPut(uint64_t n, Status error);
  // Every Put of a key starting with `prefix` fails with `error`.
  int FailPutsWithPrefix(std::string prefix, Status error);
  // A disk that fills up: Puts succeed while their sizes add up to at most
  // `bytes` from now; a Put that does not fit fails with kNoSpace and writes
  // nothing (later smaller ones may still fit, as on a real disk).
  void SetNoSpaceAfterBytes(uint64_t bytes);
  // Gets of keys starting with `prefix` return their bytes with the middle
  // byte of the returned range flipped (the stored object is intact).
  void CorruptOnRead(std::string prefix);
  // Every call sleeps this long before running. Default: none.
  void SetLatency(std::chrono::microseconds per_call);
  // Removes every rule, the space limit, read corruption and latency.
  void ClearFaults();

  // ---- Crashes ----
  // Declares everything written so far durable.
  void SyncPoint();
  // Applies `mode` to the writes since the last SyncPoint(), then starts a
  // new sync point. Errors: the base store's, if it cannot be rewritten.
  Status SimulateCrash(CrashMode mode = CrashMode::kDropUnsynced);
  // Keys written or deleted since the last SyncPoint().
  std::set<std::string> UnsyncedKeys() const;

  // ---- Damage to stored data (bypasses rules and counters) ----
  // Flips `nbytes` bytes (XOR 0xFF) at the start, middle or end of the object.
  // Errors: kNotFound, kInvalidArgument (object shorter than nbytes).
  Status CorruptObject(std::string_view key, CorruptWhere where, uint64_t nbytes = 1);
  // Flips `nbytes` bytes from `offset`. Errors: kNotFound, kInvalidArgument (past the end).
  Status CorruptObjectAt(std::string_view key, uint64_t offset, uint64_t nbytes = 1);
  // Cuts the object to `new_size` bytes. Errors: kNotFound, kInvalidArgument (longer).
  Status TruncateObject(std::string_view key, uint64_t new_size);

  // ---- Observation ----
  FaultCounters counters() const;
  // Keys successfully put (after_effect puts included) / deleted since
  // construction or ResetCounters().
  std::set<std::string> KeysWritten() const;
  std::set<std::string> KeysDeleted() const;
  void ResetCounters();

  ObjectStore& base() { return *base_; }

  // ---- ObjectStore ----
  StoreCapabilities Capabilities() const override { return base_->Capabilities(); }
  std::string Describe() const override { return "fault(" + base_->Describe() + ")"; }
  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override;
  using ObjectStore::Put;
  Result<std::string> Get(std::string_view key, uint64_t offset = 0,
                          uint64_t length = kToEnd) override;
  Result<ObjectInfo> Stat(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  // Not a fault point: forwarded so that a wrapped local store still cleans up.
  Result<uint64_t> RemoveAbandonedWrites(std::chrono::seconds min_age) override {
    return base_->RemoveAbandonedWrites(min_age);
  }

 private:
  struct ActiveRule {
    int id;
    FaultRule rule;
    uint64_t seen = 0;
  };
  // Counts the call and returns the rule that fails it, if any.
  std::optional<FaultRule> Check(StoreOp op, std::string_view key);
  void Sleep() const;
  // Records the pre-crash image of `key` once per sync period. REQUIRES: write_mu_ held.
  void RememberPreImage(std::string_view key);

  std::unique_ptr<ObjectStore> owned_;
  ObjectStore* const base_;

  mutable std::mutex mu_;  // guards everything below except pre_images_
  std::vector<ActiveRule> rules_;
  int next_rule_id_ = 1;
  std::optional<uint64_t> space_left_;
  std::vector<std::string> corrupt_read_prefixes_;
  std::chrono::microseconds latency_{0};
  FaultCounters counters_;
  std::set<std::string> keys_written_;
  std::set<std::string> keys_deleted_;

  // Serialises writes with their pre-image capture so a crash restores a
  // consistent state. Never held while sleeping or calling user callbacks.
  mutable std::mutex write_mu_;
  std::map<std::string, std::optional<std::string>, std::less<>> pre_images_;  // write_mu_
};

}  // namespace vecsafe

#endif  // VECSAFE_IO_FAULT_STORE_H_
