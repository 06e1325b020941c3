"""The ObjectStore conformance suite (tests/unit/io) against real servers.

Runs the gtest cases Remote/ObjectStoreConformanceTest.* of vecsafe_unit_tests
with the endpoints of the MinIO and fake-gcs-server this session started.
Cost: ~20-40 s (16 cases x 3 targets, 8 MiB objects, 600-object listings).
"""
import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.asan  # also run against the ASan+UBSan build (thread safety of the drivers)

from remote_servers import unit_tests_bin


def run_suite(env, targets):
    binary = unit_tests_bin()
    if not binary.exists():
        pytest.fail(f"{binary} not built (set VECSAFE_UNIT_TESTS or build first)")
    flt = ":".join(f"Remote/ObjectStoreConformanceTest.*/{t}" for t in targets)
    proc = subprocess.run([str(binary), f"--gtest_filter={flt}", "--gtest_brief=1"],
                          env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    ran = re.search(r"\[==========\] (\d+) tests? from", out)
    skipped = re.search(r"\[  SKIPPED \] (\d+) test", out)
    return int(ran.group(1)), int(skipped.group(1)) if skipped else 0, out


def test_s3_conformance_on_minio(minio):
    bucket = minio.new_bucket()
    port = minio.endpoint.rsplit(":", 1)[1]
    env = dict(os.environ,
               VECSAFE_TEST_S3_ENDPOINT=minio.endpoint,
               VECSAFE_TEST_S3_VHOST_ENDPOINT=f"http://localhost:{port}",
               VECSAFE_TEST_S3_BUCKET=bucket,
               VECSAFE_TEST_S3_ACCESS_KEY=minio.access_key,
               VECSAFE_TEST_S3_SECRET_KEY=minio.secret_key)
    ran, skipped, out = run_suite(env, ["minio_path_style", "minio_virtual_host"])
    assert ran >= 30, out[-3000:]
    assert skipped == 0, out[-3000:]
    # Multipart uploads completed or aborted: none may be left behind.
    assert minio.client.list_multipart_uploads(bucket) == []
    # Everything the suite wrote is under its own prefixes.
    assert all(k.startswith("conformance/") for k in minio.client.list_keys(bucket))


def test_gcs_conformance_on_fake_gcs_server(fake_gcs):
    bucket = fake_gcs.new_bucket()
    env = dict(os.environ, VECSAFE_TEST_GCS_ENDPOINT=fake_gcs.endpoint,
               VECSAFE_TEST_GCS_BUCKET=bucket)
    ran, skipped, out = run_suite(env, ["fake_gcs"])
    assert ran >= 15, out[-3000:]
    assert skipped == 0, out[-3000:]
