"""200 concurrent API requests while a real backup runs: no error, no lost operation.

The backup is of a Qdrant stand-in that takes 3 s to build each snapshot, so it is
running during the whole burst. Bounded: 200 requests from 50 threads, every call
with a 30 s timeout, every operation waited for at most 60 s.

Cost: about 8 s on 2 cores.
"""
import concurrent.futures
import os
import subprocess
import time

from serve_helpers import ADMIN, OPS, READER, Daemon, tokens
from vecsafe_testlib import FAST_KDF

LIST_ROUTES = ["/api/v1/jobs", "/api/v1/sources", "/api/v1/operations", "/api/v1/journal",
               "/api/v1/config", "/api/v1/disk-usage", "/metrics", "/health",
               "/api/robust/config", "/api/v1/jobs/history", "/api/v1/checks/findings",
               "/api/v1/config/templates"]


def test_200_concurrent_requests_while_a_backup_runs(vecsafe_bin, tmp_path, env, qdrant_node):
    repo = tmp_path / "repo"
    subprocess.run([str(vecsafe_bin), "init", "--repo", str(repo), *FAST_KDF], env=env,
                   check=True, capture_output=True)
    node = qdrant_node(create_delay=3)
    node.add_collection("slow", 200_000)
    files = tmp_path / "files"
    files.mkdir()
    (files / "f.bin").write_bytes(os.urandom(100_000))
    doc = {"tokens": tokens(), "max_concurrent_jobs": 2,
           "repositories": [{"name": "main", "url": str(repo)}],
           "sources": [{"name": "qdrant", "type": "qdrant", "url": node.url},
                       {"name": "files", "type": "dir", "path": str(files)}]}
    d = Daemon(vecsafe_bin, tmp_path, env, doc)
    try:
        op = d.submit("POST", "/api/v1/backups", {"source": "files"}, token=OPS)
        assert op["state"] == "succeeded", op
        files_snap = op["result"]["snapshot_id"]
        status, body = d.call("POST", "/api/v1/backups", token=OPS, body={"source": "qdrant"})
        assert status == 202
        backup_op = body["operation_id"]

        def one(i):
            if i % 20 == 0:  # 10 real operations: verify the folder's snapshot
                s, b = d.call("POST", f"/api/v1/backups/{files_snap}/verify", token=OPS,
                              body={}, timeout=30)
                return s, b.get("operation_id") if isinstance(b, dict) else None
            if i % 20 == 10:  # 10 refused: the same source is already being backed up
                s, b = d.call("POST", "/api/v1/backups", token=OPS, body={"source": "qdrant"},
                              timeout=30)
                return s, None
            token = None if LIST_ROUTES[i % len(LIST_ROUTES)] == "/health" else READER
            s, _ = d.call("GET", LIST_ROUTES[i % len(LIST_ROUTES)], token=token, timeout=30)
            return s, None

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(one, range(200)))
        burst = time.time() - t0
        running = d.call("GET", "/api/v1/operations/" + backup_op)[1]["state"]
        statuses = [s for s, _ in results]
        # Every request answered, none with an error: 409 only for the refused duplicates.
        assert statuses.count(409) == 10, statuses
        assert all(s in (200, 202) for i, s in enumerate(statuses) if i % 20 != 10), statuses
        submitted = [op_id for s, op_id in results if s == 202]
        assert len(submitted) == 10 and len(set(submitted)) == 10
        assert running == "running", "the backup should still run during the burst"
        # No operation lost: each one finished and is listed and journaled.
        for op_id in submitted:
            op = d.wait_op(op_id, timeout=60)
            assert op["state"] == "succeeded" and op["result"]["details"]["ok"] is True, op
        backup = d.wait_op(backup_op, timeout=60)
        assert backup["state"] == "succeeded", backup
        listed = {o["id"] for o in d.call("GET", "/api/v1/operations?limit=100")[1]["operations"]}
        assert set(submitted) | {backup_op} <= listed
        journal = d.call("GET", "/api/v1/journal?limit=200&kind=backup.verify")[1]["entries"]
        assert {e["op_id"] for e in journal} == set(submitted), journal
        assert all(e["result"] == "ok" and e["actor"] == "token:ops" for e in journal)
        snaps = subprocess.run([str(vecsafe_bin), "snapshots", "--repo", str(repo), "--json"],
                               env=env, capture_output=True, text=True, check=True).stdout
        assert backup["result"]["snapshot_id"] in snaps
        assert burst < 30
        # Disk usage of the data and backup paths, with the repository's own size.
        status, body = d.call("GET", "/api/v1/disk-usage", token=READER)
        assert status == 200
        paths = {(p["name"], p["kind"]): p for p in body["paths"]}
        assert set(paths) == {("files", "data"), ("main", "backup")}, paths
        on_disk = sum(f.stat().st_size for f in repo.rglob("*") if f.is_file())
        assert paths[("main", "backup")]["repository_bytes"] == on_disk > 200_000
        for p in paths.values():
            assert 0 < p["used_bytes"] <= p["total_bytes"] and 0 < p["used_ratio"] < 1
    finally:
        d.stop()
