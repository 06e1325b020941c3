"""Bad credentials, a missing bucket, a wrong region and a skewed clock against
the real MinIO: each must fail with a clear message and a hint, and write
nothing (the bucket is listed afterwards with an independent client).

The driver is exercised through the conformance suite's first step (opening a
fresh store and listing it), run by vecsafe_unit_tests with a broken setting.
Cost: ~5 s (plus ~2 s for a second MinIO in eu-west-1).
"""
import os
import shutil
import subprocess

import pytest

from remote_servers import MINIO_PASSWORD, MINIO_USER, free_port, unit_tests_bin, wait_http

CASE = "Remote/ObjectStoreConformanceTest.PutThenGetReturnsTheSameBytes/minio_path_style"


def run_case(env, prefix=()):
    proc = subprocess.run([*prefix, str(unit_tests_bin()), f"--gtest_filter={CASE}"], env=env,
                          capture_output=True, text=True, timeout=180)
    return proc.returncode, proc.stdout + proc.stderr


def s3_env(endpoint, bucket, key=MINIO_USER, secret=MINIO_PASSWORD):
    return dict(os.environ, VECSAFE_TEST_S3_ENDPOINT=endpoint, VECSAFE_TEST_S3_BUCKET=bucket,
                VECSAFE_TEST_S3_ACCESS_KEY=key, VECSAFE_TEST_S3_SECRET_KEY=secret)


def test_good_settings_pass(minio):
    bucket = minio.new_bucket()
    rc, out = run_case(s3_env(minio.endpoint, bucket))
    assert rc == 0, out[-3000:]
    assert "[  PASSED  ] 1 test" in out


def test_wrong_secret_is_refused_with_a_hint_and_writes_nothing(minio):
    bucket = minio.new_bucket()
    rc, out = run_case(s3_env(minio.endpoint, bucket, secret="not-the-secret-at-all"))
    assert rc != 0
    assert "VS-5" in out and "SignatureDoesNotMatch" in out, out[-3000:]
    assert "HINT: Check AWS_SECRET_ACCESS_KEY" in out
    assert minio.client.list_keys(bucket) == []


def test_unknown_access_key_is_refused_with_a_hint(minio):
    bucket = minio.new_bucket()
    rc, out = run_case(s3_env(minio.endpoint, bucket, key="AKIANOSUCHKEY"))
    assert rc != 0
    assert "does not know access key 'AKIANOSUCHKEY'" in out, out[-3000:]
    assert "HINT: Check AWS_ACCESS_KEY_ID" in out
    assert minio.client.list_keys(bucket) == []


def test_missing_bucket_says_create_it(minio):
    rc, out = run_case(s3_env(minio.endpoint, "vs-no-such-bucket"))
    assert rc != 0
    assert "VS-2" in out and "bucket 'vs-no-such-bucket' does not exist" in out, out[-3000:]
    assert "HINT: Create the bucket first" in out
    status, _ = minio.client.request("GET", "/vs-no-such-bucket", {"list-type": "2"})
    assert status == 404  # and it was not created as a side effect


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime not installed "
                    "(scripts/deps/apt-remote.txt)")
def test_skewed_clock_says_sync_the_clock(minio):
    bucket = minio.new_bucket()
    env = s3_env(minio.endpoint, bucket)
    env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    # The client's clock runs 2 hours behind; MinIO (a Go binary, untouched by
    # libfaketime) keeps the real time and refuses requests > 15 min off.
    rc, out = run_case(env, prefix=("faketime", "-f", "-2h"))
    assert rc != 0
    assert "RequestTimeTooSkewed" in out and "clock differs" in out, out[-3000:]
    assert "HINT: Synchronise the system clock" in out
    assert minio.client.list_keys(bucket) == []


def test_wrong_region_names_the_servers_region(go_servers, tmp_path):
    # A second MinIO whose region is eu-west-1; the client signs for us-east-1.
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
        from s3client import S3Client
        admin = S3Client(endpoint, MINIO_USER, MINIO_PASSWORD, region="eu-west-1")
        admin.make_bucket("vs-eu-bucket")
        rc, out = run_case(s3_env(endpoint, "vs-eu-bucket"))
        assert rc != 0
        assert "is in region eu-west-1, not us-east-1" in out, out[-3000:]
        assert "?region=eu-west-1" in out and "AWS_REGION=eu-west-1" in out
        assert admin.list_keys("vs-eu-bucket") == []
    finally:
        proc.terminate()
        proc.wait(10)
