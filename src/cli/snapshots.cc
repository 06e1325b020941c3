// `vecsafe snapshots [--json]`: lists the snapshots of a repository, oldest first.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/verbs.h"

namespace vecsafe::cli {

nlohmann::json SnapshotStatsJson(const SnapshotStats& s) {
  return {{"files", s.files},
          {"dirs", s.dirs},
          {"bytes_total", s.bytes_total},
          {"bytes_read", s.bytes_read},
          {"files_unchanged", s.files_unchanged},
          {"chunks_total", s.chunks_total},
          {"chunks_new", s.chunks_new},
          {"bytes_new_raw", s.bytes_new_raw},
          {"bytes_new_stored", s.bytes_new_stored},
          {"chunks_delta", s.chunks_delta},
          {"packs_written", s.packs_written},
          {"seconds", s.seconds}};
}

nlohmann::json SnapshotJson(const Manifest& m) {
  return {{"id", m.id},
          {"short_id", m.ShortId()},
          {"time", m.time},
          {"hostname", m.hostname},
          {"source_kind", m.source_kind},
          {"source", m.source},
          {"tags", m.tags},
          {"parent", m.parent},
          {"vecsafe_version", m.vecsafe_version},
          {"stats", SnapshotStatsJson(m.stats)}};
}

std::string SourceLabel(const Manifest& m) {
  for (const char* key : {"path", "url", "collection"}) {
    if (m.source.contains(key) && m.source[key].is_string()) {
      std::string v = m.source[key].get<std::string>();
      if (m.source.contains("collection") && std::string(key) == "url") {
        v += " " + m.source["collection"].dump();
      }
      return v;
    }
  }
  return m.source.dump();
}

namespace {

struct SnapshotsArgs {
  std::vector<std::string> tags;
  std::string kind;
};

int RunSnapshots(const VerbContext& ctx, const SnapshotsArgs& args) {
  const CommonFlags& flags = ctx.flags;
  auto repo = OpenRepositoryFromFlags(flags);
  if (!repo.ok()) return ReportError(repo.status(), flags);
  std::vector<std::string> skipped;
  auto list = (*repo)->ListSnapshots(&skipped);
  if (!list.ok()) return ReportError(list.status(), flags);
  for (const std::string& s : skipped) Warn("skipped a damaged snapshot: " + s);
  std::vector<const Manifest*> shown;
  for (const Manifest& m : *list) {
    if (!args.kind.empty() && m.source_kind != args.kind) continue;
    bool tags_ok = true;
    for (const std::string& t : args.tags) {
      tags_ok = tags_ok && std::find(m.tags.begin(), m.tags.end(), t) != m.tags.end();
    }
    if (tags_ok) shown.push_back(&m);
  }
  if (flags.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const Manifest* m : shown) arr.push_back(SnapshotJson(*m));
    PrintJson({{"snapshots", arr}, {"skipped", skipped}});
    return 0;
  }
  if (shown.empty()) {
    Say(flags, "no snapshots");
    return 0;
  }
  std::printf("%-8s  %-20s  %-12s  %-6s  %10s  %s\n", "ID", "TIME (UTC)", "HOST", "KIND", "SIZE",
              "SOURCE / TAGS");
  for (const Manifest* m : shown) {
    std::string tags;
    for (const std::string& t : m->tags) tags += (tags.empty() ? " [" : ",") + t;
    if (!tags.empty()) tags += "]";
    std::string time = m->time.substr(0, 19);
    for (char& c : time) {
      if (c == 'T') c = ' ';
    }
    std::printf("%-8s  %-20s  %-12s  %-6s  %10s  %s%s\n", m->ShortId().c_str(), time.c_str(),
                m->hostname.substr(0, 12).c_str(), m->source_kind.c_str(),
                FormatBytes(m->stats.bytes_total).c_str(), SourceLabel(*m).c_str(), tags.c_str());
  }
  Say(flags, std::to_string(shown.size()) + " snapshot" + (shown.size() == 1 ? "" : "s"));
  return 0;
}

}  // namespace

void RegisterSnapshotsVerb(CLI::App& parent, VerbContext& ctx) {
  auto args = std::make_shared<SnapshotsArgs>();
  CLI::App* cmd = parent.add_subcommand("snapshots", "List the snapshots, oldest first");
  cmd->add_option(
      "--tag", args->tags,
      "Only snapshots carrying this tag (repeat: all of them). Default: every snapshot");
  cmd->add_option("--kind", args->kind,
                  "Only this source kind: dir, chroma or qdrant. Default: all");
  AddCommonFlags(cmd, ctx, /*with_repo=*/true);
  cmd->callback([&ctx, args] { ctx.exit_status = RunSnapshots(ctx, *args); });
}

}  // namespace vecsafe::cli
