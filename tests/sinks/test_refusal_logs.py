"""The lines an operator and an auditor must each see pass the log rate limit (issue 23):
one ERROR per record the HACCP chain refuses, one WARNING per series a stage refuses,
however many arrive in the same minute from the same device."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineside.points import Point, Refusal
from lineside.runtime.logs import RateLimit
from lineside.sinks.chainstore import read_refused, set_aside
from lineside.sinks.refusals import Refusals

T0 = 1_796_018_400_000_000_000


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def limited() -> Iterator[Kept]:
    """The agent's limiter (setup_logging) on a handler of the `lineside` loggers, its
    clock frozen: everything below happens within one period."""
    h = Kept()
    h.addFilter(RateLimit(period_s=60, clock=lambda: 0.0))
    root = logging.getLogger("lineside")
    root.addHandler(h)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        yield h
    finally:
        root.removeHandler(h)
        root.setLevel(old)


def ccp(i: int) -> Point:
    return Point("ccp", {"line": "L1", "ccp": f"fryer-{i}"},
                 {"value_max": float("inf"), "deviation": 0}, T0 + i * 10**9)


def test_every_record_the_chain_refuses_is_logged(limited: Kept, tmp_path: Path) -> None:
    bad = [Refusal(ccp(i), "value_max", "non-finite") for i in range(3)]
    set_aside(tmp_path / "haccp-refused.jsonl", bad[:1])
    set_aside(tmp_path / "haccp-refused.jsonl", bad[1:])  # the same second, the same device
    errors = [ln for ln in limited.lines if "refused by the chain" in ln]
    assert len(errors) == 3, limited.lines
    assert [ln for i in range(3) for ln in errors if f"fryer-{i}" in ln] == errors
    assert len(read_refused(tmp_path / "haccp-refused.jsonl")) == 3


def test_each_refused_series_is_logged_once(limited: Kept) -> None:
    r = Refusals({"m1": "plc-1"})  # both machines read from one device
    r.device_of["m2"] = "plc-1"

    def sig(machine: str, k: int) -> Refusal:
        return Refusal(Point("signal", {"machine": machine, "signal": "temp"},
                             {"value": float("nan")}, T0 + k), "value", "non-finite")

    r.add("lineproto", [sig("m1", 0), sig("m1", 1)])
    r.add("lineproto", [sig("m2", 2), sig("m1", 3)])
    warned = [ln for ln in limited.lines if "refused a signal point" in ln]
    assert len(warned) == 2, limited.lines  # one per series, m2's not cut by m1's
    assert "machine=m1" in warned[0] and "machine=m2" in warned[1]
    assert r.counts == {("lineproto", "non-finite"): 4}
