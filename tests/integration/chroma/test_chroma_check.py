"""`vecsafe check chroma` against directories written by real Chroma releases.

Cost: one base directory per version (one driver run, ~5-10 s), plus one
driver run for the delete test; every damage test works on a copy.
"""

import os
import sqlite3
import struct
from pathlib import Path

import pytest

from conftest import copy_tree, tree_digest

BASE_SPECS = [
    # Flushed to HNSW (sync_threshold 10), then updated and partly deleted.
    {"name": "docs", "n": 30, "dim": 8, "seed": 3, "sync_threshold": 10, "batch_size": 10},
    {"name": "cosy", "n": 20, "dim": 6, "seed": 4, "space": "cosine", "sync_threshold": 10,
     "batch_size": 10},
    # Never flushed: all records only in the WAL and SQLite.
    {"name": "walonly", "n": 5, "dim": 4, "seed": 5},
]


@pytest.fixture(scope="module")
def base_dir(chroma, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"base-{chroma.version}") / "chroma"
    chroma.create(d, BASE_SPECS)
    return d


def vector_folder(path, name):
    """Folder of collection `name`'s vector segment, found through SQLite (read-only)."""
    con = sqlite3.connect(f"file:{path}/chroma.sqlite3?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT s.id FROM segments s JOIN collections c ON c.id = s.collection "
            "WHERE c.name = ? AND s.scope = 'VECTOR'", (name,)).fetchone()
    finally:
        con.close()
    return Path(path) / row[0]


def codes(doc):
    return sorted({f["code"] for f in doc["findings"]})


def findings_for(doc, code):
    return [f for f in doc["findings"] if f["code"] == code]


def test_healthy_directory_is_healthy_and_untouched(vecsafe, chroma, base_dir):
    before = tree_digest(base_dir)
    rc, doc = vecsafe.json("check", "chroma", base_dir)
    assert rc == 0, doc
    assert doc["healthy"] is True and doc["findings"] == []
    assert doc["collections"] == 3
    rc, deep = vecsafe.json("check", "chroma", base_dir, "--deep")
    assert rc == 0, deep
    assert deep["vectors_read"] == 50  # docs 30 + cosy 20 flushed; walonly is WAL-only
    assert tree_digest(base_dir) == before
    human = vecsafe.run("check", "chroma", base_dir, check=0)
    assert "healthy" in human.stdout


def test_updates_and_deletes_stay_consistent(vecsafe, chroma, tmp_path):
    d = tmp_path / "chroma"
    chroma.create(d, [{"name": "churn", "n": 40, "dim": 8, "sync_threshold": 10,
                       "batch_size": 10, "delete": [1, 2, 3, 30], "update": [5, 6]}])
    rc, doc = vecsafe.json("check", "chroma", d)
    if chroma.version.startswith("0.4"):
        # 0.4 leaves full-text rows behind on delete/update: a real drift.
        assert codes(doc) == ["FTS_DRIFT"], doc
        assert findings_for(doc, "FTS_DRIFT")[0]["repairable"] is True
    else:
        assert rc == 0, doc


def test_truncated_data_level0(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    f = vector_folder(d, "docs") / "data_level0.bin"
    os.truncate(f, 1000)
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1
    hits = findings_for(doc, "LEVEL0_TRUNCATED")
    assert len(hits) == 1 and hits[0]["collection"] == "docs"
    assert hits[0]["severity"] == "critical"
    assert hits[0]["evidence"]["bytes"] == 1000
    assert hits[0]["evidence"]["elements"] == 30


def test_truncated_pickle(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    f = vector_folder(d, "cosy") / "index_metadata.pickle"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1
    hits = findings_for(doc, "PICKLE_DAMAGED")
    assert len(hits) == 1 and hits[0]["collection"] == "cosy"
    assert "truncated" in hits[0]["message"]


def test_deleted_segment_folder(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    folder = vector_folder(d, "docs")
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1
    hits = findings_for(doc, "MISSING_VECTOR_FOLDER")
    assert [h["collection"] for h in hits] == ["docs"]
    assert hits[0]["segment"] == folder.name


def test_corrupt_sqlite_page(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    db = d / "chroma.sqlite3"
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    # The root page of the embeddings table: damage it in place.
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='embedding_metadata'"
                       ).fetchone()[0]
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    before = tree_digest(d)
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1, doc
    hits = findings_for(doc, "SQLITE_CORRUPT")
    assert hits and hits[0]["severity"] == "critical", doc
    assert tree_digest(d) == before


def test_nan_vector_found_by_deep_only(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    folder = vector_folder(d, "docs")
    header = (folder / "header.bin").read_bytes()
    offset_data = struct.unpack_from("<Q", header, 4 + 40)[0]
    size_per = struct.unpack_from("<Q", header, 4 + 24)[0]
    with open(folder / "data_level0.bin", "r+b") as fh:
        fh.seek(3 * size_per + offset_data)
        fh.write(struct.pack("<f", float("nan")))
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 0, doc
    rc, doc = vecsafe.json("check", "chroma", d, "--deep")
    assert rc == 1
    hits = findings_for(doc, "VECTOR_NOT_FINITE")
    assert len(hits) == 1 and hits[0]["collection"] == "docs"
    assert hits[0]["evidence"]["vectors"] == 1


def test_delete_leaves_orphan_folder(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    victim = vector_folder(d, "docs").name
    chroma.delete(d, "docs")
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1
    orphans = findings_for(doc, "ORPHAN_VECTOR_FOLDER")
    assert [o["segment"] for o in orphans] == [victim]
    assert orphans[0]["evidence"]["ids"] == 30
    assert orphans[0]["repairable"] is True
    if chroma.major() == 0:
        # 0.4-0.6 also keep the deleted collection's records in SQLite.
        assert len(findings_for(doc, "ORPHAN_RECORDS")) == 1


def test_not_a_chroma_folder(vecsafe, tmp_path):
    proc = vecsafe.run("check", "chroma", tmp_path)
    assert proc.returncode == 2
    assert "not a Chroma folder" in proc.stderr and "HINT" in proc.stderr
    proc = vecsafe.run("check", "chroma", tmp_path / "nope")
    assert proc.returncode == 2
    other = tmp_path / "x"
    other.mkdir()
    sqlite3.connect(other / "chroma.sqlite3").execute("CREATE TABLE t (a)").connection.commit()
    proc = vecsafe.run("check", "chroma", other)
    assert proc.returncode == 2 and "not Chroma's" in proc.stderr


def test_unreadable_pickle_is_reported(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    f = vector_folder(d, "docs") / "index_metadata.pickle"
    f.unlink()
    f.mkdir()  # not a file: cannot be read as one, even by root
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 1
    assert [h["collection"] for h in findings_for(doc, "PICKLE_MISSING")] == ["docs"]
