// `vecsafe check chroma`: finds inconsistencies in a Chroma directory.
//
// Read-only. Every finding has a stable code (docs/chroma.md lists them all
// with what they mean and how to fix them), a severity, the collection it
// concerns, the evidence, the fix, and whether `vecsafe repair` can apply it.
// A check never stops at the first problem: it reports everything it can see
// and says when part of the directory could not be examined.
#ifndef VECSAFE_SOURCES_CHROMA_CHECKER_H_
#define VECSAFE_SOURCES_CHROMA_CHECKER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sources/chroma/chroma_model.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

enum class Severity : uint8_t { kInfo = 0, kWarning = 1, kError = 2, kCritical = 3 };
std::string_view SeverityName(Severity s);

struct Finding {
  std::string code;  // stable, e.g. "CHROMA-ORPHAN-FOLDER"
  Severity severity = Severity::kWarning;
  std::string collection;  // name, or "" when none applies / known
  std::string segment;     // segment id or folder name, or ""
  std::string message;     // one line, for people
  nlohmann::json evidence = nlohmann::json::object();
  std::string fix;          // what to do
  bool repairable = false;  // `vecsafe repair chroma` applies the fix
};

struct CheckOptions {
  // Read every vector: NaN/inf, and norms of normalizing spaces against
  // length.bin; also PRAGMA integrity_check instead of quick_check.
  // Default: false.
  bool deep = false;
};

struct CheckReport {
  std::string path;
  std::string schema;        // e.g. "embeddings_queue 2, metadb 4, sysdb 9"
  std::string version_hint;  // release line the schema belongs to
  bool newer_schema = false;
  size_t collections = 0;
  size_t vector_segments = 0;
  size_t folders = 0;
  uint64_t vectors_read = 0;  // deep mode
  std::vector<Finding> findings;
  double seconds = 0;

  bool Healthy() const { return findings.empty(); }
  nlohmann::json ToJson() const;
};

// One finding kind: its code, default severity and meaning (docs, --json).
struct FindingKind {
  const char* code;
  Severity severity;
  bool repairable;
  const char* meaning;
};
const std::vector<FindingKind>& AllFindingKinds();

// Runs every check. Errors only when nothing can be checked (not a Chroma
// folder, SQLite unreadable from the start): then the CLI exits 2.
Result<CheckReport> CheckChroma(const std::string& path, const CheckOptions& options = {});

// Pieces used by repair, recover and the checker itself.

// Whether `name` looks like a segment folder (a UUID).
bool IsUuid(std::string_view name);

// Facts read from one vector segment folder.
struct HnswFolderFacts {
  std::string folder;  // full path
  bool exists = false;
  bool has_header = false, has_level0 = false, has_length = false, has_links = false,
       has_pickle = false;
  uint64_t level0_size = 0, length_size = 0, links_size = 0, pickle_size = 0;
  std::optional<HnswHeader> header;
  Status header_status;
  std::optional<HnswIdMaps> id_maps;
  Status pickle_status;
};
HnswFolderFacts ReadHnswFolder(const std::string& folder);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_CHECKER_H_
