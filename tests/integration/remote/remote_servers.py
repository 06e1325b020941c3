"""Helpers for the remote-repository tests: real servers, free ports, binaries.

The fixtures that start the servers are in conftest.py.

MinIO (S3, verifies SigV4) and fake-gcs-server (GCS JSON API) are built once by
tests/harness/build_servers.sh into $VECSAFE_CACHE/go/bin and started here on
127.0.0.1, on free ports, once per test session (startup ~1 s each). Each test
gets its own fresh bucket, so tests never see each other's objects.
"""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))

from s3client import S3Client  # noqa: E402

CACHE = pathlib.Path(os.environ.get("VECSAFE_CACHE", pathlib.Path.home() / ".cache" / "vecsafe"))
GOBIN = CACHE / "go" / "bin"
MINIO_USER = "vecsafe-test-admin"
MINIO_PASSWORD = "vecsafe-test-secret-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60, proc=None, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early: {url}\n{pathlib.Path(log).read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not come up: {url}")


def build_bin():
    """Path of the built vecsafe binary (VECSAFE_BIN or build/vecsafe)."""
    return pathlib.Path(os.environ.get("VECSAFE_BIN", ROOT / "build" / "vecsafe"))


def unit_tests_bin():
    return pathlib.Path(os.environ.get("VECSAFE_UNIT_TESTS",
                                       build_bin().parent / "vecsafe_unit_tests"))


class MinioServer:
    def __init__(self, endpoint, data_dir, proc, log):
        self.endpoint = endpoint
        self.access_key, self.secret_key = MINIO_USER, MINIO_PASSWORD
        self.data_dir, self.proc, self.log = data_dir, proc, log
        self.client = S3Client(endpoint, MINIO_USER, MINIO_PASSWORD)

    def new_bucket(self):
        name = "vs-" + uuid.uuid4().hex[:12]
        self.client.make_bucket(name)
        return name

    def env(self, **extra):
        """Environment for a vecsafe process talking to this server."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and k not in ("VECSAFE_REPO",)}
        e.update(AWS_ACCESS_KEY_ID=MINIO_USER, AWS_SECRET_ACCESS_KEY=MINIO_PASSWORD,
                 AWS_REGION="us-east-1", AWS_ENDPOINT_URL_S3=self.endpoint,
                 HOME=os.environ.get("HOME", "/tmp"))
        e.update(extra)
        return e


class FakeGcsServer:
    def __init__(self, endpoint, proc):
        self.endpoint, self.proc = endpoint, proc

    def new_bucket(self):
        name = "vs-" + uuid.uuid4().hex[:12]
        req = urllib.request.Request(self.endpoint + "/storage/v1/b?project=test",
                                     data=json.dumps({"name": name}).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        return name

    def list_names(self, bucket, prefix=""):
        names, token = [], None
        while True:
            q = urllib.parse.urlencode({"prefix": prefix, **({"pageToken": token} if token else {})})
            with urllib.request.urlopen(f"{self.endpoint}/storage/v1/b/{bucket}/o?{q}",
                                        timeout=10) as r:
                doc = json.loads(r.read())
            names += [o["name"] for o in doc.get("items", [])]
            token = doc.get("nextPageToken")
            if not token:
                return names

    def env(self, **extra):
        e = {k: v for k, v in os.environ.items()
             if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "STORAGE_EMULATOR_HOST",
                          "GCS_BUCKET_NAME", "GCS_FOLDER_PREFIX", "VECSAFE_REPO")}
        e["STORAGE_EMULATOR_HOST"] = self.endpoint
        e.update(extra)
        return e
