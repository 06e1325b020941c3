#include "sources/chroma/checker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "sources/chroma/sqlite_reader.h"

namespace vecsafe::chroma {
namespace {

const std::vector<FindingKind> kKinds = {
    {"SQLITE_CORRUPT", Severity::kCritical, false,
     "PRAGMA quick_check/integrity_check reports damage in chroma.sqlite3"},
    {"SQLITE_UNREADABLE", Severity::kCritical, false,
     "a table Chroma needs could not be read; the rest of the check is partial"},
    {"NEWER_SCHEMA", Severity::kWarning, false,
     "chroma.sqlite3 has migrations this vecsafe does not know; read-only checks ran as far as "
     "they could"},
    {"HOT_JOURNAL", Severity::kInfo, false,
     "chroma.sqlite3-journal exists: a write was interrupted or is in progress"},
    {"COLLECTION_WITHOUT_SEGMENTS", Severity::kError, false,
     "a collection row has no segment rows, so Chroma cannot read or write it"},
    {"COLLECTION_MISSING_SEGMENT", Severity::kError, false,
     "a collection lacks its vector or its metadata segment"},
    {"SEGMENT_WITHOUT_COLLECTION", Severity::kWarning, false,
     "a segment row names a collection that does not exist"},
    {"ORPHAN_RECORDS", Severity::kWarning, false,
     "rows in `embeddings` belong to a segment that no longer exists (documents and metadata of "
     "a deleted collection, recoverable with `vecsafe recover`)"},
    {"ORPHAN_VECTOR_FOLDER", Severity::kWarning, true,
     "an HNSW folder has no segment row (Chroma 1.0.15+ leaves one after every delete); it holds "
     "ids and vectors that `vecsafe recover` can bring back"},
    {"UNKNOWN_FOLDER", Severity::kInfo, false,
     "a folder that is neither a segment folder nor known leftovers"},
    {"LEFTOVER_FOLDER", Severity::kInfo, true, "a temporary or backup folder left behind"},
    {"MISSING_VECTOR_FOLDER", Severity::kError, false,
     "a vector segment holds records but its HNSW folder is missing"},
    {"MISSING_HNSW_FILE", Severity::kError, false,
     "one of header.bin, data_level0.bin, length.bin, link_lists.bin is missing"},
    {"HNSW_HEADER_DAMAGED", Severity::kCritical, false, "header.bin cannot be decoded"},
    {"LEVEL0_TRUNCATED", Severity::kCritical, false,
     "data_level0.bin is shorter than the header's element count needs"},
    {"LENGTH_TRUNCATED", Severity::kError, false,
     "length.bin is shorter than the header's element count needs"},
    {"LINK_LISTS_TRUNCATED", Severity::kError, false,
     "link_lists.bin ends inside an element's link list or lacks elements"},
    {"PICKLE_MISSING", Severity::kCritical, false,
     "the index holds vectors but index_metadata.pickle (labels -> ids) is missing"},
    {"PICKLE_DAMAGED", Severity::kCritical, false,
     "index_metadata.pickle is truncated or not Chroma's id maps"},
    {"ID_MAPS_DISAGREE", Severity::kError, false,
     "id_to_label and label_to_id in the pickle are not inverse of each other"},
    {"LABELS_DISAGREE", Severity::kError, false,
     "labels of live elements in data_level0.bin differ from the pickle's labels"},
    {"DIMENSION_MISMATCH", Severity::kError, false,
     "the collection's dimension, the HNSW record layout and the pickle disagree"},
    {"COUNT_MISMATCH", Severity::kError, false,
     "the metadata segment's record count differs from the HNSW index plus the unflushed WAL"},
    {"WAL_BELOW_PURGE_POINT", Severity::kWarning, true,
     "WAL rows every segment has already applied (Chroma's purge rule would delete them)"},
    {"PURGE_DISABLED", Severity::kWarning, true,
     "automatic WAL purge is switched off, so the WAL grows without bound"},
    {"WAL_ORPHAN_ROWS", Severity::kInfo, true, "WAL rows whose collection no longer exists"},
    {"FTS_DRIFT", Severity::kWarning, true,
     "the full-text index does not match the stored documents"},
    {"VECTOR_NOT_FINITE", Severity::kError, false,
     "a stored vector has NaN or infinite components"},
    {"NORM_MISMATCH", Severity::kWarning, false,
     "a normalizing (cosine) index holds a vector whose norm is not 1, or length.bin holds an "
     "impossible norm"},
    {"SQLITE_FREE_PAGES", Severity::kInfo, true,
     "at least a quarter of chroma.sqlite3 (and 1 MiB or more) is free pages, e.g. after "
     "deletes or a WAL purge; VACUUM gives the space back"},
};

const FindingKind& Kind(std::string_view code) {
  for (const auto& k : kKinds) {
    if (code == k.code) return k;
  }
  return kKinds[1];
}

bool FileSize(const std::string& file, uint64_t* size) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  *size = static_cast<uint64_t>(st.st_size);
  return true;
}

std::string SpaceOf(const ChromaDirectory& d, const ChromaCollection& c) {
  const IndexSettings settings = ReadIndexSettings(c.configuration, c.schema);
  // 1.x builds the index from its configuration, whatever the metadata says.
  if (settings.authoritative && !settings.space.empty()) return settings.space;
  if (const ChromaSegment* v = d.VectorSegment(c)) {
    if (v->metadata.contains("hnsw:space") && v->metadata["hnsw:space"].is_string()) {
      return v->metadata["hnsw:space"].get<std::string>();
    }
  }
  if (c.metadata.contains("hnsw:space") && c.metadata["hnsw:space"].is_string()) {
    return c.metadata["hnsw:space"].get<std::string>();
  }
  return settings.space.empty() ? "l2" : settings.space;
}

struct WalRow {
  int64_t seq = 0;
  int op = 0;  // 0 add, 1 update, 2 upsert, 3 delete
  std::string id;
};

class Checker {
 public:
  Checker(std::string path, CheckOptions options) : path_(std::move(path)), options_(options) {}

  Result<CheckReport> Run() {
    const auto start = std::chrono::steady_clock::now();
    report_.path = path_;
    auto loaded = LoadChromaDirectory(path_);
    if (!loaded.ok()) {
      if (loaded.status().code() != ErrorCode::kDataLoss) return loaded.status();
      // The directory is Chroma's but SQLite is damaged: say exactly how.
      VS_RETURN_IF_ERROR(CheckIntegrity(/*force_full=*/true));
      Add("SQLITE_UNREADABLE", "", "", loaded.status().message(), {},
          "Restore chroma.sqlite3 from a backup (`vecsafe restore`); the HNSW folders were not "
          "checked because their segment rows could not be read.");
      Finish(start);
      return std::move(report_);
    }
    d_ = std::move(loaded).value();
    report_.schema = d_.schema_label;
    report_.version_hint = d_.version_hint;
    report_.newer_schema = d_.schema == SchemaSupport::kNewer;
    report_.collections = d_.collections.size();
    report_.folders = d_.folders.size();
    if (report_.newer_schema) {
      Add("NEWER_SCHEMA", "", "",
          fmt::format("{} unknown migration(s), e.g. {}", d_.unknown_migrations.size(),
                      d_.unknown_migrations.front()),
          {{"unknown_migrations", d_.unknown_migrations}},
          "Upgrade vecsafe to a release that knows this Chroma version; until then only "
          "read-only commands run.");
    }
    VS_RETURN_IF_ERROR(CheckIntegrity(options_.deep));
    CheckHotJournal();
    CheckCatalog();
    Status s = LoadWal();
    if (!s.ok()) {
      Add("SQLITE_UNREADABLE", "", "", s.message(), {}, "Restore chroma.sqlite3 from a backup.");
    }
    CheckFolders();
    for (const auto& c : d_.collections) CheckCollection(c);
    CheckWalPurge();
    s = CheckFts();
    if (!s.ok()) {
      Add("SQLITE_UNREADABLE", "", "", s.message(), {}, "Restore chroma.sqlite3 from a backup.");
    }
    Finish(start);
    return std::move(report_);
  }

 private:
  void Finish(std::chrono::steady_clock::time_point start) {
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::stable_sort(report_.findings.begin(), report_.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  }

  void Add(std::string_view code, std::string collection, std::string segment, std::string message,
           nlohmann::json evidence, std::string fix) {
    const FindingKind& k = Kind(code);
    Finding f;
    f.code = k.code;
    f.severity = k.severity;
    f.repairable = k.repairable;
    f.collection = std::move(collection);
    f.segment = std::move(segment);
    f.message = std::move(message);
    f.evidence = evidence.is_null() ? nlohmann::json::object() : std::move(evidence);
    f.fix = std::move(fix);
    report_.findings.push_back(std::move(f));
  }

  Status CheckIntegrity(bool full) {
    auto db = SqliteReader::Open(path_ + "/" + kSqliteFile);
    if (!db.ok()) {
      if (db.status().code() == ErrorCode::kDataLoss) {
        Add("SQLITE_CORRUPT", "", "", db.status().message(), {},
            "Restore chroma.sqlite3 from a backup.");
        return Status::OK();
      }
      return db.status();
    }
    std::vector<std::string> problems;
    Status s =
        (*db)->Query(full ? "PRAGMA integrity_check" : "PRAGMA quick_check", [&](const SqlRow& r) {
          std::string line = r.Text(0);
          if (line != "ok" && problems.size() < 20) problems.push_back(line);
        });
    if (!s.ok() && s.code() != ErrorCode::kDataLoss) return s;
    if (!s.ok()) problems.push_back(s.message());
    if (problems.empty()) CheckFreePages(**db);
    if (!problems.empty()) {
      Add("SQLITE_CORRUPT", "", "",
          fmt::format("{} reports {} problem(s): {}", full ? "integrity_check" : "quick_check",
                      problems.size(), problems.front()),
          {{"problems", problems}},
          "Stop Chroma and restore chroma.sqlite3 from a backup (`vecsafe restore`); `sqlite3 "
          "chroma.sqlite3 .recover` can salvage rows when no backup exists.");
    }
    return Status::OK();
  }

  // Free pages worth a VACUUM: a quarter of the file and at least 1 MiB.
  void CheckFreePages(SqliteReader& db) {
    int64_t page_size = 0, pages = 0, free_pages = 0;
    auto one = [&db](const char* pragma, int64_t* out) {
      return db.Query(pragma, [out](const SqlRow& r) { *out = r.Int(0); });
    };
    if (!one("PRAGMA page_size", &page_size).ok() || !one("PRAGMA page_count", &pages).ok() ||
        !one("PRAGMA freelist_count", &free_pages).ok()) {
      return;
    }
    const int64_t free_bytes = free_pages * page_size;
    if (free_bytes >= (int64_t{1} << 20) && free_pages * 4 >= pages) {
      Add("SQLITE_FREE_PAGES", "", "",
          fmt::format("{} of {} pages of chroma.sqlite3 are free ({} bytes)", free_pages, pages,
                      free_bytes),
          {{"free_pages", free_pages},
           {"page_count", pages},
           {"page_size", page_size},
           {"free_bytes", free_bytes}},
          "`vecsafe repair chroma PATH` (Chroma stopped) compacts the file with VACUUM after "
          "checking free space.");
    }
  }

  void CheckHotJournal() {
    uint64_t size = 0;
    if (FileSize(path_ + "/" + kSqliteFile + "-journal", &size) && size > 0) {
      Add("HOT_JOURNAL", "", "", fmt::format("chroma.sqlite3-journal exists ({} bytes)", size),
          {{"bytes", size}},
          "If Chroma is not running, the next open by Chroma rolls the interrupted write back; "
          "nothing to do.");
    }
  }

  void CheckCatalog() {
    for (const auto& c : d_.collections) {
      if (c.segments.empty()) {
        Add("COLLECTION_WITHOUT_SEGMENTS", c.name, "",
            fmt::format("collection '{}' ({}) has no segments", c.name, c.id),
            {{"collection_id", c.id}},
            "Back up, then delete and recreate the collection (its records, if any, are in "
            "orphan folders or orphan records: see `vecsafe recover chroma PATH --plan`).");
        continue;
      }
      const bool has_vector = d_.VectorSegment(c) != nullptr;
      const bool has_meta = d_.MetadataSegment(c) != nullptr;
      if (!has_vector || !has_meta) {
        Add("COLLECTION_MISSING_SEGMENT", c.name, "",
            fmt::format("collection '{}' has no {} segment", c.name,
                        has_vector ? "metadata" : "vector"),
            {{"collection_id", c.id}, {"segments", c.segments.size()}},
            "Recreate the collection from a per-collection backup (`vecsafe restore SNAP "
            "--to-chroma URL`).");
      }
    }
    for (const auto& s : d_.segments) {
      if (!s.collection_exists) {
        Add("SEGMENT_WITHOUT_COLLECTION", "", s.id,
            fmt::format("{} segment {} names collection {} which does not exist", s.scope, s.id,
                        s.collection_id),
            {{"collection_id", s.collection_id}, {"type", s.type}},
            "Recover its data with `vecsafe recover chroma PATH --plan`.");
      }
      if (s.IsVector()) ++report_.vector_segments;
    }
    // Records left by deleted collections (0.4-0.6 keep them).
    auto db = SqliteReader::Open(path_ + "/" + kSqliteFile);
    if (!db.ok()) return;
    Status st = (*db)->Query(
        "SELECT segment_id, count(*) FROM embeddings WHERE segment_id NOT IN "
        "(SELECT id FROM segments) GROUP BY segment_id",
        [&](const SqlRow& r) {
          Add("ORPHAN_RECORDS", "", r.Text(0),
              fmt::format("{} records of deleted segment {} are still in chroma.sqlite3", r.Int(1),
                          r.Text(0)),
              {{"records", r.Int(1)}},
              "Bring them back with `vecsafe recover chroma PATH --plan`, or ignore them.");
        });
    if (!st.ok()) {
      Add("SQLITE_UNREADABLE", "", "", st.message(), {}, "Restore chroma.sqlite3 from a backup.");
    }
  }

  Status LoadWal() {
    VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(path_ + "/" + kSqliteFile));
    VS_ASSIGN_OR_RETURN(bool has_queue, db->HasTable("embeddings_queue"));
    if (!has_queue) return Status::OK();
    // Only rows some segment may not have applied are interesting; they are
    // few because Chroma purges the rest (0.5+).
    return db->Query("SELECT topic, seq_id, operation, id FROM embeddings_queue ORDER BY seq_id",
                     [&](const SqlRow& r) {
                       std::string topic = r.Text(0);
                       const size_t slash = topic.rfind('/');
                       std::string cid =
                           slash == std::string::npos ? topic : topic.substr(slash + 1);
                       wal_[cid].push_back({r.Int(1), static_cast<int>(r.Int(2)), r.Text(3)});
                     });
  }

  void CheckFolders() {
    std::unordered_set<std::string> segment_ids;
    for (const auto& s : d_.segments) segment_ids.insert(s.id);
    for (const auto& name : d_.folders) {
      const std::string full = path_ + "/" + name;
      if (IsUuid(name)) {
        if (segment_ids.count(name) != 0) continue;
        HnswFolderFacts f = ReadHnswFolder(full);
        if (f.has_header || f.has_level0 || f.has_pickle) {
          nlohmann::json ev = {{"folder", name}};
          if (f.header) {
            ev["elements"] = f.header->cur_element_count;
            ev["dimension"] = f.header->Dimension();
          }
          if (f.id_maps) ev["ids"] = f.id_maps->id_to_label.size();
          Add("ORPHAN_VECTOR_FOLDER", "", name,
              fmt::format("HNSW folder {} has no segment row{}", name,
                          f.id_maps
                              ? fmt::format(" ({} ids recoverable)", f.id_maps->id_to_label.size())
                              : ""),
              ev,
              "Recover it with `vecsafe recover chroma PATH --plan` then `--execute`; or let "
              "`vecsafe repair chroma PATH` move it to quarantine.");
        } else {
          Add("UNKNOWN_FOLDER", "", name,
              fmt::format("folder {} looks like a segment folder but holds no HNSW files", name),
              {{"folder", name}}, "Inspect it; Chroma does not use it.");
        }
        continue;
      }
      const bool leftover = name.ends_with(".tmp") || name.ends_with(".bak") ||
                            name.ends_with(".old") || name.find("backup") != std::string::npos ||
                            name.starts_with("tmp") || name.starts_with(".tmp");
      if (leftover) {
        Add("LEFTOVER_FOLDER", "", name, fmt::format("leftover folder {}", name),
            {{"folder", name}}, "`vecsafe repair chroma PATH` moves it to quarantine.");
      } else {
        Add("UNKNOWN_FOLDER", "", name, fmt::format("unexpected folder {}", name),
            {{"folder", name}}, "Inspect it; Chroma does not use it.");
      }
    }
  }

  void CheckCollection(const ChromaCollection& c) {
    const ChromaSegment* vs = d_.VectorSegment(c);
    if (vs == nullptr) return;
    const std::string folder = path_ + "/" + vs->id;
    HnswFolderFacts f = ReadHnswFolder(folder);
    const auto& wal = wal_[c.id];
    if (!f.exists) {
      if (c.stored_records > 0 || vs->max_seq_id.has_value()) {
        Add("MISSING_VECTOR_FOLDER", c.name, vs->id,
            fmt::format("collection '{}' has {} records but its HNSW folder {} is missing", c.name,
                        c.stored_records, vs->id),
            {{"records", c.stored_records}, {"folder", vs->id}},
            "Restore the folder from a backup (`vecsafe restore`), or rebuild the collection "
            "from a per-collection backup.");
      }
      return;
    }
    std::vector<std::string> missing;
    if (!f.has_header) missing.push_back("header.bin");
    if (!f.has_level0) missing.push_back("data_level0.bin");
    if (!f.has_length) missing.push_back("length.bin");
    if (!f.has_links) missing.push_back("link_lists.bin");
    if (!missing.empty()) {
      Add("MISSING_HNSW_FILE", c.name, vs->id,
          fmt::format("collection '{}': {} missing in {}", c.name, fmt::join(missing, ", "),
                      vs->id),
          {{"missing", missing}}, "Restore the folder from a backup.");
    }
    if (f.has_header && !f.header) {
      Add("HNSW_HEADER_DAMAGED", c.name, vs->id,
          fmt::format("collection '{}': {}", c.name, f.header_status.message()), {},
          "Restore the folder from a backup.");
    }
    if (f.has_pickle && !f.id_maps) {
      Add("PICKLE_DAMAGED", c.name, vs->id,
          fmt::format("collection '{}': {}", c.name, f.pickle_status.message()),
          {{"bytes", f.pickle_size}},
          "Restore index_metadata.pickle from a backup; ids are also in SQLite when the metadata "
          "segment is intact.");
    }
    if (!f.header) return;
    const HnswHeader& h = *f.header;
    const uint64_t cur = h.cur_element_count;
    if (f.has_pickle == false && cur > 0) {
      Add("PICKLE_MISSING", c.name, vs->id,
          fmt::format("collection '{}': {} vectors but no index_metadata.pickle", c.name, cur),
          {{"elements", cur}}, "Restore the folder from a backup.");
    }
    bool level0_ok = true;
    if (f.has_level0 && f.level0_size < cur * h.size_data_per_element) {
      level0_ok = false;
      Add("LEVEL0_TRUNCATED", c.name, vs->id,
          fmt::format("collection '{}': data_level0.bin has {} bytes, {} elements x {} bytes "
                      "need {}",
                      c.name, f.level0_size, cur, h.size_data_per_element,
                      cur * h.size_data_per_element),
          {{"bytes", f.level0_size},
           {"needed", cur * h.size_data_per_element},
           {"elements", cur},
           {"element_size", h.size_data_per_element}},
          "Restore the folder from a backup; the elements past the end are lost from the index.");
    } else if (f.has_level0 && f.level0_size % h.size_data_per_element != 0) {
      Add("LEVEL0_TRUNCATED", c.name, vs->id,
          fmt::format("collection '{}': data_level0.bin size {} is not a multiple of the element "
                      "size {}",
                      c.name, f.level0_size, h.size_data_per_element),
          {{"bytes", f.level0_size}, {"element_size", h.size_data_per_element}},
          "Restore the folder from a backup.");
    }
    if (f.has_length && f.length_size < cur * 4) {
      Add("LENGTH_TRUNCATED", c.name, vs->id,
          fmt::format("collection '{}': length.bin has {} bytes, {} elements need {}", c.name,
                      f.length_size, cur, cur * 4),
          {{"bytes", f.length_size}, {"needed", cur * 4}}, "Restore the folder from a backup.");
    }
    if (f.has_links) {
      auto links = ReadWholeFile(folder + "/link_lists.bin");
      if (links.ok()) {
        LinkListsWalk w = WalkLinkLists(*links, cur);
        if (w.records < cur || w.overrun) {
          Add("LINK_LISTS_TRUNCATED", c.name, vs->id,
              fmt::format("collection '{}': link_lists.bin holds {} of {} elements' lists{}",
                          c.name, w.records, cur, w.overrun ? " and ends inside a list" : ""),
              {{"records", w.records}, {"elements", cur}, {"bytes", f.links_size}},
              "Restore the folder from a backup.");
        }
      }
    }
    // Dimensions.
    nlohmann::json dims = {{"hnsw", h.Dimension()}};
    bool dim_bad = false;
    if (c.dimension) {
      dims["collection"] = *c.dimension;
      dim_bad |= static_cast<uint64_t>(*c.dimension) != h.Dimension() && cur > 0;
    }
    if (f.id_maps && f.id_maps->dimensionality) {
      dims["pickle"] = *f.id_maps->dimensionality;
      dim_bad |= static_cast<uint64_t>(*f.id_maps->dimensionality) != h.Dimension();
    }
    if (dim_bad) {
      Add("DIMENSION_MISMATCH", c.name, vs->id,
          fmt::format("collection '{}': dimensions disagree ({})", c.name, dims.dump()), dims,
          "Restore the collection from a backup; a mixed-dimension index cannot be queried.");
    }
    // Id maps.
    if (f.id_maps) {
      const HnswIdMaps& m = *f.id_maps;
      uint64_t bad = 0;
      std::string sample;
      for (const auto& [id, label] : m.id_to_label) {
        auto it = m.label_to_id.find(label);
        if (it == m.label_to_id.end() || it->second != id) {
          if (bad++ == 0) sample = id;
        }
      }
      if (bad > 0 || m.id_to_label.size() != m.label_to_id.size()) {
        Add("ID_MAPS_DISAGREE", c.name, vs->id,
            fmt::format("collection '{}': id_to_label ({}) and label_to_id ({}) disagree on {} "
                        "ids, e.g. '{}'",
                        c.name, m.id_to_label.size(), m.label_to_id.size(), bad, sample),
            {{"id_to_label", m.id_to_label.size()},
             {"label_to_id", m.label_to_id.size()},
             {"disagreeing", bad}},
            "Restore the folder from a backup.");
      }
    }
    // One pass over data_level0: labels, and vectors in deep mode.
    std::unordered_set<uint64_t> live_labels;
    uint64_t deleted = 0;
    if (f.has_level0 && level0_ok && cur > 0) {
      ScanLevel0(c, *vs, folder, h, SpaceOf(d_, c), &live_labels, &deleted);
    }
    if (f.id_maps && f.has_level0 && level0_ok) {
      uint64_t missing_in_pickle = 0, missing_in_index = 0;
      for (uint64_t l : live_labels) {
        if (f.id_maps->label_to_id.count(static_cast<int64_t>(l)) == 0) ++missing_in_pickle;
      }
      for (const auto& [l, id] : f.id_maps->label_to_id) {
        if (live_labels.count(static_cast<uint64_t>(l)) == 0) ++missing_in_index;
      }
      if (missing_in_pickle + missing_in_index > 0) {
        Add("LABELS_DISAGREE", c.name, vs->id,
            fmt::format("collection '{}': {} live labels of data_level0.bin are not in the "
                        "pickle and {} pickle labels are not live in the index",
                        c.name, missing_in_pickle, missing_in_index),
            {{"live_elements", live_labels.size()},
             {"deleted_elements", deleted},
             {"pickle_labels", f.id_maps->label_to_id.size()},
             {"not_in_pickle", missing_in_pickle},
             {"not_in_index", missing_in_index}},
            "Restore the folder from a backup.");
      }
    }
    // Counts: the HNSW ids plus the WAL rows it has not applied, against the
    // metadata segment.
    if (f.id_maps || (cur == 0 && !f.has_pickle)) {
      int64_t vmax = vs->max_seq_id.value_or(0);
      if (f.id_maps && f.id_maps->max_seq_id) vmax = std::max(vmax, *f.id_maps->max_seq_id);
      std::unordered_set<std::string> added, removed;
      auto in_index = [&](const std::string& id) {
        if (added.count(id) != 0) return true;
        if (removed.count(id) != 0) return false;
        return f.id_maps && f.id_maps->id_to_label.count(id) != 0;
      };
      int64_t count = f.id_maps ? static_cast<int64_t>(f.id_maps->id_to_label.size()) : 0;
      int64_t unflushed = 0;
      for (const WalRow& r : wal) {
        if (r.seq <= vmax) continue;
        ++unflushed;
        const bool present = in_index(r.id);
        if ((r.op == 0 || r.op == 2) && !present) {
          ++count;
          added.insert(r.id);
          removed.erase(r.id);
        } else if (r.op == 3 && present) {
          --count;
          removed.insert(r.id);
          added.erase(r.id);
        }
      }
      const ChromaSegment* ms = d_.MetadataSegment(c);
      const bool meta_current =
          ms == nullptr || wal.empty() || ms->max_seq_id.value_or(0) >= wal.back().seq;
      if (meta_current && count != c.stored_records) {
        Add("COUNT_MISMATCH", c.name, vs->id,
            fmt::format("collection '{}': metadata segment has {} records, the HNSW index {} "
                        "ids plus {} unflushed WAL rows give {}",
                        c.name, c.stored_records, f.id_maps ? f.id_maps->id_to_label.size() : 0,
                        unflushed, count),
            {{"metadata_records", c.stored_records},
             {"hnsw_ids", f.id_maps ? f.id_maps->id_to_label.size() : 0},
             {"unflushed_wal_rows", unflushed},
             {"expected_from_index", count},
             {"vector_max_seq_id", vmax}},
            "Restore the collection from a backup, or re-add the missing records.");
      }
    }
  }

  void ScanLevel0(const ChromaCollection& c, const ChromaSegment& vs, const std::string& folder,
                  const HnswHeader& h, const std::string& space, std::unordered_set<uint64_t>* live,
                  uint64_t* deleted) {
    const int fd = ::open((folder + "/data_level0.bin").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    std::string norms;
    const bool normalized = space == "cosine";
    if (options_.deep && normalized) {
      auto n = ReadWholeFile(folder + "/length.bin");
      if (n.ok()) norms = std::move(n).value();
    }
    const uint64_t per = h.size_data_per_element;
    const uint64_t batch = std::max<uint64_t>(1, (4u << 20) / per);
    std::string buf;
    uint64_t not_finite = 0, bad_norm = 0, bad_length = 0;
    std::string first_bad;
    const uint64_t dim = h.Dimension();
    std::vector<float> v(dim);
    for (uint64_t i = 0; i < h.cur_element_count; i += batch) {
      const uint64_t n = std::min(batch, h.cur_element_count - i);
      buf.resize(n * per);
      const ssize_t got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(i * per));
      if (got != static_cast<ssize_t>(buf.size())) break;
      for (uint64_t k = 0; k < n; ++k) {
        const HnswElement e = ReadElement(h, buf, k);
        if (e.deleted) {
          ++*deleted;
          continue;
        }
        live->insert(e.label);
        if (!options_.deep) continue;
        ++report_.vectors_read;
        std::memcpy(v.data(), ElementVector(h, buf, k), dim * sizeof(float));
        double sq = 0;
        bool finite = true;
        for (float x : v) {
          if (!std::isfinite(x)) finite = false;
          sq += static_cast<double>(x) * x;
        }
        if (!finite) {
          if (not_finite++ == 0) first_bad = fmt::format("label {}", e.label);
          continue;
        }
        if (normalized) {
          const double norm = std::sqrt(sq);
          if (norm > 1e-6 && std::fabs(norm - 1.0) > 1e-3) ++bad_norm;
          if ((i + k + 1) * 4 <= norms.size()) {
            float len = 0;
            std::memcpy(&len, norms.data() + (i + k) * 4, 4);
            if (!std::isfinite(len) || len < 0) ++bad_length;
          }
        }
      }
    }
    ::close(fd);
    if (not_finite > 0) {
      Add("VECTOR_NOT_FINITE", c.name, vs.id,
          fmt::format("collection '{}': {} vectors have NaN/inf components (first: {})", c.name,
                      not_finite, first_bad),
          {{"vectors", not_finite}},
          "Re-add those records with valid embeddings; queries near them return garbage.");
    }
    if (bad_norm + bad_length > 0) {
      Add("NORM_MISMATCH", c.name, vs.id,
          fmt::format("collection '{}' ({}): {} stored vectors are not unit length, {} entries "
                      "of length.bin are impossible",
                      c.name, space, bad_norm, bad_length),
          {{"not_unit", bad_norm}, {"bad_lengths", bad_length}},
          "Restore the folder from a backup.");
    }
  }

  void CheckWalPurge() {
    int64_t orphan_rows = 0;
    std::unordered_set<std::string> known;
    for (const auto& c : d_.collections) known.insert(c.id);
    for (const auto& [cid, rows] : wal_) {
      if (known.count(cid) == 0) orphan_rows += static_cast<int64_t>(rows.size());
    }
    if (orphan_rows > 0) {
      Add("WAL_ORPHAN_ROWS", "", "",
          fmt::format("{} WAL rows belong to collections that no longer exist", orphan_rows),
          {{"rows", orphan_rows}}, "`vecsafe repair chroma PATH` deletes them (after a backup).");
    }
    // 0.4 has no purge at all: its WAL keeps every row by design.
    if (!d_.automatically_purge.has_value()) return;
    if (!*d_.automatically_purge) {
      Add("PURGE_DISABLED", "", "", "automatic WAL purge is switched off",
          {{"automatically_purge", false}},
          "`vecsafe repair chroma PATH` switches it on and purges the applied rows.");
    }
    for (const auto& c : d_.collections) {
      const auto it = wal_.find(c.id);
      if (it == wal_.end() || c.segments.empty()) continue;
      int64_t point = INT64_MAX;
      for (size_t i : c.segments) {
        point = std::min(point, d_.segments[i].max_seq_id.value_or(0));
      }
      int64_t below = 0;
      for (const WalRow& r : it->second) {
        if (r.seq < point) ++below;
      }
      if (below > 0) {
        Add("WAL_BELOW_PURGE_POINT", c.name, "",
            fmt::format("collection '{}': {} WAL rows below the purge point {}", c.name, below,
                        point),
            {{"rows", below}, {"purge_point", point}},
            "`vecsafe repair chroma PATH` purges them by Chroma's rule (after a backup).");
      }
    }
  }

  Status CheckFts() {
    VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(path_ + "/" + kSqliteFile));
    VS_ASSIGN_OR_RETURN(bool has_fts, db->HasTable("embedding_fulltext_search"));
    if (!has_fts) return Status::OK();
    int64_t docs = 0, fts = 0, stray = 0, unindexed = 0;
    VS_RETURN_IF_ERROR(
        db->Query("SELECT count(*) FROM embedding_metadata WHERE key = 'chroma:document'",
                  [&](const SqlRow& r) { docs = r.Int(0); }));
    VS_RETURN_IF_ERROR(db->Query("SELECT count(*) FROM embedding_fulltext_search",
                                 [&](const SqlRow& r) { fts = r.Int(0); }));
    VS_RETURN_IF_ERROR(
        db->Query("SELECT count(*) FROM embedding_fulltext_search WHERE rowid NOT IN "
                  "(SELECT id FROM embedding_metadata WHERE key = 'chroma:document')",
                  [&](const SqlRow& r) { stray = r.Int(0); }));
    VS_RETURN_IF_ERROR(db->Query(
        "SELECT count(*) FROM embedding_metadata WHERE key = 'chroma:document' AND id NOT IN "
        "(SELECT rowid FROM embedding_fulltext_search)",
        [&](const SqlRow& r) { unindexed = r.Int(0); }));
    if (stray + unindexed > 0 || docs != fts) {
      Add("FTS_DRIFT", "", "",
          fmt::format("full-text index has {} rows for {} documents ({} stray, {} missing)", fts,
                      docs, stray, unindexed),
          {{"documents", docs}, {"fts_rows", fts}, {"stray", stray}, {"missing", unindexed}},
          "`vecsafe repair chroma PATH` rebuilds the full-text index from the documents.");
    }
    return Status::OK();
  }

  std::string path_;
  CheckOptions options_;
  CheckReport report_;
  ChromaDirectory d_;
  std::unordered_map<std::string, std::vector<WalRow>> wal_;
};

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
    case Severity::kCritical:
      return "critical";
  }
  return "?";
}

const std::vector<FindingKind>& AllFindingKinds() { return kKinds; }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

HnswFolderFacts ReadHnswFolder(const std::string& folder) {
  HnswFolderFacts f;
  f.folder = folder;
  struct stat st {};
  f.exists = ::stat(folder.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (!f.exists) return f;
  uint64_t header_size = 0;
  f.has_header = FileSize(folder + "/header.bin", &header_size);
  f.has_level0 = FileSize(folder + "/data_level0.bin", &f.level0_size);
  f.has_length = FileSize(folder + "/length.bin", &f.length_size);
  f.has_links = FileSize(folder + "/link_lists.bin", &f.links_size);
  f.has_pickle = FileSize(folder + "/index_metadata.pickle", &f.pickle_size);
  if (f.has_header) {
    auto bytes = ReadWholeFile(folder + "/header.bin");
    if (!bytes.ok()) {
      f.header_status = bytes.status();
    } else {
      auto h = ParseHnswHeader(*bytes);
      if (h.ok()) {
        f.header = *h;
      } else {
        f.header_status = h.status();
      }
    }
  }
  if (f.has_pickle) {
    auto bytes = ReadWholeFile(folder + "/index_metadata.pickle");
    if (!bytes.ok()) {
      f.pickle_status = bytes.status();
    } else {
      auto m = ParseIdMaps(*bytes);
      if (m.ok()) {
        f.id_maps = std::move(m).value();
      } else {
        f.pickle_status = m.status();
      }
    }
  }
  return f;
}

nlohmann::json CheckReport::ToJson() const {
  nlohmann::json j;
  j["path"] = path;
  j["schema"] = schema;
  j["chroma_version_line"] = version_hint;
  j["newer_schema"] = newer_schema;
  j["collections"] = collections;
  j["vector_segments"] = vector_segments;
  j["folders"] = folders;
  j["vectors_read"] = vectors_read;
  j["seconds"] = seconds;
  j["healthy"] = Healthy();
  j["findings"] = nlohmann::json::array();
  for (const auto& f : findings) {
    j["findings"].push_back({{"code", f.code},
                             {"severity", SeverityName(f.severity)},
                             {"collection", f.collection},
                             {"segment", f.segment},
                             {"message", f.message},
                             {"evidence", f.evidence},
                             {"fix", f.fix},
                             {"repairable", f.repairable}});
  }
  return j;
}

Result<CheckReport> CheckChroma(const std::string& path, const CheckOptions& options) {
  Checker c(path, options);
  return c.Run();
}

}  // namespace vecsafe::chroma
