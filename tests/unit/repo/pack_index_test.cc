// Pack headers and index objects with delta entries: version 1 stays byte for
// byte what it was, version 2 carries each delta's base, damage is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "repo/index.h"
#include "repo/pack.h"

namespace vecsafe::repo {
namespace {

Hash256 Id(uint8_t b) {
  Hash256 h{};
  h.fill(b);
  return h;
}

std::vector<PackEntry> Entries(bool with_delta) {
  std::vector<PackEntry> e(3);
  for (size_t i = 0; i < e.size(); ++i) {
    e[i].id = Id(static_cast<uint8_t>(0x10 + i));
    e[i].offset = i * 100;
    e[i].length = 100;
    e[i].raw_length = 4096;
    e[i].encoding = 1;
  }
  if (with_delta) {
    e[1].encoding = kPackDeltaEncoding;
    e[1].base = Id(0xaa);
  }
  return e;
}

TEST(PackHeaderTest, WithoutDeltasItIsVersion1AsBefore) {
  const std::string h = EncodePackHeader(Entries(false));
  EXPECT_EQ(h[4], 1);
  EXPECT_EQ(h.size(), 9u + 3 * 49 + 32);
  auto back = ParsePackHeader(h, 1000);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE((*back)[1].is_delta());
}

TEST(PackHeaderTest, DeltaEntriesCarryTheirBaseInVersion2) {
  const std::string h = EncodePackHeader(Entries(true));
  EXPECT_EQ(h[4], 2);
  EXPECT_EQ(h.size(), 9u + 3 * 49 + 32 + 32);
  auto back = ParsePackHeader(h, 1000);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_TRUE((*back)[1].is_delta());
  EXPECT_EQ((*back)[1].base, Id(0xaa));
  EXPECT_EQ((*back)[2].id, Id(0x12));
  EXPECT_EQ((*back)[2].offset, 200u);
  EXPECT_EQ(EncodePackHeader(*back), h);
  // A pack written with a key reads back the same.
  PackWriter w;
  for (const auto& e : Entries(true)) {
    w.Add(e.id, std::string(100, 'b'), e.raw_length, e.encoding, e.is_delta() ? &e.base : nullptr);
  }
  Hash256 pack_id{};
  auto bytes = w.Finish(Key256{}, &pack_id);
  ASSERT_TRUE(bytes.ok());
  auto parsed = ParsePackSuffix(*bytes, bytes->size(), Key256{});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)[1].base, Id(0xaa));
}

// Rewrites the header's checksum after an edit, so only the layout is judged.
std::string Resum(std::string h) {
  const Hash256 sum = Sha256(std::string_view(h).substr(0, h.size() - 32));
  h.replace(h.size() - 32, 32, std::string(AsStringView(sum)));
  return h;
}

TEST(PackHeaderTest, DamagedDeltaHeadersAreRefused) {
  const std::string v2 = EncodePackHeader(Entries(true));
  // Version 1 cannot hold a delta entry.
  std::string as_v1 = v2;
  as_v1[4] = 1;
  EXPECT_EQ(ParsePackHeader(Resum(as_v1), 1000).status().code(), ErrorCode::kDataLoss);
  // The base cut off.
  std::string cut = v2.substr(0, v2.size() - 32 - 8) + v2.substr(v2.size() - 32);
  EXPECT_EQ(ParsePackHeader(Resum(cut), 1000).status().code(), ErrorCode::kDataLoss);
  // An entry's encoding turned into a delta without a base following it.
  std::string v1 = EncodePackHeader(Entries(false));
  v1[4] = 2;
  v1[9 + 49 * 2 + 48] = static_cast<char>(kPackDeltaEncoding);
  EXPECT_EQ(ParsePackHeader(Resum(v1), 1000).status().code(), ErrorCode::kDataLoss);
  // A chunk that is its own base.
  std::string self = v2;
  const size_t base_at = 9 + 49 * 2;  // after entry 1
  self.replace(base_at, 32, std::string(AsStringView(Id(0x11))));
  EXPECT_EQ(ParsePackHeader(Resum(self), 1000).status().code(), ErrorCode::kDataLoss);
  // Version 2 is only for headers with deltas (one encoding per header).
  std::string v2_plain = EncodePackHeader(Entries(false));
  v2_plain[4] = 2;
  EXPECT_EQ(ParsePackHeader(Resum(v2_plain), 1000).status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(ParsePackHeader(v2, 1000).ok());
}

TEST(IndexJsonTest, DeltaBasesRoundTripAndReachTheMasterIndex) {
  IndexFile f;
  IndexPack p;
  p.id = Id(0x01);
  p.size = 1000;
  p.blobs = Entries(true);
  f.packs.push_back(p);
  const std::string json = EncodeIndexJson(f);
  EXPECT_NE(json.find("\"base\":\"" + HexEncode(Id(0xaa)) + "\""), std::string::npos);
  EXPECT_EQ(json.find("\"base\"", json.find("\"base\"") + 1), std::string::npos);  // once
  auto back = ParseIndexJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->packs[0].blobs[1].base, Id(0xaa));
  MasterIndex index;
  index.AddPack(back->packs[0]);
  ASSERT_NE(index.BaseOf(Id(0x11)), nullptr);
  EXPECT_EQ(*index.BaseOf(Id(0x11)), Id(0xaa));
  EXPECT_EQ(index.BaseOf(Id(0x10)), nullptr);
  EXPECT_EQ(index.delta_count(), 1u);
  // A delta without its base, or with a bad one, is damage.
  std::string no_base = json;
  no_base.erase(no_base.find(",\"base\""), 8 + 64 + 2);
  EXPECT_EQ(ParseIndexJson(no_base).status().code(), ErrorCode::kDataLoss);
  std::string bad_base = json;
  bad_base.replace(bad_base.find("\"base\":\"") + 8, 2, "zz");
  EXPECT_EQ(ParseIndexJson(bad_base).status().code(), ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace vecsafe::repo
