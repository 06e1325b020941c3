"""Concurrency and locks: two backups at once, prune during a backup (refuses
clearly, or waits with --lock-wait), stale locks of dead processes (reported
with host, pid and age; `unlock --stale` clears them, live locks stay).

Cost: ~15 s. A backup is held in the middle with SIGSTOP once its lock is on
disk (hold_backup), so the races below do not depend on how fast it runs.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from vecsafe_testlib import assert_error, make_tree, snapshot_tree

BIG = 96 << 20


def big_tree(root):
    root.mkdir()
    with open(root / "big.bin", "wb") as f:
        for _ in range(BIG >> 20):
            f.write(os.urandom(1 << 20))
    (root / "small.txt").write_text("x\n")
    return root


def start_backup(cli, src, repo, *extra):
    return subprocess.Popen([cli.bin, "backup", "dir", str(src), "--repo", repo, "--json",
                             *extra], env=cli.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lock_files(repo):
    """Finished lock objects (locks/<32 hex>), not a lock still being written
    under its temporary name."""
    return [p for p in Path(repo, "locks").glob("*") if re.fullmatch(r"[0-9a-f]{32}", p.name)]


def wait_for_lock(repo, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock_files(repo):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def hold_backup(cli, src, repo, locks=1, tries=5):
    """Starts a backup and stops it (SIGSTOP) while its lock is on disk, so
    the caller can race it for as long as it likes; SIGCONT resumes it. A
    backup that ends before it can be stopped is retried."""
    for _ in range(tries):
        p = start_backup(cli, src, repo)
        if wait_for_lock_count(repo, locks, p) and p.poll() is None:
            p.send_signal(signal.SIGSTOP)
            if p.poll() is None and len(lock_files(repo)) >= locks:
                return p
            p.send_signal(signal.SIGCONT)
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    pytest.fail(f"no backup could be held with its lock in {tries} tries")


def test_two_backups_at_once_both_succeed(cli, repo, tmp_path):
    a = make_tree(tmp_path / "a", seed=11, large_files=2, large_size=8 << 20)
    b = make_tree(tmp_path / "b", seed=12, large_files=2, large_size=8 << 20)
    pa = start_backup(cli, a, repo)
    pb = start_backup(cli, b, repo)
    out_a, err_a = pa.communicate(timeout=300)
    out_b, err_b = pb.communicate(timeout=300)
    assert pa.returncode == 0, err_a
    assert pb.returncode == 0, err_b
    ids = {json.loads(out_a)["snapshot"]["id"]: a, json.loads(out_b)["snapshot"]["id"]: b}
    assert len(cli.json("snapshots", "--repo", repo)["snapshots"]) == 2
    for sid, src in ids.items():
        out = tmp_path / f"r-{sid[:8]}"
        cli("restore", sid, "--to", out, "--repo", repo, check=0)
        assert snapshot_tree(out) == snapshot_tree(src)
    assert cli.json("verify", "--read-data", "--repo", repo)["ok"]


@pytest.mark.timeout(600)
def test_prune_during_backup_refuses_then_waits(cli, repo, tmp_path):
    src = big_tree(tmp_path / "src")
    p = hold_backup(cli, src, repo)
    r = cli("prune", "--repo", repo)
    assert_error(r, "kLocked", in_message=f"pid {p.pid}")
    assert socket.gethostname() in r.err and "age" in r.err

    # With --lock-wait, prune waits for the backup (resumed meanwhile) and then runs.
    waiting = subprocess.Popen([cli.bin, "prune", "--lock-wait", "300", "--repo", repo, "--json"],
                               env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(1.0)
    assert waiting.poll() is None, "prune --lock-wait did not wait for the held backup"
    p.send_signal(signal.SIGCONT)
    out, err = p.communicate(timeout=300)
    pout, perr = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, perr
    assert p.returncode == 0, err
    assert json.loads(pout) is not None
    assert len(cli.json("snapshots", "--repo", repo)["snapshots"]) == 1
    assert cli.json("verify", "--repo", repo)["ok"]


@pytest.mark.asan
def test_stale_lock_reported_and_cleared(cli, repo, tmp_path):
    src = big_tree(tmp_path / "src")
    p = hold_backup(cli, src, repo)
    p.send_signal(signal.SIGKILL)  # leaves its lock behind, for a pid that is gone
    p.communicate(timeout=60)
    locks = cli.json("unlock", "--list", "--repo", repo)["locks"]
    assert len(locks) == 1
    lock = locks[0]
    assert lock["pid"] == p.pid and lock["hostname"] == socket.gethostname()
    assert lock["stale"] is True and f"process {p.pid}" in lock["stale_reason"]
    assert lock["age_seconds"] >= 0 and lock["mode"] == "shared"

    # Prune (exclusive) is refused with the holder's host, pid and age, and a hint.
    r = cli("prune", "--repo", repo)
    assert_error(r, "kLocked", in_message=f"pid {p.pid}")
    assert socket.gethostname() in r.err and "age" in r.err and "stale" in r.err
    assert "unlock --stale" in r.err

    # A live lock is not stale and `unlock --stale` leaves it alone.
    live = hold_backup(cli, src, repo, locks=2)
    removed = cli.json("unlock", "--stale", "--repo", repo)["removed"]
    assert removed == 1
    remaining = cli.json("unlock", "--list", "--repo", repo)["locks"]
    assert [l["pid"] for l in remaining] == [live.pid]
    live.send_signal(signal.SIGCONT)
    out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err
    cli("prune", "--repo", repo, check=0)
    assert not lock_files(repo)


def wait_for_lock_count(repo, n, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(lock_files(repo)) >= n:
            return True
        if proc.poll() is not None:
            return True  # finished already; the caller copes
        time.sleep(0.005)
    return False
