#include "sources/chroma/recover.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "sources/chroma/checker.h"
#include "sources/chroma/chroma_model.h"
#include "sources/chroma/sqlite_reader.h"

namespace vecsafe::chroma {
namespace {

struct OrphanRecords {
  std::string segment_id;
  std::unordered_set<std::string> ids;
};

// Rows of `embeddings` whose segment is gone, grouped by segment.
Result<std::vector<OrphanRecords>> LoadOrphanRecords(SqliteReader& db) {
  std::map<std::string, OrphanRecords> by_seg;
  VS_RETURN_IF_ERROR(
      db.Query("SELECT segment_id, embedding_id FROM embeddings WHERE segment_id NOT IN "
               "(SELECT id FROM segments)",
               [&](const SqlRow& r) {
                 auto& o = by_seg[r.Text(0)];
                 o.segment_id = r.Text(0);
                 o.ids.insert(r.Text(1));
               }));
  std::vector<OrphanRecords> out;
  for (auto& [k, v] : by_seg) out.push_back(std::move(v));
  return out;
}

// Guesses the space from the stored vectors: normalizing spaces store unit
// vectors (Chroma normalizes for cosine).
std::string GuessSpace(const std::string& folder, const HnswHeader& h) {
  auto level0 = ReadWholeFile(folder + "/data_level0.bin");
  if (!level0.ok() || h.cur_element_count == 0) return "l2";
  const uint64_t n = std::min<uint64_t>(h.cur_element_count, 64);
  const uint64_t dim = h.Dimension();
  std::vector<float> v(dim);
  for (uint64_t i = 0; i < n; ++i) {
    if ((i + 1) * h.size_data_per_element > level0->size()) return "l2";
    std::memcpy(v.data(), ElementVector(h, *level0, i), dim * 4);
    double sq = 0;
    for (float x : v) sq += static_cast<double>(x) * x;
    if (std::fabs(std::sqrt(sq) - 1.0) > 1e-3) return "l2";
  }
  return "cosine";
}

Status PlanError(const std::string& what) {
  return InvalidArgument("recovery plan is invalid: " + what,
                         "Make a fresh plan with `vecsafe recover chroma PATH --plan --out FILE`; "
                         "only `name` and `execute` of an item may be edited.");
}

}  // namespace

Result<nlohmann::json> BuildRecoveryPlan(const std::string& path) {
  VS_ASSIGN_OR_RETURN(ChromaDirectory d, LoadChromaDirectory(path));
  VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(path + "/" + kSqliteFile));
  VS_ASSIGN_OR_RETURN(std::vector<OrphanRecords> orphan_records, LoadOrphanRecords(*db));
  std::unordered_set<std::string> segment_ids;
  for (const auto& s : d.segments) segment_ids.insert(s.id);
  std::set<std::string> names;
  for (const auto& c : d.collections) names.insert(c.name);

  nlohmann::json plan;
  plan["vecsafe_recovery_plan"] = kRecoveryPlanVersion;
  plan["chroma_path"] = path;
  plan["schema"] = d.schema_label;
  plan["items"] = nlohmann::json::array();
  std::set<std::string> used_records;
  for (const auto& folder : d.folders) {
    if (!IsUuid(folder) || segment_ids.count(folder) != 0) continue;
    HnswFolderFacts f = ReadHnswFolder(path + "/" + folder);
    if (!f.header && !f.id_maps) continue;
    nlohmann::json item;
    item["kind"] = "vector_folder";
    item["folder"] = folder;
    std::string name = "recovered-" + folder.substr(0, 8);
    for (int k = 2; names.count(name) != 0; ++k) {
      name = fmt::format("recovered-{}-{}", folder.substr(0, 8), k);
    }
    names.insert(name);
    item["name"] = name;
    item["execute"] = true;
    std::vector<std::string> problems;
    if (!f.header) problems.push_back("header.bin: " + f.header_status.message());
    if (!f.id_maps) {
      problems.push_back(f.has_pickle ? "index_metadata.pickle: " + f.pickle_status.message()
                                      : "index_metadata.pickle is missing");
    }
    if (f.header) {
      item["dimension"] = f.header->Dimension();
      item["elements"] = f.header->cur_element_count;
      if (f.level0_size < f.header->cur_element_count * f.header->size_data_per_element) {
        problems.push_back("data_level0.bin is truncated");
      }
      item["space"] = GuessSpace(f.folder, *f.header);
    }
    int64_t count = f.id_maps ? static_cast<int64_t>(f.id_maps->id_to_label.size()) : 0;
    item["count"] = count;
    // Documents and metadata: the deleted metadata segment whose ids overlap most.
    const OrphanRecords* best = nullptr;
    size_t best_overlap = 0;
    if (f.id_maps) {
      for (const auto& o : orphan_records) {
        size_t overlap = 0;
        for (const auto& [id, label] : f.id_maps->id_to_label) overlap += o.ids.count(id);
        if (overlap > best_overlap) {
          best_overlap = overlap;
          best = &o;
        }
      }
    }
    item["recoverable"] = {
        {"ids", f.id_maps.has_value()},
        {"vectors", f.id_maps.has_value() && f.header.has_value()},
        {"documents_and_metadata", best_overlap},
        {"metadata_segment", best ? nlohmann::json(best->segment_id) : nlohmann::json()}};
    if (best) used_records.insert(best->segment_id);
    if (!problems.empty()) {
      item["execute"] = false;
      item["problems"] = problems;
    }
    plan["items"].push_back(std::move(item));
  }
  // Deleted metadata segments with no surviving vectors: reported, not executable.
  for (const auto& o : orphan_records) {
    if (used_records.count(o.segment_id) != 0) continue;
    plan["items"].push_back({{"kind", "metadata_only"},
                             {"metadata_segment", o.segment_id},
                             {"count", o.ids.size()},
                             {"execute", false},
                             {"problems",
                              {"no vector folder with these ids survived; documents and "
                               "metadata alone cannot recreate a collection"}}});
  }
  return plan;
}

Status ValidateRecoveryPlan(const nlohmann::json& plan, const std::string& path) {
  if (!plan.is_object()) return PlanError("not a JSON object");
  if (!plan.contains("vecsafe_recovery_plan") || !plan["vecsafe_recovery_plan"].is_number() ||
      plan["vecsafe_recovery_plan"] != kRecoveryPlanVersion) {
    return PlanError("missing or unknown \"vecsafe_recovery_plan\" version");
  }
  if (!plan.contains("items") || !plan["items"].is_array()) {
    return PlanError("\"items\" must be an array");
  }
  std::set<std::string> names;
  size_t i = 0;
  for (const auto& item : plan["items"]) {
    const std::string where = fmt::format("item {}", i++);
    if (!item.is_object()) return PlanError(where + " is not an object");
    if (!item.contains("execute") || !item["execute"].is_boolean()) {
      return PlanError(where + ": \"execute\" must be true or false");
    }
    if (!item["execute"].get<bool>()) continue;
    if (!item.contains("kind") || item["kind"] != "vector_folder") {
      return PlanError(where + ": only \"vector_folder\" items can be executed");
    }
    if (!item.contains("folder") || !item["folder"].is_string() ||
        !IsUuid(item["folder"].get<std::string>())) {
      return PlanError(where + ": \"folder\" must be a segment folder name (a UUID)");
    }
    struct stat st {};
    const std::string folder = path + "/" + item["folder"].get<std::string>();
    if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return PlanError(where + ": folder " + folder + " does not exist");
    }
    if (!item.contains("name") || !item["name"].is_string()) {
      return PlanError(where + ": \"name\" must be a string");
    }
    const std::string name = item["name"].get<std::string>();
    Status s = ValidateCollectionName(name);
    if (!s.ok()) return PlanError(where + ": " + s.message());
    if (!names.insert(name).second) return PlanError(where + ": name '" + name + "' used twice");
    for (const char* key : {"dimension", "count"}) {
      if (!item.contains(key) || !item[key].is_number_integer() || item[key].get<int64_t>() < 0) {
        return PlanError(where + fmt::format(": \"{}\" must be a non-negative integer", key));
      }
    }
    if (item.contains("space") &&
        (!item["space"].is_string() ||
         (item["space"] != "l2" && item["space"] != "cosine" && item["space"] != "ip"))) {
      return PlanError(where + ": \"space\" must be l2, cosine or ip");
    }
  }
  return Status::OK();
}

Result<RecoveredCollection> ReadPlanItem(const std::string& path, const nlohmann::json& item) {
  const std::string folder = path + "/" + item["folder"].get<std::string>();
  HnswFolderFacts f = ReadHnswFolder(folder);
  if (!f.header)
    return f.header_status.ok() ? DataLoss("header.bin missing in " + folder) : f.header_status;
  if (!f.id_maps) {
    return f.pickle_status.ok() ? DataLoss("index_metadata.pickle missing in " + folder)
                                : f.pickle_status;
  }
  const HnswHeader& h = *f.header;
  if (static_cast<int64_t>(h.Dimension()) != item["dimension"].get<int64_t>() ||
      static_cast<int64_t>(f.id_maps->id_to_label.size()) != item["count"].get<int64_t>()) {
    return DataLoss(fmt::format("folder {} changed since the plan was made (dimension {}, {} "
                                "ids now)",
                                folder, h.Dimension(), f.id_maps->id_to_label.size()),
                    "Make a new plan.");
  }
  VS_ASSIGN_OR_RETURN(std::string level0, ReadWholeFile(folder + "/data_level0.bin"));
  if (level0.size() < h.cur_element_count * h.size_data_per_element) {
    return DataLoss("data_level0.bin in " + folder + " is truncated",
                    "Only complete folders can be recovered; restore it from a backup.");
  }
  const std::string space = item.value("space", std::string("l2"));
  std::string norms;
  if (space == "cosine") {
    auto n = ReadWholeFile(folder + "/length.bin");
    if (n.ok()) norms = std::move(n).value();
  }
  RecoveredCollection rc;
  rc.name = item["name"].get<std::string>();
  rc.metadata = {{"hnsw:space", space}};
  const uint64_t dim = h.Dimension();
  std::unordered_map<std::string, size_t> index_of;
  for (uint64_t i = 0; i < h.cur_element_count; ++i) {
    const HnswElement e = ReadElement(h, level0, i);
    if (e.deleted) continue;
    auto it = f.id_maps->label_to_id.find(static_cast<int64_t>(e.label));
    if (it == f.id_maps->label_to_id.end()) continue;
    std::vector<float> v(dim);
    std::memcpy(v.data(), ElementVector(h, level0, i), dim * 4);
    if (space == "cosine" && (i + 1) * 4 <= norms.size()) {
      // Chroma stored the unit vector and the original norm beside it.
      float len = 0;
      std::memcpy(&len, norms.data() + i * 4, 4);
      if (std::isfinite(len) && len > 0) {
        for (float& x : v) x *= len;
      }
    }
    index_of[it->second] = rc.records.ids.size();
    rc.records.ids.push_back(it->second);
    rc.records.embeddings.push_back(std::move(v));
  }
  // Documents and metadata from the deleted metadata segment, when kept.
  const auto& rec = item.contains("recoverable") ? item["recoverable"] : nlohmann::json();
  if (rec.is_object() && rec.contains("metadata_segment") && rec["metadata_segment"].is_string()) {
    const std::string seg = rec["metadata_segment"].get<std::string>();
    VS_ASSIGN_OR_RETURN(auto db, SqliteReader::Open(path + "/" + kSqliteFile));
    rc.records.documents.assign(rc.records.ids.size(), std::nullopt);
    rc.records.metadatas.assign(rc.records.ids.size(), nlohmann::json());
    std::string sql = fmt::format(
        "SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value, "
        "m.bool_value FROM embeddings e JOIN embedding_metadata m ON m.id = e.id "
        "WHERE e.segment_id = '{}'",
        seg);  // seg is a UUID checked below
    if (!IsUuid(seg)) return InvalidArgument("metadata_segment is not a UUID");
    VS_RETURN_IF_ERROR(db->Query(sql, [&](const SqlRow& r) {
      auto it = index_of.find(r.Text(0));
      if (it == index_of.end()) return;
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
      if (key == "chroma:document") {
        if (value.is_string()) rc.records.documents[it->second] = value.get<std::string>();
        return;
      }
      auto& m = rc.records.metadatas[it->second];
      if (!m.is_object()) m = nlohmann::json::object();
      m[key] = value;
    }));
    bool any_doc = false, any_meta = false;
    for (const auto& d : rc.records.documents) any_doc |= d.has_value();
    for (const auto& m : rc.records.metadatas) any_meta |= m.is_object();
    if (!any_doc) rc.records.documents.clear();
    if (!any_meta) rc.records.metadatas.clear();
  }
  return rc;
}

Result<int64_t> UploadCollection(ChromaHttp& http, const RecoveredCollection& rc,
                                 size_t batch_size) {
  VS_ASSIGN_OR_RETURN(RemoteCollection c, http.CreateCollection(rc.name, rc.metadata));
  const auto& r = rc.records;
  for (size_t start = 0; start < r.ids.size(); start += batch_size) {
    const size_t end = std::min(r.ids.size(), start + batch_size);
    RecordBatch b;
    b.ids.assign(r.ids.begin() + start, r.ids.begin() + end);
    b.embeddings.assign(r.embeddings.begin() + start, r.embeddings.begin() + end);
    if (!r.documents.empty()) {
      b.documents.assign(r.documents.begin() + start, r.documents.begin() + end);
    }
    if (!r.metadatas.empty()) {
      for (size_t k = start; k < end; ++k) {
        // Chroma rejects empty metadata dicts; send null instead.
        const auto& m = r.metadatas[k];
        b.metadatas.push_back(m.is_object() && !m.empty() ? m : nlohmann::json());
      }
    }
    VS_RETURN_IF_ERROR(http.Add(c, b));
  }
  VS_ASSIGN_OR_RETURN(int64_t count, http.Count(c));
  if (count != static_cast<int64_t>(r.ids.size())) {
    return DataLoss(fmt::format("collection '{}' has {} records after upload, expected {}", rc.name,
                                count, r.ids.size()),
                    "Check the Chroma server's log; delete the collection and retry.");
  }
  return count;
}

Result<std::vector<ItemResult>> ExecuteRecoveryPlan(const nlohmann::json& plan,
                                                    const std::string& path,
                                                    const std::string& server_url,
                                                    size_t batch_size) {
  VS_RETURN_IF_ERROR(ValidateRecoveryPlan(plan, path));
  VS_ASSIGN_OR_RETURN(auto http, ChromaHttp::Connect(server_url));
  std::vector<ItemResult> results;
  for (const auto& item : plan["items"]) {
    if (!item["execute"].get<bool>()) continue;
    ItemResult res;
    res.folder = item["folder"].get<std::string>();
    res.name = item["name"].get<std::string>();
    auto rc = ReadPlanItem(path, item);
    if (!rc.ok()) {
      res.error = rc.status().ToString();
      results.push_back(std::move(res));
      continue;
    }
    res.expected = static_cast<int64_t>(rc->records.ids.size());
    auto count = UploadCollection(*http, *rc, batch_size);
    if (count.ok()) {
      res.ok = true;
      res.count = *count;
    } else {
      res.error = count.status().ToString();
    }
    results.push_back(std::move(res));
  }
  return results;
}

}  // namespace vecsafe::chroma
