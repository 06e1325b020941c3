#!/usr/bin/env python3
"""An HTTP/1.1 fault-injecting proxy for the remote-repository tests (loopback only).

Sits between vecsafe and a real object-store server and, on a seeded random
schedule, answers some requests with a fault instead of forwarding them:

  drop      close the connection without an answer (request not forwarded)
  lost      forward the request, then close without an answer (it took effect)
  500       HTTP 500 InternalError
  503       HTTP 503 ServiceUnavailable
  slowdown  HTTP 503 with S3's SlowDown error code
  truncate  forward, then send the headers and only half of the body, and close
  401       HTTP 401 (an expired or revoked access token, as GCS answers it)
  expiredtoken  HTTP 400 ExpiredToken (expired temporary credentials, as S3
            answers them; MinIO's shortest session lasts 15 minutes)

--delay-ms N holds every request whose body is at least --delay-min-bytes for
N ms before forwarding it (a slow link: keeps a backup running long enough to
race or kill it). --cut-after N lets the first N such large uploads through and
holds every later one until the client goes away, never forwarding it (a link
that dies mid-upload: the client stalls there deterministically, "held" in the
statistics). Uploads are told apart by method, target and Content-Range, so a
client's retry of an upload is judged as its first attempt was (forwarded
again, or held again) and does not use up one of the N: exactly N distinct
objects (or parts, or chunks) get through however often the client retries.
The statistics also count request body bytes forwarded upstream ("bytes_up"),
requests by method, and the distinct large uploads let through ("large_passed").

Every fault kind leaves the upstream consistent, so a client that retries
correctly ends with exactly what it meant to write. Statistics (requests
seen, faults by kind) are rewritten to --stats after each request.

  fault_proxy.py --listen 127.0.0.1:PORT --upstream http://127.0.0.1:9000 \
      --seed 7 --rate 0.2 --kinds drop,503,truncate --max-faults 50 --stats s.json
"""
import argparse
import asyncio
import json
import random
import sys
import urllib.parse

FAULT_BODIES = {
    "500": (500, "Internal Server Error", "InternalError", "We encountered an internal error."),
    "503": (503, "Service Unavailable", "ServiceUnavailable", "Please reduce your request rate."),
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "401": (401, "Unauthorized", "AuthenticationRequired", "Invalid Credentials"),
    "expiredtoken": (400, "Bad Request", "ExpiredToken", "The provided token has expired."),
}


class Proxy:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        u = urllib.parse.urlparse(args.upstream)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.kinds = [k for k in args.kinds.split(",") if k]
        self.large = {}  # (method, target, Content-Range) of a large upload -> forwarded?
        self.stats = {"requests": 0, "forwarded": 0, "held": 0, "bytes_up": 0, "methods": {},
                      "large_passed": 0, "faults": {k: 0 for k in self.kinds}}
        self.faults_done = 0

    def decide(self):
        self.stats["requests"] += 1
        if self.stats["requests"] <= self.args.after or self.faults_done >= self.args.max_faults:
            return None
        if self.kinds and self.rng.random() < self.args.rate:
            kind = self.rng.choice(self.kinds)
            self.faults_done += 1
            self.stats["faults"][kind] += 1
            return kind
        return None

    def large_passes(self, request_line, headers):
        """Whether a large upload is forwarded under --cut-after (retries as their first try)."""
        key = (request_line, headers.get("content-range", ""))
        if key not in self.large:
            self.large[key] = not 0 <= self.args.cut_after <= self.stats["large_passed"]
            self.stats["large_passed"] += int(self.large[key])
        return self.large[key]

    def save_stats(self):
        if self.args.stats:
            with open(self.args.stats, "w") as f:
                json.dump(self.stats, f)

    async def handle(self, reader, writer):
        try:
            while True:
                head = await read_head(reader)
                if head is None:
                    return
                request_line, headers = head
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                body = await read_body(reader, headers, is_request=True)
                kind = self.decide()
                method = request_line.split(" ", 1)[0]
                self.stats["methods"][method] = self.stats["methods"].get(method, 0) + 1
                self.save_stats()
                if len(body) >= self.args.delay_min_bytes:
                    if not self.large_passes(request_line, headers):
                        self.stats["held"] += 1
                        self.save_stats()
                        await reader.read()  # until the client closes; never forwarded
                        return
                    if self.args.delay_ms:
                        await asyncio.sleep(self.args.delay_ms / 1000)
                if kind == "drop":
                    return
                if kind in FAULT_BODIES:
                    status, reason, code, msg = FAULT_BODIES[kind]
                    payload = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}"
                               f"</Code><Message>{msg}</Message></Error>").encode()
                    # A HEAD answer has the length of the body it would have, but no body.
                    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
                                 f"Content-Length: {len(payload)}\r\n\r\n".encode() +
                                 (b"" if method == "HEAD" else payload))
                    await writer.drain()
                    continue
                status_line, resp_headers, resp_raw_headers, resp_body = await self.forward(
                    request_line, headers, body, method)
                self.stats["forwarded"] += 1
                self.stats["bytes_up"] += len(body)
                self.save_stats()
                if kind == "lost":
                    return
                if kind == "truncate" and len(resp_body) >= 2:
                    writer.write(status_line + resp_raw_headers + resp_body[: len(resp_body) // 2])
                    await writer.drain()
                    return
                writer.write(status_line + resp_raw_headers + resp_body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def forward(self, request_line, headers, body, method):
        r, w = await asyncio.open_connection(self.up_host, self.up_port)
        try:
            out = [request_line]
            for name, value in headers.raw:
                if name.lower() in ("expect", "connection"):
                    continue
                out.append(f"{name}: {value}")
            out.append("Connection: close")
            w.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
            await w.drain()
            status_line = await r.readline()
            raw = []
            hdrs = {}
            while True:
                line = await r.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() in ("connection", "transfer-encoding", "content-length"):
                    hdrs[name.lower()] = value.strip()
                    continue
                if name.lower() == "location":
                    # Keep follow-up requests (resumable upload sessions) on the proxy.
                    line = line.replace(f"{self.up_host}:{self.up_port}".encode(),
                                        self.args.listen.encode())
                raw.append(line)
            status = int(status_line.split()[1])
            if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                resp_body = b""
                length = int(hdrs.get("content-length", "0") or 0)
            elif hdrs.get("transfer-encoding", "").lower() == "chunked":
                resp_body = await read_chunked(r)
                length = len(resp_body)
            elif "content-length" in hdrs:
                length = int(hdrs["content-length"])
                resp_body = await r.readexactly(length)
            else:
                resp_body = await r.read()
                length = len(resp_body)
            # Always answer the client with a Content-Length body, keep-alive.
            raw.append(f"Content-Length: {length}\r\n".encode())
            return status_line, {}, b"".join(raw) + b"\r\n", resp_body
        finally:
            w.close()


class Headers(dict):
    def __init__(self):
        super().__init__()
        self.raw = []


async def read_head(reader):
    line = await reader.readline()
    if not line:
        return None
    request_line = line.decode("latin-1").rstrip("\r\n")
    headers = Headers()
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.raw.append((name.strip(), value.strip()))
        headers[name.strip().lower()] = value.strip()
    return request_line, headers


async def read_chunked(reader):
    out = bytearray()
    while True:
        size_line = await reader.readline()
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readline()


async def read_body(reader, headers, is_request):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        data = await read_chunked(reader)
        headers.raw = [(n, v) for n, v in headers.raw if n.lower() != "transfer-encoding"]
        headers.raw.append(("Content-Length", str(len(data))))
        return data
    n = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(n) if n else b""


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=0.2)
    p.add_argument("--kinds", default="drop,lost,500,503,slowdown,truncate")
    p.add_argument("--max-faults", type=int, default=1000)
    p.add_argument("--after", type=int, default=0, help="let the first N requests through")
    p.add_argument("--stats", default="")
    p.add_argument("--delay-ms", type=int, default=0, help="hold large requests this long")
    p.add_argument("--delay-min-bytes", type=int, default=1 << 20,
                   help="bodies at least this large are held by --delay-ms")
    p.add_argument("--cut-after", type=int, default=-1,
                   help="hold (never forward) large uploads after the first N distinct ones")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("fault_proxy: listens on loopback only")
    proxy = Proxy(args)
    proxy.save_stats()
    server = await asyncio.start_server(proxy.handle, host, int(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
