"""Hot backup of a Chroma folder while `chroma run` takes writes.

A writer adds batches continuously through the real server (Chroma flushes
the HNSW index about once a second) while 14 full backups (10 spread out, 4
back to back) and 2 per-collection backups run. No write may fail. Every full
backup restored into a new folder must be a state Chroma itself wrote:
`vecsafe check chroma --deep` finds no error in it (HNSW files, id maps,
metadata segment and WAL agree: a copy torn by a flush shows as a count
mismatch), the same Chroma (PersistentClient) opens it and answers queries,
its count is one the writer had committed, and its records equal the
writer's. Every collection backup restored through the HTTP API likewise.
Restoring in place while the server runs is refused and changes nothing.

Cost: 50-100 s per version on 2 shared cores (docs/chroma.md, "Tests"). Runs on
HOT_VERSIONS (default: every selected version; e.g. HOT_VERSIONS="1.5.9"
narrows it).
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DRIVER

HOT_VERSIONS = os.environ.get("HOT_VERSIONS", "all").split()
BATCH = 50
START = 200
DIM = 16


def record_id(i):
    return f"id-{i:07d}"


@pytest.fixture
def hot(chroma_version):
    if "all" not in HOT_VERSIONS and chroma_version not in HOT_VERSIONS:
        pytest.skip(f"hot backup load test runs on {HOT_VERSIONS} (HOT_VERSIONS)")


def committed_counts(log):
    return {START} | {int(x) for x in Path(log).read_text().split()}


def wait_for_lines(log, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if Path(log).exists() and len(Path(log).read_text().split()) >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"the writer did not commit {n} batches in {timeout}s")


def rows(dump):
    return list(zip(dump["ids"], dump["embeddings"], dump["documents"], dump["metadatas"]))


def test_hot_backup_under_load(hot, chroma, chroma_server, vecsafe, tmp_path, chroma_version):
    data = tmp_path / "data"
    # Small sync threshold: Chroma flushes the HNSW index every 10 batches
    # (about once a second), so flushes race the backups.
    chroma.create(data, [
        {"name": "load-col", "n": START, "dim": DIM, "sync_threshold": 500, "batch_size": 100},
        {"name": "static-col", "n": 300, "dim": 8},
    ])
    server = chroma_server(data)
    repo = tmp_path / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)

    log = tmp_path / "writer.log"
    stop = tmp_path / "writer.stop"
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    cmd = [chroma.python, DRIVER, "writer", "--server", server.url, "--name", "load-col",
           "--start", START, "--count", 1000 * BATCH, "--dim", DIM, "--batch", BATCH,
           "--log", log, "--stop", stop, "--pause", 0.1]
    writer = subprocess.Popen(
        [str(c) for c in cmd],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for_lines(log, 2)
        before = max(committed_counts(log))
        full, per_col, attempts, reasons = [], [], [], []
        t0 = time.time()
        for i in range(10):
            time.sleep(0.4)  # spread the backups over several index flushes
            rc, out = vecsafe.json("backup", "chroma", data, "--repo", repo, "--tag", f"hot{i}",
                                   timeout=180)
            assert rc == 0, json.dumps(out)
            full.append(out["snapshot"]["id"])
            attempts.append(out["snapshot"]["source"]["copy_attempts"])
            reasons.extend(out["snapshot"]["source"]["retry_reasons"])
            if i % 5 == 0:
                rc, out = vecsafe.json("backup", "chroma", data, "--collection", "load-col",
                                       "--repo", repo, timeout=180)
                assert rc == 0, json.dumps(out)
                assert out["snapshot"]["source"]["chroma_running"] is True
                per_col.append(out["snapshot"]["id"])
        backup_seconds = time.time() - t0
        # Back to back: some copies start right in a flush; the consistency
        # checks must catch every torn one (retries).
        for i in range(4):
            rc, out = vecsafe.json("backup", "chroma", data, "--repo", repo,
                                   "--tag", f"burst{i}", timeout=180)
            assert rc == 0, json.dumps(out)
            full.append(out["snapshot"]["id"])
            attempts.append(out["snapshot"]["source"]["copy_attempts"])
            reasons.extend(out["snapshot"]["source"]["retry_reasons"])
        during = max(committed_counts(log))

        # Restoring in place while Chroma runs: refused, nothing moved.
        ino = os.stat(data / "chroma.sqlite3").st_ino
        proc = vecsafe.run("restore", full[0], "--to", data, "--in-place", "--repo", repo)
        assert proc.returncode == 6, proc.stderr
        assert "needs Chroma stopped" in proc.stderr and "HINT:" in proc.stderr
        assert os.stat(data / "chroma.sqlite3").st_ino == ino
        assert not list(tmp_path.glob("data.vecsafe-old-*"))
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, f"a Chroma write failed during the backups: {out} {err[-2000:]}"
    assert during > before, "the writer made no progress while the backups ran"
    committed = committed_counts(log)
    final = chroma.dump(server.url, ["load-col", "static-col"], queries=2)
    final_rows = rows(final["load-col"])
    assert final["load-col"]["ids"][:START + BATCH] == [record_id(i)
                                                        for i in range(START + BATCH)]

    def check_load_col(dump, what):
        n = dump["count"]
        assert n in committed, f"{what}: count {n} was never committed ({sorted(committed)[:5]}...)"
        assert dump["ids"] == [record_id(i) for i in range(n)], what
        assert rows(dump) == final_rows[:n], f"{what}: records differ from the writer's"

    # Per-collection snapshots, recreated through the same server's API.
    for k, snap in enumerate(per_col):
        rc, out = vecsafe.json("restore", snap, "--to-chroma", server.url, "--as", f"copy-{k}",
                               "--repo", repo)
        assert rc == 0, json.dumps(out)
        got = chroma.dump(server.url, [f"copy-{k}"], queries=0)[f"copy-{k}"]
        check_load_col(got, f"collection snapshot {k}")
    server.stop()

    # Full snapshots, restored into new folders and opened by Chroma itself.
    counts = []
    for k, snap in enumerate(full):
        target = tmp_path / f"restored-{k}"
        rc, out = vecsafe.json("restore", snap, "--to", target, "--repo", repo)
        assert rc == 0, json.dumps(out)
        # The files agree with each other as Chroma leaves them.
        rc, doc = vecsafe.json("check", "chroma", target, "--deep")
        bad = [f for f in doc.get("findings", []) if f["severity"] in ("error", "critical")]
        assert rc in (0, 1) and not bad, f"full snapshot {k}: {json.dumps(bad)[:2000]}"
        # Chroma opens it and its index answers queries.
        got = chroma.dump(target, queries=2)
        assert len(got["load-col"]["neighbours"]) == 2
        assert sorted(got) == ["load-col", "static-col"]
        check_load_col(got["load-col"], f"full snapshot {k}")
        assert got["static-col"] == final["static-col"]
        counts.append(got["load-col"]["count"])
    print(f"[chroma {chroma_version}] 10 hot backups (+4 back to back) in {backup_seconds:.1f}s, "
          f"attempts {attempts}, retry reasons {sorted(set(reasons))}, counts {counts}, "
          f"writer {before}->{during}->{max(committed)}")
