"""The documentation of the configuration cannot drift from the models."""

from __future__ import annotations

import re
from pathlib import Path

from lineside.config.loader import load_config
from lineside.config.reference import all_keys, render

ROOT = Path(__file__).resolve().parents[2]


def test_reference_is_generated_from_the_models() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert text == render(), ("docs/configuration.md is out of date: run "
                              "`python -m lineside.config.reference > docs/configuration.md`")


def test_example_is_valid() -> None:
    cfg = load_config(ROOT / "config" / "example.yaml")
    assert {s.role for s in cfg.sinks} == {"plant", "bureau"}
    assert {d.type for d in cfg.devices} == {"modbus-tcp", "modbus-rtu", "modbus-rtu-over-tcp",
                                             "opcua"}


def test_example_mentions_every_key() -> None:
    text = (ROOT / "config" / "example.yaml").read_text()
    written = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*):", text))
    missing = sorted(all_keys() - written)
    assert not missing, f"config/example.yaml does not document: {missing}"


def test_demo_config_is_valid() -> None:
    cfg = load_config(ROOT / "config" / "demo.yaml")
    assert len(cfg.lines) >= 4

