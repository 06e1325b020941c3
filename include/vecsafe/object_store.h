// ObjectStore: the one storage interface under the repository.
//
// The repository never knows which driver it talks to: it is handed an
// ObjectStore (never a global) and checks Capabilities(), never the type.
// Drivers: local directory, in-memory (tests), fault-injecting wrapper
// (tests), S3, GCS. A driver is chosen from the repository URL through
// StoreRegistry (src/io/store_registry.h).
//
// Keys are '/'-separated relative names such as "data/ab/ab12..." or
// "snapshots/<id>": no leading '/', no "." or ".." parts, no empty parts, no
// part starting with ".tmp-vecsafe-" (reserved for the local driver's
// temporary files, so a repository copied between drivers lists the same).
//
// Thread safety: every method may be called from several threads at once.
#ifndef VECSAFE_OBJECT_STORE_H_
#define VECSAFE_OBJECT_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe {

struct ObjectInfo {
  std::string key;         // full key, relative to the store root
  uint64_t size = 0;       // bytes
  int64_t mtime_unix = 0;  // seconds since the epoch; 0 when the driver cannot tell
};

// What a driver can do; the core branches on these flags only.
struct StoreCapabilities {
  // Put() is all-or-nothing: a reader sees the old object or the whole new one.
  // Default: true for every shipped driver.
  bool atomic_put = true;
  // Put(..., if_absent=true) is enforced by the server/filesystem, not
  // emulated with Stat+Put (which races).
  bool conditional_put = false;
  // Get() with an offset/length reads only that range.
  bool ranged_get = true;
  // List() right after Put() sees the new key.
  bool list_after_write = true;
  // Objects are files on a local filesystem (fsync and rename mean something).
  bool local_filesystem = false;
  // How many Put()s of large objects the store wants at once (remote stores:
  // half their concurrency= option); 0: no preference.
  int parallel_puts = 0;
};

struct PutOptions {
  // Fail with kAlreadyExists if the key exists. Default: false (overwrite).
  bool if_absent = false;
};

inline constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual StoreCapabilities Capabilities() const = 0;

  // A printable location with no secrets, e.g. "/srv/repo" or "s3://bucket/prefix".
  virtual std::string Describe() const = 0;

  // Stores `data` under `key` atomically (see StoreCapabilities::atomic_put)
  // and durably: when this returns OK the object survives a crash.
  // Errors: kInvalidArgument (bad key), kNoSpace, kResourceExhausted (file
  // size limit, quota), kPermissionDenied, kAlreadyExists (if_absent), kIoError,
  // kUnavailable (retryable).
  virtual Status Put(std::string_view key, std::string_view data, const PutOptions& options) = 0;
  Status Put(std::string_view key, std::string_view data) { return Put(key, data, PutOptions{}); }

  // Reads `length` bytes from `offset` (kToEnd: to the end). Reading past the
  // end returns the bytes that exist. Errors: kNotFound, kIoError, kUnavailable.
  virtual Result<std::string> Get(std::string_view key, uint64_t offset = 0,
                                  uint64_t length = kToEnd) = 0;

  // Get() into *out (its contents replaced; cleared on error). A driver that
  // can read straight into a buffer overrides it, so that a reader of many
  // ranges (restore, verify) reuses one buffer. Default: Get().
  virtual Status GetInto(std::string_view key, uint64_t offset, uint64_t length, std::string* out) {
    auto r = Get(key, offset, length);
    if (!r.ok()) {
      out->clear();
      return r.status();
    }
    *out = std::move(*r);
    return Status::OK();
  }

  // Errors: kNotFound.
  virtual Result<ObjectInfo> Stat(std::string_view key) = 0;

  // Calls `fn` for each object whose key starts with `prefix`, in no
  // particular order. A non-OK Status from `fn` stops the listing and is returned.
  virtual Status List(std::string_view prefix,
                      const std::function<Status(const ObjectInfo&)>& fn) = 0;

  // Removes `key`. Removing a missing key is OK (idempotent).
  virtual Status Delete(std::string_view key) = 0;

  // Removes what writers killed in the middle of a Put() left behind and no
  // listing shows (a local driver's temporary files) that is at least
  // `min_age` old; returns how many. The caller must know that no writer is
  // active when min_age is small (prune holds the exclusive lock). Default:
  // nothing to remove (stores whose Put is atomic server-side).
  virtual Result<uint64_t> RemoveAbandonedWrites(std::chrono::seconds min_age) {
    (void)min_age;
    return uint64_t{0};
  }

  // Convenience: List() collected into a vector.
  Result<std::vector<ObjectInfo>> ListAll(std::string_view prefix);
};

// Returns OK if `key` is a well-formed object key (see above), else kInvalidArgument.
Status ValidateObjectKey(std::string_view key);

}  // namespace vecsafe

#endif  // VECSAFE_OBJECT_STORE_H_
