"""`lineside schema`: a JSON Schema (2020-12) that editors can use on real files.

The files are read the way yaml-language-server reads them (YAML 1.2: `2026-12-05 08:00`
is a string, not a timestamp), then validated with jsonschema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Yaml12(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 timestamps, as an editor's YAML 1.2 parser reads."""


_Yaml12.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


@pytest.fixture(scope="module")
def schema() -> dict:
    res = subprocess.run([sys.executable, "-m", "lineside.cli", "schema"],
                         capture_output=True, text=True, timeout=60, check=True)
    out = json.loads(res.stdout)
    jsonschema.Draft202012Validator.check_schema(out)
    return out


@pytest.mark.parametrize("name", ["example.yaml", "demo.yaml"])
def test_the_shipped_configurations_validate(schema, name) -> None:
    data = yaml.load((ROOT / "config" / name).read_text(), Loader=_Yaml12)
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["site"].update(enterprize="x"), ["site"]),            # unknown key
        (lambda d: d["devices"][0].update(type="modbus-udp"), ["devices", 0]),
        (lambda d: d["lines"][0]["stages"][0].update(kind=7), None),
        (lambda d: d.pop("lines"), []),                                    # required
    ],
    ids=["unknown-key", "unknown-device-type", "wrong-type", "missing-lines"],
)
def test_the_schema_rejects_what_check_rejects(schema, edit, where) -> None:
    data = yaml.load((ROOT / "config" / "example.yaml").read_text(), Loader=_Yaml12)
    edit(data)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert errors
    if where is not None:
        assert any(list(e.absolute_path)[:len(where)] == where for e in errors), errors


def test_a_substituted_value_passes_where_the_type_would_not(schema) -> None:
    """`port: ${PLC_PORT}` is a string in the file, an integer once loaded."""
    data = yaml.load((ROOT / "config" / "example.yaml").read_text(), Loader=_Yaml12)
    data["devices"][0]["port"] = "${PLC_PORT:-502}"
    data["site"]["timezone"] = "${TZ}"
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data)) == []
    data["devices"][0]["port"] = "502"  # a plain string is still not a port
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data))
