#include "io/http/curl_transport.h"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <mutex>

namespace vecsafe::http {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A server's Content-Length is trusted for a reservation only up to this size
// (the largest pack is 64 MiB); a larger body still arrives, in pieces.
constexpr uint64_t kMaxBodyReserve = 128u << 20;

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* out = static_cast<std::string*>(userdata);
  out->append(ptr, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* response = static_cast<HttpResponse*>(userdata);
  std::string_view line(ptr, size * nmemb);
  // A new status line (after "100 Continue" or a redirect) starts a new header set.
  if (line.starts_with("HTTP/")) {
    response->headers.clear();
    return size * nmemb;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * nmemb;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  if (name == "content-length") {
    // Size the body once: a 16-64 MiB pack appended piece by piece would be
    // copied into ever larger buffers, each one fresh memory to fault in.
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc() && end == value.data() + value.size() && n <= kMaxBodyReserve) {
      response->body.reserve(static_cast<size_t>(n));
    }
  }
  response->headers[name] = std::string(value);
  return size * nmemb;
}

}  // namespace

// One mutex per kind of shared data, as libcurl's share interface expects.
struct CurlTransport::ShareLocks {
  std::mutex locks[CURL_LOCK_DATA_LAST];
};

namespace {
void ShareLock(CURL*, curl_lock_data data, curl_lock_access, void* userptr) {
  static_cast<std::mutex*>(userptr)[data].lock();
}
void ShareUnlock(CURL*, curl_lock_data data, void* userptr) {
  static_cast<std::mutex*>(userptr)[data].unlock();
}
}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::optional<std::chrono::milliseconds> HttpResponse::RetryAfter() const {
  std::string v = Header("retry-after");
  if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::stoll(v) * 1000);
}

CurlTransport::CurlTransport(TransportOptions options) : options_(std::move(options)) {
  GlobalInitOnce();
  if (options_.max_in_flight < 1) options_.max_in_flight = 1;
  share_locks_ = new ShareLocks();
  CURLSH* share = curl_share_init();
  curl_share_setopt(share, CURLSHOPT_LOCKFUNC, ShareLock);
  curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, ShareUnlock);
  curl_share_setopt(share, CURLSHOPT_USERDATA, share_locks_->locks);
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  // Not CURL_LOCK_DATA_CONNECT: libcurl does not support sharing connections between
  // concurrent threads (CURLSHOPT_SHARE(3)). Each pooled handle keeps its own live
  // connections across curl_easy_reset, so connections are reused all the same.
  share_ = share;
}

CurlTransport::~CurlTransport() {
  for (void* h : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(h));
  curl_share_cleanup(static_cast<CURLSH*>(share_));
  delete share_locks_;
}

void* CurlTransport::AcquireHandle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ < options_.max_in_flight; });
  ++in_flight_;
  if (!idle_handles_.empty()) {
    void* h = idle_handles_.back();
    idle_handles_.pop_back();
    return h;
  }
  lock.unlock();
  return curl_easy_init();
}

void CurlTransport::ReleaseHandle(void* handle) {
  // Reset options but keep the handle (and through the share, its connection).
  if (handle != nullptr) curl_easy_reset(static_cast<CURL*>(handle));
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (handle != nullptr) idle_handles_.push_back(handle);
  }
  cv_.notify_one();
}

Result<HttpResponse> CurlTransport::Perform(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(AcquireHandle());
  if (curl == nullptr) {
    ReleaseHandle(nullptr);
    return ResourceExhausted("cannot create an HTTP client handle (out of memory?)");
  }
  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_SHARE, static_cast<CURLSH*>(share_));
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes_per_s);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  // libcurl's largest receive buffer: a 16 MiB pack in 32 reads, not 1,024.
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);

  const std::string& m = request.method;
  if (m == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    heads_.fetch_add(1, std::memory_order_relaxed);
  } else if (m == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    gets_.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (m == "PUT") puts_.fetch_add(1, std::memory_order_relaxed);
    if (m == "POST") posts_.fetch_add(1, std::memory_order_relaxed);
    if (m == "DELETE") deletes_.fetch_add(1, std::memory_order_relaxed);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  if (request.has_body || m == "PUT" || m == "POST") {
    // The body goes as "post fields" (not copied): libcurl's SigV4 signer
    // hashes exactly these bytes, which keeps the signed payload hash and the
    // x-amz-content-sha256 header we send in agreement.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    bytes_sent_.fetch_add(request.body.size(), std::memory_order_relaxed);
  }

  curl_slist* headers = nullptr;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    std::string line = name + ": " + value;
    headers = curl_slist_append(headers, line.c_str());
    if (name.size() == 12) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-type") has_content_type = true;
    }
  }
  // Without this, "post fields" would be sent as a form.
  if ((request.has_body || m == "PUT" || m == "POST") && !has_content_type) {
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  std::string userpwd;
  if (!request.aws_sigv4.empty()) {
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, request.aws_access_key.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request.aws_secret_key.c_str());
  }

  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  // Scrub the secret before the handle goes back to the pool.
  curl_easy_setopt(curl, CURLOPT_PASSWORD, "");
  curl_slist_free_all(headers);
  ReleaseHandle(curl);
  requests_.fetch_add(1, std::memory_order_relaxed);
  bytes_received_.fetch_add(response.body.size(), std::memory_order_relaxed);

  if (rc != CURLE_OK) {
    transport_errors_.fetch_add(1, std::memory_order_relaxed);
    std::string what = request.method + " " + request.url.substr(0, request.url.find('?')) + ": " +
                       (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return InvalidArgument("bad URL: " + what, "Check the endpoint in the repository URL.");
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return Unavailable("cannot resolve host: " + what,
                           "Check the endpoint's host name and the DNS configuration.");
      case CURLE_OPERATION_TIMEDOUT:
        return Status(ErrorCode::kTimeout, "request timed out: " + what,
                      "The server stalled; vecsafe retries, check the network if this persists.");
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        return PermissionDenied("TLS certificate check failed: " + what,
                                "Check the endpoint's certificate or the CA bundle.");
      default:
        return Unavailable("connection failed: " + what,
                           "Check that the endpoint is reachable; vecsafe retried.");
    }
  }
  response.status = status;
  return response;
}

TransportCounters CurlTransport::Counters() const {
  TransportCounters c;
  c.requests = requests_.load();
  c.transport_errors = transport_errors_.load();
  c.gets = gets_.load();
  c.puts = puts_.load();
  c.posts = posts_.load();
  c.deletes = deletes_.load();
  c.heads = heads_.load();
  c.bytes_sent = bytes_sent_.load();
  c.bytes_received = bytes_received_.load();
  return c;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string UriDecode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace vecsafe::http
