"""Bad settings through the CLI against the real servers. Each must fail with
the documented error (VS-<n>, exit status from the error table) and a HINT,
and write nothing: the bucket is listed by an independent client before and
after.

  case               MinIO (s3://)                    fake-gcs-server (gs://)
  wrong credentials  wrong secret (SigV4 refused),    service-account key refused
                     unknown key, foreign token       at the token endpoint
  missing bucket     init, backup, snapshots, restore (both servers)
  wrong region       a second MinIO in eu-west-1      region= in a gs:// URL (GCS
                                                      requests name no region)
  clock skew         faketime -2h: RequestTimeTooSkewed  faketime -2h: the token
                                                      endpoint refuses the JWT's iat
  expired token      the fault proxy answers          the fault proxy answers 401:
                     ExpiredToken (MinIO's shortest   one fresh token, then the error
                     session lasts 15 minutes)

GCS credentials are a real service-account key file (RSA key made with
openssl) whose token_uri is a small token server in this test that checks the
JWT's time as Google does; the storage API is fake-gcs-server reached with
?endpoint= (not STORAGE_EMULATOR_HOST, which turns authentication off).
Cost: ~15 s (plus ~2 s for a second MinIO in eu-west-1).
"""
import base64
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse

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


@pytest.mark.parametrize("kind", ["s3", "gs"])
def test_missing_bucket_is_named_by_every_verb_and_nothing_is_written(cli, minio, fake_gcs, kind,
                                                                      tmp_path):
    t = Target(kind, minio if kind == "s3" else fake_gcs, "vs-no-such-bucket", "p")
    c = Cli(cli.bin, t.env(cli.env))
    src = make_tree(tmp_path / "src", seed=1, n_files=3, large_files=0)
    out = tmp_path / "out"
    for args in (("init", *FAST_KDF), ("backup", "dir", src), ("snapshots",),
                 ("restore", "latest", "--to", out)):
        r = c(*args, "--repo", t.url)
        assert_error(r, "kNotFound", in_message="bucket 'vs-no-such-bucket' does not exist")
        assert "HINT: Create the bucket first" in r.err and "fix the bucket name" in r.err, r.err
        # The same through --json: the error document names the bucket too.
        doc = c(*args, "--repo", t.url, "--json").json["error"]
        assert doc["name"] == "kNotFound" and "vs-no-such-bucket" in doc["message"], doc
    assert not out.exists()
    if kind == "s3":
        status, _ = minio.client.request("GET", "/vs-no-such-bucket", {"list-type": "2"})
        assert status == 404  # not created as a side effect
    else:
        with pytest.raises(urllib.error.HTTPError, match="404"):
            fake_gcs.list_names("vs-no-such-bucket")


def test_invalid_s3_bucket_name_is_a_usage_error(cli, minio):
    # A name S3 does not allow at all (too short) is a usage error, not an i/o error.
    r = Cli(cli.bin, Target("s3", minio, "b1", "p").env(cli.env))("init", "--repo", "s3://b1/p",
                                                                 *FAST_KDF)
    assert_error(r, "kInvalidArgument", in_message="'b1' is not a valid bucket name")
    assert "3 to 63 characters" in r.err


def test_expired_s3_session_token_says_get_fresh_credentials(cli, minio, s3_repo, fault_proxy):
    t, _, src = s3_repo
    before = all_objects(t)
    proxy, stats = fault_proxy(t.endpoint, rate=1.0, kinds="expiredtoken")
    c = Cli(cli.bin, t.via(proxy).env(cli.env, AWS_SESSION_TOKEN="IQoJb3JpZ2luX2VjEXPIRED"))
    r = c("backup", "dir", src, "--repo", t.url)
    assert_error(r, "kUnauthenticated", in_message="session token has expired")
    assert "ExpiredToken" in r.err and "HINT: Get fresh temporary credentials" in r.err
    fresh = new_target("s3", minio=minio)
    r = c("init", "--repo", fresh.url, *FAST_KDF)
    assert_error(r, "kUnauthenticated", in_message="session token has expired")
    s = read_stats(stats)
    # Refused, not retried: backup's GET of config; init's HEAD and the GET that reads
    # the error a HEAD answer cannot carry.
    assert s["faults"]["expiredtoken"] == s["requests"] == 3, s
    assert s["methods"] == {"GET": 2, "HEAD": 1}, s
    assert all_objects(t) == before and all_objects(fresh) == []


def faketime_run(cli_bin, env, *args, offset="-2h"):
    """The CLI with its clock `offset` off (libfaketime); the servers keep the real time."""
    return subprocess.run(["faketime", "-f", offset, cli_bin, *map(str, args)],
                          env=dict(env, FAKETIME_DONT_FAKE_MONOTONIC="1"), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(shutil.which("faketime") is None,
                    reason="faketime not installed (scripts/deps/apt-remote.txt)")
def test_skewed_clock_is_refused_and_writes_nothing(cli, s3_repo):
    t, _, src = s3_repo
    before = all_objects(t)
    # MinIO (Go, untouched by libfaketime) refuses requests more than 15 minutes off.
    p = faketime_run(cli.bin, t.env(cli.env), "backup", "dir", src, "--repo", t.url)
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

    SKEWED = (400, {"error": "invalid_grant", "error_description":
                    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                    "reasonable timeframe. Check your iat and exp values in the JWT claim."})

    def __init__(self):
        self.answer = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                form = urllib.parse.parse_qs(
                    self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
                outer.requests += 1
                status, doc = outer.answer
                if status == 200 and not outer.jwt_time_ok(form.get("assertion", [""])[0]):
                    status, doc = outer.SKEWED
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.skew_refused = 0
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


    def jwt_time_ok(self, assertion):
        """Google refuses a JWT whose iat is not within a few minutes of its own clock."""
        claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
        ok = abs(claims["iat"] - time.time()) < 300 and claims["exp"] - claims["iat"] <= 3600
        self.skew_refused += not ok
        return ok


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


@pytest.mark.skipif(shutil.which("faketime") is None,
                    reason="faketime not installed (scripts/deps/apt-remote.txt)")
def test_gcs_skewed_clock_is_refused_with_a_clock_hint(cli, fake_gcs, key_file, token_server):
    t = new_target("gs", fake_gcs=fake_gcs)
    token_server.answer = (200, {"access_token": "ya29.good", "expires_in": 3600,
                                 "token_type": "Bearer"})
    c, url = gcs_cli(cli, t, key_file, fake_gcs.endpoint)
    p = faketime_run(cli.bin, c.env, "init", "--repo", url, *FAST_KDF)
    assert p.returncode == 6, p.stderr  # kFailedPrecondition
    assert "VS-6 " in p.stderr and "short-lived" in p.stderr, p.stderr
    assert "HINT: The JWT's time window was refused: synchronise the system clock" in p.stderr
    assert token_server.skew_refused == 1  # a clock fault is not retried
    assert all_objects(t) == []
    # With the right clock the same key is accepted.
    c("init", "--repo", url, *FAST_KDF, check=0)
    assert "config" in t.keys()


def test_gcs_url_with_a_region_says_gcs_needs_none(cli, fake_gcs):
    t = new_target("gs", fake_gcs=fake_gcs)
    r = Cli(cli.bin, t.env(cli.env))("init", "--repo", t.url + "?region=eu-west-1", *FAST_KDF)
    assert_error(r, "kInvalidArgument", in_message="gs URLs take no region (region=eu-west-1)")
    assert "HINT: A GCS bucket's location is fixed" in r.err and "region=auto" in r.err
    assert all_objects(t) == []
