#include "vecsafe/object_store.h"

namespace vecsafe {

Result<std::vector<ObjectInfo>> ObjectStore::ListAll(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  VS_RETURN_IF_ERROR(List(prefix, [&](const ObjectInfo& info) {
    out.push_back(info);
    return Status::OK();
  }));
  return out;
}

Status ValidateObjectKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("empty object key");
  if (key.front() == '/') return InvalidArgument("object key starts with '/': " + std::string(key));
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgument("bad object key: " + std::string(key));
    }
    if (part.substr(0, 13) == ".tmp-vecsafe-") {
      return InvalidArgument("object key uses the reserved prefix .tmp-vecsafe-: " +
                             std::string(key));
    }
    start = end + 1;
  }
  for (char c : key) {
    if (c == '\0' || c == '\\') return InvalidArgument("bad character in object key");
  }
  return Status::OK();
}

}  // namespace vecsafe
