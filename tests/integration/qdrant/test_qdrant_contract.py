"""Contract test: every response of the Qdrant stand-in is checked against Qdrant's openapi.json.

For each request the test finds the operation (path template + method) in the spec, picks the
response object by exact status, then "4XX"/"5XX", then "default", and validates the JSON body
against its schema with an OpenAPI 3.0 validator ($refs resolved inside the spec). Binary
downloads must be application/octet-stream. One deviation is asserted explicitly rather than
validated: a missing or wrong API key gets 401 with a plain-text body, as Qdrant's auth
middleware answers, which the spec's 4XX ErrorResponse does not describe.

Cost: about 2 s, two small stand-in nodes.
"""
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from qdrant_helpers import SPEC_PATH

RW, RO = "rw-key-123", "ro-key-456"
SPEC_URI = "urn:qdrant-openapi"



def _escape(s: str) -> str:
    return urllib.parse.quote(s.replace("~", "~0").replace("/", "~1"), safe="~")


class Contract:
    def __init__(self):
        assert SPEC_PATH is not None, "Qdrant's openapi.json not found (shared/qdrant/ or $QDRANT_OPENAPI)"
        self.spec = json.loads(SPEC_PATH.read_text())
        self.registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(self.spec, default_specification=DRAFT4))
        self.templates = []
        for tpl in self.spec["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tpl)) + "$"
            self.templates.append((tpl, re.compile(rx)))
        self.checked = set()  # (operationId, status)

    def operation(self, method: str, path: str):
        # Literal segments win over parameters ("/snapshots/upload" vs "/snapshots/{name}").
        matches = [t for t, rx in self.templates if rx.match(path)
                   and method.lower() in self.spec["paths"][t]]
        assert matches, f"{method} {path} is not in the spec"
        tpl = max(matches, key=lambda t: len(re.sub(r"\{[^}]+\}", "", t)))
        return tpl, self.spec["paths"][tpl][method.lower()]

    def check(self, method: str, path: str, status: int, ctype: str, body: bytes):
        tpl, op = self.operation(method, path)
        responses = op["responses"]
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        assert key is not None, f"{op['operationId']}: status {status} is not declared"
        self.checked.add((op["operationId"], status))
        if status == 401:
            assert ctype.startswith("text/plain"), ctype
            assert body and not body.lstrip().startswith(b"{")
            return
        content = responses[key].get("content")
        if content is None:
            return
        if "application/octet-stream" in content:
            assert ctype == "application/octet-stream", ctype
            return
        assert "application/json" in content and ctype.startswith("application/json"), ctype
        doc = json.loads(body)
        pointer = "/".join(["#", "paths", _escape(tpl), method.lower(), "responses", _escape(key),
                            "content", "application~1json", "schema"])
        validator = OAS30Validator({"$ref": SPEC_URI + pointer}, registry=self.registry,
                                   format_checker=oas30_format_checker)
        try:
            validator.validate(doc)
        except ValidationError as e:
            raise AssertionError(f"{op['operationId']} {status}: {e.message} at {list(e.absolute_path)}")
        if status >= 400:  # the schema requires nothing; Qdrant always sends the message
            assert isinstance(doc["status"]["error"], str) and doc["status"]["error"]


@pytest.fixture(scope="module")
def contract():
    c = Contract()
    yield c
    print("\nchecked operations (operationId, status):")
    for op, st in sorted(c.checked):
        print(f"  {op:40s} {st}")


def call(contract, base, method, path, key=RW, body=None, headers=None, bearer=False):
    h = dict(headers or {})
    if key and bearer:
        h["Authorization"] = f"Bearer {key}"
    elif key:
        h["api-key"] = key
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(base + path, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, ctype, data = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, ctype, data = e.code, e.headers.get("Content-Type", ""), e.read()
    contract.check(method, urllib.parse.urlsplit(path).path, status, ctype, data)
    return status, data


def multipart(data: bytes, field: str = "snapshot"):
    b = uuid.uuid4().hex
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x.snapshot\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={b}"}


def test_single_node_contract(contract, standin):
    node = standin(api_key=RW, read_only_key=RO, collections=["alpha:300000", "beta:200000"])
    u = node.url
    # Service and auth.
    assert call(contract, u, "GET", "/", key=None)[0] == 200
    assert call(contract, u, "GET", "/collections", key=None)[0] == 401
    assert call(contract, u, "GET", "/collections", key="wrong")[0] == 401
    assert call(contract, u, "GET", "/collections", key=RW, bearer=True)[0] == 200
    st, body = call(contract, u, "GET", "/collections", key=RO)
    assert st == 200 and {c["name"] for c in json.loads(body)["result"]["collections"]} == {"alpha", "beta"}
    assert json.loads(call(contract, u, "GET", "/cluster")[1])["result"]["status"] == "disabled"
    st, body = call(contract, u, "GET", "/collections/alpha", key=RO)
    assert st == 200 and json.loads(body)["result"]["points_count"] > 0
    assert call(contract, u, "GET", "/collections/nope")[0] == 404

    # Create: 200 with a description, 202 for wait=false, 403 read-only, 404 unknown.
    st, body = call(contract, u, "POST", "/collections/alpha/snapshots")
    desc = json.loads(body)["result"]
    assert st == 200 and re.fullmatch(rf"alpha-{node.peer_id}-\d{{4}}(-\d\d){{5}}\.snapshot", desc["name"])
    assert call(contract, u, "POST", "/collections/alpha/snapshots?wait=false")[0] == 202
    assert call(contract, u, "POST", "/collections/alpha/snapshots", key=RO)[0] == 403
    assert call(contract, u, "POST", "/collections/nope/snapshots")[0] == 404
    for code in (409, 422, 429, 500, 503, 507):
        node.fault(op="create", status=code)
        assert call(contract, u, "POST", "/collections/alpha/snapshots")[0] == code

    # List (read-only key allowed), download, checksum sidecar.
    st, body = call(contract, u, "GET", "/collections/alpha/snapshots", key=RO)
    assert st == 200 and desc["name"] in [d["name"] for d in json.loads(body)["result"]]
    assert call(contract, u, "GET", "/collections/nope/snapshots")[0] == 404
    st, data = call(contract, u, "GET", f"/collections/alpha/snapshots/{desc['name']}", key=RO)
    import hashlib
    assert st == 200 and len(data) == desc["size"] and hashlib.sha256(data).hexdigest() == desc["checksum"]
    st, sidecar = call(contract, u, "GET", f"/collections/alpha/snapshots/{desc['name']}.checksum", key=RO)
    assert st == 200 and sidecar.decode().strip() == desc["checksum"]
    assert call(contract, u, "GET", "/collections/alpha/snapshots/missing.snapshot")[0] == 404
    assert call(contract, u, "GET", "/collections/alpha/snapshots/bad%20name")[0] == 400

    # Upload: 200, 202, checksum mismatch 400, not a snapshot 400, read-only 403.
    body, h = multipart(data)
    q = f"?priority=snapshot&checksum={desc['checksum']}"
    assert call(contract, u, "POST", "/collections/restored/snapshots/upload" + q, body=body, headers=h)[0] == 200
    assert node.digest("restored")["digest"] == node.digest("alpha")["digest"]
    assert call(contract, u, "POST", "/collections/restored/snapshots/upload?wait=false&priority=snapshot",
                body=body, headers=h)[0] == 202
    st, err = call(contract, u, "POST", "/collections/restored/snapshots/upload?checksum=" + "0" * 64,
                   body=body, headers=h)
    assert st == 400 and b"checksum" in err
    bad, h2 = multipart(b"this is not a tar archive" * 100)
    assert call(contract, u, "POST", "/collections/restored/snapshots/upload", body=bad, headers=h2)[0] == 400
    assert call(contract, u, "POST", "/collections/restored/snapshots/upload", key=RO, body=body, headers=h)[0] == 403

    # Recover from a URL: 200, 202, unreachable location 400, missing location 422, read-only 403.
    loc = {"location": f"{u}/collections/alpha/snapshots/{desc['name']}", "priority": "snapshot",
           "checksum": desc["checksum"], "api_key": RO}
    assert call(contract, u, "PUT", "/collections/fromurl/snapshots/recover", body=loc)[0] == 200
    assert node.digest("fromurl")["digest"] == node.digest("alpha")["digest"]
    assert call(contract, u, "PUT", "/collections/fromurl/snapshots/recover?wait=false", body=loc)[0] == 202
    assert call(contract, u, "PUT", "/collections/fromurl/snapshots/recover",
                body={"location": "http://127.0.0.1:9/x.snapshot"})[0] == 400
    assert call(contract, u, "PUT", "/collections/fromurl/snapshots/recover", body={"priority": "snapshot"})[0] == 422
    assert call(contract, u, "PUT", "/collections/fromurl/snapshots/recover", key=RO, body=loc)[0] == 403

    # Delete: 403 read-only, 200, 202 wait=false, 404 afterwards.
    assert call(contract, u, "DELETE", f"/collections/alpha/snapshots/{desc['name']}", key=RO)[0] == 403
    assert call(contract, u, "DELETE", f"/collections/alpha/snapshots/{desc['name']}")[0] == 200
    assert call(contract, u, "DELETE", f"/collections/alpha/snapshots/{desc['name']}")[0] == 404
    _, body = call(contract, u, "POST", "/collections/beta/snapshots")
    name = json.loads(body)["result"]["name"]
    assert call(contract, u, "DELETE", f"/collections/beta/snapshots/{name}?wait=false")[0] == 202

    # Full-storage snapshots.
    st, body = call(contract, u, "POST", "/snapshots")
    full = json.loads(body)["result"]
    assert st == 200 and full["name"].startswith("full-snapshot-")
    assert call(contract, u, "POST", "/snapshots?wait=false")[0] == 202
    assert call(contract, u, "POST", "/snapshots", key=RO)[0] == 403
    st, body = call(contract, u, "GET", "/snapshots", key=RO)
    assert st == 200 and full["name"] in [d["name"] for d in json.loads(body)["result"]]
    st, data = call(contract, u, "GET", f"/snapshots/{full['name']}", key=RO)
    assert st == 200 and hashlib.sha256(data).hexdigest() == full["checksum"]
    assert call(contract, u, "DELETE", f"/snapshots/{full['name']}", key=RO)[0] == 403
    assert call(contract, u, "DELETE", f"/snapshots/{full['name']}")[0] == 200
    assert call(contract, u, "GET", f"/snapshots/{full['name']}")[0] == 404


def test_cluster_contract(contract, cluster):
    nodes = cluster(2, collections=["gamma:100000"])
    for n in nodes:
        st, body = call(contract, n.url, "GET", "/cluster", key=None)
        info = json.loads(body)["result"]
        assert st == 200 and info["status"] == "enabled" and info["peer_id"] == n.peer_id
        assert set(info["peers"]) == {str(x.peer_id) for x in nodes}
        st, body = call(contract, n.url, "GET", "/collections/gamma", key=None)
        total = sum(x.digest("gamma")["points"] for x in nodes)
        assert json.loads(body)["result"]["points_count"] == total


def test_validator_rejects_wrong_bodies():
    """The checker itself must fail on bodies that break the spec."""
    contract = Contract()
    bad = [("GET", "/collections/a/snapshots", 200, {"result": [{"size": 1}], "status": "ok"}),
           ("POST", "/collections/a/snapshots", 200, {"result": {"name": "x", "size": -1}}),
           ("GET", "/cluster", 200, {"result": {"status": "enabled", "peer_id": 1}}),
           ("GET", "/", 200, {"version": "1.19.0"}),
           ("GET", "/collections/a", 404, {"status": {"error": ""}})]
    for method, path, status, body in bad:
        with pytest.raises(AssertionError):
            contract.check(method, path, status, "application/json", json.dumps(body).encode())


def test_coverage(contract):
    """Runs last in this module: every operation vecsafe uses was exercised."""
    ops = {op for op, _ in contract.checked}
    needed = {"root", "get_collections", "get_collection", "cluster_status", "create_snapshot",
              "list_snapshots", "get_snapshot", "delete_snapshot", "recover_from_uploaded_snapshot",
              "recover_from_snapshot", "create_full_snapshot", "list_full_snapshots",
              "get_full_snapshot", "delete_full_snapshot"}
    assert needed <= ops, needed - ops
    statuses = {st for _, st in contract.checked}
    assert {200, 202, 400, 401, 403, 404, 409, 422, 429, 500, 503, 507} <= statuses
