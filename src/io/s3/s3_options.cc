#include "io/s3/s3_options.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "io/http/remote_common.h"

namespace vecsafe::s3 {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> NonEmpty(const EnvFn& env, const char* name) {
  auto v = env(name);
  if (v && !v->empty()) return v;
  return std::nullopt;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<uint64_t> ParseUint(const std::string& name, const std::string& value, uint64_t min,
                           uint64_t max) {
  return http::ParseUintOption("s3", name, value, min, max);
}

Result<bool> ParseBool(const std::string& name, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return InvalidArgument("s3 option " + name + "=" + value + " is not true/false",
                         "Use " + name + "=true or " + name + "=false.");
}

Status CheckEndpoint(const std::string& endpoint) {
  if (!(endpoint.starts_with("http://") || endpoint.starts_with("https://")) ||
      endpoint.find_first_of(" ?#@") != std::string::npos) {
    return InvalidArgument("bad S3 endpoint '" + endpoint + "'",
                           "Give scheme, host and optional port, e.g. "
                           "endpoint=http://127.0.0.1:9000 or AWS_ENDPOINT_URL_S3=https://...");
  }
  return Status::OK();
}

std::string HomeFile(const EnvFn& env, const char* override_var, const char* relative) {
  if (auto v = NonEmpty(env, override_var)) return *v;
  auto home = NonEmpty(env, "HOME");
  return (home ? *home : std::string(".")) + "/" + relative;
}

}  // namespace

std::optional<std::string> ProcessEnv(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::map<std::string, std::map<std::string, std::string>> ParseIni(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string section;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section][Trim(std::string_view(line).substr(0, eq))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

Result<S3Options> ResolveS3Options(const std::string& bucket, const std::string& prefix,
                                   const std::map<std::string, std::string>& options,
                                   const EnvFn& env) {
  S3Options o;
  o.bucket = bucket;
  o.prefix = http::TrimSlashes(prefix);
  if (o.bucket.empty()) {
    return InvalidArgument("s3 URL without a bucket", "Write s3://BUCKET/prefix.");
  }

  std::optional<bool> path_style;
  std::optional<std::string> url_profile, url_region, url_endpoint;
  for (const auto& [k, v] : options) {
    VS_ASSIGN_OR_RETURN(bool connection, http::ApplyConnectionOption("s3", k, v, &o.transport,
                                                                     &o.retry, &o.concurrency));
    if (connection) continue;
    if (k == "endpoint") {
      url_endpoint = v;
    } else if (k == "region") {
      url_region = v;
    } else if (k == "profile") {
      url_profile = v;
    } else if (k == "path_style") {
      VS_ASSIGN_OR_RETURN(bool b, ParseBool(k, v));
      path_style = b;
    } else if (k == "multipart_threshold") {
      VS_ASSIGN_OR_RETURN(o.multipart_threshold, ParseUint(k, v, 5ull << 20, 5ull << 40));
    } else if (k == "part_size") {
      VS_ASSIGN_OR_RETURN(o.part_size, ParseUint(k, v, 5ull << 20, 5ull << 30));
    } else if (k == "conditional_put") {
      if (v == "auto") {
        o.conditional_put = ConditionalPut::kAuto;
      } else {
        VS_ASSIGN_OR_RETURN(bool b, ParseBool(k, v));
        o.conditional_put = b ? ConditionalPut::kOn : ConditionalPut::kOff;
      }
    } else {
      return InvalidArgument("unknown s3 URL option '" + k + "'",
                             "Known options: endpoint, region, profile, path_style, "
                             "multipart_threshold, part_size, concurrency, conditional_put, "
                             "retries, connect_timeout_s, low_speed_time_s (docs/storage.md).");
    }
  }
  o.transport.max_in_flight = o.concurrency;

  // Credentials.
  std::string profile = url_profile.value_or(NonEmpty(env, "AWS_PROFILE").value_or("default"));
  auto key_id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  std::string cred_file = HomeFile(env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
  if (!url_profile && key_id && secret) {
    o.credentials.access_key = *key_id;
    o.credentials.secret_key = *secret;
    o.credentials.session_token = NonEmpty(env, "AWS_SESSION_TOKEN").value_or("");
    o.credentials_source = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
  } else {
    auto text = ReadFile(cred_file);
    auto ini = ParseIni(text.value_or(""));
    auto it = ini.find(profile);
    if (it == ini.end()) {
      if (url_profile || NonEmpty(env, "AWS_PROFILE")) {
        return NotFound("AWS profile '" + profile + "' not found in " + cred_file,
                        "Add [" + profile +
                            "] with aws_access_key_id and aws_secret_access_key "
                            "to " +
                            cred_file + ", or set AWS_SHARED_CREDENTIALS_FILE.");
      }
      return Status(ErrorCode::kUnauthenticated, "no S3 credentials found",
                    "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
                    "temporary keys), or put a [default] profile in " +
                        cred_file + " (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE).");
    }
    const auto& sec = it->second;
    auto get = [&](const char* name) {
      auto f = sec.find(name);
      return f == sec.end() ? std::string() : f->second;
    };
    o.credentials.access_key = get("aws_access_key_id");
    o.credentials.secret_key = get("aws_secret_access_key");
    o.credentials.session_token = get("aws_session_token");
    o.credentials_source = "profile '" + profile + "' in " + cred_file;
    if (o.credentials.access_key.empty() || o.credentials.secret_key.empty()) {
      return Status(ErrorCode::kUnauthenticated,
                    "AWS profile '" + profile + "' in " + cred_file + " has no keys",
                    "Add aws_access_key_id and aws_secret_access_key to [" + profile + "].");
    }
  }

  // Region.
  if (url_region) {
    o.region = *url_region;
  } else if (auto r = NonEmpty(env, "AWS_REGION")) {
    o.region = *r;
  } else if (auto dr = NonEmpty(env, "AWS_DEFAULT_REGION")) {
    o.region = *dr;
  } else {
    auto text = ReadFile(HomeFile(env, "AWS_CONFIG_FILE", ".aws/config"));
    auto ini = ParseIni(text.value_or(""));
    std::string section = profile == "default" ? "default" : "profile " + profile;
    auto it = ini.find(section);
    if (it != ini.end() && it->second.count("region")) o.region = it->second.at("region");
  }
  if (o.region.empty() ||
      o.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return InvalidArgument("bad S3 region '" + o.region + "'",
                           "Give a region such as us-east-1 (region= or AWS_REGION).");
  }

  // Endpoint and addressing.
  if (url_endpoint) {
    o.endpoint = *url_endpoint;
  } else if (auto e = NonEmpty(env, "AWS_ENDPOINT_URL_S3")) {
    o.endpoint = *e;
  } else if (auto e2 = NonEmpty(env, "AWS_ENDPOINT_URL")) {
    o.endpoint = *e2;
  }
  if (!o.endpoint.empty()) {
    while (o.endpoint.back() == '/') o.endpoint.pop_back();
    VS_RETURN_IF_ERROR(CheckEndpoint(o.endpoint));
    o.custom_endpoint = true;
    o.path_style = path_style.value_or(true);
  } else {
    o.endpoint = "https://s3." + o.region + ".amazonaws.com";
    // Bucket names with dots do not match the wildcard certificate.
    o.path_style = path_style.value_or(o.bucket.find('.') != std::string::npos);
  }
  return o;
}

}  // namespace vecsafe::s3
