// StoreRegistry: chooses an ObjectStore driver from a repository URL
// (DuckDB's VirtualFileSystem::RegisterSubSystem + CanHandleFile).
//
// The core never names a driver: it calls Open(url) on a registry that
// RegisterBuiltinStores() filled (src/io/builtin_stores.cc), so adding a
// backend means registering one factory there.
//
// Repository URLs (docs/storage.md):
//   /srv/backups, ./repo, repo     a local folder (no "scheme://" prefix)
//   file:///srv/backups            the same, as a URL (percent-escapes decoded)
//   mem://name                     a process-wide in-memory store (tests)
//   s3://bucket/prefix?opt=v       S3 and compatible servers
//   gs://bucket/prefix             Google Cloud Storage
// Credentials never go in the URL ("s3://key:secret@bucket" is refused).
#ifndef VECSAFE_IO_STORE_REGISTRY_H_
#define VECSAFE_IO_STORE_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vecsafe/object_store.h"

namespace vecsafe {

// A parsed repository URL.
struct StoreUrl {
  // Lower-case scheme: "file" for plain paths, "mem", "s3", "gs", ...
  std::string scheme;
  // The bucket (s3, gs), the store name (mem), or the host for other
  // schemes; empty for file.
  std::string bucket;
  // file: the local path as given (not made absolute).
  // Others: the key prefix inside the bucket, without leading or trailing
  // '/' (e.g. "team/qdrant"); empty for the bucket's root.
  std::string path;
  // Query parameters ("?region=eu-west-1&endpoint=http://127.0.0.1:9000"),
  // percent-decoded. Drivers reject the ones they do not know.
  std::map<std::string, std::string> options;

  // A canonical URL that ParseStoreUrl() maps back to an equal StoreUrl:
  // plain paths stay plain paths; others are "scheme://bucket/path?k=v".
  std::string ToString() const;
  bool operator==(const StoreUrl&) const = default;
};

// Parses a repository URL (see the top of this file). A string without
// "scheme://" is a local path. Errors: kInvalidArgument with a hint: empty
// input, "s3:bucket" (missing "//"), credentials in the URL, missing bucket,
// bad characters in the bucket, "." / ".." / empty parts in a prefix, a bad
// percent-escape, a repeated query option.
Result<StoreUrl> ParseStoreUrl(std::string_view url);

// Opens a driver for a parsed URL. Returns the store or an error explaining
// what is wrong with the URL or the credentials (kInvalidArgument,
// kPermissionDenied, kUnauthenticated, kNotFound, kUnavailable).
using StoreFactory = std::function<Result<std::unique_ptr<ObjectStore>>(const StoreUrl&)>;

// Thread safety: Register() and Open() may be called concurrently; factories
// are called without the registry's lock held and must be thread safe.
class StoreRegistry {
 public:
  // Registers `factory` for a lower-case `scheme` ("s3"). `summary` is one
  // line for error hints and `vecsafe help`, e.g. "s3://bucket/prefix (Amazon
  // S3 and compatible)". Errors: kAlreadyExists (scheme taken),
  // kInvalidArgument (scheme not [a-z][a-z0-9+.-]*).
  Status Register(std::string scheme, std::string summary, StoreFactory factory);

  // True if the URL parses and its scheme has a driver.
  bool CanHandle(std::string_view url) const;

  // Parses `url` and calls the scheme's factory. The caller owns the store.
  // Errors: kInvalidArgument (malformed URL, or an unknown scheme; the hint
  // lists the supported ones), or the factory's error.
  Result<std::unique_ptr<ObjectStore>> Open(std::string_view url) const;
  Result<std::unique_ptr<ObjectStore>> Open(const StoreUrl& url) const;

  // Registered schemes, sorted.
  std::vector<std::string> Schemes() const;
  // "Supported: /path or file:///path (local folder), mem://name (...), ..."
  std::string SupportedHint() const;

 private:
  struct Entry {
    std::string summary;
    StoreFactory factory;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

// Registers every driver built into vecsafe (src/io/builtin_stores.cc):
// file (plain paths too), mem, and the remote drivers. REQUIRES: called once
// per registry.
void RegisterBuiltinStores(StoreRegistry& registry);

// Opens `url` with a registry holding the built-in drivers (built once per
// process). Convenience for the CLI and the daemon; libraries take an
// ObjectStore, never a URL.
Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view url);

// Looks up an environment variable; empty optional when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
// The process environment (getenv).
std::optional<std::string> GetEnv(const char* name);

// The repository URL to use when none was given on the command line, from
// the environment, first match wins:
//   1. VECSAFE_REPO                        (any repository URL)
//   2. GCS_BUCKET_NAME [+ GCS_FOLDER_PREFIX] -> gs://bucket/prefix
//      (the Qdrant backup deployments' variables; slashes around the prefix
//      are trimmed)
//   3. BACKUP_LOCAL_PATH                   (a local folder)
// Empty values count as unset. Returns nullopt when none is set.
std::optional<std::string> DefaultRepositoryUrlFromEnv(const EnvLookup& env = GetEnv);

}  // namespace vecsafe

#endif  // VECSAFE_IO_STORE_REGISTRY_H_
