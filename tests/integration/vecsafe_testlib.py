"""Helpers of the integration tests (import them: `from vecsafe_testlib import ...`;
the fixtures that use them are in conftest.py).

  run_vecsafe(bin, *args, env=..., check=None, timeout=...) -> Run (rc, out, err, json)
  Cli           a callable runner bound to a binary and an environment
  assert_error  the documented failure shape: exit status from the table, message, HINT
  make_tree(root, seed, ...)  random tree with modes, mtimes, symlinks, empty and large files
  snapshot_tree(root)         {relpath: (kind, mode, mtime_ns, size, sha256 | target)}
  repo_listing(repo)          {relpath: (size, sha256)} of every object in a local repository
"""
import hashlib
import json
import os
import random
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
# Argon2id cost for test repositories: the default (64 MiB, 3 passes) costs
# ~0.3 s per CLI run; tests run hundreds.
FAST_KDF = ("--kdf-memory-mib", "8", "--kdf-ops", "1")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def binary_path():
    return os.environ.get("VECSAFE_BIN") or str(ROOT / "build" / "vecsafe")


@dataclass
class Run:
    args: list
    rc: int
    out: str
    err: str
    _json: object = field(default=None, repr=False)

    @property
    def json(self):
        """The one JSON document printed on stdout (with --json)."""
        if self._json is None:
            try:
                self._json = json.loads(self.out)
            except json.JSONDecodeError as e:
                raise AssertionError(f"stdout is not one JSON document ({e}):\n{self.out}\n"
                                     f"stderr:\n{self.err}") from e
        return self._json

    def explain(self):
        return f"$ vecsafe {' '.join(map(str, self.args))}\nexit {self.rc}\n" \
               f"--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_vecsafe(bin_path, *args, env=None, check=None, timeout=300, input=None, cwd=None,
                stdin=None):
    """Runs the CLI. check=None: no check; check=0 (or any int): assert that exit status.

    Fails the test on any sanitizer report, whatever the exit status.
    """
    args = [str(a) for a in args]
    p = subprocess.run([bin_path, *args], env=env, capture_output=True, text=True,
                       timeout=timeout, input=input, cwd=cwd,
                       stdin=stdin if input is None else None)
    r = Run(args, p.returncode, p.stdout, p.stderr)
    for marker in SANITIZER_MARKERS:
        if marker in p.stderr:
            pytest.fail("sanitizer report:\n" + r.explain())
    if check is not None:
        assert r.rc == check, r.explain()
    return r


def error_table():
    """{name: (number, exit_status)} parsed from include/vecsafe/error_table.inc."""
    rows = {}
    text = (ROOT / "include" / "vecsafe" / "error_table.inc").read_text()
    for line in text.splitlines():
        if line.startswith("VECSAFE_ERROR("):
            parts = [p.strip() for p in line[len("VECSAFE_ERROR("):].split(",", 3)]
            rows[parts[0]] = (int(parts[1]), int(parts[2]))
    return rows


def exit_status_of(name):
    return error_table()[name][1]


def assert_error(run, name, *, in_message=None):
    """The run failed with error `name` (e.g. "kNotFound"): exit status from the table,
    a 'vecsafe: ...' line and a HINT on stderr."""
    number, status = error_table()[name]
    assert run.rc == status, f"expected {name} (exit {status})\n" + run.explain()
    assert "vecsafe: " in run.err and "HINT: " in run.err, run.explain()
    assert f"VS-{number} " in run.err, f"expected VS-{number}\n" + run.explain()
    if in_message is not None:
        assert in_message.lower() in run.err.lower(), run.explain()


class Cli:
    """Callable runner bound to a binary and an environment."""

    def __init__(self, bin_path, env):
        self.bin = bin_path
        self.env = env

    def __call__(self, *args, check=None, env=None, **kw):
        """env: variables to add; a value of None removes the variable."""
        e = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return run_vecsafe(self.bin, *args, env=e, check=check, **kw)

    def json(self, *args, **kw):
        """Runs with --json, asserts exit 0, returns the parsed document."""
        return self(*args, "--json", check=kw.pop("check", 0), **kw).json


# ---------------------------------------------------------------- trees

def make_tree(root, seed=0, n_files=40, max_size=200_000, large_files=1, large_size=3 << 20,
              symlinks=True, empty_files=2, empty_dirs=1, depth=3):
    """Writes a random tree under `root` (created) and returns the root Path.

    Files have random contents (some compressible text, some random bytes),
    modes among 0644/0600/0755/0444, mtimes with nanoseconds in the past; plus
    empty files, empty folders, `large_files` files of `large_size` bytes and
    (if `symlinks`) a relative symlink to a file, one to a folder and a dangling one.
    """
    rnd = random.Random(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    dirs = [root]
    for i in range(max(1, n_files // 8)):
        parent = rnd.choice(dirs)
        if len(parent.relative_to(root).parts) >= depth:
            parent = root
        d = parent / f"dir{i:02d}"
        d.mkdir(exist_ok=True)
        dirs.append(d)
    files = []
    for i in range(n_files):
        d = rnd.choice(dirs)
        size = rnd.choice([1, 100, 4096, rnd.randrange(1, max_size)])
        if rnd.random() < 0.5:
            words = [b"vector", b"segment", b"index", b"payload", b"hnsw", b"qdrant", b"chroma"]
            data = b" ".join(rnd.choice(words) for _ in range(size // 6 + 1))[:size]
        else:
            data = rnd.randbytes(size)
        f = d / f"file{i:03d}.bin"
        f.write_bytes(data)
        files.append(f)
    for i in range(empty_files):
        f = rnd.choice(dirs) / f"empty{i}"
        f.write_bytes(b"")
        files.append(f)
    for i in range(large_files):
        f = root / f"large{i}.dat"
        with open(f, "wb") as fh:
            left = large_size
            while left:
                n = min(left, 1 << 20)
                fh.write(rnd.randbytes(n))
                left -= n
        files.append(f)
    for i in range(empty_dirs):
        (root / f"emptydir{i}").mkdir(exist_ok=True)
    if symlinks:
        target = files[0].relative_to(root)
        os.symlink(target, root / "link_to_file")
        os.symlink(dirs[-1].relative_to(root), root / "link_to_dir")
        os.symlink("does/not/exist", root / "dangling_link")
    for f in files:
        os.chmod(f, rnd.choice([0o644, 0o600, 0o755, 0o444]))
        t = 1_600_000_000_000_000_000 + rnd.randrange(0, 10**17)
        os.utime(f, ns=(t, t))
    for d in sorted(dirs, key=lambda p: -len(p.parts)):
        t = 1_600_000_000_000_000_000 + rnd.randrange(0, 10**17)
        os.utime(d, ns=(t, t))
    return root


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def snapshot_tree(root, with_dir_mtimes=False):
    """{relpath: tuple} describing every entry under root, for bit-exact comparisons:
    files (kind, mode, mtime_ns, size, sha256), symlinks (kind, target), dirs (kind, mode[, mtime])."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode)) + \
                    ((st.st_mtime_ns,) if with_dir_mtimes else ())
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_size,
                            sha256_file(p))
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def repo_listing(repo):
    """{relpath: (size, sha256)} of every object under a local repository folder."""
    out = {}
    repo = Path(repo)
    for dirpath, _, filenames in os.walk(repo):
        for name in filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(repo))] = (p.stat().st_size, sha256_file(p))
    return out


def dir_listing(path):
    """Like snapshot_tree but tolerant of a missing folder (returns None)."""
    if not os.path.exists(path):
        return None
    return snapshot_tree(path, with_dir_mtimes=True)


def is_root():
    return os.geteuid() == 0




