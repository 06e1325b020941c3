"""The CLI end to end against the real servers: MinIO (s3://bucket/prefix with
AWS_ENDPOINT_URL_S3) and fake-gcs-server (gs://bucket/prefix with
STORAGE_EMULATOR_HOST). Each test runs once per server.

  - init, backup dir, snapshots, restore bit-exact, verify --read-data,
    forget --keep-last, prune (the bucket listed by an independent client);
  - GCS_BUCKET_NAME + GCS_FOLDER_PREFIX (no --repo) is the same repository as
    gs://bucket/prefix;
  - locks: two backups at once both succeed; prune during a backup is refused
    with the holder named, and waits with --lock-wait;
  - a backup killed (-9) in the middle of its uploads leaves no snapshot,
    `verify` passes, and the next run uploads only what was not yet indexed.

A fault proxy (tests/harness/fault_proxy.py, no faults) plays a slow link
(16 MiB pack PUTs held 1.5 s) so that a backup is reliably still running when
it is raced, or a link that dies after 8 pack uploads for the kill.
Cost: ~40-70 s for both servers (about 0.85 GiB uploaded over loopback).
"""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from remote_targets import new_target, read_stats
from vecsafe_testlib import FAST_KDF, Cli, assert_error, make_tree, snapshot_tree

MIB = 1 << 20


@pytest.fixture(params=["s3", "gs"])
def target(request, minio, fake_gcs):
    return new_target(request.param, minio=minio, fake_gcs=fake_gcs)


def rcli(cli, target):
    """A Cli talking to `target` (password and HOME from the usual env fixture)."""
    return Cli(cli.bin, target.env(cli.env))


def random_tree(root, files, size, seed):
    root.mkdir(parents=True)
    for i in range(files):
        (root / f"part{i:02d}.bin").write_bytes(
            (seed * 1000 + i).to_bytes(8, "little") + os.urandom(size - 8))
    (root / "small.txt").write_text("small\n")
    return root


def start_backup(c, src, url, stats=None):
    env = dict(c.env, **({"VECSAFE_HTTP_STATS": str(stats)} if stats else {}))
    return subprocess.Popen([c.bin, "backup", "dir", str(src), "--repo", url, "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pred, proc, timeout=120, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(step)
    return False


@pytest.mark.asan  # the drivers' threads under ASan+UBSan, through the whole CLI
def test_roundtrip_forget_prune(cli, target, tmp_path):
    c = rcli(cli, target)
    c("init", "--repo", target.url, *FAST_KDF, check=0)
    assert "config" in target.keys() and any(k.startswith("keys/") for k in target.keys())
    src = make_tree(tmp_path / "src", seed=7, n_files=30, large_files=1, large_size=6 * MIB)
    want1 = snapshot_tree(src)
    s1 = c.json("backup", "dir", src, "--repo", target.url)["snapshot"]
    # Change a third of the files and the large one, and back up again.
    (src / "large0.dat").write_bytes(os.urandom(6 * MIB))
    for i, f in enumerate(sorted(p for p in src.rglob("file*.bin") if not p.is_symlink())):
        if i % 3 == 0:
            os.chmod(f, 0o644)
            f.write_bytes(os.urandom(5000 + i))
    want2 = snapshot_tree(src)
    s2 = c.json("backup", "dir", src, "--repo", target.url)["snapshot"]
    st2 = s2["stats"]
    # Unchanged files come from s1 (file cache); only changed bytes are new.
    assert st2["files_unchanged"] >= 15 and st2["bytes_new_raw"] < st2["bytes_total"], st2

    listed = c.json("snapshots", "--repo", target.url)["snapshots"]
    assert [s["id"] for s in listed] == [s1["id"], s2["id"]]
    for sid, want in ((s1["id"], want1), (s2["id"], want2)):
        out = tmp_path / f"out-{sid[:8]}"
        c("restore", sid, "--to", out, "--repo", target.url, check=0)
        assert snapshot_tree(out) == want  # bit-exact: sha256, size, mode, mtime, links
    v = c.json("verify", "--read-data", "--repo", target.url)
    assert v["ok"], v

    packs_before = target.keys("data/")
    f = c.json("forget", "--keep-last", "1", "--repo", target.url)
    assert len(c.json("snapshots", "--repo", target.url)["snapshots"]) == 1, f
    pr = c.json("prune", "--repo", target.url)
    assert target.keys("data/") != packs_before, pr  # s1's own chunks were dropped
    assert target.keys("locks/") == []
    assert len(target.keys("snapshots/")) == 1
    out = tmp_path / "out-after-prune"
    c("restore", "latest", "--to", out, "--repo", target.url, check=0)
    assert snapshot_tree(out) == want2
    v = c.json("verify", "--read-data", "--repo", target.url)
    assert v["ok"], v
    # Everything the CLI wrote is under the repository's prefix.
    if target.kind == "s3":
        allkeys = target.server.client.list_keys(target.bucket)
    else:
        allkeys = target.server.list_names(target.bucket)
    assert allkeys and all(k.startswith(target.prefix + "/") for k in allkeys), allkeys


def test_gcs_deployment_variables_name_the_same_repository(cli, fake_gcs, tmp_path):
    t = new_target("gs", fake_gcs=fake_gcs)
    # As the existing Qdrant backup deployments set them: no --repo, no VECSAFE_REPO.
    dep = Cli(cli.bin, t.env(cli.env, GCS_BUCKET_NAME=t.bucket,
                             GCS_FOLDER_PREFIX=f"/{t.prefix}/"))
    url = Cli(cli.bin, t.env(cli.env))
    dep("init", *FAST_KDF, check=0)
    src = make_tree(tmp_path / "src", seed=3, n_files=10, large_files=0)
    sid = dep.json("backup", "dir", src)["snapshot"]["id"]
    # The same repository through the URL ...
    assert [s["id"] for s in url.json("snapshots", "--repo", t.url)["snapshots"]] == [sid]
    sid2 = url.json("backup", "dir", src, "--repo", t.url)["snapshot"]["id"]
    # ... and back through the variables; the objects are where gs://bucket/prefix puts them.
    assert [s["id"] for s in dep.json("snapshots")["snapshots"]] == [sid, sid2]
    assert sorted(t.keys("snapshots/")) == sorted(f"snapshots/{i}" for i in (sid, sid2))
    dep("restore", sid, "--to", tmp_path / "out", check=0)
    assert snapshot_tree(tmp_path / "out") == snapshot_tree(src)
    assert dep.json("verify", "--read-data")["ok"]
    # --repo wins over the variables.
    assert url.json("snapshots", "--repo", t.url,
                    env={"GCS_BUCKET_NAME": "vs-no-such-bucket"})["snapshots"]


def test_locks_two_backups_and_prune_during_a_backup(cli, target, tmp_path, fault_proxy):
    c = rcli(cli, target)
    c("init", "--repo", target.url, *FAST_KDF, check=0)
    proxy, _ = fault_proxy(target.endpoint, rate=0, kinds="", delay_ms=1500)
    slow = rcli(cli, target.via(proxy))
    a = random_tree(tmp_path / "a", 3, 12 * MIB, seed=1)
    b = random_tree(tmp_path / "b", 3, 12 * MIB, seed=2)

    pa, pb = start_backup(slow, a, target.url), start_backup(slow, b, target.url)
    assert wait_for(lambda: len(target.keys("locks/")) >= 1, pa)
    # Prune (exclusive lock) is refused at once while a backup holds its lock.
    r = c("prune", "--repo", target.url)
    assert pa.poll() is None, "the backup ended before prune could race it"
    assert_error(r, "kLocked", in_message="pid")
    assert socket.gethostname() in r.err and "age" in r.err
    # With --lock-wait it waits for both backups, then runs.
    r = c("prune", "--lock-wait", "300", "--repo", target.url, "--json")
    (oa, ea), (ob, eb) = pa.communicate(timeout=300), pb.communicate(timeout=300)
    assert pa.returncode == 0, ea
    assert pb.returncode == 0, eb
    assert r.rc == 0, r.explain()
    ids = {json.loads(oa)["snapshot"]["id"]: a, json.loads(ob)["snapshot"]["id"]: b}
    assert {s["id"] for s in c.json("snapshots", "--repo", target.url)["snapshots"]} == set(ids)
    for sid, src in ids.items():
        out = tmp_path / f"r-{sid[:8]}"
        c("restore", sid, "--to", out, "--repo", target.url, check=0)
        assert snapshot_tree(out) == snapshot_tree(src)
    assert c.json("verify", "--read-data", "--repo", target.url)["ok"]
    assert target.keys("locks/") == []


def test_killed_backup_leaves_no_snapshot_and_the_next_run_reuses_its_packs(
        cli, target, tmp_path, fault_proxy):
    c = rcli(cli, target)
    c("init", "--repo", target.url, *FAST_KDF, check=0)
    # 208 MiB of random data: 12 full packs of 16 MiB and a last, smaller one; an index
    # checkpoint every 64 MiB of uploaded packs. The link dies after 8 pack uploads: the
    # backup stalls there, whatever the load. The 8 must be full packs (with the last,
    # smaller one among them, 4 + 3 packs + the last stay under 64 MiB: one checkpoint):
    # the last pack is queued only when at most 4 others (the upload threads) are
    # unfinished, i.e. after 12 - 4 = 8 full packs got through.
    src = random_tree(tmp_path / "src", 13, 16 * MIB, seed=5)
    total = sum(p.stat().st_size for p in src.iterdir())
    rest = total - 8 * 16 * MIB  # what the next run must still upload
    proxy, pstats = fault_proxy(target.endpoint, rate=0, kinds="", delay_ms=100, cut_after=8)
    slow = rcli(cli, target.via(proxy))

    # A held upload must not time out (and end the run) before the kill, however slow
    # the machine: the stall limit is raised far above the test's bound.
    sep = "&" if "?" in target.url else "?"
    p = start_backup(slow, src, target.url + sep + "low_speed_time_s=600")
    # Kill it once two checkpoints (8 packs) are indexed and the 9th pack is held; it
    # cannot finish. The proxy lets exactly 8 distinct pack uploads through (a retried
    # one counts once).
    def stalled():
        return len(target.keys("index/")) >= 2 and read_stats(pstats)["held"] >= 1
    if not wait_for(stalled, p, timeout=180, step=0.2):
        p.kill()
        _, err = p.communicate(timeout=60)
        pytest.fail(f"no stall after 2 checkpoints: index/ {target.keys('index/')}, "
                    f"data/ {len(target.keys('data/'))} packs, proxy {read_stats(pstats)}, "
                    f"backup rc {p.returncode}: {err[-2000:]}")
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL
    # Requests the proxy still holds land after the kill: wait until it forwarded them all.
    deadline = time.monotonic() + 30
    while (s := read_stats(pstats))["forwarded"] + s["held"] < s["requests"]:
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    first_up = s["bytes_up"]
    packs_after_kill = set(target.keys("data/"))
    assert len(packs_after_kill) >= 8

    # No half snapshot is visible, and the repository is valid.
    assert c.json("snapshots", "--repo", target.url)["snapshots"] == []
    assert target.keys("snapshots/") == []
    assert c.json("verify", "--read-data", "--repo", target.url)["ok"]

    # The next run finds the indexed packs and uploads only the rest.
    stats = tmp_path / "http-stats.jsonl"
    r = c("backup", "dir", src, "--repo", target.url, "--json", "--break-stale-locks",
          env={"VECSAFE_HTTP_STATS": str(stats)}, check=0)
    st = r.json["snapshot"]["stats"]
    sent = json.loads(stats.read_text().splitlines()[-1])["bytes_sent"]
    new_packs = set(target.keys("data/")) - packs_after_kill
    assert st["bytes_total"] == total
    assert st["bytes_new_stored"] < rest + 4 * MIB, st
    assert sent < rest + 8 * MIB and sent < first_up * 0.7, (sent, first_up, total)
    # The rest fills at most rest / 16 MiB full packs (a pack closes at 16 MiB or more)
    # and one partial: 5 or 6 packs.
    assert st["packs_written"] == len(new_packs) <= rest // (16 * MIB) + 1, (st, new_packs)
    out = tmp_path / "out"
    c("restore", "latest", "--to", out, "--repo", target.url, check=0)
    assert snapshot_tree(out) == snapshot_tree(src)
    # The killed run's lock is reported stale (its pid is gone); prune breaks it on request
    # and drops the killed run's packs that nothing refers to.
    r = c("prune", "--repo", target.url)
    assert_error(r, "kLocked", in_message=f"process {p.pid} is gone")
    assert "--break-stale-locks" in r.err
    c("prune", "--break-stale-locks", "--repo", target.url, check=0)
    assert target.keys("locks/") == []
    assert len(target.keys("data/")) <= st["packs_written"] + 10
    assert c.json("verify", "--read-data", "--repo", target.url)["ok"]
