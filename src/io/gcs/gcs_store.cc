#include "io/gcs/gcs_store.h"

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>

#include "io/http/remote_common.h"
#include "io/retry.h"

namespace vecsafe::gcs {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using nlohmann::json;

std::optional<std::string> NonEmpty(const EnvFn& env, const char* name) {
  auto v = env(name);
  if (v && !v->empty()) return v;
  return std::nullopt;
}

uint64_t JsonSize(const json& item) {
  if (!item.contains("size")) return 0;
  const json& s = item["size"];
  if (s.is_number_unsigned()) return s.get<uint64_t>();
  if (s.is_string()) {
    std::string v = s.get<std::string>();
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) return std::stoull(v);
  }
  return 0;
}

class GcsStore final : public ObjectStore {
 public:
  GcsStore(GcsOptions o, std::unique_ptr<TokenSource> tokens)
      : o_(std::move(o)),
        transport_(o_.transport),
        retrier_(o_.retry),
        tokens_(std::move(tokens)) {}

  // The token source needs the transport, which lives in this object.
  void SetTokenSource(std::unique_ptr<TokenSource> t) { tokens_ = std::move(t); }
  http::CurlTransport* transport() { return &transport_; }

  ~GcsStore() override { WriteStatsIfAsked(); }

  StoreCapabilities Capabilities() const override {
    StoreCapabilities caps;
    caps.atomic_put = true;
    caps.conditional_put = true;  // ifGenerationMatch=0
    caps.ranged_get = true;
    caps.list_after_write = true;
    caps.local_filesystem = false;
    caps.parallel_puts = (o_.concurrency + 1) / 2;  // room left for reads and parts
    return caps;
  }

  std::string Describe() const override {
    std::string d = "gs://" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix);
    if (o_.custom_endpoint) d += " (endpoint " + o_.endpoint + ")";
    return d;
  }

  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    std::string name = FullKey(key);
    if (data.size() >= o_.resumable_threshold && data.size() > o_.chunk_size) {
      return PutResumable(key, name, data, options.if_absent);
    }
    HttpRequest req;
    req.method = "POST";
    req.url = o_.endpoint + "/upload/storage/v1/b/" + http::UriEncode(o_.bucket, false) +
              "/o?uploadType=media&name=" + http::UriEncode(name, false) +
              (options.if_absent ? "&ifGenerationMatch=0" : "");
    req.body = data;
    req.has_body = true;
    int attempts = 0;
    auto r = Call(req, "upload " + std::string(key), {}, &attempts);
    return http::CreateResult(*this, r.status(), attempts, key, data);
  }

  Result<std::string> Get(std::string_view key, uint64_t offset, uint64_t length) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    if (length == 0) {
      VS_RETURN_IF_ERROR(Stat(key).status());
      return std::string();
    }
    HttpRequest req;
    req.method = "GET";
    req.url = ObjectUrl(key) + "?alt=media";
    http::AddRangeHeader(&req.headers, offset, length);
    VS_ASSIGN_OR_RETURN(HttpResponse resp, Call(req, "read " + std::string(key), {416}, nullptr));
    return http::RangedBody(std::move(resp), offset, length);
  }

  Result<ObjectInfo> Stat(std::string_view key) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    HttpRequest req;
    req.method = "GET";
    req.url = ObjectUrl(key);
    VS_ASSIGN_OR_RETURN(HttpResponse resp, Call(req, "stat " + std::string(key), {}, nullptr));
    json doc = json::parse(resp.body, nullptr, false);
    if (!doc.is_object()) {
      return IoError("GCS returned metadata that is not JSON for " + std::string(key));
    }
    ObjectInfo info;
    info.key = std::string(key);
    info.size = JsonSize(doc);
    info.mtime_unix = http::ParseUtcTimestamp(doc.value("updated", std::string()));
    return info;
  }

  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    std::string root = o_.prefix.empty() ? std::string() : o_.prefix + "/";
    std::string full_prefix = root + std::string(prefix);
    std::string token;
    while (true) {
      HttpRequest req;
      req.method = "GET";
      req.url = o_.endpoint + "/storage/v1/b/" + http::UriEncode(o_.bucket, false) +
                "/o?maxResults=1000&prefix=" + http::UriEncode(full_prefix, false) +
                "&fields=" + http::UriEncode("items(name,size,updated),nextPageToken", false);
      if (!token.empty()) req.url += "&pageToken=" + http::UriEncode(token, false);
      VS_ASSIGN_OR_RETURN(HttpResponse resp, Call(req, "list " + std::string(prefix), {}, nullptr));
      json doc = json::parse(resp.body, nullptr, false);
      if (!doc.is_object()) return IoError("GCS returned a listing that is not JSON");
      if (doc.contains("items") && doc["items"].is_array()) {
        for (const json& item : doc["items"]) {
          std::string name = item.value("name", std::string());
          if (!name.starts_with(root)) continue;
          ObjectInfo info;
          info.key = name.substr(root.size());
          info.size = JsonSize(item);
          info.mtime_unix = http::ParseUtcTimestamp(item.value("updated", std::string()));
          if (ValidateObjectKey(info.key).ok()) VS_RETURN_IF_ERROR(fn(info));
        }
      }
      token = doc.value("nextPageToken", std::string());
      if (token.empty()) break;
    }
    return Status::OK();
  }

  Status Delete(std::string_view key) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    HttpRequest req;
    req.method = "DELETE";
    req.url = ObjectUrl(key);
    return http::DeleteResult(Call(req, "delete " + std::string(key), {}, nullptr).status());
  }

  GcsCounters Counters() const {
    GcsCounters c;
    c.http = transport_.Counters();
    c.retries = retries_.load();
    c.resumable_uploads = resumable_.load();
    c.token_fetches = token_fetches_.load();
    return c;
  }

 private:
  std::string FullKey(std::string_view key) const { return http::PrefixedKey(o_.prefix, key); }
  std::string ObjectUrl(std::string_view key) const {
    return o_.endpoint + "/storage/v1/b/" + http::UriEncode(o_.bucket, false) + "/o/" +
           http::UriEncode(FullKey(key), false);
  }

  // `bucket_level`: the request names no existing object (an upload, a
  // listing), so a 404 can only mean the bucket is missing (fake-gcs-server
  // answers those with a bare "Not Found").
  Status MapError(const HttpResponse& resp, std::string_view what,
                  bool bucket_level = false) const {
    json doc = json::parse(resp.body, nullptr, false);
    std::string message, reason;
    if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
      const json& e = doc["error"];
      message = e.value("message", std::string());
      if (e.contains("errors") && e["errors"].is_array() && !e["errors"].empty() &&
          e["errors"][0].is_object()) {
        reason = e["errors"][0].value("reason", std::string());
      }
    } else if (!resp.body.empty() && resp.body.size() < 300) {
      message = resp.body;
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
    }
    long st = resp.status;
    std::string detail = std::string(what) + " on " + Describe() + ": HTTP " + std::to_string(st) +
                         (message.empty() ? "" : " (" + message + ")");
    std::string lower = message;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (st == 404) {
      if (bucket_level || (lower.find("bucket") != std::string::npos &&
                           (lower.find("not exist") != std::string::npos ||
                            lower.find("not found") != std::string::npos))) {
        return NotFound("bucket '" + o_.bucket + "' does not exist: " + detail,
                        "Create the bucket first (e.g. `gcloud storage buckets create gs://" +
                            o_.bucket +
                            "`), or fix the bucket name (gs:// URL or GCS_BUCKET_NAME).");
      }
      return NotFound("no such object: " + detail);
    }
    if (st == 401) {
      return Status(ErrorCode::kUnauthenticated,
                    "GCS refused the access token (expired or invalid) from " +
                        (tokens_ ? tokens_->Describe() : std::string("no credentials")) + ": " +
                        detail,
                    "vecsafe fetched a fresh token and was refused again: check that the "
                    "service-account key (GOOGLE_APPLICATION_CREDENTIALS) is valid and not "
                    "revoked, and that the system clock is right.");
    }
    if (st == 403) {
      return PermissionDenied(
          "access denied: " + detail,
          "Grant the service account roles/storage.objectUser on the bucket (or "
          "objectCreator + objectViewer, plus delete for prune); see docs/storage.md.");
    }
    if (st == 412) return AlreadyExists("object already exists: " + detail);
    if (st == 408 || st == 429 || st >= 500) {
      return Unavailable("GCS busy or failing: " + detail,
                         "vecsafe retried with backoff; retry later or lower concurrency=.");
    }
    if (st == 400 && reason == "invalid")
      return InvalidArgument("GCS refused the request: " + detail);
    return IoError("GCS request failed: " + detail);
  }

  // One request with retries and one token refresh on 401. Returns the answer
  // for 2xx and statuses in `accept`, else a mapped Status.
  Result<HttpResponse> Call(HttpRequest req, const std::string& what,
                            std::initializer_list<long> accept, int* attempts_out) {
    bool refreshed = false;
    const size_t auth_index = req.headers.size();
    Result<HttpResponse> result = retrier_.RunResult<HttpResponse>(
        what,
        [&](RetryAttempt& attempt) -> Result<HttpResponse> {
          if (attempts_out != nullptr) *attempts_out = attempt.attempt;
          while (true) {
            if (tokens_) {
              VS_ASSIGN_OR_RETURN(std::string token, tokens_->Token());
              req.headers.resize(auth_index);
              req.headers.emplace_back("Authorization", "Bearer " + token);
            }
            auto r = transport_.Perform(req);
            if (!r.ok()) return r.status().WithContext(Describe());
            if ((r->status >= 200 && r->status < 300) ||
                std::find(accept.begin(), accept.end(), r->status) != accept.end()) {
              return r;
            }
            if (r->status == 401 && tokens_ && !refreshed) {
              // Expired or revoked: drop the token and ask once more with a new one.
              refreshed = true;
              tokens_->Invalidate();
              token_fetches_.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
            attempt.retry_after = r->RetryAfter();
            const bool bucket_level =
                req.method == "POST" || req.url.find("/o?") != std::string::npos;
            return MapError(*r, what, bucket_level);
          }
        },
        [&](int, const Status&, std::chrono::milliseconds) {
          retries_.fetch_add(1, std::memory_order_relaxed);
        });
    if (!result.ok()) return ObjectNotFound(result.status());
    return result;
  }

  // A 404 on an object may mean its bucket is missing: GCS says so in the
  // message, fake-gcs-server only "Not Found". One listing of the bucket (a
  // permission vecsafe needs anyway, unlike storage.buckets.get) tells which,
  // so `restore` or `snapshots` against a misspelt bucket names the bucket
  // instead of reporting "no repository". Only "the bucket exists" is kept.
  Status ObjectNotFound(Status status) {
    if (status.code() != ErrorCode::kNotFound ||
        status.message().find("bucket '") != std::string::npos ||
        bucket_exists_.load(std::memory_order_relaxed)) {
      return status;
    }
    HttpRequest req;
    req.method = "GET";
    req.url = o_.endpoint + "/storage/v1/b/" + http::UriEncode(o_.bucket, false) +
              "/o?maxResults=1&fields=" + http::UriEncode("nextPageToken", false);
    auto listed = Call(req, "list bucket " + o_.bucket, {}, nullptr);
    if (listed.ok()) {
      bucket_exists_.store(true, std::memory_order_relaxed);
      return status;
    }
    // The bucket's own error if it is missing; else (403, a fault) the object's.
    return listed.status().message().find("bucket '") != std::string::npos ? listed.status()
                                                                           : status;
  }

  Status PutResumable(std::string_view key, const std::string& name, std::string_view data,
                      bool if_absent) {
    resumable_.fetch_add(1, std::memory_order_relaxed);
    HttpRequest start;
    start.method = "POST";
    start.url = o_.endpoint + "/upload/storage/v1/b/" + http::UriEncode(o_.bucket, false) +
                "/o?uploadType=resumable&name=" + http::UriEncode(name, false) +
                (if_absent ? "&ifGenerationMatch=0" : "");
    std::string meta = json{{"name", name}}.dump();
    start.body = meta;
    start.has_body = true;
    start.headers = {{"Content-Type", "application/json; charset=UTF-8"},
                     {"X-Upload-Content-Type", "application/octet-stream"},
                     {"X-Upload-Content-Length", std::to_string(data.size())}};
    VS_ASSIGN_OR_RETURN(HttpResponse sr,
                        Call(start, "start resumable upload of " + std::string(key), {}, nullptr));
    std::string session = sr.Header("location");
    if (session.empty()) {
      return IoError("GCS returned no upload session for " + std::string(key),
                     "The server does not support resumable uploads; raise resumable_threshold.");
    }
    const uint64_t total = data.size();
    uint64_t offset = 0;
    int failures = 0;
    Status result;
    while (true) {
      uint64_t len = std::min<uint64_t>(o_.chunk_size, total - offset);
      HttpRequest put;
      put.method = "PUT";
      put.url = session;
      put.body = data.substr(offset, len);
      put.has_body = true;
      put.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                                    std::to_string(offset + len - 1) + "/" +
                                                    std::to_string(total));
      // One attempt per chunk here: after a failure the committed offset is
      // asked for below, since the server may have kept part of the chunk.
      HttpRequest once = put;
      auto r = CallOnce(once);
      if (r.ok() && (r->status == 200 || r->status == 201))
        return CheckFinished(key, name, data, *r);
      if (r.ok() && r->status == 308) {
        offset = CommittedFrom(*r);
        failures = 0;
        continue;
      }
      Status err = r.ok() ? MapError(*r, "upload chunk of " + std::string(key)) : r.status();
      if (!IsRetryableByDefault(err) || ++failures >= o_.retry.max_attempts) {
        result = err;
        break;
      }
      retries_.fetch_add(1, std::memory_order_relaxed);
      RetryClock::Real()->SleepFor(retrier_.NextDelay(failures));
      // Ask where the session stands: "bytes */total" with no body.
      HttpRequest query;
      query.method = "PUT";
      query.url = session;
      query.has_body = true;
      query.headers.emplace_back("Content-Range", "bytes */" + std::to_string(total));
      auto q = CallOnce(query);
      if (q.ok() && (q->status == 200 || q->status == 201))
        return CheckFinished(key, name, data, *q);
      if (q.ok() && q->status == 308) offset = CommittedFrom(*q);
      // Otherwise keep the old offset and try the chunk again.
    }
    // Cancel the session so nothing half-uploaded lingers.
    HttpRequest cancel;
    cancel.method = "DELETE";
    cancel.url = session;
    CallOnce(cancel).status().IgnoreError();
    return result;
  }

  // A finished resumable upload must hold exactly `data`: a server that
  // misapplied a resent chunk would leave a wrong object. Compare the size the
  // server reports and, if it differs, replace that exact generation with one
  // media upload (atomic, so readers never see the bad version for long).
  Status CheckFinished(std::string_view key, const std::string& name, std::string_view data,
                       const HttpResponse& done) {
    json doc = json::parse(done.body, nullptr, false);
    if (!doc.is_object() || JsonSize(doc) == data.size()) return Status::OK();
    std::string generation = doc.value("generation", std::string());
    HttpRequest req;
    req.method = "POST";
    req.url =
        o_.endpoint + "/upload/storage/v1/b/" + http::UriEncode(o_.bucket, false) +
        "/o?uploadType=media&name=" + http::UriEncode(name, false) +
        (generation.empty() ? "" : "&ifGenerationMatch=" + http::UriEncode(generation, false));
    req.body = data;
    req.has_body = true;
    return Call(req,
                "re-upload " + std::string(key) + " after a resumable upload ended with " +
                    std::to_string(JsonSize(doc)) + " of " + std::to_string(data.size()) + " bytes",
                {}, nullptr)
        .status();
  }

  // One attempt (with the token), no retries.
  Result<HttpResponse> CallOnce(HttpRequest req) {
    if (tokens_) {
      VS_ASSIGN_OR_RETURN(std::string token, tokens_->Token());
      req.headers.emplace_back("Authorization", "Bearer " + token);
    }
    return transport_.Perform(req);
  }

  static uint64_t CommittedFrom(const HttpResponse& r) {
    std::string range = r.Header("range");  // "bytes=0-1234"
    size_t dash = range.find('-');
    if (dash == std::string::npos) return 0;
    std::string last = range.substr(dash + 1);
    if (last.empty() || last.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stoull(last) + 1;
  }

  void WriteStatsIfAsked() const {
    GcsCounters c = Counters();
    http::AppendHttpStats("gs", c.http, c.retries, "resumable_uploads", c.resumable_uploads);
  }

  GcsOptions o_;
  mutable http::CurlTransport transport_;
  Retrier retrier_;
  std::unique_ptr<TokenSource> tokens_;  // null: emulator, no auth
  std::atomic<uint64_t> retries_{0}, resumable_{0}, token_fetches_{0};
  std::atomic<bool> bucket_exists_{false};
};

}  // namespace

Result<GcsOptions> ResolveGcsOptions(const std::string& bucket, const std::string& prefix,
                                     const std::map<std::string, std::string>& options,
                                     const EnvFn& env) {
  GcsOptions o;
  o.bucket = bucket;
  o.prefix = http::TrimSlashes(prefix);
  if (o.bucket.empty())
    return InvalidArgument("gs URL without a bucket", "Write gs://BUCKET/prefix.");
  std::optional<std::string> endpoint;
  for (const auto& [k, v] : options) {
    VS_ASSIGN_OR_RETURN(bool connection, http::ApplyConnectionOption("gs", k, v, &o.transport,
                                                                     &o.retry, &o.concurrency));
    if (connection) continue;
    if (k == "endpoint") {
      endpoint = v;
    } else if (k == "resumable_threshold") {
      VS_ASSIGN_OR_RETURN(o.resumable_threshold,
                          http::ParseUintOption("gs", k, v, 256 << 10, 5ull << 40));
    } else if (k == "chunk_size") {
      VS_ASSIGN_OR_RETURN(o.chunk_size, http::ParseUintOption("gs", k, v, 256 << 10, 5ull << 30));
      if (o.chunk_size % (256 << 10) != 0) {
        return InvalidArgument("gs option chunk_size=" + v + " is not a multiple of 256 KiB",
                               "GCS needs resumable chunks in multiples of 262144 bytes.");
      }
    } else if (k == "region") {
      // Often copied from an s3:// URL: the JSON API has no signing region, so a
      // region can be neither needed nor wrong here.
      return InvalidArgument("gs URLs take no region (region=" + v + ")",
                             "A GCS bucket's location is fixed when it is created and requests "
                             "name none: drop region= from the gs:// URL. For GCS with HMAC keys "
                             "through the S3 driver use s3://BUCKET/prefix?endpoint="
                             "https://storage.googleapis.com&region=auto.");
    } else {
      return InvalidArgument("unknown gs URL option '" + k + "'",
                             "Known options: endpoint, resumable_threshold, chunk_size, "
                             "concurrency, retries, connect_timeout_s, low_speed_time_s "
                             "(docs/storage.md).");
    }
  }
  o.transport.max_in_flight = o.concurrency;
  auto emulator = NonEmpty(env, "STORAGE_EMULATOR_HOST");
  if (endpoint) {
    o.endpoint = *endpoint;
    o.custom_endpoint = true;
  } else if (emulator) {
    o.endpoint = emulator->find("://") == std::string::npos ? "http://" + *emulator : *emulator;
    o.custom_endpoint = true;
    o.emulator = true;
  }
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  if (!(o.endpoint.starts_with("http://") || o.endpoint.starts_with("https://")) ||
      o.endpoint.find_first_of(" ?#@") != std::string::npos) {
    return InvalidArgument("bad GCS endpoint '" + o.endpoint + "'",
                           "Give scheme, host and optional port, e.g. http://127.0.0.1:4443.");
  }
  if (!o.emulator) {
    o.credentials_file = NonEmpty(env, "GOOGLE_APPLICATION_CREDENTIALS").value_or("");
    o.metadata_host = NonEmpty(env, "GCE_METADATA_HOST").value_or("metadata.google.internal");
  }
  return o;
}

Result<std::unique_ptr<ObjectStore>> NewGcsStore(GcsOptions options) {
  bool emulator = options.emulator;
  std::string file = options.credentials_file;
  std::string metadata = options.metadata_host;
  Clock clock = options.clock;
  auto store = std::make_unique<GcsStore>(std::move(options), nullptr);
  if (!emulator) {
    if (!file.empty()) {
      VS_ASSIGN_OR_RETURN(auto tokens, TokenSourceFromFile(file, store->transport(), clock));
      store->SetTokenSource(std::move(tokens));
    } else {
      store->SetTokenSource(MetadataTokenSource(metadata, store->transport(), clock));
    }
  }
  return std::unique_ptr<ObjectStore>(std::move(store));
}

GcsCounters GetGcsCounters(const ObjectStore& store) {
  if (auto* s = dynamic_cast<const GcsStore*>(&store)) return s->Counters();
  return {};
}

}  // namespace vecsafe::gcs
