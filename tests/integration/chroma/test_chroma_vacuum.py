"""`repair chroma` compacts chroma.sqlite3 with VACUUM when check reports
SQLITE_FREE_PAGES: the copy is made first, the compacted file replaces the
original atomically, no temporary file is left, Chroma reads the result.

Cost per version: one driver run creating 3,000 records of dimension 128 and
deleting them (~4 s), one dump (~2 s), four vecsafe runs (<1 s each). Runs on
0.4.24, 1.0.21 and 1.5.9: on 0.5-0.6 the same delete keeps the deleted rows
(ORPHAN_RECORDS) and frees less than a quarter of the file, below the
finding's threshold.
"""

import sqlite3

import pytest

from conftest import tree_digest

SPECS = [{"name": "big", "n": 3000, "dim": 128, "sync_threshold": 1000, "batch_size": 500},
         {"name": "small", "n": 20, "dim": 4, "seed": 9}]


def test_vacuum_gives_space_back(vecsafe, chroma, tmp_path):
    if chroma.version.startswith(("0.5", "0.6")):
        pytest.skip("0.5-0.6 deletes keep the rows: less than 25 % of the file is freed")
    d = tmp_path / "chroma"
    chroma.create(d, SPECS)
    chroma.delete(d, "big")
    small_before = chroma.dump(d, ["small"])["small"]
    rc, doc = vecsafe.json("check", "chroma", d)
    free = [f for f in doc["findings"] if f["code"] == "SQLITE_FREE_PAGES"]
    assert len(free) == 1 and free[0]["repairable"] and free[0]["severity"] == "info", doc
    ev = free[0]["evidence"]
    size_before = (d / "chroma.sqlite3").stat().st_size
    assert ev["page_count"] * ev["page_size"] == size_before

    digest = tree_digest(d)
    rc, plan = vecsafe.json("repair", "chroma", d, "--dry-run", "--state-dir", tmp_path / "s")
    assert rc == 0 and "SQLITE_FREE_PAGES" in [a["code"] for a in plan["actions"]], plan
    assert tree_digest(d) == digest

    rc, res = vecsafe.json("repair", "chroma", d, "--state-dir", tmp_path / "s")
    assert rc == 0, res
    assert all(a["done"] for a in res["actions"]), res
    size_after = (d / "chroma.sqlite3").stat().st_size
    assert size_after <= size_before - ev["free_bytes"] + ev["page_size"] * 8, (size_before,
                                                                                size_after)
    assert not [p for p in d.iterdir() if p.name.startswith(".tmp-vecsafe-")]
    assert not (d / "chroma.sqlite3-journal").exists()
    # The copy taken before is complete: same tables, same rows.
    backups = list((tmp_path / "chroma.vecsafe-quarantine").glob("*/chroma.sqlite3"))
    assert len(backups) == 1
    con = sqlite3.connect(f"file:{backups[0]}?mode=ro", uri=True)
    assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    con.close()

    rc, doc = vecsafe.json("check", "chroma", d)
    assert "SQLITE_FREE_PAGES" not in [f["code"] for f in doc["findings"]], doc
    assert chroma.dump(d, ["small"])["small"] == small_before
