// The list of repository drivers built into vecsafe. Adding a backend means
// adding one Register() call here; nothing else in the core changes.
#include <memory>

#include "io/local/local_store.h"
#include "io/memory_store.h"
#include "io/store_registry.h"

namespace vecsafe {
namespace {

Result<std::unique_ptr<ObjectStore>> OpenLocal(const StoreUrl& url) {
  if (!url.options.empty()) {
    const std::string& key = url.options.begin()->first;
    return InvalidArgument("unknown option '" + key + "' for a local repository",
                           "Local repositories take no options; remove '?" + key + "=...'.");
  }
  VS_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> store, LocalStore::Open(url.path));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

Result<std::unique_ptr<ObjectStore>> OpenMemory(const StoreUrl& url) {
  if (!url.path.empty() || !url.options.empty()) {
    return InvalidArgument("mem:// repositories take a name only, e.g. mem://test1");
  }
  return std::unique_ptr<ObjectStore>(
      std::make_unique<SharedStoreHandle>(MemoryStore::Named(url.bucket)));
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
  // Remote drivers register here, one line each:
  //   MustRegister(registry, "s3", "s3://bucket/prefix (Amazon S3 and compatible)", OpenS3Store);
  //   MustRegister(registry, "gs", "gs://bucket/prefix (Google Cloud Storage)", OpenGcsStore);
}

}  // namespace vecsafe
