"""Helpers of the daemon tests: a `vecsafe serve` process, HTTP calls, tokens."""
import hashlib
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ADMIN = "admin-token-0123456789abcdef"
OPS = "operator-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"


def sha(t):
    return hashlib.sha256(t.encode()).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tokens():
    return [{"name": "root", "role": "admin", "sha256": sha(ADMIN)},
            {"name": "ops", "role": "operator", "sha256": sha(OPS)},
            {"name": "viewer", "role": "read-only", "sha256": sha(READER)}]


def request(base, method, path, token=None, body=None, timeout=60, raw_body=None):
    data = raw_body if raw_body is not None else (
        None if body is None else json.dumps(body).encode())
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
    """`vecsafe serve --config FILE` on a free port; `doc` is the config document."""

    def __init__(self, vecsafe_bin, tmp_path, env, doc, args=()):
        self.tmp = tmp_path
        self.port = free_port()
        doc = dict(doc)
        doc["listen"] = f"127.0.0.1:{self.port}"
        doc.setdefault("state_dir", str(tmp_path / "state"))
        self.doc = doc
        self.config_path = tmp_path / "config.json"
        self.config_path.write_text(json.dumps(doc))
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / f"daemon-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [str(vecsafe_bin), "serve", "--config", str(self.config_path), *args],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        seen = []
        line = ""
        for _ in range(20):  # log lines may come first
            line = self.proc.stdout.readline()
            seen.append(line)
            if "listening on" in line or not line:
                break
        assert "listening on" in line, (seen, (tmp_path / f"daemon-{self.port}.log").read_text())

    def call(self, method, path, token=ADMIN, body=None, timeout=60):
        return request(self.base, method, path, token, body, timeout=timeout)

    def wait_op(self, op_id, timeout=120):
        """Polls GET /api/v1/operations/{id} until the operation ends; returns it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, op = self.call("GET", "/api/v1/operations/" + op_id, token=READER)
            assert status == 200, op
            if op["state"] not in ("queued", "running"):
                return op
            time.sleep(0.1)
        raise AssertionError(f"operation {op_id} still running after {timeout}s: {op}")

    def submit(self, method, path, body=None, token=ADMIN, timeout=120):
        """A 202 route: submits, waits, returns the finished operation."""
        status, b = self.call(method, path, token=token, body=body)
        assert status == 202, (path, status, b)
        assert b["href"] == "/api/v1/operations/" + b["operation_id"]
        return self.wait_op(b["operation_id"], timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.log.close()
