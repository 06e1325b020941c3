// The list of repository drivers built into vecsafe. Adding a backend means
// adding one Register() call here; nothing else in the core changes.
#include <memory>

#include "io/gcs/gcs_store.h"
#include "io/local/local_store.h"
#include "io/memory_store.h"
#include "io/s3/s3_store.h"
#include "io/store_registry.h"

namespace vecsafe {
namespace {

Result<std::unique_ptr<ObjectStore>> OpenLocal(const StoreUrl& url) {
  LocalStoreOptions options;
  for (const auto& [key, value] : url.options) {
    if (key != "pagecache") {
      return InvalidArgument(
          "unknown option '" + key + "' for a local repository",
          "A local repository takes only ?pagecache=keep|drop; remove '?" + key + "=...'.");
    }
    if (value != "keep" && value != "drop") {
      return InvalidArgument("pagecache=" + value + " is not keep or drop",
                             "Write file:///path?pagecache=drop to keep written packs out of "
                             "the page cache, or leave the option out (keep).");
    }
    options.drop_written_packs = value == "drop";
  }
  VS_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> store, LocalStore::Open(url.path, options));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

Result<std::unique_ptr<ObjectStore>> OpenMemory(const StoreUrl& url) {
  if (!url.path.empty() || !url.options.empty()) {
    return InvalidArgument("mem:// repositories take a name only, e.g. mem://test1");
  }
  return std::unique_ptr<ObjectStore>(
      std::make_unique<SharedStoreHandle>(MemoryStore::Named(url.bucket)));
}

Result<std::unique_ptr<ObjectStore>> OpenS3(const StoreUrl& url) {
  VS_ASSIGN_OR_RETURN(s3::S3Options options,
                      s3::ResolveS3Options(url.bucket, url.path, url.options, GetEnv));
  return s3::NewS3Store(std::move(options));
}

Result<std::unique_ptr<ObjectStore>> OpenGcs(const StoreUrl& url) {
  VS_ASSIGN_OR_RETURN(gcs::GcsOptions options,
                      gcs::ResolveGcsOptions(url.bucket, url.path, url.options, GetEnv));
  return gcs::NewGcsStore(std::move(options));
}

// Registration cannot fail here (fixed, distinct, valid schemes); a failure
// would be a programming error caught by the registry unit tests.
void MustRegister(StoreRegistry& registry, const char* scheme, const char* summary,
                  StoreFactory factory) {
  registry.Register(scheme, summary, std::move(factory)).IgnoreError();
}

}  // namespace

void RegisterBuiltinStores(StoreRegistry& registry) {
  MustRegister(registry, "file", "a folder path or file:///abs/path (local folder)", OpenLocal);
  MustRegister(registry, "mem", "mem://name (in-memory, for tests)", OpenMemory);
  MustRegister(registry, "s3", "s3://bucket/prefix (Amazon S3 and compatible)", OpenS3);
  MustRegister(registry, "gs", "gs://bucket/prefix (Google Cloud Storage)", OpenGcs);
}

}  // namespace vecsafe
