"""Full and per-collection backup and restore of Chroma, on every version.

One data set per version, made by Chroma itself (PersistentClient): an l2
collection with HNSW files plus an unflushed WAL tail, deletes and updates;
a cosine collection without documents; a collection still entirely in the
WAL; an empty one with collection metadata. Then:
  - full backup (stopped), restore to a new folder: the same Chroma opens it
    and every collection, count, id, vector, document, metadata and query
    answer is equal;
  - per-collection backups restored through `chroma run`'s HTTP API into an
    empty server of the same version, and into the newest 1.x (migration);
  - bad input: clear errors with code and hint, nothing changed.

Cost: about 35 s per version on 2 cores (data set, 2 servers, 4 dump
processes), plus 10 s once for the bad-input checks.
"""

import json

import pytest

from conftest import ALL_VERSIONS, Driver, ChromaServer

NEWEST = ALL_VERSIONS[-1]

SPECS = [
    {"name": "docs-l2", "n": 1200, "dim": 8, "seed": 3, "sync_threshold": 500,
     "batch_size": 100, "delete": [3, 5, 700], "update": [7, 900],
     "collection_metadata": {"owner": "team-a", "level": 2}},
    {"name": "cos-nodocs", "n": 300, "dim": 6, "seed": 4, "space": "cosine", "docs": False},
    {"name": "wal-only", "n": 40, "dim": 4, "seed": 5},
    {"name": "empty-col", "n": 0, "dim": 4, "collection_metadata": {"purpose": "none yet"}},
]
NAMES = sorted(s["name"] for s in SPECS)


@pytest.fixture(scope="module")
def dataset(chroma, vecsafe, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"chroma-br-{chroma.version}")
    data = base / "data"
    chroma.create(data, SPECS)
    repo = base / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    dump = chroma.dump(data, queries=3)
    assert sorted(dump) == NAMES
    return {"base": base, "data": data, "repo": repo, "dump": dump}


def same_records(a, b, what):
    for key in ("count", "ids", "documents", "metadatas", "neighbours"):
        assert a[key] == b[key], f"{what}: {key} differs"
    if a["embeddings"] != b["embeddings"]:
        # Cosine collections: Chroma stores unit vectors and norms; allow the
        # last bit of float32 rounding, nothing more.
        import struct
        for x, y in zip(a["embeddings"], b["embeddings"]):
            fx = struct.unpack(f"<{len(x) // 8}f", bytes.fromhex(x))
            fy = struct.unpack(f"<{len(y) // 8}f", bytes.fromhex(y))
            assert all(abs(p - q) <= 1e-6 * max(1.0, abs(p)) for p, q in zip(fx, fy)), what


def test_full_backup_restore_equal(chroma, vecsafe, dataset):
    rc, out = vecsafe.json("backup", "chroma", dataset["data"], "--repo", dataset["repo"],
                           "--tag", "full")
    assert rc == 0, json.dumps(out)
    src = out["snapshot"]["source"]
    assert src["kind"] == "full" and src["chroma_schema"] and src["chroma_version_line"]
    assert sorted(c["name"] for c in src["collections"]) == NAMES
    target = dataset["base"] / "restored"
    rc, out2 = vecsafe.json("restore", out["snapshot"]["id"], "--to", target,
                            "--repo", dataset["repo"])
    assert rc == 0, json.dumps(out2)
    got = chroma.dump(target, queries=3)
    assert got == dataset["dump"]  # every field, exactly


def backup_collections(vecsafe, dataset):
    snaps = {}
    for name in NAMES:
        rc, out = vecsafe.json("backup", "chroma", dataset["data"], "--collection", name,
                               "--repo", dataset["repo"])
        assert rc == 0, json.dumps(out)
        s = out["snapshot"]["source"]
        assert s["kind"] == "collection" and s["collection"] == name
        assert s["count"] == dataset["dump"][name]["count"]
        snaps[name] = out["snapshot"]["id"]
    return snaps


def restore_and_compare(vecsafe, dataset, snaps, driver, server, prefix):
    for name, snap in snaps.items():
        rc, out = vecsafe.json("restore", snap, "--to-chroma", server.url, "--as",
                               prefix + name, "--repo", dataset["repo"], "--batch-size", 200)
        assert rc == 0, json.dumps(out)
        assert out["count"] == dataset["dump"][name]["count"]
    got = driver.dump(server.url, [prefix + n for n in NAMES], queries=3)
    for name in NAMES:
        a, b = dataset["dump"][name], got[prefix + name]
        same_records(a, b, f"{name} -> {server.driver.version}")
        want_meta = {k: v for k, v in (a["metadata"] or {}).items()}
        have_meta = {k: v for k, v in (b["metadata"] or {}).items()}
        for k, v in want_meta.items():
            if not k.startswith("hnsw:"):
                assert have_meta.get(k) == v, f"{name}: collection metadata {k}"


def test_collection_round_trip_same_version(chroma, vecsafe, dataset, chroma_server):
    snaps = backup_collections(vecsafe, dataset)
    dataset["collection_snaps"] = snaps
    server = chroma_server(dataset["base"] / "server-same")
    restore_and_compare(vecsafe, dataset, snaps, chroma, server, "rt-")


def test_collection_into_newest(chroma, vecsafe, dataset, chroma_envs, tmp_path):
    if chroma.version == NEWEST:
        pytest.skip("same version: covered by the round trip")
    if NEWEST not in chroma_envs:
        pytest.skip(f"Chroma {NEWEST} not selected (CHROMA_VERSIONS)")
    snaps = dataset.get("collection_snaps") or backup_collections(vecsafe, dataset)
    newest = Driver(NEWEST, chroma_envs[NEWEST])
    server = ChromaServer(newest, tmp_path / "server-newest", tmp_path)
    try:
        restore_and_compare(vecsafe, dataset, snaps, newest, server, "up-")
    finally:
        server.stop()


def test_bad_input(chroma, vecsafe, dataset, chroma_server, tmp_path):
    if chroma.version != NEWEST:
        pytest.skip("bad input is checked once, on the newest version")
    repo = dataset["repo"]

    def snapshots():
        rc, out = vecsafe.json("snapshots", "--repo", repo)
        assert rc == 0
        return len(out["snapshots"]) if isinstance(out, dict) else len(out)

    def refused(proc, status, *words):
        assert proc.returncode == status, (proc.returncode, proc.stderr)
        assert "HINT:" in proc.stderr, proc.stderr
        for w in words:
            assert w in proc.stderr, proc.stderr

    n0 = snapshots()
    not_chroma = tmp_path / "not-chroma"
    not_chroma.mkdir()
    (not_chroma / "notes.txt").write_text("hello")
    refused(vecsafe.run("backup", "chroma", not_chroma, "--repo", repo), 3, "chroma.sqlite3")
    refused(vecsafe.run("backup", "chroma", not_chroma, "--collection", "x", "--repo", repo), 3)
    refused(vecsafe.run("backup", "chroma", dataset["data"], "--collection", "no-such-col",
                        "--repo", repo), 3, "no-such-col", "docs-l2")
    assert snapshots() == n0
    assert sorted(p.name for p in not_chroma.iterdir()) == ["notes.txt"]

    rc, out = vecsafe.json("backup", "chroma", dataset["data"], "--collection", "wal-only",
                           "--repo", repo)
    assert rc == 0
    snap = out["snapshot"]["id"]
    server = chroma_server(tmp_path / "server-bad")
    rc, out = vecsafe.json("restore", snap, "--to-chroma", server.url, "--repo", repo)
    assert rc == 0 and out["count"] == 40
    # The name is taken now: refused, and the existing collection is untouched.
    refused(vecsafe.run("restore", snap, "--to-chroma", server.url, "--repo", repo), 4,
            "already exists", "--as")
    refused(vecsafe.run("restore", snap, "--to-chroma", server.url, "--as", "wal-only",
                        "--repo", repo), 4, "already exists")
    refused(vecsafe.run("restore", snap, "--to-chroma", server.url, "--as", "x",
                        "--repo", repo), 2, "not a valid Chroma collection name")
    assert chroma.dump(server.url, ["wal-only"], queries=0)["wal-only"]["count"] == 40
    assert chroma.call("list", "--server", server.url)["collections"] == ["wal-only"]
    # A full snapshot cannot go through the HTTP API.
    rc, out = vecsafe.json("backup", "chroma", dataset["data"], "--repo", repo)
    refused(vecsafe.run("restore", out["snapshot"]["id"], "--to-chroma", server.url,
                        "--repo", repo), 2, "not a Chroma collection snapshot")
    # Nobody listens there.
    refused(vecsafe.run("restore", snap, "--to-chroma", "http://127.0.0.1:9", "--repo", repo),
            8, "no Chroma server")
