#include "sources/chroma/chroma_http.h"

#include <fmt/format.h>
#include <httplib.h>

#include <cmath>

namespace vecsafe::chroma {

class ChromaHttp::Impl {
 public:
  explicit Impl(const std::string& base) : client(base) {
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(120, 0);
    client.set_write_timeout(120, 0);
  }
  httplib::Client client;
};

namespace {

std::string Encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Status HttpFailure(const std::string& what, const httplib::Result& r) {
  if (!r) {
    return Unavailable(
        fmt::format("{}: no answer from Chroma ({})", what, httplib::to_string(r.error())),
        "Check that Chroma runs at the given --server URL.");
  }
  std::string body = r->body.substr(0, 400);
  if (r->status == 409 || body.find("already exists") != std::string::npos) {
    return AlreadyExists(fmt::format("{}: {}", what, body),
                         "Pick another name with --as, or delete the existing collection.");
  }
  if (r->status == 404 || body.find("does not exist") != std::string::npos ||
      body.find("NotFound") != std::string::npos) {
    return NotFound(fmt::format("{}: {}", what, body),
                    "Check the collection name; `vecsafe check chroma PATH` lists them.");
  }
  if (r->status >= 500) {
    return Unavailable(fmt::format("{}: HTTP {}: {}", what, r->status, body));
  }
  return InvalidArgument(fmt::format("{}: HTTP {}: {}", what, r->status, body));
}

nlohmann::json Parse(const httplib::Result& r) {
  return nlohmann::json::parse(r->body, nullptr, false);
}

}  // namespace

Status ValidateCollectionName(const std::string& name) {
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  bool ok = name.size() >= 3 && name.size() <= 512 && alnum(name.front()) && alnum(name.back()) &&
            name.find("..") == std::string::npos;
  for (char c : name) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return InvalidArgument("'" + name + "' is not a valid Chroma collection name",
                           "Use 3-512 characters of letters, digits, '.', '_' or '-', starting "
                           "and ending with a letter or digit.");
  }
  return Status::OK();
}

ChromaHttp::ChromaHttp(std::unique_ptr<Impl> impl, int api, std::string url)
    : impl_(std::move(impl)), api_(api), url_(std::move(url)) {}
ChromaHttp::~ChromaHttp() = default;

Result<std::unique_ptr<ChromaHttp>> ChromaHttp::Connect(const std::string& url, std::string tenant,
                                                        std::string database) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return InvalidArgument("'" + url + "' is not an http(s) URL",
                           "Give the Chroma server as http://HOST:PORT.");
  }
  std::string base = url;
  while (base.ends_with("/")) base.pop_back();
  auto impl = std::make_unique<Impl>(base);
  int api = 0;
  if (auto r = impl->client.Get("/api/v2/heartbeat"); r && r->status == 200) {
    api = 2;
  } else if (auto r1 = impl->client.Get("/api/v1/heartbeat"); r1 && r1->status == 200) {
    api = 1;
  } else {
    return Unavailable("no Chroma server answers at " + url,
                       "Start Chroma (`chroma run --path PATH`) or fix --server.");
  }
  std::unique_ptr<ChromaHttp> c(new ChromaHttp(std::move(impl), api, base));
  c->tenant_ = std::move(tenant);
  c->database_ = std::move(database);
  return c;
}

std::string ChromaHttp::CollectionsPath() const {
  if (api_ == 2) {
    return fmt::format("/api/v2/tenants/{}/databases/{}/collections", Encode(tenant_),
                       Encode(database_));
  }
  return "/api/v1/collections";
}

std::string ChromaHttp::Query() const {
  if (api_ == 2) return "";
  return fmt::format("?tenant={}&database={}", Encode(tenant_), Encode(database_));
}

Result<std::string> ChromaHttp::ServerVersion() {
  auto r = impl_->client.Get(api_ == 2 ? "/api/v2/version" : "/api/v1/version");
  if (!r || r->status != 200) return std::string();
  auto j = Parse(r);
  return j.is_string() ? j.get<std::string>() : std::string();
}

Result<RemoteCollection> ChromaHttp::CreateCollection(const std::string& name,
                                                      const nlohmann::json& metadata,
                                                      const nlohmann::json& settings) {
  VS_RETURN_IF_ERROR(ValidateCollectionName(name));
  nlohmann::json body = {{"name", name}, {"get_or_create", false}};
  if (metadata.is_object() && !metadata.empty()) body["metadata"] = metadata;
  if (settings.is_object()) {
    for (const auto& [k, v] : settings.items()) body[k] = v;
  }
  auto r = impl_->client.Post(CollectionsPath() + Query(), body.dump(), "application/json");
  if (!r || r->status >= 300) return HttpFailure("create collection '" + name + "'", r);
  auto j = Parse(r);
  if (!j.is_object() || !j.contains("id")) {
    return Internal("Chroma answered create collection with unexpected JSON: " + r->body);
  }
  return RemoteCollection{j["id"].get<std::string>(), name, metadata,
                          j.contains("schema") && j["schema"].is_object()};
}

Result<RemoteCollection> ChromaHttp::GetCollection(const std::string& name) {
  auto r = impl_->client.Get(CollectionsPath() + "/" + Encode(name) + Query());
  if (!r || r->status >= 300) return HttpFailure("collection '" + name + "'", r);
  auto j = Parse(r);
  if (!j.is_object() || !j.contains("id")) {
    return NotFound("collection '" + name + "' not found on the server");
  }
  return RemoteCollection{j["id"].get<std::string>(), name,
                          j.contains("metadata") ? j["metadata"] : nlohmann::json()};
}

Result<std::vector<std::string>> ChromaHttp::ListCollectionNames() {
  auto r = impl_->client.Get(CollectionsPath() + Query());
  if (!r || r->status >= 300) return HttpFailure("list collections", r);
  auto j = Parse(r);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& c : j) {
      if (c.is_object() && c.contains("name")) out.push_back(c["name"].get<std::string>());
    }
  }
  return out;
}

Status ChromaHttp::Add(const RemoteCollection& c, const RecordBatch& b) {
  nlohmann::json body;
  body["ids"] = b.ids;
  nlohmann::json embs = nlohmann::json::array();
  for (const auto& v : b.embeddings) {
    nlohmann::json row = nlohmann::json::array();
    // A float widened to double prints the shortest decimal that reads back
    // as the same float32, so vectors arrive bit-identical.
    for (float x : v) row.push_back(static_cast<double>(x));
    embs.push_back(std::move(row));
  }
  body["embeddings"] = std::move(embs);
  if (!b.documents.empty()) {
    nlohmann::json docs = nlohmann::json::array();
    for (const auto& d : b.documents) docs.push_back(d ? nlohmann::json(*d) : nlohmann::json());
    body["documents"] = std::move(docs);
  }
  if (!b.metadatas.empty()) body["metadatas"] = b.metadatas;
  auto r = impl_->client.Post(CollectionsPath() + "/" + Encode(c.id) + "/add" + Query(),
                              body.dump(), "application/json");
  if (!r || r->status >= 300) {
    return HttpFailure(fmt::format("add {} records to '{}'", b.ids.size(), c.name), r);
  }
  return Status::OK();
}

Result<int64_t> ChromaHttp::Count(const RemoteCollection& c) {
  auto r = impl_->client.Get(CollectionsPath() + "/" + Encode(c.id) + "/count" + Query());
  if (!r || r->status >= 300) return HttpFailure("count '" + c.name + "'", r);
  auto j = Parse(r);
  if (!j.is_number_integer()) return Internal("Chroma answered count with: " + r->body);
  return j.get<int64_t>();
}

Status ChromaHttp::DeleteCollection(const std::string& name) {
  auto r = impl_->client.Delete(CollectionsPath() + "/" + Encode(name) + Query());
  if (!r || r->status >= 300) return HttpFailure("delete collection '" + name + "'", r);
  return Status::OK();
}

Status ChromaHttp::Rename(const RemoteCollection& c, const std::string& new_name) {
  VS_RETURN_IF_ERROR(ValidateCollectionName(new_name));
  nlohmann::json body = {{"new_name", new_name}};
  auto r = impl_->client.Put(CollectionsPath() + "/" + Encode(c.id) + Query(), body.dump(),
                             "application/json");
  if (!r || r->status >= 300) return HttpFailure("rename '" + c.name + "'", r);
  return Status::OK();
}

}  // namespace vecsafe::chroma
