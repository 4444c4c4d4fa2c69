"""`check --print`'s YAML by libyaml: the same text as PyYAML's pure-Python emitter."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineside.cli.check import resolved_dump
from lineside.config.loader import load_config
from lineside.yamldump import libyaml_writes_same, safe_dump

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [ROOT / "config" / "example.yaml", ROOT / "config" / "demo.yaml",
           *sorted((ROOT / "tests" / "cases").glob("*/config.yaml"))]
ODD = ["", " ", "x" * 300, "é" * 500, "中文" * 60, "中 文 " * 40, "\u202e", "\u2028", "a\nb",
       "a\n", " a", "a ", "null", "~", "yes", "08:00", "1e3", "- a", "a: b", "#c", "'q'",
       '"d"', "\t", "\ufeff", "\x7f", "\ue000", "long words " * 30, "\x85", "😀", "a😀"]


def pure(data: Any) -> str:
    return yaml.dump(data, Dumper=yaml.SafeDumper, sort_keys=False, allow_unicode=True)


def test_libyaml_is_present() -> None:
    # without it the speed is gone, not the output: PyYAML's wheels ship it
    assert getattr(yaml, "CSafeDumper", None) is not None


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.parent.name + "/" + p.name)
def test_resolved_dump_is_pure_pyyamls_text(path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setenv("INFLUX_TOKEN", "t")
    written: dict[Any, str] = {}
    cfg = load_config(path, [], written, secrets="warnings")
    fast = resolved_dump(cfg, written)
    monkeypatch.setattr("lineside.yamldump._CDUMPER", None)
    assert fast == resolved_dump(cfg, written)
    assert len(fast) > 500 and "lines:" in fast


def test_odd_scalars_and_keys_are_written_as_pyyaml_writes_them() -> None:
    rng = random.Random(24)
    checked = fast = 0
    for v in [*ODD, 1e308, float("nan"), -0.0, 2**70, None, True, [], {}]:
        for k in [v, "k"] if isinstance(v, str) else ["k"]:
            data = {"k": v, k: [v, {"m": v}], "l": [{k: {k: v}}]}
            assert safe_dump(data) == pure(data), (k, v)
            checked += 1
            fast += libyaml_writes_same(data)
    for alphabet in ("a", "中", "é", "a b", "中 ", "ü-", "😀"):
        for n in range(1, 130):
            key = "".join(rng.choice(alphabet) for _ in range(n))
            data = {key: 1, "k": {key: [key]}}
            assert safe_dump(data) == pure(data), key
            checked += 1
            fast += libyaml_writes_same(data)
    # the fast path is taken for most of them (the guard is not "never")
    assert checked > 900 and fast > checked // 3, (checked, fast)


def test_guard_sends_libyamls_differences_to_pure_python() -> None:
    for data in ({"": 1}, {"k": "😀"}, {"k": ["\x85"]}, {"中" * 43: 1}, {"a" * 123: 1}):
        assert not libyaml_writes_same(data)
        assert yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False,
                         allow_unicode=True) != pure(data)  # why the guard exists
    assert libyaml_writes_same({"中" * 33: ["é" * 5000, 1, None, {"a": 1.5}]})
