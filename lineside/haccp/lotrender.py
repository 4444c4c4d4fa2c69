"""A lot's traceability record as a table, JSON or a printable HTML page, in the site's
language (docs/lots.md, `lineside lot LOT`)."""

from __future__ import annotations

import datetime as dt
import html
import json

from lineside.haccp.entrytext import disposition_name
from lineside.haccp.lot import Entry, LotRecord
from lineside.haccp.render import deviation_kind
from lineside.i18n import Translator
from lineside.report.html import FONT_STACK


def _when(ns: int | None, tz: str) -> str:
    if ns is None:
        return "—"
    from zoneinfo import ZoneInfo

    t = dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).astimezone(ZoneInfo(tz))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _entry(e: Entry | None, t: Translator, tz: str, names: dict[str, str] | None = None
           ) -> str:
    if e is None:
        return t._("none")
    what = disposition_name(t, e.disposition) if e.disposition else \
        (names or {}).get(e.action) or e.action
    extra = e.justification or e.text
    return " ".join(x for x in (what, f"({extra})" if extra else "",
                                f"— {e.by} {_when(e.at_ns, tz)}") if x)


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{r:g}" for r in rates) or "—"


def _v(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def tables(rec: LotRecord, t: Translator, tz: str, names: dict[str, str] | None = None
           ) -> list[tuple[list[str], list[list[str]]]]:
    """The three tables of the record: where the lot ran (and what product), each CCP's
    monitoring during it, and the deviations that affected it with what was done
    (`names`: the configured corrective actions' names by id)."""
    minute = t.pgettext("unit", "min")
    machines = {r.machine: r.machine_name for r in rec.runs}
    runs = ([t._("Line"), t._("Machine"), t._("Start"), t._("End"), t._("Minutes"),
             t._("Good"), t._("Reject"), t._("Total"), t._("Product"),
             t._("Ideal rate (units/min)")],
            [[r.line, r.machine_name or r.machine, _when(r.start_ns, tz),
              _when(r.end_ns, tz) if r.end_ns is not None else t._("running"),
              "—" if r.span_s is None else f"{r.span_s / 60:.1f}",
              *(str(r.counts[k]) if k in r.counts else "—"
                for k in ("good_count", "reject_count", "total_count")),
              ", ".join(str(p) for p in r.products) or "—", _rates(r.ideal_rates)]
             for r in rec.runs])
    ccps = ([t._("Critical control point"), t._("Machine"), t._("From"), t._("To"),
             t._("Lowest"), t._("Highest"), t._("Mean"), t._("Unit"),
             t._("{what} ({unit})").format(what=t._("Out of limits"), unit=minute),
             t._("{what} ({unit})").format(what=t._("Monitoring lost"), unit=minute),
             t._("Deviations"), t._("Losses of monitoring")],
            [[c.ccp_name, machines.get(c.machine) or c.machine, _when(c.from_ns, tz),
              _when(c.to_ns, tz), _v(c.min), _v(c.max), _v(c.mean), c.unit,
              f"{c.out_of_limits_s / 60:.1f}", f"{c.lost_s / 60:.1f}", str(c.deviations),
              str(c.losses)]
             for c in rec.ccps])
    devs = ([t._("Critical control point"), t._("Deviation"), t._("Start"), t._("End"),
             t._("Corrective action"), t._("Disposition of this lot"), t._("Verified by")],
            [[d.ccp_name, deviation_kind(t, d.kind), _when(d.start_ns, tz),
              _when(d.end_ns, tz),
              "; ".join(_entry(a, t, tz, names) for a in d.actions) or t._("none"),
              _entry(d.disposition, t, tz), _entry(d.verification, t, tz)]
             for d in rec.deviations])
    return [runs, ccps, devs]


def as_table(rec: LotRecord, t: Translator, tz: str, names: dict[str, str] | None = None
             ) -> str:
    from rich.cells import cell_len

    lot_word = t._("Lot")
    out = [f"{lot_word} {rec.lot}", ""]
    for head, rows in tables(rec, t, tz, names):
        if not rows:
            out += [t._("none"), ""]
            continue
        widths = [max(cell_len(str(c)) for c in col)
                  for col in zip(head, *rows, strict=True)]
        for row in [head, *rows]:
            out.append("  ".join(str(c) + " " * (w - cell_len(str(c)))
                                 for c, w in zip(row, widths, strict=True)).rstrip())
        out.append("")
    return "\n".join(out)


def as_json(rec: LotRecord) -> str:
    return json.dumps(rec.to_json(), ensure_ascii=False, indent=2)


def as_html(rec: LotRecord, t: Translator, tz: str, names: dict[str, str] | None = None
            ) -> str:
    e = html.escape
    lot_word, none = t._("Lot"), t._("none")
    parts = [f'<!DOCTYPE html><html lang="{e(t.html_lang)}"><head><meta charset="utf-8">',
             f"<title>{e(lot_word)} {e(rec.lot)}</title><style>",
             f"@page{{size:A4 landscape;margin:10mm}}body{{font:13px/1.4 {FONT_STACK}}}"
             "h1{font-size:18px}h2{font-size:15px;margin:14px 0 4px}"
             "table{border-collapse:collapse;width:100%;margin-bottom:1em}"
             "th,td{border:1px solid #999;padding:2px 4px;overflow-wrap:anywhere}",
             f"</style></head><body><h1>{e(lot_word)} {e(rec.lot)}</h1>"]
    titles = (t._("Where it ran"), t._("Critical control points during the lot"),
              t._("Deviations that affected it"))
    for title, (head, rows) in zip(titles, tables(rec, t, tz, names), strict=True):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head)
                     + "</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        if not rows:
            parts.append(f'<tr><td colspan="{len(head)}">{e(none)}</td></tr>')
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "".join(parts)
