"""Fixtures for tests against real Chroma releases.

Each pinned chromadb version lives in its own cached virtualenv, built by
tests/harness/chroma_envs.sh (cold: a few minutes per version, run two at a
time; warm: instant). Tests that take `chroma_version` run once per version;
CHROMA_VERSIONS="0.6.3 1.5.9" narrows the set.
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ALL_VERSIONS = ["0.4.24", "0.5.23", "0.6.3", "1.0.21", "1.5.9"]
DRIVER = HERE / "chroma_driver.py"


def selected_versions():
    env = os.environ.get("CHROMA_VERSIONS", "").split()
    return env or ALL_VERSIONS


def pytest_generate_tests(metafunc):
    if "chroma_version" in metafunc.fixturenames:
        metafunc.parametrize("chroma_version", selected_versions(), scope="module")


@pytest.fixture(scope="session")
def chroma_envs():
    """{version: venv path}; installs missing venvs once per session."""
    versions = selected_versions()
    t0 = time.time()
    proc = subprocess.run(["bash", str(ROOT / "tests/harness/chroma_envs.sh"), *versions],
                          capture_output=True, text=True, timeout=3000)
    if proc.returncode != 0:
        pytest.fail(f"chroma_envs.sh failed:\n{proc.stdout}\n{proc.stderr}")
    envs = {}
    for line in proc.stdout.split("\n"):
        if line.strip():
            v, p = line.split(" ", 1)
            envs[v] = Path(p)
    sys.stderr.write(f"[chroma envs ready in {time.time() - t0:.1f}s]\n")
    return envs


@pytest.fixture(scope="session")
def vecsafe_path():
    env = os.environ.get("VECSAFE_BIN")
    p = Path(env) if env else ROOT / "build" / "vecsafe"
    if not p.exists():
        pytest.fail(f"vecsafe binary not found at {p}; build it first")
    return p


class Vecsafe:
    def __init__(self, path):
        self.path = path

    def run(self, *args, check=None, timeout=300, env=None):
        proc = subprocess.run([str(self.path), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=env)
        if check is not None and proc.returncode != check:
            raise AssertionError(f"vecsafe {' '.join(map(str, args))} exited {proc.returncode} "
                                 f"(wanted {check})\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def json(self, *args, check=None, **kw):
        proc = self.run(*args, "--json", check=check, **kw)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"not JSON ({e}): {proc.stdout!r} / {proc.stderr!r}")


@pytest.fixture(scope="session")
def vecsafe(vecsafe_path):
    return Vecsafe(vecsafe_path)


class Driver:
    """Runs chroma_driver.py inside one version's venv."""

    def __init__(self, version, venv):
        self.version = version
        self.venv = venv
        self.python = venv / "bin" / "python"

    def major(self):
        return int(self.version.split(".")[0])

    def call(self, command, *args, timeout=600):
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        proc = subprocess.run([str(self.python), str(DRIVER), command, *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0:
            raise AssertionError(f"chroma {self.version} driver {command} failed:\n"
                                 f"{proc.stdout}\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().split("\n")[-1])

    def create(self, target, specs):
        return self.call("create", *target_args(target), "--spec", json.dumps(specs))

    def dump(self, target, names=(), queries=3):
        args = list(target_args(target))
        for n in names:
            args += ["--name", n]
        return self.call("dump", *args, "--queries", queries)["collections"]

    def config(self, target, names):
        """{name: {"metadata", "configuration"}} as the server reports them."""
        args = list(target_args(target))
        for n in names:
            args += ["--name", n]
        return self.call("config", *args)["collections"]

    def delete(self, target, name):
        return self.call("delete", *target_args(target), "--name", name)

    def add(self, target, name, start, count, dim, seed=1):
        return self.call("add", *target_args(target), "--name", name, "--start", start,
                         "--count", count, "--dim", dim, "--seed", seed)


def target_args(target):
    t = str(target)
    return ["--server", t] if t.startswith("http") else ["--path", t]


@pytest.fixture(scope="module")
def chroma(chroma_version, chroma_envs):
    return Driver(chroma_version, chroma_envs[chroma_version])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    def __init__(self, driver, path, log_dir):
        self.driver = driver
        self.path = Path(path)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(log_dir) / f"chroma-{self.port}.log", "w")
        exe = driver.venv / "bin" / "chroma"
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        self.proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     cwd=log_dir)  # 0.x writes chroma.log to its cwd
        self.wait_ready()

    def heartbeat_path(self):
        return "/api/v2/heartbeat" if self.driver.major() >= 1 else "/api/v1/heartbeat"

    def wait_ready(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"chroma run exited {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + self.heartbeat_path(), timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError(f"chroma run did not answer its heartbeat in {timeout}s")

    def stop(self, kill=False):
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def chroma_server(chroma, tmp_path):
    """Factory: chroma_server(path) starts `chroma run` on a free port and
    waits for its heartbeat; every server is stopped after the test."""
    servers = []

    def start(path):
        s = ChromaServer(chroma, path, tmp_path)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def tree_digest(path):
    """SHA-256 over every file's relative path, size and content."""
    h = hashlib.sha256()
    for p in sorted(Path(path).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def copy_tree(src, dst):
    shutil.copytree(src, dst)
    return Path(dst)
