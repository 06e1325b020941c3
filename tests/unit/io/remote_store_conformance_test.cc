// The ObjectStore conformance suite against real servers: MinIO (S3, path
// style and virtual-host style) and fake-gcs-server (GCS). The servers are
// started by tests/integration/remote (pytest), which runs this binary with
// the endpoints in the environment:
//   VECSAFE_TEST_S3_ENDPOINT, VECSAFE_TEST_S3_VHOST_ENDPOINT, VECSAFE_TEST_S3_BUCKET,
//   VECSAFE_TEST_S3_ACCESS_KEY, VECSAFE_TEST_S3_SECRET_KEY,
//   VECSAFE_TEST_GCS_ENDPOINT, VECSAFE_TEST_GCS_BUCKET.
// Without them (a plain unit-test run) every case is skipped.
//
// Thresholds are lowered so the 8 MiB "large object" case goes through S3
// multipart uploads (5 MiB parts) and GCS resumable uploads (1 MiB chunks).
#include <gtest/gtest.h>

#include <random>

#include "io/gcs/gcs_store.h"
#include "io/object_store_conformance.h"
#include "io/s3/s3_store.h"
#include "io/store_registry.h"

namespace vecsafe {
namespace {

std::string Fresh() {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return "conformance/" + std::to_string(rng());
}

Result<std::unique_ptr<ObjectStore>> MakeS3(const char* endpoint_var, bool path_style) {
  auto endpoint = GetEnv(endpoint_var);
  auto bucket = GetEnv("VECSAFE_TEST_S3_BUCKET");
  if (!endpoint || !bucket) {
    return Unavailable(std::string(endpoint_var) + " not set (run tests/integration/remote)");
  }
  std::map<std::string, std::string> env = {
      {"AWS_ACCESS_KEY_ID", GetEnv("VECSAFE_TEST_S3_ACCESS_KEY").value_or("")},
      {"AWS_SECRET_ACCESS_KEY", GetEnv("VECSAFE_TEST_S3_SECRET_KEY").value_or("")}};
  VS_ASSIGN_OR_RETURN(s3::S3Options o,
                      s3::ResolveS3Options(*bucket, Fresh(),
                                           {{"endpoint", *endpoint},
                                            {"path_style", path_style ? "true" : "false"},
                                            {"region", "us-east-1"},
                                            {"multipart_threshold", std::to_string(5 << 20)},
                                            {"part_size", std::to_string(5 << 20)}},
                                           [&](const char* n) -> std::optional<std::string> {
                                             auto it = env.find(n);
                                             if (it == env.end()) return std::nullopt;
                                             return it->second;
                                           }));
  return s3::NewS3Store(std::move(o));
}

Result<std::unique_ptr<ObjectStore>> MakeGcs() {
  auto endpoint = GetEnv("VECSAFE_TEST_GCS_ENDPOINT");
  auto bucket = GetEnv("VECSAFE_TEST_GCS_BUCKET");
  if (!endpoint || !bucket) {
    return Unavailable("VECSAFE_TEST_GCS_ENDPOINT not set (run tests/integration/remote)");
  }
  VS_ASSIGN_OR_RETURN(gcs::GcsOptions o,
                      gcs::ResolveGcsOptions(*bucket, Fresh(),
                                             {{"resumable_threshold", std::to_string(1 << 20)},
                                              {"chunk_size", std::to_string(1 << 20)}},
                                             [&](const char* n) -> std::optional<std::string> {
                                               if (std::string(n) == "STORAGE_EMULATOR_HOST")
                                                 return *endpoint;
                                               return std::nullopt;
                                             }));
  return gcs::NewGcsStore(std::move(o));
}

INSTANTIATE_TEST_SUITE_P(
    Remote, ObjectStoreConformanceTest,
    ::testing::Values(ConformanceTarget{"minio_path_style",
                                        [] { return MakeS3("VECSAFE_TEST_S3_ENDPOINT", true); }},
                      ConformanceTarget{
                          "minio_virtual_host",
                          [] { return MakeS3("VECSAFE_TEST_S3_VHOST_ENDPOINT", false); }},
                      ConformanceTarget{"fake_gcs", [] { return MakeGcs(); }}),
    ConformanceTargetName);

}  // namespace
}  // namespace vecsafe
