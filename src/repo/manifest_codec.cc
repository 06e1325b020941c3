#include "repo/manifest_codec.h"

#include <nlohmann/json.hpp>
#include <set>

#include "repo/crypto.h"

namespace vecsafe::repo {
namespace {

using ojson = nlohmann::ordered_json;

const std::set<std::string>& KnownFields() {
  static const std::set<std::string> kKnown = {"schema_version", "required",         "time",
                                               "time_unix_ns",   "hostname",         "source_kind",
                                               "source",         "source_checksums", "tags",
                                               "parent",         "vecsafe_version",  "timings",
                                               "stats",          "entries"};
  return kKnown;
}

Status Bad(std::string_view id, std::string_view detail) {
  return DataLoss(
      "snapshot " + std::string(id.substr(0, 8)) + " manifest is damaged: " + std::string(detail),
      "Use another snapshot (`vecsafe snapshots`) and run `vecsafe verify`.");
}

Result<EntryType> ParseType(std::string_view s) {
  if (s == "file") return EntryType::kFile;
  if (s == "dir") return EntryType::kDirectory;
  if (s == "symlink") return EntryType::kSymlink;
  return InvalidArgument("unknown entry type " + std::string(s));
}

}  // namespace

Status ValidateEntryPath(std::string_view path) {
  if (path.empty()) return InvalidArgument("empty path");
  if (path.front() == '/') return InvalidArgument("absolute path: " + std::string(path));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgument("bad path '" + std::string(path) + "'",
                             "Paths are relative, '/'-separated, without '.' or '..' parts.");
    }
    start = end + 1;
  }
  if (path.find('\0') != std::string_view::npos) return InvalidArgument("NUL in path");
  return Status::OK();
}

std::string EncodeManifestJson(const Manifest& m) {
  ojson j;
  j["schema_version"] = m.schema_version;
  j["time"] = m.time;
  j["time_unix_ns"] = m.time_unix_ns;
  j["hostname"] = m.hostname;
  j["source_kind"] = m.source_kind;
  j["source"] = m.source;
  j["source_checksums"] = m.source_checksums;
  j["tags"] = m.tags;
  j["parent"] = m.parent;
  j["vecsafe_version"] = m.vecsafe_version;
  j["timings"] = {{"seconds", m.stats.seconds}};
  const SnapshotStats& s = m.stats;
  j["stats"] = {{"files", s.files},
                {"dirs", s.dirs},
                {"bytes_total", s.bytes_total},
                {"bytes_read", s.bytes_read},
                {"files_unchanged", s.files_unchanged},
                {"chunks_total", s.chunks_total},
                {"chunks_new", s.chunks_new},
                {"bytes_new_raw", s.bytes_new_raw},
                {"bytes_new_stored", s.bytes_new_stored},
                {"chunks_delta", s.chunks_delta},
                {"packs_written", s.packs_written}};
  ojson entries = ojson::array();
  for (const auto& e : m.entries) {
    ojson je;
    je["path"] = e.path;
    je["type"] = std::string(EntryTypeName(e.type));
    je["mode"] = e.mode;
    je["mtime_ns"] = e.mtime_ns;
    if (e.type == EntryType::kFile) {
      je["size"] = e.size;
      je["sha256"] = e.sha256;
      je["inode"] = e.inode;
      je["device"] = e.device;
      je["chunks"] = e.chunks;
    } else if (e.type == EntryType::kSymlink) {
      je["target"] = e.link_target;
    }
    entries.push_back(std::move(je));
  }
  j["entries"] = std::move(entries);
  for (const auto& [k, v] : m.extra.items()) {
    if (KnownFields().count(k) == 0) j[k] = v;
  }
  return j.dump() + "\n";
}

Result<Manifest> ParseManifestJson(std::string_view json, std::string_view id) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad(id, "not a JSON object");
  try {
    Manifest m;
    m.id = std::string(id);
    if (!j.contains("schema_version") || !j["schema_version"].is_number_integer()) {
      return Bad(id, "no integer schema_version");
    }
    m.schema_version = j["schema_version"].get<int>();
    if (m.schema_version < 1) return Bad(id, "schema_version < 1");
    if (j.contains("required")) {
      if (!j["required"].is_array()) return Bad(id, "required is not an array");
      for (const auto& r : j["required"]) {
        if (!r.is_string()) return Bad(id, "required holds a non-string");
        if (KnownFields().count(r.get<std::string>()) == 0) {
          return Status(ErrorCode::kUnsupportedVersion,
                        "snapshot " + std::string(id.substr(0, 8)) + " requires field '" +
                            r.get<std::string>() + "' that this vecsafe does not know");
        }
      }
    }
    m.time = j.at("time").get<std::string>();
    m.time_unix_ns = j.at("time_unix_ns").get<int64_t>();
    m.hostname = j.value("hostname", "");
    m.source_kind = j.at("source_kind").get<std::string>();
    m.source = j.value("source", nlohmann::json::object());
    m.source_checksums = j.value("source_checksums", nlohmann::json::object());
    m.tags = j.value("tags", std::vector<std::string>{});
    m.parent = j.value("parent", "");
    m.vecsafe_version = j.value("vecsafe_version", "");
    if (j.contains("stats") && j["stats"].is_object()) {
      const auto& s = j["stats"];
      m.stats.files = s.value("files", uint64_t{0});
      m.stats.dirs = s.value("dirs", uint64_t{0});
      m.stats.bytes_total = s.value("bytes_total", uint64_t{0});
      m.stats.bytes_read = s.value("bytes_read", uint64_t{0});
      m.stats.files_unchanged = s.value("files_unchanged", uint64_t{0});
      m.stats.chunks_total = s.value("chunks_total", uint64_t{0});
      m.stats.chunks_new = s.value("chunks_new", uint64_t{0});
      m.stats.bytes_new_raw = s.value("bytes_new_raw", uint64_t{0});
      m.stats.bytes_new_stored = s.value("bytes_new_stored", uint64_t{0});
      m.stats.packs_written = s.value("packs_written", uint64_t{0});
      m.stats.chunks_delta = s.value("chunks_delta", uint64_t{0});
    }
    if (j.contains("timings") && j["timings"].is_object()) {
      m.stats.seconds = j["timings"].value("seconds", 0.0);
    }
    const auto& entries = j.at("entries");
    if (!entries.is_array()) return Bad(id, "entries is not an array");
    m.entries.reserve(entries.size());
    for (const auto& je : entries) {
      FileEntry e;
      e.path = je.at("path").get<std::string>();
      if (!ValidateEntryPath(e.path).ok()) return Bad(id, "bad path '" + e.path + "'");
      auto type = ParseType(je.at("type").get<std::string>());
      if (!type.ok()) return Bad(id, type.status().message());
      e.type = *type;
      e.mode = je.at("mode").get<uint32_t>() & 07777u;
      e.mtime_ns = je.value("mtime_ns", int64_t{0});
      if (e.type == EntryType::kFile) {
        e.size = je.at("size").get<uint64_t>();
        e.sha256 = je.at("sha256").get<std::string>();
        if (!ParseHash256(e.sha256).ok()) return Bad(id, "bad sha256 of " + e.path);
        e.inode = je.value("inode", uint64_t{0});
        e.device = je.value("device", uint64_t{0});
        const auto& chunks = je.at("chunks");
        if (!chunks.is_array()) return Bad(id, "chunks of " + e.path + " is not an array");
        e.chunks.reserve(chunks.size());
        for (const auto& c : chunks) {
          if (!c.is_string() || !ParseHash256(c.get<std::string>()).ok()) {
            return Bad(id, "bad chunk id in " + e.path);
          }
          e.chunks.push_back(c.get<std::string>());
        }
      } else if (e.type == EntryType::kSymlink) {
        e.link_target = je.at("target").get<std::string>();
      }
      m.entries.push_back(std::move(e));
    }
    for (const auto& [k, v] : j.items()) {
      if (KnownFields().count(k) == 0) m.extra[k] = v;
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Bad(id, e.what());
  }
}

}  // namespace vecsafe::repo
