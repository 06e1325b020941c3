// Alert webhooks: generic JSON or Slack-compatible, sent with libcurl when a
// consistency check fails, backups fail N times in a row, disk usage passes a
// threshold or many orphans appear. The same alert key is sent at most once
// per cooldown (config alerts.cooldown_minutes); suppressed repeats are
// counted. Webhook URLs are treated as secrets (never logged or returned).
#ifndef VECSAFE_SERVICE_ALERTS_H_
#define VECSAFE_SERVICE_ALERTS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "service/clock.h"
#include "service/config.h"

namespace vecsafe::service {

struct Alert {
  std::string key;       // dedup key, e.g. "backup_failures:chroma"
  std::string kind;      // check_failed, backup_failures, disk_usage, orphans, test
  std::string severity;  // warning, critical, info
  std::string title;
  std::string text;
  nlohmann::json fields = nlohmann::json::object();
};

struct DeliveryResult {
  std::string webhook;  // its name, never its URL
  bool ok = false;
  long http_status = 0;
  std::string error;
};

class AlertManager {
 public:
  explicit AlertManager(const Clock* clock) : clock_(clock) {}

  // Sends `alert` to every webhook of `cfg` unless the same key was sent
  // within the cooldown (`force` ignores the cooldown). Returns the deliveries
  // (empty when suppressed or no webhook is configured).
  std::vector<DeliveryResult> Raise(const AlertConfig& cfg, const Alert& alert, bool force = false);

  int64_t sent() const;
  int64_t suppressed() const;
  int64_t failed() const;

  // The body sent for `alert` in `format` (exposed for tests).
  static nlohmann::json Body(const Alert& alert, WebhookFormat format, int64_t now_ms);

 private:
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> last_sent_ms_;  // guarded by mu_
  int64_t sent_ = 0, suppressed_ = 0, failed_ = 0;
};

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_ALERTS_H_
