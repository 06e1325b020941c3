"""Corruption in a pack: `verify --read-data` finds it, names the snapshot
file it belongs to and exits 1; restoring that file fails with kDataLoss;
other snapshots' files are not affected.

Cost: ~3 s.
"""
import os
from pathlib import Path

import pytest

from vecsafe_testlib import assert_error, snapshot_tree


def packs(repo):
    return sorted(p for p in Path(repo, "data").rglob("*") if p.is_file())


@pytest.mark.asan
def test_flipped_byte_in_pack_is_found_and_named(cli, repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "vectors.bin").write_bytes(os.urandom(3 << 20))
    snap = cli.json("backup", "dir", src, "--repo", repo)["snapshot"]
    assert cli.json("verify", "--read-data", "--repo", repo)["ok"]
    (pack,) = packs(repo)
    data = bytearray(pack.read_bytes())
    data[len(data) // 3] ^= 0x40  # inside the chunk data, far from the pack's trailer
    os.chmod(pack, 0o644)
    pack.write_bytes(bytes(data))

    # The cheap check looks at sizes only and cannot see a flipped bit.
    assert cli.json("verify", "--repo", repo)["ok"]

    r = cli("verify", "--read-data", "--repo", repo, "--json")
    assert r.rc == 1, r.explain()
    doc = r.json
    assert not doc["ok"]
    assert doc["counts"]["checksum_mismatch"] + doc["counts"]["other"] >= 1
    named = {u for p in doc["problems"] for u in p["used_by"]}
    assert f"{snap['short_id']}:vectors.bin" in named, doc["problems"]

    text = cli("verify", "--read-data", "--repo", repo)
    assert text.rc == 1 and "vectors.bin" in text.out and "HINT: " in text.err

    # File by file against the manifest's sha256: the same chunk and file named.
    r = cli("verify", "--read-files", "--repo", repo, "--json")
    assert r.rc == 1, r.explain()
    by_file = r.json
    assert {p["id"] for p in by_file["problems"] if p["kind"] == "chunk"} == \
        {p["id"] for p in doc["problems"] if p["kind"] == "chunk"}
    assert f"{snap['short_id']}:vectors.bin" in {
        p["id"] for p in by_file["problems"] if p["kind"] == "file"}

    r = cli("restore", snap["id"], "--to", tmp_path / "out", "--repo", repo)
    assert_error(r, "kDataLoss")
    assert not (tmp_path / "out").exists()


def test_missing_pack_is_reported(cli, repo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(1 << 20))
    snap = cli.json("backup", "dir", src, "--repo", repo)["snapshot"]
    (pack,) = packs(repo)
    pack.unlink()
    r = cli("verify", "--repo", repo, "--json")
    assert r.rc == 1
    assert r.json["counts"]["missing"] >= 1
    named = {u for p in r.json["problems"] for u in p["used_by"]}
    assert f"{snap['short_id']}:a.bin" in named, r.json["problems"]


@pytest.mark.asan
def test_read_files_over_more_data_than_its_window(cli, repo, tmp_path):
    """`verify --read-files` keeps at most ~36 MiB of decoded data waiting for
    the hashing thread, in a ring reused from the start: 200 MiB of zeros
    (runs of 4 MiB that end exactly at the ring's end) and a damaged file
    next to them are checked right, and nothing is written past the ring
    (the ASan run of this test)."""
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "zeros.bin", "wb") as f:
        f.truncate(200 << 20)
    (src / "vectors.bin").write_bytes(os.urandom(6 << 20))
    snap = cli.json("backup", "dir", src, "--repo", repo)["snapshot"]
    doc = cli.json("verify", "--read-files", "--repo", repo)
    assert doc["ok"] and doc["files_checked"] == 2, doc

    biggest = max(packs(repo), key=lambda p: p.stat().st_size)
    data = bytearray(biggest.read_bytes())
    data[len(data) // 2] ^= 0x40
    os.chmod(biggest, 0o644)
    biggest.write_bytes(bytes(data))
    r = cli("verify", "--read-files", "--repo", repo, "--json")
    assert r.rc == 1, r.explain()
    files = {p["id"] for p in r.json["problems"] if p["kind"] == "file"}
    assert files == {f"{snap['short_id']}:vectors.bin"}, r.json["problems"]
