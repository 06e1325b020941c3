"""`repair chroma` purges the WAL by Chroma's own rule and switches automatic
purge on, on the real case where both are needed: a folder written by 0.4.24
(which never purges) and then opened by 0.5.23, whose migration records
`automatically_purge: false` for it.

Cost: about 20 s (four driver runs of ~4 s, four vecsafe runs). Runs once: it
needs 0.4.24 and 0.5.23 (skipped when CHROMA_VERSIONS leaves one out).
"""

import json
import sqlite3

import pytest

from conftest import Driver, selected_versions, tree_digest

OLD, NEW = "0.4.24", "0.5.23"


def wal_rows(d):
    con = sqlite3.connect(f"file:{d}/chroma.sqlite3?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT count(*) FROM embeddings_queue").fetchone()[0]
        cfg = json.loads(con.execute("SELECT config_json_str FROM embeddings_queue_config"
                                     ).fetchone()[0])
    finally:
        con.close()
    return rows, cfg["automatically_purge"]


def test_wal_purged_by_chromas_rule(vecsafe, chroma_envs, tmp_path):
    if OLD not in selected_versions() or NEW not in selected_versions():
        pytest.skip(f"needs Chroma {OLD} and {NEW}")
    old, new = Driver(OLD, chroma_envs[OLD]), Driver(NEW, chroma_envs[NEW])
    d = tmp_path / "chroma"
    old.create(d, [{"name": "walcol", "n": 40, "dim": 8, "sync_threshold": 10,
                    "batch_size": 10}])
    before = new.dump(d, ["walcol"])["walcol"]  # 0.5.23 migrates the folder
    rows, purge = wal_rows(d)
    assert rows == 40 and purge is False

    rc, doc = vecsafe.json("check", "chroma", d)
    found = {f["code"]: f for f in doc["findings"]}
    assert set(found) == {"PURGE_DISABLED", "WAL_BELOW_PURGE_POINT"}, doc
    assert found["WAL_BELOW_PURGE_POINT"]["evidence"] == {"purge_point": 40, "rows": 39}

    digest = tree_digest(d)
    rc, plan = vecsafe.json("repair", "chroma", d, "--dry-run", "--state-dir", tmp_path / "s")
    assert rc == 0 and tree_digest(d) == digest
    rc, res = vecsafe.json("repair", "chroma", d, "--state-dir", tmp_path / "s")
    assert rc == 0 and all(a["done"] for a in res["actions"]), res
    # Chroma's rule: rows below min(max_seq_id of the collection's segments) go.
    assert wal_rows(d) == (1, True)
    assert list((tmp_path / "chroma.vecsafe-quarantine").glob("*/chroma.sqlite3"))
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 0, doc
    assert new.dump(d, ["walcol"])["walcol"] == before
    # Chroma keeps purging by itself from now on.
    new.add(d, "walcol", 40, 20, 8, seed=7)
    assert wal_rows(d)[0] < 20
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 0, doc
