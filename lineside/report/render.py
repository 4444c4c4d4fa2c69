"""Terminal table (rich), CSV and JSON renderings of a `Report`.

The JSON layout is the documented schema `lineside.bureau-report/2` (docs/bureau.md):
rates are fractions (0.63, not 63), absent figures are null, never 0.
"""

from __future__ import annotations

import io
import json
from typing import Any

from lineside import csvcell
from lineside.report.data import (
    STAGE_KINDS,
    EnterpriseFigures,
    Period,
    Report,
)
from lineside.report.labels import KIND_ZH, both, kind_label, status_label

SCHEMA = "lineside.bureau-report/2"


def pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def pp(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:+.1f} pp"


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(x, nd)


# --------------------------------------------------------------------------- JSON


def _period(p: Period) -> dict[str, Any]:
    return {"kind": p.kind, "label": p.label, "start": p.start.isoformat(),
            "end": p.end.isoformat(), "tz": p.tz}


def _enterprise(e: EnterpriseFigures) -> dict[str, Any]:
    return {
        "id": e.id, "name": e.name, "region": e.region, "status": e.status,
        "automation_rate": _r(e.automation_rate), "previous_rate": _r(e.previous_rate),
        "trend": _r(e.trend), "meets_target": e.meets_target,
        "digitized": _r(e.digitized), "oee": _r(e.oee), "previous_oee": _r(e.previous_oee),
        "planned_busy_s": _r(e.planned_busy_s, 3), "good_count": _r(e.good_count, 3),
        "run_s": _r(e.run_s, 3), "auto_run_s": _r(e.auto_run_s, 3),
        "stage_kinds": {
            k.kind: {"rate": _r(k.rate), "previous_rate": _r(k.previous_rate),
                     "trend": _r(k.trend), "auto_run": _r(k.auto_run, 3),
                     "run": _r(k.run, 3)}
            for k in e.kinds.values()
        },
        "lines": [{"site": lf.site, "line": lf.line, "rate": _r(lf.rate),
                   "planned_busy_s": _r(lf.planned_busy_s, 3),
                   "stage_kinds": list(lf.kinds)} for lf in e.lines],
        "flags": list(e.flags),
        # CCP deviations (counts, minutes) beside the rate; null without CCP records
        "ccp_deviations": _r(e.ccp_total(0), 0),
        "ccp_deviation_min": _r(_min(e.ccp_total(1)), 3),
        "ccp_lost_min": _r(_min(e.ccp_total(3)), 3),
        "ccp_kinds": {k: {"deviations": _r(v[0], 0), "deviation_min": _r(v[1] / 60, 3),
                          "losses": _r(v[2], 0), "lost_min": _r(v[3] / 60, 3)}
                      for k, v in e.ccp.items()},
    }


def _min(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def ccp_cell(e: EnterpriseFigures) -> str:
    """'2 · 14.5 min · lost 3.0 min' (deviations, their minutes, loss of monitoring)."""
    n = e.ccp_total(0)
    if n is None:
        return "—"
    return (f"{n:.0f} · {(e.ccp_total(1) or 0) / 60:.1f} min · "
            f"lost {(e.ccp_total(3) or 0) / 60:.1f} min")


def to_dict(r: Report) -> dict[str, Any]:
    d = r.district
    return {
        "schema": SCHEMA,
        "period": _period(r.period),
        "previous_period": _period(r.previous),
        "target": r.target,
        "generated_at": r.generated_at.isoformat(),
        "source": r.source,
        "district": {
            "registered": d.registered, "reporting": d.reporting, "missing": d.missing,
            "mean_rate": _r(d.mean_rate), "weighted_rate": _r(d.weighted_rate),
            "meeting": d.meeting, "share_meeting": _r(d.share_meeting),
            "mean_oee": _r(d.mean_oee), "previous_mean_rate": _r(d.previous_mean_rate),
            "trend": _r(d.trend),
            "hold_backs": [
                {"kind": h.kind, "kind_zh": KIND_ZH.get(h.kind, h.kind),
                 "below_target": list(h.below_target), "weakest_of": list(h.weakest_of),
                 "mean_rate": _r(h.mean_rate)}
                for h in d.hold_backs
            ],
        },
        "enterprises": [_enterprise(e) for e in r.enterprises],
        "flags": list(r.flags),
    }


def to_json(r: Report) -> str:
    return json.dumps(to_dict(r), ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "id", "name", "region", "status", "automation_rate", "previous_rate", "trend",
    "meets_target", "digitized", "oee", "good_count", "planned_busy_s",
)
CCP_CSV_COLUMNS = ("ccp_deviations", "ccp_deviation_min", "ccp_lost_min")


def to_csv(r: Report) -> str:
    """One row per enterprise, rates as fractions, then one `*` row for the district.

    Starts with a UTF-8 byte-order mark so spreadsheet programs read the Chinese names.
    Enterprise ids and names come from tag values anyone with an uplink credential can
    write: every cell goes through `lineside.csvcell` (no formula ever evaluates).
    """
    kinds = [k for k in STAGE_KINDS if k in r.kinds_present()]
    buf = io.StringIO()
    w = csvcell.writer(buf)
    put = lambda cells: w.writerow(csvcell.row(cells))  # noqa: E731 (names are untrusted)
    put([*CSV_COLUMNS, *(f"rate_{k}" for k in kinds), *CCP_CSV_COLUMNS])

    def f(x: float | None) -> str:
        return "" if x is None else f"{x:.6f}"

    for e in r.enterprises:
        put([
            e.id, e.name, e.region, e.status, f(e.automation_rate), f(e.previous_rate),
            f(e.trend), "" if e.meets_target is None else str(e.meets_target).lower(),
            f(e.digitized), f(e.oee), f"{e.good_count:.0f}", f"{e.planned_busy_s:.0f}",
            *(f(e.kinds[k].rate) if k in e.kinds else "" for k in kinds),
            "" if e.ccp_total(0) is None else f"{e.ccp_total(0):.0f}",
            f(_min(e.ccp_total(1))), f(_min(e.ccp_total(3))),
        ])
    d = r.district
    put(["*", "全区 district", "", f"{d.meeting}/{d.reporting} meeting",
                f(d.mean_rate), f(d.previous_mean_rate), f(d.trend), "", "",
                f(d.mean_oee), "", "", *("" for _ in kinds), "", "", ""])
    return "\ufeff" + buf.getvalue()


# --------------------------------------------------------------------------- terminal


def print_table(r: Report, console: Any = None) -> None:
    """The report as rich tables on a terminal."""
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    kinds = list(r.kinds_present())
    t = Table(title=f"{both('title')}  ·  {r.period.label}  ·  "
                    f"{both('target')} {pct(r.target, 0)}",
              title_justify="left", show_lines=False)
    # Names fold, figures never get cut: a narrow terminal wraps text, not numbers.
    t.add_column(both("enterprise", "\n"), overflow="fold", min_width=10)
    t.add_column(both("region", "\n"), overflow="fold")
    t.add_column("自动化率\nRate", justify="right", no_wrap=True)
    t.add_column("环比\nTrend", justify="right", no_wrap=True)
    t.add_column(f"达标\n≥{pct(r.target, 0)}", justify="center", overflow="fold")
    t.add_column("数字化\nDigitized", justify="right", no_wrap=True)
    t.add_column("OEE", justify="right", no_wrap=True)
    t.add_column("关键控制点偏差\nCCP deviations", justify="right", overflow="fold")
    for e in r.enterprises:
        if e.status in ("missing", "no_production", "unregistered"):
            meets = f"[yellow]{status_label(e.status)}[/]"
        elif e.meets_target:
            meets = "[green]✔ 达标[/]"
        else:
            meets = "[red]✘ 未达标[/]"
        name = f"{e.name}\n{e.id}" if e.name else e.id
        if e.flags:
            name += " [yellow]⚠[/]"
        t.add_row(name, e.region, pct(e.automation_rate), pp(e.trend), meets,
                  pct(e.digitized, 0), pct(e.oee), ccp_cell(e))
    con.print(t)
    if kinds:  # a second table, so ten stage kinds never squeeze the main figures
        k = Table(title=both("stage_kinds"), title_justify="left")
        k.add_column(both("enterprise", "\n"), overflow="fold", min_width=8)
        for kind in kinds:
            k.add_column(kind_label(kind, "\n"), justify="right", no_wrap=True, min_width=4)
        for e in r.enterprises:
            if not e.kinds:
                continue
            cells = []
            for kind in kinds:
                kf = e.kinds.get(kind)
                if kf is None or kf.rate is None:
                    cells.append("")
                else:
                    color = "green" if kf.rate >= r.target - 1e-12 else "red"
                    cells.append(f"[{color}]{pct(kf.rate, 0)}[/]")
            k.add_row(e.name or e.id, *cells)
        con.print(k)
    d = r.district
    s = Table(title=both("district"), title_justify="left", show_header=False)
    s.add_column()
    s.add_column(justify="right")
    s.add_row(both("registered"), f"{d.registered} ({d.reporting} {both('reporting')}, "
                                   f"{d.missing} {both('missing')})")
    s.add_row(both("mean"), f"{pct(d.mean_rate)}  ({both('trend')} {pp(d.trend)})")
    s.add_row(both("weighted"), pct(d.weighted_rate))
    s.add_row(both("meeting"), f"{d.meeting} / {d.reporting}")
    s.add_row(both("share"), pct(d.share_meeting))
    s.add_row("OEE", pct(d.mean_oee))
    con.print(s)
    if d.hold_backs:
        h = Table(title=both("holdbacks"), title_justify="left")
        h.add_column("环节 Stage kind")
        h.add_column(both("below"))
        h.add_column(both("weakest"))
        h.add_column(both("mean"), justify="right")
        for hb in d.hold_backs:
            h.add_row(kind_label(hb.kind), ", ".join(hb.below_target),
                      ", ".join(hb.weakest_of), pct(hb.mean_rate))
        con.print(h)
    for fl in r.flags:
        con.print(f"[yellow]⚠ {fl}[/]")
