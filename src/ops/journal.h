// The operation journal: an append-only record of every operation vecsafe
// performs (backups, restores, repairs, safe deletes and renames, config
// changes, ...), kept in SQLite (WAL mode) in the state folder.
//
// Rows are never updated or deleted: SQLite triggers refuse UPDATE and DELETE,
// so even a bug cannot rewrite history. A long operation appends a "started"
// row and later a final row ("ok", "failed", "rolled_back", "cancelled") with
// the same op_id; readers pair them by op_id.
//
// Secrets never reach the journal: Append() redacts every parameter whose key
// looks like a secret (see RedactSecrets) and the actor is a token *name* or
// "cli:<user>", never a token value.
//
// Thread safety: a Journal may be shared by threads; calls are serialized by an
// internal mutex. Several processes may append to the same file at once (SQLite
// locking with a busy timeout).
#ifndef VECSAFE_OPS_JOURNAL_H_
#define VECSAFE_OPS_JOURNAL_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vecsafe/status.h"

struct sqlite3;

namespace vecsafe::ops {

struct JournalEntry {
  int64_t id = 0;       // assigned by Append; increasing
  int64_t time_ms = 0;  // Unix time in milliseconds; Append fills it when 0
  std::string op_id;    // links the rows of one operation; Append makes one when empty
  std::string actor;    // token name or "cli:<user>" or "scheduler"; never a secret
  std::string kind;     // e.g. "backup", "restore", "collection.delete", "config.update"
  std::string target;   // what was acted on: a path, URL, collection or snapshot id
  nlohmann::json params = nlohmann::json::object();  // redacted by Append
  std::string result;        // "started", "ok", "failed", "rolled_back", "cancelled"
  std::string error;         // the Status text when result is not ok
  std::string backup_id;     // snapshot id taken by or for this operation, if any
  int64_t duration_ms = -1;  // -1 when unknown (e.g. a "started" row)

  nlohmann::json ToJson() const;
};

struct JournalQuery {
  std::optional<int64_t> since_ms;  // inclusive
  std::optional<int64_t> until_ms;  // exclusive
  std::string kind;                 // exact match when not empty
  std::string target;               // exact match when not empty
  std::string op_id;                // exact match when not empty
  int64_t after_id = 0;             // only rows with id > after_id (paging)
  int limit = 100;                  // at most this many rows, newest first; 1..10000
};

class Journal {
 public:
  // Opens (creating when missing) `<state_dir>/journal.sqlite3` in WAL mode.
  // Fails with kIoError/kPermissionDenied when the folder cannot be created or
  // the file cannot be opened, kDataLoss when it is not a journal.
  static Result<std::unique_ptr<Journal>> Open(const std::filesystem::path& state_dir);

  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one row (params redacted) and returns it with id/time/op_id set.
  Result<JournalEntry> Append(JournalEntry entry);

  // Rows matching `q`, newest first.
  Result<std::vector<JournalEntry>> Query(const JournalQuery& q);

  const std::filesystem::path& path() const { return path_; }

 private:
  Journal(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  std::mutex mu_;
  sqlite3* db_;  // owned; guarded by mu_
  std::filesystem::path path_;
};

// Replaces the value of every key that names a secret (password, secret,
// token, api_key, api-key, key, credentials, authorization, ... in any case)
// by "***", recursively. Used for the journal, API responses and logs.
nlohmann::json RedactSecrets(const nlohmann::json& value);
// True when `key` names a secret (see RedactSecrets).
bool IsSecretKey(std::string_view key);

// The actor string: $VECSAFE_ACTOR when set (the daemon sets it for the verbs
// it runs, e.g. "token:ops"), else "cli:<user>" for the current OS user.
std::string CliActor();

// The state folder: $VECSAFE_STATE_DIR, else $XDG_STATE_HOME/vecsafe, else
// $HOME/.local/state/vecsafe, else /var/lib/vecsafe.
std::filesystem::path DefaultStateDir();

// A new random operation id ("op-" + 16 hex digits).
std::string NewOperationId();

}  // namespace vecsafe::ops

#endif  // VECSAFE_OPS_JOURNAL_H_
