"""Bad settings through the CLI against the real servers: a wrong secret
(refused by MinIO's SigV4 check), an unknown access key, a session token that
does not belong to the key, a missing bucket, a
wrong region, a skewed clock (faketime), and GCS credentials whose token is
refused or expired. Each must fail with the documented error (VS-<n>, exit
status from the error table) and a HINT, and write nothing: the bucket is
listed by an independent client before and after.

GCS credentials are a real service-account key file (RSA key made with
openssl) whose token_uri is a small token server in this test; the storage API
is fake-gcs-server reached with ?endpoint= (not STORAGE_EMULATOR_HOST, which
turns authentication off), behind the fault proxy answering 401 for an
expired token.
Cost: ~10 s (plus ~2 s for a second MinIO in eu-west-1).
"""
import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from remote_servers import MINIO_PASSWORD, MINIO_USER, free_port, wait_http
from remote_targets import Target, new_target, read_stats
from s3client import S3Client
from vecsafe_testlib import FAST_KDF, Cli, assert_error, make_tree


def all_objects(t):
    if t.kind == "s3":
        return sorted(t.server.client.list_keys(t.bucket))
    return sorted(t.server.list_names(t.bucket))


@pytest.fixture
def s3_repo(cli, minio, tmp_path):
    """An initialised repository on MinIO with one snapshot, and its source tree."""
    t = new_target("s3", minio=minio)
    good = Cli(cli.bin, t.env(cli.env))
    good("init", "--repo", t.url, *FAST_KDF, check=0)
    src = make_tree(tmp_path / "src", seed=2, n_files=6, large_files=0)
    good("backup", "dir", src, "--repo", t.url, check=0)
    return t, good, src


def test_wrong_secret_is_refused_and_writes_nothing(cli, minio, s3_repo, tmp_path):
    t, good, src = s3_repo
    before = all_objects(t)
    bad = Cli(cli.bin, t.env(cli.env, AWS_SECRET_ACCESS_KEY="not-the-secret-at-all"))
    r = bad("backup", "dir", src, "--repo", t.url)
    assert_error(r, "kUnauthenticated", in_message="SignatureDoesNotMatch")
    assert "HINT: Check AWS_SECRET_ACCESS_KEY" in r.err
    # init into a fresh bucket with the wrong secret: nothing appears.
    fresh = new_target("s3", minio=minio)
    r = bad("init", "--repo", fresh.url, *FAST_KDF)
    assert_error(r, "kUnauthenticated", in_message="signature refused")
    assert all_objects(fresh) == []
    assert all_objects(t) == before
    assert len(good.json("snapshots", "--repo", t.url)["snapshots"]) == 1


def test_unknown_access_key_is_refused(cli, s3_repo):
    t, _, src = s3_repo
    before = all_objects(t)
    r = Cli(cli.bin, t.env(cli.env, AWS_ACCESS_KEY_ID="AKIANOSUCHKEY"))(
        "backup", "dir", src, "--repo", t.url)
    assert_error(r, "kUnauthenticated", in_message="does not know access key 'AKIANOSUCHKEY'")
    assert "HINT: Check AWS_ACCESS_KEY_ID" in r.err
    assert all_objects(t) == before


def test_a_session_token_that_does_not_belong_is_refused(cli, s3_repo):
    t, _, src = s3_repo
    before = all_objects(t)
    r = Cli(cli.bin, t.env(cli.env, AWS_SESSION_TOKEN="not-a-session-token"))(
        "backup", "dir", src, "--repo", t.url)
    assert_error(r, "kUnauthenticated", in_message="session token was refused")
    assert "HINT: Check AWS_SESSION_TOKEN" in r.err
    assert all_objects(t) == before


def test_missing_bucket_is_named_and_not_created(cli, minio, fake_gcs, tmp_path):
    src = make_tree(tmp_path / "src", seed=1, n_files=3, large_files=0)
    for t in (Target("s3", minio, "vs-no-such-bucket", "p"),
              Target("gs", fake_gcs, "vs-no-such-bucket", "p")):
        c = Cli(cli.bin, t.env(cli.env))
        r = c("init", "--repo", t.url, *FAST_KDF)
        assert_error(r, "kNotFound", in_message="bucket 'vs-no-such-bucket' does not exist")
        assert "HINT: Create the bucket" in r.err
        r = c("backup", "dir", src, "--repo", t.url)
        if t.kind == "s3":
            assert_error(r, "kNotFound", in_message="bucket 'vs-no-such-bucket' does not exist")
        else:  # fake-gcs-server's GET of an object says only "Not Found" (real GCS names
            # the bucket): vecsafe reports that no repository is there, same exit status.
            assert_error(r, "kRepoNotFound", in_message="gs://vs-no-such-bucket/p")
    status, _ = minio.client.request("GET", "/vs-no-such-bucket", {"list-type": "2"})
    assert status == 404
    # A name S3 does not allow at all (too short) is a usage error, not an i/o error.
    r = Cli(cli.bin, Target("s3", minio, "b1", "p").env(cli.env))("init", "--repo", "s3://b1/p",
                                                                 *FAST_KDF)
    assert_error(r, "kInvalidArgument", in_message="'b1' is not a valid bucket name")
    assert "3 to 63 characters" in r.err
    with pytest.raises(Exception):
        fake_gcs.list_names("vs-no-such-bucket")


@pytest.mark.skipif(shutil.which("faketime") is None,
                    reason="faketime not installed (scripts/deps/apt-remote.txt)")
def test_skewed_clock_is_refused_and_writes_nothing(cli, s3_repo):
    t, _, src = s3_repo
    before = all_objects(t)
    env = dict(t.env(cli.env), FAKETIME_DONT_FAKE_MONOTONIC="1")
    # The client's clock runs 2 hours behind; MinIO (Go, untouched by libfaketime)
    # keeps the real time and refuses requests more than 15 minutes off.
    p = subprocess.run(["faketime", "-f", "-2h", cli.bin, "backup", "dir", str(src),
                        "--repo", t.url], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 6, p.stderr  # kFailedPrecondition
    assert "VS-6 " in p.stderr and "RequestTimeTooSkewed" in p.stderr, p.stderr
    assert "HINT: Synchronise the system clock" in p.stderr
    assert all_objects(t) == before


def test_wrong_region_names_the_buckets_region(cli, go_servers, tmp_path):
    port, console = free_port(), free_port()
    env = dict(os.environ, MINIO_ROOT_USER=MINIO_USER, MINIO_ROOT_PASSWORD=MINIO_PASSWORD,
               MINIO_BROWSER="off", MINIO_UPDATE="off", MINIO_REGION="eu-west-1")
    log = tmp_path / "minio-eu.log"
    with open(log, "wb") as lf:
        proc = subprocess.Popen([str(go_servers / "minio"), "server", "--quiet", "--address",
                                 f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{console}",
                                 str(tmp_path / "data")], env=env, stdout=lf,
                                stderr=subprocess.STDOUT)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_http(endpoint + "/minio/health/live", proc=proc, log=log)
        admin = S3Client(endpoint, MINIO_USER, MINIO_PASSWORD, region="eu-west-1")
        admin.make_bucket("vs-eu-bucket")
        e = {k: v for k, v in cli.env.items() if not k.startswith("AWS_")}
        e.update(AWS_ACCESS_KEY_ID=MINIO_USER, AWS_SECRET_ACCESS_KEY=MINIO_PASSWORD,
                 AWS_REGION="us-east-1", AWS_ENDPOINT_URL_S3=endpoint)
        c = Cli(cli.bin, e)
        r = c("init", "--repo", "s3://vs-eu-bucket/repo", *FAST_KDF)
        assert_error(r, "kInvalidArgument", in_message="is in region eu-west-1, not us-east-1")
        assert "?region=eu-west-1" in r.err and "AWS_REGION=eu-west-1" in r.err
        assert admin.list_keys("vs-eu-bucket") == []
        # The hint works.
        c("init", "--repo", "s3://vs-eu-bucket/repo", *FAST_KDF, env={"AWS_REGION": "eu-west-1"},
          check=0)
        assert "repo/config" in admin.list_keys("vs-eu-bucket")
    finally:
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------- GCS tokens

class TokenServer:
    """A token_uri: answers each POST with the configured (status, JSON) and counts them."""

    def __init__(self):
        self.answer = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests += 1
                status, doc = outer.answer
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def token_server():
    s = TokenServer()
    yield s
    s.httpd.shutdown()


@pytest.fixture
def key_file(tmp_path, token_server):
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:2048"], capture_output=True, text=True,
                         check=True).stdout
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "test", "private_key_id": "k1",
        "private_key": pem, "client_email": "backup@test.iam.gserviceaccount.com",
        "token_uri": token_server.url}))
    return path


def gcs_cli(cli, t, key_file, endpoint):
    e = {k: v for k, v in t.env(cli.env).items() if k != "STORAGE_EMULATOR_HOST"}
    e["GOOGLE_APPLICATION_CREDENTIALS"] = str(key_file)
    return Cli(cli.bin, e), f"{t.url}?endpoint={endpoint}"


def test_gcs_refused_key_gives_a_clear_error_and_writes_nothing(cli, fake_gcs, key_file,
                                                                token_server):
    t = new_target("gs", fake_gcs=fake_gcs)
    c, url = gcs_cli(cli, t, key_file, fake_gcs.endpoint)
    r = c("init", "--repo", url, *FAST_KDF)
    assert_error(r, "kUnauthenticated", in_message="invalid_grant")
    assert "backup@test.iam.gserviceaccount.com" in r.err
    assert "HINT: Check GOOGLE_APPLICATION_CREDENTIALS" in r.err
    assert token_server.requests >= 1
    assert all_objects(t) == []


def test_gcs_expired_token_is_refreshed_once_then_reported(cli, fake_gcs, key_file, token_server,
                                                           fault_proxy):
    t = new_target("gs", fake_gcs=fake_gcs)
    token_server.answer = (200, {"access_token": "ya29.expired", "expires_in": 3600,
                                 "token_type": "Bearer"})
    # The storage API refuses every token, as GCS does for an expired or revoked one.
    proxy, stats = fault_proxy(fake_gcs.endpoint, rate=1.0, kinds="401")
    c, url = gcs_cli(cli, t, key_file, proxy)
    r = c("init", "--repo", url, *FAST_KDF)
    assert_error(r, "kUnauthenticated", in_message="refused the access token (expired or invalid)")
    assert "HINT: " in r.err and "GOOGLE_APPLICATION_CREDENTIALS" in r.err
    assert token_server.requests == 2  # the first token, then one fresh one after the 401
    assert read_stats(stats)["faults"]["401"] >= 2
    assert all_objects(t) == []
