"""Entries that cannot be read during a backup: the backup goes on, the
snapshot is committed without them, each is named on stderr and in the JSON
`skipped` list, and the exit status is kIncomplete's (see `vecsafe errors`).

Cost: ~5 s.
"""
import os
import signal
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from vecsafe_testlib import assert_error, exit_status_of, is_root, snapshot_tree


def test_file_vanishing_during_backup(cli, repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    # Read in name order: the big file keeps the backup busy while z_vanish is removed.
    with open(src / "a_big.bin", "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    (src / "m_keep.txt").write_text("stays\n")
    (src / "z_vanish.txt").write_text("gone soon\n")
    p = subprocess.Popen([cli.bin, "backup", "dir", str(src), "--repo", repo, "--json"],
                         env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The walk is over once the backup holds its lock (dir_source walks first).
    deadline = time.monotonic() + 60
    while not [f for f in Path(repo, "locks").glob("*") if len(f.name) == 32] and p.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    # Held while the file goes, so that a fast machine cannot read it first.
    p.send_signal(signal.SIGSTOP)
    (src / "z_vanish.txt").unlink()
    p.send_signal(signal.SIGCONT)
    out, err = p.communicate(timeout=300)
    import json
    doc = json.loads(out)
    assert p.returncode == exit_status_of("kIncomplete"), err
    assert doc["incomplete"] is True
    assert [s["path"] for s in doc["skipped"]] == ["z_vanish.txt"]
    assert "vanished" in doc["skipped"][0]["message"]
    assert "z_vanish.txt" in err and "HINT: " in err
    # The snapshot holds everything else, bit-exact.
    out_dir = tmp_path / "out"
    cli("restore", doc["snapshot"]["id"], "--to", out_dir, "--repo", repo, check=0)
    assert snapshot_tree(out_dir) == snapshot_tree(src)


def _unprivileged_env(cli, base):
    """Runs the CLI as `nobody` when we are root (root reads everything)."""
    return None


@pytest.mark.asan
def test_unreadable_file_and_folder(cli, tmp_path):
    # A world-traversable work folder, so that `nobody` can use it when we are root.
    work = Path(tempfile.mkdtemp(prefix="vecsafe-unreadable-"))
    try:
        os.chmod(work, 0o755)
        src = work / "src"
        (src / "open").mkdir(parents=True)
        (src / "open" / "ok.txt").write_text("readable\n")
        (src / "secret.txt").write_text("no access\n")
        (src / "closed").mkdir()
        (src / "closed" / "inside.txt").write_text("hidden\n")
        for d in (src, src / "open"):
            os.chmod(d, 0o755)
        os.chmod(src / "open" / "ok.txt", 0o644)
        os.chmod(src / "secret.txt", 0o000)
        os.chmod(src / "closed", 0o000)
        repo = work / "repo"
        home = work / "home"
        home.mkdir()
        env = dict(cli.env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
        prefix = []
        if is_root():
            shutil.chown(home, "nobody")
            os.chmod(work, 0o777)
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]

        def run(*args):
            return subprocess.run([*prefix, cli.bin, *map(str, args)], env=env,
                                  capture_output=True, text=True, timeout=300)

        r = run("init", "--repo", repo, "--kdf-memory-mib", "8", "--kdf-ops", "1")
        assert r.returncode == 0, r.stderr
        r = run("backup", "dir", src, "--repo", repo, "--json")
        assert r.returncode == exit_status_of("kIncomplete"), r.stdout + r.stderr
        import json
        doc = json.loads(r.stdout)
        skipped = {s["path"]: s for s in doc["skipped"]}
        assert set(skipped) == {"secret.txt", "closed"}, doc["skipped"]
        assert all(s["code"] == "VS-4" for s in skipped.values())  # permission denied
        assert "secret.txt" in r.stderr and "permission" in r.stderr.lower()
        out = work / "out"
        r = run("restore", "latest", "--to", out, "--repo", repo)
        assert r.returncode == 0, r.stderr
        assert (out / "open" / "ok.txt").read_text() == "readable\n"
        assert not (out / "secret.txt").exists()
    finally:
        for p in [work, *work.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                os.chmod(p, 0o755)
        shutil.rmtree(work, ignore_errors=True)


def test_fifo_is_skipped_not_waited_for(cli, repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.txt").write_text("data\n")
    os.mkfifo(src / "pipe")
    r = cli("backup", "dir", src, "--repo", repo, "--json", timeout=60)
    assert r.rc == exit_status_of("kIncomplete"), r.explain()
    assert [s["path"] for s in r.json["skipped"]] == ["pipe"]
    assert r.json["snapshot"]["stats"]["files"] == 1
