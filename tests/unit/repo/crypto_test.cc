#include "repo/crypto.h"

#include <gtest/gtest.h>

#include <string>

namespace vecsafe::repo {
namespace {

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
std::string Hex(const Hash256& h) { return HexEncode(h); }
std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }
Key256 KeyFromHex(std::string_view hex) {
  Key256 k;
  const std::string b = Unhex(hex);
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

// FIPS 180-2 / NIST CAVS SHA-256 examples.
TEST(CryptoTest, Sha256KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(Hex(Sha256(million)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(CryptoTest, Sha256StreamMatchesOneShotForAnySplit) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  const Hash256 want = Sha256(data);
  Sha256Stream s;
  for (size_t step : {1u, 63u, 64u, 65u, 1000u}) {
    for (size_t i = 0; i < data.size(); i += step) {
      s.Update(std::string_view(data).substr(i, step));
    }
    EXPECT_EQ(s.Finish(), want) << step;  // Finish() restarts the stream
  }
  Sha256Stream moved = std::move(s);
  moved.Update("abc");
  EXPECT_EQ(Hex(moved.Finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (case 5 is a truncated MAC).
TEST(CryptoTest, HmacSha256Rfc4231) {
  struct Case {
    std::string key_hex, data, mac_hex;
  };
  const Case cases[] = {
      {Repeat("0b", 20), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {HexEncode("Jefe"), "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(40, 'a'), Unhex(std::string(100, 'd')),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"0102030405060708090a0b0c0d0e0f10111213141516171819", Unhex(Repeat("cd", 50)),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(262, 'a'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(262, 'a'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& c : cases) {
    const std::string key = Unhex(c.key_hex);
    EXPECT_EQ(Hex(HmacSha256(key, c.data)), c.mac_hex);
    HmacSha256Keyed keyed(key);
    EXPECT_EQ(Hex(keyed.Mac(c.data)), c.mac_hex);
    EXPECT_EQ(Hex(keyed.Mac(c.data)), c.mac_hex);  // reusable
  }
}

TEST(CryptoTest, HexRoundTripAndErrors) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(HexDecode("00FF10").value(), std::string("\x00\xff\x10", 3));
  EXPECT_EQ(HexDecode("abc").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(HexDecode("zz").status().code(), ErrorCode::kInvalidArgument);
  const Hash256 h = Sha256("x");
  EXPECT_EQ(ParseHash256(HexEncode(h)).value(), h);
  EXPECT_FALSE(ParseHash256(HexEncode(h).substr(2)).ok());
}

TEST(CryptoTest, RandomAndCompare) {
  uint8_t a[32] = {}, b[32] = {};
  ASSERT_TRUE(RandomBytes(a, sizeof(a)).ok());
  ASSERT_TRUE(RandomBytes(b, sizeof(b)).ok());
  EXPECT_FALSE(ConstantTimeEqual(a, b, sizeof(a)));
  EXPECT_TRUE(ConstantTimeEqual(a, a, sizeof(a)));
  b[0] = a[0];
  EXPECT_TRUE(ConstantTimeEqual(a, b, 1));
}

// NIST GCM spec (McGrew & Viega) test case 16: AES-256, 96-bit IV, with AAD.
TEST(CryptoTest, AesGcmKnownAnswer) {
  const Key256 key = KeyFromHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string iv = Unhex("cafebabefacedbaddecaf888");
  uint8_t nonce[kGcmNonceSize];
  std::copy(iv.begin(), iv.end(), nonce);
  const std::string pt = Unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const std::string aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string out = "prefix";
  ASSERT_TRUE(AesGcmSealWithNonce(key, nonce, pt.data(), pt.size(), aad, &out).ok());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(HexEncode(out.substr(6)),
            "cafebabefacedbaddecaf888"
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b");
  std::string back;
  ASSERT_TRUE(AesGcmOpen(key, std::string_view(out).substr(6), aad, &back).ok());
  EXPECT_EQ(back, pt);
}

TEST(CryptoTest, AesGcmDetectsTamperingWrongKeyAndAad) {
  Key256 key{};
  ASSERT_TRUE(RandomBytes(key.data(), key.size()).ok());
  const std::string pt = "vector payload";
  std::string sealed;
  ASSERT_TRUE(AesGcmSeal(key, pt.data(), pt.size(), "id", &sealed).ok());
  EXPECT_EQ(sealed.size(), pt.size() + kGcmOverhead);
  std::string again;
  ASSERT_TRUE(AesGcmSeal(key, pt.data(), pt.size(), "id", &again).ok());
  EXPECT_NE(sealed, again);  // fresh nonce each time

  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    std::string out = "keep";
    EXPECT_EQ(AesGcmOpen(key, bad, "id", &out).code(), ErrorCode::kDataLoss) << i;
    EXPECT_EQ(out, "keep");
  }
  std::string out;
  EXPECT_EQ(AesGcmOpen(key, sealed, "other", &out).code(), ErrorCode::kDataLoss);
  Key256 other = key;
  other[0] ^= 1;
  EXPECT_EQ(AesGcmOpen(other, sealed, "id", &out).code(), ErrorCode::kDataLoss);
  EXPECT_EQ(AesGcmOpen(key, sealed.substr(0, 27), "id", &out).code(), ErrorCode::kDataLoss);
  ASSERT_TRUE(AesGcmOpen(key, sealed, "id", &out).ok());
  EXPECT_EQ(out, pt);

  std::string empty_sealed;
  ASSERT_TRUE(AesGcmSeal(key, nullptr, 0, {}, &empty_sealed).ok());
  std::string empty_out;
  ASSERT_TRUE(AesGcmOpen(key, empty_sealed, {}, &empty_out).ok());
  EXPECT_TRUE(empty_out.empty());
}

// libsodium's own crypto_pwhash (Argon2id v1.3, one lane) test vector
// (test/default/pwhash_argon2id.c, tv() case 4 and its .exp output).
TEST(CryptoTest, Argon2idKnownAnswer) {
  const std::string password = Unhex(
      "4a857e2ee8aa9b6056f2424e84d24a72473378906ee04a46cb05311502d5250b82ad86b83c8f20a23dbb74f6da"
      "60b0b6ecffd67134d45946ac8ebfb3064294bc097d43ced68642bfb8bbbdd0f50b30118f5e");
  const std::string salt_bytes = Unhex("39d82eef32010b8b79cc5ba88ed539fb");
  uint8_t salt[kArgon2SaltSize];
  std::copy(salt_bytes.begin(), salt_bytes.end(), salt);
  Argon2Params p;
  p.ops_limit = 3;
  p.mem_limit_bytes = 1432947;
  uint8_t out[190];
  ASSERT_TRUE(DeriveKeyArgon2id(password, salt, p, out, sizeof(out)).ok());
  EXPECT_EQ(HexEncode(out, sizeof(out)),
            "08d8cd330c57e1b4643241d05bb468ba4ee4e932cd0858816be9ef15360b27bbd06a87130ee92222be267a"
            "29b81f5ae8fe8613324cfc4832dc49387fd0602f1c57b4d0f3855db94fb7e12eb05f9a484aed4a4307abf5"
            "86cd3d55c809bc081541e00b682772fb2066504ff935b8ebc551a2083882f874bc0fae68e56848ae34c910"
            "97c3bf0cca8e75c0797eef3efde3f75e005815018db3cf7c109a812264c4de69dcb22322dbbcfa447f5b00"
            "ecd1b04a7be1569c8e556adb7bba48adf81d");
}

// Determinism and sensitivity to every input and parameter.
TEST(CryptoTest, Argon2idDeterministicAndParameterSensitive) {
  const uint8_t salt[kArgon2SaltSize] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  Argon2Params p;
  p.ops_limit = 1;
  p.mem_limit_bytes = 1 << 20;
  uint8_t a[32], b[32], c[32], d[32];
  ASSERT_TRUE(DeriveKeyArgon2id("password", salt, p, a, sizeof(a)).ok());
  ASSERT_TRUE(DeriveKeyArgon2id("password", salt, p, b, sizeof(b)).ok());
  EXPECT_TRUE(ConstantTimeEqual(a, b, 32));
  ASSERT_TRUE(DeriveKeyArgon2id("passwore", salt, p, c, sizeof(c)).ok());
  EXPECT_FALSE(ConstantTimeEqual(a, c, 32));
  p.ops_limit = 2;
  ASSERT_TRUE(DeriveKeyArgon2id("password", salt, p, d, sizeof(d)).ok());
  EXPECT_FALSE(ConstantTimeEqual(a, d, 32));

  Argon2Params bad;
  bad.mem_limit_bytes = 1ull << 40;
  EXPECT_EQ(DeriveKeyArgon2id("x", salt, bad, a, 32).code(), ErrorCode::kInvalidArgument);
  bad = Argon2Params{};
  bad.ops_limit = 0;
  EXPECT_EQ(bad.Validate().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(DeriveKeyArgon2id("x", salt, p, a, 8).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Argon2Params{}.Validate().ok());
}

TEST(CryptoTest, DeriveSubkeyIsHmacOfLabel) {
  Key256 master{};
  master[0] = 7;
  const Key256 a = DeriveSubkey(master, "data");
  const Key256 b = DeriveSubkey(master, "chunk-id");
  EXPECT_NE(a, b);
  EXPECT_EQ(a, HmacSha256(std::string_view(reinterpret_cast<const char*>(master.data()), 32),
                          "vecsafe/data"));
}

}  // namespace
}  // namespace vecsafe::repo
