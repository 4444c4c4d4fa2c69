"""Critical control points, hand-computed (docs/haccp.md).

Each case is a short story on one machine M1 polled every second: `running` says
whether it produces, `temp` is the monitored temperature. The CCP `cold` (or `past`)
watches M1.temp. Expected deviations are (kind, start, end) in local time; expected
summary fields are worked out in the comment beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.engine.core import Engine
from tests.engine.plant import LINK_DOWN, S, at, cfg, machine, pick, poll, run_split, shift


def ccp_cfg(shifts: list[dict[str, Any]] | None = None, bucket_s: int = 60,
            **ccp: Any) -> Any:
    c = {"id": "cold", "kind": "cold_storage", "hazard": "Listeria growth above 4 °C",
         "machine": "M1", "signal": "temp", "unit": "°C", "critical": {"max": 4.0},
         "monitoring_interval_s": 5, **ccp}
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "other",
                                    "machines": [machine("M1", "running", "temp")]}]}
    return cfg([line], shifts or [shift("A", "06:00-07:00")], ccps=[c],
               metrics={"bucket_s": bucket_s})


def deviations(points: list[Any]) -> list[tuple[str, str, str | None]]:
    """(kind, start, end) per deviation, from the start and end events."""
    starts = {(p.tags["kind"], p.ts_ns): None for p in pick(points, "ccp_deviation",
                                                             event="start")}
    for p in pick(points, "ccp_deviation", event="end"):
        key = (p.tags["kind"], p.fields["start_ns"])
        assert key in starts, f"end without a start: {p}"
        assert starts[key] is None, f"two ends for one start: {p}"
        starts[key] = p.ts_ns
    def hms(ns: int | None) -> str | None:
        if ns is None:
            return None
        s = round(ns / 1e9 - at("00:00"))
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return sorted((k, hms(s), hms(e)) for (k, s), e in starts.items())  # type: ignore[misc]


def shift_summary(points: list[Any]) -> dict[str, Any]:
    (p,) = pick(points, "ccp_shift", ccp="cold")
    return dict(p.fields)


@dataclass
class Case:
    name: str
    rows: list[tuple[str, Any]]
    expect: list[tuple[str, str, str | None]]
    summary: dict[str, float] = field(default_factory=dict)
    ccp: dict[str, Any] = field(default_factory=dict)
    end: str = "07:00"


RUN = {"running": True}
CASES = [
    Case("excursion exactly at the duration threshold is a deviation",
         # 06:10:00 .. 06:25:00 above 4 °C = 900 s = min_duration_s: a deviation from 06:10.
         [("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}), ("06:25", {"temp": 3.0})],
         [("limit", "06:10:00", "06:25:00")],
         {"deviation_s": 900, "excursion_s": 0, "within_s": 2700, "deviations": 1,
          "monitored_s": 3600, "min": 3.0, "max": 5.0,
          "mean": (3.0 * 2700 + 5.0 * 900) / 3600},
         {"min_duration_s": 900}),
    Case("excursion one second under the threshold is not",
         # 06:10:00 .. 06:24:59 = 899 s < 900 s: excursion time, no deviation.
         [("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}),
          ("06:24:59", {"temp": 3.0})],
         [],
         {"deviation_s": 0, "excursion_s": 899, "within_s": 2701, "deviations": 0},
         {"min_duration_s": 900}),
    Case("a value exactly at the limit is within it",
         [("06:00", {**RUN, "temp": 4.0})], [],
         {"within_s": 3600, "excursion_s": 0, "deviation_s": 0}),
    Case("flapping at the limit with a minimum duration: no deviation",
         # 4.1 for 5 s, 3.9 for 5 s, 06:10..06:20: 60 excursions of 5 s = 300 s.
         [("06:00", {**RUN, "temp": 3.9}),
          *sorted((f"06:{10 + i // 6}:{i % 6 * 10 + k:02d}", {"temp": v})
                  for i in range(60) for k, v in ((0, 4.1), (5, 3.9)))],
         [], {"excursion_s": 300, "deviation_s": 0, "within_s": 3300},
         {"min_duration_s": 60}),
    Case("flapping at the limit with no minimum duration: each excursion counts",
         # three 5 s excursions at 06:10:00, 06:10:10, 06:10:20.
         [("06:00", {**RUN, "temp": 3.9}), ("06:10:00", {"temp": 4.1}),
          ("06:10:05", {"temp": 3.9}), ("06:10:10", {"temp": 4.1}), ("06:10:15", {"temp": 3.9}),
          ("06:10:20", {"temp": 4.1}), ("06:10:25", {"temp": 3.9})],
         [("limit", "06:10:00", "06:10:05"), ("limit", "06:10:10", "06:10:15"),
          ("limit", "06:10:20", "06:10:25")],
         {"deviation_s": 15, "deviations": 3, "excursion_s": 0}),
    Case("loss of monitoring: no good sample for longer than the interval",
         # last good 06:09:59, interval 5 s: lost from 06:10:04 to the next good 06:11:00.
         [("06:00", {**RUN, "temp": 3.0}), ("06:10", LINK_DOWN), ("06:11", {**RUN, "temp": 3.0})],
         [("monitoring", "06:10:04", "06:11:00")],
         {"lost_s": 56, "losses": 1, "monitored_s": 3544, "deviation_s": 0}),
    Case("an excursion ends where monitoring is lost, which is a deviation of its own",
         # above 4 from 06:10; link down 06:10:30: last good 06:10:29, lost from 06:10:34.
         [("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 6.0}), ("06:10:30", LINK_DOWN),
          ("06:12", {**RUN, "temp": 3.0})],
         [("limit", "06:10:00", "06:10:34"), ("monitoring", "06:10:34", "06:12:00")],
         {"deviation_s": 34, "lost_s": 86, "deviations": 1, "losses": 1}),
    Case("producing-only CCP: out of limits while idle is no deviation",
         # pasteurizer below 72 °C: idle 06:00-06:10 (65 °C, not applicable), producing at
         # 72.5 from 06:10, dips to 71.8 06:20-06:20:03, stops producing at 06:30 while cold.
         [("06:00", {"running": False, "temp": 65.0}), ("06:10", {**RUN, "temp": 72.5}),
          ("06:20", {"temp": 71.8}), ("06:20:03", {"temp": 72.4}),
          ("06:30", {"running": False, "temp": 60.0})],
         [("limit", "06:20:00", "06:20:03")],
         {"applicable_s": 1200, "deviation_s": 3, "within_s": 1197, "deviations": 1,
          "span_s": 3600},
         {"critical": {"min": 72.0}, "applies": "producing", "kind": "pasteurization"}),
    Case("producing-only CCP: the deviation ends when production stops",
         [("06:00", {**RUN, "temp": 72.5}), ("06:20", {"temp": 70.0}),
          ("06:20:10", {"running": False})],
         [("limit", "06:20:00", "06:20:10")],
         {"applicable_s": 1210, "deviation_s": 10},
         {"critical": {"min": 72.0}, "applies": "producing"}),
    Case("operating limits: warning time is inside the critical limits",
         # 3.5 above the operating max 3 for 06:10-06:20: 600 s warning, no deviation.
         [("06:00", {**RUN, "temp": 2.0}), ("06:10", {"temp": 3.5}), ("06:20", {"temp": 2.0})],
         [], {"warning_s": 600, "within_s": 3600, "deviation_s": 0},
         {"operating": {"max": 3.0}}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hand_computed(case: Case) -> None:
    config = ccp_cfg(**case.ccp)
    samples = poll(case.rows, case.end)
    eng = Engine(config, samples[0].ts)
    pts = eng.feed(samples) + eng.tick(at(case.end))
    assert deviations(pts) == case.expect
    got = shift_summary(pts)
    for k, v in case.summary.items():
        assert got[k] == pytest.approx(v, abs=1e-6), (k, got)


def test_deviation_across_bucket_and_shift_boundaries() -> None:
    # Shift A 06:00-07:00 then B 07:00-08:00; 60 s buckets; min duration 60 s.
    # Above 4 °C from 06:59:30 to 07:00:40 (70 s >= 60 s): a deviation from 06:59:30.
    # It qualifies at 07:00:30, after A closed: A's summary waits for it, then shows 30 s.
    config = ccp_cfg([shift("A", "06:00-07:00"), shift("B", "07:00-08:00")],
                     min_duration_s=60)
    samples = poll([("06:59", {**RUN, "temp": 3.0}), ("06:59:30", {"temp": 5.0}),
                    ("07:00:40", {"temp": 3.0})], "08:00")
    eng = Engine(config, samples[0].ts)
    pts: list[Any] = []
    emitted_at: dict[str, float] = {}
    for s in samples:
        for p in eng.feed([s]):
            pts.append(p)
            emitted_at.setdefault(f"{p.measurement}/{p.tags.get('shift', '')}", s.ts)
    pts += eng.tick(at("08:00"))
    assert deviations(pts) == [("limit", "06:59:30", "07:00:40")]
    a, b = (p.fields for p in pick(pts, "ccp_shift"))
    assert (a["deviation_s"], a["deviations"], b["deviation_s"], b["deviations"]) == (30, 1, 40, 0)
    # A's record waited for the qualification at 07:00:30
    assert emitted_at["ccp_shift/A"] == at("07:00:30")
    buckets = {p.ts_ns: p.fields for p in pick(pts, "ccp")}
    b0659, b0700 = buckets[at("06:59") * 1e9], buckets[at("07:00") * 1e9]
    assert (b0659["deviation_s"], b0659["deviations"], b0659["within_s"]) == (30, 1, 30)
    assert (b0700["deviation_s"], b0700["deviations"], b0700["within_s"]) == (40, 0, 20)


def test_deviation_open_at_shutdown_is_closed_after_restart() -> None:
    # Above 4 °C from 06:10; the agent stops at 06:20 (snapshot) and is back 3 s later
    # (less than the 5 s monitoring interval); the room is back at 3 °C at 06:30.
    config = ccp_cfg(min_duration_s=60)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}),
                    ("06:30", {"temp": 3.0})], "07:00")
    before = [s for s in samples if s.ts < at("06:20")]
    after = [s for s in samples if s.ts >= at("06:20:03")]
    eng = Engine(config, samples[0].ts)
    pts = eng.feed(before) + eng.close_open(at("06:20"))
    snap = eng.snapshot()
    assert deviations(pts) == [("limit", "06:10:00", None)]
    eng2 = Engine(config, at("06:20:03"), snapshot=snap)
    pts2 = eng2.feed(after) + eng2.tick(at("07:00"))
    assert deviations(pts + pts2) == [("limit", "06:10:00", "06:30:00")]
    # a gap longer than the interval ends it at 06:20:04 (monitoring lost); still above
    # 4 °C when monitoring resumes at 06:21: a new excursion, a deviation until 06:30
    eng3 = Engine(config, at("06:21"), snapshot=snap)
    pts3 = eng3.feed([s for s in after if s.ts >= at("06:21")]) + eng3.tick(at("07:00"))
    assert deviations(pts + pts3) == [("limit", "06:10:00", "06:20:04"),
                                      ("limit", "06:21:00", "06:30:00"),
                                      ("monitoring", "06:20:04", "06:21:00")]


def test_deviation_points_carry_peak_limit_state_and_shift() -> None:
    config = ccp_cfg(min_duration_s=0)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}),
                    ("06:10:05", {"temp": 7.5}), ("06:10:08", {"temp": 6.0}),
                    ("06:10:20", {"temp": 3.0})], "06:15")
    eng = Engine(config, samples[0].ts)
    pts = eng.feed(samples) + eng.tick(at("06:15"))
    (start,) = pick(pts, "ccp_deviation", event="start")
    (end,) = pick(pts, "ccp_deviation", event="end")
    assert start.tags["ccp"] == "cold" and start.tags["machine"] == "M1"
    assert start.fields == {"value": 5.0, "limit": 4.0, "side": "max", "state": "producing",
                            "shift": "A", "shift_date": "2026-11-30", "min_duration_s": 0.0}
    assert end.fields["peak"] == 7.5 and end.fields["duration_s"] == 20.0
    assert end.fields["end_reason"] == "back within limits"


def test_batching_does_not_change_the_points() -> None:
    # `lineside replay` feeds chunks of 4096 samples, the agent one poll at a time.
    config = ccp_cfg(min_duration_s=30)
    rows = [("06:00", {**RUN, "temp": 3.0}), ("06:05", {"temp": 5.0}), ("06:06", LINK_DOWN),
            ("06:07", {**RUN, "temp": 6.0}), ("06:09", {"temp": 2.0}),
            ("06:30", {"running": False}), ("06:40", {**RUN, "temp": 4.5})]
    samples = poll(rows, "07:00")
    whole = Engine(config, samples[0].ts)
    a = whole.feed(samples) + whole.tick(at("07:01"))
    one = Engine(config, samples[0].ts)
    b = [p for s in samples for p in one.feed([s])] + one.tick(at("07:01"))
    key = lambda p: (p.measurement, sorted(p.tags.items()), p.ts_ns)  # noqa: E731
    assert sorted(a, key=key) == sorted(b, key=key)
    assert pick(a, "ccp_deviation")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 120), st.sampled_from([2.0, 4.0, 4.5, 9.0, None])),
                min_size=1, max_size=30),
       st.integers(0, 90))
def test_summary_time_partitions(steps: list[tuple[int, float | None]], min_dur: int) -> None:
    """Every second is counted once: span = applicable (always here); applicable =
    monitored + lost + the seconds before the first value; monitored = within +
    excursion + deviation; buckets add up to the shift."""
    rows: list[tuple[str, Any]] = []
    t = 0
    for dt_s, v in steps:
        rows.append((f"06:{t // 60:02d}:{t % 60:02d}",
                     LINK_DOWN if v is None else {**RUN, "temp": v}))
        t = min(t + dt_s, 3000)
    if rows[0][1] == LINK_DOWN:
        rows[0] = (rows[0][0], {**RUN, "temp": 3.0})
    config = ccp_cfg(min_duration_s=min_dur)
    samples = poll(rows, "07:00")
    eng = Engine(config, at("06:00"))
    pts = eng.feed(samples) + eng.tick(at("07:00"))
    f = shift_summary(pts)
    assert f["span_s"] == pytest.approx(3600)
    assert f["applicable_s"] == pytest.approx(f["monitored_s"] + f["lost_s"])
    assert f["monitored_s"] == pytest.approx(f["within_s"] + f["excursion_s"]
                                             + f["deviation_s"])
    buckets = pick(pts, "ccp")
    assert len(buckets) == 60
    for k in ("deviation_s", "lost_s", "excursion_s", "within_s", "deviations", "losses"):
        assert sum(b.fields[k] for b in buckets) == pytest.approx(f[k]), k
    devs = deviations(pts)
    assert f["deviations"] + f["losses"] == len(devs)


def _doc_table(heading: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "haccp.md").read_text()
    part = text[text.index(heading):]
    table = part[part.index("\n|"): part.index("\n\n", part.index("\n|"))]
    return "\n".join(table.strip().splitlines()[2:])  # rows without header and rule


def test_documented_fields_are_the_written_fields() -> None:
    config = ccp_cfg(min_duration_s=0)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}),
                    ("06:10:05", LINK_DOWN), ("06:11", {**RUN, "temp": 3.0})], "07:00")
    eng = Engine(config, samples[0].ts)
    pts = eng.feed(samples) + eng.tick(at("07:00"))
    table = _doc_table("`ccp` (per bucket")
    documented = {n for row in table.splitlines() for n in
                  re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    assert set(shift_summary(pts)) == documented
    rows = _doc_table("`ccp_deviation` points").splitlines()
    for row in rows:
        cells = row.split("|")
        kind, event = (w.strip() for w in cells[1].split(","))
        (p,) = pick(pts, "ccp_deviation", kind=kind, event=event)
        assert set(p.fields) == set(re.findall(r"`([a-z_]+)`", cells[3])), row


def test_replay_of_the_sample_log_reproduces_every_ccp_point(tmp_path: Path) -> None:
    from lineside.engine.replay import replay
    from lineside.samplelog import SampleLog, read_samples
    from lineside.sinks.lineproto import to_line

    config = ccp_cfg(min_duration_s=20)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:05", {"temp": 5.5}),
                    ("06:06", LINK_DOWN), ("06:07", {**RUN, "temp": 3.0})], "06:30")
    eng = Engine(config, samples[0].ts)
    live = [to_line(p) for p in eng.feed(samples) + eng.tick(samples[-1].ts)
            if p.measurement.startswith("ccp")]
    with SampleLog(tmp_path / "s.jsonl") as log:
        log.write(samples)
    again = [to_line(p) for p in replay(config, read_samples(tmp_path / "s.jsonl"))
             if p.measurement.startswith("ccp")]
    assert len(live) > 30 and again == live


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 120), st.sampled_from([2.0, 4.5, 9.0, None, "idle"])),
                min_size=1, max_size=25),
       st.integers(0, 90), st.floats(0, 1), st.booleans())
def test_split_and_resume_from_a_snapshot_gives_the_same_points(
        steps: list[tuple[int, Any]], min_dur: int, where: float, tick_mid: bool) -> None:
    """docs/engine.md's resume property, with CCPs (producing-only here, so machine
    state changes count): a JSON snapshot taken anywhere resumes to the same points."""
    rows: list[tuple[str, Any]] = [("06:00", {**RUN, "temp": 3.0})]
    t = 0
    for dt_s, v in steps:
        t = min(t + dt_s, 3000)
        row = (LINK_DOWN if v is None else {"running": False} if v == "idle"
               else {**RUN, "temp": v})
        rows.append((f"06:{t // 60:02d}:{t % 60:02d}", row))
    config = ccp_cfg(min_duration_s=min_dur, applies="producing")
    samples = poll(sorted(rows, key=lambda r: r[0]), "07:00")

    def run(split: int | None) -> list[Any]:
        return run_split(config, at("06:00"), samples, at("07:00"), split, tick_mid)

    def key(p: Any) -> tuple[Any, ...]:
        return (p.measurement, tuple(sorted(p.tags.items())),
                tuple(sorted(p.fields.items())), p.ts_ns)

    whole = [key(p) for p in run(None) if p.measurement.startswith("ccp")]
    resumed = [key(p) for p in run(int(where * len(samples))) if p.measurement.startswith("ccp")]
    assert sorted(whole) == sorted(resumed)
    assert whole


# --- the same-instant rule (docs/haccp.md): a state change and a reading of one instant
# are applied together, state first, whatever order and feed calls bring them in.
PAST = {"critical": {"min": 72.0}, "applies": "producing", "kind": "pasteurization",
        "min_duration_s": 0}
SUB_US = 0.8474337369372327  # a poll stamped below the microsecond (time.time(), OPC UA)


def _stop_as_it_cools(order: str, delivery: str, frac: float, drop_before: float) -> list[Any]:
    """M1 (and M2, another device's machine) produce at 73 °C from 06:00; at 06:05 +
    `frac` one poll reads M1 stopped and 65 °C (the temperature `drop_before` seconds
    earlier when > 0: then it is judged while producing)."""
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "other", "machines": [
        machine("M1", "running", "temp"), machine("M2", "running")]}]}
    config = cfg([line], [shift("A", "06:00-07:00")], ccps=[{
        "id": "past", "hazard": "pathogens", "machine": "M1", "signal": "temp", "unit": "°C",
        "monitoring_interval_s": 5, **PAST}])
    t0 = at("06:00") + frac
    eng = Engine(config, at("06:00"))
    pts: list[Any] = []
    for i in range(300):  # 06:00 .. 06:04:59, one poll a second
        pts += eng.feed([S("M1.running", True, t0 + i), S("M1.temp", 73.0, t0 + i),
                         S("M2.running", True, t0 + i)])
    ts = t0 + 300
    temp, stop = S("M1.temp", 65.0, ts - drop_before), S("M1.running", False, ts)
    poll = [temp, stop] if order == "value first" else [stop, temp]
    if delivery == "one feed":
        pts += eng.feed(poll)
    elif delivery == "two feeds":
        pts += eng.feed(poll[:1]) + eng.feed(poll[1:])
    elif delivery == "tick between":
        pts += eng.feed(poll[:1]) + eng.tick(ts) + eng.feed(poll[1:])
    else:  # "late": another device's poll moved the engine's time on first
        pts += eng.feed([S("M2.running", True, ts + 0.01)]) + eng.feed(poll)
    for i in range(1, 60):
        pts += eng.feed([S("M1.running", False, ts + i), S("M1.temp", 65.0, ts + i),
                         S("M2.running", True, ts + i)])
    return pts + eng.tick(at("07:00"))


@pytest.mark.parametrize("frac", [0.0, SUB_US], ids=["whole second", "below the microsecond"])
@pytest.mark.parametrize("delivery", ["one feed", "two feeds", "tick between", "late"])
@pytest.mark.parametrize("order", ["value first", "state first"])
def test_state_change_and_reading_of_one_instant_are_applied_together(
        order: str, delivery: str, frac: float) -> None:
    pts = _stop_as_it_cools(order, delivery, frac, drop_before=0)
    assert pick(pts, "ccp_deviation", kind="limit") == []
    (summary,) = pick(pts, "ccp_shift", ccp="past")
    assert (summary.fields["deviations"], summary.fields["min"]) == (0, 73.0)


@pytest.mark.parametrize("delivery", ["one feed", "two feeds"])
def test_a_reading_one_poll_before_the_stop_is_judged_while_producing(delivery: str) -> None:
    # The control: 65 °C read one second before the stop is a deviation of 1 s.
    pts = _stop_as_it_cools("value first", delivery, SUB_US, drop_before=1)
    assert [(p.tags["event"], p.fields.get("duration_s"))
            for p in pick(pts, "ccp_deviation", kind="limit")] == [("start", None), ("end", 1.0)]
