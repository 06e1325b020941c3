// The /metrics page: Prometheus text exposition format 0.0.4, checked line by
// line against the format's grammar, and the values it carries.
// GCC 12 with -fsanitize=address reports a false maybe-uninitialized inside
// <regex>'s std::function; the library code is not ours to fix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "service/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace vecsafe::service {
namespace {

// One parsed sample line: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

// Parses a whole exposition; fails the test on any line outside the grammar,
// on a sample before its family's TYPE, or on a family declared twice.
std::vector<Sample> ParseExposition(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf|NaN)))");
  static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$))re");
  std::vector<Sample> out;
  std::set<std::string> typed, helped;
  std::istringstream in(text);
  std::string line;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "the page must end with a newline";
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
    } else if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(typed.insert(m[1]).second) << "TYPE twice: " << line;
      EXPECT_TRUE(helped.count(m[1])) << "TYPE before HELP: " << line;
    } else if (std::regex_match(line, m, sample)) {
      Sample s{m[1], {}, m[4]};
      EXPECT_TRUE(typed.count(s.name)) << "sample before its TYPE: " << line;
      std::string labels = m[3];
      while (!labels.empty()) {
        std::smatch lm;
        if (!std::regex_search(labels, lm, label, std::regex_constants::match_continuous)) {
          ADD_FAILURE() << "bad labels: " << line;
          break;
        }
        s.labels[lm[1]] = lm[2];
        labels = lm.suffix();
      }
      out.push_back(s);
    } else {
      ADD_FAILURE() << "line outside the text format: \"" << line << "\"";
    }
  }
  return out;
}

TEST(PromWriterTest, EscapesAndFormats) {
  EXPECT_EQ(PromWriter::EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(PromWriter::EscapeHelp("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
  EXPECT_EQ(PromWriter::FormatValue(3), "3");
  EXPECT_EQ(PromWriter::FormatValue(-2), "-2");
  EXPECT_EQ(PromWriter::FormatValue(0.5), "0.5");
  EXPECT_EQ(PromWriter::FormatValue(1795317703.25), "1795317703.25");
  EXPECT_EQ(PromWriter::FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(PromWriter::FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(PromWriter::FormatValue(NAN), "NaN");
  EXPECT_TRUE(PromWriter::ValidName("vecsafe_up"));
  EXPECT_TRUE(PromWriter::ValidName("a:b_c9"));
  EXPECT_FALSE(PromWriter::ValidName("9a"));
  EXPECT_FALSE(PromWriter::ValidName("a-b"));
  EXPECT_FALSE(PromWriter::ValidName(""));

  PromWriter w;
  w.Family("x_total", "Line one\nline two", "counter");
  w.Sample("x_total", {{"path", "C:\\data \"main\"\n"}}, 7);
  auto samples = ParseExposition(w.text());
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].labels["path"], "C:\\\\data \\\"main\\\"\\n");
  EXPECT_EQ(samples[0].value, "7");
}

TEST(MetricsTest, PageFollowsTheFormatAndCarriesEveryFamily) {
  auto load = BuildConfig(nlohmann::json::parse(R"({
    "repositories": [{"name": "main", "url": "/nonexistent/vecsafe-repo"},
                     {"name": "cloud", "url": "s3://bucket/prefix"}],
    "sources": [{"name": "chroma.prod", "type": "chroma", "path": "/"},
                {"name": "q", "type": "qdrant", "url": "http://127.0.0.1:6333"}]
  })"),
                          {});
  ASSERT_TRUE(load.config) << ErrorsToStatus(load.errors, "config").ToString();
  ServiceStats stats;
  stats.RecordBackup("q", true, 1'795'000'000'000, 2.5, 1000, 250);
  stats.RecordBackup("q", false, 1'795'000'100'000, 1.0, 0, 0);
  stats.RecordBackup("q", true, 1'795'000'200'000, 3.0, 3000, 250);
  stats.RecordCheck("chroma.prod", 1, 4, 3, 1'795'000'000'000);
  MetricsSnapshot m;
  m.sources = stats.Sources();
  m.ops_queued = 2;
  m.ops_running = 1;
  m.alerts_sent = 5;
  m.alerts_suppressed = 2;
  const std::string page = RenderMetrics(*load.config, m);
  const auto samples = ParseExposition(page);

  auto value = [&](const std::string& name, std::map<std::string, std::string> labels) {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    ADD_FAILURE() << "no sample " << name << " in\n" << page;
    return std::string();
  };
  const std::map<std::string, std::string> q = {{"source", "q"}, {"type", "qdrant"}};
  const std::map<std::string, std::string> c = {{"source", "chroma.prod"}, {"type", "chroma"}};
  EXPECT_EQ(value("vecsafe_backup_success_total", q), "2");
  EXPECT_EQ(value("vecsafe_backup_failure_total", q), "1");
  EXPECT_EQ(value("vecsafe_backup_consecutive_failures", q), "0");
  EXPECT_EQ(value("vecsafe_last_successful_backup_timestamp_seconds", q), "1795000200");
  EXPECT_EQ(value("vecsafe_backup_duration_seconds", q), "3");
  EXPECT_EQ(value("vecsafe_backup_bytes_read", q), "3000");
  EXPECT_EQ(value("vecsafe_backup_bytes_added", q), "250");
  EXPECT_EQ(value("vecsafe_backup_dedup_ratio", q), "8");   // 4000 read / 500 added
  EXPECT_EQ(value("vecsafe_consistency_status", q), "-1");  // never checked
  EXPECT_EQ(value("vecsafe_consistency_status", c), "1");
  EXPECT_EQ(value("vecsafe_orphan_collections", c), "3");
  EXPECT_EQ(value("vecsafe_backup_success_total", c), "0");
  EXPECT_EQ(value("vecsafe_backup_dedup_ratio", c), "1");
  EXPECT_EQ(value("vecsafe_job_queue", {{"state", "queued"}}), "2");
  EXPECT_EQ(value("vecsafe_job_queue", {{"state", "running"}}), "1");
  EXPECT_EQ(value("vecsafe_alerts_total", {{"result", "sent"}}), "5");
  EXPECT_EQ(value("vecsafe_alerts_total", {{"result", "suppressed"}}), "2");
  EXPECT_EQ(value("vecsafe_up", {}), "1");
  // Repository size only for local repositories (a missing folder is 0 bytes).
  EXPECT_EQ(value("vecsafe_repository_size_bytes", {{"repository", "main"}}), "0");
  for (const Sample& s : samples) {
    if (s.name == "vecsafe_repository_size_bytes") {
      EXPECT_NE(s.labels.at("repository"), "cloud");
    }
  }
  // Disk usage of the data path "/" is a ratio.
  const double used =
      std::stod(value("vecsafe_disk_used_ratio", {{"name", "chroma.prod"}, {"kind", "data"}}));
  EXPECT_GE(used, 0.0);
  EXPECT_LE(used, 1.0);
  EXPECT_NE(page.find("# TYPE vecsafe_backup_success_total counter\n"), std::string::npos);
  EXPECT_NE(page.find("# TYPE vecsafe_disk_used_ratio gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace vecsafe::service
