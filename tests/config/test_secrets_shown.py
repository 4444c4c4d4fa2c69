"""What `lineside check` shows of a configuration never holds a secret (redact.py).

Each shape of leak is a row: how the secret reaches a value (a `${VAR}` in a URL's
userinfo, a whole URL from one variable, a password written in a URL, a variable in a
field not named like a secret), what `check --print` must show instead, and the
same for the messages of a file that is refused (text and `--json`). Before this rule
`--print` masked by key name only and printed every one of these secrets.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pytest

from lineside.cli import check
from lineside.redact import mask_url_passwords
from lineside.runtime.logs import NoUrlPasswords
from tests.config.test_check import VALID

SECRET = "s3cr/et?#@x"  # holds what ends a URL's authority: masked whole all the same

# (text, shown): Go's url.Redacted rule, the userinfo up to the last `@` before a blank
URLS = [
    ("https://admin:hunter2@db:8086", "https://admin:***@db:8086"),
    (f"https://admin:{SECRET}@db:8086/x", "https://admin:***@db:8086/x"),
    ("opc.tcp://op:pw@plc:4840/ua", "opc.tcp://op:***@plc:4840/ua"),
    ("https://admin@db:8086", "https://admin@db:8086"),            # a user, no password
    ("https://admin:@db", "https://admin:@db"),                    # an empty password
    ("https://db:8086/write?db=x", "https://db:8086/write?db=x"),  # no userinfo
    ("https://admin:${PW}@db", "https://admin:${PW}@db"),          # a reference: readable
    ("(got 'htps://a:b@db') and http://c:d@e f",                   # inside a message
     "(got 'htps://a:***@db') and http://c:***@e f"),
]


@pytest.mark.parametrize(("text", "shown"), URLS, ids=[u[0] for u in URLS])
def test_url_passwords_are_masked(text: str, shown: str) -> None:
    assert mask_url_passwords(text) == shown


SINK_URL = "url: http://127.0.0.1:8086"
ENDPOINT = "endpoint: opc.tcp://127.0.0.1:4840"  # asyncua takes user:password@ in it
# (case, text in VALID, replacement, environment, what --print shows instead)
PRINTED = [
    ("a variable in a URL's userinfo",
     ENDPOINT, 'endpoint: "opc.tcp://op:${OPC_PASSWORD}@plc:4840"',
     {"OPC_PASSWORD": SECRET}, "endpoint: opc.tcp://op:${OPC_PASSWORD}@plc:4840"),
    ("a whole URL from one variable",
     SINK_URL, "url: ${INFLUX_URL}",
     {"INFLUX_URL": f"https://{SECRET}.example:8086"}, "url: ${INFLUX_URL}"),
    ("a password written in a URL",
     ENDPOINT, f'endpoint: "opc.tcp://op:{SECRET}@plc:4840"',
     {}, "endpoint: opc.tcp://op:***@plc:4840"),
    ("a variable in a field not named like a secret",
     "bucket: lineside", "bucket: ${BUCKET}", {"BUCKET": SECRET}, "bucket: ${BUCKET}"),
    ("a variable with a default, set",
     "bucket: lineside", "bucket: ${BUCKET:-lineside}", {"BUCKET": SECRET},
     "bucket: ${BUCKET:-lineside}"),
    ("a variable in a number",
     "port: 5020", "port: ${PLC_PORT}", {"PLC_PORT": "5020"}, "port: ${PLC_PORT}"),
]


def edited(case: str, old: str, new: str, env: dict[str, str],
           monkeypatch: pytest.MonkeyPatch) -> str:
    """VALID with `old` edited into `new`, the case's variables set."""
    assert old in VALID, case
    monkeypatch.setenv("INFLUX_TOKEN", "t")  # VALID's sink token: check looks for it
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return VALID.replace(old, new, 1)


def run_check(tmp_path: Path, text: str, *flags: str) -> int:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    return check.run(parser.parse_args([str(path), *flags]))


@pytest.mark.parametrize(("case", "old", "new", "env", "shown"), PRINTED,
                         ids=[c[0] for c in PRINTED])
def test_print_shows_no_secret(case: str, old: str, new: str, env: dict[str, str],
                               shown: str, tmp_path: Path, capsys: pytest.CaptureFixture,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_check(tmp_path, edited(case, old, new, env, monkeypatch), "--print") == 0
    out, err = capsys.readouterr()
    assert shown in [ln.strip().removeprefix("- ") for ln in out.splitlines()], out
    assert SECRET not in out + err
    assert "s3cr" not in out + err


# (case, text in VALID, replacement, environment, the value as the message quotes it)
REFUSED = [
    ("a variable in the userinfo of an invalid URL",
     SINK_URL, 'url: "htps://admin:${INFLUX_PASSWORD}@db"', {"INFLUX_PASSWORD": SECRET},
     "'htps://admin:${INFLUX_PASSWORD}@db'"),
    ("an invalid URL from one variable",
     SINK_URL, "url: ${INFLUX_URL}", {"INFLUX_URL": f"htps://admin:{SECRET}@db"},
     "'${INFLUX_URL}'"),
    ("a password written in an invalid URL",
     SINK_URL, f'url: "htps://admin:{SECRET}@db"', {}, "'htps://admin:***@db'"),
    ("a variable in a number",
     "port: 5020", "port: ${PLC_PORT}", {"PLC_PORT": SECRET}, "'${PLC_PORT}'"),
    ("a variable naming an unknown device",
     "source: plc-cut", "source: ${SOURCE}", {"SOURCE": "s3cr-et"}, "'${SOURCE}'"),
]


@pytest.mark.parametrize(("case", "old", "new", "env", "quoted"), REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_messages_show_no_secret(case: str, old: str, new: str, env: dict[str, str],
                                 quoted: str, tmp_path: Path, capsys: pytest.CaptureFixture,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    text = edited(case, old, new, env, monkeypatch)
    assert run_check(tmp_path, text) == 2
    _, err = capsys.readouterr()
    assert quoted in err and "s3cr" not in err, err
    assert run_check(tmp_path, text, "--json") == 2
    out, _ = capsys.readouterr()
    assert any(quoted in issue["message"] for issue in json.loads(out)), out
    assert "s3cr" not in out, out


def test_a_log_line_shows_no_url_password() -> None:
    rec = logging.LogRecord("lineside.sinks", logging.WARNING, __file__, 1,
                            "sink %s: TLS verification disabled for %s", ("plant",
                            f"https://admin:{SECRET}@db:8086"), None)
    assert NoUrlPasswords().filter(rec)
    assert rec.getMessage() == ("sink plant: TLS verification disabled for "
                                "https://admin:***@db:8086")
