// Fuzzes the repository URL parser: it must never crash, and whatever it
// accepts must print (StoreUrl::ToString) to a URL that parses back equal.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "io/store_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  vecsafe::Result<vecsafe::StoreUrl> parsed = vecsafe::ParseStoreUrl(input);
  if (!parsed.ok()) {
    if (parsed.status().code() != vecsafe::ErrorCode::kInvalidArgument) std::abort();
    if (parsed.status().hint().empty()) std::abort();
    return 0;
  }
  const vecsafe::StoreUrl& url = *parsed;
  if (url.scheme.empty()) std::abort();
  if (url.scheme != "file") {
    if (url.bucket.empty()) std::abort();
    if (!url.path.empty() && (url.path.front() == '/' || url.path.back() == '/')) std::abort();
  }
  const std::string printed = url.ToString();
  vecsafe::Result<vecsafe::StoreUrl> again = vecsafe::ParseStoreUrl(printed);
  if (!again.ok() || !(*again == url)) std::abort();
  return 0;
}
