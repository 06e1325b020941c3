#include "io/memory_store.h"

#include <gtest/gtest.h>

#include "io/object_store_conformance.h"

namespace vecsafe {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, ObjectStoreConformanceTest,
                         ::testing::Values(ConformanceTarget{
                             "memory",
                             [] {
                               return Result<std::unique_ptr<ObjectStore>>(
                                   std::make_unique<MemoryStore>("conformance"));
                             }}),
                         ConformanceTargetName);

TEST(MemoryStoreTest, NamedStoresAreSharedUntilDropped) {
  MemoryStore::DropNamed("shared-test");
  auto a = MemoryStore::Named("shared-test");
  auto b = MemoryStore::Named("shared-test");
  ASSERT_TRUE(a->Put("k", "v").ok());
  EXPECT_EQ(b->Get("k").value(), "v");
  EXPECT_EQ(a->Describe(), "mem://shared-test");
  MemoryStore::DropNamed("shared-test");
  auto c = MemoryStore::Named("shared-test");
  EXPECT_EQ(c->Get("k").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(a->Get("k").value(), "v");  // old holders keep their store
  MemoryStore::DropNamed("shared-test");
}

TEST(MemoryStoreTest, CountsAndClear) {
  MemoryStore store;
  ASSERT_TRUE(store.Put("a", "123").ok());
  ASSERT_TRUE(store.Put("b/c", "45").ok());
  EXPECT_EQ(store.ObjectCount(), 2u);
  EXPECT_EQ(store.TotalBytes(), 5u);
  store.Clear();
  EXPECT_EQ(store.ObjectCount(), 0u);
}

TEST(MemoryStoreTest, ListCallbackMayWriteToTheStore) {
  MemoryStore store;
  ASSERT_TRUE(store.Put("src/1", "x").ok());
  ASSERT_TRUE(store.Put("src/2", "y").ok());
  Status s = store.List("src/", [&](const ObjectInfo& info) {
    return store.Put("dst/" + info.key.substr(4), "copy");
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(store.ListAll("dst/").value().size(), 2u);
}

}  // namespace
}  // namespace vecsafe
