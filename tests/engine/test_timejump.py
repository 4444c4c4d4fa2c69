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
from tests.engine.test_ccp import ccp_cfg

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


# -- the CCPs follow the same rule (engine/ccp.py `cut`) ---------------------------------
def watched(eng: Engine, a: float, b: float, temp: float | dict[float, float],
            every: float = 5.0) -> list:
    """M1 producing, its temperature read every `every` s in [a, b): `temp` is one value
    or {from_t: value}."""
    out = []
    t = a
    while t < b:
        v = temp if isinstance(temp, float) else temp[max(k for k in temp if k <= t)]
        out += eng.feed([S("M1.running", True, t), S("M1.temp", v, t)])
        out += eng.tick(t)
        t += every
    return out + eng.tick(b)


def ccp_buckets(points: list, meas: str = "ccp") -> dict[int, dict]:
    """A CCP measurement's points by bucket start (seconds); each bucket written once."""
    seen = Counter(p.ts_ns for p in pick(points, meas))
    assert seen and all(n == 1 for n in seen.values()), seen
    return {p.ts_ns // 10**9: p.fields for p in pick(points, meas)}


def test_a_ccp_sees_no_time_in_a_forward_step() -> None:
    eng = Engine(ccp_cfg(monitoring_interval_s=10), at("10:00"))
    pts = watched(eng, at("10:00"), at("10:00:30"), 3.0)
    pts += eng.clock_step(at("11:00:30"))
    pts += watched(eng, at("11:00:30"), at("11:02"), 3.0)
    got = ccp_buckets(pts)
    # as the machine's buckets: 10:00 closed at the step with its 30 s, nothing of the
    # gap, 11:00 from the step; every second monitored (the gap is no silence)
    assert sorted(got) == [int(at(t)) for t in ("10:00", "11:00", "11:01")]
    assert [got[int(at(t))]["span_s"] for t in ("10:00", "11:00", "11:01")] == [30, 30, 60]
    assert all(f["monitored_s"] == f["span_s"] and f["lost_s"] == 0 for f in got.values())
    assert pick(pts, "ccp_deviation") == []
    bureau = ccp_buckets(pts, "ccp_bureau")
    assert {k: f["monitored_s"] for k, f in bureau.items()} == {
        k: f["monitored_s"] for k, f in got.items()}


def test_a_ccp_never_rewrites_a_bucket_after_a_backward_step() -> None:
    eng = Engine(ccp_cfg(monitoring_interval_s=15), at("11:00"))
    pts = watched(eng, at("11:00"), at("11:00:30"), 3.0)
    pts += eng.clock_step(at("10:00:30"))  # the clock was an hour ahead
    pts += watched(eng, at("10:00:30"), at("11:02"), 3.0, every=10)
    got = ccp_buckets(pts)  # (each once)
    assert got[int(at("11:00"))]["span_s"] == 30  # the first timeline's, never again
    assert got[int(at("10:00"))]["span_s"] == 30 and got[int(at("10:30"))]["span_s"] == 60
    assert got[int(at("11:01"))]["span_s"] == 60
    assert len(got) == 1 + 60 + 1
    assert sorted(ccp_buckets(pts, "ccp_bureau")) == sorted(got)
    assert pick(pts, "ccp_deviation") == []


@pytest.mark.parametrize("min_dur", [
    0,  # a deviation at once
    30,  # qualified at 11:00:40: 20 s before the step + 10 s after it, observed time
])
def test_a_deviation_across_a_step_counts_observed_time(min_dur: int) -> None:
    eng = Engine(ccp_cfg(min_duration_s=min_dur, monitoring_interval_s=10), at("10:00"))
    temp = {at("10:00"): 3.0, at("10:00:10"): 6.0, at("11:01:00"): 3.0}
    pts = watched(eng, at("10:00"), at("10:00:30"), temp)
    pts += eng.clock_step(at("11:00:30"))
    pts += watched(eng, at("11:00:30"), at("11:00:35"), temp)
    # qualified once the excursion has lasted min_duration_s of observed time, not at
    # the step
    assert [p.ts_ns for p in pick(pts, "ccp_deviation", event="start")] == (
        [int(at("10:00:10")) * 10**9] if min_dur == 0 else [])
    pts += watched(eng, at("11:00:35"), at("11:02"), temp)
    (s,) = pick(pts, "ccp_deviation", event="start")
    (e,) = pick(pts, "ccp_deviation", event="end")
    assert s.ts_ns == int(at("10:00:10")) * 10**9 and e.fields["start_ns"] == s.ts_ns
    assert e.ts_ns == int(at("11:01:00")) * 10**9
    assert e.fields["duration_s"] == 20 + 30  # 10:00:10-10:00:30, 11:00:30-11:01:00
    assert pick(pts, "ccp_deviation", kind="monitoring") == []
    got = ccp_buckets(pts)  # deviation time: all of the excursion, once qualified
    assert {k: f["deviation_s"] for k, f in got.items()} == {
        int(at("10:00")): 20, int(at("11:00")): 30, int(at("11:01")): 0}


def test_a_snapshot_keeps_what_the_ccps_must_not_rewrite() -> None:
    c = ccp_cfg(monitoring_interval_s=15)
    eng = Engine(c, at("11:00"))
    pts = watched(eng, at("11:00"), at("11:00:30"), 3.0)
    pts += eng.clock_step(at("10:59:00"))
    snap = json.loads(json.dumps(eng.snapshot()))
    eng2 = Engine(c, at("10:59"), snapshot=snap)
    pts += watched(eng2, at("10:59"), at("11:01:10"), 3.0)
    got = ccp_buckets(pts)
    assert got[int(at("11:00"))]["span_s"] == 30  # the one written before the restart
    assert got[int(at("10:59"))]["span_s"] == 60
