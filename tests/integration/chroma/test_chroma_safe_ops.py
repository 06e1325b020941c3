"""`vecsafe collection delete|rename` against a real `chroma run`: backup first,
the operation through Chroma's API, a check, the left-behind vector folder
quarantined, rollback when the server dies in the middle, every step in the
journal (`vecsafe ops log`).

Cost per version: one shared server (~3-8 s to start) with three driver runs
for the happy paths and bad input (~15 s), and for the rollback test a second
server that is killed and restarted (~15 s): about 30 s per version, plus
two more kill/restart cases and one where Chroma stays down (~10 s each) on
1.5.9 only.
"""

import http.client
import json
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ChromaServer, tree_digest

ALPHA = {"name": "alpha", "n": 30, "dim": 8, "seed": 31, "sync_threshold": 10, "batch_size": 10}
BETA = {"name": "beta", "n": 6, "dim": 4, "seed": 32}  # below the first flush: WAL only
KEEP = {"name": "keep", "n": 12, "dim": 8, "seed": 33, "sync_threshold": 10, "batch_size": 10}
OTHER = {"name": "other", "n": 3, "dim": 4, "seed": 35}
VICTIM = {"name": "victim", "n": 40, "dim": 8, "seed": 34, "sync_threshold": 10,
          "batch_size": 10}


class Live:
    def __init__(self, chroma, vecsafe, root):
        self.chroma = chroma
        self.vecsafe = vecsafe
        self.root = root
        self.data = root / "chroma"
        self.repo = root / "repo"
        self.state = root / "state"
        self.server = ChromaServer(chroma, self.data, root)
        vecsafe.run("init", "--repo", self.repo, "--encryption", "none", check=0)

    def op(self, *args, url=None, json_out=True):
        flags = ["--server", url or self.server.url, "--path", self.data, "--repo", self.repo,
                 "--state-dir", self.state]
        if json_out:
            return self.vecsafe.json("collection", *args, *flags)
        return self.vecsafe.run("collection", *args, *flags)

    def log(self):
        rc, log = self.vecsafe.json("ops", "log", "--state-dir", self.state, "--limit", 1000)
        assert rc == 0
        return log["entries"] if isinstance(log, dict) else log


@pytest.fixture(scope="module")
def live(chroma, vecsafe, tmp_path_factory):
    lv = Live(chroma, vecsafe, tmp_path_factory.mktemp(f"safeops-{chroma.version}"))
    chroma.create(lv.server.url, [ALPHA, BETA, KEEP, OTHER])
    yield lv
    lv.server.stop()


def vector_folder_of(data, name):
    import sqlite3
    con = sqlite3.connect(f"file:{data}/chroma.sqlite3?mode=ro", uri=True)
    try:
        row = con.execute("SELECT s.id FROM segments s JOIN collections c ON c.id = s.collection "
                          "WHERE c.name = ? AND s.scope = 'VECTOR'", (name,)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def strip_name(dump):
    return {k: v for k, v in dump.items() if k != "name"}


def test_rename_keeps_every_record(live):
    before = live.chroma.dump(live.server.url, ["alpha"])["alpha"]
    rc, res = live.op("rename", "alpha", "gamma")
    assert rc == 0, res
    assert res["result"] == "ok" and res["count"] == 30 and res["backup_id"]
    after = live.chroma.dump(live.server.url, ["gamma"])["gamma"]
    assert strip_name(after) == strip_name(before)
    names = live.chroma.call("list", "--server", live.server.url)["collections"]
    assert "alpha" not in names and "gamma" in names
    rc, doc = live.vecsafe.json("check", "chroma", live.data)
    assert rc == 0, doc
    rows = [e for e in live.log() if e["kind"] == "collection.rename"]
    assert [e["result"] for e in rows] == ["ok", "started"]
    assert rows[0]["backup_id"] == res["backup_id"] and rows[0]["target"] == "alpha"
    assert rows[0]["actor"].startswith("cli:")


@pytest.mark.parametrize("name,count", [("gamma", 30), ("beta", 6)])
def test_delete_backs_up_and_quarantines_the_left_folder(live, name, count):
    folder = vector_folder_of(live.data, name)
    assert folder
    before = live.chroma.dump(live.server.url, [name])[name]
    rc, res = live.op("delete", name)
    assert rc == 0, res
    assert res["result"] == "ok" and res["count"] == count
    assert name not in live.chroma.call("list", "--server", live.server.url)["collections"]
    # No orphan folder is left in the data folder; what Chroma left went to
    # quarantine (0.4's server removes the folder itself).
    assert not (live.data / folder).exists()
    if res["quarantine"]:
        assert (Path(res["quarantine"]) / folder / "header.bin").is_file()
    rc, doc = live.vecsafe.json("check", "chroma", live.data)
    # 0.5-0.6 servers keep the deleted collection's rows in chroma.sqlite3
    # (ORPHAN_RECORDS, a warning; vecsafe does not write to SQLite while
    # Chroma runs); no release may leave an orphan folder behind.
    allowed = {"ORPHAN_RECORDS"} if live.chroma.major() == 0 else set()
    assert {f["code"] for f in doc["findings"]} <= allowed, doc
    # The backup taken first brings the collection back, record for record.
    rc, out = live.vecsafe.json("restore", res["backup_id"], "--repo", live.repo,
                                "--to-chroma", live.server.url, "--as", name + "-back")
    assert rc == 0, out
    back = live.chroma.dump(live.server.url, [name + "-back"])[name + "-back"]
    assert back["ids"] == before["ids"] and back["embeddings"] == before["embeddings"]
    assert back["documents"] == before["documents"]
    assert back["metadatas"] == before["metadatas"]
    rows = [e for e in live.log() if e["kind"] == "collection.delete" and e["target"] == name]
    assert rows[0]["result"] == "ok" and rows[0]["backup_id"] == res["backup_id"]


def test_bad_input_changes_nothing(live, tmp_path):
    digest = tree_digest(live.data)
    snaps_before = live.vecsafe.json("snapshots", "--repo", live.repo)[1]
    cases = [
        (("delete", "no-such-collection"), None, "does not exist"),
        (("rename", "keep", "other"), None, "already taken"),
        (("rename", "keep", "x"), None, "not a valid Chroma collection name"),
        (("delete", "keep"), "http://127.0.0.1:9", "no Chroma server"),
    ]
    for args, url, words in cases:
        proc = live.op(*args, url=url, json_out=False)
        assert proc.returncode != 0, (args, proc.stdout)
        assert words in proc.stderr and "HINT" in proc.stderr, (args, proc.stderr)
    # Not a Chroma folder, and a folder the server does not serve.
    plain = tmp_path / "plain"
    plain.mkdir()
    for folder, words in [(plain, "not a Chroma folder"),
                          (tmp_path / "missing", "not a Chroma folder")]:
        proc = live.vecsafe.run("collection", "delete", "keep", "--server", live.server.url,
                                "--path", folder, "--repo", live.repo, "--state-dir",
                                live.state)
        assert proc.returncode != 0 and words in proc.stderr and "HINT" in proc.stderr
    # An unreadable chroma.sqlite3 (a folder in its place: unreadable even as root).
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "chroma.sqlite3").mkdir()
    proc = live.vecsafe.run("collection", "rename", "keep", "kept", "--server", live.server.url,
                            "--path", broken, "--repo", live.repo, "--state-dir", live.state)
    assert proc.returncode != 0 and "HINT" in proc.stderr, proc.stderr
    # No journal, no operation: a state folder that cannot be created.
    not_a_dir = tmp_path / "state-file"
    not_a_dir.write_text("x")
    proc = live.vecsafe.run("collection", "delete", "keep", "--server", live.server.url,
                            "--path", live.data, "--repo", live.repo, "--state-dir", not_a_dir)
    assert proc.returncode != 0 and "journal" in proc.stderr and "HINT" in proc.stderr
    assert tree_digest(live.data) == digest
    assert live.vecsafe.json("snapshots", "--repo", live.repo)[1] == snaps_before
    names = live.chroma.call("list", "--server", live.server.url)["collections"]
    assert "keep" in names and "kept" not in names


class KillOnDelete(ThreadingHTTPServer):
    """A loopback HTTP proxy in front of Chroma. The first request of `method`
    on a collection (DELETE for a delete, PUT for a rename) kills the Chroma
    process (SIGKILL) and closes the client's connection without an answer:
    the server died in the middle of the safe operation. With after=True the
    request is forwarded first (the operation took effect), else not."""

    daemon_threads = True

    def __init__(self, backend, victim_proc, method="DELETE", after=True):
        self.backend = backend
        self.victim_proc = victim_proc
        self.method = method
        self.after = after
        self.killed = threading.Event()
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def kill_now(self):
        return (self.command == self.server.method and "/collections/" in self.path
                and not self.server.killed.is_set())

    def kill(self):
        self.server.victim_proc.kill()
        self.server.victim_proc.wait()
        self.server.killed.set()
        self.close_connection = True

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.kill_now() and not self.server.after:
            self.kill()
            return  # no answer at all; the request never reached Chroma
        u = urllib.parse.urlparse(self.server.backend)
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.kill_now():
            self.kill()
            return  # no answer at all
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = forward


MODES = {
    # the delete took effect, then the server died: restored from the backup
    "delete-after": (["delete", "victim"], "DELETE", True, "restored from backup",
                     "collection.delete"),
    # the server died before the delete reached it: nothing to restore
    "delete-before": (["delete", "victim"], "DELETE", False, "collection unchanged",
                      "collection.delete"),
    # the rename took effect, then the server died: renamed back
    "rename-after": (["rename", "victim", "victim-new"], "PUT", True, "renamed back",
                     "collection.rename"),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_server_killed_mid_operation_rolls_back(chroma, vecsafe, tmp_path, mode):
    if mode != "delete-after" and chroma.version != "1.5.9":
        pytest.skip("the other rollback paths do not depend on the version: 1.5.9 only")
    args, method, after_fwd, rollback_words, kind = MODES[mode]
    lv = Live(chroma, vecsafe, tmp_path)
    try:
        chroma.create(lv.server.url, [VICTIM, KEEP])
        before = chroma.dump(lv.server.url, ["victim"], queries=5)["victim"]
        old_folder = vector_folder_of(lv.data, "victim")
        proxy = KillOnDelete(lv.server.url, lv.server.proc, method, after_fwd)
        cmd = [str(vecsafe.path), "collection", *args, "--server", proxy.url,
               "--path", str(lv.data), "--repo", str(lv.repo), "--state-dir", str(lv.state),
               "--rollback-wait", "120", "--json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proxy.killed.wait(60), "the safe delete never reached Chroma's DELETE"
        lv.server.stop()
        # Chroma comes back on the same folder (as a supervisor would restart it).
        lv.server = ChromaServer(chroma, lv.data, tmp_path)
        proxy.backend = lv.server.url
        out, err = proc.communicate(timeout=180)
        proxy.shutdown()
        res = json.loads(out)
        assert proc.returncode != 0, (out, err)  # the delete did not happen
        assert res["result"] == "rolled_back", res
        assert rollback_words in res["rollback"], res
        # The collection is back, whole: count, ids, vectors, documents, metadata.
        after = chroma.dump(lv.server.url, ["victim"], queries=5)["victim"]
        assert after["count"] == 40
        for key in ("ids", "embeddings", "documents", "metadatas", "neighbours", "metadata"):
            assert after[key] == before[key], key
        names = chroma.call("list", "--server", lv.server.url)["collections"]
        assert "victim-new" not in names
        # A deleted collection's folder is not left behind as an orphan.
        if mode == "delete-after":
            assert not (lv.data / old_folder).exists()
        else:
            assert vector_folder_of(lv.data, "victim") == old_folder
        rc, doc = vecsafe.json("check", "chroma", lv.data)
        assert not [f for f in doc["findings"] if f["code"] == "ORPHAN_VECTOR_FOLDER"], doc
        rows = [e for e in lv.log() if e["kind"] == kind]
        assert [e["result"] for e in rows] == ["rolled_back", "started"]
        assert rows[0]["backup_id"] == res["backup_id"] and rows[0]["error"]
    finally:
        lv.server.stop()


def test_server_never_back_names_the_way_out(chroma, vecsafe, tmp_path):
    if chroma.version != "1.5.9":
        pytest.skip("the failed-rollback path does not depend on the version: 1.5.9 only")
    lv = Live(chroma, vecsafe, tmp_path)
    try:
        chroma.create(lv.server.url, [VICTIM])
        before = chroma.dump(lv.server.url, ["victim"], queries=0)["victim"]
        proxy = KillOnDelete(lv.server.url, lv.server.proc)
        proc = vecsafe.run("collection", "delete", "victim", "--server", proxy.url, "--path",
                           lv.data, "--repo", lv.repo, "--state-dir", lv.state,
                           "--rollback-wait", "2", timeout=120)
        proxy.shutdown()
        assert proxy.killed.is_set()
        assert proc.returncode == 11, (proc.stdout, proc.stderr)  # data at risk
        assert "rollback failed" in proc.stderr
        # The hint is the exact command that brings the collection back.
        hint = [ln for ln in proc.stderr.splitlines() if ln.startswith("HINT:")][0]
        cmd = hint.split("`")[1].split()
        assert cmd[:2] == ["vecsafe", "restore"] and "--to-chroma" in cmd and "victim" in cmd
        rows = [e for e in lv.log() if e["kind"] == "collection.delete"]
        assert rows[0]["result"] == "failed" and rows[0]["backup_id"].startswith(cmd[2])
        lv.server.stop()
        lv.server = ChromaServer(chroma, lv.data, tmp_path)
        cmd[cmd.index("--to-chroma") + 1] = lv.server.url
        rc, out = vecsafe.json(*cmd[1:], "--repo", lv.repo)
        assert rc == 0, out
        after = chroma.dump(lv.server.url, ["victim"], queries=0)["victim"]
        assert after == before
    finally:
        lv.server.stop()
