"""Config updates and auth through a running daemon.

22 invalid configs sent with PUT /api/v1/config: each refused with 400 naming the right
field, the running config unchanged; then a valid one applied without a restart (a new
job appears, a removed source is gone). Auth over every write route: no token and a
wrong token get 401, a read-only token gets 403, and nothing is done.

Cost: about 4 s (one daemon, no job runs).
"""
import copy

import pytest

from serve_helpers import ADMIN, OPS, READER, Daemon, request, tokens

# (change to the valid document, the field the error must name)
BAD = [
    ({"listen": "nohost"}, "/listen"),
    ({"listen": "127.0.0.1:99999"}, "/listen"),
    ({"time_zone": "Atlantis/Capital"}, "/time_zone"),
    ({"missed_runs": "maybe"}, "/missed_runs"),
    ({"max_concurrent_jobs": 0}, "/max_concurrent_jobs"),
    ({"unknown_key": True}, "/unknown_key"),
    ({"repositories": [{"name": "main"}]}, "/repositories/0/url"),
    ({"repositories": [{"name": "main", "url": "ftp://h/p"}]}, "/repositories/0/url"),
    ({"repositories": [{"name": "main", "url": "/r", "retention": {"keep_daily": "7"}}]},
     "/repositories/0/retention/keep_daily"),
    ({"sources": [{"name": "files", "type": "oracle", "path": "/x"}]}, "/sources/0/type"),
    ({"sources": [{"name": "files", "type": "dir"}]}, "/sources/0/path"),
    ({"sources": [{"name": "q", "type": "qdrant", "url": "qdrant:6333"}], "schedules": []},
     "/sources/0/url"),
    ({"sources": [{"name": "files", "type": "dir", "path": "/x", "repository": "other"}]},
     "/sources/0/repository"),
    ({"schedules": [{"job": "backup", "source": "files", "cron": "0 25 * * *"}]},
     "/schedules/0/cron"),
    ({"schedules": [{"job": "backup", "source": "files", "cron": "@fortnightly"}]},
     "/schedules/0/cron"),
    ({"schedules": [{"job": "backup", "source": "nowhere", "every_hours": 1}]},
     "/schedules/0/source"),
    ({"schedules": [{"job": "vacuum", "source": "files", "every_hours": 1}]}, "/schedules/0/job"),
    ({"schedules": [{"job": "backup", "source": "files", "every_hours": -1}]},
     "/schedules/0/every_hours"),
    ({"schedules": [{"job": "check", "source": "files", "every_hours": 1}]},
     "/schedules/0/source"),
    ({"alerts": {"backup_failures_in_row": 0}}, "/alerts/backup_failures_in_row"),
    ({"alerts": {"webhooks": [{"url": "hooks.example/x"}]}}, "/alerts/webhooks/0/url"),
    ({"tokens": [{"name": "x", "role": "superuser", "sha256": "0" * 64}]}, "/tokens/0/role"),
    ({"limits": {"max_body_bytes": -5}}, "/limits/max_body_bytes"),
    ({"backup_retention_count": "ten"}, "/backup_retention_count"),
]

WRITE_ROUTES = [
    ("POST", "/backup", {}), ("POST", "/api/robust/backup", {}),
    ("POST", "/api/robust/restore", {"backup_id": "x"}), ("POST", "/api/robust/cleanup-backups", {}),
    ("POST", "/api/robust/execute-recovery", {"recovery_plan": []}),
    ("PUT", "/api/robust/config", {"config_updates": {"backup_retention_count": 2}}),
    ("POST", "/api/robust/config/template/production", {}),
    ("POST", "/api/v1/backups", {"source": "files"}), ("DELETE", "/api/v1/backups/abc", None),
    ("POST", "/api/v1/backups/abc/verify", {}), ("POST", "/api/v1/backups/abc/restore", {"to": "/x"}),
    ("POST", "/api/v1/jobs/backup:files/run", {}), ("POST", "/api/v1/checks", {}),
    ("POST", "/api/v1/recovery/scan", {}), ("POST", "/api/v1/recovery/execute", {"plan": {}}),
    ("POST", "/api/v1/collections/delete", {"collection": "c"}),
    ("POST", "/api/v1/collections/rename", {"from": "a", "to": "b"}),
    ("PUT", "/api/v1/config", {}), ("DELETE", "/api/v1/operations/op-x", None),
    ("POST", "/api/v1/alerts/test", {}),
]


def valid_doc(tmp_path):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return {"tokens": tokens(),
            "repositories": [{"name": "main", "url": str(tmp_path / "repo")}],
            "sources": [{"name": "files", "type": "dir", "path": str(data)}],
            "schedules": [{"job": "backup", "source": "files", "cron": "0 3 1 1 *"}]}


@pytest.fixture
def daemon(vecsafe_bin, tmp_path, env):
    d = Daemon(vecsafe_bin, tmp_path, env, valid_doc(tmp_path))
    yield d
    d.stop()


def test_each_invalid_config_is_refused_naming_its_field(daemon):
    assert len(BAD) >= 20
    before = daemon.call("GET", "/api/v1/config")[1]["config"]
    for change, field in BAD:
        doc = copy.deepcopy(daemon.doc)
        doc.update(change)
        status, body = daemon.call("PUT", "/api/v1/config", body=doc)
        assert status == 400, (change, body)
        fields = [f["field"] for f in body["error"]["fields"]]
        assert field in fields, (change, fields)
        assert all(f["reason"] for f in body["error"]["fields"])
    assert daemon.call("GET", "/api/v1/config")[1]["config"] == before
    failed = daemon.call("GET", f"/api/v1/journal?kind=config.update&limit={len(BAD)}")[1]
    assert [e["result"] for e in failed["entries"]] == ["failed"] * len(BAD)

    # A valid update: applied at once, no restart (same process, same port).
    doc = copy.deepcopy(daemon.doc)
    doc["sources"].append({"name": "more", "type": "dir", "path": str(daemon.tmp)})
    doc["schedules"] = [{"job": "backup", "source": "more", "every_hours": 6}]
    status, body = daemon.call("PUT", "/api/v1/config", body=doc)
    assert status == 200 and body["applied"] is True, body
    jobs = [j["name"] for j in daemon.call("GET", "/api/v1/jobs")[1]["jobs"]]
    assert jobs == ["backup:more"]
    names = [s["name"] for s in daemon.call("GET", "/api/v1/sources")[1]["sources"]]
    assert names == ["files", "more"]
    assert daemon.proc.poll() is None


def test_write_routes_refuse_missing_wrong_and_weak_tokens(daemon):
    for method, path, body in WRITE_ROUTES:
        status, b = request(daemon.base, method, path, None, body)
        assert status == 401, (method, path, status, b)
        status, b = request(daemon.base, method, path, "wrong-token-0123456789abcdef", body)
        assert status == 401, (method, path, status, b)
        assert b["error"]["name"] == "kUnauthenticated"
        status, b = request(daemon.base, method, path, READER, body)
        assert status == 403, (method, path, status, b)
        assert b["error"]["name"] == "kPermissionDenied"
    # Admin-only routes refuse an operator too.
    for method, path, body in [("POST", "/api/robust/restore", {"backup_id": "x"}),
                               ("PUT", "/api/v1/config", {}),
                               ("DELETE", "/api/v1/backups/abc", None),
                               ("POST", "/api/v1/collections/delete", {"collection": "c"})]:
        assert request(daemon.base, method, path, OPS, body)[0] == 403, path
    # Nothing was done: no operation, no journal entry, no repository.
    assert daemon.call("GET", "/api/v1/operations")[1]["operations"] == []
    assert daemon.call("GET", "/api/v1/journal")[1]["entries"] == []
    assert not (daemon.tmp / "repo").exists()
    assert request(daemon.base, "GET", "/health")[0] == 200  # open
    assert daemon.call("GET", "/api/v1/jobs", token=ADMIN)[0] == 200
