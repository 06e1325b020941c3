"""Helpers of the Qdrant integration tests (imported by the test modules)."""
import hashlib
import os
import re
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[2]
ROOT = TESTS_DIR.parent


def _find_spec():
    """Qdrant's openapi.json: $QDRANT_OPENAPI, else shared/qdrant/ beside an ancestor of the repo."""
    if os.environ.get("QDRANT_OPENAPI"):
        return Path(os.environ["QDRANT_OPENAPI"])
    for d in TESTS_DIR.parents:
        p = d / "shared" / "qdrant" / "openapi.json"
        if p.exists():
            return p
    return None


SPEC_PATH = _find_spec()


def error_row(name):
    """(number, exit status) of error `name` from include/vecsafe/error_table.inc."""
    for line in (ROOT / "include" / "vecsafe" / "error_table.inc").read_text().splitlines():
        if line.startswith(f"VECSAFE_ERROR({name},"):
            parts = [p.strip() for p in line[len("VECSAFE_ERROR("):].split(",", 3)]
            return int(parts[1]), int(parts[2])
    raise KeyError(name)


def assert_failed(run, name, *words):
    """The CLI failed with error `name`, a HINT, and every word in its stderr."""
    number, status = error_row(name)
    assert run.rc == status, f"expected {name} (exit {status})\n" + run.explain()
    assert f"VS-{number} " in run.err and "HINT: " in run.err, run.explain()
    for w in words:
        assert w.lower() in run.err.lower(), f"missing {w!r}\n" + run.explain()


def repo_snapshot_ids(repo):
    """Manifest object names in a local repository (what `snapshots` would list)."""
    d = Path(repo) / "snapshots"
    if not d.is_dir():
        return set()
    return {p.name for p in d.rglob("*") if p.is_file() and not p.name.startswith(".tmp")}


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def server_snapshot_files(node, collection):
    """Snapshot files (and sidecars, temporaries) a stand-in node still holds."""
    return [n for n in node.state()["snapshots"].get(collection, [])]


SNAP_NAME = re.compile(r"^(?P<c>.+)-(?P<peer>\d+)-\d{4}(-\d\d){5}\.snapshot$")
