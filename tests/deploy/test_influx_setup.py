"""deploy/influxdb/setup.sh against a stand-in `influx` v2 CLI.

No InfluxDB 2 server exists on the test machines (Debian ships 1.6), so a small stateful
stand-in plays the CLI: it answers the commands setup.sh uses with the output shapes of
influx CLI 2.7 (tab-separated rows with --hide-headers, JSON with --json, a non-zero
exit for `bucket list --name` of a missing bucket) and records every mutating call. The
test checks the script's logic: what it creates, idempotence, the tokens it prints, its
errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "deploy" / "influxdb" / "setup.sh"

FAKE_INFLUX = r'''
import json, os, sys
state_path = os.environ["FAKE_INFLUX_STATE"]
st = json.load(open(state_path)) if os.path.exists(state_path) else {
    "buckets": {}, "dbrps": [], "auths": [], "calls": []}
a = sys.argv[1:]
def opt(name, default=None):
    return a[a.index(name) + 1] if name in a else default
def save():
    json.dump(st, open(state_path, "w"))
assert os.environ.get("INFLUX_TOKEN"), "no token"
assert os.environ.get("INFLUX_ORG"), "no org"
if a[:2] == ["bucket", "list"]:
    name = opt("--name")
    if name not in st["buckets"]:
        print(f'Error: bucket "{name}" not found', file=sys.stderr); sys.exit(1)
    print(f"{st['buckets'][name]}\t{name}\tinfinite\t168h0m0s\torgid\timplicit")
elif a[:2] == ["bucket", "create"]:
    name = opt("--name"); bid = f"{len(st['buckets']) + 1:016x}"
    st["buckets"][name] = bid; st["calls"].append(["bucket create", name, opt("--retention")])
    print(f"{bid}\t{name}\tinfinite\t168h0m0s\torgid\timplicit")
elif a[:3] == ["v1", "dbrp", "list"]:
    for d in st["dbrps"]:
        if d["db"] == opt("--db"):
            print(f"dbrpid\t{d['db']}\t{d['bucket']}\tautogen\ttrue\ttrue\torgid")
elif a[:3] == ["v1", "dbrp", "create"]:
    st["dbrps"].append({"db": opt("--db"), "bucket": opt("--bucket-id"), "rp": opt("--rp")})
    st["calls"].append(["dbrp create", opt("--db"), opt("--bucket-id")])
elif a[:2] == ["auth", "create"]:
    tok = f"token-{len(st['auths']) + 1}=="
    perm = "write" if "--write-bucket" in a else "read"
    st["auths"].append({"perm": perm, "bucket": opt(f"--{perm}-bucket")})
    st["calls"].append(["auth create", perm])
    print(json.dumps({"id": "0a", "description": opt("--description"), "token": tok,
                      "status": "active", "permissions": [perm]}, indent=2))
else:
    print("unknown command", a, file=sys.stderr); sys.exit(2)
save()
'''


@pytest.fixture
def influx_cli(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    cli = bindir / "influx"
    cli.write_text(f"#!{sys.executable}\n{FAKE_INFLUX}")
    cli.chmod(0o755)
    state = tmp_path / "state.json"

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        e = {"PATH": f"{bindir}:{os.environ['PATH']}", "FAKE_INFLUX_STATE": str(state),
             **env}
        return subprocess.run(["bash", str(SETUP)], env=e, capture_output=True, text=True,
                              timeout=60)

    def calls() -> list:
        return json.loads(state.read_text())["calls"] if state.exists() else []

    return run, calls


def test_creates_bucket_mapping_and_bureau_bucket_once(influx_cli):
    run, calls = influx_cli
    env = {"INFLUX_TOKEN": "op", "INFLUX_ORG": "plant", "LINESIDE_RETENTION": "400d",
           "BUREAU_BUCKET": "lineside_bureau"}
    res = run(**env)
    assert res.returncode == 0, res.stderr
    assert calls() == [
        ["bucket create", "lineside", "400d"],
        ["dbrp create", "lineside", "0000000000000001"],
        ["bucket create", "lineside_bureau", "400d"],
        ["dbrp create", "lineside_bureau", "0000000000000002"],
    ]
    assert res.stdout == ""  # no tokens asked for
    # idempotent: a second run changes nothing
    res = run(**env)
    assert res.returncode == 0, res.stderr
    assert len(calls()) == 4
    assert "exists" in res.stderr


def test_image_init_mode_uses_the_init_variables(influx_cli):
    run, calls = influx_cli
    res = run(DOCKER_INFLUXDB_INIT_MODE="setup", DOCKER_INFLUXDB_INIT_ORG="plant",
              DOCKER_INFLUXDB_INIT_BUCKET="lineside", DOCKER_INFLUXDB_INIT_ADMIN_TOKEN="adm",
              LINESIDE_DB="plantdb")
    assert res.returncode == 0, res.stderr
    assert ["dbrp create", "plantdb", "0000000000000001"] in calls()


def test_tokens_are_least_privilege_and_printed(influx_cli):
    run, calls = influx_cli
    res = run(INFLUX_TOKEN="op", INFLUX_ORG="plant", CREATE_TOKENS="1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["LINESIDE_AGENT_TOKEN=token-1==",
                                       "GRAFANA_READ_TOKEN=token-2=="]
    assert ["auth create", "write"] in calls() and ["auth create", "read"] in calls()


@pytest.mark.parametrize("missing", ["INFLUX_TOKEN", "INFLUX_ORG"])
def test_refuses_without_credentials(influx_cli, missing):
    run, calls = influx_cli
    env = {"INFLUX_TOKEN": "op", "INFLUX_ORG": "plant"}
    del env[missing]
    res = run(**env)
    assert res.returncode != 0 and missing in res.stderr
    assert calls() == []
