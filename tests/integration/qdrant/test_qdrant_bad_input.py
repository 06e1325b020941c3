"""Bad input for `vecsafe backup qdrant`: clear errors, nothing written. Cost: about 3 s."""
import http.server
import threading

import pytest

from qdrant_helpers import assert_failed, repo_snapshot_ids


def test_unknown_collection(cli, repo, standin):
    node = standin(collections=["docs:300000"])
    r = cli("backup", "qdrant", node.url, "--collection", "nope", "--repo", repo)
    assert_failed(r, "kNotFound", "'nope' does not exist", "docs")
    assert repo_snapshot_ids(repo) == set()
    assert not any(e["method"] == "POST" for e in node.state()["log"])


@pytest.mark.parametrize("key,words", [(None, ["requires an API key"]),
                                       ("wrong", ["rejected the API key"])])
def test_missing_or_wrong_key(cli, repo, standin, key, words):
    node = standin(api_key="right", collections=["docs:300000"])
    env = {"QDRANT_API_KEY": key} if key else {}
    r = cli("backup", "qdrant", node.url, "--repo", repo, env=env)
    assert_failed(r, "kUnauthenticated", "401", *words)
    assert repo_snapshot_ids(repo) == set()


def test_unreachable_server(cli, repo):
    r = cli("backup", "qdrant", "http://127.0.0.1:9", "--repo", repo, timeout=120)
    assert_failed(r, "kUnavailable", "cannot reach Qdrant", "6333")


def test_not_a_qdrant_server(cli, repo, tmp_path):
    (tmp_path / "index.html").write_text("<html>not qdrant</html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        r = cli("backup", "qdrant", f"http://127.0.0.1:{srv.server_address[1]}", "--repo", repo)
        assert_failed(r, "kInvalidArgument", "does not answer like Qdrant", "6333")
    finally:
        srv.shutdown()


def test_bad_url_and_no_url(cli, repo):
    assert_failed(cli("backup", "qdrant", "ftp://x", "--repo", repo), "kInvalidArgument", "http")
    assert_failed(cli("backup", "qdrant", "--repo", repo), "kInvalidArgument", "QDRANT_HOST")


def test_environment_of_existing_deployments(cli, repo, standin):
    node = standin(api_key="k", collections=["envcol:300000"])
    env = {"QDRANT_HOST": "127.0.0.1", "QDRANT_PORT": str(node.port), "QDRANT_API_KEY": "k"}
    doc = cli("backup", "qdrant", "--repo", repo, "--json", env=env, check=0).json
    assert [c["collection"] for c in doc["collections"]] == ["envcol"]
