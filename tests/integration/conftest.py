"""Shared fixtures of the integration tests (helpers: vecsafe_testlib.py).

  vecsafe_bin   path of the binary under test (env VECSAFE_BIN, else build/vecsafe)
  env           environment for the CLI: a password, no VECSAFE_*/deployment variables leaking in
  cli           a Cli bound to vecsafe_bin + env: cli("snapshots", "--repo", repo)
  repo          a fresh, initialised, encrypted local repository (path str)
  tree_factory  make_tree(...) under tmp_path
"""
import os

import pytest

from vecsafe_testlib import FAST_KDF, PASSWORD, Cli, binary_path, make_tree


@pytest.fixture(scope="session")
def vecsafe_bin():
    b = binary_path()
    if not os.access(b, os.X_OK):
        pytest.fail(f"vecsafe binary not found at {b}: build first or set VECSAFE_BIN")
    return b


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("VECSAFE_")}
    for k in ("BACKUP_LOCAL_PATH", "GCS_BUCKET_NAME", "GCS_FOLDER_PREFIX"):
        e.pop(k, None)
    e["VECSAFE_PASSWORD"] = PASSWORD
    e["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir(exist_ok=True)
    # Where the CLI keeps per-user state (caches, if any): inside the test's own folder.
    e["XDG_CACHE_HOME"] = str(tmp_path / "home" / ".cache")
    if "VECSAFE_CACHE" in os.environ:  # harness caches (test servers) stay shared
        e["VECSAFE_CACHE"] = os.environ["VECSAFE_CACHE"]
    return e


@pytest.fixture
def cli(vecsafe_bin, env):
    return Cli(vecsafe_bin, env)


@pytest.fixture
def repo(cli, tmp_path):
    path = tmp_path / "repo"
    cli("init", "--repo", path, *FAST_KDF, check=0)
    return str(path)


@pytest.fixture
def tree_factory(tmp_path):
    counter = [0]

    def factory(seed=0, **kw):
        counter[0] += 1
        return make_tree(tmp_path / f"tree{counter[0]}", seed=seed, **kw)
    return factory
