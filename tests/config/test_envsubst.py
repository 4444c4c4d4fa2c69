"""`${VAR}` / `${VAR:-default}` in configuration values (lineside/config/envsubst.py).

The substitution table, then what `lineside check` says about an unset variable: its
name, the key path and the line of the value.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from lineside.config.envsubst import substitute_env
from lineside.config.errors import ConfigError
from lineside.config.loader import parse_config
from tests.config.test_check import VALID

ENV = {"HOST": "192.0.2.10", "EMPTY": "", "PORT": "5020"}


@pytest.mark.parametrize(
    ("written", "result"),
    [
        ("${HOST}", "192.0.2.10"),
        ("http://${HOST}:${PORT}", "http://192.0.2.10:5020"),  # several, inside text
        ("${UNSET:-10.0.0.1}", "10.0.0.1"),                      # default when unset
        ("${EMPTY:-fallback}", "fallback"),                      # ... and when empty
        ("${HOST:-fallback}", "192.0.2.10"),                     # set wins
        ("${EMPTY}", ""),                                        # set and empty: empty
        ("${UNSET:-}", ""),                                      # empty default
        ("${UNSET:-a:b/c}", "a:b/c"),                            # default taken as written
        ("$${HOST}", "${HOST}"),                                 # escaped: literal
        ("cost $5", "cost $5"),                                  # a lone $ stays
        ("$HOST", "$HOST"),                                      # only the braced form
    ],
)
def test_substitution(written, result) -> None:
    data, problems = substitute_env({"k": written}, ENV)
    assert problems == [] and data == {"k": result}


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("${UNSET}", "environment variable UNSET is not set"),
        ("x-${UNSET}-y", "environment variable UNSET is not set"),
        ("${1BAD}", "malformed '${1BAD}'"),
        ("${HOST", "malformed '${HOST'"),
        ("${HOST:=x}", "malformed '${HOST:=x}'"),  # only :- is a default
    ],
)
def test_problems_name_the_variable(written, message) -> None:
    _, problems = substitute_env({"a": [{"b": written}]}, ENV)
    assert [(loc, message in msg) for loc, msg in problems] == [(("a", 0, "b"), True)]


def test_written_keeps_the_text_of_values_that_took_a_variable() -> None:
    written: dict = {}
    data = {"a": "http://${HOST}:${UNSET:-80}", "b": ["$${HOST}", "plain", "${EMPTY}"]}
    substitute_env(data, ENV, written)
    # an escaped `$${` took no variable: its value is the file's own text
    assert written == {("a",): "http://${HOST}:${UNSET:-80}", ("b", 2): "${EMPTY}"}


def test_keys_and_non_strings_are_left_alone() -> None:
    data = {"${HOST}": 1, "n": 5, "b": True, "none": None}
    assert substitute_env(data, ENV) == (data, [])


def test_a_substituted_number_is_typed_by_its_key() -> None:
    text = VALID.replace("port: 5020", "port: ${PORT}")
    cfg = parse_config(text, env=ENV)
    assert cfg.devices[0].port == 5020
    cfg = parse_config(text.replace("${PORT}", "${UNSET:-502}"), env=ENV)
    assert cfg.devices[0].port == 502


def test_an_unset_variable_is_reported_once_at_its_key_and_line() -> None:
    text = VALID.replace("host: 127.0.0.1", "host: ${PLC_HOST}")
    line = text.splitlines().index("    host: ${PLC_HOST}") + 1
    with pytest.raises(ConfigError) as e:
        parse_config(text, env={})
    # not also "invalid host '${PLC_HOST}'": the unset variable is the cause
    [issue] = e.value.issues
    assert (issue.path, issue.line, issue.column) == ("devices[0].host", line, 5)
    assert "PLC_HOST is not set" in issue.message


def test_check_names_the_unset_variable(tmp_path) -> None:
    path = tmp_path / "plant.yaml"
    text = VALID.replace("endpoint: opc.tcp://127.0.0.1:4840",
                         "endpoint: opc.tcp://${OPC_HOST}:4840")
    path.write_text(text)
    line = text.splitlines().index("    endpoint: opc.tcp://${OPC_HOST}:4840") + 1
    env = {"PATH": "/usr/bin:/bin", "INFLUX_TOKEN": "t"}
    res = subprocess.run([sys.executable, "-m", "lineside.cli", "check", "--locale", "en",
                          str(path)],
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 2
    assert f"{path}:{line}:5 devices[1].endpoint: environment variable OPC_HOST is not set" \
        in res.stderr, res.stderr
    res = subprocess.run([sys.executable, "-m", "lineside.cli", "check", "--locale", "en",
                          str(path)],
                         capture_output=True, text=True, timeout=60,
                         env={**env, "OPC_HOST": "192.0.2.20"})
    assert res.returncode == 0, res.stderr
