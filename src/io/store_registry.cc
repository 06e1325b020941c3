#include "io/store_registry.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace vecsafe {
namespace {

constexpr char kUrlHint[] =
    "Use a folder path, file:///abs/path, s3://bucket/prefix or gs://bucket/prefix.";

bool IsSchemeChar(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

bool IsValidScheme(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsSchemeChar(s[i], i == 0)) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view in, std::string_view url) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgument("bad percent-escape in repository URL " + std::string(url),
                               "Write '%' as %25; escapes are % and two hex digits.");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') {
      return InvalidArgument("NUL byte in repository URL " + std::string(url), kUrlHint);
    }
    out.push_back(c);
  }
  return out;
}

std::string PercentEncode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

bool IsBucketChar(char c, bool allow_port) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || (allow_port && c == ':');
}

// Schemes people write restic-style ("s3:bucket/x") by habit.
bool IsKnownScheme(std::string_view lower) {
  return lower == "s3" || lower == "gs" || lower == "gcs" || lower == "mem" || lower == "file" ||
         lower == "azure" || lower == "b2" || lower == "sftp" || lower == "rest";
}

Status CheckPrefixParts(std::string_view prefix, std::string_view url) {
  size_t start = 0;
  while (start <= prefix.size() && !prefix.empty()) {
    size_t end = prefix.find('/', start);
    if (end == std::string_view::npos) end = prefix.size();
    const std::string_view part = prefix.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgument("bad prefix in repository URL " + std::string(url) +
                                 ": empty, '.' or '..' parts are not allowed",
                             "Write the prefix as a/b/c, e.g. s3://bucket/backups/qdrant.");
    }
    start = end + 1;
  }
  return Status::OK();
}

Status ParseQuery(std::string_view query, std::string_view url,
                  std::map<std::string, std::string>* options) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view item = query.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    VS_ASSIGN_OR_RETURN(std::string key, PercentDecode(item.substr(0, eq), url));
    std::string value;
    if (eq != std::string_view::npos) {
      VS_ASSIGN_OR_RETURN(value, PercentDecode(item.substr(eq + 1), url));
    }
    if (key.empty()) {
      return InvalidArgument("empty option name in repository URL " + std::string(url),
                             "Options are written ?name=value&name2=value2.");
    }
    if (!options->emplace(key, std::move(value)).second) {
      return InvalidArgument(
          "option '" + key + "' given twice in repository URL " + std::string(url),
          "Give each option once.");
    }
  }
  return Status::OK();
}

}  // namespace

std::string StoreUrl::ToString() const {
  std::string out;
  if (scheme == "file" && options.empty() && bucket.empty()) return path;
  out = scheme + "://";
  if (scheme == "file") {
    out += PercentEncode(path, /*keep_slash=*/true);
  } else {
    out += bucket;
    if (!path.empty()) out += "/" + PercentEncode(path, /*keep_slash=*/true);
  }
  if (!options.empty()) {
    char sep = '?';
    for (const auto& [k, v] : options) {
      out.push_back(sep);
      sep = '&';
      out += PercentEncode(k, false) + "=" + PercentEncode(v, false);
    }
  }
  return out;
}

Result<StoreUrl> ParseStoreUrl(std::string_view url) {
  if (url.empty()) return InvalidArgument("empty repository URL", kUrlHint);
  if (url.find('\0') != std::string_view::npos) {
    return InvalidArgument("NUL byte in repository URL", kUrlHint);
  }
  StoreUrl out;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos || !IsValidScheme(url.substr(0, sep))) {
    const size_t colon = url.find(':');
    if (colon != std::string_view::npos && IsValidScheme(url.substr(0, colon)) &&
        IsKnownScheme(Lower(url.substr(0, colon)))) {
      const std::string scheme = Lower(url.substr(0, colon));
      return InvalidArgument(
          "malformed repository URL " + std::string(url) + ": expected " + scheme + "://...",
          "Write " + scheme + "://bucket/prefix (with two slashes), or ./" + std::string(url) +
              " for a local folder of that name.");
    }
    out.scheme = "file";
    out.path = std::string(url);
    return out;
  }
  out.scheme = Lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  const size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    VS_RETURN_IF_ERROR(ParseQuery(rest.substr(q + 1), url, &out.options));
    rest = rest.substr(0, q);
  }

  if (out.scheme == "file") {
    if (rest.substr(0, 9) == "localhost") rest.remove_prefix(9);
    if (rest.empty() || rest.front() != '/') {
      return InvalidArgument("file URL " + std::string(url) + " needs an absolute path",
                             "Write file:///srv/backups (three slashes), or give the plain "
                             "path.");
    }
    VS_ASSIGN_OR_RETURN(out.path, PercentDecode(rest, url));
    return out;
  }

  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view prefix =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument(
        "credentials in repository URL are not accepted",
        "Remove 'user:secret@' from the URL; give keys through the environment "
        "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS).");
  }
  const bool named_bucket = out.scheme == "s3" || out.scheme == "gs" || out.scheme == "mem";
  if (authority.empty()) {
    return InvalidArgument(
        "repository URL " + std::string(url) + " has no " +
            (out.scheme == "mem" ? "store name" : "bucket"),
        "Write " + out.scheme + "://" + (out.scheme == "mem" ? "name" : "bucket/prefix") + ".");
  }
  if (authority.size() > 255) {
    return InvalidArgument("bucket name too long in repository URL", kUrlHint);
  }
  for (char c : authority) {
    if (!IsBucketChar(c, !named_bucket)) {
      return InvalidArgument(
          "bad character '" + std::string(1, c) + "' in bucket name of " + std::string(url),
          "Bucket names use letters, digits, '-', '_' and '.'.");
    }
  }
  out.bucket = std::string(authority);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  VS_ASSIGN_OR_RETURN(out.path, PercentDecode(prefix, url));
  VS_RETURN_IF_ERROR(CheckPrefixParts(out.path, url));
  return out;
}

Status StoreRegistry::Register(std::string scheme, std::string summary, StoreFactory factory) {
  if (!IsValidScheme(scheme) || Lower(scheme) != scheme) {
    return InvalidArgument("bad store scheme '" + scheme + "'",
                           "Use lower-case [a-z][a-z0-9+.-]*.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.count(scheme) != 0) {
    return AlreadyExists("a store driver is already registered for " + scheme + "://");
  }
  entries_.emplace(std::move(scheme), Entry{std::move(summary), std::move(factory)});
  return Status::OK();
}

bool StoreRegistry::CanHandle(std::string_view url) const {
  Result<StoreUrl> parsed = ParseStoreUrl(url);
  if (!parsed.ok()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.count(parsed->scheme) != 0;
}

Result<std::unique_ptr<ObjectStore>> StoreRegistry::Open(std::string_view url) const {
  Result<StoreUrl> parsed = ParseStoreUrl(url);
  if (!parsed.ok()) {
    const Status& s = parsed.status();
    return Status(s.code(), s.message(), s.hint() + " " + SupportedHint());
  }
  return Open(*parsed);
}

Result<std::unique_ptr<ObjectStore>> StoreRegistry::Open(const StoreUrl& url) const {
  StoreFactory factory;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(url.scheme);
    if (it != entries_.end()) factory = it->second.factory;
  }
  if (!factory) {
    return InvalidArgument("unsupported repository URL scheme '" + url.scheme + "://'",
                           SupportedHint());
  }
  return factory(url);
}

std::vector<std::string> StoreRegistry::Schemes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [scheme, entry] : entries_) out.push_back(scheme);
  return out;
}

std::string StoreRegistry::SupportedHint() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = "Supported repository URLs:";
  bool first = true;
  for (const auto& [scheme, entry] : entries_) {
    out += first ? " " : "; ";
    first = false;
    out += entry.summary.empty() ? scheme + "://..." : entry.summary;
  }
  if (first) out += " none (no driver registered)";
  out += ".";
  return out;
}

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view url) {
  static const StoreRegistry* registry = [] {
    auto* r = new StoreRegistry();
    RegisterBuiltinStores(*r);
    return r;
  }();
  return registry->Open(url);
}

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> DefaultRepositoryUrlFromEnv(const EnvLookup& env) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    std::optional<std::string> v = env(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  if (auto repo = get("VECSAFE_REPO")) return repo;
  if (auto bucket = get("GCS_BUCKET_NAME")) {
    std::string_view b = *bucket;
    if (b.substr(0, 5) == "gs://") b.remove_prefix(5);
    while (!b.empty() && b.back() == '/') b.remove_suffix(1);
    std::string url = "gs://" + std::string(b);
    if (auto prefix = get("GCS_FOLDER_PREFIX")) {
      std::string_view p = *prefix;
      while (!p.empty() && p.front() == '/') p.remove_prefix(1);
      while (!p.empty() && p.back() == '/') p.remove_suffix(1);
      if (!p.empty()) url += "/" + std::string(p);
    }
    return url;
  }
  if (auto path = get("BACKUP_LOCAL_PATH")) return path;
  return std::nullopt;
}

}  // namespace vecsafe
