"""schemathesis against docs/openapi.yaml and a running daemon: no server error (5xx) and
no response outside the spec (status code, content type, headers, body schema).

The daemon has working parts behind it (a Qdrant stand-in, a real Chroma 1.5.9 folder, a
plain folder, a local repository), so the routes of the old services can succeed. Two
passes: every operation but the three that replace the config, then those three (a
random valid config would otherwise change what the later operations see).

Bounded: fixed seed, 5 examples per operation, no stateful phase, 30 s per request;
the whole run is killed after 150 s. Cost: about 40 s on 2 cores.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from serve_helpers import Daemon, request, tokens
from vecsafe_testlib import FAST_KDF

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "docs" / "openapi.yaml"
DRIVER = ROOT / "tests" / "integration" / "chroma" / "chroma_driver.py"
TOKEN = "schema-admin-token-0123456789abcdef"
CONFIG_CHANGES = ["PUT /api/v1/config", "PUT /api/robust/config",
                  "POST /api/robust/config/template/{name}"]
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance")


def schemathesis(base, tmp_path, name, *selection):
    st = Path(sys.executable).with_name("st")
    cmd = [str(st), "run", str(SPEC), "--base-url", base,
           "--header", f"Authorization: Bearer {TOKEN}", "--checks", CHECKS,
           "--hypothesis-max-examples", "5", "--hypothesis-seed", "20261122",
           "--hypothesis-phases", "explicit,generate", "--hypothesis-deadline", "None",
           "--stateful", "none", "--request-timeout", "30000", "--workers", "1",
           "--no-color", "--junit-xml", str(tmp_path / f"{name}.xml"), *selection]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=150, cwd=tmp_path,
                          errors="replace")
    assert proc.returncode == 0, proc.stdout[-12000:] + proc.stderr[-3000:]
    return proc.stdout


def test_schemathesis_finds_no_server_error_and_nothing_outside_the_spec(
        vecsafe_bin, tmp_path, env, qdrant_node, chroma_venv):
    repo = tmp_path / "repo"
    subprocess.run([str(vecsafe_bin), "init", "--repo", str(repo), *FAST_KDF], env=env,
                   check=True, capture_output=True)
    node = qdrant_node()
    node.add_collection("points", 50_000)
    chroma = tmp_path / "chroma"
    subprocess.run([str(chroma_venv / "bin" / "python"), str(DRIVER), "create", "--path",
                    str(chroma), "--spec", json.dumps([{"name": "docs", "n": 20, "dim": 8}])],
                   check=True, capture_output=True, env=dict(os.environ,
                                                             ANONYMIZED_TELEMETRY="False"))
    files = tmp_path / "files"
    files.mkdir()
    (files / "f.txt").write_text("data\n" * 100)
    doc = {"tokens": tokens(),
           "repositories": [{"name": "main", "url": str(repo), "retention": {"keep_last": 5}}],
           "sources": [{"name": "qdrant", "type": "qdrant", "url": node.url},
                       {"name": "chroma", "type": "chroma", "path": str(chroma)},
                       {"name": "files", "type": "dir", "path": str(files)}],
           "schedules": [{"job": "verify", "repository": "main", "cron": "0 3 1 1 *"}],
           "alerts": {"webhooks": [{"name": "void", "url": "http://127.0.0.1:9/hook"}]}}
    d = Daemon(vecsafe_bin, tmp_path, dict(env, VECSAFE_API_TOKEN=TOKEN), doc)
    try:
        excluded = []
        for n in CONFIG_CHANGES:
            excluded += ["--exclude-name", n]
        out = schemathesis(d.base, tmp_path, "operations", *excluded)
        assert " passed" in out and "errored" not in out, out[-3000:]
        included = []
        for n in CONFIG_CHANGES:
            included += ["--include-name", n]
        out = schemathesis(d.base, tmp_path, "config", *included)
        assert " passed" in out and "errored" not in out, out[-3000:]
        assert d.proc.poll() is None, "the daemon died"
        assert request(d.base, "GET", "/health")[0] == 200
    finally:
        d.stop()
