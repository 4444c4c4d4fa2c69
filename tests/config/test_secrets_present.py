"""`check` looks for the secrets the file refers to, where the agent will look.

An unset `*_env` variable or an unreadable `*_file` used to pass `check` and fail at the
first write (a 401) or connect; now it is an error at its key and line, and a warning
with `--offline` (install time: the service's environment is not there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lineside.cli import check
from tests.config.test_check import VALID, line_of

OPC_PASSWORD = ("endpoint: opc.tcp://127.0.0.1:4840",
                "endpoint: opc.tcp://127.0.0.1:4840\n    username: op\n    password_env: OPC_PW")
TOKEN_FILE = ("token_env: INFLUX_TOKEN", "token_file: token.txt")

# (case, edit of VALID, environment, token.txt bytes or None, key, written at, words)
MISSING = [
    ("sink token variable unset", None, {}, None,
     "sinks[0].token_env", "token_env:", "INFLUX_TOKEN is not set here"),
    ("sink token variable empty", None, {"INFLUX_TOKEN": " "}, None,
     "sinks[0].token_env", "token_env:", "INFLUX_TOKEN is empty"),
    ("OPC UA password variable unset", OPC_PASSWORD, {"INFLUX_TOKEN": "t"}, None,
     "devices[1].password_env", "password_env:", "OPC_PW is not set here"),
    ("token file missing", TOKEN_FILE, {}, None,
     "sinks[0].token_file", "token_file:", "No such file"),
    ("token file empty", TOKEN_FILE, {}, b"\n",
     "sinks[0].token_file", "token_file:", "is empty"),
    ("token file in UTF-16", TOKEN_FILE, {}, "s3cr3t\n".encode("utf-16"),
     "sinks[0].token_file", "token_file:", "looks like UTF-16"),
    ("token file in GBK", TOKEN_FILE, {}, "令牌令牌\n".encode("gbk"),
     "sinks[0].token_file", "token_file:", "looks like GBK"),
]


def _edited(*edits: tuple[str, str] | None) -> str:
    text = VALID
    for edit in edits:
        text = text.replace(*edit) if edit else text
    return text


def _check(tmp_path: Path, edits: list[tuple[str, str] | None], token: bytes | None,
           *flags: str) -> int:
    path = tmp_path / "plant.yaml"
    path.write_text(_edited(*edits), encoding="utf-8")
    if token is not None:
        (tmp_path / "token.txt").write_bytes(token)  # relative to the file's folder
    parser = argparse.ArgumentParser()
    check.add_arguments(parser)
    return check.run(parser.parse_args([str(path), "--locale", "en", *flags]))


@pytest.mark.parametrize(("case", "edit", "env", "token", "key", "at", "words"), MISSING,
                         ids=[c[0] for c in MISSING])
def test_a_missing_secret_is_an_error_and_offline_a_warning(
        case: str, edit: tuple[str, str] | None, env: dict[str, str], token: bytes | None,
        key: str, at: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFLUX_TOKEN", "OPC_PW"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    line = line_of(_edited(edit), at)
    assert _check(tmp_path, [edit], token) == 2
    err = capsys.readouterr().err
    assert f"plant.yaml:{line}:5 {key}: " in err and words in err, err
    assert _check(tmp_path, [edit], token, "--offline") == 0
    err = capsys.readouterr().err
    assert f"plant.yaml:{line}:5 warning: {key}: " in err and words in err, err
    assert "s3cr3t" not in err


@pytest.mark.parametrize("token", [b"s3cr3t\n", b"\xef\xbb\xbfs3cr3t\r\n"],
                         ids=["utf-8", "utf-8 with BOM (Notepad)"])
def test_secrets_that_are_there_pass(token: bytes, tmp_path: Path,
                                     capsys: pytest.CaptureFixture,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPC_PW", "pw")
    assert _check(tmp_path, [TOKEN_FILE, OPC_PASSWORD], token) == 0
    err = capsys.readouterr().err
    assert "warning" not in err and "valid (" in err, err
