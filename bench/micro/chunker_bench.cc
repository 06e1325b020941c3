// FastCDC throughput on one core (random data: the worst case for the hot
// loop, since the cut test rarely fires early).
#include <benchmark/benchmark.h>

#include "bench_data.h"
#include "repo/chunker.h"

namespace vecsafe::bench {
namespace {

void BM_ChunkerRandom(benchmark::State& state) {
  const std::string data = RandomBytes(64 << 20);
  repo::Chunker chunker{repo::ChunkerParams{}};
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t chunks = 0;
  for (auto _ : state) {
    size_t off = 0;
    while (off < data.size()) {
      off += chunker.FindBoundary(p + off, data.size() - off, true);
      ++chunks;
    }
    benchmark::DoNotOptimize(off);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["avg_chunk"] =
      static_cast<double>(state.iterations() * data.size()) / static_cast<double>(chunks);
}
BENCHMARK(BM_ChunkerRandom)->Unit(benchmark::kMillisecond);

void BM_StreamChunkerFloats(benchmark::State& state) {
  const std::string data = FloatVectors(32 << 20);
  repo::Chunker chunker{repo::ChunkerParams{}};
  const size_t piece = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    repo::StreamChunker sc(chunker);
    size_t total = 0;
    const auto sink = [&](const uint8_t*, size_t n) {
      total += n;
      return Status::OK();
    };
    for (size_t off = 0; off < data.size(); off += piece) {
      const size_t n = std::min(piece, data.size() - off);
      if (!sc.Write(reinterpret_cast<const uint8_t*>(data.data()) + off, n, sink).ok()) break;
    }
    if (!sc.Finish(sink).ok()) break;
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_StreamChunkerFloats)->Arg(64 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vecsafe::bench
