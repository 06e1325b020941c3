"""Starts stand-in nodes as processes and talks to their control endpoints (tests only)."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent


class StandinNode:
    def __init__(self, data: Path, peer_id: int = 0, api_key: str | None = None,
                 read_only_key: str | None = None, version: str = "1.19.0",
                 collections: list[str] | None = None, create_delay: float = 0.0):
        cmd = [sys.executable, "-m", "qdrant_standin.server", "--data", str(data),
               "--version", version, "--create-delay", str(create_delay)]
        if peer_id:
            cmd += ["--peer-id", str(peer_id)]
        if api_key:
            cmd += ["--api-key", api_key]
        if read_only_key:
            cmd += ["--read-only-key", read_only_key]
        for c in collections or []:
            cmd += ["--collection", c]
        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "LISTENING":
            self.proc.kill()
            raise RuntimeError(f"stand-in did not start: {line}")
        self.port = int(line[1])
        self.peer_id = int(line[2])
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/__standin/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def add_collection(self, name: str, size: int, seed: int = 1) -> dict:
        return self.control("POST", "collections", {"name": name, "size": size, "seed": seed})

    def mutate(self, name: str, fraction: float = 0.01, **kw) -> dict:
        return self.control("POST", f"collections/{name}/mutate", {"fraction": fraction, **kw})

    def digest(self, name: str) -> dict:
        return self.control("GET", f"collections/{name}/digest")

    def fault(self, **kw) -> dict:
        return self.control("POST", "faults", kw)

    def state(self) -> dict:
        return self.control("GET", "state")

    def snapshots(self, collection: str) -> list[str]:
        return [n for n in self.state()["snapshots"].get(collection, []) if n.endswith(".snapshot")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_cluster(base: Path, n: int, peer_base: int = 1000, **kw) -> list[StandinNode]:
    """n nodes, each its own process, port and peer id, told about each other."""
    nodes = [StandinNode(base / f"node{i}", peer_id=peer_base + 111 * (i + 1), **kw)
             for i in range(n)]
    peers = {str(x.peer_id): x.url for x in nodes}
    for x in nodes:
        x.control("POST", "cluster", {"peers": peers})
    return nodes


def wait_until(pred, timeout: float = 10.0, step: float = 0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
