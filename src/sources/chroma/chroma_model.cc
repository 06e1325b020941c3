#include "sources/chroma/chroma_model.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "sources/chroma/safe_pickle.h"
#include "sources/chroma/sqlite_reader.h"

namespace vecsafe::chroma {
namespace {

// Migrations this build knows, per release line (docs/chroma.md lists them).
struct KnownMigration {
  const char* dir;
  const char* filename;
  const char* since;  // first release line that has it
};
constexpr KnownMigration kKnownMigrations[] = {
    {"embeddings_queue", "00001-embeddings.sqlite.sql", "0.4"},
    {"sysdb", "00001-collections.sqlite.sql", "0.4"},
    {"sysdb", "00002-segments.sqlite.sql", "0.4"},
    {"sysdb", "00003-collection-dimension.sqlite.sql", "0.4"},
    {"sysdb", "00004-tenants-databases.sqlite.sql", "0.4"},
    {"metadb", "00001-embedding-metadata.sqlite.sql", "0.4"},
    {"metadb", "00002-embedding-metadata.sqlite.sql", "0.4"},
    {"metadb", "00003-full-text-tokenize.sqlite.sql", "0.4"},
    {"embeddings_queue", "00002-embeddings-queue-config.sqlite.sql", "0.5-0.6"},
    {"sysdb", "00005-remove-topic.sqlite.sql", "0.5-0.6"},
    {"sysdb", "00006-collection-segment-metadata.sqlite.sql", "0.5-0.6"},
    {"sysdb", "00007-collection-config.sqlite.sql", "0.5-0.6"},
    {"sysdb", "00008-maintenance-log.sqlite.sql", "0.5-0.6"},
    {"sysdb", "00009-segment-collection-not-null.sqlite.sql", "0.5-0.6"},
    {"metadb", "00004-metadata-indices.sqlite.sql", "0.5-0.6"},
    {"metadb", "00005-max-seq-id-int.sqlite.sql", "1.0"},
    {"metadb", "00006-metadata-array-support.sqlite.sql", "1.x"},
    {"sysdb", "00010-collection-schema.sqlite.sql", "1.x"},
};

nlohmann::json MetadataValue(const SqlRow& r, int str_col, int int_col, int float_col,
                             int bool_col) {
  if (bool_col >= 0 && !r.IsNull(bool_col)) return r.Int(bool_col) != 0;
  if (!r.IsNull(str_col)) return r.Text(str_col);
  if (!r.IsNull(int_col)) return r.Int(int_col);
  if (!r.IsNull(float_col)) return r.Double(float_col);
  return nullptr;
}

// The collection id inside a WAL topic: "persistent://tenant/db/<id>" in 0.4
// and 0.5, the bare id later.
std::string TopicCollection(std::string_view topic) {
  const size_t slash = topic.rfind('/');
  return std::string(slash == std::string_view::npos ? topic : topic.substr(slash + 1));
}

}  // namespace

std::optional<int64_t> DecodeSeqId(int sqlite_type, int64_t as_int, std::string_view blob) {
  if (sqlite_type == SQLITE_INTEGER) return as_int;
  if (sqlite_type != SQLITE_BLOB) return std::nullopt;
  if (blob.size() != 8 && blob.size() != 24) return std::nullopt;
  // 24-byte ids (Pulsar-era) carry the number in the last 8 bytes.
  const std::string_view tail = blob.substr(blob.size() - 8);
  uint64_t v = 0;
  for (char c : tail) v = (v << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(v);
}

const ChromaCollection* ChromaDirectory::FindCollection(std::string_view key) const {
  for (const auto& c : collections) {
    if (c.name == key) return &c;
  }
  for (const auto& c : collections) {
    if (c.id == key) return &c;
  }
  return nullptr;
}

const ChromaSegment* ChromaDirectory::FindSegment(std::string_view id) const {
  for (const auto& s : segments) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const ChromaSegment* ChromaDirectory::VectorSegment(const ChromaCollection& c) const {
  for (size_t i : c.segments) {
    if (segments[i].IsVector()) return &segments[i];
  }
  return nullptr;
}

const ChromaSegment* ChromaDirectory::MetadataSegment(const ChromaCollection& c) const {
  for (size_t i : c.segments) {
    if (segments[i].IsMetadata()) return &segments[i];
  }
  return nullptr;
}

Result<std::string> ReadWholeFile(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open", file);
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoToStatus(err, "read", file);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<ChromaDirectory> LoadChromaDirectory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoToStatus(errno, "open Chroma folder", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    return NotFound(path + " is not a folder, so it is not a Chroma persistent directory",
                    "Give the folder that holds chroma.sqlite3 (Chroma's persist path).");
  }
  const std::string db_file = path + "/" + kSqliteFile;
  if (::stat(db_file.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return NotFound(path + " is not a Chroma folder: it has no " + kSqliteFile,
                      "Give the folder that holds chroma.sqlite3 (Chroma's persist path, e.g. "
                      "the --path of `chroma run`).");
    }
    return ErrnoToStatus(errno, "stat", db_file);
  }
  VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(db_file));
  ChromaDirectory d;
  d.path = path;

  VS_ASSIGN_OR_RETURN(bool has_migrations, db->HasTable("migrations"));
  VS_ASSIGN_OR_RETURN(bool has_collections, db->HasTable("collections"));
  if (!has_migrations || !has_collections) {
    return NotFound(
        db_file + " is a SQLite file but not Chroma's (no migrations/collections table)",
        "Give the folder of a Chroma persistent client or `chroma run --path`.");
  }
  VS_RETURN_IF_ERROR(db->Query(
      "SELECT dir, version, filename FROM migrations ORDER BY dir, version", [&](const SqlRow& r) {
        d.migrations.push_back({r.Text(0), r.Int(1), r.Text(2)});
      }));
  std::map<std::string, int64_t> latest;
  std::string newest_line = "0.4";
  for (const auto& m : d.migrations) {
    latest[m.dir] = std::max(latest[m.dir], m.version);
    const KnownMigration* known = nullptr;
    for (const auto& k : kKnownMigrations) {
      if (m.dir == k.dir && m.filename == k.filename) known = &k;
    }
    if (known == nullptr) {
      d.unknown_migrations.push_back(m.dir + "/" + m.filename);
    } else if (std::string(known->since) > newest_line) {
      newest_line = known->since;
    }
  }
  if (!d.unknown_migrations.empty()) d.schema = SchemaSupport::kNewer;
  for (const auto& [dir, v] : latest) {
    if (!d.schema_label.empty()) d.schema_label += ", ";
    d.schema_label += dir + " " + std::to_string(v);
  }
  d.version_hint = newest_line;

  VS_RETURN_IF_ERROR(
      db->Query("PRAGMA journal_mode", [&](const SqlRow& r) { d.journal_mode = r.Text(0); }));

  // ---- collections ----
  VS_ASSIGN_OR_RETURN(bool has_config, db->HasColumn("collections", "config_json_str"));
  VS_ASSIGN_OR_RETURN(bool has_schema, db->HasColumn("collections", "schema_str"));
  VS_ASSIGN_OR_RETURN(bool has_databases, db->HasTable("databases"));
  std::string sql = "SELECT c.id, c.name, c.dimension, c.database_id";
  sql += has_config ? ", c.config_json_str" : ", NULL";
  sql += has_schema ? ", c.schema_str" : ", NULL";
  sql += has_databases ? ", d.name, d.tenant_id FROM collections c LEFT JOIN databases d ON "
                         "d.id = c.database_id"
                       : ", NULL, NULL FROM collections c";
  sql += " ORDER BY c.name";
  std::unordered_map<std::string, size_t> by_id;
  VS_RETURN_IF_ERROR(db->Query(sql, [&](const SqlRow& r) {
    ChromaCollection c;
    c.id = r.Text(0);
    c.name = r.Text(1);
    if (!r.IsNull(2)) c.dimension = r.Int(2);
    c.database_id = r.Text(3);
    if (!r.IsNull(4)) {
      c.configuration = nlohmann::json::parse(r.Text(4), nullptr, /*allow_exceptions=*/false);
    }
    if (!r.IsNull(5)) {
      c.schema = nlohmann::json::parse(r.Text(5), nullptr, /*allow_exceptions=*/false);
      if (c.schema.is_discarded()) c.schema = nullptr;
    }
    c.database_name = r.Text(6);
    c.tenant = r.Text(7);
    by_id[c.id] = d.collections.size();
    d.collections.push_back(std::move(c));
  }));
  VS_ASSIGN_OR_RETURN(bool cm_bool, db->HasColumn("collection_metadata", "bool_value"));
  VS_RETURN_IF_ERROR(
      db->Query(std::string("SELECT collection_id, key, str_value, int_value, float_value, ") +
                    (cm_bool ? "bool_value" : "NULL") + " FROM collection_metadata",
                [&](const SqlRow& r) {
                  auto it = by_id.find(r.Text(0));
                  if (it == by_id.end()) return;
                  d.collections[it->second].metadata[r.Text(1)] = MetadataValue(r, 2, 3, 4, 5);
                }));

  // ---- segments ----
  std::unordered_map<std::string, size_t> seg_by_id;
  VS_RETURN_IF_ERROR(db->Query("SELECT id, type, scope, collection FROM segments ORDER BY id",
                               [&](const SqlRow& r) {
                                 ChromaSegment s;
                                 s.id = r.Text(0);
                                 s.type = r.Text(1);
                                 s.scope = r.Text(2);
                                 s.collection_id = r.Text(3);
                                 seg_by_id[s.id] = d.segments.size();
                                 d.segments.push_back(std::move(s));
                               }));
  for (size_t i = 0; i < d.segments.size(); ++i) {
    auto it = by_id.find(d.segments[i].collection_id);
    if (it != by_id.end()) {
      d.segments[i].collection_exists = true;
      d.collections[it->second].segments.push_back(i);
    }
  }
  VS_ASSIGN_OR_RETURN(bool sm_bool, db->HasColumn("segment_metadata", "bool_value"));
  VS_RETURN_IF_ERROR(
      db->Query(std::string("SELECT segment_id, key, str_value, int_value, float_value, ") +
                    (sm_bool ? "bool_value" : "NULL") + " FROM segment_metadata",
                [&](const SqlRow& r) {
                  auto it = seg_by_id.find(r.Text(0));
                  if (it == seg_by_id.end()) return;
                  d.segments[it->second].metadata[r.Text(1)] = MetadataValue(r, 2, 3, 4, 5);
                }));
  VS_ASSIGN_OR_RETURN(bool has_max_seq, db->HasTable("max_seq_id"));
  if (has_max_seq) {
    VS_RETURN_IF_ERROR(db->Query("SELECT segment_id, seq_id FROM max_seq_id", [&](const SqlRow& r) {
      if (r.Type(1) == SQLITE_BLOB) d.seq_ids_are_blobs = true;
      auto it = seg_by_id.find(r.Text(0));
      if (it == seg_by_id.end()) return;
      d.segments[it->second].max_seq_id = DecodeSeqId(r.Type(1), r.Int(1), r.Blob(1));
    }));
  }

  // ---- records and the write-ahead log ----
  std::unordered_map<std::string, int64_t> per_segment;
  VS_RETURN_IF_ERROR(db->Query("SELECT segment_id, count(*) FROM embeddings GROUP BY segment_id",
                               [&](const SqlRow& r) { per_segment[r.Text(0)] = r.Int(1); }));
  for (auto& c : d.collections) {
    for (size_t i : c.segments) {
      if (d.segments[i].IsMetadata()) c.stored_records += per_segment[d.segments[i].id];
    }
  }
  VS_ASSIGN_OR_RETURN(bool has_queue, db->HasTable("embeddings_queue"));
  if (has_queue) {
    VS_RETURN_IF_ERROR(db->Query(
        "SELECT topic, count(*), min(seq_id), max(seq_id) FROM embeddings_queue GROUP BY topic",
        [&](const SqlRow& r) {
          auto it = by_id.find(TopicCollection(r.Text(0)));
          if (it == by_id.end()) {
            d.wal_rows_without_collection += r.Int(1);
            return;
          }
          WalStats& w = d.collections[it->second].wal;
          w.rows += r.Int(1);
          w.min_seq_id = r.Int(2);
          w.max_seq_id = r.Int(3);
        }));
  }
  VS_ASSIGN_OR_RETURN(bool has_queue_config, db->HasTable("embeddings_queue_config"));
  if (has_queue_config) {
    VS_RETURN_IF_ERROR(
        db->Query("SELECT config_json_str FROM embeddings_queue_config", [&](const SqlRow& r) {
          auto j = nlohmann::json::parse(r.Text(0), nullptr, false);
          if (j.is_object() && j.contains("automatically_purge") &&
              j["automatically_purge"].is_boolean()) {
            d.automatically_purge = j["automatically_purge"].get<bool>();
          }
        }));
  }

  // ---- folders ----
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoToStatus(errno, "list", path);
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat est {};
    if (::stat((path + "/" + name).c_str(), &est) == 0 && S_ISDIR(est.st_mode)) {
      d.folders.push_back(name);
    }
  }
  ::closedir(dir);
  std::sort(d.folders.begin(), d.folders.end());
  return d;
}

// ---- index_metadata.pickle ----

namespace {

Status BadIdMap(const std::string& what) {
  return DataLoss("index_metadata.pickle does not hold Chroma's id maps: " + what,
                  "Restore the file from a backup; `vecsafe recover chroma PATH --plan` can "
                  "still read ids from SQLite when they are there.");
}

}  // namespace

Result<HnswIdMaps> ParseIdMaps(std::string_view bytes) {
  VS_ASSIGN_OR_RETURN(PickleRef root, ParsePickle(bytes));
  const PickleValue* dict = root.get();
  HnswIdMaps out;
  if (root->kind == PickleValue::Kind::kObject) {
    if (!root->state || root->state->kind != PickleValue::Kind::kDict) {
      return BadIdMap("PersistentData without a state dict");
    }
    dict = root->state.get();
    out.format = "PersistentData object";
  } else if (root->kind == PickleValue::Kind::kDict) {
    out.format = "dict";
  } else {
    return BadIdMap(std::string("top-level value is a ") + std::string(root->KindName()));
  }
  if (const PickleValue* v = dict->Get("dimensionality"); v != nullptr && v->IsInt()) {
    out.dimensionality = v->i;
  }
  if (const PickleValue* v = dict->Get("total_elements_added"); v != nullptr && v->IsInt()) {
    out.total_elements_added = v->i;
  }
  if (const PickleValue* v = dict->Get("max_seq_id"); v != nullptr && v->IsInt()) {
    out.max_seq_id = v->i;
  }
  const PickleValue* i2l = dict->Get("id_to_label");
  const PickleValue* l2i = dict->Get("label_to_id");
  if (i2l == nullptr || l2i == nullptr || i2l->kind != PickleValue::Kind::kDict ||
      l2i->kind != PickleValue::Kind::kDict) {
    return BadIdMap("id_to_label / label_to_id missing or not dicts");
  }
  out.id_to_label.reserve(i2l->entries.size());
  for (const auto& [k, v] : i2l->entries) {
    if (!k->IsText() || !v->IsInt()) return BadIdMap("id_to_label entry is not str -> int");
    out.id_to_label[k->s] = v->i;
  }
  out.label_to_id.reserve(l2i->entries.size());
  for (const auto& [k, v] : l2i->entries) {
    if (!k->IsInt() || !v->IsText()) return BadIdMap("label_to_id entry is not int -> str");
    out.label_to_id[k->i] = v->s;
  }
  if (const PickleValue* s2 = dict->Get("id_to_seq_id");
      s2 != nullptr && s2->kind == PickleValue::Kind::kDict) {
    for (const auto& [k, v] : s2->entries) {
      if (k->IsText() && v->IsInt()) out.id_to_seq_id[k->s] = v->i;
    }
  }
  return out;
}

IndexSettings ReadIndexSettings(const nlohmann::json& configuration, const nlohmann::json& schema) {
  IndexSettings out;
  // The fields the 1.x API accepts for "hnsw" (it rejects unknown ones).
  static const char* const kHnswKeys[] = {"space",         "ef_construction", "ef_search",
                                          "max_neighbors", "num_threads",     "resize_factor",
                                          "batch_size",    "sync_threshold"};
  auto take_hnsw = [&](const nlohmann::json& from, const std::string& space) {
    if (!from.is_object()) return;
    nlohmann::json h = nlohmann::json::object();
    for (const char* k : kHnswKeys) {
      if (from.contains(k) && !from[k].is_null()) h[k] = from[k];
    }
    if (from.contains("M") && !from["M"].is_null()) h["max_neighbors"] = from["M"];  // 0.6
    if (!space.empty()) h["space"] = space;
    if (h.contains("space") && h["space"].is_string()) out.space = h["space"].get<std::string>();
    out.hnsw = std::move(h);
  };
  auto take_spann = [&](const nlohmann::json& from, const std::string& space) {
    if (!from.is_object()) return;
    out.spann = from;
    if (!space.empty()) out.spann["space"] = space;
    if (out.spann.contains("space") && out.spann["space"].is_string()) {
      out.space = out.spann["space"].get<std::string>();
    }
  };
  const nlohmann::json::json_pointer vi("/keys/#embedding/float_list/vector_index/config");
  if (schema.is_object() && schema.contains(vi) && schema[vi].is_object()) {
    const nlohmann::json& c = schema[vi];
    const std::string space =
        c.contains("space") && c["space"].is_string() ? c["space"].get<std::string>() : "";
    take_hnsw(c.contains("hnsw") ? c["hnsw"] : nlohmann::json(), space);
    take_spann(c.contains("spann") ? c["spann"] : nlohmann::json(), space);
    if (out.space.empty()) out.space = space;
    if (c.contains("embedding_function") && c["embedding_function"].is_object()) {
      out.embedding_function = c["embedding_function"];
    }
    out.authoritative = true;
    return out;
  }
  if (!configuration.is_object()) return out;
  if (configuration.contains("vector_index") && configuration["vector_index"].is_object()) {
    const nlohmann::json& v = configuration["vector_index"];
    take_hnsw(v.contains("hnsw") ? v["hnsw"] : nlohmann::json(), "");
    take_spann(v.contains("spann") ? v["spann"] : nlohmann::json(), "");
    out.authoritative = true;
  } else if (configuration.contains("hnsw") || configuration.contains("spann")) {
    // The 1.x API's own shape ("configuration_json").
    take_hnsw(configuration.contains("hnsw") ? configuration["hnsw"] : nlohmann::json(), "");
    take_spann(configuration.contains("spann") ? configuration["spann"] : nlohmann::json(), "");
    out.authoritative = true;
  } else if (configuration.contains("hnsw_configuration")) {
    take_hnsw(configuration["hnsw_configuration"], "");
  }
  if (configuration.contains("embedding_function") &&
      configuration["embedding_function"].is_object()) {
    out.embedding_function = configuration["embedding_function"];
  }
  return out;
}

}  // namespace vecsafe::chroma
