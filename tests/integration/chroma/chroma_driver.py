"""Drives one real chromadb version from inside its own virtualenv.

Run as `<venv>/bin/python chroma_driver.py COMMAND ...`. It only uses the
public chromadb client API, so every byte on disk is written by Chroma itself.
All embeddings are explicit and no embedding function is ever called, so
nothing is downloaded.

Commands (all print one JSON document on stdout):
  version
  create  --path P | --server URL   --spec JSON   make collections (see make_collection)
  delete  --path P | --server URL   --name N
  rename  --path P | --server URL   --name N --new-name M
  add     --path P | --server URL   --name N --start I --count C --dim D [--seed S]
  dump    --path P | --server URL   [--name N]...  ids, vectors (hex bits), docs, metadata,
                                                    counts and nearest neighbours
  list    --path P | --server URL
  config  --path P | --server URL   --name N...  each collection's metadata and configuration
                                                    (configuration_json, Chroma 0.6+)
  writer  --server URL --name N --start I --count C --dim D --batch B --log FILE --stop FILE
          [--pause S]
          adds batches of B records until C are added or FILE --stop exists; appends the
          committed count to --log after every batch; exits 1 on the first failed write
"""

import argparse
import json
import random
import struct
import sys
import time

import chromadb
from chromadb.config import Settings


def version_tuple():
    parts = []
    for p in chromadb.__version__.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def make_client(args):
    settings = Settings(anonymized_telemetry=False, allow_reset=True)
    if args.server:
        hostport = args.server.split("://", 1)[-1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        return chromadb.HttpClient(host=host, port=int(port), settings=settings)
    return chromadb.PersistentClient(path=args.path, settings=settings)


def vector(seed, index, dim):
    """Deterministic float32 vector for record `index` of a collection seeded `seed`."""
    rng = random.Random(seed * 1_000_003 + index)
    return [struct.unpack("<f", struct.pack("<f", rng.uniform(-1.0, 1.0)))[0] for _ in range(dim)]


def record_id(index):
    return f"id-{index:07d}"


def get_collection(client, name):
    # embedding_function=None: nothing may ever be embedded (or downloaded).
    return client.get_collection(name=name, embedding_function=None)


def add_records(col, start, count, dim, seed, with_docs=True, with_meta=True, batch=500):
    for b in range(start, start + count, batch):
        idx = list(range(b, min(b + batch, start + count)))
        kwargs = {"ids": [record_id(i) for i in idx],
                  "embeddings": [vector(seed, i, dim) for i in idx]}
        if with_docs:
            kwargs["documents"] = [f"document {i} of seed {seed} lorem ipsum" for i in idx]
        if with_meta:
            kwargs["metadatas"] = [{"i": i, "even": i % 2 == 0, "tag": f"t{i % 7}",
                                    "score": i / 10.0} for i in idx]
        col.add(**kwargs)


def make_collection(client, spec):
    """spec: {name, n, dim, seed, space, sync_threshold, batch_size, delete: [i...],
    update: [i...], docs, meta, collection_metadata, configuration, ef}

    With "configuration" (Chroma 1.x) the index settings are given only as the
    collection's configuration, not as hnsw:* metadata; "ef": "default" then
    records Chroma's default embedding function (never called: embeddings are
    explicit)."""
    meta = dict(spec.get("collection_metadata") or {})
    kwargs = {"embedding_function": None}
    if "configuration" in spec:
        kwargs["configuration"] = spec["configuration"]
        if spec.get("ef") == "default":
            from chromadb.utils import embedding_functions
            kwargs["embedding_function"] = embedding_functions.DefaultEmbeddingFunction()
    else:
        meta["hnsw:space"] = spec.get("space", "l2")
        if "sync_threshold" in spec:
            meta["hnsw:sync_threshold"] = spec["sync_threshold"]
        if "batch_size" in spec:
            meta["hnsw:batch_size"] = spec["batch_size"]
    col = client.create_collection(name=spec["name"], metadata=meta or None, **kwargs)
    dim = spec.get("dim", 8)
    seed = spec.get("seed", 1)
    add_records(col, 0, spec.get("n", 10), dim, seed, spec.get("docs", True),
                spec.get("meta", True))
    deletes = spec.get("delete") or []
    if deletes:
        col.delete(ids=[record_id(i) for i in deletes])
    updates = spec.get("update") or []
    if updates:
        col.update(ids=[record_id(i) for i in updates],
                   embeddings=[vector(seed + 1, i, dim) for i in updates],
                   documents=[f"updated document {i}" for i in updates],
                   metadatas=[{"i": i, "updated": True} for i in updates])
    return {"name": spec["name"], "count": col.count()}


def hexvec(v):
    return struct.pack(f"<{len(v)}f", *[float(x) for x in v]).hex()


def dump_collection(col, queries=3):
    n = col.count()
    got = col.get(include=["embeddings", "documents", "metadatas"], limit=max(n, 1))
    rows = sorted(zip(got["ids"], got["embeddings"], got["documents"], got["metadatas"]),
                  key=lambda r: r[0])
    out = {
        "name": col.name,
        "metadata": col.metadata,
        "count": n,
        "ids": [r[0] for r in rows],
        "embeddings": [hexvec(r[1]) for r in rows],
        "documents": [r[2] for r in rows],
        "metadatas": [r[3] for r in rows],
        "neighbours": [],
    }
    # Nearest neighbours of a few stored vectors: same data => same answer.
    for q in range(min(queries, len(rows))):
        emb = [float(x) for x in rows[(q * 7919) % len(rows)][1]]
        res = col.query(query_embeddings=[emb], n_results=min(5, n), include=["distances"])
        out["neighbours"].append(res["ids"][0])
    return out


def list_names(client):
    cols = client.list_collections()
    return sorted(c if isinstance(c, str) else c.name for c in cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command")
    ap.add_argument("--path")
    ap.add_argument("--server")
    ap.add_argument("--spec")
    ap.add_argument("--name", action="append", default=[])
    ap.add_argument("--new-name")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=3)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--log")
    ap.add_argument("--stop")
    ap.add_argument("--pause", type=float, default=0.0)
    args = ap.parse_args()

    if args.command == "version":
        print(json.dumps({"version": chromadb.__version__}))
        return 0
    client = make_client(args)
    if args.command == "create":
        spec = json.loads(args.spec)
        specs = spec if isinstance(spec, list) else [spec]
        t0 = time.time()
        res = [make_collection(client, s) for s in specs]
        print(json.dumps({"created": res, "seconds": time.time() - t0}))
    elif args.command == "delete":
        for n in args.name:
            client.delete_collection(name=n)
        print(json.dumps({"deleted": args.name}))
    elif args.command == "rename":
        col = get_collection(client, args.name[0])
        col.modify(name=args.new_name)
        print(json.dumps({"renamed": [args.name[0], args.new_name]}))
    elif args.command == "add":
        col = get_collection(client, args.name[0])
        add_records(col, args.start, args.count, args.dim, args.seed)
        print(json.dumps({"count": col.count()}))
    elif args.command == "writer":
        import os
        col = get_collection(client, args.name[0])
        done = args.start
        t0 = time.time()
        with open(args.log, "a") as log:
            while done < args.start + args.count and not os.path.exists(args.stop):
                try:
                    add_records(col, done, args.batch, args.dim, args.seed)
                except Exception as e:  # any failed write fails the test
                    print(json.dumps({"error": repr(e), "count": done}))
                    return 1
                done += args.batch
                log.write(f"{done}\n")
                log.flush()
                time.sleep(args.pause)
        print(json.dumps({"count": done, "batches": (done - args.start) // args.batch,
                          "seconds": time.time() - t0}))
    elif args.command == "config":
        out = {}
        for n in args.name:
            col = get_collection(client, n)
            out[n] = {"metadata": col.metadata,
                      "configuration": getattr(col, "configuration_json", None)}
        print(json.dumps({"collections": out}, sort_keys=True))
    elif args.command == "list":
        print(json.dumps({"collections": list_names(client)}))
    elif args.command == "dump":
        names = args.name or list_names(client)
        print(json.dumps({"version": chromadb.__version__,
                          "collections": {n: dump_collection(get_collection(client, n),
                                                             args.queries) for n in names}},
                         sort_keys=True))
    else:
        print(f"unknown command {args.command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
