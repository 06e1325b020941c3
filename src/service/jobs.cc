#include "service/jobs.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "ops/journal.h"
#include "service/subprocess.h"

namespace vecsafe::service {
namespace {

using json = nlohmann::json;

// The last JSON document in `text` (verbs print one; tolerate log lines before it).
json ParseOutput(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_discarded()) return doc;
  const size_t start = text.find_first_of("{[");
  if (start != std::string::npos) {
    doc = json::parse(text.substr(start), nullptr, false);
    if (!doc.is_discarded()) return doc;
  }
  return nullptr;
}

// Finds the first value under any of `keys`, searching objects depth-first.
const json* FindKey(const json& j, std::initializer_list<const char*> keys, int depth = 0) {
  if (depth > 4) return nullptr;
  if (j.is_object()) {
    for (const char* k : keys) {
      auto it = j.find(k);
      if (it != j.end() && !it->is_null()) return &*it;
    }
    for (const auto& [k, v] : j.items()) {
      if (v.is_object()) {
        if (const json* f = FindKey(v, keys, depth + 1)) return f;
      }
    }
  }
  return nullptr;
}

ErrorCode CodeFromVs(const json& err) {
  // "VS-3" or 3.
  int n = -1;
  if (err.is_number_integer()) n = err.get<int>();
  if (err.is_string()) {
    const std::string s = err.get<std::string>();
    if (s.rfind("VS-", 0) == 0) n = std::atoi(s.c_str() + 3);
  }
  for (const ErrorInfo* e = ErrorTableBegin(); e != ErrorTableEnd(); ++e) {
    if (static_cast<int>(e->code) == n) return e->code;
  }
  return ErrorCode::kInternal;
}

}  // namespace

VerbSummary SummarizeVerbOutput(const json& doc) {
  VerbSummary sum;
  if (!doc.is_object()) return sum;
  // One snapshot: `backup dir|chroma --json` prints {"snapshot": {id, stats: {...}}}.
  auto add_stats = [&sum](const json& stats) {
    if (!stats.is_object()) return;
    sum.bytes_read += stats.value("bytes_read", int64_t{0});
    sum.bytes_added += stats.value("bytes_new_stored", int64_t{0});
  };
  if (auto it = doc.find("snapshot"); it != doc.end() && it->is_object()) {
    if (it->contains("id") && (*it)["id"].is_string()) {
      sum.snapshot_ids.push_back((*it)["id"].get<std::string>());
    }
    if (auto st = it->find("stats"); st != it->end()) add_stats(*st);
  }
  // One snapshot per collection: `backup qdrant --json` prints
  // {"collections": [{"collection", "ok", "snapshot": id, "bytes_read", "bytes_new_stored"}]}.
  if (auto it = doc.find("collections"); it != doc.end() && it->is_array()) {
    for (const json& c : *it) {
      if (!c.is_object()) continue;
      if (c.contains("snapshot") && c["snapshot"].is_string()) {
        sum.snapshot_ids.push_back(c["snapshot"].get<std::string>());
      }
      add_stats(c);
    }
  }
  return sum;
}

JobOutcome RunVerb(const Config& config, const RepositoryConfig* repo, const SourceConfig* source,
                   std::vector<std::string> args, const std::string& actor, OpContext* ctx,
                   int timeout_seconds) {
  JobOutcome out;
  ChildOptions opts;
  opts.argv.push_back(SelfExecutable());
  for (auto& a : args) opts.argv.push_back(std::move(a));
  opts.argv.push_back("--json");
  opts.env_overrides["VECSAFE_ACTOR"] = actor;
  opts.env_overrides["VECSAFE_STATE_DIR"] =
      config.state_dir.empty() ? ops::DefaultStateDir().string() : config.state_dir;
  if (repo != nullptr) {
    opts.env_overrides["VECSAFE_REPO"] = repo->url;
    if (!repo->password_env.empty()) {
      if (const char* pw = std::getenv(repo->password_env.c_str()); pw != nullptr) {
        opts.env_overrides["VECSAFE_PASSWORD"] = pw;
      }
    }
    if (!repo->password_file.empty()) {
      opts.env_overrides["VECSAFE_PASSWORD_FILE"] = repo->password_file;
    }
    if (!repo->credentials_file.empty()) {
      opts.env_overrides["GOOGLE_APPLICATION_CREDENTIALS"] = repo->credentials_file;
    }
  }
  if (source != nullptr && source->type == SourceType::kQdrant && !source->api_key.empty()) {
    opts.env_overrides["QDRANT_API_KEY"] = source->api_key;
  }
  opts.cancel = ctx != nullptr ? ctx->cancel_flag() : nullptr;
  opts.timeout_seconds = timeout_seconds;
  auto child = RunChild(opts);
  if (!child.ok()) {
    out.status = child.status();
    return out;
  }
  const json doc = ParseOutput(child->out);
  out.details = doc.is_null() ? json::object() : doc;
  if (child->cancelled) {
    out.status = Cancelled("cancelled while running `vecsafe " + opts.argv[1] + "`");
    return out;
  }
  if (child->timed_out) {
    out.status = Status(ErrorCode::kTimeout, "`vecsafe " + opts.argv[1] + "` timed out");
    return out;
  }
  const VerbSummary sum = SummarizeVerbOutput(doc);
  out.bytes_read = sum.bytes_read;
  out.bytes_added = sum.bytes_added;
  out.snapshot_id = sum.snapshot_ids.empty() ? "" : sum.snapshot_ids.front();
  // For check and verify, exit 1 means "ran fine, found problems": not a failure of the
  // run (the findings are in the details). For every other verb it is a failure.
  const bool reports_findings = opts.argv[1] == "check" || opts.argv[1] == "verify";
  if (child->exit_status == 0 || (child->exit_status == 1 && reports_findings)) return out;
  std::string message, hint;
  ErrorCode code = ErrorCode::kInternal;
  if (const json* err = FindKey(doc, {"error"}); err != nullptr && err->is_object()) {
    message = err->value("message", "");
    hint = err->value("hint", "");
    if (err->contains("code")) code = CodeFromVs((*err)["code"]);
  }
  if (message.empty()) {
    message = child->err;
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    if (message.rfind("vecsafe: ", 0) == 0) message = message.substr(9);
    if (message.size() > 2000) message = message.substr(0, 2000) + "...";
    if (message.empty()) {
      message = child->signal != 0 ? "killed by signal " + std::to_string(child->signal)
                                   : "exit status " + std::to_string(child->exit_status);
    }
    message = "`vecsafe " + opts.argv[1] + "` failed: " + message;
    for (const ErrorInfo* e = ErrorTableBegin(); e != ErrorTableEnd(); ++e) {
      if (e->exit_status == child->exit_status && e->code != ErrorCode::kOk) {
        code = e->code;
        break;
      }
    }
  }
  out.status = Status(code, message, hint);
  return out;
}

JobOutcome BackupSource(const Config& config, const SourceConfig& source,
                        const std::string& collection, const std::string& actor, OpContext* ctx) {
  const RepositoryConfig* repo = config.FindRepository(source.repository);
  if (repo == nullptr) {
    return {FailedPrecondition("source \"" + source.name + "\" has no repository",
                               "Set \"repository\" on the source in the config."),
            0, 0, "", json::object()};
  }
  std::vector<std::string> args = {"backup", std::string(ToString(source.type))};
  if (source.type == SourceType::kQdrant) {
    args.push_back(source.url);
    if (!collection.empty()) {
      args.insert(args.end(), {"--collection", collection});
    } else {
      for (const auto& c : source.collections) args.insert(args.end(), {"--collection", c});
    }
  } else {
    args.push_back(source.path);
    if (!collection.empty()) args.insert(args.end(), {"--collection", collection});
  }
  args.insert(args.end(), {"--tag", "vecsafe-serve", "--tag", "source:" + source.name});
  if (ctx != nullptr) ctx->SetProgress(-1, "backing up " + source.name);
  return RunVerb(config, repo, &source, args, actor, ctx);
}

JobOutcome ApplyRetention(const Config& config, const RepositoryConfig& repo,
                          const std::string& actor, OpContext* ctx) {
  const RetentionConfig& r = repo.retention;
  if (r.empty()) {
    JobOutcome out;
    out.details = {{"skipped", "no retention policy configured for this repository"}};
    return out;
  }
  std::vector<std::string> args = {"forget"};
  auto add = [&](const char* flag, int v) {
    if (v > 0) args.insert(args.end(), {flag, std::to_string(v)});
  };
  add("--keep-last", r.keep_last);
  add("--keep-hourly", r.keep_hourly);
  add("--keep-daily", r.keep_daily);
  add("--keep-weekly", r.keep_weekly);
  add("--keep-monthly", r.keep_monthly);
  add("--keep-yearly", r.keep_yearly);
  if (r.keep_within_days > 0) {
    args.insert(args.end(), {"--keep-within", std::to_string(r.keep_within_days) + "d"});
  }
  for (const auto& t : r.keep_tags) args.insert(args.end(), {"--keep-tag", t});
  if (r.prune) args.push_back("--prune");
  if (ctx != nullptr) ctx->SetProgress(-1, "applying retention to " + repo.name);
  return RunVerb(config, &repo, nullptr, args, actor, ctx);
}

int64_t CountOrphans(const nlohmann::json& report) {
  int64_t n = 0;
  const json* findings = FindKey(report, {"findings"});
  if (findings == nullptr || !findings->is_array()) return 0;
  for (const auto& f : *findings) {
    const std::string code = f.is_object() ? f.value("code", "") : "";
    std::string lower = code;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("orphan") != std::string::npos) ++n;
  }
  return n;
}

JobOutcome CheckSource(const Config& config, const SourceConfig& source, bool allow_repair,
                       const std::string& actor, OpContext* ctx) {
  if (source.type != SourceType::kChroma) {
    return {InvalidArgument("checks are for chroma sources; \"" + source.name + "\" is " +
                            std::string(ToString(source.type))),
            0, 0, "", json::object()};
  }
  std::vector<std::string> args = {"check", "chroma", source.path};
  if (source.deep_check) args.push_back("--deep");
  if (ctx != nullptr) ctx->SetProgress(-1, "checking " + source.name);
  JobOutcome out = RunVerb(config, nullptr, &source, args, actor, ctx);
  if (!out.status.ok()) return out;
  const json* findings = FindKey(out.details, {"findings"});
  const bool has_findings = findings != nullptr && findings->is_array() && !findings->empty();
  json report = {
      {"check", out.details}, {"healthy", !has_findings}, {"orphans", CountOrphans(out.details)}};
  if (has_findings && allow_repair && source.auto_repair) {
    if (ctx != nullptr) ctx->SetProgress(-1, "repairing " + source.name);
    JobOutcome repair =
        RunVerb(config, nullptr, &source, {"repair", "chroma", source.path}, actor, ctx);
    report["repair"] = repair.details;
    if (!repair.status.ok()) report["repair_error"] = repair.status.ToString();
  }
  out.details = report;
  return out;
}

JobOutcome VerifyRepository(const Config& config, const RepositoryConfig& repo, bool read_data,
                            double percent, const std::string& actor, OpContext* ctx) {
  std::vector<std::string> args = {"verify"};
  if (read_data) {
    args.push_back("--read-data");
    if (percent > 0 && percent < 100) {
      char pct[32];
      std::snprintf(pct, sizeof(pct), "%g%%", percent);
      args.insert(args.end(), {"--read-data-subset", pct});
    }
  }
  if (ctx != nullptr) ctx->SetProgress(-1, "verifying " + repo.name);
  return RunVerb(config, &repo, nullptr, args, actor, ctx);
}

JobOutcome ExecuteJob(const Config& config, const ScheduleConfig& job, const std::string& actor,
                      OpContext& ctx) {
  switch (job.job) {
    case JobKind::kBackup: {
      const SourceConfig* s = config.FindSource(job.source);
      if (s == nullptr) break;
      return BackupSource(config, *s, "", actor, &ctx);
    }
    case JobKind::kCheck: {
      const SourceConfig* s = config.FindSource(job.source);
      if (s == nullptr) break;
      return CheckSource(config, *s, /*allow_repair=*/true, actor, &ctx);
    }
    case JobKind::kRetention: {
      const RepositoryConfig* r = config.FindRepository(job.repository);
      if (r == nullptr) break;
      return ApplyRetention(config, *r, actor, &ctx);
    }
    case JobKind::kVerify: {
      const RepositoryConfig* r = config.FindRepository(job.repository);
      if (r == nullptr) break;
      return VerifyRepository(config, *r, job.read_data, job.read_data_percent, actor, &ctx);
    }
  }
  return {NotFound("job \"" + job.name + "\" names something the config no longer has"), 0, 0, "",
          json::object()};
}

}  // namespace vecsafe::service
