#include "io/fault_store.h"

#include <thread>
#include <utility>

namespace vecsafe {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

FaultStore::FaultStore(ObjectStore* base) : base_(base) {}

FaultStore::FaultStore(std::unique_ptr<ObjectStore> base)
    : owned_(std::move(base)), base_(owned_.get()) {}

int FaultStore::AddRule(FaultRule rule) {
  std::lock_guard<std::mutex> lock(mu_);
  const int id = next_rule_id_++;
  rules_.push_back(ActiveRule{id, std::move(rule), 0});
  return id;
}

void FaultStore::RemoveRule(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(rules_, [id](const ActiveRule& r) { return r.id == id; });
}

int FaultStore::FailNthPut(uint64_t n, Status error) {
  FaultRule rule;
  rule.op = StoreOp::kPut;
  rule.skip = n > 0 ? n - 1 : 0;
  rule.times = 1;
  rule.error = std::move(error);
  return AddRule(std::move(rule));
}

int FaultStore::FailPutsWithPrefix(std::string prefix, Status error) {
  FaultRule rule;
  rule.op = StoreOp::kPut;
  rule.key_prefix = std::move(prefix);
  rule.times = kForever;
  rule.error = std::move(error);
  return AddRule(std::move(rule));
}

void FaultStore::SetNoSpaceAfterBytes(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_left_ = bytes;
}

void FaultStore::CorruptOnRead(std::string prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  corrupt_read_prefixes_.push_back(std::move(prefix));
}

void FaultStore::SetLatency(std::chrono::microseconds per_call) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_ = per_call;
}

void FaultStore::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
  space_left_.reset();
  corrupt_read_prefixes_.clear();
  latency_ = std::chrono::microseconds(0);
}

void FaultStore::SyncPoint() {
  std::lock_guard<std::mutex> lock(write_mu_);
  pre_images_.clear();
}

std::set<std::string> FaultStore::UnsyncedKeys() const {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::set<std::string> out;
  for (const auto& [key, pre] : pre_images_) out.insert(key);
  return out;
}

void FaultStore::RememberPreImage(std::string_view key) {
  if (pre_images_.find(key) != pre_images_.end()) return;
  Result<std::string> current = base_->Get(key);
  std::optional<std::string> pre;
  if (current.ok()) pre = std::move(current).value();
  pre_images_.emplace(std::string(key), std::move(pre));
}

Status FaultStore::SimulateCrash(CrashMode mode) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status first_error;
  auto note = [&](Status s) {
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  };
  for (const auto& [key, pre] : pre_images_) {
    if (mode == CrashMode::kDropUnsynced) {
      note(pre ? base_->Put(key, *pre) : base_->Delete(key));
      continue;
    }
    Result<std::string> current = base_->Get(key);
    if (!current.ok()) {  // deleted since the sync point: the delete is lost
      if (pre) note(base_->Put(key, *pre));
      continue;
    }
    if (pre && *pre == *current) continue;
    note(base_->Put(key, std::string_view(*current).substr(0, current->size() / 2)));
  }
  pre_images_.clear();
  return first_error.WithContext("simulated crash could not rewrite the base store");
}

std::optional<FaultRule> FaultStore::Check(StoreOp op, std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  switch (op) {
    case StoreOp::kPut:
      ++counters_.puts;
      break;
    case StoreOp::kGet:
      ++counters_.gets;
      break;
    case StoreOp::kStat:
      ++counters_.stats;
      break;
    case StoreOp::kList:
      ++counters_.lists;
      break;
    case StoreOp::kDelete:
      ++counters_.deletes;
      break;
  }
  std::optional<FaultRule> fired;
  for (ActiveRule& r : rules_) {
    if (r.rule.op != op || !HasPrefix(key, r.rule.key_prefix)) continue;
    ++r.seen;
    const bool fires = r.seen > r.rule.skip && (r.seen - r.rule.skip) <= r.rule.times;
    if (fires && !fired) fired = r.rule;
  }
  if (fired) ++counters_.injected_failures;
  return fired;
}

void FaultStore::Sleep() const {
  std::chrono::microseconds latency;
  {
    std::lock_guard<std::mutex> lock(mu_);
    latency = latency_;
  }
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
}

Status FaultStore::Put(std::string_view key, std::string_view data, const PutOptions& options) {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  Sleep();
  std::optional<FaultRule> fault = Check(StoreOp::kPut, key);
  if (fault && !fault->after_effect) return fault->error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (space_left_) {
      if (data.size() > *space_left_) {
        ++counters_.injected_failures;
        return Status(ErrorCode::kNoSpace, "cannot write " + std::string(key) + " (" +
                                               std::to_string(data.size()) +
                                               " bytes): no space left on device (injected; " +
                                               std::to_string(*space_left_) + " bytes free)");
      }
      *space_left_ -= data.size();
    }
  }
  Status s;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    RememberPreImage(key);
    s = base_->Put(key, data, options);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!s.ok()) {
    if (space_left_) *space_left_ += data.size();
    return s;
  }
  counters_.bytes_put += data.size();
  keys_written_.insert(std::string(key));
  if (fault) return fault->error;  // after_effect: written, reply lost
  return s;
}

Result<std::string> FaultStore::Get(std::string_view key, uint64_t offset, uint64_t length) {
  Sleep();
  if (std::optional<FaultRule> fault = Check(StoreOp::kGet, key)) return fault->error;
  Result<std::string> r = base_->Get(key, offset, length);
  if (!r.ok()) return r;
  std::lock_guard<std::mutex> lock(mu_);
  counters_.bytes_got += r->size();
  for (const std::string& prefix : corrupt_read_prefixes_) {
    if (HasPrefix(key, prefix) && !r->empty()) {
      (*r)[r->size() / 2] = static_cast<char>((*r)[r->size() / 2] ^ 0xFF);
      break;
    }
  }
  return r;
}

Result<ObjectInfo> FaultStore::Stat(std::string_view key) {
  Sleep();
  if (std::optional<FaultRule> fault = Check(StoreOp::kStat, key)) return fault->error;
  return base_->Stat(key);
}

Status FaultStore::List(std::string_view prefix,
                        const std::function<Status(const ObjectInfo&)>& fn) {
  Sleep();
  if (std::optional<FaultRule> fault = Check(StoreOp::kList, prefix)) return fault->error;
  return base_->List(prefix, fn);
}

Status FaultStore::Delete(std::string_view key) {
  VS_RETURN_IF_ERROR(ValidateObjectKey(key));
  Sleep();
  std::optional<FaultRule> fault = Check(StoreOp::kDelete, key);
  if (fault && !fault->after_effect) return fault->error;
  Status s;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    RememberPreImage(key);
    s = base_->Delete(key);
  }
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys_deleted_.insert(std::string(key));
  }
  if (fault) return fault->error;
  return s;
}

Status FaultStore::CorruptObjectAt(std::string_view key, uint64_t offset, uint64_t nbytes) {
  std::lock_guard<std::mutex> lock(write_mu_);
  VS_ASSIGN_OR_RETURN(std::string data, base_->Get(key));
  if (nbytes == 0 || offset > data.size() || nbytes > data.size() - offset) {
    return InvalidArgument("cannot corrupt " + std::to_string(nbytes) + " bytes at offset " +
                           std::to_string(offset) + " of " + std::string(key) + " (" +
                           std::to_string(data.size()) + " bytes)");
  }
  for (uint64_t i = 0; i < nbytes; ++i) {
    data[offset + i] = static_cast<char>(data[offset + i] ^ 0xFF);
  }
  return base_->Put(key, data);
}

Status FaultStore::CorruptObject(std::string_view key, CorruptWhere where, uint64_t nbytes) {
  VS_ASSIGN_OR_RETURN(ObjectInfo info, base_->Stat(key));
  if (nbytes == 0 || nbytes > info.size) {
    return InvalidArgument("cannot corrupt " + std::to_string(nbytes) + " bytes of " +
                           std::string(key) + " (" + std::to_string(info.size) + " bytes)");
  }
  uint64_t offset = 0;
  switch (where) {
    case CorruptWhere::kStart:
      offset = 0;
      break;
    case CorruptWhere::kMiddle:
      offset = (info.size - nbytes) / 2;
      break;
    case CorruptWhere::kEnd:
      offset = info.size - nbytes;
      break;
  }
  return CorruptObjectAt(key, offset, nbytes);
}

Status FaultStore::TruncateObject(std::string_view key, uint64_t new_size) {
  std::lock_guard<std::mutex> lock(write_mu_);
  VS_ASSIGN_OR_RETURN(std::string data, base_->Get(key));
  if (new_size > data.size()) {
    return InvalidArgument("cannot truncate " + std::string(key) + " (" +
                           std::to_string(data.size()) + " bytes) to " + std::to_string(new_size));
  }
  data.resize(static_cast<size_t>(new_size));
  return base_->Put(key, data);
}

FaultCounters FaultStore::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

std::set<std::string> FaultStore::KeysWritten() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_written_;
}

std::set<std::string> FaultStore::KeysDeleted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_deleted_;
}

void FaultStore::ResetCounters() {
  std::lock_guard<std::mutex> lock(mu_);
  counters_ = FaultCounters{};
  keys_written_.clear();
  keys_deleted_.clear();
}

}  // namespace vecsafe
