"""Terminal table (rich), CSV and JSON renderings of a `Report`.

The JSON layout is the documented schema `lineside.bureau-report/2` (docs/bureau.md):
rates are fractions (0.63, not 63), absent figures are null, never 0; its keys and
values are ids, whatever the locale. The table and the CSV speak the locale
(`lineside.i18n`): headers in words with their unit, one unit per column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from lineside import csvcell
from lineside.i18n import Translator, plant_stamp, translator
from lineside.report import findings
from lineside.report.data import (
    STAGE_KINDS,
    EnterpriseFigures,
    Period,
    Report,
)

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
        # safety supervision (haccp_bureau): levels at the period's end, null without
        "ccp_unanswered_24h": _r(e.safety_total(0), 0),
        "ccp_lots_on_hold": _r(e.safety_total(1), 0),
        "ccp_kinds": {k: _ccp_kind(e, k) for k in e.ccp_kinds()},
    }


def _ccp_kind(e: EnterpriseFigures, k: str) -> dict[str, float | None]:
    v, s = e.ccp.get(k), e.safety.get(k)
    return {"deviations": None if v is None else _r(v[0], 0),
            "deviation_min": None if v is None else _r(v[1] / 60, 3),
            "losses": None if v is None else _r(v[2], 0),
            "lost_min": None if v is None else _r(v[3] / 60, 3),
            "unanswered_24h": None if s is None else _r(s[0], 0),
            "lots_on_hold": None if s is None else _r(s[1], 0)}


def _min(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


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
                {"kind": h.kind, "kind_zh": translator("zh-CN").stage_kind(h.kind),
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


# --------------------------------------------------------------------------- columns


def status_name(t: Translator, status: str) -> str:
    names = {"reporting": t._("reporting"), "no_production": t._("no production"),
             "missing": t._("missing"), "unregistered": t._("unregistered")}
    return names.get(status, status)


def minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def ccp_cells(e: EnterpriseFigures) -> tuple[str, str, str]:
    """Deviations, their minutes, minutes of lost monitoring: "—" without CCP records
    (unknown, not zero)."""
    n = e.ccp_total(0)
    if n is None:
        return "—", "—", "—"
    return f"{n:.0f}", minutes(e.ccp_total(1) or 0), minutes(e.ccp_total(3) or 0)


def count(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}"


def safety_cells(t: Translator, e: EnterpriseFigures) -> tuple[str, str, str]:
    """Deviations per CCP kind ("巴氏杀菌 2 · 冷藏 0"), deviations without a corrective
    action after 24 h, lots on hold: "—" where the enterprise sent none."""
    per_kind = " · ".join(f"{t.ccp_kind(k)} {e.ccp[k][0]:.0f}" for k in sorted(e.ccp))
    return per_kind or "—", count(e.safety_total(0)), count(e.safety_total(1))


def meets_cell(t: Translator, e: EnterpriseFigures) -> tuple[str, str]:
    """(css class, text) of the target column: yes, no, or why there is no rate."""
    if e.automation_rate is None:
        return "miss", status_name(t, e.status)
    if e.meets_target:
        return "ok", "✔ " + t._("yes")
    return "bad", "✘ " + t._("no")


def heads(t: Translator, target: float) -> dict[str, str]:
    """Column headers of the enterprise table, in words, each with its one unit."""
    return {
        "enterprise": t._("Enterprise"),
        "region": t._("Region code"),
        "automation_rate": t._("Automation rate"),
        "trend": t._("Change (percentage points)"),
        "meets": t._("Meets target ({target})").format(target=pct(target, 0)),
        "digitized": t._("Digitized stages"),
        "oee": t._("OEE"),
        "ccp_deviations": t._("CCP deviations"),
        "ccp_deviation_min": t._("Time in deviation (min)"),
        "ccp_lost_min": t._("Monitoring lost (min)"),
        "ccp_per_kind": t._("Deviations per CCP kind"),
        "ccp_unanswered": t._("Without corrective action after 24 h"),
        "ccp_on_hold": t._("Lots on hold"),
    }


def period_label(t: Translator, p: Period) -> str:
    """The period in words: "2026年第48周", "2026年11月", "week 48 of 2026"; a day and a
    custom range as dates (ISO)."""
    from zoneinfo import ZoneInfo

    start = p.start.astimezone(ZoneInfo(p.tz))
    if p.kind == "week":
        year, week, _ = start.date().isocalendar()
        return t._("week {week} of {year}").format(week=week, year=year)
    if p.kind == "month":
        return t._("{month_name} {year}").format(
            month_name=month_name(t, start.month), year=start.year)
    return p.label


def month_name(t: Translator, month: int) -> str:
    return (t._("January"), t._("February"), t._("March"), t._("April"), t._("May"),
            t._("June"), t._("July"), t._("August"), t._("September"), t._("October"),
            t._("November"), t._("December"))[month - 1]


def period_line(t: Translator, r: Report) -> str:
    """Period, its zone, the previous period, the target and when it was generated."""
    return t._("Period {label} ({tz}) · previous {previous} · target {target} · "
               "generated {generated}").format(
        label=period_label(t, r.period), tz=r.period.tz,
        previous=period_label(t, r.previous),
        target=pct(r.target, 0), generated=plant_stamp(r.generated_at, r.period.tz))


# --------------------------------------------------------------------------- CSV


def csv_heads(t: Translator, kinds: list[str], ccp_kinds: Sequence[str] = ()) -> list[str]:
    return [
        t._("Enterprise ID"), t._("Enterprise"), t._("Region code"), t._("Status"),
        t._("Automation rate (%)"), t._("Previous period's rate (%)"),
        t._("Change (percentage points)"), t._("Meets target"), t._("Digitized stages (%)"),
        t._("OEE (%)"), t._("Good units"), t._("Planned busy time (h)"),
        *(t._("Automation rate of {kind} (%)").format(kind=t.stage_kind(k)) for k in kinds),
        t._("CCP deviations"), t._("Time in deviation (min)"), t._("Monitoring lost (min)"),
        *(t._("CCP deviations: {kind}").format(kind=t.ccp_kind(k)) for k in ccp_kinds),
        t._("Without corrective action after 24 h"), t._("Lots on hold"),
    ]


def to_csv(r: Report, t: Translator | None = None) -> str:
    """One row per enterprise, then one `*` row for the district; headers in the locale's
    words with their unit; rates in percent, changes in percentage points, times in hours
    or minutes as the header says; empty where a figure is absent.

    Starts with a UTF-8 byte-order mark so spreadsheet programs read the Chinese names.
    Enterprise ids and names come from tag values anyone with an uplink credential can
    write: every cell goes through `lineside.csvcell` (no formula ever evaluates).
    """
    t = t or translator()
    kinds = [k for k in STAGE_KINDS if k in r.kinds_present()]
    buf = io.StringIO()
    w = csvcell.writer(buf)
    put = lambda cells: w.writerow(csvcell.row(cells))  # noqa: E731 (names are untrusted)
    ccp_kinds = sorted({k for e in r.enterprises for k in e.ccp})
    put(csv_heads(t, kinds, ccp_kinds))

    def p(x: float | None) -> str:
        return "" if x is None else f"{x * 100:.4f}"

    def m(seconds: float | None) -> str:
        return "" if seconds is None else f"{seconds / 60:.4f}"

    for e in r.enterprises:
        n = e.ccp_total(0)
        put([
            e.id, e.name, e.region, status_name(t, e.status), p(e.automation_rate),
            p(e.previous_rate), p(e.trend),
            "" if e.meets_target is None else (t._("yes") if e.meets_target else t._("no")),
            p(e.digitized), p(e.oee), f"{e.good_count:.0f}", f"{e.planned_busy_s / 3600:.4f}",
            *(p(e.kinds[k].rate) if k in e.kinds else "" for k in kinds),
            "" if n is None else f"{n:.0f}", m(e.ccp_total(1)), m(e.ccp_total(3)),
            *(f"{e.ccp[k][0]:.0f}" if k in e.ccp else "" for k in ccp_kinds),
            *("" if x is None else f"{x:.0f}" for x in (e.safety_total(0), e.safety_total(1))),
        ])
    d = r.district
    put(["*", t._("District"), "",
         t._("{meeting} of {reporting} meet the target").format(meeting=d.meeting,
                                                                 reporting=d.reporting),
         p(d.mean_rate), p(d.previous_mean_rate), p(d.trend), "", "", p(d.mean_oee), "", "",
         *("" for _ in kinds), "", "", "", *("" for _ in ccp_kinds), "", ""])
    return "\ufeff" + buf.getvalue()


# --------------------------------------------------------------------------- terminal


def print_table(r: Report, console: Any = None, t: Translator | None = None) -> None:
    """The report as rich tables on a terminal, in the locale."""
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.markup import escape as escape_markup
    from rich.table import Table
    from rich.text import Text

    t = t or translator()
    con = console or Console()
    kinds = list(r.kinds_present())
    h = heads(t, r.target)
    title = t._("District food enterprises: automation report")
    con.print(f"[bold]{escape_markup(title)}[/]")
    con.print(escape_markup(period_line(t, r)))  # a paragraph: wraps between words
    # no vertical borders (a rule under the headers only): on an 80-column terminal
    # their cells pushed the OEE column off the right edge
    narrow: dict[str, Any] = {"box": box.SIMPLE_HEAD, "show_edge": False}
    tbl = Table(show_lines=False, **narrow)
    # Names fold, figures never get cut: a narrow terminal wraps text, not numbers; the
    # name column keeps up to 20 cells so that a company name is not chopped first. The
    # CCP figures and the stage kinds get tables of their own (stage kinds in as many as
    # the width needs), so that at 80 columns no column falls off the right edge.
    widest = max((cell_len(e.name or e.id) for e in r.enterprises), default=10)
    name_w = max(10, min(widest, 20, con.width - 70))  # what the figures leave over

    def names_column(table: Table) -> None:
        table.add_column(h["enterprise"], overflow="fold", min_width=name_w)

    def name_cell(e: EnterpriseFigures, with_id: bool = True) -> str:
        # names and ids are tag values anyone with an uplink credential writes: no markup
        text = f"{e.name}\n{e.id}" if e.name and with_id else (e.name or e.id)
        return escape_markup(text) + (" [yellow]⚠[/]" if e.flags else "")

    names_column(tbl)
    colour = {"ok": "green", "bad": "red", "miss": "yellow"}
    rows = []
    for e in r.enterprises:
        cls, meets = meets_cell(t, e)
        rows.append([e.region, pct(e.automation_rate), signed(e.trend),
                     f"[{colour[cls]}]{meets}[/]", pct(e.digitized, 0), pct(e.oee)])
    keys = ("region", "automation_rate", "trend", "meets", "digitized", "oee")
    for i, key in enumerate(keys):
        # a figure column is as wide as its widest figure or header word, set, so that
        # rich wraps the header and never squeezes (or crops) a figure
        plain = [Text.from_markup(row[i]).plain for row in rows]
        tbl.add_column(h[key], justify="center" if key == "meets" else "right",
                       overflow="fold", width=_fit(h[key], plain))
    for e, row in zip(r.enterprises, rows, strict=True):
        tbl.add_row(name_cell(e), *row)
    con.print(tbl)
    if any(e.ccp or e.safety for e in r.enterprises):
        c = Table(title=t._("Critical control points"), title_justify="left", **narrow)
        names_column(c)
        cells = [ccp_cells(e) for e in r.enterprises]
        for i, key in enumerate(("ccp_deviations", "ccp_deviation_min", "ccp_lost_min")):
            c.add_column(h[key], justify="right", overflow="fold",
                         width=_fit(h[key], [row[i] for row in cells]))
        for e, ccp_row in zip(r.enterprises, cells, strict=True):
            c.add_row(name_cell(e, with_id=False), *ccp_row)
        con.print(c)
        # safety supervision: its own table, so that 80 columns hold every figure
        s = Table(title=t._("Safety supervision"), title_justify="left", **narrow)
        names_column(s)
        safety = [safety_cells(t, e) for e in r.enterprises]
        s.add_column(h["automation_rate"], justify="right", overflow="fold",
                     width=_fit(h["automation_rate"], [pct(e.automation_rate)
                                                       for e in r.enterprises]))
        s.add_column(h["ccp_per_kind"], overflow="fold")
        for i, key in ((1, "ccp_unanswered"), (2, "ccp_on_hold")):
            s.add_column(h[key], justify="right", overflow="fold",
                         width=_fit(h[key], [row[i] for row in safety]))
        for e, srow in zip(r.enterprises, safety, strict=True):
            s.add_row(name_cell(e, with_id=False), pct(e.automation_rate),
                      *(escape_markup(x) for x in srow))
        con.print(s)
    room = max(40, con.width - name_w - 4)
    for part in _kind_groups(t, kinds, room):
        k = Table(title=t._("Automation rate per stage kind"), title_justify="left", **narrow)
        names_column(k)
        for kind in part:
            k.add_column(t.stage_kind(kind), justify="right", no_wrap=True, min_width=4)
        for e in r.enterprises:
            if not e.kinds:
                continue
            rates: list[str] = []
            for kind in part:
                kf = e.kinds.get(kind)
                if kf is None or kf.rate is None:
                    rates.append("")
                else:
                    color = "green" if kf.rate >= r.target - 1e-12 else "red"
                    rates.append(f"[{color}]{pct(kf.rate, 0)}[/]")
            k.add_row(name_cell(e, with_id=False), *rates)
        con.print(k)
    d = r.district
    s = Table(title=t._("District"), title_justify="left", show_header=False)
    s.add_column()
    s.add_column(justify="right")
    for label, value in district_rows(t, r):
        s.add_row(label, value)
    con.print(s)
    if d.hold_backs:
        hb = Table(title=t._("Stage kinds holding enterprises back"), title_justify="left")
        hb.add_column(t._("Stage kind"))
        hb.add_column(t._("Enterprises below target"))
        hb.add_column(t._("Weakest stage kind of"))
        hb.add_column(t._("Mean rate"), justify="right")
        for x in d.hold_backs:
            hb.add_row(t.stage_kind(x.kind), escape_markup(", ".join(names(r, x.below_target))),
                       escape_markup(", ".join(names(r, x.weakest_of))), pct(x.mean_rate))
        con.print(hb)
    for fl in r.flags:
        con.print(f"[yellow]⚠ {escape_markup(findings.text(t, fl))}[/]")


def _fit(head: str, cells: list[str]) -> int:
    """Width of a figure column: its widest cell, or its header's longest word (a run of
    CJK, which may break anywhere, counts at most 8 cells)."""
    from rich.cells import cell_len

    words = [min(cell_len(w), 8) if not w.isascii() else cell_len(w) for w in head.split()]
    return max([*words, *(cell_len(c) for c in cells), 4])


def _kind_groups(t: Translator, kinds: list[str], room: int) -> list[list[str]]:
    """Stage kinds in groups whose columns fit in `room` cells (a column: its name or
    "100%", plus borders and padding)."""
    from rich.cells import cell_len

    groups: list[list[str]] = []
    cur: list[str] = []
    used = 0
    for k in kinds:
        w = max(cell_len(t.stage_kind(k)), 4) + 3
        if cur and used + w > room:
            groups.append(cur)
            cur, used = [], 0
        cur.append(k)
        used += w
    return [*groups, cur] if cur else groups


def signed(x: float | None) -> str:
    """A change in percentage points, the unit in the header: "+3.0"."""
    return "—" if x is None else f"{x * 100:+.1f}"


def names(r: Report, ids: tuple[str, ...]) -> list[str]:
    """Enterprise names for ids (the id where the registry has no name)."""
    by_id = {e.id: e.name or e.id for e in r.enterprises}
    return [by_id.get(i, i) for i in ids]


def district_rows(t: Translator, r: Report) -> list[tuple[str, str]]:
    d = r.district
    return [
        (t._("Registered enterprises"),
         t._("{registered} ({reporting} reporting, {missing} missing)").format(
             registered=d.registered, reporting=d.reporting, missing=d.missing)),
        (t._("Mean automation rate"), pct(d.mean_rate)),
        (t._("Change (percentage points)"), signed(d.trend)),
        (t._("Output-weighted rate"), pct(d.weighted_rate)),
        (t._("Enterprises meeting the target"), f"{d.meeting} / {d.reporting}"),
        (t._("Share meeting the target"), pct(d.share_meeting)),
        (t._("Mean OEE"), pct(d.mean_oee)),
    ]
