"""One repository location on a real server, for the CLI tests of both drivers.

  Target.kind        "s3" (MinIO) or "gs" (fake-gcs-server)
  Target.url         s3://bucket/prefix or gs://bucket/prefix
  Target.env(base)   the CLI's environment: base (password, HOME) + the server's variables
  Target.keys()      every object name under the prefix, listed by an independent client
  Target.via(url)    the same repository reached through another endpoint (a proxy)
  read_stats(path)   the fault proxy's statistics file
"""
import json
import time
import uuid

FOREIGN = ("AWS_", "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GCS_BUCKET_NAME",
           "GCS_FOLDER_PREFIX", "VECSAFE_REPO", "BACKUP_LOCAL_PATH")


class Target:
    def __init__(self, kind, server, bucket, prefix, endpoint=None):
        self.kind, self.server, self.bucket, self.prefix = kind, server, bucket, prefix
        self.endpoint = endpoint or server.endpoint
        self.url = f"{kind}://{bucket}/{prefix}"

    def via(self, endpoint):
        return Target(self.kind, self.server, self.bucket, self.prefix, endpoint)

    def env(self, base, **extra):
        e = {k: v for k, v in base.items() if not k.startswith(FOREIGN)}
        if self.kind == "s3":
            e.update(AWS_ACCESS_KEY_ID=self.server.access_key,
                     AWS_SECRET_ACCESS_KEY=self.server.secret_key, AWS_REGION="us-east-1",
                     AWS_ENDPOINT_URL_S3=self.endpoint)
        else:
            e["STORAGE_EMULATOR_HOST"] = self.endpoint
        e.update(extra)
        return e

    def keys(self, sub=""):
        """Object names relative to the prefix (under `sub`, e.g. "data/")."""
        full = f"{self.prefix}/{sub}"
        if self.kind == "s3":
            names = self.server.client.list_keys(self.bucket, full)
        else:
            names = self.server.list_names(self.bucket, full)
        return sorted(n[len(self.prefix) + 1:] for n in names)


def new_target(kind, minio=None, fake_gcs=None):
    server = minio if kind == "s3" else fake_gcs
    return Target(kind, server, server.new_bucket(), "repo-" + uuid.uuid4().hex[:6])


def read_stats(path):
    """The fault proxy's statistics (it rewrites the file after each request: retry a torn read)."""
    for _ in range(100):
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            time.sleep(0.01)
    raise AssertionError(f"unreadable proxy stats {path}")
