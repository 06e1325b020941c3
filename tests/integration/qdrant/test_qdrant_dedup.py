"""Dedup: 24 hourly backups of a collection that changes about 1 % between snapshots
(appends plus scattered 4 KiB page rewrites, as the stand-in's `mutate` does) each add
under 5 % of the collection's size after the first. Cost: about 40 s. The collection
is 64 MiB: each backup also carries a fixed cost of about 400 KiB (changed small files, tar
headers, the new WAL segment), which at 24 MiB alone would be 2-3 %.
"""
SIZE = 64 << 20
RUNS = 24


def test_hourly_backups_add_under_5_percent(cli, repo, standin):
    node = standin(collections=[f"live:{SIZE}"])
    figures = []
    for hour in range(RUNS):
        if hour:
            node.mutate("live", fraction=0.01, seed=hour)
        doc = cli("backup", "qdrant", node.url, "--repo", repo, "--json", "--tag", "hourly",
                  check=0).json
        (c,) = doc["collections"]
        figures.append((c["bytes_read"], c["bytes_new_raw"], c["bytes_new_stored"]))
    print("\nper run (read, new raw, new stored, %):")
    for i, (r, n, st) in enumerate(figures):
        print(f"  {i:2d} {r} {n} {st} {100 * n / r:.2f}%")
    first_read, first_new, _ = figures[0]
    assert first_new > 0.9 * first_read  # the first backup stores (nearly) everything
    for hour, (read, new_raw, new_stored) in enumerate(figures[1:], start=1):
        assert new_raw < 0.05 * read, f"hour {hour}: {new_raw} new of {read} ({new_raw / read:.1%})"
        assert new_stored < 0.05 * read
    worst = max(n / r for r, n, _ in figures[1:])
    print(f"\ndedup: first {first_new} of {first_read} bytes; worst later run {worst:.2%}; "
          f"mean {sum(n / r for r, n, _ in figures[1:]) / (RUNS - 1):.2%}")
