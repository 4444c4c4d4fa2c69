"""What the bureau gets of the CCPs: counts and minutes per enterprise and CCP kind."""

from __future__ import annotations

from typing import Any

import pytest

from lineside.engine.core import Engine
from lineside.points import Point
from lineside.sinks.uplink import uplink_refusal
from tests.engine.plant import at, cfg, machine, pick, poll, shift

T = 1_764_000_000_000_000_000
AGG = {"enterprise": "E1", "region": "510114", "site": "S1", "gateway": "g1",
       "ccp_kind": "frying", "level": "ccp_kind"}
OK = {"ccps": 2, "deviations": 1, "deviation_s": 75.0, "losses": 0, "lost_s": 0.0,
      "monitored_s": 120.0}

# (name, point, refusal words or None when it may leave)
CASES = [
    ("per-kind aggregate", Point("ccp_bureau", AGG, OK, T), None),
    ("aggregate with a mean temperature", Point("ccp_bureau", AGG, {**OK, "mean": 176.0}, T),
     "mean"),
    ("aggregate with min and max", Point("ccp_bureau", AGG, {**OK, "min": 160.0,
                                                            "max": 190.0}, T), "max, min"),
    ("aggregate naming the CCP", Point("ccp_bureau", {**AGG, "ccp": "fryer-oil"}, OK, T),
     "ccp"),
    ("aggregate naming the machine", Point("ccp_bureau", {**AGG, "machine": "F1"}, OK, T),
     "machine"),
    ("aggregate at another level", Point("ccp_bureau", {**AGG, "level": "ccp"}, OK, T),
     "level ccp_kind"),
    ("a CCP's own summary", Point("ccp", {**AGG, "ccp": "fryer-oil", "level": "ccp"},
                                  OK, T), "never leaves"),
    ("a deviation event", Point("ccp_deviation", {**AGG, "kind": "limit", "event": "end"},
                                {"peak": 190.0}, T), "never leaves"),
]


@pytest.mark.parametrize(("name", "point", "words"), CASES, ids=[c[0] for c in CASES])
def test_only_counts_and_minutes_per_kind_leave(name: str, point: Point, words: str | None
                                                ) -> None:
    why = uplink_refusal(point)
    if words is None:
        assert why is None
    else:
        assert why is not None and words in why, why


def two_fryers() -> Any:
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": [
        machine("F1", "running", "oil"), machine("F2", "running", "oil")]}]}
    ccps = [{"id": f"{m}-oil", "kind": "frying", "hazard": "undercooking", "machine": m,
             "signal": "oil", "critical": {"min": 165}, "min_duration_s": 30,
             "monitoring_interval_s": 5} for m in ("F1", "F2")]
    return cfg([line], [shift("A", "06:00-07:00")], ccps=ccps)


def test_engine_writes_one_aggregate_per_kind_and_bucket_once_every_ccp_wrote_it() -> None:
    # F1's oil below 165 06:10:00-06:11:15 (a 75 s deviation, undecided until 06:10:30);
    # F2's sensor drops out 06:20:00-06:21:00 (lost from 06:20:04, 56 s).
    rows = [("06:00", {"F1.running": True, "F1.oil": 175.0, "F2.running": True,
                       "F2.oil": 176.0}),
            ("06:10", {"F1.oil": 150.0}), ("06:11:15", {"F1.oil": 175.0})]
    samples = poll(rows, "07:00", prefix="")
    # (LINK_DOWN rows fail every signal; F2's sensor alone drops out: cut by hand)
    samples = [s for s in samples if not (s.signal == "F2.oil"
                                          and at("06:20") <= s.ts < at("06:21"))]
    eng = Engine(two_fryers(), samples[0].ts)
    pts = eng.feed(samples) + eng.tick(at("07:00"))
    agg = pick(pts, "ccp_bureau")
    assert len(agg) == 60 and len({p.ts_ns for p in agg}) == 60  # one per bucket
    by_ts = {p.ts_ns: p.fields for p in agg}
    b10, b11, b20 = (by_ts[int(at(t) * 1e9)] for t in ("06:10", "06:11", "06:20"))
    assert (b10["deviations"], b10["deviation_s"], b10["ccps"]) == (1, 60.0, 2)
    assert (b11["deviations"], b11["deviation_s"]) == (0, 15.0)
    assert (b20["losses"], b20["lost_s"]) == (1, 56.0)
    for p in agg:
        ccp = [q for q in pick(pts, "ccp") if q.ts_ns == p.ts_ns]
        assert p.fields["monitored_s"] == pytest.approx(sum(q.fields["monitored_s"]
                                                            for q in ccp))
        assert uplink_refusal(p) is None


def test_report_shows_ccp_deviations_beside_the_automation_rate() -> None:
    import datetime as dt
    import json
    import re

    from rich.console import Console

    from lineside.report import html, render
    from lineside.report.aggregate import build_report
    from lineside.report.data import Row
    from lineside.report.period import period_containing, previous_period
    from tests.bureau.sample import REGISTRY, english_csv, sample_report

    base = sample_report()
    p = period_containing("week", dt.date(2026, 11, 25), "Asia/Shanghai")

    def ccp(kind: str, n: float, dev_s: float, losses: float, lost_s: float) -> Row:
        return Row("ccp_bureau", {"enterprise": "E1", "region": "510114", "ccp_kind": kind},
                   {"deviations": n, "deviation_s": dev_s, "losses": losses,
                    "lost_s": lost_s})

    # E1: frying 2 deviations (600 s) + pasteurization 1 (270 s), 90 s lost: 3 / 14.5 min
    from tests.bureau import sample

    rows = [*sample_rows(sample), ccp("frying", 2, 600, 0, 0),
            ccp("pasteurization", 1, 270, 1, 90)]
    rep = build_report(REGISTRY, rows, [], p, previous_period(p),
                       generated_at=base.generated_at)
    e1, e2 = (next(e for e in rep.enterprises if e.id == i) for i in ("E1", "E2"))
    assert (e1.ccp_total(0), e1.ccp_total(1), e1.ccp_total(3)) == (3, 870, 90)
    assert e2.ccp_total(0) is None  # no CCP records: unknown, not zero
    # three columns, one unit each: deviations, their minutes, minutes of lost monitoring
    assert render.ccp_cells(e1) == ("3", "14.5", "1.5")
    assert render.ccp_cells(e2) == ("—", "—", "—")
    d = {x["id"]: x for x in json.loads(render.to_json(rep))["enterprises"]}
    # no haccp_bureau rows here: the safety-supervision levels are unknown, not zero
    assert d["E1"]["ccp_kinds"]["pasteurization"] == {
        "deviations": 1, "deviation_min": 4.5, "losses": 1, "lost_min": 1.5,
        "unanswered_24h": None, "lots_on_hold": None}
    assert d["E2"]["ccp_deviations"] is None
    rows_csv = {r["Enterprise ID"]: r for r in english_csv(rep)}
    assert (rows_csv["E1"]["CCP deviations"], rows_csv["E1"]["Time in deviation (min)"],
            rows_csv["E1"]["Monitoring lost (min)"]) == ("3", "14.5000", "1.5000")
    assert rows_csv["E2"]["CCP deviations"] == ""  # unknown, not zero
    con = Console(record=True, width=200)
    render.print_table(rep, con)
    out = con.export_text()
    assert "关键控制点" in out and re.search(r"\s3\s+14\.5\s+1\.5\s", out)
    page = html.to_html(rep)
    assert "关键控制点偏差（次）" in page
    assert "<td>3</td><td>14.5</td><td>1.5</td>" in page


def sample_rows(sample: Any) -> list[Any]:
    """The rows sample_report() is built from (its own helpers)."""
    return [sample._k("E1", "cutting", 90, 100, 15), sample._l("E1", 100, 72, 500),
            sample._k("E2", "cutting", 50, 100), sample._l("E2", 100, 55, 900)]
