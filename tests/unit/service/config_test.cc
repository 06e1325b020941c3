#include "service/config.h"

#include <gtest/gtest.h>

#include "service/cron.h"

namespace vecsafe::service {
namespace {

using json = nlohmann::json;

json ValidDoc() {
  return json::parse(R"({
    "listen": "127.0.0.1:9090",
    "time_zone": "Europe/Berlin",
    "repositories": [{"name": "main", "url": "/tmp/repo", "retention": {"keep_last": 3}}],
    "sources": [
      {"name": "c1", "type": "chroma", "path": "/data/chroma", "server_url": "http://127.0.0.1:8000"},
      {"name": "q1", "type": "qdrant", "url": "http://127.0.0.1:6333", "api_key": "k"}
    ],
    "schedules": [
      {"job": "backup", "source": "c1", "cron": "0 * * * *"},
      {"job": "backup", "source": "q1", "every_hours": 1},
      {"job": "check", "source": "c1", "every_seconds": 30},
      {"job": "retention", "repository": "main", "cron": "@daily"},
      {"job": "verify", "repository": "main", "cron": "@weekly", "read_data": true}
    ],
    "alerts": {"webhooks": [{"url": "http://127.0.0.1:9/hook", "format": "slack"}]}
  })");
}

TEST(ConfigTest, ValidDocumentBuilds) {
  ConfigLoad load = BuildConfig(ValidDoc(), {});
  ASSERT_TRUE(load.errors.empty()) << ErrorsToStatus(load.errors, "config").ToString();
  const Config& c = *load.config;
  EXPECT_EQ(c.listen_port, 9090);
  EXPECT_EQ(c.sources.size(), 2u);
  EXPECT_EQ(c.sources[0].repository, "main");  // defaults to the first repository
  EXPECT_EQ(c.schedules.size(), 5u);
  EXPECT_EQ(c.schedules[0].name, "backup:c1");
  EXPECT_EQ(c.schedules[4].name, "verify:main:read-data");
  EXPECT_EQ(c.alerts.webhooks[0].format, WebhookFormat::kSlack);
  EXPECT_EQ(c.Redacted()["sources"][1]["api_key"], "***");
  EXPECT_EQ(c.Redacted()["alerts"]["webhooks"][0]["url"], "***");
}

struct BadCase {
  const char* patch;    // JSON merge patch applied to ValidDoc()
  const char* pointer;  // the field the error must name
};

// Each invalid config must be rejected with the right field named.
const BadCase kBad[] = {
    {R"({"listen": "nohost"})", "/listen"},
    {R"({"listen": "127.0.0.1:70000"})", "/listen"},
    {R"({"listen": 8080})", "/listen"},
    {R"({"time_zone": "Mars/Base"})", "/time_zone"},
    {R"({"missed_runs": "sometimes"})", "/missed_runs"},
    {R"({"surprise": 1})", "/surprise"},
    {R"({"repositories": [{"name": "main"}]})", "/repositories/0/url"},
    {R"({"repositories": [{"name": "main", "url": "ftp://x/y"}]})", "/repositories/0/url"},
    {R"({"repositories": [{"name": "main", "url": "/r", "retention": {"keep_last": -1}}]})",
     "/repositories/0/retention/keep_last"},
    {R"({"repositories": [{"name": "main", "url": "/r", "retention": {"keep_forever": 1}}]})",
     "/repositories/0/retention/keep_forever"},
    {R"({"repositories": [{"name": "main", "url": "/r"}, {"name": "main", "url": "/s"}]})",
     "/repositories/1/name"},
    {R"({"sources": [{"name": "c1", "type": "mongo", "path": "/x"}]})", "/sources/0/type"},
    {R"({"sources": [{"name": "c1", "type": "chroma"}], "schedules": []})", "/sources/0/path"},
    {R"({"sources": [{"name": "q", "type": "qdrant", "url": "localhost:6333"}], "schedules": []})",
     "/sources/0/url"},
    {R"({"sources": [{"name": "bad name!", "type": "dir", "path": "/x"}], "schedules": []})",
     "/sources/0/name"},
    {R"({"sources": [{"name": "c", "type": "dir", "path": "/x", "repository": "nope"}],
         "schedules": []})",
     "/sources/0/repository"},
    {R"({"sources": [{"name": "q", "type": "qdrant", "url": "http://q", "api_key_env": "NOPE_UNSET"}],
         "schedules": []})",
     "/sources/0/api_key_env"},
    {R"({"schedules": [{"job": "backup", "source": "c1", "cron": "61 * * * *"}]})",
     "/schedules/0/cron"},
    {R"({"schedules": [{"job": "backup", "source": "zz", "cron": "@daily"}]})",
     "/schedules/0/source"},
    {R"({"schedules": [{"job": "dance", "source": "c1", "cron": "@daily"}]})", "/schedules/0/job"},
    {R"({"schedules": [{"job": "backup", "source": "c1"}]})", "/schedules/0"},
    {R"({"schedules": [{"job": "backup", "source": "c1", "cron": "@daily", "every_hours": 2}]})",
     "/schedules/0"},
    {R"({"schedules": [{"job": "backup", "source": "c1", "every_hours": 0}]})",
     "/schedules/0/every_hours"},
    {R"({"schedules": [{"job": "check", "source": "q1", "cron": "@daily"}]})",
     "/schedules/0/source"},
    {R"({"schedules": [{"job": "backup", "source": "c1", "cron": "@daily", "time_zone": "X/Y"}]})",
     "/schedules/0/time_zone"},
    {R"({"schedules": [{"job": "backup", "source": "c1", "cron": "@daily", "read_data": true}]})",
     "/schedules/0/read_data"},
    {R"({"schedules": [{"job": "backup", "source": "c1", "cron": "@daily"},
                       {"job": "backup", "source": "c1", "cron": "@hourly"}]})",
     "/schedules/1"},
    {R"({"alerts": {"disk_usage_percent": 150}})", "/alerts/disk_usage_percent"},
    {R"({"alerts": {"webhooks": [{"url": "mailto:x"}]}})", "/alerts/webhooks/0/url"},
    {R"({"alerts": {"webhooks": [{"url": "http://x", "format": "teams"}]}})",
     "/alerts/webhooks/0/format"},
    {R"({"tokens": [{"name": "a", "role": "god", "sha256": "00"}]})", "/tokens/0/role"},
    {R"({"tokens": [{"name": "a", "role": "admin"}]})", "/tokens/0"},
    {R"({"tokens": [{"name": "a", "role": "admin", "sha256": "xyz"}]})", "/tokens/0/sha256"},
    {R"({"tls": {"cert_file": "/nonexistent/cert.pem"}})", "/tls/key_file"},
    {R"({"limits": {"max_body_bytes": 10}})", "/limits/max_body_bytes"},
    {R"({"backup_retention_days": 0})", "/backup_retention_days"},
    {R"({"auto_backup_enabled": "yes"})", "/auto_backup_enabled"},
    {R"({"health_check_interval_hours": "1"})", "/health_check_interval_hours"},
};

TEST(ConfigTest, EachInvalidConfigNamesItsField) {
  for (const BadCase& c : kBad) {
    json doc = ValidDoc();
    doc.merge_patch(json::parse(c.patch));
    ConfigLoad load = BuildConfig(doc, {});
    EXPECT_FALSE(load.config) << c.patch;
    bool named = false;
    for (const auto& e : load.errors) {
      if (e.pointer == c.pointer) named = true;
      EXPECT_FALSE(e.reason.empty());
    }
    EXPECT_TRUE(named) << c.patch << " should name " << c.pointer << "; got "
                       << ErrorsToStatus(load.errors, "config").ToString();
  }
  EXPECT_GE(sizeof(kBad) / sizeof(kBad[0]), 20u);
}

TEST(ConfigTest, CollectsEveryErrorNotJustTheFirst) {
  json doc = ValidDoc();
  doc["listen"] = "x";
  doc["missed_runs"] = "never";
  doc["schedules"][0]["cron"] = "bad";
  ConfigLoad load = BuildConfig(doc, {});
  ASSERT_EQ(load.errors.size(), 3u) << ErrorsToStatus(load.errors, "config").ToString();
}

TEST(ConfigTest, SyntaxErrorGivesOffset) {
  ConfigLoad load = BuildConfigFromText("{\"listen\": ", {});
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_NE(load.errors[0].reason.find("byte"), std::string::npos);
  EXPECT_FALSE(BuildConfigFromText("[]", {}).errors.empty());
}

TEST(ConfigTest, AcceptsTheOldChromaKeys) {
  const json old = json::parse(R"({
    "chroma_data_path": "/srv/chromadb", "backup_root_path": "/srv/chromadb_backups",
    "backup_retention_days": 30, "backup_retention_count": 10,
    "auto_backup_enabled": true, "auto_backup_interval_hours": 24,
    "health_check_enabled": true, "health_check_interval_hours": 1,
    "auto_repair_enabled": true, "transaction_timeout_seconds": 300,
    "enable_operation_logging": true, "quarantine_enabled": true, "recovery_attempts": 3,
    "migration_backup_enabled": true, "version_check_enabled": true
  })");
  ConfigLoad load = BuildConfig(old, {});
  ASSERT_TRUE(load.errors.empty()) << ErrorsToStatus(load.errors, "config").ToString();
  const Config& c = *load.config;
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].path, "/srv/chromadb");
  EXPECT_TRUE(c.sources[0].auto_repair);
  ASSERT_EQ(c.repositories.size(), 1u);
  EXPECT_EQ(c.repositories[0].url, "/srv/chromadb_backups");
  EXPECT_EQ(c.repositories[0].retention.keep_last, 10);
  EXPECT_EQ(c.repositories[0].retention.keep_within_days, 30);
  const ScheduleConfig* backup = c.FindSchedule("backup:chroma");
  ASSERT_NE(backup, nullptr);
  EXPECT_DOUBLE_EQ(backup->every_hours, 24);
  EXPECT_TRUE(backup->enabled);
  const ScheduleConfig* check = c.FindSchedule("check:chroma");
  ASSERT_NE(check, nullptr);
  EXPECT_DOUBLE_EQ(check->every_hours, 1);
  EXPECT_EQ(c.legacy["backup_retention_days"], 30);
}

TEST(ConfigTest, AcceptsTheQdrantEnvironment) {
  auto env = ParseDotEnv(
      "# old .env\nQDRANT_HOST=qdrant.internal\nQDRANT_PORT=6334\nexport "
      "QDRANT_API_KEY=\"s3cret\"\n"
      "GCS_BUCKET_NAME=my-bucket\nGCS_FOLDER_PREFIX=qdrant/\n"
      "BACKUP_LOCAL_PATH=/tmp/qdrant_snapshots\n"
      "GOOGLE_APPLICATION_CREDENTIALS='/secrets/sa.json'\n");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  ConfigLoad load = BuildConfig(json::object(), *env);
  ASSERT_TRUE(load.errors.empty()) << ErrorsToStatus(load.errors, "config").ToString();
  const Config& c = *load.config;
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].url, "http://qdrant.internal:6334");
  EXPECT_EQ(c.sources[0].api_key, "s3cret");
  ASSERT_EQ(c.repositories.size(), 1u);
  EXPECT_EQ(c.repositories[0].url, "gs://my-bucket/qdrant");
  EXPECT_EQ(c.repositories[0].credentials_file, "/secrets/sa.json");
  ASSERT_NE(c.FindSchedule("backup:qdrant"), nullptr);
  EXPECT_EQ(c.FindSchedule("backup:qdrant")->cron, "@hourly");
}

TEST(ConfigTest, LocalPathWithoutBucket) {
  EnvMap env = {{"QDRANT_HOST", "localhost"}, {"BACKUP_LOCAL_PATH", "/tmp/q"}};
  ConfigLoad load = BuildConfig(json::object(), env);
  ASSERT_TRUE(load.errors.empty());
  EXPECT_EQ(load.config->repositories[0].url, "/tmp/q");
  EXPECT_EQ(load.config->sources[0].url, "http://localhost:6333");
}

TEST(ConfigTest, DotEnvErrorsNameTheLine) {
  auto bad = ParseDotEnv("A=1\nnot a pair\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseDotEnv("A=\"unclosed\n").ok());
  auto ok = ParseDotEnv("A = 1 # comment\nB=\"x\\ny\"\n\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["A"], "1");
  EXPECT_EQ((*ok)["B"], "x\ny");
}

TEST(ConfigTest, ApiTokenFromEnvironmentIsAdmin) {
  EnvMap env = {{"VECSAFE_API_TOKEN", "0123456789abcdef0123"}};
  ConfigLoad load = BuildConfig(ValidDoc(), env);
  ASSERT_TRUE(load.errors.empty());
  ASSERT_EQ(load.config->tokens.size(), 1u);
  EXPECT_EQ(load.config->tokens[0].role, Role::kAdmin);
  EXPECT_EQ(load.config->tokens[0].sha256, Sha256Hex("0123456789abcdef0123"));
  EXPECT_EQ(load.config->Redacted().dump().find("0123456789abcdef0123"), std::string::npos);
}

TEST(ConfigTest, TemplatesAreValid) {
  for (const auto& name : TemplateNames()) {
    auto doc = TemplateDocument(name);
    ASSERT_TRUE(doc.has_value());
    EnvMap env = {{"QDRANT_API_KEY", "k"}};
    json d = *doc;
    d.erase("tokens_file");  // the production template points at /etc
    ConfigLoad load = BuildConfig(d, env);
    EXPECT_TRUE(load.errors.empty())
        << name << ": " << ErrorsToStatus(load.errors, name).ToString();
    ASSERT_TRUE(TemplateLegacyKeys(name).has_value());
  }
  EXPECT_FALSE(TemplateDocument("staging").has_value());
}

TEST(ConfigTest, LegacyUpdatesApplyAndAreChecked) {
  json doc = {{"chroma_data_path", "/c"}, {"backup_root_path", "/b"}};
  std::vector<ConfigError> errors;
  auto updated = ApplyLegacyUpdates(doc, {{"backup_retention_count", 4}}, &errors);
  ASSERT_TRUE(updated.ok());
  ConfigLoad load = BuildConfig(*updated, {});
  ASSERT_TRUE(load.errors.empty());
  EXPECT_EQ(load.config->repositories[0].retention.keep_last, 4);
  errors.clear();
  EXPECT_FALSE(ApplyLegacyUpdates(doc, {{"bogus", 1}}, &errors).ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "/config_updates/bogus");
}

}  // namespace
}  // namespace vecsafe::service
