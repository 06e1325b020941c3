// Snapshot manifests (docs/FORMAT.md, "snapshot"): the JSON inside
// snapshots/<id>. schema_version comes first; fields this version does not
// know are kept in Manifest::extra and ignored, unless the document lists
// them in a top-level "required" array, in which case reading fails with
// kUnsupportedVersion.
#ifndef VECSAFE_REPO_MANIFEST_CODEC_H_
#define VECSAFE_REPO_MANIFEST_CODEC_H_

#include <string>
#include <string_view>

#include "vecsafe/repository.h"

namespace vecsafe::repo {

std::string EncodeManifestJson(const Manifest& m);
// `id` is copied into the result. kDataLoss on any damage (says what),
// kUnsupportedVersion for unknown required fields. Never throws.
Result<Manifest> ParseManifestJson(std::string_view json, std::string_view id);

// Checks a path as stored in a manifest: relative, '/'-separated, no empty,
// "." or ".." parts, no NUL. kInvalidArgument otherwise.
Status ValidateEntryPath(std::string_view path);

}  // namespace vecsafe::repo

#endif  // VECSAFE_REPO_MANIFEST_CODEC_H_
