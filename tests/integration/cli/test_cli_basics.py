"""The CLI shell without a repository: help, version, the error table, bad flags.

Cost: well under a second (a dozen process starts).
"""
import re

import pytest

from vecsafe_testlib import error_table, run_vecsafe

pytestmark = pytest.mark.asan


def test_help_lists_verbs(vecsafe_bin, env):
    r = run_vecsafe(vecsafe_bin, "--help", env=env, check=0)
    for verb in ("version", "errors", "help"):
        assert re.search(rf"^\s+{verb}\b", r.out, re.M), r.explain()


def test_version_text_and_json(vecsafe_bin, env):
    text = run_vecsafe(vecsafe_bin, "version", env=env, check=0).out.strip()
    doc = run_vecsafe(vecsafe_bin, "version", "--json", env=env, check=0).json
    assert doc["name"] == "vecsafe"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", doc["version"])
    assert text == f"vecsafe {doc['version']}"
    assert run_vecsafe(vecsafe_bin, "--version", env=env, check=0).out.strip() == text


def test_errors_json_matches_error_table(vecsafe_bin, env):
    table = error_table()
    rows = run_vecsafe(vecsafe_bin, "errors", "--json", env=env, check=0).json["errors"]
    assert {r["name"]: (r["number"], r["exit_status"]) for r in rows} == table
    for r in rows:
        assert r["code"] == f"VS-{r['number']}"
        if r["name"] != "kOk":
            assert r["hint"], r


@pytest.mark.parametrize("args", [
    ["--no-such-flag"],
    ["version", "--frobnicate"],
    ["errors", "extra-positional"],
    ["no-such-verb"],
    [],
])
def test_bad_command_line_exits_2_with_hint(vecsafe_bin, env, args):
    r = run_vecsafe(vecsafe_bin, *args, env=env)
    assert r.rc == error_table()["kInvalidArgument"][1] == 2, r.explain()
    assert r.err.startswith("vecsafe: "), r.explain()
    assert "\nHINT: " in r.err, r.explain()
    assert r.out == "", r.explain()


def test_bad_flag_with_json_prints_error_document(vecsafe_bin, env):
    r = run_vecsafe(vecsafe_bin, "errors", "--json", "--nope", env=env)
    assert r.rc == 2
    err = r.json["error"]
    assert err["code"] == "VS-1" and err["exit_status"] == 2
    assert "--nope" in err["message"] and err["hint"]


def test_help_verb_matches_dash_dash_help(vecsafe_bin, env):
    a = run_vecsafe(vecsafe_bin, "help", "errors", env=env, check=0).out
    b = run_vecsafe(vecsafe_bin, "errors", "--help", env=env, check=0).out
    assert a == b and "--markdown" in a and "Default:" in a
