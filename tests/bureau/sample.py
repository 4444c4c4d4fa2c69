"""A report over three enterprises (above, below, missing), built without a server."""

from __future__ import annotations

import csv
import datetime as dt
import io

from lineside.i18n import translator
from lineside.report.aggregate import build_report
from lineside.report.data import Registered, Report, Row
from lineside.report.period import period_containing, previous_period

REGISTRY = [Registered("E1", "川味卤牛肉", "510114"), Registered("E2", "蜀香速冻水饺", "510114"),
            Registered("E3", "天府乳业", "510115")]


def _k(e: str, k: str, auto: float, run: float, dig: float = 0.0) -> Row:
    """Stage `k` (of kind k) of line L1: its sums over the period."""
    return Row("automation", {"enterprise": e, "region": "510114", "site": "S1",
                              "line": "L1", "stage": k, "stage_kind": k},
               {"auto_ideal_units": auto, "run_ideal_units": run, "auto_run_s": auto,
                "run_s": run, "weight": 1.0, "line_planned_busy_s": 100.0,
                "digitized_sum": dig, "digitized_n": 15.0})


def _l(e: str, pbt: float, ideal_good: float, good: float) -> Row:
    return Row("oee", {"enterprise": e, "region": "510114", "site": "S1", "line": "L1"},
               {"planned_busy_s": pbt, "counted_planned_busy_s": pbt,
                "ideal_good_s": ideal_good, "good_count": good})


def sample_report() -> Report:
    p = period_containing("week", dt.date(2026, 11, 25), "Asia/Shanghai")
    rows = [
        _k("E1", "cleaning", 80, 100, 15), _k("E1", "cutting", 90, 100, 15),
        _k("E1", "frying", 70, 100, 15), _k("E1", "packaging", 95, 100, 5),
        _l("E1", 100, 72, 500),
        _k("E2", "cleaning", 10, 100), _k("E2", "cutting", 50, 100),
        _k("E2", "mixing", 30, 100), _k("E2", "packaging", 20, 100), _l("E2", 100, 55, 900),
    ]
    prev = [_k("E1", "cutting", 80, 100), _k("E2", "cutting", 40, 100)]
    return build_report(REGISTRY, rows, prev, p, previous_period(p),
                        generated_at=dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC))


def csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of a report CSV written in English, keyed by their headers."""
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def english_csv(rep: Report) -> list[dict[str, str]]:
    from lineside.report.render import to_csv

    return csv_rows(to_csv(rep, translator("en")))


LONG_REGISTRY = [
    Registered("cd-beef-01", "成都川味卤牛肉有限公司", "510116"),
    Registered("ms-dumpling-02", "眉山蜀香速冻食品厂", "511402"),
    Registered("ls-dairy-03", "乐山天府乳业有限公司", "511102"),
    Registered("ya-tea-04", "Ya'an Mengding Mountain Tea & Preserved Vegetable Co., Ltd.",
               "511802"),
]


def paper_report() -> Report:
    """A report as wide as a real one gets: long company names (Chinese and English),
    every stage kind, CCP aggregates; for the printed-page tests."""
    p = period_containing("month", dt.date(2026, 11, 1), "Asia/Shanghai")
    rows: list[Row] = []
    for i, (e, share) in enumerate((("cd-beef-01", 0.84), ("ms-dumpling-02", 0.41),
                                    ("ya-tea-04", 0.66))):
        for j, kind in enumerate(("cleaning", "thawing", "cutting", "peeling", "dehairing",
                                  "mixing", "frying", "heating", "packaging", "other")):
            auto = 100 * max(0.0, min(1.0, share + 0.07 * ((i + j) % 5 - 2)))
            rows.append(_k(e, kind, auto, 100, 15))
        rows.append(_l(e, 100, 60 + 5 * i, 12_000 + 1000 * i))
        rows.append(Row("ccp_bureau", {"enterprise": e, "region": "510116",
                                       "ccp_kind": "frying"},
                        {"deviations": 2 + i, "deviation_s": 870.0 + 60 * i,
                         "losses": 1, "lost_s": 90.0}))
        # the safety supervision levels (haccp_bureau), two CCP kinds each
        for kind, late, held in (("frying", i, 7 + i), ("cold_storage", 0, 11)):
            if kind != "frying":
                rows.append(Row("ccp_bureau", {"enterprise": e, "region": "510116",
                                               "ccp_kind": kind},
                                {"deviations": 0, "deviation_s": 0.0, "losses": 0,
                                 "lost_s": 0.0}))
            rows.append(Row("haccp_bureau", {"enterprise": e, "region": "510116",
                                             "site": "S1", "ccp_kind": kind},
                            {"unanswered_24h": late, "lots_on_hold": held}))
    prev = [_k("cd-beef-01", "cutting", 80, 100), _k("ms-dumpling-02", "cutting", 40, 100)]
    return build_report(LONG_REGISTRY, rows, prev, p, previous_period(p),
                        generated_at=dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC))
