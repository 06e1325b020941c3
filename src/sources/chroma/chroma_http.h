// A minimal client for a running Chroma server's HTTP API: the calls vecsafe
// needs to recreate, count, rename and delete collections.
//
// Chroma 0.4-0.6 answer /api/v1 (tenant and database as query parameters);
// 1.x answer /api/v2 (tenant and database in the path). Connect() asks the
// v2 heartbeat first and falls back to v1, so callers never care which.
//
// Thread safety: one client per thread.
#ifndef VECSAFE_SOURCES_CHROMA_CHROMA_HTTP_H_
#define VECSAFE_SOURCES_CHROMA_CHROMA_HTTP_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::chroma {

struct RecordBatch {
  std::vector<std::string> ids;
  std::vector<std::vector<float>> embeddings;
  // Empty, or one entry per id (null = no document / no metadata).
  std::vector<std::optional<std::string>> documents;
  std::vector<nlohmann::json> metadatas;
};

struct RemoteCollection {
  std::string id;
  std::string name;
  nlohmann::json metadata;
  // The server answered with a collection schema (Chroma 1.x with schemas;
  // earlier servers ignore a "schema" they are sent).
  bool has_schema = false;
};

class ChromaHttp {
 public:
  // Connects to `url` ("http://host:port"). Errors: kInvalidArgument (bad
  // URL), kUnavailable (no Chroma answers its heartbeat there).
  static Result<std::unique_ptr<ChromaHttp>> Connect(const std::string& url,
                                                     std::string tenant = "default_tenant",
                                                     std::string database = "default_database");
  ~ChromaHttp();

  int api_version() const { return api_; }  // 1 or 2
  const std::string& url() const { return url_; }
  // The server's version string (from /version), or "" if it does not say.
  Result<std::string> ServerVersion();

  // `settings`: extra fields of the request body (1.x: "configuration" or
  // "schema"), or an empty object. Errors: kAlreadyExists when the name is
  // taken, kInvalidArgument when the server refuses the request.
  Result<RemoteCollection> CreateCollection(const std::string& name, const nlohmann::json& metadata,
                                            const nlohmann::json& settings = {});
  // Errors: kNotFound.
  Result<RemoteCollection> GetCollection(const std::string& name);
  Result<std::vector<std::string>> ListCollectionNames();
  Status Add(const RemoteCollection& c, const RecordBatch& batch);
  Result<int64_t> Count(const RemoteCollection& c);
  Status DeleteCollection(const std::string& name);
  Status Rename(const RemoteCollection& c, const std::string& new_name);

 private:
  class Impl;
  ChromaHttp(std::unique_ptr<Impl> impl, int api, std::string url);
  std::string CollectionsPath() const;
  std::string Query() const;
  std::unique_ptr<Impl> impl_;
  int api_;
  std::string url_;
  std::string tenant_ = "default_tenant";
  std::string database_ = "default_database";
};

// Checks a collection name against Chroma's rules (3-512 characters of
// [a-zA-Z0-9._-], starting and ending with a letter or digit, no "..").
Status ValidateCollectionName(const std::string& name);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_CHROMA_HTTP_H_
