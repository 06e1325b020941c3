// The Chroma side of `backup` and `restore`: `vecsafe backup chroma PATH
// [--collection NAME]`, the `--to-chroma URL` restore target, and the check
// that refuses to restore a full Chroma snapshot in place while Chroma runs.
#ifndef VECSAFE_CLI_CHROMA_BACKUP_RESTORE_H_
#define VECSAFE_CLI_CHROMA_BACKUP_RESTORE_H_

#include <string>

#include "cli/verbs.h"

namespace CLI {
class Option;
}  // namespace CLI

namespace vecsafe::cli {

void RegisterBackupChromaVerb(CLI::App& backup, VerbContext& ctx);

// `restore SNAP --to-chroma URL [--as NAME]` for collection snapshots.
class ChromaRestoreTarget : public RestoreTarget {
 public:
  std::string Name() const override;
  void AddOptions(CLI::App* restore) override;
  bool Chosen() const override;
  int Run(VerbContext& ctx, Repository& repo, const Manifest& manifest) override;

 private:
  std::string url_;
  std::string tenant_ = "default_tenant";
  std::string database_ = "default_database";
  int batch_size_ = 500;
  std::string as_name_;
  CLI::Option* as_ = nullptr;  // --as, possibly owned by another target
};

// For `restore SNAP --to DIR`: when a full Chroma snapshot would replace an
// existing folder (--in-place / --overwrite), refuses while a process has
// DIR/chroma.sqlite3 open. OK for every other case.
Status CheckChromaRestoreToFolder(const Manifest& manifest, const std::string& target,
                                  bool replaces_existing);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_CHROMA_BACKUP_RESTORE_H_
