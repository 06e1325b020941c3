"""`vecsafe repair chroma`: dry-run changes nothing, fixes are backed up and
journaled, and repair refuses while Chroma has the database open.

Cost per version: one base directory (shared with test_chroma_check's spec) and one
delete through the driver; the refusal test starts one server on 1.5.9 only.
"""

import json

import pytest

from conftest import copy_tree, tree_digest
from test_chroma_check import base_dir, codes, vector_folder  # noqa: F401  (fixture reuse)


def test_dry_run_changes_nothing_then_repair_quarantines(vecsafe, chroma, base_dir, tmp_path):
    d = copy_tree(base_dir, tmp_path / "c")
    orphan = vector_folder(d, "docs").name
    chroma.delete(d, "docs")
    (d / "tmp-upload").mkdir()
    state = tmp_path / "state"
    before = tree_digest(d)
    rc, plan = vecsafe.json("repair", "chroma", d, "--dry-run", "--state-dir", state)
    assert rc == 0, plan
    planned = {a["code"] for a in plan["actions"]}
    assert {"ORPHAN_VECTOR_FOLDER", "LEFTOVER_FOLDER"} <= planned
    assert all(not a["done"] for a in plan["actions"])
    assert tree_digest(d) == before
    assert not (tmp_path / "c.vecsafe-quarantine").exists()

    rc, res = vecsafe.json("repair", "chroma", d, "--state-dir", state)
    assert rc == 0, res
    assert all(a["done"] for a in res["actions"]), res
    q = tmp_path / "c.vecsafe-quarantine"
    moved = {p.name for p in q.glob("*/*")}
    assert orphan in moved and "tmp-upload" in moved
    rc, doc = vecsafe.json("check", "chroma", d)
    left = set(codes(doc))
    assert "ORPHAN_VECTOR_FOLDER" not in left and "LEFTOVER_FOLDER" not in left
    # The journal has the started and the final row.
    rc, log = vecsafe.json("ops", "log", "--state-dir", state)
    kinds = [e["kind"] for e in (log["entries"] if isinstance(log, dict) else log)]
    assert kinds.count("chroma.repair") == 2


def test_fts_drift_rebuilt_with_backup(vecsafe, chroma, tmp_path):
    if not chroma.version.startswith("0.4"):
        pytest.skip("only 0.4 leaves full-text rows behind on its own")
    d = tmp_path / "chroma"
    chroma.create(d, [{"name": "churn", "n": 40, "dim": 8, "sync_threshold": 10,
                       "batch_size": 10, "delete": [1, 2, 3], "update": [5]}])
    before = chroma.dump(d, ["churn"])["churn"]
    rc, res = vecsafe.json("repair", "chroma", d, "--state-dir", tmp_path / "state")
    assert rc == 0 and [a["code"] for a in res["actions"]] == ["FTS_DRIFT"], res
    assert (tmp_path / "chroma.vecsafe-quarantine").glob("*/chroma.sqlite3")
    rc, doc = vecsafe.json("check", "chroma", d)
    assert rc == 0, doc
    assert chroma.dump(d, ["churn"])["churn"] == before


def test_refuses_while_chroma_runs(vecsafe, chroma, chroma_server, tmp_path):
    if chroma.version != "1.5.9":
        pytest.skip("the /proc scan does not depend on the version")
    d = tmp_path / "chroma"
    server = chroma_server(d)
    chroma.create(server.url, [{"name": "gone", "n": 20, "dim": 4, "sync_threshold": 10,
                                "batch_size": 10}])
    chroma.delete(server.url, "gone")
    before = tree_digest(d)
    proc = vecsafe.run("repair", "chroma", d, "--state-dir", tmp_path / "state")
    assert proc.returncode != 0 and "has" in proc.stderr and "open" in proc.stderr, proc.stderr
    assert "HINT" in proc.stderr
    assert tree_digest(d) == before
