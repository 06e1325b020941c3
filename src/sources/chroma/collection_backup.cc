#include "sources/chroma/collection_backup.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "sources/chroma/checker.h"
#include "sources/chroma/chroma_model.h"
#include "sources/chroma/sqlite_reader.h"

namespace vecsafe::chroma {
namespace {

namespace fs = std::filesystem;

// Chroma's WAL operations (chromadb.types.Operation).
enum WalOp : int64_t { kAdd = 0, kUpdate = 1, kUpsert = 2, kDelete = 3 };
constexpr const char* kDocumentKey = "chroma:document";

struct Row {
  std::optional<std::string> document;
  nlohmann::json metadata;  // object or null
};

// The HNSW files of one vector segment, read into memory.
struct HnswState {
  bool present = false;
  HnswHeader header;
  HnswIdMaps maps;
  std::string level0;
  std::string lengths;
};

Result<HnswState> ReadHnswState(const std::string& folder) {
  HnswState st;
  if (!fs::exists(folder + "/header.bin")) return st;  // never flushed: all in the WAL
  HnswFolderFacts f = ReadHnswFolder(folder);
  if (!f.header) {
    return f.header_status.ok() ? DataLoss("header.bin unreadable in " + folder) : f.header_status;
  }
  // Chroma 1.x makes an empty index (no pickle yet) before the first flush.
  if (!f.id_maps && !f.has_pickle && f.header->cur_element_count == 0) return st;
  if (!f.id_maps) {
    return f.pickle_status.ok() ? DataLoss("index_metadata.pickle missing in " + folder)
                                : f.pickle_status;
  }
  st.present = true;
  st.header = *f.header;
  st.maps = std::move(*f.id_maps);
  VS_ASSIGN_OR_RETURN(st.level0, ReadWholeFile(folder + "/data_level0.bin"));
  auto len = ReadWholeFile(folder + "/length.bin");
  if (len.ok()) st.lengths = std::move(len).value();
  if (st.level0.size() < st.header.cur_element_count * st.header.size_data_per_element) {
    return DataLoss("data_level0.bin in " + folder + " is truncated",
                    "Run `vecsafe check chroma PATH`; restore the folder from a full snapshot.");
  }
  return st;
}

// Applies one metadata update the way Chroma's metadata segment does: null
// values remove keys, the document lives under "chroma:document".
void MergeInto(Row& row, const nlohmann::json& update, bool replace) {
  if (replace) {
    row.document.reset();
    row.metadata = nullptr;
  }
  if (!update.is_object()) return;
  for (const auto& [k, v] : update.items()) {
    if (k == kDocumentKey) {
      if (v.is_string()) {
        row.document = v.get<std::string>();
      } else if (v.is_null()) {
        row.document.reset();
      }
      continue;
    }
    if (k.rfind("chroma:", 0) == 0) continue;  // other reserved keys (uris) are not kept
    if (v.is_null()) {
      if (row.metadata.is_object()) row.metadata.erase(k);
      continue;
    }
    if (!row.metadata.is_object()) row.metadata = nlohmann::json::object();
    row.metadata[k] = v;
  }
}

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// Builds the collection from a model + its database (a copy while Chroma
// runs) and the vector segment's files.
Result<CollectionData> Assemble(const ChromaDirectory& model, SqliteReader& db,
                                const ChromaCollection& c, const HnswState& hnsw) {
  CollectionData out;
  out.name = c.name;
  out.id = c.id;
  out.tenant = c.tenant;
  out.database = c.database_name;
  out.metadata = c.metadata.is_object() ? c.metadata : nlohmann::json::object();
  out.configuration = c.configuration;
  out.schema = c.schema;
  const ChromaSegment* mseg = model.MetadataSegment(c);
  const ChromaSegment* vseg = model.VectorSegment(c);
  if (mseg == nullptr || vseg == nullptr) {
    return DataLoss("collection '" + c.name + "' has no " +
                        (mseg == nullptr ? "metadata" : "vector") + " segment",
                    "Run `vecsafe check chroma PATH` for details.");
  }
  int64_t meta_seq = mseg->max_seq_id.value_or(0);
  int64_t vec_seq = vseg->max_seq_id.value_or(0);
  if (!vseg->max_seq_id && hnsw.present && hnsw.maps.max_seq_id) vec_seq = *hnsw.maps.max_seq_id;
  if (!hnsw.present) vec_seq = 0;

  // Ids, documents and metadata of the metadata segment.
  std::map<std::string, Row> rows;
  VS_ASSIGN_OR_RETURN(bool has_bool, db.HasColumn("embedding_metadata", "bool_value"));
  VS_RETURN_IF_ERROR(db.Query(
      fmt::format("SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value, {} "
                  "FROM embeddings e LEFT JOIN embedding_metadata m ON m.id = e.id "
                  "WHERE e.segment_id = {}",
                  has_bool ? "m.bool_value" : "NULL", SqlQuote(mseg->id)),
      [&](const SqlRow& r) {
        Row& row = rows[r.Text(0)];
        if (r.IsNull(1)) return;
        const std::string key = r.Text(1);
        nlohmann::json value;
        if (!r.IsNull(5)) {
          value = r.Int(5) != 0;
        } else if (!r.IsNull(2)) {
          value = r.Text(2);
        } else if (!r.IsNull(3)) {
          value = r.Int(3);
        } else if (!r.IsNull(4)) {
          value = r.Double(4);
        }
        if (key == kDocumentKey) {
          if (value.is_string()) row.document = value.get<std::string>();
          return;
        }
        if (key.rfind("chroma:", 0) == 0) return;
        if (!row.metadata.is_object()) row.metadata = nlohmann::json::object();
        row.metadata[key] = value;
      }));

  // Vectors of the HNSW index.
  const uint64_t dim =
      hnsw.present ? hnsw.header.Dimension() : static_cast<uint64_t>(c.dimension.value_or(0));
  std::map<std::string, std::vector<float>> vectors;
  const bool cosine = [&] {
    CollectionData probe;
    probe.metadata = out.metadata;
    probe.configuration = out.configuration;
    probe.schema = out.schema;
    return probe.Space() == "cosine";
  }();
  if (hnsw.present) {
    const HnswHeader& h = hnsw.header;
    for (uint64_t i = 0; i < h.cur_element_count; ++i) {
      const HnswElement e = ReadElement(h, hnsw.level0, i);
      if (e.deleted) continue;
      auto it = hnsw.maps.label_to_id.find(static_cast<int64_t>(e.label));
      if (it == hnsw.maps.label_to_id.end()) continue;
      std::vector<float> v(dim);
      std::memcpy(v.data(), ElementVector(h, hnsw.level0, i), dim * 4);
      if (cosine && (i + 1) * 4 <= hnsw.lengths.size()) {
        // Chroma stored the unit vector and the original norm beside it.
        float len = 0;
        std::memcpy(&len, hnsw.lengths.data() + i * 4, 4);
        if (std::isfinite(len) && len > 0) {
          for (float& x : v) x *= len;
        }
      }
      vectors[it->second] = std::move(v);
    }
  }

  // The write-ahead log rows neither segment has applied yet, in order.
  int64_t wal_rows = 0;
  VS_ASSIGN_OR_RETURN(bool has_queue, db.HasTable("embeddings_queue"));
  if (has_queue) {
    const int64_t from = std::min(meta_seq, vec_seq);
    Status bad;
    VS_RETURN_IF_ERROR(db.Query(
        fmt::format("SELECT seq_id, operation, id, vector, encoding, metadata FROM "
                    "embeddings_queue WHERE (topic = {} OR topic LIKE {}) AND seq_id > {} "
                    "ORDER BY seq_id",
                    SqlQuote(c.id), SqlQuote("%/" + c.id), from),
        [&](const SqlRow& r) {
          const int64_t seq = r.Int(0);
          const int64_t op = r.Int(1);
          const std::string id = r.Text(2);
          ++wal_rows;
          if (seq > meta_seq) {
            nlohmann::json meta =
                r.IsNull(5) ? nlohmann::json() : nlohmann::json::parse(r.Text(5), nullptr, false);
            auto it = rows.find(id);
            if (op == kDelete) {
              rows.erase(id);
            } else if (op == kAdd) {
              if (it == rows.end()) MergeInto(rows[id], meta, true);
            } else if (op == kUpdate) {
              if (it != rows.end()) MergeInto(it->second, meta, false);
            } else if (op == kUpsert) {
              MergeInto(rows[id], meta, false);
            }
          }
          if (seq > vec_seq) {
            std::optional<std::vector<float>> v;
            if (!r.IsNull(3)) {
              const std::string_view blob = r.Blob(3);
              const std::string enc = r.IsNull(4) ? "FLOAT32" : r.Text(4);
              if (enc != "FLOAT32" || blob.size() % 4 != 0 ||
                  (dim != 0 && blob.size() != dim * 4)) {
                bad =
                    DataLoss(fmt::format("WAL row {} of '{}' has a vector of {} bytes ({}), "
                                         "expected {} float32",
                                         seq, c.name, blob.size(), enc, dim));
                return;
              }
              v.emplace(blob.size() / 4);
              std::memcpy(v->data(), blob.data(), blob.size());
            }
            const bool exists = vectors.count(id) != 0;
            if (op == kDelete) {
              vectors.erase(id);
            } else if ((op == kAdd && !exists) || (op == kUpdate && exists) || op == kUpsert) {
              if (v) vectors[id] = std::move(*v);
            }
          }
        }));
    VS_RETURN_IF_ERROR(bad);
  }

  out.dimension = static_cast<int64_t>(dim);
  for (auto& [id, row] : rows) {
    auto v = vectors.find(id);
    if (v == vectors.end()) {
      return DataLoss(fmt::format("record '{}' of collection '{}' has no vector in the HNSW "
                                  "index nor in the write-ahead log",
                                  id, c.name),
                      "Run `vecsafe check chroma PATH`; back up the whole folder instead.");
    }
    if (out.dimension == 0) out.dimension = static_cast<int64_t>(v->second.size());
    out.records.ids.push_back(id);
    out.records.embeddings.push_back(std::move(v->second));
    out.records.documents.push_back(std::move(row.document));
    out.records.metadatas.push_back(std::move(row.metadata));
  }
  out.source = {{"chroma_schema", model.schema_label},
                {"chroma_version_line", model.version_hint},
                {"metadata_max_seq_id", meta_seq},
                {"vector_max_seq_id", vec_seq},
                {"hnsw_elements", hnsw.present ? hnsw.header.cur_element_count : 0},
                {"wal_rows_replayed", wal_rows}};
  return out;
}

Status UnknownCollection(const ChromaDirectory& d, const std::string& name) {
  std::string names;
  for (size_t i = 0; i < d.collections.size() && i < 20; ++i) {
    names += (i ? ", " : "") + d.collections[i].name;
  }
  if (d.collections.size() > 20) names += ", ...";
  return NotFound("no collection '" + name + "' in " + d.path,
                  d.collections.empty() ? "This Chroma folder has no collections."
                                        : "Collections there: " + names + ".");
}

void Append(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);
}

Status WriteFile(SnapshotBuilder& b, const std::string& path, const std::string& bytes) {
  EntryMeta m;
  m.path = path;
  m.mode = 0644;
  m.size = bytes.size();
  m.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  VS_ASSIGN_OR_RETURN(auto sink, b.BeginFile(m));
  for (size_t off = 0; off < bytes.size(); off += 1 << 20) {
    VS_RETURN_IF_ERROR(sink->Append(std::string_view(bytes).substr(off, 1 << 20)));
  }
  return sink->Close().status();
}

Result<std::string> ReadSnapshotFile(Repository& repo, const Manifest& m, const std::string& p) {
  VS_ASSIGN_OR_RETURN(auto reader, repo.OpenFile(m, p));
  std::string out;
  out.resize(reader->size());
  size_t off = 0;
  while (off < out.size()) {
    VS_ASSIGN_OR_RETURN(size_t n, reader->Read(out.data() + off, out.size() - off));
    if (n == 0) break;
    off += n;
  }
  if (off != out.size()) return DataLoss(p + " of snapshot " + m.ShortId() + " is short");
  return out;
}

}  // namespace

std::string CollectionData::Space() const {
  const IndexSettings settings = ReadIndexSettings(configuration, schema);
  // 1.x builds the index from its configuration, whatever the metadata says.
  if (settings.authoritative && !settings.space.empty()) return settings.space;
  if (metadata.is_object() && metadata.contains("hnsw:space") &&
      metadata["hnsw:space"].is_string()) {
    return metadata["hnsw:space"].get<std::string>();
  }
  return settings.space.empty() ? "l2" : settings.space;
}

CreateRequest MakeCreateRequest(const CollectionData& data, int api_version) {
  CreateRequest req;
  if (data.metadata.is_object()) req.metadata = data.metadata;
  const IndexSettings s = ReadIndexSettings(data.configuration, data.schema);
  nlohmann::json configuration = nlohmann::json::object();
  if (s.spann.is_object()) {
    configuration["spann"] = s.spann;
  } else if (s.hnsw.is_object()) {
    configuration["hnsw"] = s.hnsw;
  }
  if (s.embedding_function.is_object()) configuration["embedding_function"] = s.embedding_function;
  // Only 1.x settings decide the index; a 0.6 configuration holds defaults
  // where its metadata set the parameters, so 0.4-0.6 go the legacy way.
  if (api_version >= 2 && s.authoritative) {
    if (data.schema.is_object() && !data.schema.empty()) {
      req.settings["schema"] = data.schema;
      if (!configuration.empty()) req.fallback["configuration"] = configuration;
    } else if (!configuration.empty()) {
      req.settings["configuration"] = configuration;
    }
    return req;
  }
  // The 0.4-0.6 names of the HNSW parameters, in collection metadata.
  static const std::pair<const char*, const char*> kLegacy[] = {
      {"ef_construction", "hnsw:construction_ef"},
      {"ef_search", "hnsw:search_ef"},
      {"max_neighbors", "hnsw:M"},
      {"num_threads", "hnsw:num_threads"},
      {"resize_factor", "hnsw:resize_factor"},
      {"batch_size", "hnsw:batch_size"},
      {"sync_threshold", "hnsw:sync_threshold"}};
  if (!req.metadata.contains("hnsw:space")) req.metadata["hnsw:space"] = data.Space();
  // A 0.4-0.6 collection's metadata already holds what decided its index
  // (its configuration only defaults): it goes back exactly as it was.
  if (s.authoritative && s.hnsw.is_object()) {
    for (const auto& [from, to] : kLegacy) {
      if (s.hnsw.contains(from) && !req.metadata.contains(to)) req.metadata[to] = s.hnsw[from];
    }
  }
  return req;
}

Result<CollectionData> ReadCollection(const std::string& path, const std::string& name,
                                      const ReadCollectionOptions& options) {
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).lexically_normal().string();
  VS_ASSIGN_OR_RETURN(ChromaDirectory probe, LoadChromaDirectory(abs));
  const ChromaCollection* pc = probe.FindCollection(name);
  if (pc == nullptr) return UnknownCollection(probe, name);
  const std::string db_file = abs + "/" + kSqliteFile;
  // Always through a copy, also when no process seems to have the database
  // open: Chroma may run where /proc does not show it (another container).
  const bool live = !ProcessesWithFileOpen(db_file).empty();
  const HotCopyOptions& o = options.copy;
  VS_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Make(o.temp_dir));
  const std::string staged = tmp.path() + "/" + kSqliteFile;
  const int attempts = std::max(1, o.max_attempts);
  std::string why;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    // The same checks as the full hot backup (hot_backup.h), for one folder.
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    const ChromaSegment* pv = probe.VectorSegment(*pc);
    const std::string folder = abs + "/" + (pv ? pv->id : std::string("-"));
    const FolderStamp before = StampFolderForChanges(folder);
    VS_ASSIGN_OR_RETURN(bool no_writer, WaitForNoSqliteWriter(db_file, o.writer_wait_ms));
    if (!no_writer) {
      why = fmt::format("a write transaction stayed open for {} ms", o.writer_wait_ms);
      continue;
    }
    VS_RETURN_IF_ERROR(CopySqliteOnline(db_file, staged, o));
    VS_ASSIGN_OR_RETURN(ChromaDirectory model, LoadChromaDirectory(tmp.path()));
    const ChromaCollection* c = model.FindCollection(pc->id);
    if (c == nullptr) {
      return NotFound("collection '" + name + "' was deleted while it was being read",
                      "It is gone from Chroma; restore it from an earlier snapshot.");
    }
    const ChromaSegment* vseg = model.VectorSegment(*c);
    if ((vseg == nullptr) != (pv == nullptr) || (vseg != nullptr && vseg->id != pv->id)) {
      why = "the collection's segments changed";
      continue;
    }
    auto hnsw = ReadHnswState(folder);
    if (StampFolder(folder) != before) {
      why = "the HNSW files changed while they were read";
      continue;
    }
    if (!hnsw.ok()) return hnsw.status();
    VS_ASSIGN_OR_RETURN(auto live_seq, VectorMaxSeqIds(db_file));
    VS_ASSIGN_OR_RETURN(auto copy_seq, VectorMaxSeqIds(staged));
    if (vseg != nullptr && live_seq[vseg->id] != copy_seq[vseg->id]) {
      why = fmt::format("max_seq_id moved from {} to {}", copy_seq[vseg->id], live_seq[vseg->id]);
      continue;
    }
    VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(staged));
    VS_ASSIGN_OR_RETURN(CollectionData data, Assemble(model, *db, *c, *hnsw));
    data.source["path"] = abs;
    data.source["chroma_running"] = live;
    data.source["read_attempts"] = attempt;
    return data;
  }
  return Aborted(fmt::format("collection '{}' kept changing during {} read attempts (last: {})",
                             name, attempts, why),
                 "Chroma is flushing this collection continuously; retry later.");
}

Result<Manifest> BackupCollection(Repository& repo, const std::string& path,
                                  const std::string& name, const CollectionBackupOptions& options) {
  VS_ASSIGN_OR_RETURN(CollectionData data, ReadCollection(path, name, options.read));
  const size_t n = data.records.ids.size();
  nlohmann::json header = {{"vecsafe_chroma_collection", kCollectionFormatVersion},
                           {"name", data.name},
                           {"id", data.id},
                           {"tenant", data.tenant},
                           {"database", data.database},
                           {"dimension", data.dimension},
                           {"count", n},
                           {"space", data.Space()},
                           {"metadata", data.metadata},
                           {"configuration", data.configuration},
                           {"schema", data.schema},
                           {"source", data.source}};
  std::string records;
  std::string vectors;
  vectors.reserve(n * static_cast<size_t>(data.dimension) * 4);
  for (size_t i = 0; i < n; ++i) {
    nlohmann::json line = {
        {"id", data.records.ids[i]},
        {"document",
         data.records.documents[i] ? nlohmann::json(*data.records.documents[i]) : nlohmann::json()},
        {"metadata", data.records.metadatas[i]}};
    records += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    records += '\n';
    const auto& v = data.records.embeddings[i];
    if (static_cast<int64_t>(v.size()) != data.dimension) {
      return DataLoss(fmt::format("record '{}' has {} dimensions, the collection {}",
                                  data.records.ids[i], v.size(), data.dimension));
    }
    Append(vectors, v.data(), v.size() * 4);  // little-endian hosts only (x86-64, arm64)
  }
  SnapshotSpec spec;
  spec.source_kind = "chroma";
  spec.source = {
      {"path", data.source.value("path", path)}, {"collection", data.name}, {"kind", "collection"}};
  spec.tags = options.tags;
  VS_ASSIGN_OR_RETURN(auto builder, repo.NewSnapshot(spec));
  VS_RETURN_IF_ERROR(WriteFile(*builder, kCollectionJson, header.dump(2) + "\n"));
  VS_RETURN_IF_ERROR(WriteFile(*builder, kEmbeddingsF32, vectors));
  VS_RETURN_IF_ERROR(WriteFile(*builder, kRecordsJsonl, records));
  nlohmann::json info = spec.source;
  info["collection_id"] = data.id;
  info["count"] = n;
  info["dimension"] = data.dimension;
  info["chroma_schema"] = data.source.value("chroma_schema", "");
  info["chroma_version_line"] = data.source.value("chroma_version_line", "");
  info["chroma_running"] = data.source.value("chroma_running", false);
  info["read_attempts"] = data.source.value("read_attempts", 1);
  builder->SetSourceInfo(info);
  return builder->Commit();
}

bool IsCollectionSnapshot(const Manifest& m) {
  return m.source_kind == "chroma" && m.source.is_object() && m.source.contains("collection") &&
         m.Find(kCollectionJson) != nullptr;
}

Result<CollectionData> LoadCollectionSnapshot(Repository& repo, const Manifest& m) {
  if (!IsCollectionSnapshot(m)) {
    return InvalidArgument("snapshot " + m.ShortId() + " is not a Chroma collection snapshot",
                           "Take one with `vecsafe backup chroma PATH --collection NAME`; a "
                           "full Chroma snapshot is restored with --to FOLDER.");
  }
  VS_ASSIGN_OR_RETURN(std::string hj, ReadSnapshotFile(repo, m, kCollectionJson));
  auto h = nlohmann::json::parse(hj, nullptr, false);
  if (!h.is_object() || h.value("vecsafe_chroma_collection", 0) != kCollectionFormatVersion ||
      !h.contains("name") || !h["name"].is_string() || !h.contains("dimension") ||
      !h["dimension"].is_number_integer() || !h.contains("count") ||
      !h["count"].is_number_integer()) {
    return DataLoss("collection.json of snapshot " + m.ShortId() + " is not understood",
                    "It was written by another vecsafe version or is damaged.");
  }
  CollectionData d;
  d.name = h["name"].get<std::string>();
  d.id = h.value("id", "");
  d.tenant = h.value("tenant", "");
  d.database = h.value("database", "");
  d.dimension = h["dimension"].get<int64_t>();
  d.metadata = h.contains("metadata") && h["metadata"].is_object() ? h["metadata"]
                                                                   : nlohmann::json::object();
  d.configuration = h.contains("configuration") ? h["configuration"] : nlohmann::json();
  d.schema = h.contains("schema") ? h["schema"] : nlohmann::json();  // absent before 1.x schemas
  d.source = h.contains("source") ? h["source"] : nlohmann::json::object();
  const int64_t count = h["count"].get<int64_t>();
  VS_ASSIGN_OR_RETURN(std::string vectors, ReadSnapshotFile(repo, m, kEmbeddingsF32));
  VS_ASSIGN_OR_RETURN(std::string records, ReadSnapshotFile(repo, m, kRecordsJsonl));
  if (d.dimension < 0 || vectors.size() != static_cast<size_t>(count * d.dimension * 4)) {
    return DataLoss(
        fmt::format("embeddings.f32 of snapshot {} has {} bytes, expected {} x {} "
                    "float32",
                    m.ShortId(), vectors.size(), count, d.dimension));
  }
  size_t pos = 0;
  for (int64_t i = 0; i < count; ++i) {
    const size_t nl = records.find('\n', pos);
    if (nl == std::string::npos) {
      return DataLoss(fmt::format("records.jsonl of snapshot {} ends after {} of {} records",
                                  m.ShortId(), i, count));
    }
    auto line =
        nlohmann::json::parse(std::string_view(records).substr(pos, nl - pos), nullptr, false);
    pos = nl + 1;
    if (!line.is_object() || !line.contains("id") || !line["id"].is_string()) {
      return DataLoss(
          fmt::format("records.jsonl line {} of snapshot {} is damaged", i + 1, m.ShortId()));
    }
    d.records.ids.push_back(line["id"].get<std::string>());
    const auto& doc = line.contains("document") ? line["document"] : nlohmann::json();
    d.records.documents.push_back(doc.is_string() ? std::optional(doc.get<std::string>())
                                                  : std::nullopt);
    d.records.metadatas.push_back(line.contains("metadata") ? line["metadata"] : nlohmann::json());
    std::vector<float> v(static_cast<size_t>(d.dimension));
    std::memcpy(v.data(), vectors.data() + static_cast<size_t>(i * d.dimension * 4), v.size() * 4);
    d.records.embeddings.push_back(std::move(v));
  }
  return d;
}

Result<CollectionRestoreResult> RestoreCollectionToServer(const CollectionData& data,
                                                          const std::string& url,
                                                          const CollectionRestoreOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  CollectionRestoreResult res;
  res.name = options.as_name.empty() ? data.name : options.as_name;
  VS_RETURN_IF_ERROR(ValidateCollectionName(res.name));
  VS_ASSIGN_OR_RETURN(auto http, ChromaHttp::Connect(url, options.tenant, options.database));
  res.api_version = http->api_version();
  auto server_version = http->ServerVersion();
  if (server_version.ok()) res.server_version = *server_version;
  // Refuse before touching anything when the name is taken.
  auto existing = http->GetCollection(res.name);
  if (existing.ok()) {
    return AlreadyExists(
        "a collection named '" + res.name + "' already exists at " + url,
        "Restore under another name with --as NEW_NAME, or delete the existing collection first.");
  }
  if (existing.status().code() != ErrorCode::kNotFound &&
      existing.status().code() != ErrorCode::kInvalidArgument) {
    return existing.status();
  }
  const CreateRequest create = MakeCreateRequest(data, http->api_version());
  auto made = http->CreateCollection(res.name, create.metadata, create.settings);
  const bool schema_sent = create.settings.contains("schema") && !create.fallback.empty();
  if (schema_sent && made.ok() && !made->has_schema) {
    // A 1.x server from before collection schemas ignored it: remake the
    // (still empty) collection with the same settings as a configuration.
    VS_RETURN_IF_ERROR(http->DeleteCollection(res.name));
    made = http->CreateCollection(res.name, create.metadata, create.fallback);
    res.index_settings = "configuration";
  } else if (schema_sent && !made.ok() && made.status().code() == ErrorCode::kInvalidArgument) {
    // A server that refuses the schema: the same settings as a configuration.
    made = http->CreateCollection(res.name, create.metadata, create.fallback);
    res.index_settings = "configuration";
  } else {
    res.index_settings = create.settings.contains("schema")          ? "schema"
                         : create.settings.contains("configuration") ? "configuration"
                                                                     : "metadata";
  }
  if (!made.ok()) return made.status();
  RemoteCollection rc = std::move(made).value();
  const auto& r = data.records;
  const size_t batch = std::max<size_t>(1, options.batch_size);
  Status failed;
  for (size_t start = 0; start < r.ids.size() && failed.ok(); start += batch) {
    const size_t end = std::min(r.ids.size(), start + batch);
    RecordBatch b;
    b.ids.assign(r.ids.begin() + start, r.ids.begin() + end);
    b.embeddings.assign(r.embeddings.begin() + start, r.embeddings.begin() + end);
    bool any_doc = false;
    bool any_meta = false;
    for (size_t k = start; k < end; ++k) {
      any_doc |= r.documents[k].has_value();
      any_meta |= r.metadatas[k].is_object() && !r.metadatas[k].empty();
    }
    if (any_doc) b.documents.assign(r.documents.begin() + start, r.documents.begin() + end);
    if (any_meta) {
      for (size_t k = start; k < end; ++k) {
        // Chroma rejects empty metadata dicts; send null instead.
        const auto& m = r.metadatas[k];
        b.metadatas.push_back(m.is_object() && !m.empty() ? m : nlohmann::json());
      }
    }
    failed = http->Add(rc, b);
  }
  if (failed.ok()) {
    auto count = http->Count(rc);
    if (!count.ok()) {
      failed = count.status();
    } else if (*count != static_cast<int64_t>(r.ids.size())) {
      failed = DataLoss(fmt::format("collection '{}' has {} records after the upload, expected {}",
                                    res.name, *count, r.ids.size()),
                        "Check the Chroma server's log.");
    } else {
      res.count = *count;
    }
  }
  if (!failed.ok()) {
    // Leave nothing half-made behind.
    Status del = http->DeleteCollection(res.name);
    return Status(failed.code(),
                  failed.message() + (del.ok() ? "; the partial collection was deleted"
                                               : "; the partial collection could not be "
                                                 "deleted: " +
                                                     del.message()),
                  failed.hint());
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace vecsafe::chroma
