"""forget and prune through the CLI: dry runs change nothing, policies keep
what they say, prune frees the space of forgotten data and the rest still
restores bit-exact.

Cost: ~8 s.
"""
import os
from pathlib import Path

from vecsafe_testlib import repo_listing, snapshot_tree


def repo_bytes(repo):
    return sum(s for s, _ in repo_listing(repo).values())


def test_forget_keep_last_and_tag_then_prune(cli, repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    trees = {}
    for i in range(5):
        (src / f"gen{i}.bin").write_bytes(os.urandom(512 << 10))
        if i > 0:
            (src / f"gen{i - 1}.bin").unlink()  # each generation's data is its own
        tags = ["keep"] if i == 0 else []
        args = [a for t in tags for a in ("--tag", t)]
        sid = cli.json("backup", "dir", src, *args, "--repo", repo)["snapshot"]["id"]
        trees[sid] = snapshot_tree(src)
    ids = list(trees)
    before = repo_listing(repo)

    dry = cli.json("forget", "--keep-last", "2", "--keep-tag", "keep", "--dry-run",
                   "--repo", repo)
    # A dry run counts what it would remove and changes nothing.
    assert dry["dry_run"] and dry["removed"] == 2
    assert repo_listing(repo) == before
    decisions = {d["id"]: d for d in dry["decisions"]}
    assert {i for i, d in decisions.items() if d["keep"]} == {ids[0], ids[3], ids[4]}
    assert decisions[ids[0]]["reasons"] and decisions[ids[4]]["reasons"]

    size_before = repo_bytes(repo)
    doc = cli.json("forget", "--keep-last", "2", "--keep-tag", "keep", "--prune",
                   "--max-unused", "0", "--repo", repo)
    assert doc["removed"] == 2
    assert doc["prune"]["bytes_freed"] > 0
    left = [s["id"] for s in cli.json("snapshots", "--repo", repo)["snapshots"]]
    assert set(left) == {ids[0], ids[3], ids[4]}
    assert repo_bytes(repo) < size_before - (512 << 10)  # two generations of data are gone
    for sid in left:
        out = tmp_path / f"r-{sid[:8]}"
        cli("restore", sid, "--to", out, "--repo", repo, check=0)
        assert snapshot_tree(out) == trees[sid]
    assert cli.json("verify", "--read-data", "--repo", repo)["ok"]


def test_prune_dry_run_and_noop(cli, repo, tree_factory):
    src = tree_factory(seed=31, n_files=5, large_files=0)
    cli("backup", "dir", src, "--repo", repo, check=0)
    before = repo_listing(repo)
    doc = cli.json("prune", "--dry-run", "--repo", repo)
    assert doc["dry_run"] is True and doc["packs_deleted"] == 0
    assert repo_listing(repo) == before
    doc = cli.json("prune", "--repo", repo)
    assert doc["bytes_freed"] == 0
    assert cli.json("verify", "--read-data", "--repo", repo)["ok"]


def test_keep_within(cli, repo, tree_factory):
    src = tree_factory(seed=32, n_files=3, large_files=0)
    for _ in range(3):
        cli("backup", "dir", src, "--repo", repo, check=0)
    doc = cli.json("forget", "--keep-within", "1d", "--repo", repo)
    assert doc["removed"] == 0  # all three are minutes apart
    assert all("within" in " ".join(d["reasons"]) for d in doc["decisions"])
