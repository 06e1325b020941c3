"""Fixtures of the remote-repository tests: real object-store servers.

MinIO (S3, verifies SigV4) and fake-gcs-server (GCS JSON API) are built once by
tests/harness/build_servers.sh into $VECSAFE_CACHE/go/bin and started here on
127.0.0.1, on free ports, once per test session (startup ~1 s each). Each test
makes its own bucket, so tests never see each other's objects. Helpers:
remote_servers.py.
"""
import os
import pathlib
import subprocess
import sys
import time
import socket

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from remote_servers import (GOBIN, MINIO_PASSWORD, MINIO_USER, ROOT, FakeGcsServer,  # noqa: E402
                            MinioServer, free_port, wait_http)


@pytest.fixture(scope="session")
def go_servers():
    """Builds (or finds cached) MinIO and fake-gcs-server; returns their bin dir."""
    subprocess.run([str(ROOT / "tests" / "harness" / "build_servers.sh")], check=True,
                   stdout=sys.stderr)
    return GOBIN


@pytest.fixture(scope="session")
def minio(go_servers, tmp_path_factory):
    port, console = free_port(), free_port()
    data = tmp_path_factory.mktemp("minio-data")
    log = tmp_path_factory.mktemp("minio-log") / "minio.log"
    env = dict(os.environ, MINIO_ROOT_USER=MINIO_USER, MINIO_ROOT_PASSWORD=MINIO_PASSWORD,
               MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_DOMAIN="localhost",
               MINIO_REGION="us-east-1")
    with open(log, "wb") as lf:
        proc = subprocess.Popen([str(go_servers / "minio"), "server", "--quiet",
                                 "--address", f"127.0.0.1:{port}",
                                 "--console-address", f"127.0.0.1:{console}", str(data)],
                                env=env, stdout=lf, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(endpoint + "/minio/health/live", proc=proc, log=log)
        wait_http(endpoint + "/minio/health/ready", proc=proc, log=log)
        yield MinioServer(endpoint, data, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def fake_gcs(go_servers, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("gcs-log") / "fake-gcs.log"
    endpoint = f"http://127.0.0.1:{port}"
    with open(log, "wb") as lf:
        proc = subprocess.Popen([str(go_servers / "fake-gcs-server"), "-scheme", "http",
                                 "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
                                 "-external-url", endpoint, "-public-host", f"127.0.0.1:{port}",
                                 "-log-level", "error"],
                                stdout=lf, stderr=subprocess.STDOUT)
    try:
        wait_http(endpoint + "/storage/v1/b?project=test", proc=proc, log=log)
        yield FakeGcsServer(endpoint, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def fault_proxy(tmp_path):
    """Starts tests/harness/fault_proxy.py in front of an upstream; returns a starter.

    start(upstream_url, seed=.., rate=.., kinds=.., delay_ms=.., cut_after=..)
        -> (proxy_url, stats_path)
    """
    procs = []

    def start(upstream, seed=1, rate=0.3, kinds="drop,500,503,slowdown,truncate",
              max_faults=1000, after=0, delay_ms=0, delay_min_bytes=1 << 20, cut_after=-1):
        port = free_port()
        stats = tmp_path / f"proxy-{port}.json"
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "harness" / "fault_proxy.py"),
                                 "--listen", f"127.0.0.1:{port}", "--upstream", upstream,
                                 "--seed", str(seed), "--rate", str(rate), "--kinds", kinds,
                                 "--max-faults", str(max_faults), "--after", str(after),
                                 "--delay-ms", str(delay_ms),
                                 "--delay-min-bytes", str(delay_min_bytes),
                                 "--cut-after", str(cut_after),
                                 "--stats", str(stats)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(proc)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}", stats

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
