#include "sources/qdrant/qdrant_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

#include "base/version.h"
#include "io/retry.h"

namespace vecsafe::qdrant {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr long kMaxPollIntervalMs = 5000;  // between snapshot listings while one is created

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool IsRetryableHttp(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

bool IsRetryableCurl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Qdrant's error text: {"status":{"error":"..."}} or a plain body (401).
std::string ErrorText(const std::string& body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("status") && doc["status"].is_object() &&
      doc["status"].contains("error") && doc["status"]["error"].is_string()) {
    return doc["status"]["error"].get<std::string>();
  }
  std::string text = Trim(body.substr(0, 300));
  return text.empty() ? std::string("(no message)") : text;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* kHex = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string SnapshotsPath(std::string_view collection) {
  return collection.empty() ? std::string("/snapshots")
                            : "/collections/" + Escape(collection) + "/snapshots";
}

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
};

// Everything one transfer needs from the callbacks.
struct Transfer {
  CURL* curl = nullptr;
  std::string body;  // response body (JSON calls) or error body (downloads)
  const ByteSink* sink = nullptr;
  uint64_t delivered = 0;
  Status sink_status;
  const ByteSource* source = nullptr;
  uint64_t sent = 0;
  Status source_status;
  // Stall detection for streaming transfers.
  bool streaming = false;
  long stall_seconds = 120;
  long answer_wait_seconds = 7200;
  uint64_t upload_total = 0;
  curl_off_t last_dl = -1, last_ul = -1;
  Clock::time_point last_move = Clock::now();
  bool stalled = false;
};

size_t WriteCallback(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink == nullptr || status < 200 || status >= 300) {
    if (t->body.size() < kMaxErrorBody || t->sink == nullptr) t->body.append(ptr, n);
    return n;
  }
  Status s = (*t->sink)(std::string_view(ptr, n));
  if (!s.ok()) {
    t->sink_status = std::move(s);
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->delivered += n;
  return n;
}

size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  Result<size_t> r = (*t->source)(buffer, size * nitems);
  if (!r.ok()) {
    t->source_status = r.status();
    return CURL_READFUNC_ABORT;
  }
  t->sent += *r;
  return *r;
}

int ProgressCallback(void* clientp, curl_off_t /*dltotal*/, curl_off_t dlnow,
                     curl_off_t /*ultotal*/, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(clientp);
  const auto now = Clock::now();
  if (dlnow != t->last_dl || ulnow != t->last_ul) {
    t->last_dl = dlnow;
    t->last_ul = ulnow;
    t->last_move = now;
    return 0;
  }
  // Once the whole upload is sent, Qdrant unpacks it before answering.
  const bool awaiting_answer = t->upload_total > 0 && t->sent >= t->upload_total && dlnow == 0;
  const long limit = awaiting_answer ? t->answer_wait_seconds : t->stall_seconds;
  if (now - t->last_move > std::chrono::seconds(limit)) {
    t->stalled = true;
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

}  // namespace

std::string_view SnapshotPriorityName(SnapshotPriority p) {
  switch (p) {
    case SnapshotPriority::kNoSync:
      return "no_sync";
    case SnapshotPriority::kSnapshot:
      return "snapshot";
    case SnapshotPriority::kReplica:
      return "replica";
  }
  return "snapshot";
}

Result<std::string> NormalizeBaseUrl(std::string_view url) {
  std::string u(url);
  if (u.find("://") == std::string::npos) u = "http://" + u;
  if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "Qdrant URL '" + std::string(url) + "' is not http(s)",
                  "Give the REST URL, e.g. http://localhost:6333 or https://HOST:6333.");
  }
  const size_t host_start = u.find("://") + 3;
  while (u.size() > host_start && u.back() == '/') u.pop_back();
  if (host_start >= u.size() || u[host_start] == ':' || u[host_start] == '/') {
    return Status(ErrorCode::kInvalidArgument, "Qdrant URL '" + std::string(url) + "' has no host",
                  "Give the REST URL, e.g. http://localhost:6333.");
  }
  return u;
}

Result<QdrantClientOptions> OptionsFromEnvironment(std::string_view url_arg,
                                                   std::string_view api_key_arg) {
  QdrantClientOptions o;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  std::string url(url_arg);
  if (url.empty()) url = env("QDRANT_URL");
  if (url.empty() && !env("QDRANT_HOST").empty()) {
    std::string host = env("QDRANT_HOST");
    if (host.find("://") == std::string::npos) {
      const std::string https = env("QDRANT_HTTPS");
      const bool tls = https == "1" || https == "true" || https == "TRUE" || https == "True";
      std::string port = env("QDRANT_PORT");
      if (port.empty()) port = "6333";
      url = (tls ? "https://" : "http://") + host + ":" + port;
    } else {
      url = host;
    }
  }
  if (url.empty()) {
    return Status(ErrorCode::kInvalidArgument, "no Qdrant URL given",
                  "Pass the REST URL (e.g. http://localhost:6333) or set QDRANT_URL, or "
                  "QDRANT_HOST and QDRANT_PORT.");
  }
  VS_ASSIGN_OR_RETURN(o.url, NormalizeBaseUrl(url));
  o.api_key = api_key_arg.empty() ? env("QDRANT_API_KEY") : std::string(api_key_arg);
  return o;
}

std::optional<std::pair<int, int>> ParseMajorMinor(std::string_view version) {
  if (!version.empty() && version.front() == 'v') version.remove_prefix(1);
  const size_t dot = version.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  int major = 0, minor = 0;
  size_t i = 0;
  for (; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(version[i]))) return std::nullopt;
    major = major * 10 + (version[i] - '0');
  }
  size_t j = dot + 1;
  if (j >= version.size() || !std::isdigit(static_cast<unsigned char>(version[j]))) {
    return std::nullopt;
  }
  for (; j < version.size() && std::isdigit(static_cast<unsigned char>(version[j])); ++j) {
    minor = minor * 10 + (version[j] - '0');
  }
  return std::make_pair(major, minor);
}

Result<std::string> PeerRestUrl(std::string_view peer_uri, std::string_view seed_url,
                                int port_offset) {
  const size_t scheme_end = peer_uri.find("://");
  std::string_view rest =
      scheme_end == std::string_view::npos ? peer_uri : peer_uri.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string host(rest);
  int port = 6335;
  const size_t bracket = rest.rfind(']');
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = std::string(rest.substr(0, colon));
    port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
  }
  if (host.empty() || port <= port_offset) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot derive a REST URL from Qdrant peer URI '" + std::string(peer_uri) + "'",
                  "Name every node with --node URL.");
  }
  const bool https = seed_url.rfind("https://", 0) == 0;
  return std::string(https ? "https://" : "http://") + host + ":" +
         std::to_string(port - port_offset);
}

// ---------------------------------------------------------------------------

struct QdrantClient::Impl {
  QdrantClientOptions options;
  CURL* curl = nullptr;

  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }

  std::string Url(std::string_view path) const { return options.url + std::string(path); }

  // Sets what every request shares. `headers` is owned by the caller.
  void Setup(Transfer& t, std::string_view method, std::string_view path, curl_slist** headers,
             bool streaming) {
    curl_easy_reset(curl);
    t.curl = curl;
    t.streaming = streaming;
    t.stall_seconds = options.stall_seconds;
    t.answer_wait_seconds = options.snapshot_wait_seconds;
    const std::string url = Url(path);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
    if (method == "GET") curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
    if (!streaming) curl_easy_setopt(curl, CURLOPT_TIMEOUT, options.request_timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &ProgressCallback);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteCallback);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, (std::string("vecsafe/") + kVersion).c_str());
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
    if (!options.verify_tls) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
    *headers = curl_slist_append(*headers, "Expect:");
    if (!options.api_key.empty()) {
      *headers = curl_slist_append(*headers, ("api-key: " + options.api_key).c_str());
    }
  }

  // Runs `fn` under the shared retry helper; `fn` sets *retry when its
  // failure may be retried (connection errors, 408/429/5xx, and for streams
  // only while no byte has moved).
  Status WithRetries(std::string_view what,
                     const std::function<Status(bool* retry, RetryAttempt& attempt)>& fn) const {
    bool retry = false;
    RetryPolicy policy;
    policy.max_attempts = std::max(1, options.max_attempts);
    policy.initial_delay = std::chrono::milliseconds(options.initial_backoff_ms);
    policy.max_delay = std::chrono::milliseconds(options.max_backoff_ms);
    policy.max_elapsed = std::chrono::minutes(10);
    policy.is_retryable = [&retry](const Status&) { return retry; };
    Retrier retrier(policy);
    return retrier.Run(what, [&](RetryAttempt& attempt) {
      retry = false;
      return fn(&retry, attempt);
    });
  }

  Status TransportError(CURLcode code, const Transfer& t, std::string_view what) const {
    if (t.stalled) {
      return Status(
          ErrorCode::kTimeout,
          std::string(what) + ": no data moved for " + std::to_string(options.stall_seconds) + " s",
          "Qdrant or the network stalled; check the Qdrant node's load and retry.");
    }
    const std::string msg = std::string(what) + ": " + curl_easy_strerror(code);
    switch (code) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
        return Status(ErrorCode::kUnavailable,
                      "cannot reach Qdrant at " + options.url + " (" + msg + ")",
                      "Check the URL (or QDRANT_HOST/QDRANT_PORT) and that Qdrant is running; "
                      "its REST API listens on port 6333 by default.");
      case CURLE_OPERATION_TIMEDOUT:
        return Status(ErrorCode::kTimeout, "Qdrant at " + options.url + " timed out (" + msg + ")",
                      "Check that Qdrant is reachable and not overloaded, then retry.");
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE:
        return Status(ErrorCode::kUnavailable,
                      "TLS with Qdrant at " + options.url + " failed (" + msg + ")",
                      "Check https vs http, pass --ca-cert for a private CA, or --insecure to "
                      "skip verification (tests only).");
      default:
        return Status(ErrorCode::kUnavailable,
                      "talking to Qdrant at " + options.url + " failed (" + msg + ")",
                      "Check the network and Qdrant's log, then retry.");
    }
  }

  // Maps an HTTP error answer to a Status. `collection` names the subject for 404s.
  Status HttpError(const HttpResponse& r, std::string_view what,
                   std::string_view collection) const {
    const std::string text = ErrorText(r.body);
    const std::string msg =
        std::string(what) + ": Qdrant answered " + std::to_string(r.status) + " (" + text + ")";
    switch (r.status) {
      case 401:
        return Status(ErrorCode::kUnauthenticated, msg,
                      options.api_key.empty()
                          ? "This Qdrant requires an API key: set QDRANT_API_KEY or pass --api-key."
                          : "Qdrant rejected the API key: check QDRANT_API_KEY / --api-key.");
      case 403:
        return Status(ErrorCode::kPermissionDenied, msg,
                      "The API key is read-only (or lacks access to this collection): creating, "
                      "deleting and recovering snapshots needs a read-write key.");
      case 404:
        if (!collection.empty() && text.find("ollection") != std::string::npos) {
          return Status(
              ErrorCode::kNotFound,
              "collection '" + std::string(collection) + "' does not exist on " + options.url,
              "List the collections with `vecsafe backup qdrant URL --list` or check "
              "the name (names are case-sensitive).");
        }
        return Status(ErrorCode::kNotFound, msg, "Check the collection and snapshot names.");
      case 507:
        return Status(ErrorCode::kNoSpace, msg,
                      "Qdrant's own disk is full: a snapshot needs free space about the size of "
                      "the collection on the Qdrant node. Free space there (or set "
                      "storage.snapshots_path to a bigger disk) and retry.");
      case 429:
        return Status(ErrorCode::kResourceExhausted, msg,
                      "Qdrant is rate limiting; retry later or lower the backup frequency.");
      case 400:
      case 422:
        return Status(ErrorCode::kInvalidArgument, msg,
                      "Qdrant refused the request; see its message.");
      case 409:
        return Status(ErrorCode::kFailedPrecondition, msg,
                      "Qdrant is busy with a conflicting operation; retry when it is done.");
      case 408:
      case 500:
      case 502:
      case 503:
      case 504:
        return Status(ErrorCode::kUnavailable, msg,
                      "Qdrant had a temporary problem; check its log and retry.");
      default:
        return Status(ErrorCode::kUnavailable, msg, "Check Qdrant's log.");
    }
  }

  // One request with retries. `body` empty = no body. Returns the final
  // answer whatever its status (callers map non-2xx with HttpError).
  Result<HttpResponse> Call(std::string_view method, std::string_view path,
                            const std::optional<json>& body, std::string_view what) {
    const std::string payload = body ? body->dump() : std::string();
    HttpResponse out;
    Status s = WithRetries(what, [&](bool* retry, RetryAttempt& attempt) -> Status {
      Transfer t;
      curl_slist* headers = nullptr;
      Setup(t, method, path, &headers, false);
      if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(payload.size()));
      } else if (method == "POST" || method == "PUT") {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
      }
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      const CURLcode code = curl_easy_perform(curl);
      curl_slist_free_all(headers);
      HttpResponse r = Collect(t);
      if (code != CURLE_OK) {
        *retry = IsRetryableCurl(code);
        return TransportError(code, t, what);
      }
      if (IsRetryableHttp(r.status)) {
        *retry = true;
        attempt.retry_after = RetryAfter();
        return HttpError(r, what, "");
      }
      out = std::move(r);
      return Status::OK();
    });
    if (!s.ok()) return s;
    return out;
  }

  HttpResponse Collect(Transfer& t) const {
    HttpResponse r;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != nullptr) r.content_type = ct;
    r.body = std::move(t.body);
    return r;
  }

  // The server's Retry-After in seconds (429/503), if it sent one.
  std::optional<std::chrono::milliseconds> RetryAfter() const {
    curl_off_t seconds = -1;
    if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &seconds) == CURLE_OK && seconds > 0) {
      return std::chrono::milliseconds(std::min<curl_off_t>(seconds, 60) * 1000);
    }
    return std::nullopt;
  }

  // Call + envelope check: returns "result" of a 2xx JSON answer.
  Result<json> CallJson(std::string_view method, std::string_view path,
                        const std::optional<json>& body, std::string_view what,
                        std::string_view collection, long* status_out = nullptr) {
    VS_ASSIGN_OR_RETURN(HttpResponse r, Call(method, path, body, what));
    if (status_out != nullptr) *status_out = r.status;
    if (r.status < 200 || r.status >= 300) return HttpError(r, what, collection);
    json doc = json::parse(r.body, nullptr, false);
    if (!doc.is_object() || !doc.contains("status")) {
      return NotQdrant(what, r);
    }
    return doc.contains("result") ? doc["result"] : json();
  }

  Status NotQdrant(std::string_view what, const HttpResponse& r) const {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(what) + ": " + options.url + " does not answer like Qdrant (HTTP " +
                      std::to_string(r.status) + ", " +
                      (r.content_type.empty() ? std::string("no content type") : r.content_type) +
                      ")",
                  "Check the URL and port: Qdrant's REST API is usually on port 6333 (6334 is "
                  "gRPC, 6335 is internal).");
  }
};

QdrantClient::QdrantClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QdrantClient::~QdrantClient() = default;

Result<std::unique_ptr<QdrantClient>> QdrantClient::Create(QdrantClientOptions options) {
  GlobalInit();
  VS_ASSIGN_OR_RETURN(options.url, NormalizeBaseUrl(options.url));
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->curl = curl_easy_init();
  if (impl->curl == nullptr) return Status(ErrorCode::kInternal, "curl_easy_init failed");
  return std::unique_ptr<QdrantClient>(new QdrantClient(std::move(impl)));
}

const std::string& QdrantClient::base_url() const { return impl_->options.url; }
const QdrantClientOptions& QdrantClient::options() const { return impl_->options; }

Result<ServerInfo> QdrantClient::GetServerInfo() {
  const std::string what = "reading Qdrant's version";
  VS_ASSIGN_OR_RETURN(HttpResponse r, impl_->Call("GET", "/", std::nullopt, what));
  json doc = json::parse(r.body, nullptr, false);
  if (r.status != 200 || !doc.is_object() || !doc.contains("version") ||
      !doc["version"].is_string() || !doc.contains("title") || !doc["title"].is_string() ||
      doc["title"].get<std::string>().find("qdrant") == std::string::npos) {
    if (r.status == 401 || r.status == 403) return impl_->HttpError(r, what, "");
    return impl_->NotQdrant(what, r);
  }
  ServerInfo info;
  info.title = doc["title"].get<std::string>();
  info.version = doc["version"].get<std::string>();
  if (doc.contains("commit") && doc["commit"].is_string()) info.commit = doc["commit"];
  return info;
}

Result<std::vector<std::string>> QdrantClient::ListCollections() {
  VS_ASSIGN_OR_RETURN(
      json result, impl_->CallJson("GET", "/collections", std::nullopt, "listing collections", ""));
  std::vector<std::string> names;
  if (result.is_object() && result.contains("collections") && result["collections"].is_array()) {
    for (const json& c : result["collections"]) {
      if (c.is_object() && c.contains("name") && c["name"].is_string()) names.push_back(c["name"]);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<CollectionInfo> QdrantClient::GetCollection(std::string_view name) {
  VS_ASSIGN_OR_RETURN(json result,
                      impl_->CallJson("GET", "/collections/" + Escape(name), std::nullopt,
                                      "reading collection '" + std::string(name) + "'", name));
  CollectionInfo info;
  info.name = std::string(name);
  if (!result.is_object()) return info;
  if (result.contains("status") && result["status"].is_string()) info.status = result["status"];
  if (result.contains("points_count") && result["points_count"].is_number_unsigned()) {
    info.points_count = result["points_count"].get<uint64_t>();
  }
  if (result.contains("segments_count") && result["segments_count"].is_number_unsigned()) {
    info.segments_count = result["segments_count"].get<uint64_t>();
  }
  const json params = result.value("/config/params"_json_pointer, json::object());
  if (params.contains("shard_number") && params["shard_number"].is_number_unsigned()) {
    info.shard_number = params["shard_number"].get<uint32_t>();
  }
  if (params.contains("replication_factor") && params["replication_factor"].is_number_unsigned()) {
    info.replication_factor = params["replication_factor"].get<uint32_t>();
  }
  return info;
}

Result<ClusterInfo> QdrantClient::GetCluster() {
  VS_ASSIGN_OR_RETURN(json result,
                      impl_->CallJson("GET", "/cluster", std::nullopt, "reading cluster info", ""));
  ClusterInfo info;
  if (!result.is_object() || result.value("status", "") != "enabled") return info;
  info.enabled = true;
  if (result.contains("peer_id") && result["peer_id"].is_number_unsigned()) {
    info.peer_id = result["peer_id"].get<uint64_t>();
  }
  if (result.contains("peers") && result["peers"].is_object()) {
    for (const auto& [id, peer] : result["peers"].items()) {
      PeerInfo p;
      p.peer_id = std::strtoull(id.c_str(), nullptr, 10);
      if (peer.is_object() && peer.contains("uri") && peer["uri"].is_string()) p.uri = peer["uri"];
      info.peers.push_back(std::move(p));
    }
  }
  std::sort(info.peers.begin(), info.peers.end(),
            [](const PeerInfo& a, const PeerInfo& b) { return a.peer_id < b.peer_id; });
  return info;
}

namespace {
SnapshotInfo ParseSnapshot(const json& d) {
  SnapshotInfo s;
  if (!d.is_object()) return s;
  if (d.contains("name") && d["name"].is_string()) s.name = d["name"];
  if (d.contains("creation_time") && d["creation_time"].is_string()) {
    s.creation_time = d["creation_time"];
  }
  if (d.contains("size") && d["size"].is_number_unsigned()) s.size = d["size"].get<uint64_t>();
  if (d.contains("checksum") && d["checksum"].is_string()) s.checksum = d["checksum"];
  return s;
}
}  // namespace

Result<std::vector<SnapshotInfo>> QdrantClient::ListSnapshots(std::string_view collection) {
  VS_ASSIGN_OR_RETURN(json result, impl_->CallJson("GET", SnapshotsPath(collection), std::nullopt,
                                                   "listing snapshots", collection));
  std::vector<SnapshotInfo> out;
  if (result.is_array()) {
    for (const json& d : result) {
      SnapshotInfo s = ParseSnapshot(d);
      if (!s.name.empty()) out.push_back(std::move(s));
    }
  }
  // Qdrant lists in directory order; callers get a stable one.
  std::sort(out.begin(), out.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.name < b.name; });
  return out;
}

Result<SnapshotInfo> QdrantClient::CreateSnapshot(std::string_view collection) {
  const std::string subject = collection.empty()
                                  ? std::string("a full-storage snapshot")
                                  : "a snapshot of collection '" + std::string(collection) + "'";
  const std::string what = "creating " + subject;
  if (!impl_->options.poll_snapshot_creation) {
    // wait=true: one request that may last as long as the snapshot takes.
    const long saved = impl_->options.request_timeout_seconds;
    impl_->options.request_timeout_seconds = impl_->options.snapshot_wait_seconds;
    auto result = impl_->CallJson("POST", SnapshotsPath(collection) + "?wait=true", std::nullopt,
                                  what, collection);
    impl_->options.request_timeout_seconds = saved;
    VS_RETURN_IF_ERROR(result.status());
    SnapshotInfo s = ParseSnapshot(*result);
    if (s.name.empty()) {
      return Status(ErrorCode::kUnavailable, what + ": Qdrant's answer has no snapshot name",
                    "Check Qdrant's version (vecsafe needs 1.8 or newer).");
    }
    return s;
  }
  VS_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> before, ListSnapshots(collection));
  std::set<std::string> known;
  for (const SnapshotInfo& s : before) known.insert(s.name);
  long status = 0;
  VS_ASSIGN_OR_RETURN(
      json result, impl_->CallJson("POST", SnapshotsPath(collection) + "?wait=false", std::nullopt,
                                   what, collection, &status));
  if (status == 200) {
    SnapshotInfo s = ParseSnapshot(result);
    if (!s.name.empty()) return s;
  }
  // 202 accepted: the snapshot shows up in the listing once it is complete.
  const std::string prefix =
      collection.empty() ? std::string("full-snapshot-") : std::string(collection) + "-";
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(impl_->options.snapshot_wait_seconds);
  const long min_interval = std::max(10, impl_->options.poll_interval_ms);
  while (Clock::now() < deadline) {
    // A tenth of the time waited so far: the snapshot is seen at most ~10 %
    // late (a doubling backoff found a 4 s snapshot up to 2 s late), yet an
    // hour-long one costs only a poll every few seconds.
    const long waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::clamp(waited / 10, min_interval, kMaxPollIntervalMs)));
    VS_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> now, ListSnapshots(collection));
    for (SnapshotInfo& s : now) {
      if (known.count(s.name) == 0 && s.name.rfind(prefix, 0) == 0) return std::move(s);
    }
  }
  return Status(ErrorCode::kTimeout,
                what + ": it did not appear within " +
                    std::to_string(impl_->options.snapshot_wait_seconds) + " s",
                "Qdrant may have failed in the background (look for errors such as a full disk "
                "in its log), or the collection is very large: raise --snapshot-timeout.");
}

Status QdrantClient::DownloadSnapshot(std::string_view collection, std::string_view name,
                                      const ByteSink& sink, uint64_t* bytes_out) {
  const std::string path = SnapshotsPath(collection) + "/" + Escape(name);
  const std::string what = "downloading snapshot " + std::string(name);
  return impl_->WithRetries(what, [&](bool* retry, RetryAttempt& attempt) -> Status {
    Transfer t;
    t.sink = &sink;
    curl_slist* headers = nullptr;
    impl_->Setup(t, "GET", path, &headers, true);
    curl_easy_setopt(impl_->curl, CURLOPT_HTTPHEADER, headers);
    const CURLcode code = curl_easy_perform(impl_->curl);
    curl_slist_free_all(headers);
    if (bytes_out != nullptr) *bytes_out = t.delivered;
    const uint64_t delivered = t.delivered;
    const bool stalled = t.stalled;
    Status sink_status = t.sink_status;
    HttpResponse r = impl_->Collect(t);
    if (!sink_status.ok()) return sink_status;
    // A sink cannot take bytes back: retry only while none reached it.
    const bool fresh = delivered == 0;
    if (code != CURLE_OK) {
      *retry = fresh && IsRetryableCurl(code);
      if (!fresh && !stalled) {
        return Status(ErrorCode::kUnavailable,
                      what + ": the connection was lost after " + std::to_string(delivered) +
                          " bytes (" + curl_easy_strerror(code) + ")",
                      "Nothing was committed; run the backup again. If it keeps failing, check "
                      "the network and any proxy between vecsafe and Qdrant.");
      }
      t.stalled = stalled;
      return impl_->TransportError(code, t, what);
    }
    if (r.status < 200 || r.status >= 300) {
      *retry = fresh && IsRetryableHttp(r.status);
      if (*retry) attempt.retry_after = impl_->RetryAfter();
      return impl_->HttpError(r, what, collection);
    }
    curl_off_t expected = -1;
    curl_easy_getinfo(impl_->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
    if (expected >= 0 && static_cast<uint64_t>(expected) != delivered) {
      return Status(ErrorCode::kDataLoss,
                    what + ": got " + std::to_string(delivered) + " bytes, Qdrant announced " +
                        std::to_string(expected),
                    "Nothing was committed; run the backup again.");
    }
    return Status::OK();
  });
}

Result<std::string> QdrantClient::GetSnapshotChecksum(std::string_view collection,
                                                      std::string_view name) {
  const std::string what = "reading the checksum of " + std::string(name);
  VS_ASSIGN_OR_RETURN(
      HttpResponse r,
      impl_->Call("GET", SnapshotsPath(collection) + "/" + Escape(std::string(name) + ".checksum"),
                  std::nullopt, what));
  if (r.status != 200) return impl_->HttpError(r, what, "");
  std::string text = Trim(r.body);
  text = text.substr(0, text.find(' '));
  if (text.size() != 64) {
    return Status(ErrorCode::kNotFound, what + ": the sidecar holds no sha256",
                  "The snapshot's integrity is then checked by vecsafe's own hashes only.");
  }
  return text;
}

Status QdrantClient::DeleteSnapshot(std::string_view collection, std::string_view name) {
  return impl_
      ->CallJson("DELETE", SnapshotsPath(collection) + "/" + Escape(name) + "?wait=true",
                 std::nullopt, "deleting snapshot " + std::string(name), collection)
      .status();
}

Status QdrantClient::UploadSnapshot(std::string_view collection, const ByteSource& source,
                                    uint64_t size, std::string_view file_name,
                                    std::string_view sha256, SnapshotPriority priority) {
  std::string path =
      "/collections/" + Escape(collection) +
      "/snapshots/upload?wait=true&priority=" + std::string(SnapshotPriorityName(priority));
  if (!sha256.empty()) path += "&checksum=" + std::string(sha256);
  const std::string what = "uploading the snapshot to collection '" + std::string(collection) + "'";
  return impl_->WithRetries(what, [&](bool* retry, RetryAttempt& attempt) -> Status {
    Transfer t;
    t.source = &source;
    t.upload_total = size;
    curl_slist* headers = nullptr;
    impl_->Setup(t, "POST", path, &headers, true);
    curl_mime* mime = curl_mime_init(impl_->curl);
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, "snapshot");
    curl_mime_filename(part, std::string(file_name).c_str());
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data_cb(part, static_cast<curl_off_t>(size), &ReadCallback, nullptr, nullptr, &t);
    curl_easy_setopt(impl_->curl, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(impl_->curl, CURLOPT_HTTPHEADER, headers);
    const CURLcode code = curl_easy_perform(impl_->curl);
    curl_mime_free(mime);
    curl_slist_free_all(headers);
    const uint64_t sent = t.sent;
    Status source_status = t.source_status;
    const bool stalled = t.stalled;
    HttpResponse r = impl_->Collect(t);
    if (!source_status.ok()) return source_status;
    // The source cannot rewind: retry only while nothing was read from it.
    const bool fresh = sent == 0;
    // Qdrant may answer (403 for a read-only key, 401, 507) before the body
    // is all sent; curl then stops sending. That answer is the error.
    if (code == CURLE_SEND_ERROR && r.status >= 400) return impl_->HttpError(r, what, "");
    if (code != CURLE_OK) {
      *retry = fresh && IsRetryableCurl(code);
      t.stalled = stalled;
      Status s = impl_->TransportError(code, t, what);
      if (code != CURLE_SEND_ERROR) return s;
      return s.WithHint(
          "Qdrant closed the connection while the snapshot was being sent. Besides the network, "
          "Qdrant (or a proxy) ends an upload this way when it refuses it: a read-only or wrong "
          "API key (restoring needs a read-write key), a full disk, a size limit. Check the key "
          "and Qdrant's log.");
    }
    if (r.status < 200 || r.status >= 300) {
      *retry = fresh && IsRetryableHttp(r.status);
      if (*retry) attempt.retry_after = impl_->RetryAfter();
      return impl_->HttpError(r, what, "");
    }
    return Status::OK();
  });
}

Status QdrantClient::RecoverFromUrl(std::string_view collection, std::string_view location,
                                    std::string_view sha256, SnapshotPriority priority) {
  json body = {{"location", location}, {"priority", SnapshotPriorityName(priority)}};
  if (!sha256.empty()) body["checksum"] = sha256;
  const long saved = impl_->options.request_timeout_seconds;
  impl_->options.request_timeout_seconds = impl_->options.snapshot_wait_seconds;
  Status s =
      impl_
          ->CallJson("PUT", "/collections/" + Escape(collection) + "/snapshots/recover?wait=true",
                     body, "recovering collection '" + std::string(collection) + "' from a URL", "")
          .status();
  impl_->options.request_timeout_seconds = saved;
  return s;
}

}  // namespace vecsafe::qdrant
