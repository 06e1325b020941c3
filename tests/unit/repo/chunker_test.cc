#include "repo/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <random>
#include <string>
#include <vector>

#include "repo/crypto.h"

namespace vecsafe::repo {
namespace {

std::string RandomBytesFromSeed(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

// Chunk lengths of `data` using FindBoundary on the whole remaining buffer.
std::vector<size_t> Cut(const Chunker& c, std::string_view data) {
  std::vector<size_t> out;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t off = 0;
  while (off < data.size()) {
    const size_t n = c.FindBoundary(p + off, data.size() - off, true);
    EXPECT_GT(n, 0u);
    if (n == 0) break;
    out.push_back(n);
    off += n;
  }
  return out;
}

// Straightforward one-byte-at-a-time FastCDC with the same tables: the
// unrolled loop must agree with it exactly.
std::vector<size_t> ReferenceCut(const Chunker& c, std::string_view data) {
  const auto gear = Chunker::GearTable(c.params().seed);
  const auto& prm = c.params();
  std::vector<size_t> out;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t off = 0;
  while (off < data.size()) {
    const size_t n = std::min(data.size() - off, prm.max_size);
    size_t cut = n;
    if (n > prm.min_size) {
      uint64_t h = 0;
      for (size_t i = prm.min_size; i < n; ++i) {
        h = (h << 1) + gear[p[off + i]];
        if ((h & (i < prm.avg_size ? c.mask_small() : c.mask_large())) == 0) {
          cut = i + 1;
          break;
        }
      }
    }
    out.push_back(cut);
    off += cut;
  }
  return out;
}

TEST(ChunkerTest, ParamsValidate) {
  EXPECT_TRUE(ChunkerParams{}.Validate().ok());
  ChunkerParams p;
  p.avg_size = 60000;
  EXPECT_EQ(p.Validate().code(), ErrorCode::kInvalidArgument);
  p = ChunkerParams{};
  p.min_size = p.avg_size * 2;
  EXPECT_FALSE(p.Validate().ok());
  p = ChunkerParams{};
  p.max_size = 1ull << 30;
  EXPECT_FALSE(p.Validate().ok());
  p = ChunkerParams{};
  p.min_size = 10;
  EXPECT_FALSE(p.Validate().ok());
}

TEST(ChunkerTest, MasksHaveNormalizedBitCounts) {
  Chunker c{ChunkerParams{}};
  EXPECT_EQ(std::popcount(c.mask_small()), 18);
  EXPECT_EQ(std::popcount(c.mask_large()), 14);
  EXPECT_EQ(c.mask_small() >> 60, 0u);
}

TEST(ChunkerTest, MatchesReferenceAndRespectsBounds) {
  for (uint64_t seed : {0ull, 1ull, 0xdeadbeefull}) {
    ChunkerParams p;
    p.seed = seed;
    Chunker c(p);
    const std::string data = RandomBytesFromSeed(8 << 20, seed + 5);
    const auto cuts = Cut(c, data);
    EXPECT_EQ(cuts, ReferenceCut(c, data));
    size_t total = 0;
    for (size_t i = 0; i < cuts.size(); ++i) {
      total += cuts[i];
      EXPECT_LE(cuts[i], p.max_size);
      if (i + 1 < cuts.size()) {
        EXPECT_GE(cuts[i], p.min_size);
      }
    }
    EXPECT_EQ(total, data.size());
    // The average lands near the target (normalized chunking narrows it).
    const double avg = static_cast<double>(data.size()) / static_cast<double>(cuts.size());
    EXPECT_GT(avg, 48 * 1024.0);
    EXPECT_LT(avg, 96 * 1024.0);
  }
}

TEST(ChunkerTest, SmallParamsMatchReference) {
  ChunkerParams p;
  p.min_size = 64;
  p.avg_size = 256;
  p.max_size = 1024;
  p.seed = 9;
  Chunker c(p);
  const std::string data = RandomBytesFromSeed(1 << 20, 3);
  EXPECT_EQ(Cut(c, data), ReferenceCut(c, data));
}

TEST(ChunkerTest, ZeroBytesCutAtMax) {
  Chunker c{ChunkerParams{}};
  const std::string zeros(1 << 20, '\0');
  const auto cuts = Cut(c, zeros);
  EXPECT_EQ(cuts, ReferenceCut(c, zeros));
  EXPECT_EQ(cuts.front(), 256u * 1024);
}

TEST(ChunkerTest, NeedMoreDataAndEof) {
  Chunker c{ChunkerParams{}};
  const std::string data = RandomBytesFromSeed(1 << 20, 1);
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t first = c.FindBoundary(p, data.size(), false);
  ASSERT_GT(first, 0u);
  EXPECT_EQ(c.FindBoundary(p, first - 1, false), 0u);  // not decided yet
  EXPECT_EQ(c.FindBoundary(p, first - 1, true), first - 1);
  EXPECT_EQ(c.FindBoundary(p, first, false), first);
  EXPECT_EQ(c.FindBoundary(p, 100, false), 0u);
  EXPECT_EQ(c.FindBoundary(p, 100, true), 100u);
  EXPECT_EQ(c.FindBoundary(p, 0, true), 0u);
}

std::vector<size_t> StreamCut(const Chunker& c, std::string_view data, size_t piece,
                              std::string* joined) {
  StreamChunker sc(c);
  std::vector<size_t> out;
  const auto sink = [&](const uint8_t* d, size_t n) {
    out.push_back(n);
    joined->append(reinterpret_cast<const char*>(d), n);
    return Status::OK();
  };
  std::mt19937 rng(static_cast<uint32_t>(piece));
  size_t off = 0;
  while (off < data.size()) {
    // piece == 0: random piece sizes from 1 byte to 700 KiB.
    size_t n = piece ? piece : 1 + rng() % (700 * 1024);
    if (rng() % 16 == 0 && piece == 0) n = 1 + rng() % 10;
    n = std::min(n, data.size() - off);
    EXPECT_TRUE(sc.Write(reinterpret_cast<const uint8_t*>(data.data()) + off, n, sink).ok());
    off += n;
  }
  EXPECT_TRUE(sc.Finish(sink).ok());
  return out;
}

TEST(ChunkerTest, PieceSizesDoNotChangeBoundaries) {
  Chunker c{ChunkerParams{}};
  const std::string data = RandomBytesFromSeed(3 << 20, 11);
  const auto want = Cut(c, data);
  for (size_t piece :
       {size_t{0}, size_t{1000}, size_t{4096}, size_t{65536}, size_t{1} << 20, size_t{3} << 20}) {
    std::string joined;
    EXPECT_EQ(StreamCut(c, data, piece, &joined), want) << piece;
    EXPECT_EQ(joined, data);
  }
  std::string joined;
  const std::string small = data.substr(0, 200000);
  EXPECT_EQ(StreamCut(c, small, 1, &joined), Cut(c, small));
}

TEST(ChunkerTest, StreamSinkErrorStops) {
  Chunker c{ChunkerParams{}};
  StreamChunker sc(c);
  const std::string data = RandomBytesFromSeed(2 << 20, 2);
  int calls = 0;
  const Status st = sc.Write(reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                             [&](const uint8_t*, size_t) {
                               ++calls;
                               return IoError("sink full");
                             });
  EXPECT_EQ(st.code(), ErrorCode::kIoError);
  EXPECT_EQ(calls, 1);
}

// Chunks as content hashes, for comparing two versions of a file.
std::vector<Hash256> ChunkHashes(const Chunker& c, std::string_view data) {
  std::vector<Hash256> out;
  size_t off = 0;
  for (size_t n : Cut(c, data)) {
    out.push_back(Sha256(data.substr(off, n)));
    off += n;
  }
  return out;
}

TEST(ChunkerTest, StableUnderInsertionsAndDeletions) {
  Chunker c{ChunkerParams{}};
  const std::string base = RandomBytesFromSeed(16 << 20, 21);
  const auto before = ChunkHashes(c, base);
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 6; ++trial) {
    const size_t at = 1 + rng() % (base.size() - 1);
    std::string edited = base;
    if (trial % 2 == 0) {
      edited.insert(at, RandomBytesFromSeed(1 + rng() % 5000, trial));
    } else {
      edited.erase(at, 1 + rng() % 5000);
    }
    const auto after = ChunkHashes(c, edited);
    // Chunks entirely before the edit are identical.
    size_t prefix = 0;
    size_t off = 0;
    for (size_t n : Cut(c, base)) {
      if (off + n > at) break;
      off += n;
      ++prefix;
    }
    ASSERT_GE(after.size(), prefix);
    for (size_t i = 0; i < prefix; ++i) EXPECT_EQ(before[i], after[i]);
    // All but a couple of chunks survive.
    size_t shared = 0;
    for (const auto& h : after) {
      if (std::find(before.begin(), before.end(), h) != before.end()) ++shared;
    }
    EXPECT_GE(shared + 3, before.size()) << "trial " << trial;
    EXPECT_GE(shared + 3, after.size()) << "trial " << trial;
  }
}

// Format stability: these boundaries are stored in every repository; a
// change here means old repositories no longer deduplicate against new data.
TEST(ChunkerTest, KnownAnswerBoundaries) {
  ChunkerParams p;
  p.seed = 0x5eed5eed5eed5eedull;
  Chunker c(p);
  // Deterministic input: SplitMix-like bytes from a simple LCG, independent of std:: engines.
  std::string data(2 << 20, '\0');
  uint64_t x = 42;
  for (auto& ch : data) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    ch = static_cast<char>(x >> 56);
  }
  const auto gear = Chunker::GearTable(p.seed);
  EXPECT_EQ(gear[0], 0xfbfd33b4b6e4d3f7ull);
  EXPECT_EQ(gear[255], 0x25733612ae064e09ull);
  const std::vector<size_t> want = {71106, 29814, 36793, 40472, 57380, 66235, 86787, 74407,
                                    81917, 90615, 83060, 68535, 68847, 65039, 16748, 110519,
                                    72437, 89373, 78884, 71690, 53654, 94390, 71780, 33496,
                                    78013, 87177, 90805, 70235, 67160, 75002, 14782};
  EXPECT_EQ(Cut(c, data), want);
}

}  // namespace
}  // namespace vecsafe::repo
