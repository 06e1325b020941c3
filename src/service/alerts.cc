#include "service/alerts.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace vecsafe::service {
namespace {

size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

std::string IsoTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

DeliveryResult Post(const WebhookConfig& hook, const std::string& body) {
  DeliveryResult r;
  r.webhook = hook.name;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.error = "cannot initialise libcurl";
    return r;
  }
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, hook.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.http_status);
    r.ok = r.http_status >= 200 && r.http_status < 300;
    if (!r.ok) r.error = "the webhook answered HTTP " + std::to_string(r.http_status);
  } else {
    // curl_easy_strerror never contains the URL.
    r.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

}  // namespace

nlohmann::json AlertManager::Body(const Alert& alert, WebhookFormat format, int64_t now_ms) {
  if (format == WebhookFormat::kSlack) {
    std::string text =
        ":rotating_light: *" + alert.title + "* (" + alert.severity + ")\n" + alert.text;
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& [k, v] : alert.fields.items()) {
      fields.push_back({{"title", k},
                        {"value", v.is_string() ? v.get<std::string>() : v.dump()},
                        {"short", true}});
    }
    return {{"text", text},
            {"attachments",
             {{{"color", alert.severity == "critical" ? "danger" : "warning"},
               {"fields", fields},
               {"footer", "vecsafe"},
               {"ts", now_ms / 1000}}}}};
  }
  return {{"source", "vecsafe"},        {"alert", alert.kind},    {"key", alert.key},
          {"severity", alert.severity}, {"title", alert.title},   {"text", alert.text},
          {"fields", alert.fields},     {"time", IsoTime(now_ms)}};
}

std::vector<DeliveryResult> AlertManager::Raise(const AlertConfig& cfg, const Alert& alert,
                                                bool force) {
  const int64_t now = clock_->NowMs();
  {
    std::lock_guard lock(mu_);
    auto it = last_sent_ms_.find(alert.key);
    if (!force && it != last_sent_ms_.end() &&
        now - it->second < int64_t{cfg.cooldown_minutes} * 60000) {
      ++suppressed_;
      return {};
    }
    last_sent_ms_[alert.key] = now;
  }
  std::vector<DeliveryResult> out;
  for (const auto& hook : cfg.webhooks) {
    DeliveryResult r = Post(hook, Body(alert, hook.format, now).dump());
    {
      std::lock_guard lock(mu_);
      (r.ok ? sent_ : failed_)++;
    }
    if (!r.ok) spdlog::warn("alert {} to webhook {} failed: {}", alert.key, hook.name, r.error);
    out.push_back(std::move(r));
  }
  return out;
}

int64_t AlertManager::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}
int64_t AlertManager::suppressed() const {
  std::lock_guard lock(mu_);
  return suppressed_;
}
int64_t AlertManager::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace vecsafe::service
