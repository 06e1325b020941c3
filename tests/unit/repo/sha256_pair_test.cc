#include "repo/sha256_pair.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "repo/crypto.h"
#include "repo/repo_test_util.h"

namespace vecsafe::repo {
namespace {

using testing::RandomBytesForTest;

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Feeds `data` cut at `cuts` and checks every chunk id and the file digest
// against OpenSSL (Sha256Stream, HmacSha256Keyed, Sha256).
void CheckAgainstOpenSsl(Sha256Pair& pair, const std::optional<Key256>& key,
                         const std::string& data, const std::vector<size_t>& cuts) {
  std::optional<HmacSha256Keyed> mac;
  if (key) mac.emplace(*key);
  Sha256Stream file;
  size_t at = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : data.size();
    const std::string_view chunk = std::string_view(data).substr(at, end - at);
    const Hash256 want = mac ? mac->Mac(chunk) : Sha256(chunk);
    ASSERT_EQ(HexEncode(pair.Chunk(U8(data) + at, chunk.size())), HexEncode(want))
        << "chunk " << i << " [" << at << ", " << end << ")";
    file.Update(chunk);
    at = end;
  }
  ASSERT_EQ(HexEncode(pair.FinishFile()), HexEncode(file.Finish()));
}

class Sha256PairTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!Sha256Pair::Available()) GTEST_SKIP() << "this CPU has no SHA-NI";
  }
  std::optional<Key256> KeyOrNone() const {
    if (!GetParam()) return std::nullopt;
    Key256 k;
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(7 * i + 1);
    return k;
  }
};

TEST_P(Sha256PairTest, KnownAnswers) {
  if (GetParam()) GTEST_SKIP() << "the vectors are of plain SHA-256";
  Sha256Pair pair(std::nullopt);
  const std::string abc = "abc";
  EXPECT_EQ(HexEncode(pair.Chunk(U8(abc), abc.size())),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(pair.FinishFile()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(pair.Chunk(nullptr, 0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(HexEncode(pair.Chunk(U8(two), two.size())),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Every tail length and every misalignment between the two streams: chunks
// of 0..200 bytes after file prefixes of 0..64 bytes.
TEST_P(Sha256PairTest, EveryOffsetAndLength) {
  const std::string data = RandomBytesForTest(64 + 200 + 64, 11);
  Sha256Pair pair(KeyOrNone());
  for (size_t prefix = 0; prefix <= 64; ++prefix) {
    for (size_t len = 0; len <= 200; len += (len < 130 ? 1 : 7)) {
      CheckAgainstOpenSsl(pair, KeyOrNone(), data.substr(0, prefix + len + 5),
                          {prefix, prefix + len});
    }
  }
}

// Chunk-sized pieces at random cut points, several files in a row.
TEST_P(Sha256PairTest, RandomChunkings) {
  std::mt19937_64 rng(5);
  Sha256Pair pair(KeyOrNone());
  for (int file = 0; file < 20; ++file) {
    const std::string data = RandomBytesForTest(1 + rng() % (1 << 20), static_cast<uint64_t>(file));
    std::vector<size_t> cuts;
    for (size_t at = rng() % 70000; at < data.size(); at += 1 + rng() % 140000) cuts.push_back(at);
    CheckAgainstOpenSsl(pair, KeyOrNone(), data, cuts);
  }
}

// Two different chunks side by side: every pair of lengths around the block
// edges (one stream ends while the other goes on), then chunk-sized pairs.
TEST_P(Sha256PairTest, TwoChunkIdsMatchOpenSsl) {
  std::optional<HmacSha256Keyed> mac;
  if (KeyOrNone()) mac.emplace(*KeyOrNone());
  const auto want = [&](std::string_view c) { return HexEncode(mac ? mac->Mac(c) : Sha256(c)); };
  const Sha256Pair pair(KeyOrNone());
  const std::string a = RandomBytesForTest(300000, 21);
  const std::string b = RandomBytesForTest(300000, 22);
  std::vector<size_t> lengths = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 200};
  for (size_t na : lengths) {
    for (size_t nb : lengths) {
      const auto [ia, ib] = pair.TwoChunkIds(na == 0 ? nullptr : U8(a), na, U8(b), nb);
      ASSERT_EQ(HexEncode(ia), want(std::string_view(a).substr(0, na))) << na << " " << nb;
      ASSERT_EQ(HexEncode(ib), want(std::string_view(b).substr(0, nb))) << na << " " << nb;
    }
  }
  std::mt19937_64 rng(9);
  for (int i = 0; i < 40; ++i) {
    const size_t na = 16384 + rng() % (262144 - 16384);
    const size_t nb = 16384 + rng() % (262144 - 16384);
    const size_t oa = rng() % (a.size() - na);
    const size_t ob = rng() % (b.size() - nb);
    const auto [ia, ib] = pair.TwoChunkIds(U8(a) + oa, na, U8(b) + ob, nb);
    ASSERT_EQ(HexEncode(ia), want(std::string_view(a).substr(oa, na)));
    ASSERT_EQ(HexEncode(ib), want(std::string_view(b).substr(ob, nb)));
  }
  // The same bytes in both lanes, and a pair call between chunks of a file:
  // the file's running digest is not disturbed.
  Sha256Pair file(KeyOrNone());
  CheckAgainstOpenSsl(file, KeyOrNone(), a.substr(0, 1000), {100});
  const auto [x, y] = file.TwoChunkIds(U8(a), 70000, U8(a), 70000);
  EXPECT_EQ(HexEncode(x), HexEncode(y));
  EXPECT_EQ(HexEncode(x), want(std::string_view(a).substr(0, 70000)));
  CheckAgainstOpenSsl(file, KeyOrNone(), a.substr(5, 150000), {64, 90000});
}

std::string ParamName(const ::testing::TestParamInfo<bool>& p) {
  return p.param ? "Hmac" : "Sha256";
}
INSTANTIATE_TEST_SUITE_P(PlainAndKeyed, Sha256PairTest, ::testing::Bool(), ParamName);

}  // namespace
}  // namespace vecsafe::repo
