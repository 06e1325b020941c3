// Deterministic inputs shaped like what vecsafe backs up: float32 embedding
// vectors (HNSW data_level0), neighbour lists, JSON/text payloads, random bytes.
#ifndef VECSAFE_BENCH_MICRO_BENCH_DATA_H_
#define VECSAFE_BENCH_MICRO_BENCH_DATA_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

namespace vecsafe::bench {

inline std::string RandomBytes(size_t n, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

// Unit-normalised gaussian float32 vectors of dimension 768.
inline std::string FloatVectors(size_t n, uint64_t seed = 2) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist;
  std::string s;
  s.reserve(n + 768 * 4);
  float v[768];
  while (s.size() < n) {
    double norm = 0;
    for (float& x : v) {
      x = dist(rng);
      norm += double{x} * x;
    }
    for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
    s.append(reinterpret_cast<const char*>(v), sizeof(v));
  }
  s.resize(n);
  return s;
}

// hnswlib-style link lists: count + up to 32 uint32 ids below 400000.
inline std::string LinkLists(size_t n, uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(n + 132);
  uint32_t rec[33];
  while (s.size() < n) {
    const uint32_t cnt = 16 + rng() % 17;
    rec[0] = cnt;
    for (uint32_t i = 1; i <= 32; ++i)
      rec[i] = i <= cnt ? static_cast<uint32_t>(rng() % 400000) : 0;
    s.append(reinterpret_cast<const char*>(rec), sizeof(rec));
  }
  s.resize(n);
  return s;
}

// JSON lines with words drawn from a small vocabulary (document payloads).
inline std::string JsonText(size_t n, uint64_t seed = 4) {
  static const char* kWords[] = {"vector",    "database", "backup", "the",       "of",
                                 "query",     "search",   "index",  "model",     "token",
                                 "cluster",   "replica",  "shard",  "embedding", "nearest",
                                 "neighbour", "payload",  "and"};
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(n + 512);
  uint64_t id = 0;
  while (s.size() < n) {
    s += "{\"id\": " + std::to_string(id++) + ", \"source\": \"doc-" +
         std::to_string(rng() % 5000) + ".md\", \"text\": \"";
    const int words = 20 + static_cast<int>(rng() % 40);
    for (int w = 0; w < words; ++w) {
      if (w) s += ' ';
      s += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    }
    s += "\", \"score\": 0." + std::to_string(rng() % 1000000) + "}\n";
  }
  s.resize(n);
  return s;
}

}  // namespace vecsafe::bench

#endif  // VECSAFE_BENCH_MICRO_BENCH_DATA_H_
