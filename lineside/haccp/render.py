"""A monitoring record as a table, CSV, JSON or printable HTML (pure).

What a person reads (table, CSV, HTML) speaks the locale (`lineside.i18n`): headers in
words, one unit per column (durations in minutes on paper and screen, in seconds in the
CSV, values in the CCP's unit, named in its own column), names before ids, times in the
record's zone. JSON keeps the field names and ids, whatever the locale.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from lineside import csvcell
from lineside.haccp import entrytext
from lineside.haccp.record import CcpLine, Deviation, HaccpRecord
from lineside.i18n import Translator, plant_stamp, translator
from lineside.report.html import FONT_STACK

# JSON keys (stable, machine-read)
COLUMNS = ("ccp", "kind", "machine", "limits", "monitored_s", "within_s", "warning_s",
           "excursion_s", "deviation_s", "lost_s", "deviations", "losses", "min", "max",
           "mean")
DEV_COLUMNS = ("ccp", "kind", "start", "end", "duration_s", "peak", "limit", "side",
               "state", "shift", "end_reason", "seq")
DURATIONS = ("monitored_s", "within_s", "warning_s", "excursion_s", "deviation_s", "lost_s")


def _local(ns: int | None, tz: str) -> str:
    if ns is None:
        return "open"
    return dt.datetime.fromtimestamp(ns / 1e9, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _num(v: Any, nd: int = 1) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, bool | str):
        return str(v)
    return f"{v:.{nd}f}" if isinstance(v, float) and v != int(v) else str(int(v))


def limits_text(c: CcpLine, t: Translator) -> str:
    """The critical limits in words: "≥ 165 and ≤ 185 °C; a deviation after 5 s"."""
    low = None if c.critical_min is None else f"≥ {c.critical_min:g}"
    high = None if c.critical_max is None else f"≤ {c.critical_max:g}"
    both = t._("{low} and {high}").format(low=low, high=high) if low and high else None
    text = both or low or high or ""
    if not text:
        return ""
    text += f" {c.unit}" if c.unit else ""
    if c.min_duration_s:
        text += t._("; a deviation after {seconds} s").format(seconds=f"{c.min_duration_s:g}")
    return text


def rows(rec: HaccpRecord) -> list[dict[str, Any]]:
    out = []
    en = translator("en")
    for c in rec.ccps:
        f = c.fields
        out.append({"ccp": c.ccp, "kind": c.kind, "machine": c.machine,
                    "limits": limits_text(c, en),
                    **{k: f.get(k) for k in COLUMNS[4:14]}, "mean": c.mean})
    return out


def dev_rows(rec: HaccpRecord) -> list[dict[str, Any]]:
    out = []
    for d in rec.deviations:
        f = d.fields
        out.append({"ccp": d.ccp, "kind": d.kind, "start": _local(d.start_ns, rec.tz),
                    "end": _local(d.end_ns, rec.tz), "duration_s": d.duration_s,
                    "peak": f.get("peak"), "limit": f.get("limit"), "side": f.get("side"),
                    "state": f.get("state"), "shift": f.get("shift"),
                    "end_reason": f.get("end_reason", ""),
                    "seq": ",".join(str(s) for s in sorted(d.seqs))})
    return out


# --------------------------------------------------------------------------- sheets


@dataclass(frozen=True)
class Col:
    """A column a person reads: its header (the unit in it) and how a cell is drawn."""

    key: str
    head: str
    cell: Callable[[Any], str]
    numeric: bool = True


def headed(t: Translator, words: str, unit: str) -> str:
    """A header with its unit: "Monitored (min)", "监控时长（分钟）"."""
    return t._("{what} ({unit})").format(what=words, unit=unit)


def _minutes(seconds: Any) -> str:
    return "" if seconds is None else f"{float(seconds) / 60:.1f}"


def _seconds(seconds: Any) -> str:
    return "" if seconds is None else _num(float(seconds), 1)


def deviation_kind(t: Translator, kind: str) -> str:
    return {"limit": t._("beyond a critical limit"),
            "monitoring": t._("loss of monitoring")}.get(kind, kind)


def end_reason(t: Translator, reason: str) -> str:
    return {"back within limits": t._("back within limits"),
            "monitoring lost": t._("monitoring lost"),
            "monitoring restored": t._("monitoring restored"),
            "not applicable": t._("no longer applicable")}.get(reason, reason)


def side_text(t: Translator, side: Any) -> str:
    return {"min": t._("below the minimum"), "max": t._("above the maximum")}.get(
        side, "" if side is None else str(side))


def ccp_cols(t: Translator, csv: bool = False) -> list[Col]:
    """The summary table's columns; the CSV gives durations in seconds, paper minutes."""
    d = _seconds if csv else _minutes
    unit = t.pgettext("unit", "s") if csv else t.pgettext("unit", "min")

    def dur(key: str, words: str) -> Col:
        return Col(key, headed(t, words, unit), lambda c: d(c.fields.get(key)))

    return [
        Col("ccp", t._("Critical control point"), lambda c: c.name or c.ccp, False),
        Col("ccp_id", t._("CCP ID"), lambda c: c.ccp, False),
        Col("kind", t._("Kind"), lambda c: t.ccp_kind(c.kind), False),
        Col("machine", t._("Machine"), lambda c: c.machine_name or c.machine, False),
        Col("hazard", t._("Hazard"), lambda c: c.hazard, False),
        Col("limits", t._("Critical limits"), lambda c: limits_text(c, t), False),
        dur("monitored_s", t._("Monitored")),
        dur("within_s", t._("Within limits")),
        dur("warning_s", t._("In the warning band")),
        dur("excursion_s", t._("Short excursions")),
        dur("deviation_s", t._("In deviation")),
        dur("lost_s", t._("Monitoring lost")),
        Col("deviations", t._("Deviations"), lambda c: _num(c.fields.get("deviations"))),
        Col("losses", t._("Losses of monitoring"), lambda c: _num(c.fields.get("losses"))),
        Col("unit", t._("Unit"), lambda c: c.unit, False),
        Col("min", t._("Lowest"), lambda c: _value(c.fields.get("min"))),
        Col("max", t._("Highest"), lambda c: _value(c.fields.get("max"))),
        Col("mean", t._("Mean"), lambda c: _value(c.mean)),
    ]


def _value(v: Any) -> str:
    return "" if v is None else f"{float(v):.2f}"


def dev_cols(t: Translator, rec: HaccpRecord, csv: bool = False) -> list[Col]:
    by_id = {c.ccp: c for c in rec.ccps}

    def name(d: Deviation) -> str:
        c = by_id.get(d.ccp)
        return (c.name if c else "") or d.ccp

    def unit(d: Deviation) -> str:
        c = by_id.get(d.ccp)
        return c.unit if c else ""

    dur = (Col("duration_s", headed(t, t._("Duration"), t.pgettext("unit", "s")),
               lambda d: _seconds(d.duration_s)) if csv else
           Col("duration_s", headed(t, t._("Duration"), t.pgettext("unit", "min")),
               lambda d: _minutes(d.duration_s)))
    return [
        Col("ccp", t._("Critical control point"), name, False),
        Col("kind", t._("Deviation"), lambda d: deviation_kind(t, d.kind), False),
        Col("start", t._("Start"), lambda d: _local(d.start_ns, rec.tz), False),
        Col("end", t._("End"), lambda d: (t._("ongoing") if d.end_ns is None
                                          else _local(d.end_ns, rec.tz)), False),
        dur,
        Col("side", t._("Side"), lambda d: side_text(t, d.fields.get("side")), False),
        Col("limit", t._("Limit"), lambda d: _num(d.fields.get("limit"), 2)),
        Col("peak", t._("Peak"), lambda d: _value(d.fields.get("peak"))),
        Col("unit", t._("Unit"), unit, False),
        Col("state", t._("Machine state at start"),
            lambda d: t.state(str(d.fields.get("state", ""))) if d.fields.get("state")
            else "", False),
        Col("shift", t._("Shift"), lambda d: str(d.fields.get("shift") or ""), False),
        Col("end_reason", t._("Ended by"),
            lambda d: end_reason(t, str(d.fields.get("end_reason") or "")), False),
        Col("seq", t._("Record numbers"), lambda d: ",".join(str(s) for s in sorted(d.seqs)),
            False),
        *(entry_cols(t, rec) if csv else []),
    ]


def entry_cols(t: Translator, rec: HaccpRecord) -> list[Col]:
    """What was done about a deviation: the CSV's last columns, and on paper and screen
    the line under each deviation."""
    now = rec.now_ns
    return [
        Col("id", t._("Deviation ID"), lambda d: d.id, False),
        Col("actions", t._("Corrective action"),
            lambda d: entrytext.action_text(d, rec.action_names, t, rec.tz, now), False),
        Col("lots", t._("Affected lots and their disposition"),
            lambda d: entrytext.lots_text(d, t, rec.tz), False),
        Col("verification", t._("Verification"),
            lambda d: entrytext.verification_text(d, t, rec.tz, now), False),
    ]


def title(rec: HaccpRecord, t: Translator) -> str:
    sc = rec.scope
    if sc.shift is not None:
        what = t._("shift {shift} starting {date}").format(shift=sc.shift,
                                                           date=sc.shift_date or "")
    else:
        what = t._("day {date}").format(date=sc.start.astimezone(ZoneInfo(rec.tz)).date())
    return t._("HACCP monitoring record: {what}").format(what=what)


def meta(rec: HaccpRecord, t: Translator) -> str:
    start = int(rec.scope.start.timestamp() * 1e9)
    end = int(rec.scope.end.timestamp() * 1e9)
    return t._("{start} to {end} ({tz}) · source {source} · generated {generated}").format(
        start=_local(start, rec.tz), end=_local(end, rec.tz), tz=rec.tz, source=rec.source,
        generated=plant_stamp(rec.generated, rec.tz))


# --------------------------------------------------------------------------- text


def to_table(rec: HaccpRecord, t: Translator | None = None) -> str:
    from rich.cells import cell_len

    t = t or translator()

    def table(cols: list[Col], items: list[Any],
              under: Callable[[Any], list[str]] | None = None) -> list[str]:
        cells = [[c.head for c in cols]] + [[c.cell(x) for c in cols] for x in items]
        w = [max(cell_len(row[i]) for row in cells) for i in range(len(cols))]

        def pad(v: str, i: int) -> str:
            gap = " " * (w[i] - cell_len(v))
            return gap + v if cols[i].numeric else v + gap
        out = []
        for n, row in enumerate(cells):
            out.append("  ".join(pad(v, i) for i, v in enumerate(row)).rstrip())
            if under and n:
                out += under(items[n - 1])
        return out

    def entries(d: Deviation) -> list[str]:  # what was done about it, under its row
        return [f"    {c.head}: {c.cell(d)}" for c in entry_cols(t, rec)]

    lines = [title(rec, t), meta(rec, t), ""]
    lines += table(ccp_cols(t), rec.ccps)
    lines += ["", t._("Deviations ({n})").format(n=len(rec.deviations))]
    lines += (table(dev_cols(t, rec), rec.deviations, entries) if rec.deviations
              else [t._("none")])
    return "\n".join(lines) + "\n"


def to_csv(rec: HaccpRecord, t: Translator | None = None) -> str:
    """Two tables, one after the other: the CCPs, then (after an empty row) the
    deviations; durations in seconds. UTF-8 with a byte-order mark for spreadsheets;
    every cell through `lineside.csvcell` (names and hazards are free text)."""
    t = t or translator()
    buf = io.StringIO()
    w = csvcell.writer(buf)
    cols = ccp_cols(t, csv=True)
    w.writerow(csvcell.row(c.head for c in cols))
    for c in rec.ccps:
        w.writerow(csvcell.row(col.cell(c) for col in cols))
    w.writerow([])
    dcols = dev_cols(t, rec, csv=True)
    w.writerow(csvcell.row(c.head for c in dcols))
    for d in rec.deviations:
        w.writerow(csvcell.row(col.cell(d) for col in dcols))
    return "\ufeff" + buf.getvalue()


def to_json(rec: HaccpRecord) -> str:
    return json.dumps({
        "title": rec.title, "start": rec.scope.start.isoformat(),
        "end": rec.scope.end.isoformat(), "tz": rec.tz, "source": rec.source,
        "ccps": [{**r, "name": c.name, "hazard": c.hazard, "unit": c.unit}
                 for r, c in zip(rows(rec), rec.ccps, strict=True)],
        "deviations": [{**r, "id": d.id, "start_ns": d.start_ns, "end_ns": d.end_ns,
                        "actions": [asdict(a) for a in d.actions],
                        "lots": [{"lot": k, "disposition": None if e is None else asdict(e)}
                                 for k, e in d.lots.items()],
                        "verification": None if d.verification is None
                        else asdict(d.verification)}
                       for r, d in zip(dev_rows(rec), rec.deviations, strict=True)],
    }, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- HTML

# The bureau report's font stack: Latin faces, then Simplified Chinese ones per platform.
# Tables are fixed to the page's width: headers and text wrap, numbers never clip, so an
# A4 landscape sheet (@page) and a 1280-px window hold every column
# (tests/haccp/test_paper.py).
_CSS = """
*{box-sizing:border-box}
body{font:13px/1.4 FONT_STACK;margin:16px;color:#111}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
.meta{color:#444;font-size:12px}
table{border-collapse:collapse;width:100%;margin-bottom:8px}
th,td{border:1px solid #999;padding:3px 4px;text-align:right;vertical-align:top}
th{background:#eee;font-weight:600;vertical-align:bottom;text-align:center;
word-break:keep-all}
td.l{overflow-wrap:anywhere}
td.l{text-align:left}td.n{white-space:nowrap}
small{color:#555}
.dev{background:#fde2e1}.lost{background:#fff3cd}
tr.under td{border-top:none;padding:2px 8px 6px}tr.under b{font-weight:600}
tr.under .missing{color:#a40000;font-weight:600}
.sign{margin-top:28px;display:flex;gap:48px}.sign div{border-top:1px solid #000;
width:220px;padding-top:4px;font-size:12px}
@page{size:A4 landscape;margin:10mm}
@media print{body{margin:0;font-size:10.5px}table{font-size:10px}
h2{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}
tr.dev,tr.lost{break-after:avoid}}
""".replace("FONT_STACK", FONT_STACK)


def _html_table(cols: list[Col], items: list[Any], row_class: Callable[[Any], str],
                first: Callable[[Any], str] | None = None, cls: str = "",
                under: Callable[[Any], str] | None = None) -> str:
    head = "".join(f"<th>{escape(c.head)}</th>" for c in cols)
    body = []
    for x in items:
        cells = []
        for i, c in enumerate(cols):
            text = first(x) if (i == 0 and first) else escape(c.cell(x))
            cells.append(f"<td class='{'n' if c.numeric else 'l'}'>{text}</td>")
        rc = row_class(x)
        body.append((f"<tr class='{rc}'>" if rc else "<tr>") + "".join(cells) + "</tr>")
        if under:  # a full-width row under the item (a deviation's actions)
            body.append(f"<tr class='under'><td class='l' colspan='{len(cols)}'>{under(x)}"
                        "</td></tr>")
    return (f"<table class='{cls}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def to_html(rec: HaccpRecord, t: Translator | None = None) -> str:
    """Self-contained, printable on A4 landscape; no script."""
    t = t or translator()
    # On paper the CCP's id, kind and machine go under its name (one column, not four).
    cols = [c for c in ccp_cols(t) if c.key not in ("ccp_id", "kind", "machine")]

    def ccp_cell(c: CcpLine) -> str:
        under = " · ".join(x for x in (c.ccp if c.name else "", t.ccp_kind(c.kind),
                                       c.machine_name or c.machine) if x)
        return f"{escape(c.name or c.ccp)}<br><small>{escape(under)}</small>"

    def ccp_class(c: CcpLine) -> str:
        f = c.fields
        return "dev" if (f.get("deviations") or 0) > 0 else (
            "lost" if (f.get("losses") or 0) > 0 else "")

    head = title(rec, t)
    ccps_h, devs_h = t._("Critical control points"), t._("Deviations ({n})")
    h = [f"<!doctype html><html lang='{t.html_lang}'><head><meta charset='utf-8'>"
         f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
         f"<title>{escape(head)}</title><style>{_CSS}</style></head><body>",
         f"<h1>{escape(head)}</h1>",
         f"<p class='meta'>{escape(meta(rec, t))}</p>",
         f"<h2>{escape(ccps_h)}</h2>",
         _html_table(cols, rec.ccps, ccp_class, ccp_cell, "ccps"),
         f"<h2>{escape(devs_h.format(n=len(rec.deviations)))}</h2>"]
    if rec.deviations:
        ecols = entry_cols(t, rec)

        def entries(d: Deviation) -> str:
            missing = {"actions": not d.actions, "lots": False,
                       "verification": d.verification is None}
            return "".join(
                f"<div class='{'missing' if missing[c.key] else ''}'><b>{escape(c.head)}</b> "
                f"{escape(c.cell(d))}</div>" for c in ecols[1:]) + \
                f"<small>{escape(ecols[0].head)} {escape(d.id)}</small>"

        h.append(_html_table(dev_cols(t, rec), rec.deviations,
                             lambda d: "lost" if d.kind == "monitoring" else "dev",
                             cls="deviations", under=entries))
    else:
        h.append("<p>" + escape(t._("No deviation.")) + "</p>")
    chained = escape(t._("Records are hash-chained (seq, prev, hash); {command} proves none "
                         "was altered, removed or inserted."))
    h.append(f"<p class='meta'>{chained.format(command='<code>lineside haccp verify</code>')}"
             "</p>")
    signs = (t._("Monitored by"), t._("Verified by"), t._("Date"))
    h.append("<div class='sign'>" + "".join(f"<div>{escape(x)}</div>" for x in signs)
             + "</div></body></html>\n")
    return "\n".join(h)
