"""Dedup: 24 hourly backups of a collection that changes about 1 % between snapshots
(appends plus scattered 4 KiB page rewrites, as the stand-in's `mutate` does) each add
under 5 % of the collection's size after the first. "Add" is what the repository grows
by on disk (packs, index and manifest), and the backup's own bytes_new_stored figure.
Cost: about 15 s. The collection is 64 MiB: each backup also carries a fixed cost of
about 400 KiB (changed small files, tar headers, the new WAL segment), which at 24 MiB
alone would be 2-3 %.

The new chunks themselves (bytes_new_raw) come to 3-5 % of the file: where chunk
boundaries fall depends on each repository's own chunker seed, so that figure varies
from repository to repository. Most of them are an old chunk with one page rewritten
and are stored as a delta against it, which is what keeps the stored figure low and
steady; the test checks that deltas are in use.
"""
import os

SIZE = 64 << 20
RUNS = 24


def repo_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        if os.path.basename(dirpath) == "locks":
            continue
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total


def test_hourly_backups_add_under_5_percent(cli, repo, standin):
    node = standin(collections=[f"live:{SIZE}"])
    figures = []
    for hour in range(RUNS):
        if hour:
            node.mutate("live", fraction=0.01, seed=hour)
        before = repo_bytes(repo)
        doc = cli("backup", "qdrant", node.url, "--repo", repo, "--json", "--tag", "hourly",
                  check=0).json
        (c,) = doc["collections"]
        figures.append((c["bytes_read"], c["bytes_new_raw"], c["bytes_new_stored"],
                        repo_bytes(repo) - before))
    print("\nper run (read, new raw, new stored, repository growth, growth %):")
    for i, (r, n, st, g) in enumerate(figures):
        print(f"  {i:2d} {r} {n} {st} {g} {100 * g / r:.2f}%")
    first_read, first_new, _, _ = figures[0]
    assert first_new > 0.9 * first_read  # the first backup stores (nearly) everything
    for hour, (read, new_raw, new_stored, growth) in enumerate(figures[1:], start=1):
        assert growth < 0.05 * read, f"hour {hour}: repository grew {growth} for {read} read"
        assert new_stored < 0.05 * read, f"hour {hour}: {new_stored} stored of {read}"
        assert new_stored < new_raw  # rewritten pages went in as deltas
        assert 0 < new_raw < 0.10 * read
    snaps = cli("snapshots", "--repo", repo, "--json").json
    deltas = [s["stats"]["chunks_delta"] for s in snaps["snapshots"]][1:]
    assert all(d > 0 for d in deltas), deltas
    worst = max(g / r for r, _, _, g in figures[1:])
    print(f"\ndedup: first {first_new} of {first_read} bytes; worst later run {worst:.2%}; "
          f"mean {sum(g / r for r, _, _, g in figures[1:]) / (RUNS - 1):.2%}")
    # Every chunk, deltas and the bases they read, decodes and matches its id.
    cli("verify", "--read-data", "--repo", repo)
