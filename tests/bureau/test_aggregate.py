"""The bureau's arithmetic, table-driven: rows (period sums) in, figures out.

Every expected figure is worked out by hand from the formulas in docs/bureau.md.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lineside.report.aggregate import build_report
from lineside.report.data import Registered, Row
from lineside.report.period import period_containing, previous_period

P = period_containing("day", dt.date(2026, 11, 27))
PREV = previous_period(P)
REG = [Registered("E1", "一号食品", "510114"), Registered("E2", "二号食品", "510114"),
       Registered("E3", "三号食品", "510115")]


def stage(e: str, line: str, st: str, k: str, auto: float, run: float, pbt: float = 100.0,
          weight: float = 1.0, region: str = "510114", dig: tuple[float, float] = (0, 0),
          **extra: float) -> Row:
    """One stage's sums over the period, as automation_query returns them (ideal units
    and seconds equal unless given)."""
    return Row("automation", {"enterprise": e, "region": region, "site": "S1", "line": line,
                              "stage": st, "stage_kind": k},
               {"auto_ideal_units": auto, "run_ideal_units": run, "auto_run_s": auto,
                "run_s": run, "weight": weight, "line_planned_busy_s": pbt,
                "digitized_sum": dig[0], "digitized_n": dig[1], **extra})


def line(e: str, ln: str, pbt: float, ideal_good: float = 0.0, good: float = 0.0,
         region: str = "510114", counted: float | None = None) -> Row:
    return Row("oee", {"enterprise": e, "region": region, "site": "S1", "line": ln},
               {"planned_busy_s": pbt, "ideal_good_s": ideal_good, "good_count": good,
                "counted_planned_busy_s": pbt if counted is None else counted})


def kind(e: str, line: str, k: str, auto: float, run: float, region: str = "510114",
         pbt: float = 100.0) -> Row:
    """A line with one stage of kind k (its id the kind)."""
    return stage(e, line, k, k, auto, run, pbt, region=region)


def report(rows: list[Row], prev: list[Row] | None = None, target: float = 0.6):
    return build_report(REG, rows, prev or [], P, PREV, target=target,
                        generated_at=dt.datetime(2026, 11, 28, tzinfo=dt.UTC))


def fig(rep, eid: str):
    return next(e for e in rep.enterprises if e.id == eid)


# (name, rows, enterprise, expected automation rate, expected meets)
RATE_CASES = [
    ("one line, mean of its stages",
     [stage("E1", "L1", "cut", "cutting", 30, 60), stage("E1", "L1", "pack", "packaging", 60, 60)],
     "E1", 0.75, True),
    ("lines weighted by planned busy time",
     [kind("E1", "L1", "cutting", 50, 100, pbt=300), kind("E1", "L2", "cutting", 100, 100)],
     "E1", (0.5 * 300 + 1.0 * 100) / 400, True),
    # The line of six stages: two cutting stages are two stages, the manual
    # packaging stage (0 of the line's 300 units) is not hidden by the equipped one:
    # (1 + 0.5 + 1 + 0.8 + 0.2 + 0) / 6 = 0.5833 (a mean over kinds would say 0.6875).
    ("six stages, two of one kind, one by hand",
     [stage("E1", "L1", "wash", "cleaning", 60, 60), stage("E1", "L1", "cut1", "cutting", 30, 60),
      stage("E1", "L1", "cut2", "cutting", 60, 60), stage("E1", "L1", "fry", "frying", 48, 60),
      stage("E1", "L1", "pack", "packaging", 12, 60),
      stage("E1", "L1", "plate", "packaging", 0, 300)], "E1", 3.5 / 6, False),
    ("stage weights: (2 x 0.9 + 1 x 0.3) / 3",
     [stage("E1", "L1", "a", "cutting", 90, 100, weight=2.0),
      stage("E1", "L1", "b", "frying", 30, 100)], "E1", 0.7, True),
    ("ideal-rate-weighted units, not seconds: 900 / 1000 although 10 s of 100 s",
     [stage("E1", "L1", "c", "cutting", 900, 1000, auto_run_s=10.0, run_s=100.0)],
     "E1", 0.9, True),
    ("a manual stage counts 0 while its line runs",
     [stage("E1", "L1", "peel", "peeling", 0, 100), kind("E1", "L1", "cutting", 100, 100)],
     "E1", 0.5, False),
    ("a stage without run time does not enter the line mean",
     [kind("E1", "L1", "cutting", 80, 100), kind("E1", "L1", "thawing", 0, 0)],
     "E1", 0.8, True),
    ("a line without planned busy time does not weigh",
     [kind("E1", "L1", "cutting", 40, 100, pbt=0), kind("E1", "L2", "cutting", 80, 100)],
     "E1", 0.8, True),
    ("exactly at the target meets it",
     [kind("E1", "L1", "heating", 60, 100)], "E1", 0.6, True),
]


@pytest.mark.parametrize(("name", "rows", "eid", "rate", "meets"), RATE_CASES,
                         ids=[c[0] for c in RATE_CASES])
def test_enterprise_rate(name, rows, eid, rate, meets):
    e = fig(report(rows), eid)
    assert e.status == "reporting"
    assert e.automation_rate == pytest.approx(rate, abs=1e-12)
    assert e.meets_target is meets


# (name, rows, enterprise, expected status)
STATUS_CASES = [
    ("registered, nothing sent: missing, not 0%", [kind("E1", "L1", "cutting", 1, 2)],
     "E2", "missing"),
    ("points but no run time: no production",
     [stage("E2", "L1", "c", "cutting", 0, 0, dig=(1, 1)), line("E2", "L1", 0)],
     "E2", "no_production"),
    ("run time but no planned busy time on record: no rate",
     [kind("E2", "L1", "cutting", 1, 2, pbt=0)], "E2", "no_production"),
    ("reporting", [kind("E2", "L1", "cutting", 1, 2)], "E2", "reporting"),
    ("unregistered id kept apart", [kind("X9", "L1", "cutting", 1, 2)], "X9",
     "unregistered"),
]


@pytest.mark.parametrize(("name", "rows", "eid", "status"), STATUS_CASES,
                         ids=[c[0] for c in STATUS_CASES])
def test_status(name, rows, eid, status):
    e = fig(report(rows), eid)
    assert e.status == status
    if status in ("missing", "no_production"):
        assert e.automation_rate is None  # never 0%
        assert e.meets_target is None


def test_missing_and_unregistered_stay_out_of_district_figures():
    rep = report([kind("E1", "L1", "cutting", 80, 100), line("E1", "L1", 100, good=10),
                  kind("X9", "L1", "cutting", 0, 100, region="999999")])
    d = rep.district
    assert (d.registered, d.reporting, d.missing) == (3, 1, 2)
    assert d.mean_rate == pytest.approx(0.8)
    assert d.meeting == 1 and d.share_meeting == 1.0
    assert any("X9" in f and "999999" in f and "not in the registry" in f for f in rep.flags)


def test_region_mismatch_is_flagged():
    rep = report([kind("E3", "L1", "cutting", 80, 100, region="510114"),
                  line("E3", "L1", 100, region="510114")])
    e = fig(rep, "E3")
    assert e.flags and "510114" in e.flags[0] and "510115" in e.flags[0]
    assert any(f.startswith("E3") and "region" in f for f in rep.flags)
    ok = report([kind("E1", "L1", "cutting", 80, 100)])
    assert not fig(ok, "E1").flags and not ok.flags


def test_points_without_enterprise_are_flagged():
    rep = report([Row("automation", {"stage": "c", "stage_kind": "cutting"}, {"run_s": 1.0})])
    assert any("no enterprise tag" in f for f in rep.flags)


def test_oee_digitized_and_kinds_from_sums():
    rep = report([
        stage("E1", "L1", "cut", "cutting", 30, 60, pbt=300, dig=(60, 60)),
        stage("E1", "L2", "cut", "cutting", 10, 40, dig=(0, 60)),
        stage("E1", "L1", "pack", "packaging", 50, 50, pbt=300, dig=(30, 60)),
        line("E1", "L1", 300, ideal_good=150, good=100),
        line("E1", "L2", 100, counted=0),  # no counters: not zero output
    ])
    e = fig(rep, "E1")
    # a kind: the enterprise rule over its stages, (0.5 x 300 + 0.25 x 100) / 400
    assert e.kinds["cutting"].rate == pytest.approx((0.5 * 300 + 0.25 * 100) / 400)
    assert e.kinds["packaging"].rate == pytest.approx(1.0)
    assert e.digitized == pytest.approx(90 / 180)  # stage-buckets with live data
    assert e.oee == pytest.approx(150 / 300)
    assert e.planned_busy_s == 400 and e.good_count == 100
    # L1 = mean(0.5, 1.0) = 0.75 over 300 s; L2 = 0.25 over 100 s
    assert e.automation_rate == pytest.approx((0.75 * 300 + 0.25 * 100) / 400)
    assert [lf.line for lf in e.lines] == ["L1", "L2"]


def test_district_means_and_hold_backs():
    rows = [
        # E1: cutting 0.9, packaging 0.9 -> 0.9, output 100
        kind("E1", "L1", "cutting", 90, 100), kind("E1", "L1", "packaging", 90, 100),
        line("E1", "L1", 100, good=100),
        # E2: cutting 0.5, packaging 0.1 -> 0.3, output 300
        kind("E2", "L1", "cutting", 50, 100), kind("E2", "L1", "packaging", 10, 100),
        line("E2", "L1", 100, good=300),
        # E3: cutting 0.2, packaging 0.8 -> 0.5, output 0 (no weight)
        kind("E3", "L1", "cutting", 20, 100, region="510115"),
        kind("E3", "L1", "packaging", 80, 100, region="510115"),
        line("E3", "L1", 100, good=0, region="510115"),
    ]
    d = report(rows).district
    assert d.reporting == 3 and d.missing == 0
    assert d.mean_rate == pytest.approx((0.9 + 0.3 + 0.5) / 3)
    assert d.weighted_rate == pytest.approx((0.9 * 100 + 0.3 * 300) / 400)
    assert d.meeting == 1 and d.share_meeting == pytest.approx(1 / 3)
    by_kind = {h.kind: h for h in d.hold_backs}
    assert set(by_kind["cutting"].below_target) == {"E2", "E3"}
    assert by_kind["cutting"].weakest_of == ("E3",)
    assert by_kind["packaging"].below_target == ("E2",)
    assert by_kind["packaging"].weakest_of == ("E2",)
    assert by_kind["cutting"].mean_rate == pytest.approx((0.9 + 0.5 + 0.2) / 3)


def test_trend_against_previous_period():
    cur = [kind("E1", "L1", "cutting", 70, 100), line("E1", "L1", 100)]
    prev = [kind("E1", "L1", "cutting", 55, 100), line("E1", "L1", 100),
            kind("E2", "L1", "cutting", 10, 100)]
    rep = report(cur, prev)
    e1 = fig(rep, "E1")
    assert e1.previous_rate == pytest.approx(0.55)
    assert e1.trend == pytest.approx(0.15)
    assert e1.kinds["cutting"].trend == pytest.approx(0.15)
    e2 = fig(rep, "E2")  # sent last period, silent now: missing, no trend
    assert e2.status == "missing" and e2.previous_rate == pytest.approx(0.1)
    assert e2.trend is None
    assert rep.district.previous_mean_rate == pytest.approx((0.55 + 0.1) / 2)
    assert rep.district.trend == pytest.approx(0.7 - 0.325)


def test_empty_database_reports_every_enterprise_missing():
    rep = report([])
    assert [e.status for e in rep.enterprises] == ["missing"] * 3
    d = rep.district
    assert (d.reporting, d.missing, d.mean_rate, d.share_meeting) == (0, 3, None, None)
