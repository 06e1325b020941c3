"""Crash safety: `kill -9` a backup at 25 random moments (seeded).

After each kill: `verify --read-data` passes, the earlier snapshots restore
bit-exact, and the next backup and `forget --prune` succeed (the killed
process's lock is stale: its pid is gone).

Cost: ~25 iterations x (killed backup + verify of ~60 MiB + 2 restores +
backup + prune): about 1-2 minutes on 2 cores. Bounded by KILLS and the
pytest timeout.
"""
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from vecsafe_testlib import snapshot_tree

KILLS = 25
SEED = 20261122
FILES = 10
FILE_SIZE = 4 << 20  # 40 MiB tree; each round rewrites half of it (20 MiB new: > 1 pack)


def write_file(path, rnd):
    path.write_bytes(rnd.randbytes(FILE_SIZE))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_minus_9_at_random_moments(cli, repo, tmp_path):
    rnd = random.Random(SEED)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(FILES):
        write_file(src / f"f{i:02d}.bin", rnd)
    (src / "small.txt").write_text("small file\n")

    base = cli.json("backup", "dir", src, "--tag", "base", "--repo", repo)["snapshot"]["id"]
    expected = {base: snapshot_tree(src)}

    # How long one backup with new data takes here: kills are spread over it.
    for i in range(0, FILES, 2):
        write_file(src / f"f{i:02d}.bin", rnd)
    t0 = time.monotonic()
    sid = cli.json("backup", "dir", src, "--repo", repo)["snapshot"]["id"]
    duration = time.monotonic() - t0
    expected[sid] = snapshot_tree(src)

    # Rounds go on until KILLS backups were really killed (a round whose
    # backup finished first still checks everything); bounded in count.
    outcomes = {"killed": 0, "finished": 0}
    k = -1
    while outcomes["killed"] < KILLS:
        k += 1
        assert k < 3 * KILLS, f"backups finish before the kill too often: {outcomes}"
        for i in rnd.sample(range(FILES), FILES // 2):
            write_file(src / f"f{i:02d}.bin", rnd)
        state = snapshot_tree(src)
        before = {s["id"] for s in cli.json("snapshots", "--repo", repo)["snapshots"]}
        delay = rnd.uniform(0.02, 0.9) * duration
        p = subprocess.Popen([cli.bin, "backup", "dir", str(src), "--repo", repo, "--quiet"],
                             env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            outcomes["killed"] += 1
        else:
            outcomes["finished"] += 1
        p.wait(timeout=60)
        p.stderr.close()
        after = {s["id"] for s in cli.json("snapshots", "--repo", repo)["snapshots"]}
        new = after - before
        assert len(new) <= 1, f"round {k}: {new}"
        for n in new:  # killed after its commit: the snapshot is whole
            expected[n] = state

        v = cli("verify", "--read-data", "--repo", repo, "--json")
        assert v.rc == 0 and v.json["ok"], f"round {k} (delay {delay:.2f}s)\n" + v.explain()

        # Earlier snapshots restore bit-exact: the base one and the newest kept one.
        newest = max((s for s in cli.json("snapshots", "--repo", repo)["snapshots"]),
                     key=lambda s: s["time"])["id"]
        for sid in {base, newest}:
            out = tmp_path / f"restore-{k}-{sid[:8]}"
            cli("restore", sid, "--to", out, "--repo", repo, check=0)
            assert snapshot_tree(out) == expected[sid], f"round {k}: snapshot {sid[:8]}"
            subprocess.run(["rm", "-rf", str(out)], check=True)

        # The next backup and prune succeed (the dead process's lock is stale).
        sid = cli.json("backup", "dir", src, "--repo", repo)["snapshot"]["id"]
        expected[sid] = state
        cli("forget", "--keep-tag", "base", "--keep-last", "2", "--prune", "--break-stale-locks",
            "--repo", repo, check=0)
        kept = {s["id"] for s in cli.json("snapshots", "--repo", repo)["snapshots"]}
        expected = {i: t for i, t in expected.items() if i in kept}
        assert base in kept

    assert outcomes["killed"] >= KILLS, outcomes
    # At the end every remaining snapshot restores bit-exact and nothing is left over.
    for sid, tree in expected.items():
        out = tmp_path / f"final-{sid[:8]}"
        cli("restore", sid, "--to", out, "--repo", repo, check=0)
        assert snapshot_tree(out) == tree
    cli("prune", "--break-stale-locks", "--repo", repo, check=0)
    assert cli.json("verify", "--read-data", "--repo", repo)["ok"]
    assert not list(Path(repo, "locks").glob("*")), "a lock survived"
    leftovers = [p for p in Path(repo).rglob("*") if ".tmp" in p.name]
    assert not leftovers, leftovers
