"""A tiny independent S3 client (SigV4 in the standard library) for the tests.

It creates and inspects buckets on the test MinIO so that the tests can check
what vecsafe wrote without trusting vecsafe's own driver. Path-style only.
"""
import datetime
import hashlib
import hmac
import http.client
import re
import time
import urllib.parse
import xml.etree.ElementTree as ET


def _enc(s, keep_slash=False):
    safe = "-._~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


class S3Client:
    def __init__(self, endpoint, access_key, secret_key, region="us-east-1"):
        u = urllib.parse.urlparse(endpoint)
        self.host, self.port = u.hostname, u.port
        self.netloc = u.netloc
        self.access_key, self.secret_key, self.region = access_key, secret_key, region

    def request(self, method, path, query=None, body=b"", headers=None):
        query = dict(query or {})
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        payload_hash = hashlib.sha256(body).hexdigest()
        hdrs = {"host": self.netloc, "x-amz-date": amz_date,
                "x-amz-content-sha256": payload_hash}
        for k, v in (headers or {}).items():
            hdrs[k.lower()] = v
        canon_uri = _enc(path, keep_slash=True)
        canon_query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(query.items()))
        signed = ";".join(sorted(hdrs))
        canon_headers = "".join(f"{k}:{hdrs[k].strip()}\n" for k in sorted(hdrs))
        creq = "\n".join([method, canon_uri, canon_query, canon_headers, signed, payload_hash])
        scope = f"{date}/{self.region}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.secret_key).encode()
        for part in (date, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        hdrs["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                 f"SignedHeaders={signed}, Signature={sig}")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        url = canon_uri + ("?" + canon_query if canon_query else "")
        conn.request(method, url, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    def make_bucket(self, bucket):
        for _ in range(100):  # MinIO may still be initialising (503) just after it is ready
            status, data = self.request("PUT", f"/{bucket}")
            if status != 503:
                break
            time.sleep(0.1)
        if status not in (200, 409):
            raise RuntimeError(f"make bucket {bucket}: {status} {data[:300]!r}")

    def list_keys(self, bucket, prefix=""):
        keys, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            status, data = self.request("GET", f"/{bucket}", q)
            if status != 200:
                raise RuntimeError(f"list {bucket}: {status} {data[:300]!r}")
            text = data.decode()
            keys += [ET.fromstring(f"<k>{m}</k>").text
                     for m in re.findall(r"<Key>(.*?)</Key>", text)]
            if "<IsTruncated>true</IsTruncated>" not in text:
                return keys
            token = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", text).group(1)

    def list_multipart_uploads(self, bucket):
        status, data = self.request("GET", f"/{bucket}", {"uploads": ""})
        if status != 200:
            raise RuntimeError(f"list uploads {bucket}: {status} {data[:300]!r}")
        return re.findall(r"<UploadId>(.*?)</UploadId>", data.decode())

    def get(self, bucket, key):
        status, data = self.request("GET", f"/{bucket}/{key}")
        if status != 200:
            raise RuntimeError(f"get {bucket}/{key}: {status} {data[:300]!r}")
        return data

    def put(self, bucket, key, data):
        status, body = self.request("PUT", f"/{bucket}/{key}", body=data)
        if status != 200:
            raise RuntimeError(f"put {bucket}/{key}: {status} {body[:300]!r}")

    def delete(self, bucket, key):
        self.request("DELETE", f"/{bucket}/{key}")
