// The ObjectStore contract as one parameterised test suite, run against every
// driver: local, memory and fault(memory) here; S3 and GCS against real
// servers in their own test files.
//
// To run it on a driver, instantiate it in the driver's test file:
//
//   INSTANTIATE_TEST_SUITE_P(
//       S3, ObjectStoreConformanceTest,
//       ::testing::Values(ConformanceTarget{"minio", [] { return MakeFreshS3Store(); }}),
//       ConformanceTargetName);
//
// `make_store` must return a new, EMPTY store each call (a fresh folder, a
// fresh bucket prefix); it may return an error Status, which fails the test,
// or kUnavailable to skip it (server not running).
#ifndef VECSAFE_TESTS_UNIT_IO_OBJECT_STORE_CONFORMANCE_H_
#define VECSAFE_TESTS_UNIT_IO_OBJECT_STORE_CONFORMANCE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vecsafe/object_store.h"

namespace vecsafe {

struct ConformanceTarget {
  // Test name suffix: letters, digits and '_' only.
  std::string name;
  std::function<Result<std::unique_ptr<ObjectStore>>()> make_store;
  // Size of the "large object" case. Default: 8 MiB (crosses multipart and
  // buffer boundaries in every driver).
  uint64_t large_object_bytes = 8u << 20;
  // Threads in the concurrency cases. Default: 8.
  int threads = 8;
  // Objects in the listing-scale case. Default: 600.
  int many_objects = 600;
};

std::string ConformanceTargetName(const ::testing::TestParamInfo<ConformanceTarget>& info);

class ObjectStoreConformanceTest : public ::testing::TestWithParam<ConformanceTarget> {
 protected:
  void SetUp() override;
  // The store under test, fresh and empty for each test.
  ObjectStore& store() { return *store_; }
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace vecsafe

#endif  // VECSAFE_TESTS_UNIT_IO_OBJECT_STORE_CONFORMANCE_H_
