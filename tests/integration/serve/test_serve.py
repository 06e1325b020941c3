"""vecsafe serve: auth, old routes, config updates, SIGHUP, schedules, concurrency.

Cost: about 20 s on 2 cores (one daemon per test, every schedule in seconds).
"""
import concurrent.futures
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ADMIN = "admin-token-0123456789abcdef"
OPS = "operator-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"


def sha(t):
    return hashlib.sha256(t.encode()).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, token=None, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read().decode()
            status = r.status
            ctype = r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        status = e.code
        ctype = e.headers.get("Content-Type", "")
    parsed = json.loads(raw) if "json" in ctype and raw else raw
    return status, parsed


class Daemon:
    def __init__(self, vecsafe_bin, tmp_path, env, doc):
        self.tmp = tmp_path
        self.port = free_port()
        doc = dict(doc)
        doc["listen"] = f"127.0.0.1:{self.port}"
        doc["state_dir"] = str(tmp_path / "state")
        self.config_path = tmp_path / "config.json"
        self.config_path.write_text(json.dumps(doc))
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / "daemon.log", "w")
        self.proc = subprocess.Popen(
            [vecsafe_bin, "serve", "--config", str(self.config_path)],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        seen = []
        for _ in range(20):  # log lines may come first
            line = self.proc.stdout.readline()
            seen.append(line)
            if "listening on" in line or not line:
                break
        assert "listening on" in line, (seen, (tmp_path / "daemon.log").read_text())

    def call(self, method, path, token=ADMIN, body=None):
        return request(self.base, method, path, token, body)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.log.close()


def base_doc(tmp_path, schedules=None):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "file.bin").write_bytes(os.urandom(4096))
    return {
        "tokens": [
            {"name": "root", "role": "admin", "sha256": sha(ADMIN)},
            {"name": "ops", "role": "operator", "sha256": sha(OPS)},
            {"name": "viewer", "role": "read-only", "sha256": sha(READER)},
        ],
        "repositories": [{"name": "main", "url": str(tmp_path / "repo"),
                          "retention": {"keep_last": 3}}],
        "sources": [{"name": "files", "type": "dir", "path": str(data)}],
        "schedules": schedules if schedules is not None else [],
        "chroma_data_path": str(tmp_path / "chroma"),
        "backup_retention_days": 30,
    }


@pytest.fixture
def daemon(vecsafe_bin, tmp_path, env):
    d = Daemon(vecsafe_bin, tmp_path, env, base_doc(tmp_path))
    yield d
    d.stop()


def test_health_is_open_everything_else_needs_a_token(daemon):
    status, body = request(daemon.base, "GET", "/health")
    assert status == 200 and body["status"] == "healthy" and "timestamp" in body
    for path in ["/api/v1/jobs", "/metrics", "/status", "/api/robust/health", "/api/v1/nope"]:
        assert request(daemon.base, "GET", path)[0] == 401, path
        status, body = request(daemon.base, "GET", path, token="wrong-token-0123456789")
        assert status == 401 and body["error"]["code"] == "VS-5", path


def test_roles(daemon):
    assert daemon.call("GET", "/api/v1/jobs", token=READER)[0] == 200
    status, body = daemon.call("POST", "/api/v1/backups", token=READER, body={"source": "files"})
    assert status == 403 and body["error"]["name"] == "kPermissionDenied"
    assert daemon.call("PUT", "/api/v1/config", token=OPS, body={})[0] == 403
    assert daemon.call("POST", "/api/robust/restore", token=OPS, body={"backup_id": "x"})[0] == 403
    assert daemon.call("POST", "/backup", token=READER, body={})[0] == 403


def test_old_routes_answer_with_old_shapes(daemon):
    status, body = daemon.call("GET", "/api/robust/config")
    assert status == 200 and body["success"] is True
    assert body["data"]["backup_retention_days"] == 30
    assert body["data"]["chroma_data_path"].endswith("chroma")
    status, body = daemon.call("POST", "/api/robust/config/template/staging")
    assert status == 400 and "staging" in body["detail"]
    status, body = daemon.call("POST", "/api/robust/config/template/production")
    assert status == 200 and body["success"] is True
    status, body = daemon.call("GET", "/api/robust/config")
    assert body["data"]["backup_retention_days"] == 90  # applied without restart
    status, body = daemon.call("PUT", "/api/robust/config",
                               body={"config_updates": {"backup_retention_count": 7}})
    assert status == 200 and body == {"success": True, "message": "Configuration updated"}
    assert daemon.call("GET", "/api/robust/config")[1]["data"]["backup_retention_count"] == 7
    status, body = daemon.call("PUT", "/api/robust/config",
                               body={"config_updates": {"backup_retention_count": 0}})
    assert status == 400 and "detail" in body
    status, body = daemon.call("PUT", "/api/robust/config", body={"nothing": 1})
    assert status == 422 and "detail" in body
    status, body = daemon.call("GET", "/api/robust/health")
    assert status == 200 and body["success"] is True
    assert set(body["data"]["consistency"]) >= {"orphaned_vectors", "missing_vectors"}
    assert body["data"]["status"] in ("healthy", "warning", "critical")
    # No Qdrant configured: the old service's failure shapes.
    status, body = daemon.call("GET", "/status")
    assert status == 503 and body["qdrant_status"] == "disconnected" and "error" in body
    status, body = daemon.call("GET", "/collections")
    assert status == 500 and body["success"] is False
    status, body = daemon.call("POST", "/api/robust/execute-recovery", body={})
    assert status == 422 and "detail" in body


def test_invalid_config_update_is_refused_and_names_fields(daemon):
    before = daemon.call("GET", "/api/v1/config")[1]["config"]
    bad = dict(base_doc(daemon.tmp))
    bad["listen"] = "nowhere"
    bad["schedules"] = [{"job": "backup", "source": "ghost", "cron": "99 * * * *"}]
    status, body = daemon.call("PUT", "/api/v1/config", body=bad)
    assert status == 400
    fields = {f["field"] for f in body["error"]["fields"]}
    assert {"/listen", "/schedules/0/source", "/schedules/0/cron"} <= fields
    assert daemon.call("GET", "/api/v1/config")[1]["config"] == before
    # The secret-free journal says who tried.
    entries = daemon.call("GET", "/api/v1/journal?kind=config.update")[1]["entries"]
    assert entries[0]["actor"] == "token:root" and entries[0]["result"] == "failed"
    assert sha(ADMIN) not in json.dumps(entries) and ADMIN not in json.dumps(entries)


def test_valid_update_applies_without_restart_and_sighup_reloads(daemon):
    doc = base_doc(daemon.tmp, [{"job": "verify", "repository": "main", "cron": "@daily"}])
    doc["listen"] = f"127.0.0.1:{daemon.port}"
    status, body = daemon.call("PUT", "/api/v1/config", body=doc)
    assert status == 200, body
    jobs = daemon.call("GET", "/api/v1/jobs")[1]["jobs"]
    by_name = {j["name"]: j for j in jobs}
    # The old chroma keys in the document add their own backup and check jobs.
    assert set(by_name) == {"verify:main", "backup:chroma", "check:chroma"}
    assert by_name["verify:main"]["next_fire_ms"] is not None
    # SIGHUP: a valid file is applied, an invalid one is refused.
    doc["schedules"].append({"job": "retention", "repository": "main", "cron": "0 3 * * *"})
    daemon.config_path.write_text(json.dumps(doc))
    daemon.proc.send_signal(signal.SIGHUP)
    for _ in range(50):
        names = [j["name"] for j in daemon.call("GET", "/api/v1/jobs")[1]["jobs"]]
        if "retention:main" in names:
            break
        time.sleep(0.1)
    assert {"retention:main", "verify:main"} <= set(names)
    daemon.config_path.write_text("{ not json")
    daemon.proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    after = [j["name"] for j in daemon.call("GET", "/api/v1/jobs")[1]["jobs"]]
    assert sorted(after) == sorted(names)
    entries = daemon.call("GET", "/api/v1/journal?kind=config.update")[1]["entries"]
    assert entries[0]["actor"] == "signal:SIGHUP" and entries[0]["result"] == "failed"
    assert entries[1]["actor"] == "signal:SIGHUP" and entries[1]["result"] == "ok"


def test_schedules_fire_never_overlap_and_history_is_right(vecsafe_bin, tmp_path, env):
    schedules = [{"job": "backup", "source": "files", "every_seconds": 1},
                 {"job": "verify", "repository": "main", "every_seconds": 1}]
    d = Daemon(vecsafe_bin, tmp_path, env, base_doc(tmp_path, schedules))
    try:
        time.sleep(4.5)
        runs = d.call("GET", "/api/v1/jobs/backup:files/history")[1]["runs"]
        done = [r for r in runs if r["result"] != "skipped"]
        assert len(done) >= 2, runs
        for r in done:
            assert r["job"] == "backup:files" and r["trigger"] == "schedule"
            assert r["finished_ms"] >= r["started_ms"]
            assert r["duration_ms"] == r["finished_ms"] - r["started_ms"]
            assert r["result"] in ("ok", "failed")
            if r["result"] == "failed":
                assert r["error"].startswith("VS-")
        spans = sorted((r["started_ms"], r["finished_ms"]) for r in done)
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert s2 >= e1, "two runs of the same job overlapped"
        # Run-now while idle is accepted and becomes an operation.
        status, body = d.call("POST", "/api/v1/jobs/verify:main/run", token=OPS)
        assert status in (202, 409), body
        if status == 202:
            op = d.call("GET", "/api/v1/operations/" + body["operation_id"])[1]
            assert op["id"] == body["operation_id"] and op["actor"] == "token:ops"
        assert d.call("POST", "/api/v1/jobs/nope/run")[0] == 404
        metrics = d.call("GET", "/metrics", token=READER)[1]
        assert "# TYPE vecsafe_backup_success_total counter" in metrics
        assert 'vecsafe_backup_failure_total{source="files",type="dir"}' in metrics
        assert "vecsafe_up 1" in metrics
    finally:
        d.stop()


def test_missed_run_policy_runs_once_at_start(vecsafe_bin, tmp_path, env):
    schedules = [{"job": "verify", "repository": "main", "every_seconds": 2,
                  "missed_runs": "run_once"}]
    d = Daemon(vecsafe_bin, tmp_path, env, base_doc(tmp_path, schedules))
    time.sleep(2.5)
    d.stop()
    time.sleep(3)  # down long enough to miss a run
    d = Daemon(vecsafe_bin, tmp_path, env, base_doc(tmp_path, schedules))
    try:
        time.sleep(0.8)
        runs = d.call("GET", "/api/v1/jobs/verify:main/history")[1]["runs"]
        assert any(r["trigger"] == "missed" for r in runs), runs
    finally:
        d.stop()


def test_cancel_and_unknown_operation(daemon):
    assert daemon.call("GET", "/api/v1/operations/op-missing")[0] == 404
    assert daemon.call("DELETE", "/api/v1/operations/op-missing", token=OPS)[0] == 404
    status, body = daemon.call("POST", "/api/v1/alerts/test", token=OPS)
    assert status == 409 and body["error"]["code"] == "VS-6"


def test_request_size_limit(daemon):
    big = {"x": "a" * (2 << 20)}
    status, _ = daemon.call("PUT", "/api/v1/config", body=big)
    assert status == 413
