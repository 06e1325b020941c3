#include "service/config.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "ops/journal.h"
#include "service/cron.h"

extern char** environ;

namespace vecsafe::service {
namespace {

using json = nlohmann::json;

std::string Esc(std::string_view key) {  // JSON pointer escaping
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_float:
      return "a number";
    default:
      return "an integer";
  }
}

// The Chroma deployments' config keys (and their old defaults where the old
// service had one). Keys other than the first nine are accepted and kept for
// GET /api/robust/config but have no effect in vecsafe.
const std::set<std::string>& LegacyKeys() {
  static const std::set<std::string> keys = {
      "chroma_data_path",         "backup_root_path",
      "backup_retention_days",    "backup_retention_count",
      "auto_backup_enabled",      "auto_backup_interval_hours",
      "health_check_enabled",     "health_check_interval_hours",
      "auto_repair_enabled",      "transaction_timeout_seconds",
      "enable_operation_logging", "quarantine_enabled",
      "recovery_attempts",        "migration_backup_enabled",
      "version_check_enabled"};
  return keys;
}

class Reader {
 public:
  explicit Reader(std::vector<ConfigError>* errors) : errors_(errors) {}

  void Error(std::string pointer, std::string reason) {
    errors_->push_back({std::move(pointer), std::move(reason)});
  }

  void KnownKeys(const json& obj, const std::string& ptr, std::initializer_list<const char*> keys,
                 bool allow_legacy = false) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool known =
          std::any_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; });
      if (!known && allow_legacy && LegacyKeys().count(it.key()) > 0) known = true;
      if (!known) Error(ptr + "/" + Esc(it.key()), "unknown field");
    }
  }

  bool String(const json& obj, const char* key, const std::string& ptr, std::string* out,
              bool required = false, bool non_empty = true) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) Error(ptr + "/" + key, "is required");
      return false;
    }
    if (!it->is_string()) {
      Error(ptr + "/" + key, "must be a string, not " + TypeName(*it));
      return false;
    }
    if (non_empty && it->get_ref<const std::string&>().empty()) {
      Error(ptr + "/" + key, "must not be empty");
      return false;
    }
    *out = it->get<std::string>();
    return true;
  }

  bool Bool(const json& obj, const char* key, const std::string& ptr, bool* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_boolean()) {
      Error(ptr + "/" + key, "must be true or false, not " + TypeName(*it));
      return false;
    }
    *out = it->get<bool>();
    return true;
  }

  bool Int(const json& obj, const char* key, const std::string& ptr, int64_t lo, int64_t hi,
           int64_t* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_number_integer() && !it->is_number_unsigned()) {
      Error(ptr + "/" + key, "must be an integer, not " + TypeName(*it));
      return false;
    }
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi)) {
      Error(ptr + "/" + key, "must be at most " + std::to_string(hi));
      return false;
    }
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi) {
      Error(ptr + "/" + key, "must be from " + std::to_string(lo) + " to " + std::to_string(hi) +
                                 ", not " + std::to_string(v));
      return false;
    }
    *out = v;
    return true;
  }
  bool Int(const json& obj, const char* key, const std::string& ptr, int64_t lo, int64_t hi,
           int* out) {
    int64_t v;
    if (!Int(obj, key, ptr, lo, hi, &v)) return false;
    *out = static_cast<int>(v);
    return true;
  }

  bool Number(const json& obj, const char* key, const std::string& ptr, double lo, double hi,
              double* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_number()) {
      Error(ptr + "/" + key, "must be a number, not " + TypeName(*it));
      return false;
    }
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < lo || v > hi) {
      std::ostringstream os;
      os << "must be from " << lo << " to " << hi;
      Error(ptr + "/" + key, os.str());
      return false;
    }
    *out = v;
    return true;
  }

  bool StringArray(const json& obj, const char* key, const std::string& ptr,
                   std::vector<std::string>* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_array()) {
      Error(ptr + "/" + key, "must be an array of strings, not " + TypeName(*it));
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        Error(ptr + "/" + key + "/" + std::to_string(i), "must be a non-empty string");
        ok = false;
      } else {
        out->push_back(v.get<std::string>());
      }
    }
    return ok;
  }

  // Returns the array at key (or nullptr), reporting a wrong type.
  const json* Array(const json& obj, const char* key, const std::string& ptr) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_array()) {
      Error(ptr + "/" + key, "must be an array, not " + TypeName(*it));
      return nullptr;
    }
    return &*it;
  }
  const json* Object(const json& obj, const char* key, const std::string& ptr) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_object()) {
      Error(ptr + "/" + key, "must be an object, not " + TypeName(*it));
      return nullptr;
    }
    return &*it;
  }

 private:
  std::vector<ConfigError>* errors_;
};

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

bool ValidHttpUrl(const std::string& s) {
  return (s.rfind("http://", 0) == 0 && s.size() > 7) ||
         (s.rfind("https://", 0) == 0 && s.size() > 8);
}

bool ValidRepoUrl(const std::string& s) {
  if (s.rfind("s3://", 0) == 0 || s.rfind("gs://", 0) == 0) {
    const std::string rest = s.substr(5);
    return !rest.empty() && rest[0] != '/';
  }
  return !s.empty() && s.find("://") == std::string::npos;
}

std::optional<std::pair<std::string, int>> ParseListen(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) return std::nullopt;
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    port = port * 10 + (s[i] - '0');
    if (port > 65535) return std::nullopt;
  }
  if (port < 1) return std::nullopt;
  return std::make_pair(host, port);
}

std::string EnvGet(const EnvMap& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

std::filesystem::path Resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty() || base.empty() || std::filesystem::path(p).is_absolute()) return p;
  return base / p;
}

// Translates the old Chroma keys and the Qdrant environment into native
// sections appended to `doc` (only where the document does not already say).
json Translate(const json& doc, const EnvMap& env, json* legacy_out) {
  json out = doc;
  json legacy = json::object();
  for (const auto& key : LegacyKeys()) {
    if (doc.contains(key)) legacy[key] = doc[key];
  }
  auto ensure_array = [&](const char* key) {
    if (!out.contains(key) || out[key].is_null()) out[key] = json::array();
  };
  auto has_named = [&](const char* section, const std::string& name) {
    if (!out.contains(section) || !out[section].is_array()) return false;
    for (const auto& s : out[section]) {
      if (s.is_object() && s.value("name", "") == name) return true;
    }
    return false;
  };
  // Qdrant environment first: its repository becomes the default one when
  // the document has none.
  const std::string qhost = EnvGet(env, "QDRANT_HOST");
  const std::string bucket = EnvGet(env, "GCS_BUCKET_NAME");
  const std::string local = EnvGet(env, "BACKUP_LOCAL_PATH");
  const bool have_repos = out.contains("repositories") && out["repositories"].is_array() &&
                          !out["repositories"].empty();
  std::string env_repo;
  if (!have_repos && (!bucket.empty() || !local.empty())) {
    ensure_array("repositories");
    json r = {{"name", "default"}};
    if (!bucket.empty()) {
      std::string prefix = EnvGet(env, "GCS_FOLDER_PREFIX");
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      r["url"] = "gs://" + bucket + (prefix.empty() ? "" : "/" + prefix);
      const std::string creds = EnvGet(env, "GOOGLE_APPLICATION_CREDENTIALS");
      if (!creds.empty()) r["credentials_file"] = creds;
    } else {
      r["url"] = local;
    }
    out["repositories"].push_back(r);
    env_repo = "default";
  }
  if (!qhost.empty() && !has_named("sources", "qdrant")) {
    bool any_qdrant = false;
    if (out.contains("sources") && out["sources"].is_array()) {
      for (const auto& s : out["sources"]) {
        if (s.is_object() && s.value("type", "") == "qdrant") any_qdrant = true;
      }
    }
    if (!any_qdrant) {
      ensure_array("sources");
      std::string port = EnvGet(env, "QDRANT_PORT");
      if (port.empty()) port = "6333";
      std::string host = qhost;
      std::string url = host.find("://") != std::string::npos ? host : "http://" + host;
      url += ":" + port;
      json s = {{"name", "qdrant"}, {"type", "qdrant"}, {"url", url}};
      const std::string key = EnvGet(env, "QDRANT_API_KEY");
      if (!key.empty()) s["api_key"] = key;
      out["sources"].push_back(s);
      // The old service was called hourly by an external scheduler.
      ensure_array("schedules");
      out["schedules"].push_back({{"job", "backup"}, {"source", "qdrant"}, {"cron", "@hourly"}});
    }
  }
  // Old Chroma keys.
  if (doc.contains("backup_root_path") && doc["backup_root_path"].is_string() &&
      !has_named("repositories", "chroma-backups") &&
      !(out.contains("repositories") && out["repositories"].is_array() &&
        !out["repositories"].empty())) {
    ensure_array("repositories");
    json r = {{"name", "chroma-backups"}, {"url", doc["backup_root_path"]}};
    json ret = json::object();
    if (doc.contains("backup_retention_count")) ret["keep_last"] = doc["backup_retention_count"];
    if (doc.contains("backup_retention_days")) {
      ret["keep_within_days"] = doc["backup_retention_days"];
    }
    if (!ret.empty()) r["retention"] = ret;
    out["repositories"].push_back(r);
  } else if (out.contains("repositories") && out["repositories"].is_array() &&
             !out["repositories"].empty() && out["repositories"][0].is_object() &&
             !out["repositories"][0].contains("retention") &&
             (doc.contains("backup_retention_count") || doc.contains("backup_retention_days"))) {
    json ret = json::object();
    if (doc.contains("backup_retention_count")) ret["keep_last"] = doc["backup_retention_count"];
    if (doc.contains("backup_retention_days")) {
      ret["keep_within_days"] = doc["backup_retention_days"];
    }
    out["repositories"][0]["retention"] = ret;
  }
  if (doc.contains("chroma_data_path") && doc["chroma_data_path"].is_string() &&
      !has_named("sources", "chroma")) {
    ensure_array("sources");
    json s = {{"name", "chroma"}, {"type", "chroma"}, {"path", doc["chroma_data_path"]}};
    if (doc.contains("auto_repair_enabled")) s["auto_repair"] = doc["auto_repair_enabled"];
    out["sources"].push_back(s);
    ensure_array("schedules");
    const bool backup_on = !doc.contains("auto_backup_enabled") ||
                           !doc["auto_backup_enabled"].is_boolean() ||
                           doc["auto_backup_enabled"].get<bool>();
    json every =
        doc.contains("auto_backup_interval_hours") ? doc["auto_backup_interval_hours"] : json(24);
    out["schedules"].push_back(
        {{"job", "backup"}, {"source", "chroma"}, {"every_hours", every}, {"enabled", backup_on}});
    const bool check_on = !doc.contains("health_check_enabled") ||
                          !doc["health_check_enabled"].is_boolean() ||
                          doc["health_check_enabled"].get<bool>();
    json check_every =
        doc.contains("health_check_interval_hours") ? doc["health_check_interval_hours"] : json(1);
    out["schedules"].push_back({{"job", "check"},
                                {"source", "chroma"},
                                {"every_hours", check_every},
                                {"enabled", check_on}});
  }
  if (!legacy.empty() && !out.contains("schedules")) out["schedules"] = json::array();
  *legacy_out = legacy;
  (void)env_repo;
  return out;
}

// Legacy key types, checked with pointers at the top level.
void ValidateLegacy(const json& doc, Reader& r) {
  std::string s;
  bool b;
  int64_t n;
  r.String(doc, "chroma_data_path", "", &s);
  r.String(doc, "backup_root_path", "", &s);
  r.Int(doc, "backup_retention_days", "", 1, 36500, &n);
  r.Int(doc, "backup_retention_count", "", 1, 100000, &n);
  r.Bool(doc, "auto_backup_enabled", "", &b);
  r.Int(doc, "auto_backup_interval_hours", "", 1, 8760, &n);
  r.Bool(doc, "health_check_enabled", "", &b);
  r.Int(doc, "health_check_interval_hours", "", 1, 8760, &n);
  r.Bool(doc, "auto_repair_enabled", "", &b);
  r.Int(doc, "transaction_timeout_seconds", "", 30, 86400, &n);
  r.Bool(doc, "enable_operation_logging", "", &b);
  r.Bool(doc, "quarantine_enabled", "", &b);
  r.Int(doc, "recovery_attempts", "", 0, 100, &n);
  r.Bool(doc, "migration_backup_enabled", "", &b);
  r.Bool(doc, "version_check_enabled", "", &b);
}

}  // namespace

std::string_view ToString(SourceType t) {
  switch (t) {
    case SourceType::kChroma:
      return "chroma";
    case SourceType::kQdrant:
      return "qdrant";
    case SourceType::kDir:
      return "dir";
  }
  return "?";
}
std::string_view ToString(JobKind k) {
  switch (k) {
    case JobKind::kBackup:
      return "backup";
    case JobKind::kRetention:
      return "retention";
    case JobKind::kCheck:
      return "check";
    case JobKind::kVerify:
      return "verify";
  }
  return "?";
}
std::string_view ToString(MissedRunPolicy p) {
  return p == MissedRunPolicy::kRunOnce ? "run_once" : "skip";
}
std::string_view ToString(Role r) {
  switch (r) {
    case Role::kReadOnly:
      return "read-only";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}
std::string_view ToString(WebhookFormat f) { return f == WebhookFormat::kSlack ? "slack" : "json"; }

std::optional<Role> ParseRole(std::string_view s) {
  if (s == "read-only" || s == "readonly" || s == "read") return Role::kReadOnly;
  if (s == "operator") return Role::kOperator;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

const SourceConfig* Config::FindSource(std::string_view name) const {
  for (const auto& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}
const RepositoryConfig* Config::FindRepository(std::string_view name) const {
  for (const auto& r : repositories) {
    if (r.name == name) return &r;
  }
  return nullptr;
}
const ScheduleConfig* Config::FindSchedule(std::string_view name) const {
  for (const auto& s : schedules) {
    if (s.name == name) return &s;
  }
  return nullptr;
}
nlohmann::json Config::Redacted() const {
  json out = ops::RedactSecrets(document);
  // Webhook URLs carry their credential in the path (Slack).
  if (out.contains("alerts") && out["alerts"].is_object() && out["alerts"].contains("webhooks") &&
      out["alerts"]["webhooks"].is_array()) {
    for (auto& w : out["alerts"]["webhooks"]) {
      if (w.is_object() && w.contains("url")) w["url"] = "***";
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

EnvMap ProcessEnvironment() {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Result<EnvMap> ParseDotEnv(std::string_view text) {
  EnvMap env;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') {
      if (nl == text.size()) break;
      continue;
    }
    line = line.substr(b);
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    const size_t eq = line.find('=');
    std::string key = line.substr(0, eq == std::string::npos ? 0 : eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    const bool key_ok = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
                        std::all_of(key.begin(), key.end(), [](unsigned char c) {
                          return std::isalnum(c) || c == '_' || c == '.';
                        });
    if (eq == std::string::npos || !key_ok) {
      return InvalidArgument(".env line " + std::to_string(line_no) + " is not KEY=VALUE",
                             "Write one VARIABLE=value per line; '#' starts a comment.");
    }
    std::string value = line.substr(eq + 1);
    size_t vb = value.find_first_not_of(" \t");
    value = vb == std::string::npos ? "" : value.substr(vb);
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      const char q = value[0];
      const size_t end = value.find(q, 1);
      if (end == std::string::npos) {
        return InvalidArgument(".env line " + std::to_string(line_no) + " has an unclosed quote",
                               "Close the quote on the same line.");
      }
      std::string inner = value.substr(1, end - 1);
      if (q == '"') {
        std::string unescaped;
        for (size_t i = 0; i < inner.size(); ++i) {
          if (inner[i] == '\\' && i + 1 < inner.size()) {
            const char c = inner[++i];
            unescaped += c == 'n' ? '\n' : c;
          } else {
            unescaped += inner[i];
          }
        }
        inner = unescaped;
      }
      value = inner;
    } else {
      const size_t hash = value.find(" #");
      if (hash != std::string::npos) value = value.substr(0, hash);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    }
    env[key] = value;
    if (nl == text.size()) break;
  }
  return env;
}

Result<EnvMap> LoadDotEnv(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return ErrnoToStatus(errno, "reading the .env file", file.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto env = ParseDotEnv(text);
  if (!env.ok()) return env.status().WithContext(file.string());
  return env;
}

Result<std::vector<TokenConfig>> LoadTokensFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return ErrnoToStatus(errno, "reading the tokens file", file.string());
  std::vector<TokenConfig> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ls(line);
    std::string name, role, token, extra;
    ls >> name;
    if (name.empty() || name[0] == '#') continue;
    ls >> role >> token >> extra;
    const auto r = ParseRole(role);
    if (token.empty() || !extra.empty() || !r || !ValidName(name)) {
      // Never echo the line: it holds a secret.
      return InvalidArgument("tokens file " + file.string() + " line " + std::to_string(line_no) +
                                 " is not \"NAME ROLE TOKEN\"",
                             "ROLE is read-only, operator or admin; NAME is letters, digits, "
                             "'-', '_' or '.'.");
    }
    if (token.size() < 16) {
      return InvalidArgument("tokens file " + file.string() + " line " + std::to_string(line_no) +
                                 ": the token of \"" + name + "\" is shorter than 16 characters",
                             "Generate one with `openssl rand -hex 32`.");
    }
    out.push_back({name, *r, Sha256Hex(token)});
  }
  return out;
}

ConfigLoad BuildConfig(const nlohmann::json& input, const EnvMap& env,
                       const std::filesystem::path& base_dir) {
  ConfigLoad result;
  std::vector<ConfigError>& errors = result.errors;
  Reader r(&errors);
  if (!input.is_object()) {
    errors.push_back({"", "the config must be a JSON object, not " + TypeName(input)});
    return result;
  }
  auto cfg = std::make_shared<Config>();
  cfg->document = input;
  ValidateLegacy(input, r);
  const json doc = Translate(input, env, &cfg->legacy);

  r.KnownKeys(doc, "",
              {"listen", "state_dir", "time_zone", "missed_runs", "tls", "limits", "tokens_file",
               "tokens", "repositories", "sources", "schedules", "alerts", "max_concurrent_jobs",
               "$schema", "version"},
              /*allow_legacy=*/true);
  std::string s;
  if (r.String(doc, "listen", "", &s)) {
    auto hp = ParseListen(s);
    if (!hp) {
      r.Error("/listen", "must be HOST:PORT with a port from 1 to 65535");
    } else {
      cfg->listen_host = hp->first;
      cfg->listen_port = hp->second;
    }
  }
  r.String(doc, "state_dir", "", &cfg->state_dir);
  if (r.String(doc, "time_zone", "", &s)) {
    auto tz = TimeZone::Load(s);
    if (!tz.ok()) {
      r.Error("/time_zone", tz.status().message());
    } else {
      cfg->time_zone = s;
    }
  }
  if (r.String(doc, "missed_runs", "", &s)) {
    if (s == "run_once") {
      cfg->missed_runs = MissedRunPolicy::kRunOnce;
    } else if (s == "skip") {
      cfg->missed_runs = MissedRunPolicy::kSkip;
    } else {
      r.Error("/missed_runs", "must be \"run_once\" or \"skip\"");
    }
  }
  r.Int(doc, "max_concurrent_jobs", "", 1, 64, &cfg->max_concurrent_jobs);
  if (const json* tls = r.Object(doc, "tls", "")) {
    r.KnownKeys(*tls, "/tls", {"cert_file", "key_file"});
    const bool has_cert = r.String(*tls, "cert_file", "/tls", &cfg->tls_cert_file);
    const bool has_key = r.String(*tls, "key_file", "/tls", &cfg->tls_key_file);
    if (has_cert != has_key) {
      r.Error(has_cert ? "/tls/key_file" : "/tls/cert_file",
              "is required when the other TLS file is given");
    }
    for (auto [field, value] :
         {std::pair{"cert_file", &cfg->tls_cert_file}, std::pair{"key_file", &cfg->tls_key_file}}) {
      if (value->empty()) continue;
      *value = Resolve(base_dir, *value).string();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*value, ec)) {
        r.Error(std::string("/tls/") + field, "file " + *value + " does not exist");
      }
    }
  }
  if (const json* limits = r.Object(doc, "limits", "")) {
    r.KnownKeys(*limits, "/limits", {"max_body_bytes"});
    r.Int(*limits, "max_body_bytes", "/limits", 1024, int64_t{1} << 30, &cfg->max_body_bytes);
  }
  std::set<std::string> token_names;
  if (r.String(doc, "tokens_file", "", &cfg->tokens_file)) {
    cfg->tokens_file = Resolve(base_dir, cfg->tokens_file).string();
    auto toks = LoadTokensFile(cfg->tokens_file);
    if (!toks.ok()) {
      r.Error("/tokens_file", toks.status().message());
    } else {
      for (auto& t : *toks) {
        if (!token_names.insert(t.name).second) {
          r.Error("/tokens_file", "token name \"" + t.name + "\" is used twice");
        }
        cfg->tokens.push_back(t);
      }
    }
  }
  if (const json* toks = r.Array(doc, "tokens", "")) {
    for (size_t i = 0; i < toks->size(); ++i) {
      const std::string p = "/tokens/" + std::to_string(i);
      const json& t = (*toks)[i];
      if (!t.is_object()) {
        r.Error(p, "must be an object");
        continue;
      }
      r.KnownKeys(t, p, {"name", "role", "sha256", "token_env"});
      TokenConfig tc;
      if (r.String(t, "name", p, &tc.name, true) && !ValidName(tc.name)) {
        r.Error(p + "/name", "must be 1-64 letters, digits, '-', '_', '.' or ':'");
      }
      if (!tc.name.empty() && !token_names.insert(tc.name).second) {
        r.Error(p + "/name", "token name \"" + tc.name + "\" is used twice");
      }
      if (r.String(t, "role", p, &s, true)) {
        auto role = ParseRole(s);
        if (!role) {
          r.Error(p + "/role", "must be \"read-only\", \"operator\" or \"admin\"");
        } else {
          tc.role = *role;
        }
      }
      std::string sha, token_env;
      const bool has_sha = r.String(t, "sha256", p, &sha);
      const bool has_env = r.String(t, "token_env", p, &token_env);
      if (has_sha) {
        const bool hex = sha.size() == 64 && std::all_of(sha.begin(), sha.end(), [](char c) {
                           return std::isxdigit(static_cast<unsigned char>(c));
                         });
        if (!hex) r.Error(p + "/sha256", "must be 64 hex digits (sha256sum of the token)");
        std::transform(sha.begin(), sha.end(), sha.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        tc.sha256 = sha;
      } else if (has_env) {
        const std::string v = EnvGet(env, token_env.c_str());
        if (v.size() < 16) {
          r.Error(p + "/token_env",
                  "variable " + token_env + " is unset or shorter than 16 characters");
        } else {
          tc.sha256 = Sha256Hex(v);
        }
      } else if (!t.contains("sha256") && !t.contains("token_env")) {
        r.Error(p, "needs \"sha256\" or \"token_env\" (tokens are never stored in the config)");
      }
      if (has_sha && has_env)
        r.Error(p + "/token_env", "give either sha256 or token_env, not both");
      if (!tc.sha256.empty()) cfg->tokens.push_back(tc);
    }
  }
  // VECSAFE_API_TOKEN is an admin token.
  if (const std::string v = EnvGet(env, "VECSAFE_API_TOKEN"); !v.empty()) {
    if (v.size() < 16) {
      r.Error("", "VECSAFE_API_TOKEN is shorter than 16 characters");
    } else {
      cfg->tokens.push_back({"env:VECSAFE_API_TOKEN", Role::kAdmin, Sha256Hex(v)});
    }
  }

  std::set<std::string> repo_names;
  if (const json* repos = r.Array(doc, "repositories", "")) {
    for (size_t i = 0; i < repos->size(); ++i) {
      const std::string p = "/repositories/" + std::to_string(i);
      const json& j = (*repos)[i];
      if (!j.is_object()) {
        r.Error(p, "must be an object");
        continue;
      }
      r.KnownKeys(
          j, p, {"name", "url", "password_env", "password_file", "credentials_file", "retention"});
      RepositoryConfig rc;
      if (r.String(j, "name", p, &rc.name, true)) {
        if (!ValidName(rc.name))
          r.Error(p + "/name", "must be 1-64 letters, digits, '-', '_', '.'");
        if (!repo_names.insert(rc.name).second)
          r.Error(p + "/name", "\"" + rc.name + "\" is used twice");
      }
      if (r.String(j, "url", p, &rc.url, true) && !ValidRepoUrl(rc.url)) {
        r.Error(p + "/url", "must be a path, s3://bucket/prefix or gs://bucket/prefix");
      }
      r.String(j, "password_env", p, &rc.password_env);
      if (r.String(j, "password_file", p, &rc.password_file)) {
        rc.password_file = Resolve(base_dir, rc.password_file).string();
      }
      r.String(j, "credentials_file", p, &rc.credentials_file);
      if (const json* ret = r.Object(j, "retention", p)) {
        const std::string rp = p + "/retention";
        r.KnownKeys(*ret, rp,
                    {"keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                     "keep_yearly", "keep_within_days", "keep_tags", "prune"});
        auto& rt = rc.retention;
        r.Int(*ret, "keep_last", rp, 0, 1000000, &rt.keep_last);
        r.Int(*ret, "keep_hourly", rp, 0, 1000000, &rt.keep_hourly);
        r.Int(*ret, "keep_daily", rp, 0, 1000000, &rt.keep_daily);
        r.Int(*ret, "keep_weekly", rp, 0, 1000000, &rt.keep_weekly);
        r.Int(*ret, "keep_monthly", rp, 0, 1000000, &rt.keep_monthly);
        r.Int(*ret, "keep_yearly", rp, 0, 1000000, &rt.keep_yearly);
        r.Int(*ret, "keep_within_days", rp, 0, 365000, &rt.keep_within_days);
        r.StringArray(*ret, "keep_tags", rp, &rt.keep_tags);
        r.Bool(*ret, "prune", rp, &rt.prune);
      }
      cfg->repositories.push_back(std::move(rc));
    }
  }

  std::set<std::string> source_names;
  if (const json* sources = r.Array(doc, "sources", "")) {
    for (size_t i = 0; i < sources->size(); ++i) {
      const std::string p = "/sources/" + std::to_string(i);
      const json& j = (*sources)[i];
      if (!j.is_object()) {
        r.Error(p, "must be an object");
        continue;
      }
      r.KnownKeys(j, p,
                  {"name", "type", "path", "server_url", "url", "api_key", "api_key_env",
                   "collections", "repository", "auto_repair", "deep_check"});
      SourceConfig sc;
      if (r.String(j, "name", p, &sc.name, true)) {
        if (!ValidName(sc.name))
          r.Error(p + "/name", "must be 1-64 letters, digits, '-', '_', '.'");
        if (!source_names.insert(sc.name).second)
          r.Error(p + "/name", "\"" + sc.name + "\" is used twice");
      }
      if (r.String(j, "type", p, &s, true)) {
        if (s == "chroma") {
          sc.type = SourceType::kChroma;
        } else if (s == "qdrant") {
          sc.type = SourceType::kQdrant;
        } else if (s == "dir") {
          sc.type = SourceType::kDir;
        } else {
          r.Error(p + "/type", "must be \"chroma\", \"qdrant\" or \"dir\", not \"" + s + "\"");
          continue;
        }
      } else {
        continue;
      }
      if (sc.type == SourceType::kQdrant) {
        if (r.String(j, "url", p, &sc.url, true) && !ValidHttpUrl(sc.url)) {
          r.Error(p + "/url", "must start with http:// or https://");
        }
        if (j.contains("path")) r.Error(p + "/path", "is not used by a qdrant source (use url)");
        r.String(j, "api_key", p, &sc.api_key);
        std::string key_env;
        if (r.String(j, "api_key_env", p, &key_env)) {
          sc.api_key = EnvGet(env, key_env.c_str());
          if (sc.api_key.empty()) r.Error(p + "/api_key_env", "variable " + key_env + " is unset");
        }
        r.StringArray(j, "collections", p, &sc.collections);
      } else {
        r.String(j, "path", p, &sc.path, true);
        if (j.contains("url"))
          r.Error(p + "/url",
                  "is not used by a " + std::string(ToString(sc.type)) + " source (use path)");
        if (r.String(j, "server_url", p, &sc.server_url) && !ValidHttpUrl(sc.server_url)) {
          r.Error(p + "/server_url", "must start with http:// or https://");
        }
        r.Bool(j, "auto_repair", p, &sc.auto_repair);
        r.Bool(j, "deep_check", p, &sc.deep_check);
      }
      if (r.String(j, "repository", p, &sc.repository) && !repo_names.count(sc.repository)) {
        r.Error(p + "/repository", "names no repository (\"" + sc.repository + "\")");
      }
      if (sc.repository.empty() && !cfg->repositories.empty()) {
        sc.repository = cfg->repositories.front().name;
      }
      cfg->sources.push_back(std::move(sc));
    }
  }
  // Legacy auto-repair applies to the legacy chroma source.
  if (input.contains("auto_repair_enabled") && input["auto_repair_enabled"].is_boolean()) {
    for (auto& sc : cfg->sources) {
      if (sc.name == "chroma") sc.auto_repair = input["auto_repair_enabled"].get<bool>();
    }
  }

  std::set<std::string> schedule_names;
  if (const json* scheds = r.Array(doc, "schedules", "")) {
    for (size_t i = 0; i < scheds->size(); ++i) {
      const std::string p = "/schedules/" + std::to_string(i);
      const json& j = (*scheds)[i];
      if (!j.is_object()) {
        r.Error(p, "must be an object");
        continue;
      }
      r.KnownKeys(j, p,
                  {"name", "job", "source", "repository", "cron", "every_hours", "every_seconds",
                   "time_zone", "enabled", "missed_runs", "read_data", "read_data_percent"});
      ScheduleConfig sc;
      if (r.String(j, "job", p, &s, true)) {
        if (s == "backup") {
          sc.job = JobKind::kBackup;
        } else if (s == "retention") {
          sc.job = JobKind::kRetention;
        } else if (s == "check") {
          sc.job = JobKind::kCheck;
        } else if (s == "verify") {
          sc.job = JobKind::kVerify;
        } else {
          r.Error(p + "/job", "must be \"backup\", \"retention\", \"check\" or \"verify\"");
          continue;
        }
      } else {
        continue;
      }
      const bool needs_source = sc.job == JobKind::kBackup || sc.job == JobKind::kCheck;
      if (needs_source) {
        if (r.String(j, "source", p, &sc.source, true)) {
          const SourceConfig* src = cfg->FindSource(sc.source);
          if (src == nullptr) {
            r.Error(p + "/source", "names no source (\"" + sc.source + "\")");
          } else if (sc.job == JobKind::kCheck && src->type != SourceType::kChroma) {
            r.Error(p + "/source", "check jobs need a chroma source");
          } else if (sc.job == JobKind::kBackup && src->repository.empty()) {
            r.Error(p + "/source", "source \"" + sc.source + "\" has no repository to back up to");
          }
        }
      } else {
        if (r.String(j, "repository", p, &sc.repository)) {
          if (!repo_names.count(sc.repository)) {
            r.Error(p + "/repository", "names no repository (\"" + sc.repository + "\")");
          }
        } else if (!cfg->repositories.empty()) {
          sc.repository = cfg->repositories.front().name;
        } else {
          r.Error(p + "/repository", "is required (no repository is configured)");
        }
      }
      int timing = 0;
      if (r.String(j, "cron", p, &sc.cron)) {
        ++timing;
        auto c = CronExpr::Parse(sc.cron);
        if (!c.ok()) r.Error(p + "/cron", c.status().message());
      }
      if (r.Number(j, "every_hours", p, 1.0 / 60, 24 * 366, &sc.every_hours)) ++timing;
      if (r.Int(j, "every_seconds", p, 1, 86400 * 366, &sc.every_seconds)) ++timing;
      if (timing == 0 && !j.contains("cron") && !j.contains("every_hours") &&
          !j.contains("every_seconds")) {
        r.Error(p, "needs one of \"cron\", \"every_hours\" or \"every_seconds\"");
      } else if (timing > 1) {
        r.Error(p, "give only one of \"cron\", \"every_hours\" and \"every_seconds\"");
      }
      if (r.String(j, "time_zone", p, &sc.time_zone)) {
        auto tz = TimeZone::Load(sc.time_zone);
        if (!tz.ok()) r.Error(p + "/time_zone", tz.status().message());
      }
      r.Bool(j, "enabled", p, &sc.enabled);
      if (r.String(j, "missed_runs", p, &s)) {
        if (s == "run_once") {
          sc.missed = MissedRunPolicy::kRunOnce;
        } else if (s == "skip") {
          sc.missed = MissedRunPolicy::kSkip;
        } else {
          r.Error(p + "/missed_runs", "must be \"run_once\" or \"skip\"");
        }
      }
      if (j.contains("read_data") || j.contains("read_data_percent")) {
        if (sc.job != JobKind::kVerify) {
          r.Error(p + (j.contains("read_data") ? "/read_data" : "/read_data_percent"),
                  "only verify jobs read data");
        }
        r.Bool(j, "read_data", p, &sc.read_data);
        r.Number(j, "read_data_percent", p, 0, 100, &sc.read_data_percent);
      }
      if (!r.String(j, "name", p, &sc.name)) {
        sc.name = std::string(ToString(sc.job)) + ":" + (needs_source ? sc.source : sc.repository);
        if (sc.job == JobKind::kVerify && sc.read_data) sc.name += ":read-data";
      } else if (!ValidName(sc.name)) {
        r.Error(p + "/name", "must be 1-64 letters, digits, '-', '_', '.' or ':'");
      }
      if (!schedule_names.insert(sc.name).second) {
        r.Error(j.contains("name") ? p + "/name" : p,
                "job name \"" + sc.name + "\" is used twice; give each a distinct \"name\"");
      }
      cfg->schedules.push_back(std::move(sc));
    }
  }

  if (const json* alerts = r.Object(doc, "alerts", "")) {
    r.KnownKeys(*alerts, "/alerts",
                {"webhooks", "on_check_failure", "backup_failures_in_row", "disk_usage_percent",
                 "orphan_threshold", "cooldown_minutes"});
    auto& a = cfg->alerts;
    r.Bool(*alerts, "on_check_failure", "/alerts", &a.on_check_failure);
    r.Int(*alerts, "backup_failures_in_row", "/alerts", 1, 1000, &a.backup_failures_in_row);
    r.Number(*alerts, "disk_usage_percent", "/alerts", 1, 100, &a.disk_usage_percent);
    r.Int(*alerts, "orphan_threshold", "/alerts", 1, 1000000, &a.orphan_threshold);
    r.Int(*alerts, "cooldown_minutes", "/alerts", 0, 10080, &a.cooldown_minutes);
    if (const json* hooks = r.Array(*alerts, "webhooks", "/alerts")) {
      for (size_t i = 0; i < hooks->size(); ++i) {
        const std::string p = "/alerts/webhooks/" + std::to_string(i);
        const json& j = (*hooks)[i];
        if (!j.is_object()) {
          r.Error(p, "must be an object");
          continue;
        }
        r.KnownKeys(j, p, {"name", "url", "format"});
        WebhookConfig w;
        r.String(j, "name", p, &w.name);
        if (r.String(j, "url", p, &w.url, true) && !ValidHttpUrl(w.url)) {
          r.Error(p + "/url", "must start with http:// or https://");
        }
        if (r.String(j, "format", p, &s)) {
          if (s == "json") {
            w.format = WebhookFormat::kJson;
          } else if (s == "slack") {
            w.format = WebhookFormat::kSlack;
          } else {
            r.Error(p + "/format", "must be \"json\" or \"slack\"");
          }
        }
        if (w.name.empty()) w.name = "webhook-" + std::to_string(i);
        a.webhooks.push_back(std::move(w));
      }
    }
  }

  if (errors.empty()) result.config = std::move(cfg);
  return result;
}

ConfigLoad BuildConfigFromText(std::string_view text, const EnvMap& env,
                               const std::filesystem::path& base_dir) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded()) {
    ConfigLoad out;
    // Find the offset with the exception-throwing parser for a precise message.
    std::string why = "is not valid JSON";
    try {
      const json ignored = json::parse(text, nullptr, true, true);
      (void)ignored;
    } catch (const json::parse_error& e) {
      why = "is not valid JSON (byte " + std::to_string(e.byte) + ")";
    }
    out.errors.push_back({"", why});
    return out;
  }
  return BuildConfig(doc, env, base_dir);
}

ConfigLoad LoadConfigFile(const std::filesystem::path& file, const EnvMap& env) {
  if (file.empty()) return BuildConfig(json::object(), env);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ConfigLoad out;
    out.errors.push_back({"", "cannot read " + file.string() + ": " + std::strerror(errno)});
    return out;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return BuildConfigFromText(text, env, file.parent_path());
}

Status ErrorsToStatus(const std::vector<ConfigError>& errors, std::string_view what) {
  std::string msg = std::string(what) + " has " + std::to_string(errors.size()) +
                    (errors.size() == 1 ? " error" : " errors") + ":";
  for (const auto& e : errors) {
    msg += "\n  " + (e.pointer.empty() ? std::string("(document)") : e.pointer) + ": " + e.reason;
  }
  return InvalidArgument(msg, "Fix each field named above; docs/config.md describes every field.");
}

std::vector<std::string> TemplateNames() { return {"production", "development"}; }

std::optional<nlohmann::json> TemplateLegacyKeys(std::string_view name) {
  if (name == "production") {
    return json{{"backup_retention_days", 90},      {"backup_retention_count", 20},
                {"auto_backup_enabled", true},      {"auto_backup_interval_hours", 12},
                {"health_check_enabled", true},     {"health_check_interval_hours", 1},
                {"auto_repair_enabled", true},      {"transaction_timeout_seconds", 600},
                {"enable_operation_logging", true}, {"quarantine_enabled", true},
                {"recovery_attempts", 5},           {"migration_backup_enabled", true},
                {"version_check_enabled", true}};
  }
  if (name == "development") {
    return json{{"backup_retention_days", 7},       {"backup_retention_count", 5},
                {"auto_backup_enabled", false},     {"auto_backup_interval_hours", 24},
                {"health_check_enabled", true},     {"health_check_interval_hours", 6},
                {"auto_repair_enabled", true},      {"transaction_timeout_seconds", 300},
                {"enable_operation_logging", true}, {"quarantine_enabled", false},
                {"recovery_attempts", 3},           {"migration_backup_enabled", false},
                {"version_check_enabled", false}};
  }
  return std::nullopt;
}

std::optional<nlohmann::json> TemplateDocument(std::string_view name) {
  if (name == "production") {
    return json::parse(R"({
  "listen": "127.0.0.1:8080",
  "state_dir": "/var/lib/vecsafe",
  "time_zone": "UTC",
  "missed_runs": "run_once",
  "tokens_file": "/etc/vecsafe/tokens",
  "limits": {"max_body_bytes": 1048576},
  "repositories": [
    {"name": "main", "url": "/var/backups/vecsafe", "password_file": "/etc/vecsafe/repo-password",
     "retention": {"keep_last": 20, "keep_hourly": 24, "keep_daily": 14, "keep_weekly": 8,
                   "keep_monthly": 12, "keep_within_days": 90, "prune": true}}
  ],
  "sources": [
    {"name": "chroma", "type": "chroma", "path": "/var/lib/chroma",
     "server_url": "http://127.0.0.1:8000", "repository": "main", "auto_repair": true},
    {"name": "qdrant", "type": "qdrant", "url": "http://127.0.0.1:6333",
     "api_key_env": "QDRANT_API_KEY", "repository": "main"}
  ],
  "schedules": [
    {"job": "backup", "source": "chroma", "cron": "0 */12 * * *"},
    {"job": "backup", "source": "qdrant", "cron": "@hourly"},
    {"job": "check", "source": "chroma", "cron": "15 * * * *"},
    {"job": "retention", "repository": "main", "cron": "30 3 * * *"},
    {"job": "verify", "repository": "main", "cron": "0 4 * * *"},
    {"job": "verify", "repository": "main", "cron": "0 5 * * 0", "read_data": true,
     "read_data_percent": 10}
  ],
  "alerts": {"webhooks": [], "on_check_failure": true, "backup_failures_in_row": 2,
             "disk_usage_percent": 85, "orphan_threshold": 1, "cooldown_minutes": 60}
})");
  }
  if (name == "development") {
    return json::parse(R"({
  "listen": "127.0.0.1:8080",
  "time_zone": "UTC",
  "missed_runs": "skip",
  "repositories": [
    {"name": "main", "url": "./vecsafe-repo",
     "retention": {"keep_last": 5, "keep_within_days": 7, "prune": true}}
  ],
  "sources": [
    {"name": "chroma", "type": "chroma", "path": "./chroma-data", "repository": "main",
     "auto_repair": true}
  ],
  "schedules": [
    {"job": "backup", "source": "chroma", "cron": "0 0 * * *", "enabled": false},
    {"job": "check", "source": "chroma", "every_hours": 6},
    {"job": "retention", "repository": "main", "cron": "@daily"},
    {"job": "verify", "repository": "main", "cron": "@daily"}
  ],
  "alerts": {"webhooks": [], "backup_failures_in_row": 3, "disk_usage_percent": 95,
             "orphan_threshold": 10, "cooldown_minutes": 240}
})");
  }
  return std::nullopt;
}

Result<nlohmann::json> ApplyLegacyUpdates(const nlohmann::json& doc, const nlohmann::json& updates,
                                          std::vector<ConfigError>* errors) {
  if (!updates.is_object()) {
    errors->push_back({"/config_updates", "must be an object"});
    return InvalidArgument("config_updates must be an object");
  }
  json out = doc.is_object() ? doc : json::object();
  for (auto it = updates.begin(); it != updates.end(); ++it) {
    if (LegacyKeys().count(it.key()) == 0) {
      errors->push_back({"/config_updates/" + Esc(it.key()), "unknown field"});
      continue;
    }
    out[it.key()] = it.value();
  }
  // Legacy keys drive the translated sections; drop the ones an earlier
  // translation would have kept so that the new values take effect.
  if (!errors->empty()) return InvalidArgument("bad config_updates");
  return out;
}

}  // namespace vecsafe::service
