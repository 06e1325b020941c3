// chunk + hash + encode over real files, one core: the per-core cost of the
// backup pipeline without I/O. Point VECSAFE_BENCH_CORPUS at a folder made by
// shared/bench/make_corpus.sh (skipped when unset). Reports bytes/s and
// ratio = stored / input for zstd levels 1 and 3, byte planes on and off.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "repo/blob_codec.h"
#include "repo/chunker.h"

namespace vecsafe::bench {
namespace {

const std::string& Corpus() {
  static const std::string data = [] {
    std::string all;
    const char* dir = std::getenv("VECSAFE_BENCH_CORPUS");
    if (dir == nullptr) return all;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }();
  return data;
}

// Args: zstd level, byte planes on/off, encrypted.
void BM_CorpusChunkHashEncode(benchmark::State& state) {
  const std::string& data = Corpus();
  if (data.empty()) {
    state.SkipWithError("set VECSAFE_BENCH_CORPUS to a make_corpus.sh folder");
    return;
  }
  repo::BlobCodecOptions o;
  o.zstd_level = static_cast<int>(state.range(0));
  o.byte_planes = state.range(1) != 0;
  if (state.range(2) != 0) o.keys = repo::BlobKeys::FromMaster(repo::Key256{});
  const repo::BlobCodec codec{o};
  const repo::Chunker chunker{repo::ChunkerParams{}};
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  std::string out;
  size_t stored = 0;
  for (auto _ : state) {
    stored = 0;
    size_t off = 0;
    while (off < data.size()) {
      const size_t n = chunker.FindBoundary(p + off, data.size() - off, true);
      benchmark::DoNotOptimize(codec.ChunkId(p + off, n));
      out.clear();
      if (!codec.Encode(p + off, n, &out).ok()) return;
      stored += out.size();
      off += n;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(stored) / static_cast<double>(data.size());
}
BENCHMARK(BM_CorpusChunkHashEncode)
    ->Args({1, 1, 0})
    ->Args({3, 1, 0})
    ->Args({1, 0, 0})
    ->Args({3, 0, 0})
    ->Args({1, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

}  // namespace
}  // namespace vecsafe::bench
