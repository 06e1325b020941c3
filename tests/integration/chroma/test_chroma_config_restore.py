"""Per-collection restore keeps a Chroma 1.x collection's configuration.

Chroma 1.x keeps a collection's index settings only in its configuration
(1.0: config_json_str {"vector_index": ...}; 1.5: schema_str), not in the
"hnsw:*" metadata of 0.4-0.6. A collection made by Chroma 1.x with
configuration={"hnsw": {space cosine, ef_construction, ef_search,
max_neighbors, sync_threshold, resize_factor}} and the default embedding
function is backed up with --collection and restored with --to-chroma into a
server of the same version and into the other 1.x version: the restored
collection reports the same configuration_json (hnsw parameters and embedding
function) and metadata, and the same records and query answers.

Runs on the 1.x versions only (the others have no such configuration). Cost:
about 25 s per version on 2 cores (two servers, a few dump processes).
"""

import json

import pytest

from conftest import ALL_VERSIONS, ChromaServer, Driver
from test_chroma_backup_restore import same_records

ONE_X = [v for v in ALL_VERSIONS if int(v.split(".")[0]) >= 1]
HNSW = {"space": "cosine", "ef_construction": 150, "ef_search": 40, "max_neighbors": 24,
        "sync_threshold": 300, "resize_factor": 1.5}
SPECS = [
    {"name": "cfg-col", "n": 700, "dim": 8, "seed": 7, "configuration": {"hnsw": HNSW},
     "ef": "default", "collection_metadata": {"owner": "team-a"}, "delete": [4], "update": [9]},
    {"name": "cfg-ip", "n": 50, "dim": 4, "seed": 8,
     "configuration": {"hnsw": {"space": "ip", "ef_search": 77}}},
]
NAMES = [s["name"] for s in SPECS]


def test_configuration_survives_restore(chroma, chroma_envs, vecsafe, tmp_path, chroma_server):
    if chroma.version not in ONE_X:
        pytest.skip("collection configuration of Chroma 1.x only")
    data = tmp_path / "data"
    chroma.create(data, SPECS)
    want_cfg = chroma.config(data, NAMES)
    assert want_cfg["cfg-col"]["configuration"]["hnsw"] == HNSW, want_cfg["cfg-col"]
    assert want_cfg["cfg-col"]["configuration"]["embedding_function"]["name"] == "default"
    want = chroma.dump(data, NAMES, queries=3)
    repo = tmp_path / "repo"
    vecsafe.run("init", "--repo", repo, "--encryption", "none", check=0)
    snaps = {}
    for name in NAMES:
        rc, out = vecsafe.json("backup", "chroma", data, "--collection", name, "--repo", repo)
        assert rc == 0, json.dumps(out)
        snaps[name] = out["snapshot"]["id"]

    targets = [(chroma, None)]
    for other in ONE_X:
        if other != chroma.version and other in chroma_envs:
            targets.append((Driver(other, chroma_envs[other]), other))
    checked = []
    for driver, other in targets:
        if other is None:
            server = chroma_server(tmp_path / "target-same")
        else:
            server = ChromaServer(driver, tmp_path / f"target-{other}", tmp_path)
        try:
            for name in NAMES:
                rc, out = vecsafe.json("restore", snaps[name], "--to-chroma", server.url,
                                       "--as", f"r-{name}", "--repo", repo)
                assert rc == 0, json.dumps(out)
                assert out["index_settings"] in ("schema", "configuration"), out
            got_cfg = driver.config(server.url, [f"r-{n}" for n in NAMES])
            got = driver.dump(server.url, [f"r-{n}" for n in NAMES], queries=3)
        finally:
            if other is not None:
                server.stop()
        for name in NAMES:
            what = f"{name}: {chroma.version} -> {driver.version}"
            assert got_cfg[f"r-{name}"] == want_cfg[name], what
            same_records(want[name], got[f"r-{name}"], what)
        checked.append(driver.version)
    print(f"[chroma {chroma.version}] configuration kept into {checked}")
