#include "repo/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "repo/crypto.h"
#include "repo/format.h"

namespace vecsafe::repo {
namespace {

int64_t NowUnix() { return NowUnixNs() / 1000000000; }

std::string AgeText(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

}  // namespace

std::string LocalHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string EncodeLock(const LockInfo& l) {
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["mode"] = l.mode == LockMode::kExclusive ? "exclusive" : "shared";
  j["hostname"] = l.hostname;
  j["pid"] = l.pid;
  j["created"] = l.created_unix;
  j["refreshed"] = l.refreshed_unix;
  j["operation"] = l.operation;
  return j.dump() + "\n";
}

Result<LockInfo> ParseLock(std::string_view bytes, std::string_view id) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  auto bad = [&](std::string_view what) {
    return DataLoss("lock " + std::string(id) + " is damaged: " + std::string(what),
                    "Remove it with `vecsafe unlock --all` once no vecsafe process runs.");
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  try {
    LockInfo l;
    l.id = std::string(id);
    if (j.at("version").get<int>() != 1) return bad("unknown version");
    std::string mode = j.at("mode").get<std::string>();
    if (mode == "exclusive") {
      l.mode = LockMode::kExclusive;
    } else if (mode == "shared") {
      l.mode = LockMode::kShared;
    } else {
      return bad("unknown mode");
    }
    l.hostname = j.at("hostname").get<std::string>();
    l.pid = j.at("pid").get<int64_t>();
    l.created_unix = j.at("created").get<int64_t>();
    l.refreshed_unix = j.value("refreshed", l.created_unix);
    l.operation = j.value("operation", "");
    // Seconds since 1970 up to the year 2200: anything else is damage, and
    // would overflow when turned into nanoseconds for display.
    constexpr int64_t kMaxUnix = 7258118400;
    if (l.created_unix < 0 || l.created_unix > kMaxUnix || l.refreshed_unix < 0 ||
        l.refreshed_unix > kMaxUnix) {
      return bad("timestamp out of range");
    }
    return l;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

void JudgeStaleness(LockInfo* l, std::string_view this_host, int64_t now_unix) {
  l->stale = false;
  l->stale_reason.clear();
  if (l->hostname == this_host && l->pid > 0) {
    if (kill(static_cast<pid_t>(l->pid), 0) != 0 && errno == ESRCH) {
      l->stale = true;
      l->stale_reason = "process " + std::to_string(l->pid) + " is gone";
      return;
    }
  }
  int64_t idle = now_unix - l->refreshed_unix;
  if (idle > kLockStaleSeconds) {
    l->stale = true;
    l->stale_reason = "not refreshed for " + AgeText(idle);
  }
}

std::string DescribeLock(const LockInfo& l, int64_t now_unix) {
  std::string s = (l.mode == LockMode::kExclusive ? "an exclusive" : "a shared");
  s += " lock (" + (l.operation.empty() ? std::string("?") : l.operation) + ") by host " +
       l.hostname + " pid " + std::to_string(l.pid) + " since " +
       FormatTimeNs(l.created_unix * 1000000000).substr(0, 19) + "Z (age " +
       AgeText(now_unix - l.created_unix) + ")";
  if (l.stale) s += ", stale: " + l.stale_reason;
  return s;
}

LockHandle::LockHandle(ObjectStore* store, LockInfo info) : store_(store), info_(std::move(info)) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

LockHandle::~LockHandle() { Release().IgnoreError(); }

void LockHandle::RefreshLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    if (cv_.wait_for(lk, std::chrono::seconds(kLockRefreshSeconds), [this] { return stop_; })) {
      break;
    }
    info_.refreshed_unix = NowUnix();
    std::string body = EncodeLock(info_);
    lk.unlock();
    // A failed refresh is retried next round; staleness needs 30 minutes.
    store_->Put("locks/" + info_.id, body).IgnoreError();
    lk.lock();
  }
}

Status LockHandle::Release() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (released_) return Status::OK();
    released_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  return store_->Delete("locks/" + info_.id);
}

Result<std::vector<LockInfo>> ListAllLocks(ObjectStore* store, std::string_view this_host) {
  VS_ASSIGN_OR_RETURN(auto objects, store->ListAll("locks/"));
  std::vector<LockInfo> out;
  int64_t now = NowUnix();
  for (const auto& o : objects) {
    std::string id = o.key.substr(6);
    auto body = store->Get(o.key);
    if (!body.ok()) {
      if (body.status().code() == ErrorCode::kNotFound) continue;  // released meanwhile
      return body.status();
    }
    auto lock = ParseLock(*body, id);
    if (!lock.ok()) {
      LockInfo l;
      l.id = id;
      l.operation = "damaged";
      l.stale = true;
      l.stale_reason = lock.status().message();
      l.mode = LockMode::kExclusive;
      out.push_back(std::move(l));
      continue;
    }
    JudgeStaleness(&*lock, this_host, now);
    out.push_back(std::move(*lock));
  }
  return out;
}

Result<std::unique_ptr<LockHandle>> AcquireLock(ObjectStore* store, const LockRequest& req) {
  std::mt19937_64 rng(static_cast<uint64_t>(NowUnixNs()) ^ static_cast<uint64_t>(getpid()));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(req.wait_seconds);
  while (true) {
    LockInfo mine;
    uint8_t raw[16];
    VS_RETURN_IF_ERROR(RandomBytes(raw, sizeof(raw)));
    mine.id = HexEncode(raw, sizeof(raw));
    mine.mode = req.mode;
    mine.hostname = req.hostname;
    mine.pid = getpid();
    mine.created_unix = NowUnix();
    mine.refreshed_unix = mine.created_unix;
    mine.operation = req.operation;
    std::string key = "locks/" + mine.id;
    VS_RETURN_IF_ERROR(store->Put(key, EncodeLock(mine)));

    auto others = ListAllLocks(store, req.hostname);
    if (!others.ok()) {
      store->Delete(key).IgnoreError();
      return others.status();
    }
    const LockInfo* blocker = nullptr;
    bool broke_one = false;
    for (auto& other : *others) {
      if (other.id == mine.id) continue;
      bool conflict = req.mode == LockMode::kExclusive || other.mode == LockMode::kExclusive;
      if (!conflict) continue;
      if (other.stale && req.break_stale) {
        store->Delete("locks/" + other.id).IgnoreError();
        broke_one = true;
        continue;
      }
      blocker = &other;
      break;
    }
    if (blocker == nullptr && !broke_one) {
      return std::make_unique<LockHandle>(store, std::move(mine));
    }
    store->Delete(key).IgnoreError();
    if (blocker == nullptr) continue;  // broke stale locks: try again at once
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string hint =
          blocker->stale
              ? "The holder looks gone (" + blocker->stale_reason +
                    "); run again with --break-stale-locks (or `vecsafe unlock --stale`)."
              : "Wait for that vecsafe process to finish (or pass a lock wait), then retry.";
      return Status(ErrorCode::kLocked,
                    "repository is locked: " + DescribeLock(*blocker, NowUnix()), hint);
    }
    std::uniform_int_distribution<int> jitter(200, 700);
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
  }
}

}  // namespace vecsafe::repo
