// Read-only model of a Chroma persistent directory (0.4 to 1.x).
//
// Loads chroma.sqlite3 through a `mode=ro` URI (never writes, never runs
// Chroma's migrations), and lists the vector segment folders beside it. The
// facts this relies on were verified on files written by Chroma itself and
// are written down in docs/chroma.md ("On-disk format").
//
// Thread safety: a loaded ChromaDirectory is a plain value.
#ifndef VECSAFE_SOURCES_CHROMA_CHROMA_MODEL_H_
#define VECSAFE_SOURCES_CHROMA_CHROMA_MODEL_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sources/chroma/hnsw_files.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

inline constexpr const char* kSqliteFile = "chroma.sqlite3";
inline constexpr const char* kVectorSegmentType = "urn:chroma:segment/vector/hnsw-local-persisted";
inline constexpr const char* kMetadataSegmentType = "urn:chroma:segment/metadata/sqlite";

struct ChromaMigration {
  std::string dir;  // "sysdb", "metadb", "embeddings_queue"
  int64_t version = 0;
  std::string filename;
};

struct ChromaSegment {
  std::string id;
  std::string type;
  std::string scope;          // "VECTOR" / "METADATA"
  std::string collection_id;  // may name a collection that no longer exists
  bool collection_exists = false;
  std::optional<int64_t> max_seq_id;  // from the max_seq_id table
  nlohmann::json metadata = nlohmann::json::object();
  bool IsVector() const { return type == kVectorSegmentType; }
  bool IsMetadata() const { return type == kMetadataSegmentType; }
};

// What the write-ahead log (embeddings_queue) holds for one collection.
struct WalStats {
  int64_t rows = 0;
  int64_t min_seq_id = 0;
  int64_t max_seq_id = 0;
};

struct ChromaCollection {
  std::string id;
  std::string name;
  std::optional<int64_t> dimension;
  std::string database_id;
  std::string database_name;
  std::string tenant;
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json configuration;  // config_json_str, parsed; null when absent
  // schema_str (Chroma 1.x with collection schemas, e.g. 1.5: the index
  // configuration lives here and config_json_str is "{}"); null when absent.
  nlohmann::json schema;
  std::vector<size_t> segments;  // indexes into ChromaDirectory::segments
  WalStats wal;
  // Rows in `embeddings` for this collection's metadata segment.
  int64_t stored_records = 0;
};

enum class SchemaSupport : uint8_t {
  kKnown,  // every migration is one this build knows
  kNewer,  // migrations we do not know: read as far as possible, never write
};

// A collection's vector index settings, from wherever its Chroma version
// keeps them: 1.x schema_str (keys."#embedding".float_list.vector_index.config),
// 1.x config_json_str ({"vector_index": {"hnsw" | "spann": ...}}) or 0.6
// config_json_str ({"hnsw_configuration": ...}). The metadata keys of 0.4-0.5
// ("hnsw:space"...) are not read here.
struct IndexSettings {
  std::string space;  // "" when not stated
  // HNSW parameters under the names of the 1.x API (space, ef_construction,
  // ef_search, max_neighbors, num_threads, resize_factor, batch_size,
  // sync_threshold); null when none.
  nlohmann::json hnsw;
  nlohmann::json spann;               // as Chroma stored it; null when none
  nlohmann::json embedding_function;  // 1.x embedding function config; null when none
  // True when the settings come from 1.x (schema or vector_index), where they
  // decide the index rather than the collection metadata.
  bool authoritative = false;
};
IndexSettings ReadIndexSettings(const nlohmann::json& configuration, const nlohmann::json& schema);

struct ChromaDirectory {
  std::string path;
  std::vector<ChromaMigration> migrations;
  SchemaSupport schema = SchemaSupport::kKnown;
  std::vector<std::string> unknown_migrations;  // "dir/filename"
  // A compact label of the schema ("sysdb 9, metadb 4, embeddings_queue 2").
  std::string schema_label;
  // The Chroma release line the schema belongs to ("0.4", "0.5", "0.6", "1.x").
  std::string version_hint;
  std::string journal_mode;
  bool seq_ids_are_blobs = false;           // 0.4 stored seq ids as 8-byte BE blobs
  std::optional<bool> automatically_purge;  // embeddings_queue_config (0.5+)
  std::vector<ChromaCollection> collections;
  std::vector<ChromaSegment> segments;
  // Subfolders of `path` (names only), sorted.
  std::vector<std::string> folders;
  // WAL rows whose topic / collection matches no collection.
  int64_t wal_rows_without_collection = 0;

  const ChromaCollection* FindCollection(std::string_view name_or_id) const;
  const ChromaSegment* FindSegment(std::string_view id) const;
  // The vector segment of a collection, or nullptr.
  const ChromaSegment* VectorSegment(const ChromaCollection& c) const;
  const ChromaSegment* MetadataSegment(const ChromaCollection& c) const;
};

// Decodes a seq id as Chroma stores it: INTEGER, or (0.4) an 8- or 24-byte
// big-endian blob. Returns nullopt for anything else.
std::optional<int64_t> DecodeSeqId(int sqlite_type, int64_t as_int, std::string_view as_blob);

// Loads the model. Errors: kNotFound (no such folder / no chroma.sqlite3:
// "not a Chroma folder"), kDataLoss (SQLite unreadable), kPermissionDenied.
Result<ChromaDirectory> LoadChromaDirectory(const std::string& path);

// ---- index_metadata.pickle ----

// The id maps of one HNSW segment, from the pickled PersistentData (0.4-0.6)
// or the plain dict (1.x).
struct HnswIdMaps {
  std::optional<int64_t> dimensionality;
  int64_t total_elements_added = 0;
  std::optional<int64_t> max_seq_id;  // only 0.4 keeps it here
  std::unordered_map<std::string, int64_t> id_to_label;
  std::unordered_map<int64_t, std::string> label_to_id;
  std::unordered_map<std::string, int64_t> id_to_seq_id;
  std::string format;  // "PersistentData object" or "dict"
};

// Parses index_metadata.pickle bytes. Errors: kDataLoss (truncated, not a
// pickle, missing id maps), kUnimplemented (content that is not Chroma's).
Result<HnswIdMaps> ParseIdMaps(std::string_view bytes);

// Reads a whole small file. Errors: ErrnoToStatus.
Result<std::string> ReadWholeFile(const std::string& file);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_CHROMA_MODEL_H_
