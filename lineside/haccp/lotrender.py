"""A lot's traceability record as a table, JSON or a printable HTML page, in the site's
language (docs/lots.md, `lineside lot LOT`)."""

from __future__ import annotations

import datetime as dt
import html
import json

from lineside.haccp.entrytext import disposition_name
from lineside.haccp.lot import Entry, LotRecord
from lineside.i18n import Translator
from lineside.report.html import FONT_STACK


def _when(ns: int | None, tz: str) -> str:
    if ns is None:
        return "—"
    from zoneinfo import ZoneInfo

    t = dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).astimezone(ZoneInfo(tz))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _entry(e: Entry | None, t: Translator, tz: str) -> str:
    if e is None:
        return t._("none")
    what = disposition_name(t, e.disposition) if e.disposition else e.action
    extra = e.justification or e.text
    return " ".join(x for x in (what, f"({extra})" if extra else "",
                                f"— {e.by} {_when(e.at_ns, tz)}") if x)


def tables(rec: LotRecord, t: Translator, tz: str) -> list[tuple[list[str], list[list[str]]]]:
    """The two tables of the record: where the lot ran, and what affected it."""
    runs = ([t._("Line"), t._("Machine"), t._("Start"), t._("End"), t._("Minutes"),
             t._("Good"), t._("Reject"), t._("Total")],
            [[r.line, r.machine_name or r.machine, _when(r.start_ns, tz),
              _when(r.end_ns, tz) if r.end_ns is not None else t._("running"),
              "—" if r.span_s is None else f"{r.span_s / 60:.1f}",
              *(str(r.counts[k]) if k in r.counts else "—"
                for k in ("good_count", "reject_count", "total_count"))]
             for r in rec.runs])
    devs = ([t._("Critical control point"), t._("Deviation"), t._("Start"), t._("End"),
             t._("Corrective action"), t._("Disposition of this lot"), t._("Verified by")],
            [[d.ccp_name, d.kind, _when(d.start_ns, tz), _when(d.end_ns, tz),
              "; ".join(_entry(a, t, tz) for a in d.actions) or t._("none"),
              _entry(d.disposition, t, tz), _entry(d.verification, t, tz)]
             for d in rec.deviations])
    return [runs, devs]


def as_table(rec: LotRecord, t: Translator, tz: str) -> str:
    lot_word = t._("Lot")
    out = [f"{lot_word} {rec.lot}", ""]
    for head, rows in tables(rec, t, tz):
        if not rows:
            out += [t._("none"), ""]
            continue
        widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
        for row in [head, *rows]:
            out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        out.append("")
    return "\n".join(out)


def as_json(rec: LotRecord) -> str:
    return json.dumps(rec.to_json(), ensure_ascii=False, indent=2)


def as_html(rec: LotRecord, t: Translator, tz: str) -> str:
    e = html.escape
    lot_word, none = t._("Lot"), t._("none")
    parts = [f'<!DOCTYPE html><html lang="{e(t.html_lang)}"><head><meta charset="utf-8">',
             f"<title>{e(lot_word)} {e(rec.lot)}</title><style>",
             f"@page{{size:A4 landscape;margin:10mm}}body{{font-family:{FONT_STACK}}}"
             "table{border-collapse:collapse;width:100%;margin-bottom:1em}"
             "th,td{border:1px solid #999;padding:2px 4px;overflow-wrap:anywhere}",
             f"</style></head><body><h1>{e(lot_word)} {e(rec.lot)}</h1>"]
    for head, rows in tables(rec, t, tz):
        parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head)
                     + "</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        if not rows:
            parts.append(f'<tr><td colspan="{len(head)}">{e(none)}</td></tr>')
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "".join(parts)
