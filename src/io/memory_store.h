// MemoryStore: an ObjectStore held in memory, for tests (LevelDB's NewMemEnv).
//
// Behaves like a perfect local store: atomic, durable for the life of the
// process, conditional puts enforced, list-after-write consistent. Named
// stores ("mem://name" repository URLs) are shared process-wide so a test can
// open the same repository twice, as two processes would.
//
// Thread safety: all methods may be called concurrently (one mutex).
#ifndef VECSAFE_IO_MEMORY_STORE_H_
#define VECSAFE_IO_MEMORY_STORE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "vecsafe/object_store.h"

namespace vecsafe {

class MemoryStore final : public ObjectStore {
 public:
  // `name` only shows in Describe() ("mem://name").
  explicit MemoryStore(std::string name = "anonymous") : name_(std::move(name)) {}

  // The process-wide store called `name`, created empty on first use. The
  // returned pointer shares ownership; the store lives while anyone holds it
  // or until DropNamed(name).
  static std::shared_ptr<MemoryStore> Named(const std::string& name);
  // Forgets the named store (holders keep their pointer). Tests call it to
  // start from an empty repository.
  static void DropNamed(const std::string& name);

  StoreCapabilities Capabilities() const override;
  std::string Describe() const override;
  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override;
  using ObjectStore::Put;
  Result<std::string> Get(std::string_view key, uint64_t offset = 0,
                          uint64_t length = kToEnd) override;
  Result<ObjectInfo> Stat(std::string_view key) override;
  // Calls `fn` in key order, on a copy taken under the lock, so `fn` may call
  // back into the store.
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;

  // Test helpers.
  size_t ObjectCount() const;
  uint64_t TotalBytes() const;
  void Clear();

 private:
  struct Object {
    std::string data;
    int64_t mtime_unix = 0;
  };
  const std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;  // guarded by mu_
};

// Forwards every call to a shared store; lets a registry hand out a
// std::unique_ptr<ObjectStore> for a store that several owners share.
class SharedStoreHandle final : public ObjectStore {
 public:
  // REQUIRES: target != nullptr.
  explicit SharedStoreHandle(std::shared_ptr<ObjectStore> target) : target_(std::move(target)) {}
  StoreCapabilities Capabilities() const override { return target_->Capabilities(); }
  std::string Describe() const override { return target_->Describe(); }
  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override {
    return target_->Put(key, data, options);
  }
  using ObjectStore::Put;
  Result<std::string> Get(std::string_view key, uint64_t offset = 0,
                          uint64_t length = kToEnd) override {
    return target_->Get(key, offset, length);
  }
  Result<ObjectInfo> Stat(std::string_view key) override { return target_->Stat(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return target_->List(prefix, fn);
  }
  Status Delete(std::string_view key) override { return target_->Delete(key); }

 private:
  std::shared_ptr<ObjectStore> target_;
};

}  // namespace vecsafe

#endif  // VECSAFE_IO_MEMORY_STORE_H_
