// Recovery of Chroma collections whose vector folder survived without its
// metadata (Chroma 1.0.15+ keeps the HNSW folder of every deleted
// collection; 0.4-0.6 also keep the deleted collection's records in SQLite).
//
// Plan (read-only): every orphan HNSW folder becomes one item: ids and
// vectors always (labels -> ids through the pickle), documents and metadata
// when rows of a deleted metadata segment with the same ids are still in
// chroma.sqlite3. Metadata-only orphans are listed as not executable.
//
// Execute: recreates each item through a running Chroma's HTTP API in
// batches and verifies the count. Never writes to the folder itself.
#ifndef VECSAFE_SOURCES_CHROMA_RECOVER_H_
#define VECSAFE_SOURCES_CHROMA_RECOVER_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sources/chroma/chroma_http.h"
#include "vecsafe/status.h"

namespace vecsafe::chroma {

inline constexpr int kRecoveryPlanVersion = 1;

// Builds the plan document (docs/chroma.md, "Recovery plan"). Errors: those
// of LoadChromaDirectory.
Result<nlohmann::json> BuildRecoveryPlan(const std::string& path);

// Checks a plan edited by hand: version, item fields and types, folder names
// that are UUIDs and exist under the plan's path, valid and unique names.
// Errors: kInvalidArgument naming the first bad field.
Status ValidateRecoveryPlan(const nlohmann::json& plan, const std::string& path);

// The records of one orphan folder (+ SQLite rows), ready to send.
struct RecoveredCollection {
  std::string name;
  nlohmann::json metadata;  // collection metadata to create with (hnsw:space)
  RecordBatch records;
};
// Reads one plan item's records. Errors: kDataLoss when the folder's files
// no longer match the plan (dimension/count changed).
Result<RecoveredCollection> ReadPlanItem(const std::string& path, const nlohmann::json& item);

struct ItemResult {
  std::string folder;
  std::string name;
  bool ok = false;
  int64_t expected = 0;
  int64_t count = 0;
  std::string error;
};

// Executes every executable item (or only those named in `only`), one by one,
// batched by `batch_size`. A failed item does not stop the others.
// Errors (whole call): bad plan, server unreachable.
Result<std::vector<ItemResult>> ExecuteRecoveryPlan(const nlohmann::json& plan,
                                                    const std::string& path,
                                                    const std::string& server_url,
                                                    size_t batch_size = 500);

// Sends `rc` to the server as a new collection, batched, and verifies the
// count. Shared with per-collection restore and safe delete's rollback.
Result<int64_t> UploadCollection(ChromaHttp& http, const RecoveredCollection& rc,
                                 size_t batch_size);

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_RECOVER_H_
