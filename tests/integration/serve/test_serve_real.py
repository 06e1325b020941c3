"""vecsafe serve with real parts: MinIO (S3) as the repository, the Qdrant stand-in,
real Chroma 1.5.9 data (PersistentClient) and a real `chroma run` server.

Every job kind the daemon runs is checked end to end: the API answers, and the work is
really done (the snapshot is in the repository by `vecsafe snapshots --json`, the
restored files are there, the recovered collection answers in Chroma, the repaired
orphan is quarantined, the webhooks received their alerts once).

Cost: about 60 s on 2 cores (one MinIO per session, one daemon per test, two short
Chroma server runs; the Chroma 1.5.9 virtualenv is cached).
"""
import json
import os
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from serve_helpers import ADMIN, OPS, READER, Daemon, free_port, tokens
from vecsafe_testlib import FAST_KDF

DRIVER = Path(__file__).resolve().parents[1] / "chroma" / "chroma_driver.py"
VICTIM = {"name": "victim", "n": 40, "dim": 8, "seed": 3, "sync_threshold": 10, "batch_size": 10}
KEEP = {"name": "keep", "n": 25, "dim": 8, "seed": 5, "sync_threshold": 10, "batch_size": 10}


def chroma_call(venv, command, *args):
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.run([str(venv / "bin" / "python"), str(DRIVER), command, *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().split("\n")[-1])


class ChromaServer:
    def __init__(self, venv, path, log_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(log_dir) / "chroma.log", "w")
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        self.proc = subprocess.Popen([str(venv / "bin" / "chroma"), "run", "--path", str(path),
                                      "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=log_dir)  # 0.x writes chroma.log to its cwd
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.proc.poll() is None, "chroma run exited"
            try:
                with urllib.request.urlopen(self.url + "/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("chroma run did not answer")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Setup:
    """A fresh S3 repository, Qdrant stand-in, Chroma folder and plain folder per test."""

    def __init__(self, vecsafe_bin, tmp_path, env, minio, qdrant_node, chroma_venv):
        self.bin, self.tmp, self.venv = vecsafe_bin, tmp_path, chroma_venv
        self.env = minio.env(**{k: v for k, v in env.items() if k.startswith("VECSAFE_")},
                             HOME=env["HOME"])
        self.repo = f"s3://{minio.new_bucket()}/serve"
        self.cli("init", "--repo", self.repo, *FAST_KDF)
        self.qdrant = qdrant_node()
        self.qdrant.add_collection("alpha", 300_000, seed=1)
        self.qdrant.add_collection("beta", 200_000, seed=2)
        self.chroma = tmp_path / "chroma"
        chroma_call(chroma_venv, "create", "--path", self.chroma, "--spec",
                    json.dumps([VICTIM, KEEP]))
        self.files = tmp_path / "files"
        self.files.mkdir()
        (self.files / "a.bin").write_bytes(os.urandom(200_000))
        (self.files / "b.txt").write_text("hello\n" * 1000)

    def cli(self, *args):
        proc = subprocess.run([str(self.bin), *map(str, args), "--json"], capture_output=True,
                              text=True, env=self.env, timeout=120)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout)

    def snapshots(self):
        return self.cli("snapshots", "--repo", self.repo)["snapshots"]

    def doc(self, schedules=(), retention=None, server_url=None):
        chroma = {"name": "chroma", "type": "chroma", "path": str(self.chroma)}
        if server_url:
            chroma["server_url"] = server_url
        return {"tokens": tokens(),
                "repositories": [{"name": "s3", "url": self.repo,
                                  "retention": retention or {"keep_last": 2}}],
                "sources": [{"name": "qdrant", "type": "qdrant", "url": self.qdrant.url},
                            chroma,
                            {"name": "files", "type": "dir", "path": str(self.files)}],
                "schedules": list(schedules)}

    def daemon(self, **kw):
        return Daemon(self.bin, self.tmp, self.env, self.doc(**kw))


@pytest.fixture
def setup(vecsafe_bin, tmp_path, env, serve_minio, qdrant_node, chroma_venv):
    return Setup(vecsafe_bin, tmp_path, env, serve_minio, qdrant_node, chroma_venv)


def test_old_qdrant_routes_really_back_up_into_s3(setup):
    d = setup.daemon()
    try:
        status, body = d.call("GET", "/status", token=READER)
        assert status == 200, body
        assert body["qdrant_status"] == "connected" and body["qdrant_version"] == "1.19.0"
        assert body["qdrant_url"] == setup.qdrant.url
        status, body = d.call("GET", "/collections", token=READER)
        assert status == 200 and body == {"success": True, "collections": ["alpha", "beta"],
                                          "count": 2}, body

        status, one = d.call("POST", "/backup", token=OPS, body={"collection": "alpha"})
        assert status == 200, one
        assert one["collection"] == "alpha" and one["success"] is True and one["error"] is None
        assert one["gcs_path"] == setup.repo
        snaps = setup.snapshots()
        assert [s["id"] for s in snaps] == [one["snapshot_name"]]
        assert snaps[0]["source_kind"] == "qdrant"
        assert "source:qdrant" in snaps[0]["tags"]

        status, every = d.call("POST", "/backup", token=OPS, body={})
        assert status == 200, every
        assert every["success"] is True and every["total_collections"] == 2
        assert every["success_count"] == 2 and every["failed_count"] == 0
        assert {c["collection"] for c in every["collections"]} == {"alpha", "beta"}
        assert every["duration_seconds"] > 0 and every["start_time"] <= every["end_time"]
        ids = {s["id"] for s in setup.snapshots()}
        assert len(ids) == 3
        assert {c["snapshot_name"] for c in every["collections"]} <= ids

        # The stand-in was left with no server-side snapshot.
        assert setup.qdrant.snapshots("alpha") == [] and setup.qdrant.snapshots("beta") == []
        # Qdrant down: the old failure shapes.
        setup.qdrant.stop()
        status, body = d.call("GET", "/status", token=READER)
        assert status == 503 and body["qdrant_status"] == "disconnected" and body["error"]
        status, body = d.call("POST", "/backup", token=OPS, body={"collection": "alpha"})
        assert status == 500 and body["success"] is False and body["error"]
        assert len(setup.snapshots()) == 3
    finally:
        d.stop()


def test_every_job_kind_through_api_v1(setup):
    yearly = "0 3 1 1 *"  # jobs that exist but do not fire during the test
    d = setup.daemon(schedules=[
        {"job": "retention", "repository": "s3", "cron": yearly},
        {"job": "verify", "repository": "s3", "cron": yearly, "read_data": True,
         "read_data_percent": 50}])
    try:
        # Backup (202 + operation), per source kind.
        op = d.submit("POST", "/api/v1/backups", {"source": "files"}, token=OPS)
        assert op["state"] == "succeeded", op
        files_snap = op["result"]["snapshot_id"]
        assert op["result"]["bytes_read"] == 206_000 and op["result"]["bytes_added"] > 0
        op = d.submit("POST", "/api/v1/backups", {"source": "qdrant", "collection": "beta"},
                      token=OPS)
        assert op["state"] == "succeeded", op
        q_snap = op["result"]["snapshot_id"]
        assert op["result"]["bytes_read"] > 200_000
        snaps = {s["id"]: s for s in setup.snapshots()}
        assert set(snaps) == {files_snap, q_snap}
        status, body = d.call("GET", "/api/v1/backups", token=READER)
        assert status == 200 and {b["id"] for b in body["backups"]} == set(snaps)

        # Verify: a known snapshot passes, an unknown one is refused.
        op = d.submit("POST", f"/api/v1/backups/{files_snap}/verify", {"read_data": True},
                      token=OPS)
        assert op["state"] == "succeeded", op
        assert op["result"]["details"]["ok"] is True
        assert op["result"]["details"]["read_data"] is True
        op = d.submit("POST", "/api/v1/backups/00ff00ff/verify", {}, token=OPS)
        assert op["state"] == "failed" and "00ff00ff" in op["error"]["message"], op
        assert op["error"]["code"] == "VS-2"

        # Restore into a new folder: same bytes.
        out = setup.tmp / "restored"
        op = d.submit("POST", f"/api/v1/backups/{files_snap}/restore", {"to": str(out)})
        assert op["state"] == "succeeded", op
        assert (out / "a.bin").read_bytes() == (setup.files / "a.bin").read_bytes()
        assert (out / "b.txt").read_text() == (setup.files / "b.txt").read_text()

        status, body = d.call("POST", "/api/v1/backups", token=OPS,
                              body={"source": "files", "collection": "x"})
        assert status == 400 and body["error"]["code"] == "VS-1", body
        status, body = d.call("POST", f"/api/v1/backups/{files_snap}/restore",
                              body={"to": str(out) + "2", "collection": "x"})
        assert status == 400, body

        # Delete one backup.
        op = d.submit("DELETE", f"/api/v1/backups/{q_snap}?repository=s3")
        assert op["state"] == "succeeded", op
        assert [s["id"] for s in setup.snapshots()] == [files_snap]

        # Jobs: verify (cheap and a read-data sample), retention + prune.
        for i in range(3):
            (setup.files / "b.txt").write_text(f"change {i}\n" * 100)
            assert d.submit("POST", "/api/v1/backups", {"source": "files"},
                            token=OPS)["state"] == "succeeded"
        assert len(setup.snapshots()) == 4
        op = d.submit("POST", "/api/v1/jobs/retention:s3/run", token=OPS)
        assert op["state"] == "succeeded", op
        assert op["result"]["details"]["removed"] == 2
        assert op["result"]["details"]["prune"] is not None  # forget --prune ran
        assert len(setup.snapshots()) == 2
        op = d.submit("POST", "/api/v1/jobs/verify:s3:read-data/run", token=OPS)
        assert op["state"] == "succeeded" and op["result"]["details"]["ok"] is True, op
        assert op["result"]["details"]["read_data"] is True  # the 50 % sample was read

        # Check of the real Chroma folder: healthy, and the findings route shows it.
        op = d.submit("POST", "/api/v1/checks", {"source": "chroma"}, token=OPS)
        assert op["state"] == "succeeded", op
        assert op["result"]["details"]["healthy"] is True, op
        status, body = d.call("GET", "/api/v1/checks/findings?source=chroma", token=READER)
        assert status == 200 and body["findings"]["chroma"]["report"]["healthy"] is True

        # History of the jobs run by hand: durations, results, bytes.
        runs = d.call("GET", "/api/v1/jobs/history", token=READER)[1]["runs"]
        by_job = {r["job"]: r for r in runs}
        assert by_job["retention:s3"]["result"] == "ok"
        assert by_job["verify:s3:read-data"]["trigger"] == "manual"
        for r in runs:
            assert r["duration_ms"] == r["finished_ms"] - r["started_ms"] >= 0
        metrics = d.call("GET", "/metrics", token=READER)[1]
        assert 'vecsafe_backup_success_total{source="files",type="dir"} 4' in metrics
        assert 'vecsafe_backup_success_total{source="qdrant",type="qdrant"} 1' in metrics
        assert 'vecsafe_consistency_status{source="chroma",type="chroma"} 0' in metrics
    finally:
        d.stop()


def test_schedules_fire_on_real_sources_without_overlap(setup):
    d = setup.daemon(schedules=[
        {"job": "backup", "source": "qdrant", "every_seconds": 1},
        {"job": "check", "source": "chroma", "cron": "* * * * *"},
        {"job": "backup", "source": "files", "every_seconds": 1}])
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            runs = d.call("GET", "/api/v1/jobs/backup:qdrant/history", token=READER)[1]["runs"]
            if len([r for r in runs if r["result"] == "ok"]) >= 3:
                break
            time.sleep(0.5)
        d.call("PUT", "/api/v1/config", body=setup.doc())  # stop the schedules
        time.sleep(0.5)
        ids = {s["id"] for s in setup.snapshots()}
        history = d.call("GET", "/api/v1/jobs/history", token=READER)[1]["runs"]
        for job in ("backup:qdrant", "backup:files"):
            runs = [r for r in history if r["job"] == job]
            done = [r for r in runs if r["result"] != "skipped"]
            assert len([r for r in done if r["result"] == "ok"]) >= 2, runs
            spans = sorted((r["started_ms"], r["finished_ms"]) for r in done)
            for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
                assert s2 >= e1, f"two runs of {job} overlapped"
            for r in done:
                assert r["trigger"] in ("schedule", "missed") and r["result"] == "ok", r
                assert r["duration_ms"] == r["finished_ms"] - r["started_ms"] > 0
                assert r["snapshot_id"] in ids, r
            # Only the first backup adds data; later ones deduplicate (the folder's
            # unchanged files are not even read again: the file cache).
            first, *later = sorted(done, key=lambda r: r["started_ms"])
            assert first["bytes_read"] > 0 and first["bytes_added"] > 0
            if job == "backup:files":
                assert all(r["bytes_added"] == 0 for r in later), later
            else:
                assert all(r["bytes_read"] > 200_000 for r in later), later
        # Cron `* * * * *` fires at most once a minute.
        checks = [r for r in history if r["job"] == "check:chroma"]
        assert len(checks) <= 2 and all(r["result"] == "ok" for r in checks), checks
    finally:
        d.stop()


def test_old_chroma_routes_really_work(setup, chroma_venv):
    server = ChromaServer(chroma_venv, setup.chroma, setup.tmp)
    try:
        d = setup.daemon(server_url=server.url)
        try:
            # Hot backups while Chroma runs: the whole folder, then one collection.
            status, body = d.call("POST", "/api/robust/backup", token=OPS,
                                  body={"collection_name": None})
            assert status == 200 and body["success"] is True, body
            op = d.wait_op(body["operation_id"])
            assert op["state"] == "succeeded", op
            full = op["result"]["snapshot_id"]
            assert op["result"]["bytes_read"] > 0
            status, body = d.call("POST", "/api/robust/backup", token=OPS,
                                  body={"collection_name": "keep"})
            assert status == 200, body
            op = d.wait_op(body["operation_id"])
            assert op["state"] == "succeeded", op
            one = op["result"]["snapshot_id"]
            kinds = {s["id"]: s["source_kind"] for s in setup.snapshots()}
            assert kinds == {full: "chroma", one: "chroma"}
            status, body = d.call("GET", "/api/robust/backups", token=READER)
            assert status == 200 and body["success"] is True
            rows = {b["backup_id"]: b for b in body["data"]}
            assert set(rows) == {full, one} and rows[full]["size_mb"] > 0
            assert rows[one]["collection_name"] == "keep", rows
            assert rows[full]["collection_name"] is None

            chroma_call(chroma_venv, "delete", "--server", server.url, "--name", "victim")

            # Scan finds the deleted collection's vectors; execute brings them back.
            status, body = d.call("GET", "/api/robust/scan-recovery", token=OPS)
            assert status == 200 and body["success"] is True, body
            items = [i for i in body["data"]["recovery_plan"] if i.get("execute")]
            assert len(items) == 1 and items[0]["count"] == 40, body
            items[0]["name"] = "victim-back"
            status, body = d.call("POST", "/api/robust/execute-recovery",
                                  body={"recovery_plan": items})
            assert status == 200 and body["success"] is True, body
            op = d.wait_op(body["operation_id"])
            assert op["state"] == "succeeded", op
            assert op["result"]["details"]["results"][0]["count"] == 40
            names = chroma_call(chroma_venv, "list", "--server", server.url)["collections"]
            assert sorted(names) == ["keep", "victim-back"]

            status, body = d.call("POST", "/api/robust/cleanup-backups", token=OPS)
            assert status == 200 and body["success"] is True
            assert d.wait_op(body["operation_id"])["state"] == "succeeded"
            assert len(setup.snapshots()) == 2  # keep_last 2: nothing to remove

            # The collection snapshot recreated under a new name through Chroma's API.
            op = d.submit("POST", f"/api/v1/backups/{one}/restore",
                          {"to_chroma": server.url, "as": "keep-copy"})
            assert op["state"] == "succeeded", op
            copy = chroma_call(chroma_venv, "dump", "--server", server.url, "--name",
                               "keep-copy", "--name", "keep")["collections"]
            assert copy["keep-copy"]["ids"] == copy["keep"]["ids"]
            assert copy["keep-copy"]["embeddings"] == copy["keep"]["embeddings"]
            chroma_call(chroma_venv, "delete", "--server", server.url, "--name", "keep-copy")

            # Safe rename and delete through Chroma's API, each backed up first.
            op = d.submit("POST", "/api/v1/collections/rename",
                          {"source": "chroma", "from": "keep", "to": "kept"})
            assert op["state"] == "succeeded", op
            op = d.submit("POST", "/api/v1/collections/delete",
                          {"source": "chroma", "collection": "kept"})
            assert op["state"] == "succeeded", op
            names = chroma_call(chroma_venv, "list", "--server", server.url)["collections"]
            assert names == ["victim-back"]
            assert len(setup.snapshots()) == 4  # a backup before each change
            kinds = [e["kind"] for e in d.call("GET", "/api/v1/journal?limit=50")[1]["entries"]]
            assert "collection.delete" in kinds and "collection.rename" in kinds

            status, body = d.call("GET", "/api/robust/health", token=READER)
            assert status == 200 and body["data"]["chroma_data_path"] == str(setup.chroma)
        finally:
            d.stop()
    finally:
        server.stop()
    # Restore (Chroma stopped): the folder comes back as it was in the hot backup.
    d = setup.daemon()
    try:
        status, body = d.call("POST", "/api/robust/restore", body={"backup_id": full})
        assert status == 200 and body["success"] is True, body
        names = chroma_call(chroma_venv, "list", "--path", setup.chroma)["collections"]
        assert sorted(names) == ["keep", "victim"]
        status, body = d.call("POST", "/api/robust/restore", body={"backup_id": "ffff0000"})
        assert status == 400 and "detail" in body
    finally:
        d.stop()


def test_cancel_a_running_backup(setup, qdrant_node):
    slow = qdrant_node(create_delay=30)
    slow.add_collection("big", 100_000)
    doc = setup.doc()
    doc["sources"][0]["url"] = slow.url
    d = Daemon(setup.bin, setup.tmp, setup.env, doc)
    try:
        status, body = d.call("POST", "/api/v1/backups", token=OPS, body={"source": "qdrant"})
        assert status == 202
        op_id = body["operation_id"]
        deadline = time.time() + 10
        while d.call("GET", "/api/v1/operations/" + op_id)[1]["state"] != "running":
            assert time.time() < deadline
            time.sleep(0.1)
        # A second backup of the same source waits: never two at once.
        status, body = d.call("POST", "/api/v1/backups", token=OPS, body={"source": "qdrant"})
        assert status == 409 and body["error"]["code"] == "VS-7", body
        t0 = time.time()
        status, body = d.call("DELETE", "/api/v1/operations/" + op_id, token=OPS)
        assert status == 202 and body["id"] == op_id
        op = d.wait_op(op_id, timeout=20)
        assert op["state"] == "cancelled", op
        assert time.time() - t0 < 15  # SIGTERM, then SIGKILL after 10 s at most
        assert setup.snapshots() == []
        entries = d.call("GET", "/api/v1/journal?kind=operation.cancel")[1]["entries"]
        assert entries[0]["target"] == op_id and entries[0]["actor"] == "token:ops"
    finally:
        d.stop()


class Hooks:
    """A webhook receiver on 127.0.0.1: keeps every JSON body posted to it."""

    def __init__(self):
        import http.server
        import threading
        bodies = self.bodies = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                bodies.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def test_check_alerts_once_then_auto_repair_quarantines_the_orphan(setup, chroma_venv):
    server = ChromaServer(chroma_venv, setup.chroma, setup.tmp)
    try:
        chroma_call(chroma_venv, "delete", "--server", server.url, "--name", "victim")
    finally:
        server.stop()  # repair needs Chroma stopped
    hooks = Hooks()
    doc = setup.doc()
    doc["sources"][1]["auto_repair"] = True
    doc["alerts"] = {"webhooks": [{"name": "ops", "url": hooks.url + "/json"},
                                  {"name": "chat", "url": hooks.url + "/slack",
                                   "format": "slack"}],
                     "orphan_threshold": 1, "cooldown_minutes": 60}
    d = Daemon(setup.bin, setup.tmp, setup.env, doc)
    try:
        for _ in range(2):  # the same problem twice: alerted once
            op = d.submit("POST", "/api/v1/checks", {"source": "chroma"}, token=OPS)
            assert op["state"] == "succeeded", op
            det = op["result"]["details"]
            assert det["healthy"] is False and det["orphans"] == 1 and "repair" not in det
        paths = sorted(p for p, _ in hooks.bodies)
        assert paths == ["/json", "/json", "/slack", "/slack"], hooks.bodies  # check + orphans
        kinds = {b["alert"] for p, b in hooks.bodies if p == "/json"}
        assert kinds == {"check_failed", "orphans"}
        assert all("text" in b for p, b in hooks.bodies if p == "/slack")
        metrics = d.call("GET", "/metrics", token=READER)[1]
        assert 'vecsafe_orphan_collections{source="chroma",type="chroma"} 1' in metrics
        suppressed = [line for line in metrics.splitlines()
                      if line.startswith('vecsafe_alerts_total{result="suppressed"}')]
        assert suppressed and float(suppressed[0].split()[-1]) >= 2, suppressed

        op = d.submit("POST", "/api/v1/checks", {"source": "chroma", "repair": True}, token=OPS)
        assert op["state"] == "succeeded", op
        repair = op["result"]["details"]["repair"]
        assert "repair_error" not in op["result"]["details"], op
        assert any(a["code"] == "ORPHAN_VECTOR_FOLDER" for a in repair["actions"]), repair
        assert list((setup.tmp / "chroma.vecsafe-quarantine").glob("*/*"))  # moved, not deleted
        op = d.submit("POST", "/api/v1/checks", {"source": "chroma"}, token=OPS)
        assert op["result"]["details"]["healthy"] is True, op
        names = chroma_call(chroma_venv, "list", "--path", setup.chroma)["collections"]
        assert names == ["keep"]
    finally:
        d.stop()
        hooks.stop()
