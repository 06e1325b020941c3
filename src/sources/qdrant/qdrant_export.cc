// ExportQdrantSnapshotFile (declared in qdrant_restore.h): the original
// .snapshot file, byte for byte, so a user can always fall back to Qdrant's
// own tools.
#include <string>
#include <vector>

#include "io/atomic_file.h"
#include "sources/qdrant/qdrant_restore.h"

namespace vecsafe::qdrant {

Status ExportQdrantSnapshotFile(Repository& repo, const Manifest& manifest, std::string_view path,
                                const std::string& out_path) {
  std::string file(path);
  if (file.empty()) {
    const std::vector<std::string> files = QdrantSnapshotFiles(manifest);
    if (files.size() != 1) {
      std::string list;
      for (const std::string& f : files) list += (list.empty() ? "" : ", ") + f;
      return Status(ErrorCode::kInvalidArgument,
                    "snapshot " + manifest.ShortId() + " holds " + std::to_string(files.size()) +
                        " Qdrant snapshot files (one per node): " + list,
                    "Choose one with --path FILE.");
    }
    file = files.front();
  }
  VS_ASSIGN_OR_RETURN(std::unique_ptr<FileReader> reader, repo.OpenFile(manifest, file));
  AtomicFileWriter out;
  AtomicWriteOptions options;
  options.if_absent = true;
  VS_RETURN_IF_ERROR(out.Open(out_path, options));
  std::string buf(1 << 20, '\0');
  while (true) {
    VS_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) break;
    VS_RETURN_IF_ERROR(out.Append(std::string_view(buf.data(), n)));
  }
  const Status committed = out.Commit();
  if (committed.code() == ErrorCode::kAlreadyExists) {
    return committed.WithHint("Choose another --out file or remove " + out_path + " first.");
  }
  return committed;
}

}  // namespace vecsafe::qdrant
