#include "io/memory_store.h"

#include <algorithm>
#include <ctime>
#include <utility>
#include <vector>

namespace vecsafe {
namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::shared_ptr<MemoryStore>>& NamedStores() {
  static auto* stores = new std::map<std::string, std::shared_ptr<MemoryStore>>();
  return *stores;
}

}  // namespace

std::shared_ptr<MemoryStore> MemoryStore::Named(const std::string& name) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto& slot = NamedStores()[name];
  if (!slot) slot = std::make_shared<MemoryStore>(name);
  return slot;
}

void MemoryStore::DropNamed(const std::string& name) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  NamedStores().erase(name);
}

StoreCapabilities MemoryStore::Capabilities() const {
  StoreCapabilities caps;
  caps.atomic_put = true;
  caps.conditional_put = true;
  caps.ranged_get = true;
  caps.list_after_write = true;
  caps.local_filesystem = false;
  return caps;
}

std::string MemoryStore::Describe() const { return "mem://" + name_; }

Status MemoryStore::Put(std::string_view key, std::string_view data, const PutOptions& options) {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  Object obj{std::string(data), static_cast<int64_t>(std::time(nullptr))};
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    if (options.if_absent) {
      return AlreadyExists("object " + std::string(key) + " already exists in " + Describe());
    }
    it->second = std::move(obj);
  } else {
    objects_.emplace(std::string(key), std::move(obj));
  }
  return Status::OK();
}

Result<std::string> MemoryStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return NotFound("object " + std::string(key) + " not found in " + Describe());
  }
  const std::string& data = it->second.data;
  if (offset >= data.size()) return std::string();
  return data.substr(static_cast<size_t>(offset),
                     static_cast<size_t>(std::min<uint64_t>(length, data.size() - offset)));
}

Result<ObjectInfo> MemoryStore::Stat(std::string_view key) {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return NotFound("object " + std::string(key) + " not found in " + Describe());
  }
  return ObjectInfo{std::string(key), it->second.data.size(), it->second.mtime_unix};
}

Status MemoryStore::List(std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      snapshot.push_back(ObjectInfo{it->first, it->second.data.size(), it->second.mtime_unix});
    }
  }
  for (const ObjectInfo& info : snapshot) VS_RETURN_IF_ERROR(fn(info));
  return Status::OK();
}

Status MemoryStore::Delete(std::string_view key) {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return Status::OK();
}

size_t MemoryStore::ObjectCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

uint64_t MemoryStore::TotalBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [key, obj] : objects_) total += obj.data.size();
  return total;
}

void MemoryStore::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.clear();
}

}  // namespace vecsafe
