#include "repo/blob_codec.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace vecsafe::repo {
namespace {

std::string RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string TextData(size_t n) {
  std::string s;
  int i = 0;
  while (s.size() < n) {
    s += "{\"id\": " + std::to_string(i) + ", \"text\": \"the quick brown fox " +
         std::to_string(i * 7 % 13) + "\"}\n";
    ++i;
  }
  s.resize(n);
  return s;
}

// Unit-length gaussian float32 vectors, as in an HNSW data file.
std::string FloatVectors(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist;
  std::string s;
  std::vector<float> v(384);
  while (s.size() < n) {
    double norm = 0;
    for (float& x : v) {
      x = dist(rng);
      norm += double{x} * x;
    }
    for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
    s.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  s.resize(n);
  return s;
}

BlobCodecOptions Encrypted() {
  BlobCodecOptions o;
  Key256 master{};
  master[3] = 9;
  o.keys = BlobKeys::FromMaster(master);
  return o;
}

TEST(BlobCodecTest, RoundTrips) {
  const BlobCodec plain{BlobCodecOptions{}};
  const BlobCodec enc{Encrypted()};
  const std::string inputs[] = {"",
                                "x",
                                TextData(100),
                                TextData(300000),
                                RandomData(70000, 1),
                                RandomData(5, 2),
                                std::string(1 << 20, '\0')};
  for (const BlobCodec* codec : {&plain, &enc}) {
    for (const auto& in : inputs) {
      std::string stored = "pre";
      BlobEncoding used;
      ASSERT_TRUE(codec->Encode(in.data(), in.size(), &stored, {}, &used).ok());
      EXPECT_EQ(stored.substr(0, 3), "pre");
      EXPECT_LE(stored.size() - 3, BlobCodec::MaxEncodedSize(in.size()));
      std::string back = "x";
      ASSERT_TRUE(codec->Decode(std::string_view(stored).substr(3), &back).ok());
      EXPECT_EQ(back, "x" + in);
    }
  }
}

// DecodeTo (restore, verify) gives what Decode gives, for every encoding,
// refuses a plaintext larger than the room given, and damage as Decode does.
TEST(BlobCodecTest, DecodeToMatchesDecode) {
  const BlobCodec plain{BlobCodecOptions{}};
  const BlobCodec enc{Encrypted()};
  const std::string inputs[] = {"",
                                "x",
                                TextData(300000),
                                RandomData(70000, 1),
                                FloatVectors(65536 + 3, 4),
                                std::string(1 << 20, '\0')};
  for (const BlobCodec* codec : {&plain, &enc}) {
    for (const auto& in : inputs) {
      SCOPED_TRACE(in.size());
      std::string stored;
      ASSERT_TRUE(codec->Encode(in.data(), in.size(), &stored, "id").ok());
      std::string dst(in.size() + 10, '#');
      auto n = codec->DecodeTo(stored, "id", dst.data(), dst.size());
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_EQ(*n, in.size());
      EXPECT_TRUE(std::string_view(dst).substr(0, in.size()) == in);
      EXPECT_EQ(dst.substr(in.size()), std::string(10, '#'));  // nothing past the plaintext
      auto exact = codec->DecodeTo(stored, "id", dst.data(), in.size());
      ASSERT_TRUE(exact.ok());
      if (!in.empty()) {
        auto short_room = codec->DecodeTo(stored, "id", dst.data(), in.size() - 1);
        EXPECT_EQ(short_room.status().code(), ErrorCode::kDataLoss);
      }
      EXPECT_EQ(codec->DecodeTo(stored, "other", dst.data(), dst.size()).status().code(),
                codec->encrypted() ? ErrorCode::kDataLoss : ErrorCode::kOk);
      std::string bad = stored;
      bad[bad.size() / 2] ^= 0x40;
      std::string via_decode;
      const Status want = codec->Decode(bad, &via_decode, "id");
      const auto got = codec->DecodeTo(bad, "id", dst.data(), dst.size());
      EXPECT_EQ(got.ok(), want.ok());
      if (got.ok() && want.ok()) {
        EXPECT_TRUE(std::string_view(dst).substr(0, *got) == via_decode);
      }
    }
  }
}

TEST(BlobCodecTest, CompressesTextNotRandom) {
  const BlobCodec codec{BlobCodecOptions{}};
  std::string out;
  BlobEncoding used;
  const std::string text = TextData(65536);
  ASSERT_TRUE(codec.Encode(text.data(), text.size(), &out, {}, &used).ok());
  EXPECT_EQ(used, BlobEncoding::kZstd);
  EXPECT_LT(out.size(), text.size() / 3);
  out.clear();
  const std::string rnd = RandomData(65536, 3);
  ASSERT_TRUE(codec.Encode(rnd.data(), rnd.size(), &out, {}, &used).ok());
  EXPECT_EQ(used, BlobEncoding::kRaw);
  EXPECT_EQ(out.size(), rnd.size() + 1);
  EXPECT_EQ(static_cast<uint8_t>(out[0]), 0);
  // Small random input (below the sampling threshold) also ends up raw.
  out.clear();
  const std::string small = RandomData(3000, 4);
  ASSERT_TRUE(codec.Encode(small.data(), small.size(), &out, {}, &used).ok());
  EXPECT_EQ(used, BlobEncoding::kRaw);
}

TEST(BlobCodecTest, FloatVectorsUseBytePlanes) {
  const BlobCodec plain{BlobCodecOptions{}};
  const BlobCodec enc{Encrypted()};
  // Odd sizes and offsets: chunk boundaries do not respect float alignment.
  for (size_t n : {size_t{65536}, size_t{70001}, size_t{262143}, size_t{16386}}) {
    const std::string floats = FloatVectors(n + 3, n).substr(n % 4);
    for (const BlobCodec* codec : {&plain, &enc}) {
      std::string stored;
      BlobEncoding used;
      ASSERT_TRUE(codec->Encode(floats.data(), n, &stored, {}, &used).ok());
      EXPECT_EQ(used, BlobEncoding::kZstdPlanes4) << n;
      // Sign and exponent bytes compress: clearly below plain zstd's ~0.93.
      EXPECT_LT(stored.size(), n * 88 / 100) << n;
      std::string back;
      ASSERT_TRUE(codec->Decode(stored, &back).ok());
      EXPECT_EQ(back, floats.substr(0, n));
    }
  }
}

// The plane layout is part of the repository format (docs/FORMAT.md): read
// an encoded frame with libzstd directly, and build one by hand for Decode,
// so a split and a join that are wrong in the same way cannot pass.
TEST(BlobCodecTest, BytePlaneLayoutMatchesTheFormat) {
  const BlobCodec plain{BlobCodecOptions{}};
  for (size_t n : {size_t{16384}, size_t{16387}, size_t{65536 + 61}}) {
    const std::string floats = FloatVectors(n, n);
    const size_t m = n / 4;
    std::string stored;
    BlobEncoding used;
    ASSERT_TRUE(plain.Encode(floats.data(), n, &stored, {}, &used).ok());
    ASSERT_EQ(used, BlobEncoding::kZstdPlanes4);
    auto u32 = [&](size_t at) {
      uint32_t v = 0;
      for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(stored[at + i])} << (8 * i);
      return v;
    };
    ASSERT_EQ(u32(1), n);
    const auto mask = static_cast<uint8_t>(stored[5]);
    size_t at = 6;
    for (int k = 0; k < 4; ++k) {
      std::string plane(m, '\0');
      if ((mask & (1u << k)) != 0) {
        const uint32_t len = u32(at);
        const size_t r = ZSTD_decompress(plane.data(), m, stored.data() + at + 4, len);
        ASSERT_EQ(r, m) << k;
        at += 4 + len;
      } else {
        plane = stored.substr(at, m);
        at += m;
      }
      for (size_t i = 0; i < m; ++i) ASSERT_EQ(plane[i], floats[4 * i + k]) << k << " " << i;
    }
    EXPECT_EQ(stored.substr(at), floats.substr(4 * m)) << n;

    // By hand: header, size, mask 0 (all planes stored raw), planes, tail.
    std::string frame(1, static_cast<char>(BlobEncoding::kZstdPlanes4));
    for (int i = 0; i < 4; ++i) frame.push_back(static_cast<char>(n >> (8 * i)));
    frame.push_back('\0');
    for (int k = 0; k < 4; ++k) {
      for (size_t i = 0; i < m; ++i) frame.push_back(floats[4 * i + k]);
    }
    frame += floats.substr(4 * m);
    std::string back;
    ASSERT_TRUE(plain.Decode(frame, &back).ok()) << n;
    EXPECT_EQ(back, floats) << n;
  }
}

TEST(BlobCodecTest, BytePlaneDamageIsDetected) {
  const BlobCodec plain{BlobCodecOptions{}};
  const std::string floats = FloatVectors(40000, 9);
  std::string stored;
  BlobEncoding used;
  ASSERT_TRUE(plain.Encode(floats.data(), floats.size(), &stored, {}, &used).ok());
  ASSERT_EQ(used, BlobEncoding::kZstdPlanes4);
  // Every truncation fails cleanly.
  for (size_t cut = 0; cut < stored.size(); cut += 97) {
    std::string out;
    EXPECT_EQ(plain.Decode(std::string_view(stored).substr(0, cut), &out).code(),
              ErrorCode::kDataLoss)
        << cut;
    EXPECT_TRUE(out.empty());
  }
  // Size field and mask corruption.
  for (size_t pos : {size_t{1}, size_t{2}, size_t{4}, size_t{5}}) {
    std::string bad = stored;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x40);
    std::string out;
    EXPECT_FALSE(plain.Decode(bad, &out).ok()) << pos;
  }
}

TEST(BlobCodecTest, ChunkIds) {
  const BlobCodec plain{BlobCodecOptions{}};
  const BlobCodec enc{Encrypted()};
  EXPECT_EQ(plain.ChunkId("abc"), Sha256("abc"));
  EXPECT_NE(enc.ChunkId("abc"), Sha256("abc"));
  EXPECT_EQ(enc.ChunkId("abc"), HmacSha256Keyed(enc.options().keys->id).Mac("abc"));
}

TEST(BlobCodecTest, DetectsDamage) {
  const BlobCodec plain{BlobCodecOptions{}};
  const BlobCodec enc{Encrypted()};
  const std::string text = TextData(20000);
  for (const BlobCodec* codec : {&plain, &enc}) {
    std::string stored;
    ASSERT_TRUE(codec->Encode(text.data(), text.size(), &stored, "aad").ok());
    std::mt19937 rng(5);
    int detected = 0;
    for (int i = 0; i < 200; ++i) {
      std::string bad = stored;
      bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      std::string out = "keep";
      const Status st = codec->Decode(bad, &out, "aad");
      if (!st.ok()) {
        EXPECT_EQ(st.code(), ErrorCode::kDataLoss);
        EXPECT_EQ(out, "keep");
        ++detected;
      } else {
        EXPECT_NE(out, "keep" + text) << "damage went unnoticed yet decoded identical";
      }
    }
    if (codec->encrypted()) {
      EXPECT_EQ(detected, 200);  // GCM catches every flip
    }
    for (size_t cut : {size_t{0}, size_t{1}, stored.size() / 2, stored.size() - 1}) {
      std::string out;
      EXPECT_EQ(codec->Decode(std::string_view(stored).substr(0, cut), &out, "aad").code(),
                ErrorCode::kDataLoss);
    }
    std::string out;
    EXPECT_EQ(codec->Decode(stored + "x", &out, "aad").code(), ErrorCode::kDataLoss);
  }
  std::string out;
  EXPECT_EQ(plain.Decode(std::string("\x07zz", 3), &out).code(), ErrorCode::kDataLoss);
}

TEST(BlobCodecTest, WrongKeyOrAadFails) {
  const BlobCodec enc{Encrypted()};
  BlobCodecOptions other = Encrypted();
  other.keys->data[0] ^= 1;
  const BlobCodec enc2{other};
  std::string stored;
  ASSERT_TRUE(enc.Encode("secret vectors", &stored).ok());
  std::string out;
  EXPECT_EQ(enc2.Decode(stored, &out).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(enc.Decode(stored, &out, "other").code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(enc.Decode(stored, &out).ok());
}

TEST(BlobCodecTest, SizeLimit) {
  BlobCodecOptions o;
  o.max_plaintext_size = 1000;
  const BlobCodec small{o};
  const BlobCodec big{BlobCodecOptions{}};
  const std::string text = TextData(5000);
  std::string stored;
  ASSERT_TRUE(big.Encode(text, &stored).ok());
  std::string out;
  EXPECT_EQ(small.Decode(stored, &out).code(), ErrorCode::kDataLoss);
}

// A chunk of float vectors with one 4 KiB page overwritten by random bytes:
// the shape of an HNSW flush, and what deltas are for.
struct DeltaCase {
  std::string base;
  std::string changed;
  Hash256 base_id{};
};
DeltaCase PageRewrite(const BlobCodec& codec, size_t n, size_t page_at) {
  DeltaCase c;
  c.base = FloatVectors(n, 3);
  c.changed = c.base;
  const std::string page = RandomData(4096, 4);
  c.changed.replace(page_at, page.size(), page);
  c.base_id = codec.ChunkId(c.base);
  return c;
}

TEST(BlobCodecTest, DeltaRoundTripsAndCostsAboutTheRewrittenBytes) {
  for (const BlobCodecOptions& o : {BlobCodecOptions{}, Encrypted()}) {
    const BlobCodec codec{o};
    const DeltaCase c = PageRewrite(codec, 64 * 1024, 20 * 1024);
    const Hash256 id = codec.ChunkId(c.changed);
    std::string whole;
    ASSERT_TRUE(codec.Encode(c.changed.data(), c.changed.size(), &whole, AsStringView(id)).ok());
    std::string delta;
    ASSERT_TRUE(codec
                    .EncodeDelta(c.changed.data(), c.changed.size(), c.base, c.base_id, &delta,
                                 AsStringView(id))
                    .ok());
    // 4 KiB of random bytes, the base id and framing; the whole chunk is ~56 KiB.
    EXPECT_LT(delta.size(), 4096u + 400u) << "encrypted " << codec.encrypted();
    EXPECT_GT(whole.size(), 40u * 1024u);
    Hash256 asked{};
    int reads = 0;
    const BaseReader reader = [&](const Hash256& b, std::string* out) {
      asked = b;
      ++reads;
      out->append(c.base);
      return Status::OK();
    };
    std::string out = "x";  // Decode appends
    ASSERT_TRUE(codec.Decode(delta, &out, AsStringView(id), &reader).ok());
    EXPECT_TRUE(out == "x" + c.changed);
    EXPECT_EQ(asked, c.base_id);
    std::vector<char> dst(c.changed.size());
    auto n = codec.DecodeTo(delta, AsStringView(id), dst.data(), dst.size(), &reader);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_TRUE(std::string(dst.data(), *n) == c.changed);
    EXPECT_EQ(reads, 2);
    // Too small a destination is refused before the base is read.
    auto small = codec.DecodeTo(delta, AsStringView(id), dst.data(), 100, &reader);
    EXPECT_EQ(small.status().code(), ErrorCode::kDataLoss);
    EXPECT_EQ(reads, 2);
  }
}

TEST(BlobCodecTest, DeltaLayoutNamesItsBase) {
  const BlobCodec codec{BlobCodecOptions{}};
  const DeltaCase c = PageRewrite(codec, 32 * 1024, 0);
  std::string delta;
  ASSERT_TRUE(
      codec.EncodeDelta(c.changed.data(), c.changed.size(), c.base, c.base_id, &delta).ok());
  ASSERT_GT(delta.size(), 33u);
  EXPECT_EQ(static_cast<uint8_t>(delta[0]), 0x03);
  EXPECT_EQ(delta.substr(1, 32), std::string(AsStringView(c.base_id)));
  // The rest is one zstd frame recording the plaintext size.
  EXPECT_EQ(ZSTD_getFrameContentSize(delta.data() + 33, delta.size() - 33), c.changed.size());
}

TEST(BlobCodecTest, DeltaNeedsItsBase) {
  const BlobCodec codec{BlobCodecOptions{}};
  const DeltaCase c = PageRewrite(codec, 64 * 1024, 4096);
  std::string delta;
  ASSERT_TRUE(
      codec.EncodeDelta(c.changed.data(), c.changed.size(), c.base, c.base_id, &delta).ok());
  std::string out;
  // No reader: a delta where none may be (a base that is itself a delta).
  Status none = codec.Decode(delta, &out);
  EXPECT_EQ(none.code(), ErrorCode::kDataLoss);
  EXPECT_NE(none.message().find("delta"), std::string::npos) << none.message();
  EXPECT_TRUE(out.empty());
  // The reader's own error comes back as it is.
  const BaseReader missing = [](const Hash256&, std::string*) {
    return NotFound("delta base 0011 is not in the index");
  };
  EXPECT_EQ(codec.Decode(delta, &out, {}, &missing).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(out.empty());
  // Another base: the frame decodes to other bytes or fails; never crashes.
  const std::string other = RandomData(c.base.size(), 9);
  const BaseReader wrong = [&](const Hash256&, std::string* o) {
    o->append(other);
    return Status::OK();
  };
  Status s = codec.Decode(delta, &out, {}, &wrong);
  if (s.ok()) {
    EXPECT_TRUE(out != c.changed);
  } else {
    EXPECT_EQ(s.code(), ErrorCode::kDataLoss);
  }
  // Damage anywhere in the delta: kDataLoss or other bytes, never a crash.
  // As a repository does: the base the blob names, or no base at all.
  const BaseReader right = [&](const Hash256& id, std::string* o) {
    if (id != c.base_id) return DataLoss("delta base is not in the index");
    o->append(c.base);
    return Status::OK();
  };
  for (size_t at : {size_t{1}, size_t{20}, size_t{33}, size_t{40}, delta.size() - 1}) {
    std::string bad = delta;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    std::string got;
    Status st = codec.Decode(bad, &got, {}, &right);
    if (st.ok()) {
      EXPECT_TRUE(got != c.changed) << at;
    } else {
      EXPECT_EQ(st.code(), ErrorCode::kDataLoss) << at;
    }
  }
  std::string cut = delta.substr(0, 20);
  EXPECT_EQ(codec.Decode(cut, &out, {}, &right).code(), ErrorCode::kDataLoss);
  // An empty base is refused when encoding.
  std::string none_out;
  EXPECT_FALSE(codec.EncodeDelta("abc", 3, "", c.base_id, &none_out).ok());
}

// A base whose first bytes are zstd's dictionary magic is still raw content.
TEST(BlobCodecTest, DeltaBaseIsRawContentWhateverItsFirstBytes) {
  const BlobCodec codec{BlobCodecOptions{}};
  std::string base = RandomData(48 * 1024, 11);
  const unsigned char magic[4] = {0x37, 0xa4, 0x30, 0xec};  // ZSTD_MAGIC_DICTIONARY, LE
  base.replace(0, 4, reinterpret_cast<const char*>(magic), 4);
  std::string changed = base;
  changed.replace(10000, 100, std::string(100, 'z'));
  std::string delta;
  ASSERT_TRUE(
      codec.EncodeDelta(changed.data(), changed.size(), base, codec.ChunkId(base), &delta).ok());
  EXPECT_LT(delta.size(), 1024u);
  const BaseReader reader = [&](const Hash256&, std::string* o) {
    o->append(base);
    return Status::OK();
  };
  std::string out;
  ASSERT_TRUE(codec.Decode(delta, &out, {}, &reader).ok());
  EXPECT_TRUE(out == changed);
}

}  // namespace
}  // namespace vecsafe::repo
