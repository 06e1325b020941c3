"""The CLI through the fault proxy (tests/harness/fault_proxy.py) in front of
MinIO and fake-gcs-server: dropped connections, answers lost after the write
landed, 500, 503, SlowDown and bodies cut short, on seeded schedules.

Every backup either completes after retries (and restores bit-exact) or fails
with a clear error (VS-<n> and a HINT); `verify --read-data` passes afterwards
(run without the proxy). A server that never stops failing makes the backup
give up in bounded time with `VS-8 unavailable`, leaving no snapshot.
Cost: ~20-40 s for both servers (about 40 MiB uploaded per server).
"""
import json
import time

import pytest

from remote_targets import new_target, read_stats
from vecsafe_testlib import FAST_KDF, Cli, assert_error, make_tree, snapshot_tree

KINDS = "drop,lost,500,503,slowdown,truncate"


@pytest.fixture(params=["s3", "gs"])
def target(request, minio, fake_gcs):
    return new_target(request.param, minio=minio, fake_gcs=fake_gcs)


def test_backups_through_faults_complete_or_fail_clearly(cli, target, tmp_path, fault_proxy):
    direct = Cli(cli.bin, target.env(cli.env))
    direct("init", "--repo", target.url, *FAST_KDF, check=0)
    done = {}
    injected = 0
    for seed in (3, 4, 5):
        src = make_tree(tmp_path / f"src{seed}", seed=seed, n_files=25, large_files=2,
                        large_size=5 << 20)
        proxy, stats = fault_proxy(target.endpoint, seed=seed, rate=0.12, kinds=KINDS)
        flaky = Cli(cli.bin, target.env(cli.env, VECSAFE_HTTP_STATS=str(tmp_path / "http")))
        flaky.env = target.via(proxy).env(flaky.env)
        r = flaky("backup", "dir", src, "--repo", target.url, "--json", timeout=240)
        injected += sum(read_stats(stats)["faults"].values())
        if r.rc == 0:
            done[r.json["snapshot"]["id"]] = snapshot_tree(src)
        else:  # a clear error: code, message, hint; never a crash
            err = r.json["error"]
            assert err["code"].startswith("VS-") and err["hint"], r.explain()
            assert "HINT: " in r.err, r.explain()
    assert injected >= 5, injected
    assert done, "no backup survived a 12 % fault rate: retries are not working"
    retries = sum(json.loads(line)["retries"] for line in (tmp_path / "http").read_text().split())
    assert retries > 0
    # Without the proxy: exactly the snapshots that succeeded, all intact.
    listed = {s["id"] for s in direct.json("snapshots", "--repo", target.url)["snapshots"]}
    assert listed == set(done)
    v = direct.json("verify", "--read-data", "--repo", target.url)
    assert v["ok"], v
    # Restores through faults are bit-exact too.
    proxy, stats = fault_proxy(target.endpoint, seed=9, rate=0.12,
                               kinds="drop,500,503,slowdown,truncate")
    flaky = Cli(cli.bin, target.via(proxy).env(cli.env))
    for sid, want in done.items():
        out = tmp_path / f"out-{sid[:8]}"
        flaky("restore", sid, "--to", out, "--repo", target.url, check=0, timeout=240)
        assert snapshot_tree(out) == want
    assert sum(read_stats(stats)["faults"].values()) > 0


def test_a_server_that_keeps_failing_gives_a_clear_error_in_bounded_time(
        cli, target, tmp_path, fault_proxy):
    direct = Cli(cli.bin, target.env(cli.env))
    direct("init", "--repo", target.url, *FAST_KDF, check=0)
    before = target.keys()
    proxy, _ = fault_proxy(target.endpoint, seed=1, rate=1.0, kinds="503")
    broken = Cli(cli.bin, target.via(proxy).env(cli.env))
    src = make_tree(tmp_path / "src", seed=1, n_files=5, large_files=0)
    t0 = time.monotonic()
    r = broken("backup", "dir", src, "--repo", target.url + "?retries=3", timeout=120)
    assert time.monotonic() - t0 < 60
    assert_error(r, "kUnavailable")
    assert "503" in r.err
    # Nothing got through: no snapshot, no lock, the repository unchanged and valid.
    assert target.keys() == before
    assert direct.json("snapshots", "--repo", target.url)["snapshots"] == []
    assert direct.json("verify", "--repo", target.url)["ok"]
