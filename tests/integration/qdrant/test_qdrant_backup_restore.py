"""Qdrant backup and restore round trips against the stand-in (tests/qdrant_standin).

Single node and a three-node cluster; one, several and all collections; read-write and
read-only keys; upload and recover-from-URL restores; export of the original file.
Cost: about 20 s, collections of 1-3 MiB.
"""
import json
import time
import urllib.request

from qdrant_helpers import (SNAP_NAME, assert_failed, repo_snapshot_ids, server_snapshot_files,
                            sha256_file)

RW, RO = "rw-secret", "ro-secret"


def backup(cli, repo, url, *args, key=RW, check=0):
    env = {"QDRANT_API_KEY": key} if key else {}
    r = cli("backup", "qdrant", url, "--repo", repo, "--json", *args, env=env, check=check)
    return r


def by_collection(doc):
    return {c["collection"]: c for c in doc["collections"]}


def test_single_node_all_collections_round_trip(cli, repo, standin, tmp_path):
    node = standin(api_key=RW, read_only_key=RO,
                   collections=["alpha:2000000", "beta:1500000", "gamma:1000000"])
    doc = backup(cli, repo, node.url).json
    cols = by_collection(doc)
    assert set(cols) == {"alpha", "beta", "gamma"} and doc["ok"]
    assert doc["qdrant_version"] == "1.19.0"
    for name, c in cols.items():
        assert c["ok"] and len(c["nodes"]) == 1
        n = c["nodes"][0]
        assert n["peer_id"] == node.peer_id and n["path"] == f"{name}/{node.peer_id}.snapshot"
        assert n["sha256"] == n["qdrant_checksum"] and len(n["sha256"]) == 64
        assert SNAP_NAME.match(n["snapshot_name"]).group("c") == name
        assert n["server_snapshot_deleted"]
        assert c["points_count"] == node.digest(name)["points"]
        # Qdrant's side holds no snapshot file any more.
        assert server_snapshot_files(node, name) == []
    assert len(repo_snapshot_ids(repo)) == 3

    # Export gives Qdrant's file byte for byte.
    out = tmp_path / "alpha.snapshot"
    cli("export", cols["alpha"]["snapshot"], "--out", out, "--repo", repo, check=0)
    assert sha256_file(out) == cols["alpha"]["nodes"][0]["qdrant_checksum"]
    assert out.stat().st_size == cols["alpha"]["nodes"][0]["size"]

    # Restore into a fresh Qdrant (upload) and into the same one under another name.
    target = standin(api_key=RW)
    before = {n: node.digest(n)["digest"] for n in cols}
    for name, c in cols.items():
        r = cli("restore", c["snapshot"], "--to-qdrant", target.url, "--repo", repo, "--json",
                env={"QDRANT_API_KEY": RW}, check=0).json
        assert r["collection"] == name and r["points_after"] == r["expected_points"]
        assert target.digest(name)["digest"] == before[name]
    r = cli("restore", cols["beta"]["snapshot"], "--to-qdrant", node.url, "--as", "beta_copy",
            "--repo", repo, "--json", env={"QDRANT_API_KEY": RW}, check=0).json
    assert r["collection"] == "beta_copy"
    assert node.digest("beta_copy")["digest"] == before["beta"]


def test_chosen_collections_and_via_url(cli, repo, standin):
    node = standin(collections=["a:800000", "b:800000", "c:800000"])
    doc = backup(cli, repo, node.url, "--collection", "a", "--collection", "c", key=None).json
    assert set(by_collection(doc)) == {"a", "c"}
    snap = by_collection(doc)["c"]["snapshot"]
    target = standin()
    r = cli("restore", snap, "--to-qdrant", target.url, "--via-url", "--repo", repo, "--json",
            check=0).json
    assert r["via_url"] and r["nodes"][0]["bytes"] == by_collection(doc)["c"]["nodes"][0]["size"]
    assert target.digest("c")["digest"] == node.digest("c")["digest"]
    # --collection on restore must match the snapshot's collection.
    bad = cli("restore", snap, "--to-qdrant", target.url, "--collection", "a", "--repo", repo)
    assert_failed(bad, "kInvalidArgument", "holds collection 'c'")


def test_one_collection_single_node_single_file_layout(cli, repo, standin):
    node = standin(collections=["only:1200000"])
    doc = backup(cli, repo, node.url, "--collection", "only", "--tag", "hourly", key=None).json
    c = by_collection(doc)["only"]
    assert c["ok"] and c["bytes_read"] == c["nodes"][0]["size"]


def test_three_node_cluster_round_trip(cli, repo, cluster):
    nodes = cluster(3, api_key=RW, read_only_key=RO, collections=["shared:1000000"])
    for i, n in enumerate(nodes):  # each node holds different shard data
        n.mutate("shared", fraction=0.05 * (i + 1))
    digests = {n.peer_id: n.digest("shared")["digest"] for n in nodes}
    assert len(set(digests.values())) == 3
    doc = backup(cli, repo, nodes[1].url).json  # any node finds the others through /cluster
    c = by_collection(doc)["shared"]
    assert {n["peer_id"] for n in c["nodes"]} == {n.peer_id for n in nodes}
    assert {n["url"] for n in c["nodes"]} == {n.url for n in nodes}
    assert c["points_count"] == sum(n.digest("shared")["points"] for n in nodes)
    for n in nodes:
        assert server_snapshot_files(n, "shared") == []

    # Restore into a fresh three-node cluster with other peer ids: files go by peer order.
    target = cluster(3, api_key=RW)
    r = cli("restore", c["snapshot"], "--to-qdrant", target[0].url, "--repo", repo, "--json",
            env={"QDRANT_API_KEY": RW}, check=0)
    assert "peer ids differ" in r.err
    restored = {n.digest("shared")["digest"] for n in target}
    assert restored == set(digests.values())
    assert r.json["points_after"] == c["points_count"]

    # Restore into the original cluster: each node's file goes back to its own node.
    for n in nodes:
        n.mutate("shared", fraction=0.02)
    cli("restore", c["snapshot"], "--to-qdrant", nodes[2].url, "--repo", repo,
        env={"QDRANT_API_KEY": RW}, check=0)
    assert {n.peer_id: n.digest("shared")["digest"] for n in nodes} == digests

    # Explicit --node list backs up exactly those nodes.
    doc2 = backup(cli, repo, nodes[0].url, "--node", nodes[0].url, "--node", nodes[2].url).json
    assert {n["peer_id"] for n in by_collection(doc2)["shared"]["nodes"]} == \
        {nodes[0].peer_id, nodes[2].peer_id}


def test_read_only_key_fails_at_create_with_a_hint(cli, repo, standin):
    node = standin(api_key=RW, read_only_key=RO, collections=["docs:500000"])
    r = backup(cli, repo, node.url, key=RO, check=None)
    assert_failed(r, "kPermissionDenied", "read-only", "read-write key")
    doc = json.loads(r.out)
    assert doc["ok"] is False and by_collection(doc)["docs"]["ok"] is False
    assert repo_snapshot_ids(repo) == set()
    # Listing works with the read-only key.
    listed = cli("backup", "qdrant", node.url, "--list", "--json", env={"QDRANT_API_KEY": RO},
                 check=0).json
    assert listed["collections"] == ["docs"]


def create_snapshot(node, collection, key=RW):
    """What an admin (or Qdrant's own schedule) does: returns the SnapshotDescription."""
    req = urllib.request.Request(f"{node.url}/collections/{collection}/snapshots?wait=true",
                                 method="POST", headers={"api-key": key})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["result"]


def test_read_only_key_backs_up_existing_snapshots(cli, repo, standin):
    node = standin(api_key=RW, read_only_key=RO, collections=["docs:600000", "faq:400000"])
    # No snapshot on the server yet: --existing has nothing to take, and says what to do.
    r = backup(cli, repo, node.url, "--existing", "--collection", "docs", key=RO, check=None)
    assert_failed(r, "kNotFound", "no snapshot of collection 'docs'", "drop --existing")
    assert repo_snapshot_ids(repo) == set()

    # Two snapshots of docs with a change between them, one of faq.
    older = create_snapshot(node, "docs")
    node.mutate("docs", fraction=0.05)
    time.sleep(1.1)  # snapshot names carry the second
    newer = create_snapshot(node, "docs")
    faq = create_snapshot(node, "faq")
    on_server = {c: sorted(server_snapshot_files(node, c)) for c in ("docs", "faq")}
    doc = backup(cli, repo, node.url, "--existing", key=RO).json
    cols = by_collection(doc)
    assert doc["ok"] and set(cols) == {"docs", "faq"}
    d = cols["docs"]["nodes"][0]
    assert d["snapshot_name"] == newer["name"] != older["name"]
    assert d["existing"] and not d["server_snapshot_deleted"]
    assert d["sha256"] == newer["checksum"] and d["size"] == newer["size"]
    assert cols["faq"]["nodes"][0]["sha256"] == faq["checksum"]
    # Nothing was created or deleted on the server.
    assert {c: sorted(server_snapshot_files(node, c)) for c in ("docs", "faq")} == on_server
    assert "could not delete" not in backup(cli, repo, node.url, "--existing", key=RO).err

    # Restoring needs a read-write key: the read-only one is refused with a hint.
    r = cli("restore", cols["docs"]["snapshot"], "--to-qdrant", node.url, "--as", "docs_ro",
            "--repo", repo, env={"QDRANT_API_KEY": RO})
    assert_failed(r, "kPermissionDenied", "read-write key")
    assert "docs_ro" not in node.state()["collections"]
    # With the read-write key the round trip completes with the newer snapshot's data.
    r = cli("restore", cols["docs"]["snapshot"], "--to-qdrant", node.url, "--as", "docs_copy",
            "--repo", repo, "--json", env={"QDRANT_API_KEY": RW}, check=0).json
    assert r["points_after"] == r["expected_points"]
    assert node.digest("docs_copy")["digest"] == node.digest("docs")["digest"]


def test_full_storage_snapshot(cli, repo, standin, tmp_path):
    node = standin(collections=["x:500000", "y:500000"])
    doc = backup(cli, repo, node.url, "--full", key=None).json
    (c,) = doc["collections"]
    # A single node's full snapshot name carries no peer id: the file is named by node index.
    assert c["ok"] and c["nodes"][0]["path"] == "full/node-0.snapshot"
    assert c["nodes"][0]["snapshot_name"].startswith("full-snapshot-")
    assert server_snapshot_files(node, "__full__") == []
    out = tmp_path / "full.snapshot"
    cli("export", c["snapshot"], "--out", out, "--repo", repo, check=0)
    assert sha256_file(out) == c["nodes"][0]["qdrant_checksum"]
    r = cli("restore", c["snapshot"], "--to-qdrant", node.url, "--repo", repo)
    assert_failed(r, "kUnimplemented", "full-storage", "--storage-snapshot")


def test_version_skew_warns_before_restore(cli, repo, standin):
    old = standin(version="1.16.2", collections=["v:400000"])
    snap = by_collection(backup(cli, repo, old.url, key=None).json)["v"]["snapshot"]
    new = standin(version="1.19.0")
    r = cli("restore", snap, "--to-qdrant", new.url, "--repo", repo, "--json", check=0)
    assert "1.16.2" in r.err and "1.19.0" in r.err and "warning" in r.err
    assert r.json["version_warning"] is True
    near = standin(version="1.17.0")
    r2 = cli("restore", snap, "--to-qdrant", near.url, "--repo", repo, "--json", check=0)
    assert r2.json["version_warning"] is False and "warning" not in r2.err
