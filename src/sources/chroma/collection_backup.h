// Per-collection backup and restore of Chroma.
//
// ReadCollection() reads one collection straight from a Chroma folder, with
// Chroma running or stopped: ids, documents and metadata from the metadata
// segment (SQLite), vectors from the HNSW files, and every write-ahead-log
// row (embeddings_queue) that either segment has not applied yet, replayed
// by Chroma's rules (add / update / upsert / delete). The database is
// always read from an online-backup copy (Chroma may run where /proc cannot
// show it) and the HNSW files are checked not to move while they are read,
// as for the full hot backup (hot_backup.h); the read is retried otherwise.
//
// A collection snapshot (source kind "chroma", source {"path", "collection",
// "kind": "collection"}) holds three files, described in docs/chroma.md
// ("Collection snapshot format"):
//   collection.json   name, id, dimension, count, metadata, configuration...
//   records.jsonl     one line per record in id order: {"id", "document", "metadata"}
//   embeddings.f32    count x dimension float32, little-endian, same order
//
// RestoreCollectionToServer() recreates such a collection through any
// Chroma server's HTTP API (v1 for 0.4-0.6, v2 for 1.x), in batches, and
// verifies the count. It is the building block of safe delete/rename too.
#ifndef VECSAFE_SOURCES_CHROMA_COLLECTION_BACKUP_H_
#define VECSAFE_SOURCES_CHROMA_COLLECTION_BACKUP_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sources/chroma/chroma_http.h"
#include "sources/chroma/hot_backup.h"
#include "vecsafe/repository.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

inline constexpr int kCollectionFormatVersion = 1;
inline constexpr const char* kCollectionJson = "collection.json";
inline constexpr const char* kRecordsJsonl = "records.jsonl";
inline constexpr const char* kEmbeddingsF32 = "embeddings.f32";

// One collection, as read from the files or from a snapshot.
struct CollectionData {
  std::string name;
  std::string id;
  std::string tenant;    // "" when the schema has no tenants (0.4)
  std::string database;  // idem
  int64_t dimension = 0;
  nlohmann::json metadata = nlohmann::json::object();  // collection metadata
  nlohmann::json configuration;                        // config_json_str, or null
  nlohmann::json schema;                               // schema_str (1.x), or null
  // ids sorted; documents and metadatas one per id (nullopt / null = none).
  RecordBatch records;
  // Where it came from: path, chroma_schema, chroma_version_line, the seq ids
  // read, WAL rows replayed, read attempts.
  nlohmann::json source = nlohmann::json::object();

  // The distance space ("l2", "cosine", "ip") from the schema, configuration
  // or metadata (ReadIndexSettings decides which wins).
  std::string Space() const;
};

// What a collection is created with when it is recreated through the API.
struct CreateRequest {
  nlohmann::json metadata = nlohmann::json::object();
  // Extra body fields: {"schema": ...} or {"configuration": ...}, or empty.
  nlohmann::json settings = nlohmann::json::object();
  // For a server that ignores or refuses a "schema" in `settings` (1.0.x
  // ignores it): the same index settings as {"configuration": ...}, or empty.
  nlohmann::json fallback = nlohmann::json::object();
};

// The create request that gives `data`'s collection the same index
// configuration on a server speaking API `api_version`:
//  - 2 (Chroma 1.x), from a 1.x source: its schema when it had one
//    (fallback: the configuration derived from it), else a "configuration"
//    with its hnsw or spann parameters and embedding function. The metadata
//    is sent as it was.
//  - a 0.4-0.6 source: its metadata exactly as it was (its "hnsw:*" keys
//    decided its index; 1.x turns them into a configuration), plus
//    hnsw:space when only the configuration named the space.
//  - a 1.x source into a 0.4-0.6 server: the metadata plus the legacy keys
//    (hnsw:space, hnsw:construction_ef, hnsw:search_ef, hnsw:M,
//    hnsw:num_threads, hnsw:resize_factor, hnsw:batch_size,
//    hnsw:sync_threshold) taken from the configuration where the metadata
//    does not set them. An embedding function configuration has no such
//    equivalent and is dropped.
CreateRequest MakeCreateRequest(const CollectionData& data, int api_version);

struct ReadCollectionOptions {
  HotCopyOptions copy;  // used while Chroma runs
};

// Reads collection `name` (or id) of the Chroma folder `path`.
// Errors: not a Chroma folder (kNotFound, from the model), kNotFound for an
// unknown collection (the hint lists the names), kDataLoss when the files
// disagree (a record without a vector), kAborted when Chroma kept flushing.
Result<CollectionData> ReadCollection(const std::string& path, const std::string& name,
                                      const ReadCollectionOptions& options = {});

struct CollectionBackupOptions {
  ReadCollectionOptions read;
  std::vector<std::string> tags;
};

// Reads the collection and stores it as a collection snapshot.
Result<Manifest> BackupCollection(Repository& repo, const std::string& path,
                                  const std::string& name,
                                  const CollectionBackupOptions& options = {});

// True for a snapshot written by BackupCollection.
bool IsCollectionSnapshot(const Manifest& m);

// Loads a collection snapshot back. Errors: kInvalidArgument (not a
// collection snapshot), kDataLoss (files that disagree), read errors.
Result<CollectionData> LoadCollectionSnapshot(Repository& repo, const Manifest& m);

struct CollectionRestoreOptions {
  // Name in the target. Default: empty = the original name.
  std::string as_name;
  size_t batch_size = 500;
  std::string tenant = "default_tenant";
  std::string database = "default_database";
};

struct CollectionRestoreResult {
  std::string name;
  int64_t count = 0;
  int api_version = 0;
  std::string server_version;
  // How the index configuration was given: "schema", "configuration" or
  // "metadata" (legacy hnsw:* keys).
  std::string index_settings;
  double seconds = 0;
};

// Creates the collection on the server at `url` and uploads every record.
// Errors: kUnavailable (no Chroma there), kAlreadyExists (the name is taken;
// nothing is changed), kInvalidArgument (bad name), kDataLoss (count differs
// afterwards).
Result<CollectionRestoreResult> RestoreCollectionToServer(const CollectionData& data,
                                                          const std::string& url,
                                                          const CollectionRestoreOptions& options);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_COLLECTION_BACKUP_H_
