"""`vecsafe upgrade prepare|verify|rollback` around a real Chroma upgrade:
data written by 0.6.3, opened (and migrated) by 1.5.9, rolled back, opened
by 0.6.3 again.

Cost: about 25 s (four driver runs of ~4 s, one `chroma run` 1.5.9 start for
the refusal, a few vecsafe runs of well under a second). Runs once, not per
version: it needs both releases (skipped when CHROMA_VERSIONS leaves one out).
"""

import json

import pytest

from conftest import ChromaServer, Driver, selected_versions, tree_digest

OLD, NEW = "0.6.3", "1.5.9"
SPECS = [
    {"name": "flushed", "n": 40, "dim": 8, "seed": 21, "sync_threshold": 10, "batch_size": 10},
    {"name": "cosine-docs", "n": 25, "dim": 6, "seed": 22, "space": "cosine",
     "sync_threshold": 10, "batch_size": 10},
    {"name": "walonly", "n": 7, "dim": 4, "seed": 23},
]


@pytest.fixture(scope="module")
def drivers(chroma_envs):
    if OLD not in selected_versions() or NEW not in selected_versions():
        pytest.skip(f"needs Chroma {OLD} and {NEW}")
    return Driver(OLD, chroma_envs[OLD]), Driver(NEW, chroma_envs[NEW])


def counts(dump):
    return {name: c["count"] for name, c in dump.items()}


def test_prepare_upgrade_verify_rollback(vecsafe, drivers, tmp_path):
    old, new = drivers
    data = tmp_path / "chroma"
    repo = tmp_path / "repo"
    state = tmp_path / "state"
    old.create(data, SPECS)
    before = old.dump(data, queries=0)
    assert counts(before) == {"flushed": 40, "cosine-docs": 25, "walonly": 7}
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)

    rc, rec = vecsafe.json("upgrade", "prepare", "chroma", data, "--repo", repo,
                           "--state-dir", state, "--chroma-version", OLD)
    assert rc == 0, rec
    assert rec["schema"] == {"embeddings_queue": 2, "metadb": 4, "sysdb": 9}
    assert {c["name"]: c["count"] for c in rec["collections"]} == counts(before)
    assert rec["chroma_version"] == OLD
    record_file = state / "upgrades"
    assert [p.name for p in record_file.iterdir()] == [rec["record_file"].split("/")[-1]]
    on_disk = json.loads((record_file / rec["record_file"].split("/")[-1]).read_text())
    assert on_disk["snapshot"] == rec["snapshot"]
    rc, snaps = vecsafe.json("snapshots", "--repo", repo)
    assert rc == 0
    snap_list = snaps["snapshots"] if isinstance(snaps, dict) else snaps
    assert [s["id"] for s in snap_list] == [rec["snapshot"]]

    # Before any upgrade, verify says the schema did not move.
    rc, ver = vecsafe.json("upgrade", "verify", "--state-dir", state)
    assert rc == 1 and ver["schema_change"] == "unchanged", ver

    # The newest release opens the folder and migrates it.
    after = new.dump(data, queries=0)
    assert counts(after) == counts(before)
    rc, ver = vecsafe.json("upgrade", "verify", "chroma", data, "--state-dir", state)
    assert rc == 0, ver
    assert ver["ok"] is True and ver["schema_change"] == "forward"
    assert ver["schema_after"]["sysdb"] > 9 and ver["schema_after"]["metadb"] > 4
    assert all(c["before"] == c["after"] for c in ver["collections"])

    # Rollback refuses while Chroma runs, and changes nothing.
    server = ChromaServer(new, data, tmp_path)
    try:
        digest = tree_digest(data)
        proc = vecsafe.run("upgrade", "rollback", "--state-dir", state)
        assert proc.returncode != 0
        assert "open" in proc.stderr and "HINT" in proc.stderr, proc.stderr
        assert tree_digest(data) == digest
    finally:
        server.stop()

    # The repository comes from the record: no --repo needed.
    rc, rb = vecsafe.json("upgrade", "rollback", "--state-dir", state)
    assert rc == 0, rb
    assert rb["ok"] is True and rb["problems"] == []
    assert (tmp_path / rb["moved_aside"].split("/")[-1]).is_dir()  # moved aside, not deleted

    # 0.6.3 opens the rolled-back folder with every count (and record) equal.
    back = old.dump(data, queries=0)
    assert counts(back) == counts(before)
    assert back == before

    rc, log = vecsafe.json("ops", "log", "--state-dir", state)
    rows = log["entries"] if isinstance(log, dict) else log
    kinds = [(e["kind"], e["result"]) for e in rows]
    assert ("upgrade.prepare", "ok") in kinds and ("upgrade.rollback", "ok") in kinds
    assert ("upgrade.verify", "ok") in kinds and ("upgrade.verify", "failed") in kinds
    assert all(e["backup_id"] == rec["snapshot"] for e in rows if e["kind"].startswith("upgrade"))


def test_bad_input_changes_nothing(vecsafe, tmp_path):
    repo = tmp_path / "repo"
    state = tmp_path / "state"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    not_chroma = tmp_path / "plain"
    not_chroma.mkdir()
    (not_chroma / "notes.txt").write_text("hello")
    proc = vecsafe.run("upgrade", "prepare", "chroma", not_chroma, "--repo", repo,
                       "--state-dir", state)
    assert proc.returncode != 0 and "not a Chroma folder" in proc.stderr, proc.stderr
    assert "HINT" in proc.stderr
    assert not (state / "upgrades").exists()
    rc, snaps = vecsafe.json("snapshots", "--repo", repo)
    assert (snaps["snapshots"] if isinstance(snaps, dict) else snaps) == []

    # verify / rollback without a record: a clear error naming the way out.
    for extra in (["verify"], ["rollback", "--repo", repo]):
        proc = vecsafe.run("upgrade", *extra, "--state-dir", state)
        assert proc.returncode != 0
        assert "no upgrade record" in proc.stderr and "upgrade prepare" in proc.stderr
    # A record edited into nonsense is refused.
    bad = tmp_path / "bad.json"
    bad.write_text('{"vecsafe_upgrade_record": 1, "path": 7}')
    proc = vecsafe.run("upgrade", "verify", "--record", bad, "--state-dir", state)
    assert proc.returncode != 0 and "not an upgrade record" in proc.stderr, proc.stderr
