// Helpers for repository tests: an in-memory store with fault injection
// hooks and deterministic test data.
#ifndef VECSAFE_TESTS_UNIT_REPO_REPO_TEST_UTIL_H_
#define VECSAFE_TESTS_UNIT_REPO_REPO_TEST_UTIL_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "vecsafe/object_store.h"
#include "vecsafe/repository.h"

namespace vecsafe::testing {

// Map-backed store shared by handles (so a test can "reopen" a repository).
// `fail_put` may reject a Put before it happens (fault injection).
struct StoreState {
  std::mutex mu;
  std::map<std::string, std::string, std::less<>> objects;
  std::function<Status(std::string_view key, std::string_view data)> fail_put;
  std::atomic<int> puts{0};
};

class TestStore : public ObjectStore {
 public:
  explicit TestStore(std::shared_ptr<StoreState> s) : s_(std::move(s)) {}
  StoreCapabilities Capabilities() const override { return {}; }
  std::string Describe() const override { return "test://store"; }
  Status Put(std::string_view key, std::string_view data, const PutOptions& o) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    if (s_->fail_put) VS_RETURN_IF_ERROR(s_->fail_put(key, data));
    std::lock_guard<std::mutex> lk(s_->mu);
    if (o.if_absent && s_->objects.count(std::string(key)) != 0) {
      return AlreadyExists(std::string(key));
    }
    s_->objects[std::string(key)] = std::string(data);
    ++s_->puts;
    return Status::OK();
  }
  using ObjectStore::Put;
  Result<std::string> Get(std::string_view key, uint64_t off, uint64_t len) override {
    std::lock_guard<std::mutex> lk(s_->mu);
    auto it = s_->objects.find(key);
    if (it == s_->objects.end()) return NotFound("no object " + std::string(key));
    const std::string& d = it->second;
    if (off >= d.size()) return std::string();
    return d.substr(off, std::min<uint64_t>(len, d.size() - off));
  }
  Result<ObjectInfo> Stat(std::string_view key) override {
    std::lock_guard<std::mutex> lk(s_->mu);
    auto it = s_->objects.find(key);
    if (it == s_->objects.end()) return NotFound("no object " + std::string(key));
    return ObjectInfo{it->first, it->second.size(), 0};
  }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    std::vector<ObjectInfo> copy;
    {
      std::lock_guard<std::mutex> lk(s_->mu);
      for (const auto& [k, v] : s_->objects) {
        if (k.compare(0, prefix.size(), prefix) == 0) copy.push_back({k, v.size(), 0});
      }
    }
    for (const auto& o : copy) VS_RETURN_IF_ERROR(fn(o));
    return Status::OK();
  }
  Status Delete(std::string_view key) override {
    std::lock_guard<std::mutex> lk(s_->mu);
    s_->objects.erase(std::string(key));
    return Status::OK();
  }

 private:
  std::shared_ptr<StoreState> s_;
};

inline std::string RandomBytesForTest(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

// Small sizes so tests make many chunks and several packs quickly.
inline InitOptions SmallInit(Encryption e = Encryption::kNone) {
  InitOptions o;
  o.encryption = e;
  if (e != Encryption::kNone) o.password = "correct horse";
  o.kdf_ops_limit = 1;
  o.kdf_mem_limit_bytes = 64 * 1024;
  o.chunk_min = 1024;
  o.chunk_avg = 4096;
  o.chunk_max = 16384;
  o.pack_target = 64 * 1024;
  return o;
}

}  // namespace vecsafe::testing

#endif  // VECSAFE_TESTS_UNIT_REPO_REPO_TEST_UTIL_H_
