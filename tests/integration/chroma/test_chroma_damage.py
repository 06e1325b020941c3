"""Damage made by hand on folders written by real Chroma: `check` names each
damage precisely (code, collection, segment), `repair --dry-run` changes
nothing (tree digests), and a real `repair` never deletes anything: every
file that was there before is still in place with the same bytes or was
moved, unchanged, into the quarantine folder.

Each damaged copy also holds an orphan vector folder (a collection deleted
through the client), so repair has something to do next to the damage it
must leave alone.

Cost per version: one driver run to create and one to delete (~8 s), then
four copies of a small folder and ~5 vecsafe runs each (well under 1 s).
"""

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from conftest import copy_tree, tree_digest

SPECS = [
    {"name": "docs", "n": 30, "dim": 8, "seed": 3, "sync_threshold": 10, "batch_size": 10},
    {"name": "cosy", "n": 20, "dim": 6, "seed": 4, "space": "cosine", "sync_threshold": 10,
     "batch_size": 10},
    {"name": "walonly", "n": 5, "dim": 4, "seed": 5},
    {"name": "victim", "n": 20, "dim": 8, "seed": 6, "sync_threshold": 10, "batch_size": 10},
]


def vector_folder(path, name):
    con = sqlite3.connect(f"file:{path}/chroma.sqlite3?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT s.id FROM segments s JOIN collections c ON c.id = s.collection "
            "WHERE c.name = ? AND s.scope = 'VECTOR'", (name,)).fetchone()
    finally:
        con.close()
    return Path(path) / row[0]


@pytest.fixture(scope="module")
def base(chroma, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"damage-{chroma.version}") / "chroma"
    chroma.create(d, SPECS)
    folders = {s["name"]: vector_folder(d, s["name"]).name for s in SPECS}
    chroma.delete(d, "victim")
    return d, folders


def truncate_level0(d, folders):
    os.truncate(d / folders["docs"] / "data_level0.bin", 1000)
    return "LEVEL0_TRUNCATED", "docs", folders["docs"]


def truncate_pickle(d, folders):
    f = d / folders["cosy"] / "index_metadata.pickle"
    f.write_bytes(f.read_bytes()[:40])
    return "PICKLE_DAMAGED", "cosy", folders["cosy"]


def delete_segment_folder(d, folders):
    folder = d / folders["docs"]
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    return "MISSING_VECTOR_FOLDER", "docs", folders["docs"]


def corrupt_sqlite_page(d, folders):
    db = d / "chroma.sqlite3"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='embedding_metadata'"
                       ).fetchone()[0]
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    return "SQLITE_CORRUPT", "", ""


DAMAGES = [truncate_level0, truncate_pickle, delete_segment_folder, corrupt_sqlite_page]


def file_digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__)
def test_damage_named_and_never_deleted(vecsafe, chroma, base, tmp_path, damage):
    src, folders = base
    d = copy_tree(src, tmp_path / "c")
    code, collection, segment = damage(d, folders)
    state = tmp_path / "state"

    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1, doc
    hits = [f for f in doc["findings"] if f["code"] == code]
    assert len(hits) == 1, doc
    assert hits[0]["collection"] == collection and hits[0]["severity"] in ("error", "critical")
    if segment:
        assert segment in (hits[0]["segment"], hits[0]["segment"].split("/")[-1]), hits[0]
    assert hits[0]["repairable"] is False
    if code != "SQLITE_CORRUPT":
        orphans = [f for f in doc["findings"] if f["code"] == "ORPHAN_VECTOR_FOLDER"]
        assert [o["segment"] for o in orphans] == [folders["victim"]]

    before = tree_digest(d)
    files_before = file_digests(d)
    rc, plan = vecsafe.json("repair", "chroma", d, "--dry-run", "--state-dir", state)
    assert tree_digest(d) == before
    assert not (tmp_path / "c.vecsafe-quarantine").exists()
    if rc == 0:
        assert all(not a["done"] for a in plan["actions"])
        assert code in plan["not_repairable"]

    rc, res = vecsafe.json("repair", "chroma", d, "--state-dir", state)
    files_after = file_digests(d)
    quarantine = tmp_path / "c.vecsafe-quarantine"
    kept = {}
    if quarantine.exists():
        for stamp in quarantine.iterdir():
            kept.update(file_digests(stamp))
    for rel, digest in files_before.items():
        if rel == "chroma.sqlite3" and files_after.get(rel) != digest:
            # SQLite fixes: the copy taken first is in quarantine.
            assert "chroma.sqlite3" in kept, res
            continue
        assert files_after.get(rel) == digest or kept.get(rel) == digest, (rel, res)
    # The damaged files themselves are left alone for a human.
    if segment and (src / folders[collection]).exists() and (d / segment).exists():
        for p in (d / segment).iterdir():
            assert files_after[str(p.relative_to(d))] == files_before[str(p.relative_to(d))]
    if code != "SQLITE_CORRUPT":
        assert rc == 0, res
        assert folders["victim"] in {Path(k).parts[0] for k in kept}
        rc, doc = vecsafe.json("check", "chroma", d)
        assert [f["code"] for f in doc["findings"] if f["code"] == code] == [code]
