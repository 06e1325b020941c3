#include "io/s3/s3_store.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "io/http/remote_common.h"
#include "io/retry.h"
#include "io/s3/s3_xml.h"
#include "io/s3/sigv4.h"

namespace vecsafe::s3 {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using Params = std::vector<std::pair<std::string, std::string>>;

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string RandomHex(size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(bytes, '\0');
  for (char& c : raw) c = static_cast<char>(rng() & 0xFF);
  return HexEncode(raw);
}

class S3Store final : public ObjectStore {
 public:
  explicit S3Store(S3Options o) : o_(std::move(o)), transport_(o_.transport), retrier_(o_.retry) {
    sigv4_param_ = "aws:amz:" + o_.region + ":s3";
    size_t scheme_end = o_.endpoint.find("://");
    scheme_ = o_.endpoint.substr(0, scheme_end + 3);
    host_ = o_.endpoint.substr(scheme_end + 3);
  }

  ~S3Store() override { WriteStatsIfAsked(); }

  StoreCapabilities Capabilities() const override {
    StoreCapabilities caps;
    caps.atomic_put = true;
    caps.ranged_get = true;
    caps.list_after_write = true;
    caps.local_filesystem = false;
    caps.parallel_puts = (o_.concurrency + 1) / 2;  // room left for reads and parts
    caps.conditional_put = ConditionalPutSupported();
    return caps;
  }

  std::string Describe() const override {
    std::string d = "s3://" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix);
    if (o_.custom_endpoint) d += " (endpoint " + o_.endpoint + ")";
    return d;
  }

  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    std::string full = FullKey(key);
    bool conditional = options.if_absent && ConditionalPutSupported();
    if (options.if_absent && !conditional) {
      // Emulated (racy); Capabilities() tells the core so.
      auto st = Stat(key);
      if (st.ok()) return AlreadyExists("object exists: " + Describe() + "/" + std::string(key));
      if (st.status().code() != ErrorCode::kNotFound) return st.status();
    }
    if (data.size() >= o_.multipart_threshold && data.size() > o_.part_size) {
      return PutMultipart(full, data, conditional);
    }
    Request req;
    req.method = "PUT";
    req.key = full;
    req.body = data;
    req.payload_hash = Sha256Hex(data);
    if (conditional) req.headers.emplace_back("If-None-Match", "*");
    int attempts = 0;
    auto r = Call(req, "PUT " + std::string(key), {}, &attempts);
    return http::CreateResult(*this, r.status(), attempts, key, data);
  }

  Result<std::string> Get(std::string_view key, uint64_t offset, uint64_t length) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    if (length == 0) {
      VS_RETURN_IF_ERROR(Stat(key).status());
      return std::string();
    }
    Request req;
    req.method = "GET";
    req.key = FullKey(key);
    http::AddRangeHeader(&req.headers, offset, length);
    VS_ASSIGN_OR_RETURN(HttpResponse resp, Call(req, "GET " + std::string(key), {416}, nullptr));
    return http::RangedBody(std::move(resp), offset, length);
  }

  Result<ObjectInfo> Stat(std::string_view key) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    Request req;
    req.method = "HEAD";
    req.key = FullKey(key);
    VS_ASSIGN_OR_RETURN(HttpResponse resp,
                        Call(req, "HEAD " + std::string(key), {400, 403, 404, 301}, nullptr));
    if (resp.status >= 300) {
      // HEAD answers carry no error document: ask again with a one-byte GET
      // to learn the error code (missing bucket vs missing key, the region).
      Request get;
      get.method = "GET";
      get.key = req.key;
      get.headers.emplace_back("Range", "bytes=0-0");
      auto g = Call(get, "GET " + std::string(key), {}, nullptr);
      if (!g.ok()) return g.status();
      return S3ErrorToStatus(resp, o_, "HEAD " + std::string(key));
    }
    ObjectInfo info;
    info.key = std::string(key);
    std::string len = resp.Header("content-length");
    if (!len.empty() && len.find_first_not_of("0123456789") == std::string::npos) {
      info.size = std::stoull(len);
    }
    std::string lm = resp.Header("last-modified");
    if (!lm.empty()) {
      time_t t = curl_getdate(lm.c_str(), nullptr);
      if (t > 0) info.mtime_unix = static_cast<int64_t>(t);
    }
    return info;
  }

  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    std::string root = o_.prefix.empty() ? std::string() : o_.prefix + "/";
    std::string full_prefix = root + std::string(prefix);
    std::string token;
    while (true) {
      Request req;
      req.method = "GET";
      req.query = {{"list-type", "2"}, {"max-keys", "1000"}, {"prefix", full_prefix}};
      if (!token.empty()) req.query.emplace_back("continuation-token", token);
      VS_ASSIGN_OR_RETURN(HttpResponse resp, Call(req, "LIST " + std::string(prefix), {}, nullptr));
      for (std::string_view entry : XmlAll(resp.body, "Contents")) {
        std::string k = XmlText(entry, "Key");
        if (!k.starts_with(root)) continue;
        ObjectInfo info;
        info.key = k.substr(root.size());
        std::string size = XmlText(entry, "Size");
        if (!size.empty() && size.find_first_not_of("0123456789") == std::string::npos) {
          info.size = std::stoull(size);
        }
        info.mtime_unix = http::ParseUtcTimestamp(XmlText(entry, "LastModified"));
        if (ValidateObjectKey(info.key).ok()) VS_RETURN_IF_ERROR(fn(info));
      }
      if (XmlText(resp.body, "IsTruncated") != "true") break;
      token = XmlText(resp.body, "NextContinuationToken");
      if (token.empty()) {
        return IoError("S3 listing of " + Describe() + " is truncated without a continuation token",
                       "The server does not implement ListObjectsV2 correctly.");
      }
    }
    return Status::OK();
  }

  Status Delete(std::string_view key) override {
    VS_RETURN_IF_ERROR(ValidateObjectKey(key));
    Request req;
    req.method = "DELETE";
    req.key = FullKey(key);
    return http::DeleteResult(Call(req, "DELETE " + std::string(key), {}, nullptr).status());
  }

  S3Counters Counters() const {
    S3Counters c;
    c.http = transport_.Counters();
    c.retries = retries_.load();
    c.multipart_uploads = multipart_uploads_.load();
    c.multipart_aborts = multipart_aborts_.load();
    return c;
  }

 private:
  struct Request {
    std::string method;
    std::string key;  // full object key; empty: the bucket itself
    Params query;
    Params headers;
    std::string_view body;
    std::string payload_hash = kEmptySha256;
  };

  std::string FullKey(std::string_view key) const { return http::PrefixedKey(o_.prefix, key); }

  std::string Url(const Request& req) const {
    std::string url;
    if (o_.path_style) {
      url = o_.endpoint + "/" + http::UriEncode(o_.bucket, false);
      if (!req.key.empty()) url += "/" + http::UriEncode(req.key, true);
    } else {
      url = scheme_ + o_.bucket + "." + host_ + "/" + http::UriEncode(req.key, true);
    }
    // libcurl 7.88 signs the query as given: send it in canonical form.
    if (!req.query.empty()) url += "?" + CanonicalQueryString(req.query);
    return url;
  }

  // One request with retries. Returns the answer for 2xx and for statuses in
  // `accept`; maps anything else to a Status. `attempts_out` counts attempts.
  Result<HttpResponse> Call(const Request& req, const std::string& what,
                            std::initializer_list<long> accept, int* attempts_out) {
    HttpRequest h;
    h.method = req.method;
    h.url = Url(req);
    h.headers = req.headers;
    h.headers.emplace_back("x-amz-content-sha256", req.payload_hash);
    if (!o_.credentials.session_token.empty()) {
      h.headers.emplace_back("x-amz-security-token", o_.credentials.session_token);
    }
    h.body = req.body;
    h.has_body = req.method == "PUT" || req.method == "POST";
    h.aws_sigv4 = sigv4_param_;
    h.aws_access_key = o_.credentials.access_key;
    h.aws_secret_key = o_.credentials.secret_key;
    return retrier_.RunResult<HttpResponse>(
        what,
        [&](RetryAttempt& attempt) -> Result<HttpResponse> {
          if (attempts_out != nullptr) *attempts_out = attempt.attempt;
          auto r = transport_.Perform(h);
          if (!r.ok()) return r.status().WithContext(Describe());
          if (r->status >= 200 && r->status < 300) {
            // CompleteMultipartUpload may fail with a 200 and an <Error> body.
            if (!(req.method == "POST" && r->body.find("<Error>") != std::string::npos)) return r;
          } else if (std::find(accept.begin(), accept.end(), r->status) != accept.end()) {
            return r;
          }
          attempt.retry_after = r->RetryAfter();
          return S3ErrorToStatus(*r, o_, what);
        },
        [&](int, const Status&, std::chrono::milliseconds) {
          retries_.fetch_add(1, std::memory_order_relaxed);
        });
  }

  Status PutMultipart(const std::string& full, std::string_view data, bool conditional) {
    multipart_uploads_.fetch_add(1, std::memory_order_relaxed);
    std::string short_key = full.substr(o_.prefix.empty() ? 0 : o_.prefix.size() + 1);
    Request init;
    init.method = "POST";
    init.key = full;
    init.query = {{"uploads", ""}};
    VS_ASSIGN_OR_RETURN(HttpResponse ir,
                        Call(init, "start multipart upload of " + short_key, {}, nullptr));
    std::string upload_id = XmlText(ir.body, "UploadId");
    if (upload_id.empty()) {
      return IoError("S3 server returned no UploadId for " + short_key,
                     "The server does not support multipart uploads; raise multipart_threshold.");
    }
    size_t parts = (data.size() + o_.part_size - 1) / o_.part_size;
    std::vector<std::string> etags(parts);
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    Status first_error;
    std::mutex err_mu;
    auto worker = [&] {
      while (!failed.load()) {
        size_t i = next.fetch_add(1);
        if (i >= parts) return;
        Request part;
        part.method = "PUT";
        part.key = full;
        part.body = data.substr(i * o_.part_size, o_.part_size);
        part.payload_hash = Sha256Hex(part.body);
        part.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
        auto r = Call(part, "PUT part " + std::to_string(i + 1) + " of " + short_key, {}, nullptr);
        if (!r.ok() || r->Header("etag").empty()) {
          std::lock_guard<std::mutex> lock(err_mu);
          if (!failed.exchange(true)) {
            first_error = r.ok() ? IoError("S3 server returned no ETag for a part of " + short_key)
                                 : r.status();
          }
          return;
        }
        etags[i] = r->Header("etag");
      }
    };
    size_t nthreads = std::min<size_t>(parts, static_cast<size_t>(o_.concurrency));
    std::vector<std::thread> threads;
    for (size_t t = 1; t < nthreads; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();

    Status result = first_error;
    if (result.ok()) {
      std::string xml = "<CompleteMultipartUpload>";
      for (size_t i = 0; i < parts; ++i) {
        xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
               XmlEscape(etags[i]) + "</ETag></Part>";
      }
      xml += "</CompleteMultipartUpload>";
      Request done;
      done.method = "POST";
      done.key = full;
      done.query = {{"uploadId", upload_id}};
      done.body = xml;
      done.payload_hash = Sha256Hex(xml);
      done.headers.emplace_back("Content-Type", "application/xml");
      if (conditional) done.headers.emplace_back("If-None-Match", "*");
      int attempts = 0;
      auto r = Call(done, "complete multipart upload of " + short_key, {}, &attempts);
      if (r.ok()) return Status::OK();
      result = r.status();
      if (attempts > 1 && result.code() == ErrorCode::kNotFound) {
        // A lost answer to a Complete that worked: the object is there.
        auto st = Stat(short_key);
        if (st.ok() && st->size == data.size()) return Status::OK();
      }
    }
    // Abort so no parts linger (and cost money); best effort.
    multipart_aborts_.fetch_add(1, std::memory_order_relaxed);
    Request abort;
    abort.method = "DELETE";
    abort.key = full;
    abort.query = {{"uploadId", upload_id}};
    Call(abort, "abort multipart upload of " + short_key, {404}, nullptr).status().IgnoreError();
    return result;
  }

  bool ConditionalPutSupported() const {
    std::call_once(conditional_once_, [&] {
      switch (o_.conditional_put) {
        case ConditionalPut::kOn:
          conditional_ = true;
          break;
        case ConditionalPut::kOff:
          conditional_ = false;
          break;
        case ConditionalPut::kAuto:
          conditional_ = o_.custom_endpoint ? const_cast<S3Store*>(this)->ProbeConditional() : true;
      }
    });
    return conditional_;
  }

  // Writes a probe object twice with If-None-Match: * and removes it: the
  // second write must be refused (412) for the server to honour the header.
  bool ProbeConditional() {
    std::string key = (o_.prefix.empty() ? "" : o_.prefix + "/") + ".vecsafe-probe-" + RandomHex(8);
    Request put;
    put.method = "PUT";
    put.key = key;
    put.body = "probe";
    put.payload_hash = Sha256Hex(put.body);
    put.headers.emplace_back("If-None-Match", "*");
    auto first = Call(put, "probe", {}, nullptr);
    if (!first.ok()) return false;
    auto second = Call(put, "probe", {412, 501}, nullptr);
    bool supported = second.ok() && second->status == 412;
    Request del;
    del.method = "DELETE";
    del.key = key;
    Call(del, "probe", {404}, nullptr).status().IgnoreError();
    return supported;
  }

  void WriteStatsIfAsked() const {
    S3Counters c = Counters();
    http::AppendHttpStats("s3", c.http, c.retries, "multipart_uploads", c.multipart_uploads);
  }

  S3Options o_;
  mutable http::CurlTransport transport_;
  Retrier retrier_;
  std::string sigv4_param_, scheme_, host_;
  mutable std::once_flag conditional_once_;
  mutable bool conditional_ = false;
  std::atomic<uint64_t> retries_{0}, multipart_uploads_{0}, multipart_aborts_{0};

  friend S3Counters vecsafe::s3::GetS3Counters(const ObjectStore& store);
};

}  // namespace

std::unique_ptr<ObjectStore> NewS3Store(S3Options options) {
  return std::make_unique<S3Store>(std::move(options));
}

S3Counters GetS3Counters(const ObjectStore& store) {
  if (auto* s = dynamic_cast<const S3Store*>(&store)) return s->Counters();
  return {};
}

Status S3ErrorToStatus(const HttpResponse& response, const S3Options& o, std::string_view what) {
  std::string code = XmlText(response.body, "Code");
  std::string message = XmlText(response.body, "Message");
  if (code.empty()) code = response.Header("x-minio-error-code");
  if (message.empty()) message = response.Header("x-minio-error-desc");
  long st = response.status;
  std::string where = "s3://" + o.bucket + (o.prefix.empty() ? "" : "/" + o.prefix);
  std::string detail = std::string(what) + " on " + where + ": HTTP " + std::to_string(st) +
                       (code.empty() ? "" : " " + code) +
                       (message.empty() ? "" : " (" + message + ")");
  std::string region = XmlText(response.body, "Region");
  if (region.empty()) region = response.Header("x-amz-bucket-region");

  if (code == "NoSuchBucket") {
    return NotFound("bucket '" + o.bucket + "' does not exist at " + o.endpoint + ": " + detail,
                    "Create the bucket first (e.g. `aws s3 mb s3://" + o.bucket +
                        "` or `mc mb ALIAS/" + o.bucket +
                        "`), or fix the bucket name in the repository URL.");
  }
  if (code == "InvalidBucketName") {
    return InvalidArgument("'" + o.bucket + "' is not a valid bucket name: " + detail,
                           "S3 bucket names have 3 to 63 characters: lowercase letters, digits, "
                           "dots and hyphens, starting and ending with a letter or digit.");
  }
  if (code == "NoSuchKey" || code == "NoSuchUpload" || (st == 404 && code.empty())) {
    return NotFound("no such object: " + detail);
  }
  if (code == "InvalidAccessKeyId") {
    return Status(
        ErrorCode::kUnauthenticated,
        "the server does not know access key '" + o.credentials.access_key + "': " + detail,
        "Check AWS_ACCESS_KEY_ID (credentials from " + o.credentials_source +
            ") and that the endpoint " + o.endpoint + " is the right server.");
  }
  if (code == "SignatureDoesNotMatch") {
    return Status(ErrorCode::kUnauthenticated, "request signature refused: " + detail,
                  "Check AWS_SECRET_ACCESS_KEY: it must be the secret of access key '" +
                      o.credentials.access_key + "' (credentials from " + o.credentials_source +
                      ").");
  }
  if (code == "ExpiredToken" || code == "TokenRefreshRequired" ||
      (code == "InvalidToken" && message.find("xpired") != std::string::npos)) {
    return Status(ErrorCode::kUnauthenticated, "the session token has expired: " + detail,
                  "Get fresh temporary credentials (AWS_SESSION_TOKEN with its key pair, e.g. "
                  "`aws sts get-session-token` or `aws sso login`) and run again.");
  }
  // MinIO says InvalidTokenId where AWS says InvalidToken.
  if (code == "InvalidToken" || code == "InvalidSecurity" || code == "InvalidTokenId") {
    return Status(ErrorCode::kUnauthenticated, "the session token was refused: " + detail,
                  "Check AWS_SESSION_TOKEN: it must belong to AWS_ACCESS_KEY_ID; unset it for "
                  "long-term keys.");
  }
  if (code == "RequestTimeTooSkewed" || code == "RequestExpired") {
    return FailedPrecondition(
        "this machine's clock differs too much from the server's: " + detail,
        "Synchronise the system clock (e.g. `timedatectl set-ntp true`, chrony or ntpd) and "
        "retry; S3 refuses requests more than 15 minutes off.");
  }
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
      code == "IllegalLocationConstraintException" || code == "AuthorizationQueryParametersError" ||
      st == 301) {
    if (!region.empty() && region != o.region) {
      return InvalidArgument(
          "bucket '" + o.bucket + "' is in region " + region + ", not " + o.region + ": " + detail,
          "Set the region to " + region + ": add ?region=" + region +
              " to the repository URL or export AWS_REGION=" + region + ".");
    }
    return InvalidArgument("the server refused the request's region or endpoint: " + detail,
                           "Check AWS_REGION / region= and the endpoint for this bucket.");
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem" ||
      st == 403) {
    return PermissionDenied(
        "access denied: " + detail,
        "The credentials (" + o.credentials_source +
            ") lack a permission vecsafe needs: s3:ListBucket on the bucket and s3:GetObject, "
            "s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload on its objects (policy in "
            "docs/storage.md).");
  }
  if (code == "PreconditionFailed" || st == 412) {
    return AlreadyExists("object already exists: " + detail);
  }
  if (code == "XMinioStorageFull" || code == "QuotaExceeded" ||
      code == "XMinioAdminBucketQuotaExceeded") {
    return Status(ErrorCode::kNoSpace, "the bucket is full: " + detail);
  }
  if (code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" ||
      code == "ServiceUnavailable" || code == "ConditionalRequestConflict" ||
      code == "XMinioServerNotInitialized" || st == 408 || st == 429 || st == 500 || st == 502 ||
      st == 503 || st == 504) {
    return Unavailable("S3 server busy or failing: " + detail,
                       "The server asked to slow down or failed; vecsafe retried with backoff. "
                       "Retry later or lower concurrency=.");
  }
  if (code == "NotImplemented" || st == 501) {
    return Unimplemented("the S3 server does not implement this call: " + detail);
  }
  if (code == "EntityTooLarge") {
    return InvalidArgument("object too large for one request: " + detail,
                           "Lower multipart_threshold= in the repository URL.");
  }
  return IoError("S3 request failed: " + detail);
}

}  // namespace vecsafe::s3
