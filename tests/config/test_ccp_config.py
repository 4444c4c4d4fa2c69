"""`ccps:` in `lineside check`: each mistake named with its key path and line."""

from __future__ import annotations

import pytest

from lineside.config.loader import parse_config
from tests.config.test_check import VALID, assert_mistake_named

CCP = """\
ccps:
  - id: dicer-temp
    kind: chilling
    hazard: Growth of pathogens in warm meat
    machine: dicer-1
    signal: meat_temp
    critical: {max: 7}
    operating: {max: 5}
    min_duration_s: 300
    monitoring_interval_s: 10
"""
_GOOD = "good: {address: 2, type: uint32}"
_INDENT = " " * (len(VALID.split(_GOOD)[0]) - VALID.split(_GOOD)[0].rindex("\n") - 1)
_RUNNING = 'running: {node: "ns=2;s=Packer1.Running"}'
BASE = (VALID.replace(_GOOD, f"{_GOOD}\n{_INDENT}meat_temp: {{address: 10, type: float32}}")
        .replace(_RUNNING, f'{_RUNNING}\n{_INDENT}seal_temp: {{node: "ns=2;s=Packer1.Seal"}}')
        + CCP)


def test_a_valid_ccp_is_accepted() -> None:
    (c,) = parse_config(BASE, "ok.yaml").ccps
    assert (c.machine, c.signal, c.critical.max, c.applies) == ("dicer-1", "meat_temp", 7.0,
                                                                 "always")


# (case, old text, new text, expected path, text on the expected line, words in the message)
CASES = [
    ("unknown machine", "machine: dicer-1", "machine: dicer-9", "ccps[0].machine",
     "machine: dicer-9", "unknown machine 'dicer-9'"),
    ("signal the machine does not have", "signal: meat_temp", "signal: oil_temp",
     "ccps[0].signal", "signal: oil_temp", "no signal 'oil_temp'; its process values: "
     "['meat_temp']"),
    ("a role signal is no process value", "signal: meat_temp", "signal: good",
     "ccps[0].signal", "signal: good", "role signal"),
    ("no limit at all", "critical: {max: 7}", "critical: {}", "ccps[0].critical",
     "critical: {}", "give `min`, `max` or both"),
    ("min above max", "critical: {max: 7}", "critical: {min: 9, max: 7}", "ccps[0].critical",
     "critical:", "min (9) must be below max (7)"),
    ("operating limits outside the critical ones", "operating: {max: 5}",
     "operating: {max: 8}", "ccps[0]", "- id: dicer-temp", "operating max (8) is above"),
    ("no monitoring interval", "    monitoring_interval_s: 10\n", "",
     "ccps[0].monitoring_interval_s", "- id: dicer-temp", "required key is missing"),
    ("negative duration", "min_duration_s: 300", "min_duration_s: -1",
     "ccps[0].min_duration_s", "min_duration_s: -1", "greater than or equal to 0"),
    ("unknown applicability", "monitoring_interval_s: 10",
     "monitoring_interval_s: 10\n    applies: running", "ccps[0].applies", "applies: running",
     "'always' or 'producing'"),
    ("duplicate id", CCP, CCP + CCP.replace("ccps:\n", ""), "ccps[1].id",
     "- id: dicer-temp", "more than once"),
    ("monitoring interval not longer than the poll interval",
     "monitoring_interval_s: 10", "monitoring_interval_s: 1", "ccps[0].monitoring_interval_s",
     "monitoring_interval_s: 1", "polled every 1 s"),
    ("a machine read by OPC UA subscription",
     "machine: dicer-1\n    signal: meat_temp", "machine: packer-1\n    signal: seal_temp",
     "ccps[0].machine", "machine: packer-1", "set `mode: poll`"),
]


@pytest.mark.parametrize(("case", "old", "new", "path", "at", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_ccp_mistake_is_named(case: str, old: str, new: str, path: str, at: str,
                                   words: str) -> None:
    assert_mistake_named(BASE, case, old, new, path, at, words)
