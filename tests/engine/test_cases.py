"""Hand-computed cases: what a plant engineer would work out on paper.

Each case is a short production story: the shift calendar, the PLC values row by row
(the PLC is polled every second and shows a row's values until the next row), and the
figures expected for the shift, worked out from the formulas of docs/design.md:

    availability = run_s / planned_busy_s
    performance  = ideal cycle x total_count / run_s
    quality      = good_count / total_count
    oee          = ideal cycle x good_count / planned_busy_s

All machines make 60 units per minute at their ideal rate (1 s per unit) unless a case
says otherwise, and `stale_after_s` is 10 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.engine.plant import LINK_DOWN, at, cfg, machine, one_machine_line, pick, poll, run, shift


@dataclass
class Case:
    name: str
    shifts: list[dict[str, Any]]
    signals: tuple[str, ...]
    rows: list[tuple[str, Any]]
    end: str
    expect: dict[str, float]  # oee_shift fields of machine M1
    machine_kw: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # oee_shift fields that must not be written
    calendar: dict[str, Any] = field(default_factory=dict)


RUN = {"running": True, "fault": False}
FAULT = {"running": False, "fault": True}
IDLE = {"running": False, "fault": False}

CASES = [
    Case(
        "short shift with a break the machine runs through",
        # 06:00-07:00 with a break 06:20-06:30: 50 min = 3000 s scheduled.
        [shift("A", "06:00-07:00", ("06:20-06:30",))],
        ("running", "fault", "good", "reject"),
        [("06:00", {**RUN, "good": 0, "reject": 0}),
         ("06:40", {**FAULT, "good": 1600, "reject": 50}),
         ("06:50", {**RUN}),
         ("06:59", {"good": 2100, "reject": 60})],
        end="07:00",
        # run 20+10+10 min = 2400 s (break excluded), fault 600 s; 2160 units, 2100 good.
        expect={"scheduled_s": 3000, "planned_busy_s": 3000, "run_s": 2400, "fault_s": 600,
                "total_count": 2160, "good_count": 2100, "reject_count": 60,
                "availability": 0.8, "performance": 0.9, "quality": 2100 / 2160, "oee": 0.7,
                "small_stops": 0},
    ),
    Case(
        "counter rollover inside a fault (16-bit counter)",
        [shift("A", "06:00-06:20")],
        ("running", "fault", "good"),
        [("06:00", {**RUN, "good": 65000}),
         ("06:05", {**FAULT, "good": 65280}),  # +280
         ("06:06", {"good": 65400}),  # +120, units still leaving the machine
         ("06:08", {"good": 64}),  # wraps: 65536 - 65400 + 64 = +200
         ("06:10", {**RUN}),
         ("06:19", {"good": 274})],  # +210
        end="06:20",
        # run 5 + 10 min = 900 s, fault 300 s; 810 units, all good.
        expect={"run_s": 900, "fault_s": 300, "total_count": 810, "good_count": 810,
                "availability": 0.75, "performance": 0.9, "quality": 1.0, "oee": 0.675},
        machine_kw={"counters": {"bits": 16}},
        stats={"counter_rollovers": 1, "counter_resets": 0},
    ),
    Case(
        "counter reset by the operator",
        [shift("A", "06:00-06:30")],
        ("running", "good"),
        [("06:00", {"running": True, "good": 5000}),
         ("06:10", {"good": 5500}),  # +500
         ("06:10:30", {"good": 0}),  # reset: counts from zero, no jump
         ("06:20", {"good": 480})],  # +480
        end="06:30",
        expect={"run_s": 1800, "total_count": 980, "good_count": 980,
                "availability": 1.0, "performance": 980 / 1800, "quality": 1.0,
                "oee": 980 / 1800},
        stats={"counter_rollovers": 0, "counter_resets": 1},
    ),
    Case(
        "link loss: unknown after 10 s without good data, counts kept",
        [shift("A", "06:00-06:30")],
        ("running", "good"),
        [("06:00", {"running": True, "good": 0}),
         ("06:09:59", {"good": 599}),
         ("06:10", LINK_DOWN),  # last good read at 06:09:59 -> unknown from 06:10:09
         ("06:20", {"running": True, "good": 1200}),  # back: 601 units counted at once
         ("06:29:59", {"good": 1799})],
        end="06:30",
        # run 609 s + 600 s = 1209 s, unknown 591 s; performance above 1 because the
        # units made while the link was down land in the visible run time.
        expect={"run_s": 1209, "unknown_s": 591, "total_count": 1799,
                "availability": 1209 / 1800, "performance": 1799 / 1209,
                "performance_over_1": True, "oee": 1799 / 1800},
    ),
    Case(
        "overnight shift with a break, idle hour",
        # 22:00 Monday to 06:00 Tuesday, break 02:00-02:30: 27000 s scheduled.
        [shift("N", "22:00-06:00", ("02:00-02:30",), overnight=True)],
        ("running", "good"),
        [("21:59", {"running": True, "good": 0}),
         ("+1 03:00", {"running": False, "good": 15000}),
         ("+1 04:00", {"running": True}),
         ("+1 05:59", {"good": 21600})],
        end="+1 06:00",
        # run 22:00-03:00 minus the break = 16200 s, plus 04:00-06:00 = 7200 s; idle 3600 s.
        expect={"scheduled_s": 27000, "run_s": 23400, "idle_s": 3600, "total_count": 21600,
                "availability": 23400 / 27000, "performance": 21600 / 23400, "oee": 0.8},
    ),
    Case(
        "planned downtime window and a cleaning program (planned)",
        [shift("A", "06:00-07:00")],
        ("state", "program", "good"),
        # Weihenstephan: 128 Operating, 1 Stopped; program 8 = cleaning.
        [("06:00", {"state": 128, "program": 1, "good": 0}),
         ("06:30", {"state": 1, "program": 8}),
         ("06:45", {"state": 128, "program": 1}),
         ("06:59", {"good": 1800})],
        end="07:00",
        # 06:15-06:25 is a planned downtime window of the line (machine running: still
        # planned), cleaning 06:30-06:45 is planned: planned_down 600 + 900 s.
        expect={"scheduled_s": 3600, "planned_down_s": 1500, "planned_busy_s": 2100,
                "run_s": 2100, "availability": 1.0, "total_count": 1800,
                "performance": 1800 / 2100},
        machine_kw={"smap": "weihenstephan"},
    ),
    Case(
        "short stops: two under 2 min, one over",
        [shift("A", "06:00-06:30")],
        ("running", "fault"),
        [("06:00", RUN), ("06:05", IDLE), ("06:05:30", RUN),  # 30 s: small
         ("06:10", FAULT), ("06:11:59", RUN),  # 119 s: small
         ("06:20", FAULT), ("06:22", RUN)],  # 120 s: not small (threshold 120 s)
        end="06:30",
        expect={"run_s": 1800 - 30 - 119 - 120, "idle_s": 30, "fault_s": 239,
                "small_stops": 2, "small_stop_s": 149},
    ),
]


def typed(**types: str) -> dict[str, Any]:
    """Modbus signals at consecutive addresses with declared types (role -> type)."""
    out: dict[str, Any] = {}
    addr = 0
    for name, t in types.items():
        out[name] = {"address": addr, "type": t}
        addr += {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2}.get(t, 4)
    return out


# Issue 12: counters at their own width, the counting rule, mode tables, equipment that
# never runs in auto, reject-only counters. One machine at 60 units/min (1 s per unit),
# counter margin 2: a change adds at most 1 + 2 units per second since the last change.
CASES += [
    Case(
        "uint16 reject beside uint32 good: each wraps at its own width",
        [shift("A", "06:00-06:10")],
        ("running", "good", "reject"),
        [("06:00", {"running": True, "good": 70_000, "reject": 65_530}),
         ("06:09", {"good": 70_500, "reject": 4})],  # reject: 4 + 65536 - 65530 = 10
        end="06:10",
        expect={"good_count": 500, "reject_count": 10, "total_count": 510,
                "quality": 500 / 510},
        machine_kw={"signals": typed(running="bool", good="uint32", reject="uint16")},
        stats={"counter_rollovers": 1, "counter_resets": 0},
    ),
    Case(
        "int16 good counter wrapping 32767 -> -32768 counts one unit",
        [shift("A", "06:00-06:10")],
        ("running", "good"),
        [("06:00", {"running": True, "good": 32_700}),
         ("06:01", {"good": 32_767}),  # +67
         ("06:01:01", {"good": -32_768}),  # +1 (32768 unsigned)
         ("06:09", {"good": -32_300})],  # 33236 unsigned: +468
        end="06:10",
        expect={"good_count": 536, "total_count": 536},
        machine_kw={"signals": typed(running="bool", good="int16")},
        stats={"counter_rollovers": 0, "counter_excess": 0},
    ),
    Case(
        "PLC-computed good (total - reject) dips by one: nothing added",
        [shift("A", "06:00-06:30")],
        ("running", "good", "total"),
        [("06:00", {"running": True, "good": 1000, "total": 1000}),
         ("06:10", {"good": 1599, "total": 1600}),
         ("06:10:01", {"good": 1598}),  # the PLC counted a reject before the unit: a dip
         ("06:10:02", {"good": 1600, "total": 1602}),  # 1 above the mark
         ("06:20", {"good": 2198, "total": 2200})],
        end="06:30",
        # good 2198 - 1000 = 1198, total 1200, reject = total - good = 2.
        expect={"good_count": 1198, "total_count": 1200, "reject_count": 2},
        machine_kw={"signals": typed(running="bool", good="uint32", total="uint32")},
        stats={"counter_dips": 1, "counter_resets": 0},
    ),
    Case(
        "16-bit counter reset from above 49,152 is a reset, not a rollover",
        [shift("A", "06:00-06:10")],
        ("running", "good"),
        [("06:00", {"running": True, "good": 50_000}),
         ("06:05", {"good": 50_300}),  # +300
         ("06:05:04", {"good": 3}),  # reset: 3 <= 1 + 2 x 4; the wrap would be 15,239
         ("06:09", {"good": 203})],  # +200
        end="06:10",
        expect={"good_count": 503},
        machine_kw={"signals": typed(running="bool", good="uint16")},
        stats={"counter_resets": 1, "counter_rollovers": 0},
    ),
    Case(
        "a jump beyond the ideal rate is capped and flagged",
        [shift("A", "06:00-06:10")],
        ("running", "good"),
        [("06:00", {"running": True, "good": 0}),
         ("06:00:10", {"good": 5000}),  # allowance 1 + 2 x 10 = 21: 4979 excess
         ("06:09", {"good": 5500})],  # +500 in 530 s
        end="06:10",
        expect={"good_count": 521},
        machine_kw={"signals": typed(running="bool", good="uint32")},
        stats={"counter_excess": 1, "counter_excess_units": 4979},
    ),
    Case(
        "PackML UnitMode: Production automatic, Manual manual, Maintenance planned",
        [shift("A", "06:00-07:00")],
        ("state", "mode", "good"),
        [("06:00", {"state": 6, "mode": 1, "good": 0}),
         ("06:20", {"mode": 3}),  # Manual
         ("06:40", {"mode": 1}),
         ("06:50", {"mode": 2, "good": 2900})],  # Maintenance: planned
        end="07:00",
        # run 50 min = 3000 s, automatic 20 + 10 min = 1800 s; rate 1800 / 3000.
        expect={"run_s": 3000, "planned_down_s": 600, "auto_run_s": 1800,
                "automation_rate": 0.6},
        machine_kw={"smap": "packml"},
    ),
    Case(
        "UnitMode as text from a Modbus map {1: Production, 3: Manual}",
        [shift("A", "06:00-07:00")],
        ("running", "mode"),
        [("06:00", {"running": True, "mode": "Production"}),
         ("06:30", {"mode": "Manual"})],
        end="07:00",
        expect={"run_s": 3600, "auto_run_s": 1800, "automation_rate": 0.5},
    ),
    Case(
        "PackML UnitMode wired to auto_mode: 3 Manual is manual",
        [shift("A", "06:00-07:00")],
        ("running", "auto_mode"),
        [("06:00", {"running": True, "auto_mode": 1}),
         ("06:15", {"auto_mode": 3}),
         ("06:45", {"auto_mode": 1})],
        end="07:00",
        expect={"run_s": 3600, "auto_run_s": 1800, "automation_rate": 0.5},
    ),
    Case(
        "OPC 40001 MachineryOperationMode: Processing automatic, Maintenance planned",
        [shift("A", "06:00-07:00")],
        ("state", "mode"),
        [("06:00", {"state": 3, "mode": 3}),  # Executing, Processing
         ("06:30", {"mode": 1})],  # Maintenance
        end="07:00",
        expect={"run_s": 1800, "planned_down_s": 1800, "auto_run_s": 1800,
                "automation_rate": 1.0},
        machine_kw={"smap": "machinery"},
    ),
    Case(
        "a mode code the table does not list is not automatic (and counted)",
        [shift("A", "06:00-07:00")],
        ("state", "mode"),
        [("06:00", {"state": 6, "mode": 1}),
         ("06:30", {"mode": 7})],  # no such UnitMode in the default table
        end="07:00",
        expect={"run_s": 3600, "auto_run_s": 1800, "automation_rate": 0.5},
        machine_kw={"smap": "packml"},
        stats={"unmapped_modes": 1},
    ),
    Case(
        "mechanized equipment with auto_mode on never runs in auto",
        [shift("A", "06:00-07:00")],
        ("running", "auto_mode"),
        [("06:00", {"running": True, "auto_mode": True})],
        end="07:00",
        expect={"run_s": 3600, "auto_run_s": 0, "automation_rate": 0.0},
        machine_kw={"automation": "mechanized"},
    ),
    Case(
        "manual equipment with a Production mode never runs in auto",
        [shift("A", "06:00-07:00")],
        ("state", "mode"),
        [("06:00", {"state": 6, "mode": 1})],
        end="07:00",
        expect={"run_s": 3600, "auto_run_s": 0, "automation_rate": 0.0},
        machine_kw={"smap": "packml", "automation": "manual"},
    ),
    Case(
        "nightly sanitation 23:00-01:00 across midnight inside a night shift",
        [shift("N", "20:00-04:00", overnight=True)],
        ("running", "good"),
        [("20:00", {"running": True, "good": 0}),
         ("+1 03:59", {"good": 20_000})],
        end="+1 04:00",
        # 8 h = 28800 s scheduled; 23:00 Mon to 01:00 Tue planned (the window starts
        # on Monday, its weekday); run 6 h = 21600 s.
        expect={"scheduled_s": 28800, "planned_down_s": 7200, "planned_busy_s": 21600,
                "run_s": 21600, "availability": 1.0},
        calendar={"planned_downtime": [{"start": "23:00", "end": "01:00",
                                        "weekdays": ["mon"], "reason": "sanitation"}]},
    ),
    Case(
        "a recurring downtime window ending at 00:00",
        [shift("E", "16:00-00:00", overnight=True)],
        ("running",),
        [("16:00", {"running": True})],
        end="+1 00:00",
        expect={"scheduled_s": 28800, "planned_down_s": 7200, "run_s": 21600},
        calendar={"planned_downtime": [{"start": "22:00", "end": "00:00"}]},
    ),
    Case(
        "a break across midnight in a night shift",
        [shift("N", "22:00-06:00", ("23:30-00:30",), overnight=True)],
        ("running",),
        [("22:00", {"running": True})],
        end="+1 06:00",
        expect={"scheduled_s": 25200, "run_s": 25200},
    ),
    Case(
        "a reject counter alone: rejects counted, quality and OEE absent",
        [shift("A", "06:00-07:00")],
        ("running", "reject"),
        [("06:00", {"running": True, "reject": 10}),
         ("06:59", {"reject": 70})],
        end="07:00",
        expect={"reject_count": 60, "availability": 1.0},
        absent=("quality", "oee", "performance"),
    ),
]



@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case) -> None:
    kw = dict(case.machine_kw)
    c = cfg([one_machine_line(*case.signals, **kw)], case.shifts,
            calendar={"planned_downtime": [{"start": "06:15", "end": "06:25"}]}
            if "planned downtime" in case.name else case.calendar)
    eng, pts = run(c, poll(case.rows, case.end), case.end)
    shifts = pick(pts, "oee_shift", level="machine", machine="M1")
    assert len(shifts) == 1, "exactly one shift closed"
    got = shifts[0].fields
    for k, v in case.expect.items():
        assert k in got, f"{k} missing"
        assert got[k] == pytest.approx(v, abs=1e-6), k
    for k in case.absent:
        assert k not in got, f"{k} should be absent, got {got[k]!r}"
    for k, v in case.stats.items():
        assert getattr(eng.stats, k) == v, k


def test_overnight_shift_is_dated_by_its_start() -> None:
    case = next(c for c in CASES if c.name.startswith("overnight"))
    c = cfg([one_machine_line(*case.signals)], case.shifts)
    _, pts = run(c, poll(case.rows, case.end, poll_s=5.0), case.end)
    (p,) = pick(pts, "oee_shift", level="machine")
    assert p.tags["shift"] == "N" and p.tags["shift_date"] == "2026-11-30"
    assert p.ts_ns == int(at("22:00")) * 10**9


def test_fault_across_a_bucket_boundary() -> None:
    c = cfg([one_machine_line("running", "fault")], [shift("A", "06:00-06:05")])
    rows = [("05:59:30", RUN), ("06:01:30", FAULT), ("06:02:45", RUN)]
    _, pts = run(c, poll(rows, "06:05"), "06:05")
    buckets = {p.ts_ns // 10**9: p.fields for p in pick(pts, "oee", level="machine")}
    # minute  run  fault  small stop (counted where it ends)
    table = [("06:00", 60, 0, 0), ("06:01", 30, 30, 0), ("06:02", 15, 45, 1),
             ("06:03", 60, 0, 0), ("06:04", 60, 0, 0)]
    for minute, run_s, fault_s, small in table:
        f = buckets[int(at(minute))]
        assert (f["run_s"], f["fault_s"], f["small_stops"]) == (run_s, fault_s, small), minute
        assert f["scheduled_s"] == 60
    assert buckets[int(at("06:02"))]["small_stop_s"] == 75
    assert buckets[int(at("05:59"))]["scheduled_s"] == 0  # before the shift: not scheduled
    states = [(p.fields["state"], p.fields["prev_duration_s"]) for p in
              pick(pts, "machine_state")]
    assert states == [("producing", 0.0), ("fault", 120.0), ("producing", 75.0)]


def test_line_whose_output_stage_is_not_the_last() -> None:
    # cut -> pack; the line's OEE is the cutter's (output_stage: cut), not the packer's.
    line = {"id": "L1", "output_stage": "cut", "stages": [
        {"id": "cut", "kind": "cutting", "machines": [machine("C1", "running", "good")]},
        {"id": "pack", "kind": "packaging", "machines": [machine("P1", "running", "fault")]},
    ]}
    c = cfg([line], [shift("A", "06:00-07:00")])
    rows = [("06:00", {"C1.running": True, "C1.good": 0, "P1.running": True, "P1.fault": False}),
            ("06:30", {"P1.running": False, "P1.fault": True}),
            ("06:59", {"C1.good": 3240})]
    _, pts = run(c, poll(rows, "07:00"), "07:00")
    (ln,) = pick(pts, "oee_shift", level="line")
    (pack,) = pick(pts, "oee_shift", level="stage", stage="pack")
    (site,) = pick(pts, "oee_shift", level="site")
    assert ln.fields["availability"] == 1.0 and ln.fields["performance"] == pytest.approx(0.9)
    assert pack.fields["availability"] == 0.5
    assert site.fields["oee"] == pytest.approx(0.9)


def test_stage_of_two_parallel_machines_with_different_ideal_rates() -> None:
    # F1: 60/min (1 s per unit), runs the hour in auto, 3240 good.
    # F2: 30/min (2 s per unit), runs 30 min in manual mode, 810 good + 90 rejects.
    # A stage sums durations and counts, then divides:
    #   planned busy 7200 s, run 5400 s                       -> A = 0.75
    #   ideal 3240 x 1 + 900 x 2 = 5040 s                    -> P = 5040 / 5400
    #   good 4050 of 4140                                     -> Q = 4050 / 4140
    #   ideal good 3240 x 1 + 810 x 2 = 4860 s               -> OEE = 4860 / 7200 = 0.675
    #   automation = (60 x 3600 in auto) / (60 x 3600 + 30 x 1800) = 0.8
    # The peeling stage is done by hand: it counts 0, so the line's rate is (0.8+0)/2.
    line = {"id": "L1", "stages": [
        {"id": "peel", "kind": "peeling", "manual": True},
        {"id": "fry", "kind": "frying", "machines": [
            machine("F1", "running", "auto_mode", "good", "reject", rate=60),
            machine("F2", "running", "auto_mode", "good", "reject", rate=30),
        ]},
    ]}
    c = cfg([line], [shift("A", "06:00-07:00")])
    rows = [("06:00", {"F1.running": True, "F1.auto_mode": True, "F1.good": 0, "F1.reject": 0,
                       "F2.running": True, "F2.auto_mode": False, "F2.good": 0,
                       "F2.reject": 0}),
            ("06:30", {"F2.running": False, "F2.good": 810, "F2.reject": 90}),
            ("06:59", {"F1.good": 3240})]
    _, pts = run(c, poll(rows, "07:00"), "07:00")
    (st,) = pick(pts, "oee_shift", level="stage", stage="fry")
    f = st.fields
    assert (f["planned_busy_s"], f["run_s"], f["idle_s"]) == (7200, 5400, 1800)
    assert f["availability"] == 0.75
    assert f["performance"] == pytest.approx(5040 / 5400)
    assert f["quality"] == pytest.approx(4050 / 4140)
    assert f["oee"] == pytest.approx(0.675)  # not A x P x Q: the rates differ
    assert f["automation_rate"] == pytest.approx(0.8)
    (peel,) = pick(pts, "oee_shift", level="stage", stage="peel")
    assert peel.fields["automation_rate"] == 0.0 and peel.fields["manual"] is True
    (ln,) = pick(pts, "oee_shift", level="line")
    assert ln.fields["automation_rate"] == pytest.approx(0.4)
    # Bureau points per bucket: in the first minute both fryers run, 60 / (60 + 30);
    # over the hour the bucket sums give the shift's 0.8 again.
    auto = pick(pts, "automation", level="stage", stage="fry")
    assert auto[0].tags["stage_kind"] == "frying" and auto[0].fields["weight"] == 1.0
    first = next(p for p in auto if p.ts_ns == int(at("06:00")) * 10**9)
    assert first.fields["automation_rate"] == pytest.approx(60 / 90)
    assert first.fields["target"] == 0.6 and first.tags["region"] == "510114"
    hour = [p.fields for p in auto if at("06:00") <= p.ts_ns / 1e9 < at("07:00")]
    assert sum(f["auto_ideal_units"] for f in hour) / sum(f["run_ideal_units"] for f in hour) \
        == pytest.approx(0.8)
    ent = [p for p in pick(pts, "automation", level="enterprise")
           if p.ts_ns == int(at("06:40")) * 10**9]
    assert ent[0].fields["automation_rate"] == pytest.approx(0.5)  # (1 + 0) / 2 at 06:40
    assert ent[0].fields["digitized"] == 0.5  # one of two stages acquires data


def test_holiday_and_weekdays() -> None:
    # Shift Monday to Friday; Tuesday 2026-12-01 is a holiday; Saturday has no shift.
    c = cfg([one_machine_line("running")], [shift("A", "06:00-06:10",
                                                  weekdays=["mon", "tue", "sat"])],
            calendar={"holidays": ["2026-12-01"]})
    from lineside.agent.engine.calendar import Timeline

    tl = Timeline(c.calendar, "UTC")
    got = [(s.name, s.date) for s in tl.shifts_between(at("00:00"), at("+7 00:00"))]
    assert got == [("A", "2026-11-30"), ("A", "2026-12-05")]


def test_dst_spring_forward_shift_is_one_hour_shorter() -> None:
    # Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29: the night shift is 7 h.
    from lineside.agent.engine.calendar import Timeline

    c = cfg([one_machine_line("running")],
            [shift("N", "22:00-06:00", overnight=True)], tz="Europe/Berlin")
    tl = Timeline(c.calendar, "Europe/Berlin")
    import datetime as dt

    t = dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC).timestamp()
    (s,) = [x for x in tl.shifts_between(t, t + 86400) if x.date == "2026-03-28"]
    assert s.end - s.start == 7 * 3600


def test_stale_silence_is_unknown_from_the_deadline() -> None:
    c = cfg([one_machine_line("running")], [shift("A", "06:00-06:10")])
    from lineside.agent.engine import Engine

    eng = Engine(c, at("06:00"))
    pts = eng.feed([_s("M1.running", True, "06:00"), _s("M1.running", True, "06:01")])
    pts += eng.tick(at("06:10"))
    ev = [(p.fields["state"], p.ts_ns // 10**9 - int(at("06:00"))) for p in
          pick(pts, "machine_state")]
    # A gap longer than stale_after_s (10 s) is unknown from 10 s after the last read.
    assert ev == [("producing", 0), ("unknown", 10), ("producing", 60), ("unknown", 70)]
    (sh,) = pick(pts, "oee_shift", level="machine")
    assert (sh.fields["run_s"], sh.fields["unknown_s"]) == (20, 580)
    assert pick(pts, "machine_state")[-1].fields["reason"] == "stale"


def _s(key: str, v: Any, hhmm: str) -> Any:
    from tests.engine.plant import S

    return S(key, v, at(hhmm))
