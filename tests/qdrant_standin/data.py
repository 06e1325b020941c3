"""Collection storage of the stand-in: deterministic files, live-like changes, GNU tar snapshots.

A collection lives in a directory laid out like a Qdrant collection (config.json,
shard 0 with replica_state.json, shard_config.json, newest_clocks.json, a WAL and
one segment with vector, payload and id-tracker files). A snapshot is a GNU tar
of that directory, as Qdrant writes it: uncompressed, GNU headers ("ustar  "),
uid/gid 0, and the WAL file stored as an old-GNU sparse member (type 'S'), like
`wal/closed-255` in a real shard snapshot.

Changes between snapshots follow what a live collection does: new points are
appended to the appendable segment's files, and some existing points are
rewritten in place (scattered 4 KiB pages). `rewrite_share` says which part of
the changed bytes are scattered rewrites (default 10 %); the rest are appends.
"""
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

PAGE = 4096
DIM = 128
POINT_BYTES = DIM * 4
WAL_SIZE = 1 << 20
BLOCK = 4 << 20


def _rand_bytes(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


def _write_random(path: Path, rng: random.Random, n: int, mode: str = "wb") -> None:
    key = "%032x" % rng.getrandbits(128)
    if n >= 8 * BLOCK and shutil.which("openssl"):
        # Large files: AES-CTR keystream from openssl (deterministic per key, many
        # times faster than Python's generator).
        with open(path, mode) as f:
            gen = subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key,
                                    "-iv", "0" * 32, "-in", "/dev/zero"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            left = n
            while left > 0:
                b = gen.stdout.read(min(BLOCK, left))
                if not b:
                    break
                f.write(b)
                left -= len(b)
            gen.kill()
            gen.wait()
        if left == 0:
            return
        mode = "ab"
        n = left
    with open(path, mode) as f:
        left = n
        while left > 0:
            k = min(BLOCK, left)
            f.write(_rand_bytes(rng, k))
            left -= k


class Collection:
    """One collection's files on one node (its local shard)."""

    def __init__(self, root: Path, name: str, peer_id: int):
        self.root = root
        self.name = name
        self.peer_id = peer_id

    # ---- layout -------------------------------------------------------------
    @property
    def segment_dir(self) -> Path:
        segs = sorted((self.root / "0" / "segments").iterdir())
        return segs[0]

    def segment_meta(self) -> dict:
        return json.loads((self.segment_dir / "segment.json").read_text())

    def points_count(self) -> int:
        return int(self.segment_meta()["points"])

    def data_size(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                total += os.path.getsize(os.path.join(dirpath, f))
        return total

    # ---- creation -----------------------------------------------------------
    @classmethod
    def create(cls, root: Path, name: str, peer_id: int, size: int, seed: int) -> "Collection":
        if root.exists():
            shutil.rmtree(root)
        rng = random.Random(f"{seed}:{name}:{peer_id}")
        seg_uuid = "%08x-%04x-4%03x-8%03x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
            rng.getrandbits(12), rng.getrandbits(48))
        seg = root / "0" / "segments" / seg_uuid
        (seg / "vector_storage" / "vectors").mkdir(parents=True)
        (seg / "payload_storage").mkdir()
        (root / "0" / "wal").mkdir(parents=True)
        vec_bytes = max(POINT_BYTES, (size * 75 // 100) // POINT_BYTES * POINT_BYTES)
        points = vec_bytes // POINT_BYTES
        _write_random(seg / "vector_storage" / "vectors" / "chunk_0.mmap", rng, vec_bytes)
        _write_random(seg / "payload_storage" / "page_0.dat", rng, max(PAGE, size * 20 // 100))
        _write_random(seg / "id_tracker.mappings", rng, points * 8)
        col = cls(root, name, peer_id)
        (root / "config.json").write_text(json.dumps({
            "params": {"vectors": {"size": DIM, "distance": "Cosine"}, "shard_number": 1,
                       "replication_factor": 1, "write_consistency_factor": 1,
                       "on_disk_payload": True},
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
            "optimizer_config": {"deleted_threshold": 0.2, "vacuum_min_vector_number": 1000,
                                 "default_segment_number": 0, "flush_interval_sec": 5},
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0}}))
        (root / "0" / "shard_config.json").write_text('{"type":"ReplicaSet"}')
        (root / "0" / "replica_state.json").write_text(json.dumps(
            {"is_local": True, "this_peer_id": peer_id, "peers": {str(peer_id): "Active"}},
            separators=(",", ":")))
        col._write_segment_meta(points, version=1)
        col._write_clocks(1)
        col._write_wal(rng, 1)
        return col

    def _write_segment_meta(self, points: int, version: int) -> None:
        seg = self.root / "0" / "segments"
        seg = sorted(seg.iterdir())[0]
        # "points" is the stand-in's own field: the number of points it holds.
        (seg / "segment.json").write_text(json.dumps({
            "version": version, "points": points,
            "config": {"vector_data": {"": {"size": DIM, "distance": "Cosine",
                                            "storage_type": "ChunkedMmap"}},
                       "payload_storage_type": {"type": "mmap"}}}))

    def _write_clocks(self, tick: int) -> None:
        (self.root / "0" / "newest_clocks.json").write_text(json.dumps(
            {"clocks": [{"peer_id": self.peer_id, "clock_id": 0, "current_tick": tick,
                         "token": tick * 7919}]}, separators=(",", ":")))

    def _write_wal(self, rng: random.Random, version: int) -> None:
        wal_dir = self.root / "0" / "wal"
        for old in wal_dir.iterdir():
            old.unlink()
        # A WAL segment is preallocated and mostly holes: one written page.
        with open(wal_dir / f"closed-{version}", "wb") as f:
            f.write(_rand_bytes(rng, PAGE))
            f.truncate(WAL_SIZE)

    # ---- live changes -------------------------------------------------------
    def mutate(self, fraction: float, rewrite_share: float = 0.1, seed: int = 0) -> dict:
        """Changes about `fraction` of the collection's bytes; returns what it did."""
        meta = self.segment_meta()
        version = int(meta["version"]) + 1
        rng = random.Random(f"{seed}:{self.name}:{self.peer_id}:{version}")
        size = self.data_size()
        changed = int(size * fraction)
        rewrite_bytes = int(changed * rewrite_share)
        append_bytes = changed - rewrite_bytes
        seg = self.segment_dir
        files = [seg / "vector_storage" / "vectors" / "chunk_0.mmap",
                 seg / "payload_storage" / "page_0.dat"]
        pages = rewrite_bytes // PAGE
        for i in range(pages):
            path = files[0] if i % 4 else files[1]
            n_pages = os.path.getsize(path) // PAGE
            if n_pages == 0:
                continue
            with open(path, "r+b") as f:
                f.seek(rng.randrange(n_pages) * PAGE)
                f.write(_rand_bytes(rng, PAGE))
        new_points = max(1, (append_bytes * 3 // 4) // POINT_BYTES)
        _write_random(files[0], rng, new_points * POINT_BYTES, "ab")
        _write_random(files[1], rng, max(0, append_bytes - new_points * POINT_BYTES - new_points * 8), "ab")
        _write_random(seg / "id_tracker.mappings", rng, new_points * 8, "ab")
        points = int(meta["points"]) + new_points
        self._write_segment_meta(points, version)
        self._write_clocks(version)
        self._write_wal(rng, version)
        return {"version": version, "pages_rewritten": pages, "bytes_appended": append_bytes,
                "points": points, "size": self.data_size()}

    def digest(self) -> str:
        """sha256 over every file's path and content, except replica_state.json (which names
        the node holding the shard, so it differs after a restore onto another node)."""
        h = hashlib.sha256()
        for dirpath, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                p = Path(dirpath) / name
                if name == "replica_state.json":
                    continue
                h.update(str(p.relative_to(self.root)).encode() + b"\0")
                with open(p, "rb") as f:
                    while True:
                        b = f.read(BLOCK)
                        if not b:
                            break
                        h.update(b)
        return h.hexdigest()


# ---- GNU tar writing ------------------------------------------------------------

class _HashingWriter(io.RawIOBase):
    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def writable(self):
        return True

    def tell(self):
        return self.n

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)


def _octal(n: int, width: int) -> bytes:
    return ("%0*o" % (width - 1, n)).encode() + b"\0"


def _sparse_member(tar: tarfile.TarFile, arcname: str, path: Path) -> None:
    """Writes `path` as an old-GNU sparse member (type 'S'): data regions only."""
    st = path.stat()
    regions = []  # (offset, length) of data, found with SEEK_DATA/SEEK_HOLE
    with open(path, "rb") as f:
        fd = f.fileno()
        off = 0
        while off < st.st_size:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            regions.append((data, hole - data))
            off = hole
    if regions and regions[-1][0] + regions[-1][1] < st.st_size:
        regions.append((st.st_size, 0))  # GNU tar ends a trailing hole with an empty region
    if not regions or len(regions) > 4:
        tar.add(str(path), arcname=arcname, recursive=False)
        return
    stored = sum(n for _, n in regions)
    ti = tar.gettarinfo(str(path), arcname=arcname)
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.type = tarfile.GNUTYPE_SPARSE
    ti.size = stored
    buf = bytearray(ti.tobuf(tarfile.GNU_FORMAT, tar.encoding, tar.errors))
    for i, (o, n) in enumerate(regions):
        buf[386 + i * 24:386 + i * 24 + 12] = _octal(o, 12)
        buf[398 + i * 24:398 + i * 24 + 12] = _octal(n, 12)
    buf[482] = 0
    buf[483:495] = _octal(st.st_size, 12)
    buf[148:156] = b"        "
    buf[148:156] = ("%06o" % sum(buf[:512])).encode() + b"\0 "
    tar.fileobj.write(bytes(buf))
    tar.offset += len(buf)
    with open(path, "rb") as f:
        for o, n in regions:
            f.seek(o)
            tarfile.copyfileobj(f, tar.fileobj, n)
    pad = (-stored) % 512
    tar.fileobj.write(b"\0" * pad)
    tar.offset += stored + pad
    tar.members.append(ti)


def write_snapshot_tar(src_root: Path, out_path: Path, extra: list | None = None) -> tuple[str, int]:
    """Writes a GNU tar of src_root (sorted) to out_path; returns (sha256 hex, size)."""
    with open(out_path, "wb") as raw:
        hw = _HashingWriter(raw)
        with tarfile.open(fileobj=hw, mode="w", format=tarfile.GNU_FORMAT) as tar:
            tar.copybufsize = BLOCK
            entries = []
            for dirpath, dirs, files in os.walk(src_root):
                dirs.sort()
                rel = Path(dirpath).relative_to(src_root)
                for d in dirs:
                    entries.append((rel / d, True))
                for f in sorted(files):
                    entries.append((rel / f, False))
            for rel, is_dir in entries:
                p = src_root / rel
                arc = str(rel) + ("/" if is_dir else "")
                if not is_dir and rel.parts[-2:-1] == ("wal",):
                    _sparse_member(tar, str(rel), p)
                    continue
                ti = tar.gettarinfo(str(p), arcname=arc.rstrip("/"))
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                if is_dir:
                    ti.name = arc
                    tar.addfile(ti)
                else:
                    with open(p, "rb") as f:
                        tar.addfile(ti, f)
            for arcname, path in extra or []:
                ti = tar.gettarinfo(str(path), arcname=arcname)
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                with open(path, "rb") as f:
                    tar.addfile(ti, f)
        raw.flush()
        os.fsync(raw.fileno())
    return hw.h.hexdigest(), hw.n


def extract_snapshot_tar(tar_path: Path, dest: Path) -> None:
    """Extracts a collection snapshot; raises ValueError when it is not one."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        with tarfile.open(tar_path, mode="r:") as tar:
            names = tar.getnames()
            if "config.json" not in names:
                raise ValueError("snapshot has no config.json")
            tar.extractall(dest, filter="tar")
    except tarfile.TarError as e:
        raise ValueError(f"not a tar archive: {e}") from e
    if not (dest / "0" / "segments").is_dir():
        raise ValueError("snapshot has no shard segments")


def snapshot_name(collection: str, peer_id: int, when: float | None = None) -> str:
    t = time.gmtime(when if when is not None else time.time())
    return f"{collection}-{peer_id}-" + time.strftime("%Y-%m-%d-%H-%M-%S", t) + ".snapshot"
