"""The Qdrant stand-in: the REST endpoints vecsafe uses, as openapi.json (Qdrant v1.19) says.

Run: python -m qdrant_standin.server --data DIR [--port 0] [--peer-id N] [--api-key K]
     [--read-only-key R] [--version 1.19.0] [--collection NAME:BYTES]...
It prints "LISTENING <port>" on stdout once it serves.

Implemented (see the README beside this file): GET /, GET /healthz, GET /collections,
GET /collections/{c}, GET /cluster, POST|GET /collections/{c}/snapshots,
GET|DELETE /collections/{c}/snapshots/{s} (and the "{s}.checksum" sidecar),
POST /collections/{c}/snapshots/upload, PUT /collections/{c}/snapshots/recover,
POST|GET /snapshots, GET|DELETE /snapshots/{s}.

Test-only control endpoints live under /__standin/ (not part of Qdrant's API, no auth).
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from qdrant_standin.data import Collection, extract_snapshot_tar, snapshot_name, write_snapshot_tar

READ_BLOCK = 1 << 20


class HttpError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Node:
    """The state of one Qdrant node: collections, snapshots, faults, cluster view."""

    def __init__(self, data: Path, peer_id: int, version: str, api_key: str | None,
                 read_only_key: str | None, create_delay: float):
        self.data = data
        self.peer_id = peer_id
        self.version = version
        self.api_key = api_key
        self.read_only_key = read_only_key
        self.create_delay = create_delay
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.faults: list[dict] = []
        self.log: list[dict] = []
        self.peers: dict[int, str] = {}  # other peers: id -> REST base URL (cluster mode)
        self.create_seconds: list[float] = []  # how long each snapshot creation took
        self.delete_seconds: list[float] = []  # and each snapshot deletion (unlink)
        self.port = 0
        (data / "collections").mkdir(parents=True, exist_ok=True)
        (data / "snapshots").mkdir(parents=True, exist_ok=True)
        (data / "tmp").mkdir(parents=True, exist_ok=True)
        for d in sorted((data / "collections").iterdir()):
            self.collections[d.name] = Collection(d, d.name, peer_id)

    def snapshot_dir(self, collection: str | None) -> Path:
        d = self.data / "snapshots" / (collection if collection else "__full__")
        d.mkdir(parents=True, exist_ok=True)
        return d

    def take_fault(self, op: str) -> dict | None:
        with self.lock:
            for f in self.faults:
                if f["op"] in (op, "any") and f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                    return dict(f)
        return None

    def collection(self, name: str) -> Collection:
        col = self.collections.get(name)
        if col is None:
            raise HttpError(404, f"Not found: Collection `{name}` doesn't exist!")
        return col

    # ---- snapshots ----------------------------------------------------------
    def create_snapshot(self, collection: str | None, bad_checksum: bool) -> dict:
        started = time.time()
        if self.create_delay:
            time.sleep(self.create_delay)
        sdir = self.snapshot_dir(collection)
        now = time.time()
        if collection is None:
            name = f"full-snapshot-" + time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now)) + ".snapshot"
        else:
            name = snapshot_name(collection, self.peer_id, now)
        tmp = sdir / (name + ".tmp")
        with self.lock:
            if collection is None:
                parts = []
                for cname in sorted(self.collections):
                    p = self.data / "tmp" / f"{cname}.part"
                    write_snapshot_tar(self.collections[cname].root, p)
                    parts.append((snapshot_name(cname, self.peer_id, now), p))
                cfg = self.data / "tmp" / "config.json"
                cfg.write_text(json.dumps({"collections": sorted(self.collections),
                                           "aliases": {}}))
                digest, size = self._write_full(tmp, cfg, parts)
            else:
                digest, size = write_snapshot_tar(self.collection(collection).root, tmp)
            # On disk before it is listed, as a file on Qdrant's own disk: its
            # writeback then belongs to the creation time (which the benchmark
            # subtracts) instead of competing with the repository's writes
            # while vecsafe streams it (a real Qdrant is another machine).
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            if bad_checksum:
                digest = hashlib.sha256(digest.encode()).hexdigest()
            (sdir / (name + ".checksum")).write_text(digest)
            # Listed the moment the lock (which every request takes) is released,
            # so a listing that waited on it sees the finished snapshot.
            os.replace(tmp, sdir / name)
            self.create_seconds.append(round(time.time() - started, 3))
        return self.describe(sdir / name)

    def _write_full(self, tmp: Path, cfg: Path, parts) -> tuple[str, int]:
        stage = self.data / "tmp" / "full"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir()
        shutil.copy(cfg, stage / "config.json")
        for name, p in parts:
            os.replace(p, stage / name)
        digest, size = write_snapshot_tar(stage, tmp)
        shutil.rmtree(stage)
        return digest, size

    def describe(self, path: Path) -> dict:
        st = path.stat()
        cks = path.with_name(path.name + ".checksum")
        return {"name": path.name,
                "creation_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.st_mtime)),
                "size": st.st_size,
                "checksum": cks.read_text().strip() if cks.exists() else None}

    def list_snapshots(self, collection: str | None) -> list[dict]:
        sdir = self.snapshot_dir(collection)
        out = [self.describe(p) for p in sdir.iterdir() if p.name.endswith(".snapshot")]
        random.shuffle(out)  # Qdrant lists in directory order: never rely on an order
        return out

    def install(self, collection: str, tar_path: Path) -> None:
        stage = self.data / "tmp" / f"recover-{collection}-{threading.get_ident()}"
        try:
            extract_snapshot_tar(tar_path, stage)
        except ValueError as e:
            shutil.rmtree(stage, ignore_errors=True)
            raise HttpError(400, f"Bad request: Invalid snapshot: {e}")
        # The snapshot's own peer becomes this node's peer in the restored shard.
        rs = stage / "0" / "replica_state.json"
        if rs.exists():
            rs.write_text(json.dumps({"is_local": True, "this_peer_id": self.peer_id,
                                      "peers": {str(self.peer_id): "Active"}},
                                     separators=(",", ":")))
        with self.lock:
            dest = self.data / "collections" / collection
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(stage, dest)
            self.collections[collection] = Collection(dest, collection, self.peer_id)


def _envelope(result, status="ok", t0=None) -> dict:
    body = {"status": status, "time": round(time.time() - (t0 or time.time()), 6)}
    if result is not _NO_RESULT:
        body["result"] = result
    return body


_NO_RESULT = object()
SNAP_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "qdrant-standin"
    # Headers and body go out in two writes: with Nagle's algorithm the body
    # waits for the client's delayed ACK (~40 ms per request), a stall Qdrant
    # does not have and that the benchmark would count against vecsafe.
    disable_nagle_algorithm = True
    node: Node = None  # set by main()

    def log_message(self, fmt, *args):  # quiet; the request log is kept in node.log
        pass

    # ---- plumbing -------------------------------------------------------------
    def send_json(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._logged(code)

    def send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._logged(code)

    def send_error_json(self, code: int, message: str) -> None:
        self.send_json(code, {"status": {"error": message}, "time": 0.0})

    def _logged(self, code: int) -> None:
        with self.node.lock:
            self.node.log.append({"method": self.command, "path": self.path, "status": code})
            del self.node.log[:-2000]

    def body_chunks(self):
        """Yields the request body (Content-Length or chunked)."""
        self.body_started = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    b = self.rfile.read(min(left, READ_BLOCK))
                    if not b:
                        raise ConnectionError("client closed mid-body")
                    left -= len(b)
                    yield b
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                b = self.rfile.read(min(left, READ_BLOCK))
                if not b:
                    raise ConnectionError("client closed mid-body")
                left -= len(b)
                yield b

    def discard_body(self) -> None:
        """Reads an unread request body before an error answer, as an HTTP/1.1 server does:
        closing with unread bytes makes the kernel reset the connection, and the client may
        then lose the answer (a 403 to an upload would look like a network failure)."""
        if getattr(self, "body_started", False):
            return
        try:
            for _ in self.body_chunks():
                pass
        except (ConnectionError, ValueError, OSError):
            self.close_connection = True

    def read_body(self) -> bytes:
        return b"".join(self.body_chunks())

    def query(self) -> dict:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))

    def access(self) -> str:
        """'rw', 'ro', or raises 401 (plain text, as Qdrant's auth middleware answers)."""
        node = self.node
        if not node.api_key and not node.read_only_key:
            return "rw"
        key = self.headers.get("api-key")
        auth = self.headers.get("Authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if key is None:
            raise HttpError(401, "Must provide an API key or an Authorization bearer token")
        if node.api_key and key == node.api_key:
            return "rw"
        if node.read_only_key and key == node.read_only_key:
            return "ro"
        raise HttpError(401, "Invalid API key or JWT")

    def need_write(self, access: str) -> None:
        if access != "rw":
            raise HttpError(403, "Forbidden: Write access is required")

    # ---- dispatch ---------------------------------------------------------------
    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        t0 = time.time()
        self.body_started = False
        try:
            if parts and parts[0] == "__standin":
                return self.control(method, parts[1:])
            if method == "GET" and parts in ([], ["healthz"]):
                if not parts:  # "/" is not enveloped and needs no key
                    return self.send_json(200, {"title": "qdrant - vector search engine",
                                                "version": self.node.version,
                                                "commit": "0" * 40})
                return self.send_text(200, "healthz check passed")
            access = self.access()
            fault = self.node.take_fault(self.op_name(method, parts))
            if fault and fault.get("status"):
                if fault.get("close"):
                    return self.abort_connection()
                return self.send_error_json(int(fault["status"]), fault.get(
                    "message", _DEFAULT_FAULT_MESSAGES.get(int(fault["status"]), "Service error")))
            self.route(method, parts, access, fault or {}, t0)
        except HttpError as e:
            self.discard_body()
            if e.code == 401:
                return self.send_text(401, e.message)
            self.send_error_json(e.code, e.message)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True
        except Exception as e:  # a stand-in bug: answer like Qdrant's internal error
            self.send_error_json(500, f"Service internal error: {type(e).__name__}: {e}")

    @staticmethod
    def op_name(method: str, parts: list[str]) -> str:
        if parts[:1] == ["snapshots"]:
            return {"POST": "create_full", "GET": "list_full" if len(parts) == 1 else "download_full",
                    "DELETE": "delete_full"}.get(method, "other")
        if parts[:1] == ["collections"] and len(parts) >= 3 and parts[2] == "snapshots":
            if len(parts) == 3:
                return "create" if method == "POST" else "list"
            if parts[3] == "upload":
                return "upload"
            if parts[3] == "recover":
                return "recover"
            return "download" if method == "GET" else "delete"
        if parts == ["collections"]:
            return "list_collections"
        if parts[:1] == ["collections"]:
            return "collection"
        return parts[0] if parts else "root"

    def abort_connection(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def route(self, method, parts, access, fault, t0) -> None:
        node = self.node
        q = self.query()
        if parts == ["collections"] and method == "GET":
            names = list(node.collections)
            random.shuffle(names)
            return self.send_json(200, _envelope({"collections": [{"name": n} for n in names]}, t0=t0))
        if parts == ["cluster"] and method == "GET":
            return self.send_json(200, _envelope(self.cluster_info(), t0=t0))
        if len(parts) == 2 and parts[0] == "collections" and method == "GET":
            return self.send_json(200, _envelope(self.collection_info(parts[1]), t0=t0))
        if len(parts) >= 3 and parts[0] == "collections" and parts[2] == "snapshots":
            return self.route_snapshots(method, parts[1], parts[3:], access, fault, q, t0)
        if parts and parts[0] == "snapshots":
            return self.route_full(method, parts[1:], access, fault, q, t0)
        raise HttpError(404, f"Not found: {urllib.parse.urlsplit(self.path).path}")

    def cluster_info(self) -> dict:
        node = self.node
        if not node.peers:
            return {"status": "disabled"}
        peers = {str(node.peer_id): {"uri": _p2p_uri(node.port)}}
        for pid, url in node.peers.items():
            peers[str(pid)] = {"uri": _p2p_uri(urllib.parse.urlsplit(url).port)}
        return {"status": "enabled", "peer_id": node.peer_id, "peers": peers,
                "raft_info": {"term": 2, "commit": 40 + len(node.collections), "pending_operations": 0,
                              "leader": min(peers, key=int) and int(min(peers, key=int)),
                              "role": "Leader" if node.peer_id == min(int(p) for p in peers) else "Follower",
                              "is_voter": True},
                "consensus_thread_status": {"consensus_thread_status": "working",
                                            "last_update": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())},
                "message_send_failures": {}}

    def collection_info(self, name: str) -> dict:
        node = self.node
        col = node.collection(name)
        points = col.points_count()
        for pid, url in node.peers.items():  # a collection's count spans the cluster
            try:
                with urllib.request.urlopen(f"{url}/__standin/collections/{name}/local", timeout=5) as r:
                    points += json.loads(r.read())["points"]
            except (urllib.error.URLError, OSError, KeyError, ValueError):
                pass
        cfg = json.loads((col.root / "config.json").read_text())
        return {"status": "green", "optimizer_status": "ok", "indexed_vectors_count": points,
                "points_count": points, "segments_count": 1, "config": cfg, "payload_schema": {}}

    # ---- collection snapshots ------------------------------------------------------
    def route_snapshots(self, method, coll, rest, access, fault, q, t0) -> None:
        node = self.node
        if not rest and method == "POST":
            self.need_write(access)
            node.collection(coll)
            return self.create(coll, fault, q, t0)
        if not rest and method == "GET":
            node.collection(coll)
            return self.send_json(200, _envelope(node.list_snapshots(coll), t0=t0))
        if rest == ["upload"] and method == "POST":
            self.need_write(access)
            return self.upload(coll, q, t0)
        if rest == ["recover"] and method == "PUT":
            self.need_write(access)
            return self.recover(coll, q, t0)
        if len(rest) == 1 and method in ("GET", "DELETE"):
            node.collection(coll)
            return self.snapshot_file(method, node.snapshot_dir(coll), rest[0], access, fault, q, t0)
        raise HttpError(404, f"Not found: {urllib.parse.urlsplit(self.path).path}")

    def route_full(self, method, rest, access, fault, q, t0) -> None:
        node = self.node
        if not rest and method == "POST":
            self.need_write(access)
            return self.create(None, fault, q, t0)
        if not rest and method == "GET":
            return self.send_json(200, _envelope(node.list_snapshots(None), t0=t0))
        if len(rest) == 1 and method in ("GET", "DELETE"):
            return self.snapshot_file(method, node.snapshot_dir(None), rest[0], access, fault, q, t0)
        raise HttpError(404, f"Not found: {urllib.parse.urlsplit(self.path).path}")

    def create(self, coll, fault, q, t0) -> None:
        node = self.node
        bad = bool(fault.get("bad_checksum"))
        if q.get("wait", "true").lower() == "false":
            threading.Thread(target=node.create_snapshot, args=(coll, bad), daemon=True).start()
            return self.send_json(202, {"status": "accepted", "time": round(time.time() - t0, 6)})
        desc = node.create_snapshot(coll, bad)
        self.send_json(200, _envelope(desc, t0=t0))

    def snapshot_file(self, method, sdir: Path, name: str, access, fault, q, t0) -> None:
        if not SNAP_RE.match(name) or name.endswith(".tmp"):
            raise HttpError(400, f"Bad request: invalid snapshot name {name}")
        path = sdir / name
        if not path.is_file():
            raise HttpError(404, f"Not found: Snapshot {name} not found")
        if method == "DELETE":
            self.need_write(access)
            started = time.time()
            path.unlink()  # for a multi-GiB file the kernel frees its cached pages here
            cks = sdir / (name + ".checksum")
            if cks.exists():
                cks.unlink()
            self.node.delete_seconds.append(round(time.time() - started, 3))
            if q.get("wait", "true").lower() == "false":
                return self.send_json(202, {"status": "accepted", "time": round(time.time() - t0, 6)})
            return self.send_json(200, _envelope(True, t0=t0))
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.end_headers()
        drop_after = fault.get("drop_after")
        limit = size if drop_after is None else min(size, int(drop_after))
        with open(path, "rb") as f:
            sent = 0
            while sent < limit:
                n = self.connection.sendfile(f, offset=sent, count=min(limit - sent, 64 << 20))
                if n == 0:
                    break
                sent += n
        if drop_after is not None and limit < size:
            self._logged(200)
            return self.abort_connection()
        self._logged(200)

    # ---- restore ------------------------------------------------------------------
    def upload(self, coll, q, t0) -> None:
        node = self.node
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.startswith("multipart/form-data") or not m:
            raise HttpError(400, "Bad request: expected multipart/form-data with a boundary")
        boundary = m.group(1).encode()
        fd, tmp_name = tempfile.mkstemp(dir=node.data / "tmp", suffix=".upload")
        tmp = Path(tmp_name)
        snap = tmp.with_suffix(".snapshot")
        try:
            with os.fdopen(fd, "wb") as f:
                for b in self.body_chunks():
                    f.write(b)
            digest = _extract_multipart_file(tmp, snap, boundary)
            expected = q.get("checksum")
            if expected and expected.lower() != digest:
                raise HttpError(400, f"Bad request: Snapshot checksum mismatch: expected {expected}, got {digest}")
            prio = q.get("priority", "replica")
            if prio not in ("no_sync", "snapshot", "replica"):
                raise HttpError(400, f"Bad request: unknown variant `{prio}`")
            node.install(coll, snap)
        finally:
            tmp.unlink(missing_ok=True)
            snap.unlink(missing_ok=True)
        if q.get("wait", "true").lower() == "false":
            return self.send_json(202, {"status": "accepted", "time": round(time.time() - t0, 6)})
        self.send_json(200, _envelope(True, t0=t0))

    def recover(self, coll, q, t0) -> None:
        node = self.node
        try:
            req = json.loads(self.read_body() or b"{}")
        except ValueError as e:
            raise HttpError(400, f"Bad request: Json deserialize error: {e}")
        loc = req.get("location") if isinstance(req, dict) else None
        if not isinstance(loc, str):
            raise HttpError(422, "Json deserialize error: missing field `location`")
        prio = req.get("priority") or "replica"
        if prio not in ("no_sync", "snapshot", "replica"):
            raise HttpError(422, f"Json deserialize error: unknown variant `{prio}`")
        fd, tmp_name = tempfile.mkstemp(dir=node.data / "tmp", suffix=".snapshot")
        tmp = Path(tmp_name)
        try:
            h = hashlib.sha256()
            headers = {"api-key": req["api_key"]} if req.get("api_key") else {}
            try:
                with urllib.request.urlopen(urllib.request.Request(loc, headers=headers), timeout=30) as r, \
                        os.fdopen(fd, "wb") as f:
                    while True:
                        b = r.read(READ_BLOCK)
                        if not b:
                            break
                        h.update(b)
                        f.write(b)
            except urllib.error.HTTPError as e:
                raise HttpError(400, f"Bad request: Failed to download snapshot from {loc}: status {e.code}")
            except (urllib.error.URLError, OSError) as e:
                raise HttpError(400, f"Bad request: Failed to download snapshot from {loc}: {e}")
            if req.get("checksum") and req["checksum"].lower() != h.hexdigest():
                raise HttpError(400, f"Bad request: Snapshot checksum mismatch: expected {req['checksum']}, got {h.hexdigest()}")
            node.install(coll, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        if q.get("wait", "true").lower() == "false":
            return self.send_json(202, {"status": "accepted", "time": round(time.time() - t0, 6)})
        self.send_json(200, _envelope(True, t0=t0))

    # ---- test-only control ----------------------------------------------------------
    def control(self, method, parts) -> None:
        node = self.node
        body = json.loads(self.read_body() or b"{}") if method in ("POST", "PUT") else {}
        if parts == ["collections"] and method == "POST":
            name = body["name"]
            col = Collection.create(node.data / "collections" / name, name, node.peer_id,
                                    int(body.get("size", 1 << 20)), int(body.get("seed", 1)))
            with node.lock:
                node.collections[name] = col
            return self.send_json(200, {"name": name, "points": col.points_count(), "size": col.data_size()})
        if len(parts) == 2 and parts[0] == "collections" and method == "DELETE":
            with node.lock:
                col = node.collections.pop(parts[1], None)
                if col:
                    shutil.rmtree(col.root, ignore_errors=True)
            return self.send_json(200, {"deleted": col is not None})
        if len(parts) == 3 and parts[0] == "collections":
            col = node.collections.get(parts[1])
            if col is None:
                return self.send_json(404, {"error": "no such collection"})
            if parts[2] == "mutate" and method == "POST":
                with node.lock:
                    r = col.mutate(float(body.get("fraction", 0.01)), float(body.get("rewrite_share", 0.1)),
                                   int(body.get("seed", 0)))
                return self.send_json(200, r)
            if parts[2] == "local":
                return self.send_json(200, {"points": col.points_count()})
            if parts[2] == "digest":
                return self.send_json(200, {"digest": col.digest(), "points": col.points_count(),
                                            "size": col.data_size()})
        if parts == ["faults"] and method == "POST":
            with node.lock:
                node.faults.append(body)
            return self.send_json(200, {"faults": node.faults})
        if parts == ["faults"] and method == "DELETE":
            with node.lock:
                node.faults.clear()
            return self.send_json(200, {"faults": []})
        if parts == ["cluster"] and method == "POST":
            with node.lock:
                node.peers = {int(k): v.rstrip("/") for k, v in body.get("peers", {}).items()
                              if int(k) != node.peer_id}
            return self.send_json(200, {"peer_id": node.peer_id, "peers": node.peers})
        if parts == ["state"] and method == "GET":
            snaps = {}
            for d in (node.data / "snapshots").iterdir():
                snaps[d.name] = sorted(p.name for p in d.iterdir())
            return self.send_json(200, {"peer_id": node.peer_id, "port": node.port,
                                        "collections": sorted(node.collections),
                                        "snapshots": snaps, "log": node.log[-500:],
                                        "faults": node.faults,
                                        "create_seconds": node.create_seconds,
                                        "delete_seconds": node.delete_seconds})
        if parts == ["config"] and method == "POST":
            with node.lock:
                if "create_delay" in body:
                    node.create_delay = float(body["create_delay"])
                if "version" in body:
                    node.version = str(body["version"])
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "unknown control endpoint"})


_DEFAULT_FAULT_MESSAGES = {
    429: "Too many requests: rate limit exceeded",
    500: "Service internal error: injected fault",
    503: "Service unavailable: injected fault",
    507: "No space left on device: Not enough space to create snapshot",
}


def _p2p_uri(rest_port: int) -> str:
    # Qdrant reports each peer's p2p (internal gRPC) URI, by default the REST port + 2.
    return f"http://127.0.0.1:{rest_port + 2}/"


def _extract_multipart_file(body: Path, out: Path, boundary: bytes) -> str:
    """Copies the 'snapshot' part of a spooled multipart body to `out`; returns its sha256."""
    size = body.stat().st_size
    with open(body, "rb") as f:
        head = f.read(min(size, 64 * 1024))
        start_marker = b"--" + boundary + b"\r\n"
        if not head.startswith(start_marker):
            raise HttpError(400, "Bad request: malformed multipart body")
        hdr_end = head.find(b"\r\n\r\n")
        if hdr_end < 0:
            raise HttpError(400, "Bad request: malformed multipart part headers")
        part_headers = head[len(start_marker):hdr_end].decode("latin-1")
        if 'name="snapshot"' not in part_headers:
            raise HttpError(400, "Bad request: multipart field `snapshot` is missing")
        data_start = hdr_end + 4
        tail_len = min(size, 4096)
        f.seek(size - tail_len)
        tail = f.read()
        close = tail.rfind(b"\r\n--" + boundary + b"--")
        if close < 0:
            raise HttpError(400, "Bad request: multipart body is not terminated")
        data_end = size - tail_len + close
        if data_end < data_start:
            raise HttpError(400, "Bad request: malformed multipart body")
        h = hashlib.sha256()
        f.seek(data_start)
        left = data_end - data_start
        with open(out, "wb") as o:
            while left:
                b = f.read(min(left, READ_BLOCK))
                if not b:
                    break
                h.update(b)
                o.write(b)
                left -= len(b)
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="node storage directory")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--peer-id", type=int, default=0, help="default: random")
    ap.add_argument("--version", default="1.19.0")
    ap.add_argument("--api-key")
    ap.add_argument("--read-only-key")
    ap.add_argument("--create-delay", type=float, default=0.0,
                    help="seconds a snapshot creation takes before it starts writing")
    ap.add_argument("--collection", action="append", default=[], metavar="NAME:BYTES[:SEED]")
    a = ap.parse_args(argv)
    peer_id = a.peer_id or random.randrange(10**15, 10**16)
    node = Node(Path(a.data), peer_id, a.version, a.api_key, a.read_only_key, a.create_delay)
    for spec in a.collection:
        name, size, *seed = spec.split(":")
        if name not in node.collections:
            node.collections[name] = Collection.create(node.data / "collections" / name, name, peer_id,
                                                       int(size), int(seed[0]) if seed else 1)
    Handler.node = node
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    node.port = srv.server_address[1]
    print(f"LISTENING {node.port} {peer_id}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
