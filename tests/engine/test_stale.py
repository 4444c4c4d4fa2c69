"""The stale rule at its boundary (Engine.expire, docs/engine.md "Staleness").

A machine with no good state read for longer than `stale_after_s` (10 s here) is
`unknown` from its deadline, last good read + 10 s. The rule is applied when time moves
past the deadline: a read exactly at the deadline is in time, a tick exactly at it
changes nothing, and the change is dated at the deadline whatever applies it. The last
read is at 06:00:50, so the deadline 06:01:00 is also a bucket boundary (60 s buckets).
"""

from __future__ import annotations

from typing import Any

import pytest

from lineside.engine.core import Engine
from lineside.samples import Quality, Sample
from tests.engine.plant import at, cfg, machine, pick, shift

CFG = cfg([{"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": [
    machine("M1", "running"), machine("M2", "running")]}]}],
    [shift("A", "06:00-07:00")])
LAST, DEADLINE = at("06:00:50"), at("06:01:00")


def _run(steps: list[tuple[str, float]]) -> tuple[Engine, list[Any]]:
    """M1 read every 10 s from 06:00:00 to 06:00:50, then `steps`: ("read", t) M1 read
    at t, ("other", t) only M2 read at t, ("tick", t), ("step", t) a clock step to t."""
    eng = Engine(CFG, at("06:00"))
    pts: list[Any] = []
    for i in range(6):
        pts += eng.feed([Sample("M1.running", True, Quality.GOOD, at("06:00") + 10 * i)])
    for what, t in steps:
        if what == "read":
            pts += eng.feed([Sample("M1.running", True, Quality.GOOD, t)])
        elif what == "other":
            pts += eng.feed([Sample("M2.running", True, Quality.GOOD, t)])
        elif what == "tick":
            pts += eng.tick(t)
        else:
            pts += eng.clock_step(t)
    return eng, pts


def _changes(pts: list[Any]) -> list[tuple[str, float]]:
    return [(p.fields["state"], p.ts_ns / 1e9) for p in pick(pts, "machine_state", machine="M1")]


@pytest.mark.parametrize("steps", [
    [("read", DEADLINE)],
    [("tick", DEADLINE), ("read", DEADLINE)],
    [("other", DEADLINE), ("read", DEADLINE)],
    [("read", DEADLINE), ("tick", DEADLINE + 10)],  # (the next deadline is 06:01:10)
], ids=["read at the deadline", "tick at the deadline, then the read",
        "another machine's read first", "then a tick at the next deadline"])
def test_a_read_exactly_at_the_deadline_is_in_time(steps: list[tuple[str, float]]) -> None:
    _, pts = _run(steps)
    assert _changes(pts) == [("producing", at("06:00"))]


@pytest.mark.parametrize("steps", [
    [("tick", DEADLINE + 0.001)],
    [("tick", DEADLINE), ("tick", DEADLINE + 0.001)],
    [("other", DEADLINE + 0.001), ("tick", DEADLINE + 30)],
    [("read", DEADLINE + 0.001)],
    [("tick", DEADLINE + 3600)],
    [("other", DEADLINE + 5), ("step", DEADLINE + 5 + 3600)],
], ids=["tick just past", "tick at it, then just past",
        "another machine's read just past, then a tick", "its own read just past",
        "a tick an hour later", "a clock step after it"])
def test_silence_past_the_deadline_is_unknown_from_the_deadline(
        steps: list[tuple[str, float]]) -> None:
    _, pts = _run(steps)
    assert _changes(pts)[:2] == [("producing", at("06:00")), ("unknown", DEADLINE)]


def test_a_tick_exactly_at_the_deadline_changes_nothing_yet() -> None:
    _, pts = _run([("tick", DEADLINE)])
    assert _changes(pts) == [("producing", at("06:00"))]


@pytest.mark.parametrize(("steps", "digitized"), [
    ([("tick", at("06:02"))], 0),  # unknown from the bucket's first instant: no live data
    ([*(("read", DEADLINE + 10 * i) for i in range(6)), ("tick", at("06:02"))], 1),
], ids=["silent", "read on"])
def test_the_bucket_starting_at_the_deadline(steps: list[tuple[str, float]],
                                             digitized: int) -> None:
    _, pts = _run(steps)
    (b,) = [p for p in pick(pts, "automation", level="stage") if p.ts_ns == DEADLINE * 1e9]
    assert b.fields["digitized"] == digitized
    (o,) = [p for p in pick(pts, "oee", machine="M1") if p.ts_ns == DEADLINE * 1e9]
    assert o.fields["unknown_s"] == (60 if digitized == 0 else 0)
