"""Orphans made the real way (delete through a running `chroma run`), then
`vecsafe check` reports them and `vecsafe recover` brings them back.

Cost per version: one server start (~3-8 s) and four driver runs.
"""

import json

import pytest

from conftest import tree_digest

VICTIM = {"name": "victim", "n": 40, "dim": 8, "seed": 11, "sync_threshold": 10,
          "batch_size": 10}
KEEP = {"name": "keep", "n": 20, "dim": 8, "seed": 12, "sync_threshold": 10, "batch_size": 10}


def test_delete_then_recover_brings_back_every_id(vecsafe, chroma, chroma_server, tmp_path):
    data = tmp_path / "chroma"
    server = chroma_server(data)
    chroma.create(server.url, [VICTIM, KEEP])
    before = chroma.dump(server.url, ["victim"], queries=5)["victim"]
    assert before["count"] == 40
    chroma.delete(server.url, "victim")

    rc, doc = vecsafe.json("check", "chroma", data)
    if chroma.version.startswith("0.4"):
        # The 0.4 server removes the HNSW folder with the collection: nothing
        # is left to recover, and check and the plan must say so.
        assert rc == 0, doc
        rc, plan = vecsafe.json("recover", "chroma", data, "--plan")
        assert rc == 0 and plan["items"] == [], plan
        return
    assert rc == 1, doc
    orphans = [f for f in doc["findings"] if f["code"] == "ORPHAN_VECTOR_FOLDER"]
    assert len(orphans) == 1 and orphans[0]["evidence"]["ids"] == 40

    plan_file = tmp_path / "plan.json"
    vecsafe.run("recover", "chroma", data, "--plan", "--out", plan_file, check=0)
    plan = json.loads(plan_file.read_text())
    items = [i for i in plan["items"] if i["kind"] == "vector_folder"]
    assert len(items) == 1
    item = items[0]
    assert item["folder"] == orphans[0]["segment"]
    assert item["count"] == 40 and item["dimension"] == 8 and item["execute"] is True
    docs_expected = chroma.major() == 0  # 0.4-0.6 keep the deleted rows in SQLite
    assert (item["recoverable"]["documents_and_metadata"] == 40) == docs_expected

    item["name"] = "victim-back"
    plan_file.write_text(json.dumps(plan))
    rc, res = vecsafe.json("recover", "chroma", data, "--execute", plan_file,
                           "--server", server.url, "--batch", 16)
    assert rc == 0, res
    assert res["results"] == [{"folder": item["folder"], "name": "victim-back", "ok": True,
                               "expected": 40, "count": 40, "error": ""}]

    after = chroma.dump(server.url, ["victim-back"], queries=5)["victim-back"]
    assert after["ids"] == before["ids"]
    assert after["embeddings"] == before["embeddings"]  # bit-identical float32
    assert after["neighbours"] == before["neighbours"]
    if docs_expected:
        assert after["documents"] == before["documents"]
        assert after["metadatas"] == before["metadatas"]


def test_nonsense_plan_changes_nothing(vecsafe, chroma, chroma_server, tmp_path):
    # Plan validation does not depend on the Chroma version: run it on one.
    if chroma.version != "1.5.9":
        pytest.skip("version-independent; runs on 1.5.9 only")
    data = tmp_path / "chroma"
    server = chroma_server(data)
    chroma.create(server.url, [VICTIM])
    chroma.delete(server.url, "victim")
    plan_file = tmp_path / "plan.json"
    vecsafe.run("recover", "chroma", data, "--plan", "--out", plan_file, check=0)
    plan = json.loads(plan_file.read_text())
    bad_plans = {
        "not json": "{{{",
        "no version": json.dumps({"items": plan["items"]}),
        "folder escapes": json.dumps(dict(plan, items=[dict(plan["items"][0],
                                                            folder="../../etc")])),
        "bad name": json.dumps(dict(plan, items=[dict(plan["items"][0], name="x")])),
        "count type": json.dumps(dict(plan, items=[dict(plan["items"][0], count="many")])),
        "items not list": json.dumps(dict(plan, items={"a": 1})),
    }
    before = tree_digest(data)
    listed = chroma.call("list", "--server", server.url)["collections"]
    for label, text in bad_plans.items():
        plan_file.write_text(text)
        proc = vecsafe.run("recover", "chroma", data, "--execute", plan_file,
                           "--server", server.url)
        assert proc.returncode == 2, (label, proc.stdout, proc.stderr)
        assert "HINT" in proc.stderr, label
    assert chroma.call("list", "--server", server.url)["collections"] == listed
    proc = vecsafe.run("recover", "chroma", data, "--plan", "--execute", plan_file)
    assert proc.returncode == 2
    assert tree_digest(data) == before
