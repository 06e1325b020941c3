"""Fixtures of the daemon tests: real parts beside `vecsafe serve`.

  serve_minio     MinIO (real S3, SigV4), once per session (~1 s; built and cached by
                  tests/harness/build_servers.sh)
  chroma_venv     the cached Chroma 1.5.9 virtualenv (tests/harness/chroma_envs.sh)
  qdrant_node     factory of Qdrant stand-in nodes (tests/qdrant_standin), stopped after the test
"""
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
for p in (HERE, ROOT / "tests", ROOT / "tests" / "integration" / "remote"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from qdrant_standin.harness import StandinNode  # noqa: E402
from remote_servers import (GOBIN, MINIO_PASSWORD, MINIO_USER, MinioServer,  # noqa: E402
                            free_port, wait_http)

CHROMA_VERSION = "1.5.9"


@pytest.fixture(scope="session")
def serve_minio(tmp_path_factory):
    subprocess.run([str(ROOT / "tests" / "harness" / "build_servers.sh")], check=True,
                   stdout=sys.stderr)
    port, console = free_port(), free_port()
    data = tmp_path_factory.mktemp("serve-minio-data")
    log = tmp_path_factory.mktemp("serve-minio-log") / "minio.log"
    env = dict(os.environ, MINIO_ROOT_USER=MINIO_USER, MINIO_ROOT_PASSWORD=MINIO_PASSWORD,
               MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_REGION="us-east-1")
    with open(log, "wb") as lf:
        proc = subprocess.Popen([str(GOBIN / "minio"), "server", "--quiet",
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
def chroma_venv():
    proc = subprocess.run(["bash", str(ROOT / "tests/harness/chroma_envs.sh"), CHROMA_VERSION],
                          capture_output=True, text=True, timeout=3000)
    if proc.returncode != 0:
        pytest.fail(f"chroma_envs.sh failed:\n{proc.stdout}\n{proc.stderr}")
    return pathlib.Path(proc.stdout.split()[-1])


@pytest.fixture
def qdrant_node(tmp_path):
    started = []

    def start(**kw):
        node = StandinNode(tmp_path / f"qdrant{len(started)}", **kw)
        started.append(node)
        return node

    yield start
    for n in started:
        n.stop()
