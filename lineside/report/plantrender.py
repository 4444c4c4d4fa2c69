"""The plant report as a terminal table, CSV, JSON (`lineside.plant-report/1`) and a
self-contained HTML page printable on A4 landscape, in the locale's words.

JSON keys and values are ids and fractions whatever the locale (absent: null); the
table, CSV and HTML show rates in percent and stop time in minutes.
"""

from __future__ import annotations

import io
import json
from html import escape
from typing import Any

from lineside import csvcell
from lineside.config.station import UNCLASSIFIED
from lineside.i18n import Translator, plant_stamp, translator
from lineside.report.html import FONT_STACK
from lineside.report.plant import LineFigures, PlantReport, ReasonFigures
from lineside.report.render import pct, period_label

SCHEMA = "lineside.plant-report/1"


def loss_name(t: Translator, loss: str) -> str:
    """One of the six big losses in the locale's words ("" stays "")."""
    names = {
        "breakdown": t.pgettext("big loss", "breakdown"),
        "setup": t.pgettext("big loss", "setup and adjustment"),
        "small_stop": t.pgettext("big loss", "small stops"),
        "reduced_speed": t.pgettext("big loss", "reduced speed"),
        "startup_reject": t.pgettext("big loss", "startup rejects"),
        "production_reject": t.pgettext("big loss", "production rejects"),
    }
    return names.get(loss, loss)


def reason_name(t: Translator, r: ReasonFigures) -> str:
    return t._("unclassified") if r.reason == UNCLASSIFIED else r.name


def line_name(t: Translator, ln: LineFigures) -> str:
    return t._("All lines") if ln.line == "*" else ln.name


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def title(t: Translator) -> str:
    return t._("Plant report: OEE, automation and downtime by reason")


def period_text(t: Translator, r: PlantReport) -> str:
    return t._("{site} · period {label} ({tz}) · generated {generated}").format(
        site=r.site_name, label=period_label(t, r.period), tz=r.period.tz,
        generated=plant_stamp(r.generated_at, r.period.tz))


def summary(t: Translator, ln: LineFigures) -> list[tuple[str, str]]:
    """(label, value) of a line's figures, in the order every format shows them."""
    return [
        (t._("OEE"), pct(ln.oee)), (t._("Availability"), pct(ln.availability)),
        (t._("Performance"), pct(ln.performance)), (t._("Quality"), pct(ln.quality)),
        (t._("Automation rate"), pct(ln.automation_rate)),
        (t._("Stop time (min)"), minutes(ln.stop_s)), (t._("Stops"), str(ln.stops)),
        (t._("Unclassified share"), pct(ln.unclassified_share)),
    ]


def pareto_heads(t: Translator) -> list[str]:
    return [t._("Reason"), t._("Category"), t._("Big loss"), t._("Downtime (min)"),
            t._("Stops"), t._("Share"), t._("Cumulative share")]


def pareto_cells(t: Translator, r: ReasonFigures) -> list[str]:
    return [reason_name(t, r), r.category_name or "—", loss_name(t, r.loss) or "—",
            minutes(r.seconds), str(r.stops), pct(r.share), pct(r.cumulative)]


def no_reasons(t: Translator, r: PlantReport) -> str:
    if not r.reasons_configured:
        return t._("No downtime reasons: the configuration has no station: section.")
    return t._("No stops that needed a reason in this period.")


# --------------------------------------------------------------------------- JSON


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(x, nd)


def to_dict(r: PlantReport) -> dict[str, Any]:
    p = r.period
    return {
        "schema": SCHEMA, "site": r.site, "site_name": r.site_name,
        "period": {"kind": p.kind, "label": p.label, "start": p.start.isoformat(),
                   "end": p.end.isoformat(), "tz": p.tz},
        "generated_at": r.generated_at.isoformat(), "source": r.source,
        "all_lines": _line(r.total), "lines": [_line(ln) for ln in r.lines],
    }


def _line(ln: LineFigures) -> dict[str, Any]:
    return {"line": ln.line, "name": ln.name, "oee": _r(ln.oee),
            "availability": _r(ln.availability), "performance": _r(ln.performance),
            "quality": _r(ln.quality), "automation_rate": _r(ln.automation_rate),
            "planned_busy_s": _r(ln.planned_busy_s, 3), "good_count": _r(ln.good_count, 3),
            "stop_s": _r(ln.stop_s, 6), "stops": ln.stops,
            "unclassified_s": _r(ln.unclassified_s, 6),
            "unclassified_share": _r(ln.unclassified_share),
            "pareto": [{"reason": x.reason, "name": x.name, "category": x.category or None,
                        "category_name": x.category_name or None, "loss": x.loss or None,
                        "seconds": _r(x.seconds, 6), "stops": x.stops, "share": _r(x.share),
                        "cumulative_share": _r(x.cumulative)} for x in ln.reasons]}


def to_json(r: PlantReport) -> str:
    return json.dumps(to_dict(r), ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- CSV


def to_csv(r: PlantReport, t: Translator | None = None) -> str:
    """One row per line and reason (a line without stops: one row, reason cells empty);
    the line's figures repeated on each of its rows; UTF-8 with a byte-order mark, every
    cell through `lineside.csvcell` (names are the plant's own text)."""
    t = t or translator()
    buf = io.StringIO()
    w = csvcell.writer(buf)

    def put(cells: list[str]) -> None:
        w.writerow(csvcell.row(cells))

    def p(x: float | None) -> str:
        return "" if x is None else f"{x * 100:.4f}"

    put([t._("Line ID"), t._("Line"), t._("OEE (%)"), t._("Availability (%)"),
         t._("Performance (%)"), t._("Quality (%)"), t._("Automation rate (%)"),
         t._("Stop time (min)"), t._("Unclassified share (%)"), t._("Reason ID"),
         t._("Reason"), t._("Category"), t._("Big loss"), t._("Downtime (min)"), t._("Stops"),
         t._("Share (%)"), t._("Cumulative share (%)")])
    for ln in (*r.lines, r.total):
        head = [ln.line, line_name(t, ln), p(ln.oee), p(ln.availability), p(ln.performance),
                p(ln.quality), p(ln.automation_rate), f"{ln.stop_s / 60:.4f}",
                p(ln.unclassified_share)]
        if not ln.reasons:
            put([*head, *([""] * 8)])
        for x in ln.reasons:
            put([*head, x.reason, reason_name(t, x), x.category_name,
                 loss_name(t, x.loss), f"{x.seconds / 60:.4f}", str(x.stops), p(x.share),
                 p(x.cumulative)])
    return "\ufeff" + buf.getvalue()


# --------------------------------------------------------------------------- terminal


def print_table(r: PlantReport, console: Any = None, t: Translator | None = None) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape as esc
    from rich.table import Table

    t = t or translator()
    con = console or Console()
    con.print(f"[bold]{esc(title(t))}[/]")
    con.print(esc(period_text(t, r)))
    for ln in (r.total, *r.lines):
        con.print()
        con.print(f"[bold]{esc(line_name(t, ln))}[/]"
                  + ("" if ln.line == "*" else f" ({esc(ln.line)})"))
        con.print(esc(" · ".join(f"{k} {v}" for k, v in summary(t, ln))))
        if not ln.reasons:
            con.print(esc(no_reasons(t, r)))
            continue
        tbl = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for i, h in enumerate(pareto_heads(t)):
            tbl.add_column(h, overflow="fold", justify="left" if i < 3 else "right")
        for x in ln.reasons:
            tbl.add_row(*(esc(c) for c in pareto_cells(t, x)))
        con.print(tbl)


# --------------------------------------------------------------------------- HTML

_CSS = """
*{box-sizing:border-box}
body{margin:0;padding:12px;font:15px/1.45 FONT_STACK;color:#1d2330;background:#f4f6f9}
main{max-width:960px;margin:0 auto}
h1{font-size:1.25rem;margin:.2rem 0}
h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.meta{color:#5b6474;font-size:.85rem}
.box{background:#fff;border-radius:8px;padding:8px;box-shadow:0 1px 2px #0001;
overflow-x:auto;margin-bottom:8px}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{padding:4px 6px;border-bottom:1px solid #e3e7ee;text-align:right;white-space:nowrap}
th{white-space:normal;vertical-align:bottom;font-weight:600}
th.text,td.text{text-align:left;white-space:normal;overflow-wrap:anywhere}
td.bar{width:22%;min-width:60px}
td.bar span{display:block;height:10px;background:#d64541;border-radius:2px}
tr.unclassified td{color:#8a6d00}
@page{size:A4 landscape;margin:12mm}
@media print{
body{background:#fff;padding:0;font-size:12px}
main{max-width:none}
.box{box-shadow:none;border:1px solid #d5dae3;overflow:visible}
table{font-size:11px}
td.bar span{-webkit-print-color-adjust:exact;print-color-adjust:exact}
h2{break-after:avoid}tr,.box{break-inside:avoid}
}
""".replace("FONT_STACK", FONT_STACK)


def _line_html(t: Translator, r: PlantReport, ln: LineFigures) -> str:
    figs = summary(t, ln)
    head = "".join(f"<th>{escape(k)}</th>" for k, _v in figs)
    vals = "".join(f"<td>{escape(v)}</td>" for _k, v in figs)
    code = "" if ln.line == "*" else f" <span class='meta'>{escape(ln.line)}</span>"
    out = [f"<h2>{escape(line_name(t, ln))}{code}</h2>",
           f"<div class='box'><table class='line'><thead><tr>{head}</tr></thead>"
           f"<tbody><tr>{vals}</tr></tbody></table></div>"]
    if not ln.reasons:
        out.append(f"<p class='meta'>{escape(no_reasons(t, r))}</p>")
        return "".join(out)
    heads = pareto_heads(t)
    th = "".join(f"<th class='{'text' if i < 3 else ''}'>{escape(h)}</th>"
                 for i, h in enumerate(heads))
    rows = []
    top = max(x.seconds for x in ln.reasons) or 1.0
    for x in ln.reasons:
        cells = pareto_cells(t, x)
        tds = "".join(f"<td class='{'text' if i < 3 else ''}'>{escape(c)}</td>"
                      for i, c in enumerate(cells))
        bar = f"<td class='bar'><span style='width:{max(0.0, x.seconds / top) * 100:.1f}%'>" \
              "</span></td>"
        cls = " class='unclassified'" if x.reason == UNCLASSIFIED else ""
        rows.append(f"<tr{cls}>{tds}{bar}</tr>")
    out.append(f"<div class='box'><table class='pareto'><thead><tr>{th}<th></th></tr>"
               f"</thead><tbody>{''.join(rows)}</tbody></table></div>")
    return "".join(out)


def to_html(r: PlantReport, t: Translator | None = None) -> str:
    t = t or translator()
    body = "".join(_line_html(t, r, ln) for ln in (r.total, *r.lines))
    return f"""<!doctype html>
<html lang="{t.html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title(t))} · {escape(period_label(t, r.period))}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{escape(title(t))}</h1>
<p class="meta">{escape(period_text(t, r))}</p>
{body}
</main></body></html>
"""
