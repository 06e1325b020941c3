// LocalStore: an ObjectStore on a local folder.
//
// Layout: the key "data/ab/ab12..." is the file <root>/data/ab/ab12...; each
// '/' in a key is a folder. Nothing else is stored: no index, no metadata
// file, so a repository folder can be copied with cp/rsync and read back.
//
// Writes go through io/atomic_file.h: a temporary ".tmp-vecsafe-*" file in the
// target folder, fsync, rename (or an atomic no-replace rename/link for
// if_absent), fsync the folder. Temporary files a crash leaves behind are
// invisible to List() and removed by CleanupTemporaryFiles().
//
// Opening a store creates nothing: the root folder is created by the first
// Put(), so a mistyped path fails reads with kNotFound and writes nothing.
//
// Thread safety: all methods may be called concurrently, from several threads
// and several processes on the same folder.
#ifndef VECSAFE_IO_LOCAL_LOCAL_STORE_H_
#define VECSAFE_IO_LOCAL_LOCAL_STORE_H_

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "vecsafe/object_store.h"

namespace vecsafe {

struct LocalStoreOptions {
  // fsync files and folders on Put/Delete. Turning it off makes Put not
  // durable (tests only). Default: true.
  bool sync = true;
  // Drop each pack (object of kOnePassBytes or more) from the page cache once
  // it is durable (AtomicWriteOptions::drop_cache): a backup then leaves a
  // database's working set in memory, and on a VM that hands free memory
  // back to its host it writes into reused pages, not fresh ones. The cost:
  // the next verify or restore reads those packs from the disk. Default:
  // false (kept, so the verify that follows a backup reads from memory).
  // URL: file:///path?pagecache=drop.
  bool drop_written_packs = false;
};

class LocalStore final : public ObjectStore {
 public:
  // Opens a store rooted at `root` (made absolute). The folder need not
  // exist. Errors: kInvalidArgument (empty path), kFailedPrecondition (root
  // exists and is not a folder).
  static Result<std::unique_ptr<LocalStore>> Open(const std::filesystem::path& root,
                                                  const LocalStoreOptions& options = {});

  StoreCapabilities Capabilities() const override;
  std::string Describe() const override;
  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override;
  using ObjectStore::Put;
  Result<std::string> Get(std::string_view key, uint64_t offset = 0,
                          uint64_t length = kToEnd) override;
  Status GetInto(std::string_view key, uint64_t offset, uint64_t length, std::string* out) override;
  Result<ObjectInfo> Stat(std::string_view key) override;
  // Walks only the folders the prefix can reach: List("data/ab/") reads one
  // folder, List("data/") reads data/ and its sub-folders, never the rest.
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  // Removes the file, then each parent folder left empty, up to (not
  // including) the top-level folder of the key ("data/" stays). rmdir(2)
  // refuses non-empty folders, so a concurrent Put into the same folder is
  // never hurt (its open retries after a vanished folder).
  Status Delete(std::string_view key) override;

  // Removes temporary files older than `min_age` anywhere under the root
  // (left by crashed writers; younger ones may be writes in progress).
  // Returns how many were removed. Default min_age: one hour.
  Result<uint64_t> CleanupTemporaryFiles(std::chrono::seconds min_age = std::chrono::hours(1));
  Result<uint64_t> RemoveAbandonedWrites(std::chrono::seconds min_age) override {
    return CleanupTemporaryFiles(min_age);
  }

  const std::filesystem::path& root() const { return root_; }

 private:
  LocalStore(std::filesystem::path root, const LocalStoreOptions& options)
      : root_(std::move(root)), options_(options) {}

  // Validates `key` and returns its file path.
  Result<std::filesystem::path> PathOf(std::string_view key) const;
  Status ListFolder(const std::string& folder_key, std::string_view name_prefix,
                    const std::function<Status(const ObjectInfo&)>& fn);

  const std::filesystem::path root_;
  const LocalStoreOptions options_;
};

}  // namespace vecsafe

#endif  // VECSAFE_IO_LOCAL_LOCAL_STORE_H_
