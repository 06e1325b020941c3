#include "sources/chroma/hnsw_files.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace vecsafe::chroma {
namespace {

std::string TestData(const std::string& name) {
  const char* root = std::getenv("VECSAFE_SOURCE_DIR");
  std::string dir = root ? root : ".";
  std::ifstream in(dir + "/tests/unit/sources/chroma/testdata/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(HnswHeader, DecodesChroma159Header) {
  auto h = ParseHnswHeader(TestData("header_1.5.9.bin"));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->persistence_version, 1);
  EXPECT_EQ(h->max_elements, 100u);
  EXPECT_EQ(h->cur_element_count, 30u);
  EXPECT_EQ(h->size_data_per_element, 172u);
  EXPECT_EQ(h->Dimension(), 8u);
  EXPECT_EQ(h->m, 16u);
  EXPECT_EQ(h->max_m0, 32u);
  EXPECT_EQ(h->ef_construction, 100u);
}

TEST(HnswHeader, DecodesEmptyIndexOf0424) {
  auto h = ParseHnswHeader(TestData("header_empty_0.4.24.bin"));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->cur_element_count, 0u);
  EXPECT_EQ(h->max_level, -1);
  EXPECT_EQ(h->Dimension(), 4u);
}

TEST(HnswHeader, RejectsTruncatedAndInconsistent) {
  const std::string good = TestData("header_1.5.9.bin");
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ParseHnswHeader(good.substr(0, n)).ok()) << n;
  }
  std::string bad = good;
  const uint64_t huge = 1000;  // cur_element_count > max_elements (100)
  std::memcpy(bad.data() + 4 + 16, &huge, 8);
  auto r = ParseHnswHeader(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cur_element_count"), std::string::npos);
}

TEST(LinkLists, WalksRecordsAndSpotsTruncation) {
  std::string b;
  auto put = [&](uint32_t n) {
    b.append(reinterpret_cast<const char*>(&n), 4);
    b.append(n, 'x');
  };
  put(0);
  put(68);
  put(0);
  LinkListsWalk w = WalkLinkLists(b, 3);
  EXPECT_EQ(w.records, 3u);
  EXPECT_FALSE(w.overrun);
  w = WalkLinkLists(b.substr(0, 40), 3);
  EXPECT_EQ(w.records, 1u);
  EXPECT_TRUE(w.overrun);
}

}  // namespace
}  // namespace vecsafe::chroma
