"""Bad input of every kind: a clear error with a HINT, the exit status from
the error table, and nothing changed (repository objects and target folders
are compared before and after).

Cost: ~10 s.
"""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from vecsafe_testlib import (assert_error, dir_listing, exit_status_of, is_root, make_tree,
                      repo_listing, snapshot_tree)


@pytest.fixture
def filled(cli, repo, tree_factory):
    """A repository with one snapshot; returns (repo, snapshot doc, source)."""
    src = tree_factory(seed=21, n_files=12, large_files=1, large_size=1 << 20)
    doc = cli.json("backup", "dir", src, "--repo", repo)["snapshot"]
    return repo, doc, src


def unchanged(repo, before):
    after = repo_listing(repo)
    assert after == before, {"added": sorted(set(after) - set(before)),
                             "removed": sorted(set(before) - set(after))}


@pytest.mark.asan
def test_missing_path(cli, filled, tmp_path):
    repo, _, _ = filled
    before = repo_listing(repo)
    r = cli("backup", "dir", tmp_path / "no-such-folder", "--repo", repo)
    assert_error(r, "kNotFound", in_message="no-such-folder")
    unchanged(repo, before)


def test_path_is_a_file(cli, filled, tmp_path):
    repo, _, _ = filled
    f = tmp_path / "file"
    f.write_text("x")
    before = repo_listing(repo)
    assert_error(cli("backup", "dir", f, "--repo", repo), "kInvalidArgument",
                 in_message="not a folder")
    unchanged(repo, before)


@pytest.mark.asan
@pytest.mark.parametrize("url,name", [
    ("nosuchscheme://bucket/x", "kInvalidArgument"),
    ("", "kInvalidArgument"),
])
def test_bad_url(cli, tmp_path, url, name):
    r = cli("snapshots", "--repo", url)
    assert_error(r, name)


def test_repo_not_found(cli, tmp_path):
    r = cli("snapshots", "--repo", tmp_path / "nothing-here")
    assert_error(r, "kRepoNotFound")
    assert "vecsafe init" in r.err
    assert not (tmp_path / "nothing-here").exists()


def test_no_repo_given(cli):
    r = cli("snapshots")
    assert_error(r, "kInvalidArgument", in_message="no repository")
    assert "VECSAFE_REPO" in r.err


def test_init_twice_refused(cli, filled):
    repo, _, _ = filled
    before = repo_listing(repo)
    assert_error(cli("init", "--repo", repo), "kAlreadyExists")
    unchanged(repo, before)


@pytest.mark.asan
def test_wrong_password(cli, filled, tree_factory):
    repo, snap, src = filled
    before = repo_listing(repo)
    for args in (["snapshots"], ["backup", "dir", src], ["verify"], ["prune"]):
        r = cli(*args, "--repo", repo, env={"VECSAFE_PASSWORD": "wrong password"})
        assert_error(r, "kUnauthenticated")
    unchanged(repo, before)


def test_missing_password_without_terminal(cli, filled):
    repo, _, _ = filled
    r = cli("snapshots", "--repo", repo, env={"VECSAFE_PASSWORD": None}, stdin=subprocess.DEVNULL)
    assert_error(r, "kUnauthenticated")
    assert "VECSAFE_PASSWORD" in r.err


def test_unreadable_password_file(cli, filled, tmp_path):
    repo, _, _ = filled
    r = cli("snapshots", "--repo", repo,
            env={"VECSAFE_PASSWORD": None, "VECSAFE_PASSWORD_FILE": str(tmp_path / "nope")})
    assert_error(r, "kNotFound")


@pytest.mark.asan
def test_unknown_snapshot(cli, filled, tmp_path):
    repo, _, _ = filled
    before = repo_listing(repo)
    target = tmp_path / "target"
    r = cli("restore", "deadbeefdeadbeef", "--to", target, "--repo", repo)
    assert_error(r, "kNotFound")
    assert "vecsafe snapshots" in r.err
    assert not target.exists()
    assert_error(cli("export", "deadbeef", "--out", tmp_path / "x.tar", "--repo", repo),
                 "kNotFound")
    assert not (tmp_path / "x.tar").exists()
    unchanged(repo, before)


def test_restore_into_non_empty_folder(cli, filled, tmp_path):
    repo, snap, _ = filled
    target = tmp_path / "busy"
    target.mkdir()
    (target / "precious.txt").write_text("do not touch")
    before_target = dir_listing(target)
    before = repo_listing(repo)
    r = cli("restore", snap["id"], "--to", target, "--repo", repo)
    assert_error(r, "kAlreadyExists")
    assert "--in-place" in r.err
    assert dir_listing(target) == before_target
    assert sorted(os.listdir(tmp_path)) == sorted(set(os.listdir(tmp_path)))  # no temp sibling
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("busy") and p != target]
    unchanged(repo, before)


def test_restore_in_place_moves_old_folder_aside(cli, filled, tmp_path):
    repo, snap, src = filled
    target = tmp_path / "live"
    target.mkdir()
    (target / "old.txt").write_text("old state")
    doc = cli.json("restore", snap["id"], "--to", target, "--in-place", "--repo", repo)
    assert snapshot_tree(target) == snapshot_tree(src)
    aside = Path(doc["moved_aside"])
    assert aside.exists() and (aside / "old.txt").read_text() == "old state"


def damage(path, how):
    data = Path(path).read_bytes()
    os.chmod(path, 0o644)
    if how == "truncate":
        Path(path).write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        Path(path).write_bytes(b"\x00garbage" + data[8:])
    elif how == "empty":
        Path(path).write_bytes(b"")


def only_object(repo, prefix):
    objs = [p for p in Path(repo, prefix).rglob("*") if p.is_file()]
    assert len(objs) == 1, objs
    return objs[0]


@pytest.mark.parametrize("how", ["truncate", "garbage", "empty"])
def test_damaged_manifest(cli, filled, tmp_path, how):
    repo, snap, _ = filled
    damage(only_object(repo, "snapshots"), how)
    before = repo_listing(repo)
    target = tmp_path / "t"
    r = cli("restore", snap["id"], "--to", target, "--repo", repo)
    assert_error(r, "kDataLoss")
    assert not target.exists()
    # Listing skips it with a warning instead of failing.
    r = cli("snapshots", "--repo", repo, "--json", check=0)
    assert r.json["snapshots"] == [] and len(r.json["skipped"]) == 1
    assert "warning" in r.err
    v = cli("verify", "--repo", repo, "--json")
    assert v.rc == 1 and not v.json["ok"]
    assert any(p["kind"] == "snapshot" for p in v.json["problems"])
    unchanged(repo, before)


@pytest.mark.parametrize("how", ["truncate", "garbage", "empty"])
def test_damaged_index(cli, filled, tmp_path, how):
    repo, snap, _ = filled
    damage(only_object(repo, "index"), how)
    before = repo_listing(repo)
    target = tmp_path / "t"
    r = cli("restore", snap["id"], "--to", target, "--repo", repo)
    assert r.rc in (exit_status_of("kDataLoss"), exit_status_of("kNotFound")), r.explain()
    assert "HINT: " in r.err
    assert not target.exists()
    v = cli("verify", "--repo", repo, "--json")
    assert v.rc == 1 and any(p["kind"] == "index" for p in v.json["problems"]), v.explain()
    unchanged(repo, before)


@pytest.mark.parametrize("how", ["truncate", "garbage", "empty"])
def test_damaged_config(cli, filled, tmp_path, how):
    repo, snap, src = filled
    damage(Path(repo, "config"), how)
    before = repo_listing(repo)
    for args in (["snapshots"], ["backup", "dir", src], ["restore", snap["id"], "--to",
                                                         tmp_path / "t"]):
        r = cli(*args, "--repo", repo)
        assert_error(r, "kDataLoss")
    assert not (tmp_path / "t").exists()
    unchanged(repo, before)


def test_forget_without_policy_refused(cli, filled):
    repo, _, _ = filled
    before = repo_listing(repo)
    assert_error(cli("forget", "--repo", repo), "kInvalidArgument", in_message="--keep")
    unchanged(repo, before)


@pytest.mark.parametrize("args", [
    ["verify", "--read-data-subset", "0/3"],
    ["verify", "--read-data-subset", "4/3"],
    ["verify", "--read-data-subset", "abc"],
    ["verify", "--read-data-subset", "150%"],
    ["verify", "--read-files", "--read-data-subset", "1/2"],
    ["forget", "--keep-last", "x"],
    ["forget", "--keep-within", "3q"],
    ["prune", "--max-unused", "101"],
    ["init", "--encryption", "rot13"],
    ["restore", "latest"],
])
def test_bad_flag_values(cli, filled, args):
    repo, _, _ = filled
    before = repo_listing(repo)
    r = cli(*args, "--repo", repo)
    assert_error(r, "kInvalidArgument")
    unchanged(repo, before)
