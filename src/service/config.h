// The daemon's configuration: one JSON document (docs/config.md, schema in
// docs/config.schema.json), plus the keys and environment variables of the
// deployments vecsafe replaces:
//   - the Chroma "robust management" config file keys (chroma_data_path,
//     backup_root_path, backup_retention_days, backup_retention_count,
//     auto_backup_enabled, auto_backup_interval_hours, health_check_enabled,
//     health_check_interval_hours, auto_repair_enabled, ...), accepted at the
//     top level of the document;
//   - the Qdrant backup service's environment (QDRANT_HOST, QDRANT_PORT,
//     QDRANT_API_KEY, GCS_BUCKET_NAME, GCS_FOLDER_PREFIX, BACKUP_LOCAL_PATH,
//     GOOGLE_APPLICATION_CREDENTIALS), read from the process environment and
//     from a .env file.
// Both are translated into the native model below, so the rest of the daemon
// sees one shape.
//
// Validation never stops at the first problem: every error names the field as
// a JSON pointer ("/schedules/2/cron") and says why.
//
// A Config is immutable once built; the daemon swaps a shared_ptr<const
// Config> atomically on reload, so a running job keeps the config it started
// with.
#ifndef VECSAFE_SERVICE_CONFIG_H_
#define VECSAFE_SERVICE_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::service {

enum class SourceType { kChroma, kQdrant, kDir };
enum class JobKind { kBackup, kRetention, kCheck, kVerify };
enum class MissedRunPolicy { kRunOnce, kSkip };
enum class Role { kReadOnly = 0, kOperator = 1, kAdmin = 2 };
enum class WebhookFormat { kJson, kSlack };

std::string_view ToString(SourceType t);
std::string_view ToString(JobKind k);
std::string_view ToString(MissedRunPolicy p);
std::string_view ToString(Role r);
std::string_view ToString(WebhookFormat f);
std::optional<Role> ParseRole(std::string_view s);

struct SourceConfig {
  std::string name;
  SourceType type = SourceType::kDir;
  std::string path;        // chroma, dir: the data folder
  std::string server_url;  // chroma: the server's URL (per-collection restore, safe ops)
  std::string url;         // qdrant: the server's URL
  std::string api_key;     // qdrant: the API key (secret; never logged)
  std::vector<std::string> collections;  // qdrant: empty means all
  std::string repository;                // name of the repository that receives its backups
  bool auto_repair = false;              // chroma: repair minor findings after a check
  bool deep_check = false;               // chroma: `check --deep`
};

struct RetentionConfig {
  int keep_last = 0, keep_hourly = 0, keep_daily = 0, keep_weekly = 0, keep_monthly = 0,
      keep_yearly = 0;
  int keep_within_days = 0;
  std::vector<std::string> keep_tags;
  bool prune = true;  // run prune after forget
  bool empty() const {
    return keep_last == 0 && keep_hourly == 0 && keep_daily == 0 && keep_weekly == 0 &&
           keep_monthly == 0 && keep_yearly == 0 && keep_within_days == 0 && keep_tags.empty();
  }
};

struct RepositoryConfig {
  std::string name;
  std::string url;               // a path, s3://bucket/prefix or gs://bucket/prefix
  std::string password_env;      // name of the variable holding the password
  std::string password_file;     // file holding the password
  std::string credentials_file;  // GOOGLE_APPLICATION_CREDENTIALS for gs://
  RetentionConfig retention;
};

struct ScheduleConfig {
  std::string name;  // unique; defaults to "<job>:<source or repository>"
  JobKind job = JobKind::kBackup;
  std::string source;      // backup, check
  std::string repository;  // retention, verify
  std::string cron;        // 5-field cron or @hourly...; or
  double every_hours = 0;  // an interval as in old configs; or
  int every_seconds = 0;   // an interval in seconds (meant for tests)
  std::string time_zone;   // empty: the config's time_zone
  bool enabled = true;
  std::optional<MissedRunPolicy> missed;  // empty: the config's missed_runs
  bool read_data = false;                 // verify: --read-data
  double read_data_percent = 0;           // verify: sample this share of packs (0 = all)
};

struct WebhookConfig {
  std::string name;
  std::string url;  // secret-ish (Slack hook URLs are credentials); never logged
  WebhookFormat format = WebhookFormat::kJson;
};

struct AlertConfig {
  std::vector<WebhookConfig> webhooks;
  bool on_check_failure = true;
  int backup_failures_in_row = 3;  // alert when this many backups of a source fail in a row
  double disk_usage_percent = 90;  // alert above this usage of data and backup paths
  int orphan_threshold = 10;       // alert when a check finds at least this many orphans
  int cooldown_minutes = 60;       // the same alert is sent at most once per cooldown
};

struct TokenConfig {
  std::string name;
  Role role = Role::kReadOnly;
  std::string sha256;  // hex SHA-256 of the token; the token itself is never kept
};

struct Config {
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;
  std::string state_dir;  // empty: ops::DefaultStateDir()
  std::string time_zone = "UTC";
  MissedRunPolicy missed_runs = MissedRunPolicy::kRunOnce;
  std::string tls_cert_file, tls_key_file;  // both or neither
  int64_t max_body_bytes = 1 << 20;
  int max_concurrent_jobs = 2;
  std::string tokens_file;
  std::vector<TokenConfig> tokens;
  std::vector<RepositoryConfig> repositories;
  std::vector<SourceConfig> sources;
  std::vector<ScheduleConfig> schedules;
  AlertConfig alerts;
  // The document as given (after .env/legacy translation is *not* applied),
  // kept for GET /config (redacted) and for merging legacy updates.
  nlohmann::json document = nlohmann::json::object();
  // The legacy Chroma keys as they apply now (for GET /api/robust/config).
  nlohmann::json legacy = nlohmann::json::object();

  const SourceConfig* FindSource(std::string_view name) const;
  const RepositoryConfig* FindRepository(std::string_view name) const;
  const ScheduleConfig* FindSchedule(std::string_view name) const;
  // The document with secrets replaced by "***".
  nlohmann::json Redacted() const;
};

struct ConfigError {
  std::string pointer;  // JSON pointer of the field, "" for the whole document
  std::string reason;
  nlohmann::json ToJson() const { return {{"field", pointer}, {"reason", reason}}; }
};

// Variables from the process environment and an optional .env file; the
// process environment wins, as with docker compose.
using EnvMap = std::map<std::string, std::string>;
EnvMap ProcessEnvironment();
// Parses a .env file: KEY=VALUE lines, `export ` prefix, '#' comments, single
// or double quotes. Errors name the line.
Result<EnvMap> ParseDotEnv(std::string_view text);
Result<EnvMap> LoadDotEnv(const std::filesystem::path& file);

struct ConfigLoad {
  std::shared_ptr<const Config> config;  // set when errors is empty
  std::vector<ConfigError> errors;
};

// Builds and validates a Config from `doc` and `env`. Never throws.
// `base_dir` resolves relative file names (tokens_file, tls files).
ConfigLoad BuildConfig(const nlohmann::json& doc, const EnvMap& env,
                       const std::filesystem::path& base_dir = {});
// Parses text first (a syntax error is reported with its byte offset).
ConfigLoad BuildConfigFromText(std::string_view text, const EnvMap& env,
                               const std::filesystem::path& base_dir = {});
// Reads the file; an empty path gives a config from the environment alone.
ConfigLoad LoadConfigFile(const std::filesystem::path& file, const EnvMap& env);

// One Status (kInvalidArgument) listing every error, for the CLI.
Status ErrorsToStatus(const std::vector<ConfigError>& errors, std::string_view what);

// Names of the templates and the documents they give.
std::vector<std::string> TemplateNames();
std::optional<nlohmann::json> TemplateDocument(std::string_view name);
// The legacy keys a template sets (the old service's PRODUCTION/DEVELOPMENT
// presets), for POST /api/robust/config/template/{name}.
std::optional<nlohmann::json> TemplateLegacyKeys(std::string_view name);

// Applies legacy updates ({"backup_retention_days": 30, ...}) to a document:
// returns the new document, or errors naming each bad key.
Result<nlohmann::json> ApplyLegacyUpdates(const nlohmann::json& doc, const nlohmann::json& updates,
                                          std::vector<ConfigError>* errors);

// Hex SHA-256 (used for tokens).
std::string Sha256Hex(std::string_view data);

// Loads a tokens file: one token per line "NAME ROLE TOKEN" ('#' comments).
Result<std::vector<TokenConfig>> LoadTokensFile(const std::filesystem::path& file);

}  // namespace vecsafe::service

#endif  // VECSAFE_SERVICE_CONFIG_H_
