#include "sources/chroma/safe_pickle.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "sources/chroma/chroma_model.h"

namespace vecsafe::chroma {
namespace {

// Files in testdata/ were written by real Chroma releases (0.4.24, 0.6.3: a
// pickled PersistentData; 1.5.9: a plain dict written by Rust).
std::string TestData(const std::string& name) {
  const char* root = std::getenv("VECSAFE_SOURCE_DIR");
  std::string dir = root ? root : ".";
  std::ifstream in(dir + "/tests/unit/sources/chroma/testdata/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

TEST(SafePickle, ReadsPersistentDataOf0424) {
  auto maps = ParseIdMaps(TestData("persistent_data_0.4.24.pickle"));
  ASSERT_TRUE(maps.ok()) << maps.status().ToString();
  EXPECT_EQ(maps->format, "PersistentData object");
  EXPECT_EQ(maps->dimensionality, 8);
  EXPECT_EQ(maps->total_elements_added, 30);
  ASSERT_TRUE(maps->max_seq_id.has_value());  // 0.4 keeps it in the pickle
  EXPECT_EQ(*maps->max_seq_id, 1539);
  EXPECT_EQ(maps->id_to_label.size(), 30u);
  EXPECT_EQ(maps->label_to_id.size(), 30u);
  EXPECT_EQ(maps->id_to_label.at("id-0000007"), 1);
  EXPECT_EQ(maps->label_to_id.at(1), "id-0000007");
}

TEST(SafePickle, ReadsPersistentDataOf063) {
  auto maps = ParseIdMaps(TestData("persistent_data_0.6.3.pickle"));
  ASSERT_TRUE(maps.ok()) << maps.status().ToString();
  EXPECT_FALSE(maps->max_seq_id.has_value());  // moved to the max_seq_id table in 0.5
  EXPECT_EQ(maps->id_to_label.at("id-0000024"), 30);
  EXPECT_EQ(maps->id_to_seq_id.at("id-0000029"), 1539);
}

TEST(SafePickle, ReadsPlainDictOf159) {
  auto maps = ParseIdMaps(TestData("dict_1.5.9.pickle"));
  ASSERT_TRUE(maps.ok()) << maps.status().ToString();
  EXPECT_EQ(maps->format, "dict");
  EXPECT_FALSE(maps->dimensionality.has_value());  // 1.x writes None
  EXPECT_EQ(maps->id_to_label.size(), 30u);
  EXPECT_EQ(maps->id_to_label.at("id-0000027"), 28);
  EXPECT_EQ(maps->label_to_id.at(28), "id-0000027");
}

TEST(SafePickle, EveryTruncationIsAnErrorNeverACrash) {
  const std::string full = TestData("persistent_data_0.4.24.pickle");
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = ParsePickle(full.substr(0, n));
    EXPECT_FALSE(r.ok()) << "prefix " << n;
  }
}

TEST(SafePickle, RefusesOtherGlobals) {
  // pickle.dumps(os.system, protocol=2): GLOBAL 'posix system'.
  auto r = ParsePickle(Hex("80026370") + "osix\nsystem\n" + "q\x00.");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("posix.system"), std::string::npos);
}

TEST(SafePickle, RefusesReduceOfAnythingButTheClass) {
  // MARK, text, TUPLE, EMPTY_TUPLE, REDUCE: a REDUCE whose callable is a tuple.
  auto r =
      ParsePickle(std::string("\x80\x02(X\x01\x00\x00\x00"
                              "at)R.",
                              14));
  EXPECT_FALSE(r.ok());
}

TEST(SafePickle, ReadsProtocol0Data) {
  // pickle.dumps([1, "x", (2.5, None, True), {"k": b"v"}], protocol=0) uses
  // text opcodes; bytes in protocol 0 need a REDUCE of codecs.encode, so the
  // dict value here is a str.
  const std::string p0 = "(lp0\nI1\naVx\np1\na(F2.5\nNI01\ntp2\na(dp3\nVk\np4\nVv\np5\nsa.";
  auto r = ParsePickle(p0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)->kind, PickleValue::Kind::kList);
  ASSERT_EQ((*r)->items.size(), 4u);
  EXPECT_EQ((*r)->items[0]->i, 1);
  EXPECT_EQ((*r)->items[1]->s, "x");
  EXPECT_DOUBLE_EQ((*r)->items[2]->items[0]->f, 2.5);
  EXPECT_TRUE((*r)->items[2]->items[1]->IsNone());
  EXPECT_TRUE((*r)->items[2]->items[2]->b);
  EXPECT_EQ((*r)->items[3]->Get("k")->s, "v");
}

TEST(SafePickle, RejectsSelfContainingList) {
  // EMPTY_LIST, MEMOIZE, BINGET 0, APPEND: a list inside itself.
  auto r =
      ParsePickle(std::string("\x80\x04]\x94h\x00"
                              "a.",
                              8));
  EXPECT_FALSE(r.ok());
}

TEST(SafePickle, ReadsLongAndNegativeInts) {
  // LONG1 with 8 bytes: -2; BININT -5; LONG1 0 bytes: 0.
  auto r =
      ParsePickle(std::string("\x80\x02(\x8a\x08\xfe\xff\xff\xff\xff\xff\xff\xff"
                              "J\xfb\xff\xff\xff\x8a\x00l.",
                              22));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)->items.size(), 3u);
  EXPECT_EQ((*r)->items[0]->i, -2);
  EXPECT_EQ((*r)->items[1]->i, -5);
  EXPECT_EQ((*r)->items[2]->i, 0);
}

TEST(SafePickle, EmptyAndGarbage) {
  EXPECT_EQ(ParsePickle("").status().code(), ErrorCode::kDataLoss);
  EXPECT_FALSE(ParsePickle("not a pickle at all").ok());
  auto maps = ParseIdMaps(std::string("\x80\x02K\x05.", 5));  // the int 5
  EXPECT_EQ(maps.status().code(), ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace vecsafe::chroma
