#include "io/s3/s3_options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "io/s3/s3_xml.h"

namespace vecsafe::s3 {
namespace {

class S3OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vecsafe-s3opt-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / ".aws");
    env_["HOME"] = dir_.string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  EnvFn Env() {
    return [this](const char* n) -> std::optional<std::string> {
      auto it = env_.find(n);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(S3OptionsTest, EnvironmentKeysAndDefaults) {
  env_["AWS_ACCESS_KEY_ID"] = "AK";
  env_["AWS_SECRET_ACCESS_KEY"] = "SK";
  env_["AWS_SESSION_TOKEN"] = "TOK";
  auto o = ResolveS3Options("bkt", "/a/b/", {}, Env());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->prefix, "a/b");
  EXPECT_EQ(o->credentials.access_key, "AK");
  EXPECT_EQ(o->credentials.secret_key, "SK");
  EXPECT_EQ(o->credentials.session_token, "TOK");
  EXPECT_EQ(o->region, "us-east-1");
  EXPECT_EQ(o->endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(o->path_style);
  EXPECT_FALSE(o->custom_endpoint);
  EXPECT_EQ(o->multipart_threshold, 64ull << 20);
}

TEST_F(S3OptionsTest, SharedCredentialsFileAndProfile) {
  Write(".aws/credentials",
        "[default]\naws_access_key_id = DEF\naws_secret_access_key = DEFSECRET\n"
        "# comment\n[backup]\naws_access_key_id=BAK\naws_secret_access_key=BAKSECRET\n"
        "aws_session_token = BT\n");
  Write(".aws/config", "[profile backup]\nregion = eu-west-3\n[default]\nregion = ap-south-1\n");
  auto d = ResolveS3Options("b", "", {}, Env());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->credentials.access_key, "DEF");
  EXPECT_EQ(d->region, "ap-south-1");
  env_["AWS_PROFILE"] = "backup";
  auto b = ResolveS3Options("b", "", {}, Env());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->credentials.access_key, "BAK");
  EXPECT_EQ(b->credentials.session_token, "BT");
  EXPECT_EQ(b->region, "eu-west-3");
  EXPECT_NE(b->credentials_source.find("backup"), std::string::npos);
  // Environment keys win over AWS_PROFILE, the URL's profile wins over both.
  env_["AWS_ACCESS_KEY_ID"] = "ENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "ENVS";
  EXPECT_EQ(ResolveS3Options("b", "", {}, Env())->credentials.access_key, "ENV");
  EXPECT_EQ(ResolveS3Options("b", "", {{"profile", "default"}}, Env())->credentials.access_key,
            "DEF");
  // AWS_SHARED_CREDENTIALS_FILE moves the file.
  Write("other", "[x]\naws_access_key_id=X\naws_secret_access_key=XS\n");
  env_["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "other").string();
  EXPECT_EQ(ResolveS3Options("b", "", {{"profile", "x"}}, Env())->credentials.access_key, "X");
  auto missing = ResolveS3Options("b", "", {{"profile", "nope"}}, Env());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

TEST_F(S3OptionsTest, NoCredentialsIsAClearError) {
  auto o = ResolveS3Options("b", "", {}, Env());
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(o.status().hint().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST_F(S3OptionsTest, RegionAndEndpointPrecedence) {
  env_["AWS_ACCESS_KEY_ID"] = "AK";
  env_["AWS_SECRET_ACCESS_KEY"] = "SK";
  env_["AWS_DEFAULT_REGION"] = "eu-north-1";
  EXPECT_EQ(ResolveS3Options("b", "", {}, Env())->region, "eu-north-1");
  env_["AWS_REGION"] = "eu-west-1";
  EXPECT_EQ(ResolveS3Options("b", "", {}, Env())->region, "eu-west-1");
  EXPECT_EQ(ResolveS3Options("b", "", {{"region", "us-west-2"}}, Env())->region, "us-west-2");
  env_["AWS_ENDPOINT_URL"] = "http://generic:1";
  EXPECT_EQ(ResolveS3Options("b", "", {}, Env())->endpoint, "http://generic:1");
  env_["AWS_ENDPOINT_URL_S3"] = "http://s3only:2/";
  auto o = ResolveS3Options("b", "", {}, Env());
  EXPECT_EQ(o->endpoint, "http://s3only:2");
  EXPECT_TRUE(o->path_style);
  auto v = ResolveS3Options("b", "", {{"endpoint", "https://x.example"}, {"path_style", "false"}},
                            Env());
  EXPECT_EQ(v->endpoint, "https://x.example");
  EXPECT_FALSE(v->path_style);
}

TEST_F(S3OptionsTest, BadOptionsAreRefused) {
  env_["AWS_ACCESS_KEY_ID"] = "AK";
  env_["AWS_SECRET_ACCESS_KEY"] = "SK";
  for (const auto& [k, v] : std::map<std::string, std::string>{{"bogus", "1"},
                                                               {"part_size", "12"},
                                                               {"part_size", "abc"},
                                                               {"concurrency", "0"},
                                                               {"path_style", "maybe"},
                                                               {"endpoint", "ftp://x"},
                                                               {"region", "EU WEST"}}) {
    auto o = ResolveS3Options("b", "", {{k, v}}, Env());
    EXPECT_EQ(o.status().code(), ErrorCode::kInvalidArgument) << k << "=" << v;
    EXPECT_FALSE(o.status().hint().empty());
  }
  auto ok = ResolveS3Options("b", "",
                             {{"part_size", "5242880"},
                              {"concurrency", "3"},
                              {"multipart_threshold", "10485760"},
                              {"conditional_put", "false"}},
                             Env());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->part_size, 5242880u);
  EXPECT_EQ(ok->concurrency, 3);
  EXPECT_EQ(ok->transport.max_in_flight, 3);
  EXPECT_EQ(ok->conditional_put, ConditionalPut::kOff);
}

TEST(S3XmlTest, ExtractsAndUnescapes) {
  std::string doc =
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3\"><IsTruncated>true"
      "</IsTruncated><Contents><Key>a&amp;b&lt;c&#x41;&#66;</Key><Size>3</Size></Contents>"
      "<Contents><Key>x</Key><Size>4</Size></Contents><Empty/>"
      "<NextContinuationToken>tok==</NextContinuationToken></ListBucketResult>";
  auto contents = XmlAll(doc, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(XmlText(contents[0], "Key"), "a&b<cAB");
  EXPECT_EQ(XmlText(contents[1], "Size"), "4");
  EXPECT_EQ(XmlText(doc, "IsTruncated"), "true");
  EXPECT_EQ(XmlText(doc, "NextContinuationToken"), "tok==");
  EXPECT_EQ(XmlText(doc, "Empty"), "");
  EXPECT_EQ(XmlText(doc, "Missing"), "");
  EXPECT_EQ(XmlUnescape("&bogus; & &#xZZ;"), "&bogus; & &#xZZ;");
  EXPECT_EQ(XmlEscape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
}

}  // namespace
}  // namespace vecsafe::s3
