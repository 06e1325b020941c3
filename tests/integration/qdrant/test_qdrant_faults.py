"""Faults during a Qdrant backup: each fails cleanly (clear error, no snapshot visible in the
repository, Qdrant's snapshot deleted) and the next run succeeds.
Cost: about 15 s (503 exhausts the client's retries with short backoffs).
"""
import json

import pytest

from qdrant_helpers import assert_failed, repo_snapshot_ids, server_snapshot_files

SIZE = 3_000_000


def run_backup(cli, repo, node, check=None):
    return cli("backup", "qdrant", node.url, "--repo", repo, "--json", "--collection", "docs",
               check=check)


@pytest.mark.parametrize("fault,error,words", [
    ({"op": "download", "drop_after": 1_000_000}, "kUnavailable", ["connection was lost"]),
    ({"op": "create", "bad_checksum": True}, "kDataLoss", ["checksum mismatch"]),
    ({"op": "create", "status": 503, "count": 20}, "kUnavailable", ["503"]),
    ({"op": "create", "status": 507}, "kNoSpace", ["507", "Qdrant's own disk is full"]),
], ids=["drop-mid-download", "checksum-mismatch", "503-on-create", "507-disk-full"])
def test_fault_fails_cleanly_then_next_run_succeeds(cli, repo, standin, fault, error, words):
    node = standin(collections=[f"docs:{SIZE}"])
    node.fault(**fault)
    r = run_backup(cli, repo, node)
    assert_failed(r, error, *words)
    doc = json.loads(r.out)
    assert doc["ok"] is False and doc["collections"][0]["ok"] is False
    assert repo_snapshot_ids(repo) == set(), "a failed backup left a visible snapshot"
    assert server_snapshot_files(node, "docs") == [], "Qdrant's snapshot was not deleted"
    node.control("DELETE", "faults")
    ok = run_backup(cli, repo, node, check=0).json
    assert ok["ok"] and len(repo_snapshot_ids(repo)) == 1
    assert server_snapshot_files(node, "docs") == []


def test_transient_503_is_retried(cli, repo, standin):
    node = standin(collections=["docs:500000"])
    node.fault(op="create", status=503, count=2)
    node.fault(op="download", status=503, count=1)
    doc = run_backup(cli, repo, node, check=0).json
    assert doc["ok"]
    log = node.state()["log"]
    assert sum(1 for e in log if e["method"] == "POST" and e["status"] == 503) == 2


def test_one_failing_collection_does_not_stop_the_others(cli, repo, standin):
    node = standin(collections=["a:400000", "b:400000"])
    node.fault(op="create", status=507)  # the first create fails (collections run in name order)
    r = cli("backup", "qdrant", node.url, "--repo", repo, "--json")
    doc = json.loads(r.out)
    res = {c["collection"]: c["ok"] for c in doc["collections"]}
    assert res == {"a": False, "b": True}
    assert r.rc != 0 and len(repo_snapshot_ids(repo)) == 1


def test_slow_snapshot_creation_is_polled(cli, repo, standin):
    node = standin(collections=["slow:400000"], create_delay=1.5)
    doc = cli("backup", "qdrant", node.url, "--repo", repo, "--json", check=0).json
    assert doc["ok"]
    log = node.state()["log"]
    creates = [e for e in log if e["method"] == "POST" and "/snapshots" in e["path"]]
    assert creates and all(e["status"] == 202 and "wait=false" in e["path"] for e in creates)
    assert sum(1 for e in log if e["method"] == "GET" and e["path"].endswith("/snapshots")) >= 3
