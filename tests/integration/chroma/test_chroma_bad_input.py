"""Bad input to every Chroma verb that reads a folder: not a Chroma folder,
unreadable files, an unknown collection. Each gives an error with a HINT (or,
for check, a finding) and changes nothing: the folder's tree digest, the
repository's snapshots and the absence of a quarantine folder are compared.
Safe delete/rename bad input is in test_chroma_safe_ops.py, nonsense recovery
plans in test_chroma_recover.py, upgrade records in test_chroma_upgrade.py.

Cost: one driver run on 1.5.9 (~3 s) and ~40 vecsafe runs (<0.2 s each). The
errors come from vecsafe's own reading of the folder, not from Chroma, so
one release is enough.
"""

import sqlite3
from pathlib import Path

import pytest

from conftest import copy_tree, tree_digest

SPECS = [{"name": "docs", "n": 30, "dim": 8, "seed": 3, "sync_threshold": 10, "batch_size": 10}]


@pytest.fixture(scope="module")
def base(chroma, tmp_path_factory):
    if chroma.version != "1.5.9":
        pytest.skip("version-independent: runs on 1.5.9 only")
    d = tmp_path_factory.mktemp("badinput") / "chroma"
    chroma.create(d, SPECS)
    return d


def segment_folder(d):
    con = sqlite3.connect(f"file:{d}/chroma.sqlite3?mode=ro", uri=True)
    row = con.execute("SELECT id FROM segments WHERE scope = 'VECTOR'").fetchone()
    con.close()
    return Path(d) / row[0]


def verbs(path, repo, state):
    return {
        "check": ["check", "chroma", path],
        "repair": ["repair", "chroma", path, "--state-dir", state],
        "repair-dry": ["repair", "chroma", path, "--dry-run", "--state-dir", state],
        "plan": ["recover", "chroma", path, "--plan"],
        "backup": ["backup", "chroma", path, "--repo", repo],
        "backup-collection": ["backup", "chroma", path, "--collection", "docs", "--repo", repo],
        "upgrade": ["upgrade", "prepare", "chroma", path, "--repo", repo, "--state-dir", state],
    }


def snapshots(vecsafe, repo):
    rc, doc = vecsafe.json("snapshots", "--repo", repo)
    assert rc == 0, doc
    return doc["snapshots"] if isinstance(doc, dict) else doc


def assert_refused(vecsafe, args, words=()):
    proc = vecsafe.run(*args)
    assert proc.returncode not in (0, 1), (args, proc.returncode, proc.stdout, proc.stderr)
    assert "HINT" in proc.stderr, (args, proc.stderr)
    for w in words:
        assert w in proc.stderr, (args, proc.stderr)


def test_not_a_chroma_folder(vecsafe, base, tmp_path):
    repo = tmp_path / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "readme.txt").write_text("not chroma")
    other = tmp_path / "other"
    other.mkdir()
    con = sqlite3.connect(other / "chroma.sqlite3")
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    for folder in (plain, tmp_path / "missing", other):
        digest = tree_digest(folder) if folder.exists() else None
        for name, args in verbs(folder, repo, tmp_path / "state").items():
            assert_refused(vecsafe, args)
        assert (tree_digest(folder) if folder.exists() else None) == digest
        assert not Path(str(folder) + ".vecsafe-quarantine").exists()
    assert snapshots(vecsafe, repo) == []
    assert not (tmp_path / "state" / "upgrades").exists()


def test_unreadable_database(vecsafe, base, tmp_path):
    d = copy_tree(base, tmp_path / "c")
    (d / "chroma.sqlite3").unlink()
    (d / "chroma.sqlite3").mkdir()  # cannot be read as a file, even by root
    repo = tmp_path / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    digest = tree_digest(d)
    for name, args in verbs(d, repo, tmp_path / "state").items():
        if name == "check":
            # check reports it as a critical finding (exit 1), naming the file.
            rc, doc = vecsafe.json(*args)
            assert rc == 1 and doc["findings"][0]["severity"] == "critical", doc
            assert doc["findings"][0]["code"] in ("SQLITE_UNREADABLE", "SQLITE_CORRUPT"), doc
            continue
        assert_refused(vecsafe, args)
    assert tree_digest(d) == digest
    assert snapshots(vecsafe, repo) == []
    assert not (tmp_path / "c.vecsafe-quarantine").exists()


@pytest.mark.parametrize("victim", ["data_level0.bin", "index_metadata.pickle", "header.bin"])
def test_unreadable_hnsw_file(vecsafe, base, tmp_path, victim):
    d = copy_tree(base, tmp_path / "c")
    f = segment_folder(d) / victim
    f.unlink()
    f.mkdir()  # unreadable as a file
    repo = tmp_path / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    digest = tree_digest(d)
    # check names the collection and the folder; it does not fail.
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1, doc
    hits = [x for x in doc["findings"] if x["collection"] == "docs"]
    assert hits and all(h["severity"] in ("error", "critical") for h in hits), doc
    assert any(h["segment"] == f.parent.name for h in hits), doc
    # Reading the collection's vectors must fail clearly, not store garbage.
    assert_refused(vecsafe, ["backup", "chroma", d, "--collection", "docs", "--repo", repo])
    # repair leaves damage it cannot fix alone.
    rc, res = vecsafe.json("repair", "chroma", d, "--state-dir", tmp_path / "state")
    assert rc == 0 and res["actions"] == [], res
    assert tree_digest(d) == digest
    assert snapshots(vecsafe, repo) == []


def test_unknown_collection(vecsafe, base, tmp_path):
    repo = tmp_path / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    digest = tree_digest(base)
    assert_refused(vecsafe, ["backup", "chroma", base, "--collection", "nope", "--repo", repo],
                   ["nope"])
    assert tree_digest(base) == digest
    assert snapshots(vecsafe, repo) == []
