"""When the wall clock jumps (engine/timejump.py, docs/engine.md "When the clock jumps").

One machine producing from 10:00, polled every 5 s, 60 s buckets, around the clock
unless a case says otherwise. The runtime reports a step with `clock_step(to)`; each
case writes the figures it expects by hand.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lineside.engine.core import Engine
from tests.engine.plant import S, at, cfg, one_machine_line, pick, shift

BUCKET_NS = 60 * 10**9


def produce(eng: Engine, a: float, b: float, every: float = 5.0) -> list:
    """The machine read as running every `every` s in [a, b), ticking as a runtime does."""
    out = []
    t = a
    while t < b:
        out += eng.feed([S("M1.running", True, t)])
        out += eng.tick(t)
        t += every
    return out + eng.tick(b)


def buckets(points: list) -> dict[int, dict]:
    """Machine `oee` points by bucket start (seconds); each bucket written once."""
    seen = Counter(p.ts_ns for p in pick(points, "oee", level="machine"))
    assert all(n == 1 for n in seen.values()), seen
    return {p.ts_ns // 10**9: p.fields for p in pick(points, "oee", level="machine")}


def test_forward_step_is_a_gap_not_an_hour_of_unknown() -> None:
    eng = Engine(cfg([one_machine_line("running")]), at("10:00"))
    pts = produce(eng, at("10:00"), at("10:00:30"))
    pts += eng.clock_step(at("11:00:30"))  # NTP: the clock was an hour behind
    pts += produce(eng, at("11:00:30"), at("11:02"))
    got = buckets(pts)
    # 10:00 closed at the step with what it saw: 30 s producing, nothing of the gap
    assert got[int(at("10:00"))]["scheduled_s"] == 30 and got[int(at("10:00"))]["run_s"] == 30
    # no bucket inside the gap; 11:00 opens at the step: 30 s observed
    assert sorted(got) == [int(at(t)) for t in ("10:00", "11:00", "11:01")]
    assert got[int(at("11:00"))]["run_s"] == 30 and got[int(at("11:00"))]["unknown_s"] == 0
    assert got[int(at("11:01"))]["run_s"] == 60
    # the machine never went unknown, and its state duration counts observed time
    assert [p.fields["state"] for p in pick(pts, "machine_state")] == ["producing"]
    assert eng.stats.clock_steps == 1


def test_backward_step_never_rewrites_a_closed_bucket() -> None:
    eng = Engine(cfg([one_machine_line("running")], metrics={"stale_after_s": 30}),
                 at("11:00"))
    pts = produce(eng, at("11:00"), at("11:00:30"))
    pts += eng.clock_step(at("10:00:30"))  # the clock was an hour ahead
    # the new timeline lives through 10:00:30 .. 11:02 again, for real
    pts += produce(eng, at("10:00:30"), at("11:02"), every=10)
    got = buckets(pts)
    # 11:00 was written at the step (30 s); reached again an hour later it is accounted
    # but not written a second time
    assert got[int(at("11:00"))]["run_s"] == 30
    assert eng.stats.buckets_not_rewritten == 1
    # the hour before it was never written: it is, normally
    assert got[int(at("10:00"))]["run_s"] == 30 and got[int(at("10:30"))]["run_s"] == 60
    assert got[int(at("11:01"))]["run_s"] == 60
    assert len(got) == 1 + 60 + 1  # 11:00 once, 10:00..10:59, 11:01
    assert [p.fields["state"] for p in pick(pts, "machine_state")] == ["producing"]


def test_small_step_back_inside_the_bucket_is_absorbed() -> None:
    eng = Engine(cfg([one_machine_line("running")]), at("10:00"))
    pts = produce(eng, at("10:00"), at("10:00:30"))
    assert eng.clock_step(at("10:00:25")) == []  # held at 10:00:30 until the clock passes
    pts += produce(eng, at("10:00:25"), at("10:01:05"))
    got = buckets(pts)
    assert got[int(at("10:00"))]["scheduled_s"] == 60 and got[int(at("10:00"))]["run_s"] == 60
    assert eng.stats.clock_steps == 0


@pytest.mark.parametrize(("to", "shift_scheduled_s"), [
    ("10:30", 60),    # forward out of the 10:00-10:02 shift: closed at the step, 60 s
    ("10:01:30", 90),  # forward inside it: stays open, 60 s before + 30 s after the gap
])
def test_the_open_shift_closes_only_when_the_step_leaves_it(to: str,
                                                          shift_scheduled_s: float) -> None:
    c = cfg([one_machine_line("running")], [shift("s", "10:00-10:02")])
    eng = Engine(c, at("10:00"))
    pts = produce(eng, at("10:00"), at("10:01"))
    pts += eng.clock_step(at(to))
    pts += produce(eng, at(to), at("10:31"))
    (sh,) = pick(pts, "oee_shift", level="machine")
    assert sh.fields["scheduled_s"] == shift_scheduled_s
    assert sh.ts_ns == int(at("10:00")) * 10**9


def test_snapshot_keeps_the_written_spans_across_a_restart() -> None:
    c = cfg([one_machine_line("running")])
    eng = Engine(c, at("11:00"))
    pts = produce(eng, at("11:00"), at("11:00:30"))
    pts += eng.clock_step(at("10:59:00"))
    snap = json.loads(json.dumps(eng.snapshot()))
    eng2 = Engine(c, at("10:59"), snapshot=snap)
    pts += produce(eng2, at("10:59"), at("11:01:10"))
    got = buckets(pts)
    assert got[int(at("11:00"))]["run_s"] == 30  # the one written before the restart
    assert eng2.stats.buckets_not_rewritten == 1
