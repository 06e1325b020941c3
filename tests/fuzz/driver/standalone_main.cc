// Runs a libFuzzer-style target without libFuzzer (gcc builds, CI smoke):
// replays every file in the corpus folders given, then --iterations=N random
// and mutated inputs from a fixed seed, so a run is repeatable.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  long iterations = 10000;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--iterations=", 0) == 0) {
      iterations = std::stol(arg.substr(13));
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(arg)) {
        std::ifstream in(e.path(), std::ios::binary);
        seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
  }
  for (const auto& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::mt19937_64 rng(12345);
  std::string buf;
  for (long i = 0; i < iterations; ++i) {
    if (!seeds.empty() && (rng() % 4) != 0) {
      buf = seeds[rng() % seeds.size()];
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips && !buf.empty(); ++f) {
        switch (rng() % 3) {
          case 0: buf[rng() % buf.size()] = static_cast<char>(rng()); break;
          case 1: buf.resize(rng() % (buf.size() + 1)); break;
          default: buf.insert(rng() % (buf.size() + 1), 1, static_cast<char>(rng())); break;
        }
      }
    } else {
      buf.resize(rng() % 512);
      for (auto& c : buf) c = static_cast<char>(rng());
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  }
  std::printf("fuzz smoke: %zu seeds, %ld generated inputs, no crash\n", seeds.size(), iterations);
  return 0;
}
