#include "service/operations.h"

#include "ops/journal.h"

namespace vecsafe::service {

std::string_view ToString(OpState s) {
  switch (s) {
    case OpState::kQueued:
      return "queued";
    case OpState::kRunning:
      return "running";
    case OpState::kSucceeded:
      return "succeeded";
    case OpState::kFailed:
      return "failed";
    case OpState::kCancelled:
      return "cancelled";
  }
  return "?";
}

void OpContext::SetProgress(double fraction, std::string message) {
  if (progress_) progress_(fraction, std::move(message));
}

nlohmann::json OperationInfo::ToJson() const {
  nlohmann::json j = {{"id", id},
                      {"kind", kind},
                      {"target", target},
                      {"actor", actor},
                      {"state", ToString(state)},
                      {"message", message},
                      {"created_ms", created_ms},
                      {"result", result},
                      {"cancel_requested", cancel_requested}};
  j["progress"] = progress >= 0 ? nlohmann::json(progress) : nlohmann::json(nullptr);
  j["started_ms"] = started_ms > 0 ? nlohmann::json(started_ms) : nlohmann::json(nullptr);
  j["finished_ms"] = finished_ms > 0 ? nlohmann::json(finished_ms) : nlohmann::json(nullptr);
  if (!error.empty()) {
    j["error"] = {{"code", "VS-" + std::to_string(error_code)}, {"message", error}};
  } else {
    j["error"] = nullptr;
  }
  return j;
}

OperationManager::OperationManager(const Clock* clock, int workers, size_t keep_finished)
    : clock_(clock), keep_finished_(keep_finished) {
  if (workers < 1) workers = 1;
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

OperationManager::~OperationManager() {
  Shutdown();
  for (auto& t : workers_) t.join();
}

void OperationManager::Shutdown() {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  stopping_ = true;
  while (!queue_.empty()) {
    auto e = queue_.front();
    queue_.pop_front();
    e->cancel->store(true);
    e->info.cancel_requested = true;
    Finish(*e, {Cancelled("the daemon is shutting down"), {}});
  }
  for (auto& [id, e] : ops_) {
    if (e->info.state == OpState::kRunning) {
      e->cancel->store(true);
      e->info.cancel_requested = true;
    }
  }
  cv_.notify_all();
}

void OperationManager::SetFinishHook(FinishHook hook) {
  std::lock_guard lock(mu_);
  finish_hook_ = std::move(hook);
}

Result<std::string> OperationManager::Submit(std::string kind, std::string target,
                                             std::string actor, std::string exclusive_key,
                                             Work work) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    return Unavailable("the daemon is shutting down", "Retry once it has restarted.");
  }
  if (!exclusive_key.empty()) {
    auto it = busy_keys_.find(exclusive_key);
    if (it != busy_keys_.end()) {
      return Status(
          ErrorCode::kLocked,
          "\"" + exclusive_key + "\" is already queued or running as operation " + it->second,
          "Wait for it to finish (GET /api/v1/operations/" + it->second + ") or cancel it.");
    }
  }
  auto e = std::make_shared<Entry>();
  e->info.id = ops::NewOperationId();
  e->info.kind = std::move(kind);
  e->info.target = std::move(target);
  e->info.actor = std::move(actor);
  e->info.exclusive_key = exclusive_key;
  e->info.created_ms = clock_->NowMs();
  e->work = std::move(work);
  ops_[e->info.id] = e;
  if (!exclusive_key.empty()) busy_keys_[exclusive_key] = e->info.id;
  queue_.push_back(e);
  cv_.notify_one();
  return e->info.id;
}

std::optional<OperationInfo> OperationManager::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return std::nullopt;
  return it->second->info;
}

std::vector<OperationInfo> OperationManager::List(size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<OperationInfo> out;
  for (const auto& [id, e] : ops_) out.push_back(e->info);
  std::sort(out.begin(), out.end(), [](const OperationInfo& a, const OperationInfo& b) {
    return a.created_ms != b.created_ms ? a.created_ms > b.created_ms : a.id > b.id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

bool OperationManager::IsBusy(const std::string& exclusive_key) const {
  std::lock_guard lock(mu_);
  return busy_keys_.count(exclusive_key) > 0;
}

size_t OperationManager::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t OperationManager::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

Status OperationManager::Cancel(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) {
    return NotFound("no operation " + id, "GET /api/v1/operations lists recent operations.");
  }
  Entry& e = *it->second;
  if (e.info.state == OpState::kQueued) {
    e.cancel->store(true);
    e.info.cancel_requested = true;
    for (auto q = queue_.begin(); q != queue_.end(); ++q) {
      if (q->get() == &e) {
        queue_.erase(q);
        break;
      }
    }
    Finish(e, {Cancelled("cancelled before it started"), {}});
    return Status::OK();
  }
  if (e.info.state != OpState::kRunning) {
    return FailedPrecondition(
        "operation " + id + " has already finished (" + std::string(ToString(e.info.state)) + ")",
        "Nothing to cancel.");
  }
  e.cancel->store(true);
  e.info.cancel_requested = true;
  return Status::OK();
}

uint64_t OperationManager::finished_count() const {
  std::lock_guard lock(mu_);
  return finished_count_;
}

void OperationManager::Finish(Entry& e, OpOutcome outcome) {
  ++finished_count_;
  e.info.finished_ms = clock_->NowMs();
  e.info.result = std::move(outcome.result);
  if (outcome.status.ok()) {
    e.info.state = OpState::kSucceeded;
    e.info.progress = 1;
  } else {
    e.info.state =
        outcome.status.code() == ErrorCode::kCancelled ? OpState::kCancelled : OpState::kFailed;
    e.info.error = outcome.status.ToString();
    e.info.error_code = static_cast<int>(outcome.status.code());
  }
  if (!e.info.exclusive_key.empty()) {
    auto it = busy_keys_.find(e.info.exclusive_key);
    if (it != busy_keys_.end() && it->second == e.info.id) busy_keys_.erase(it);
  }
  e.work = nullptr;
  finished_order_.push_back(e.info.id);
  while (finished_order_.size() > keep_finished_) {
    ops_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void OperationManager::WorkerLoop() {
  for (;;) {
    std::shared_ptr<Entry> e;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      e = queue_.front();
      queue_.pop_front();
      e->info.state = OpState::kRunning;
      e->info.started_ms = clock_->NowMs();
      ++running_;
    }
    OpContext ctx;
    ctx.id_ = e->info.id;
    ctx.cancel_ = e->cancel;
    std::weak_ptr<Entry> weak = e;
    ctx.progress_ = [this, weak](double fraction, std::string message) {
      auto p = weak.lock();
      if (!p) return;
      std::lock_guard lock(mu_);
      p->info.progress = fraction;
      p->info.message = std::move(message);
    };
    OpOutcome outcome;
    try {
      outcome = e->work(ctx);
    } catch (const std::exception& ex) {
      outcome.status = Internal(std::string("operation threw: ") + ex.what());
    }
    if (outcome.status.ok() && e->cancel->load()) {
      // Finished anyway; report what happened.
    }
    FinishHook hook;
    OperationInfo snapshot;
    {
      std::lock_guard lock(mu_);
      --running_;
      Finish(*e, std::move(outcome));
      snapshot = e->info;
      hook = finish_hook_;
    }
    if (hook) hook(snapshot);
  }
}

}  // namespace vecsafe::service
