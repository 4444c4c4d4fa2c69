"""A monitoring record as a table, CSV, JSON or printable HTML (pure)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from lineside.haccp.record import HaccpRecord
from lineside.report.html import FONT_STACK

COLUMNS = ("ccp", "kind", "machine", "limits", "monitored_s", "within_s", "warning_s",
           "excursion_s", "deviation_s", "lost_s", "deviations", "losses", "min", "max",
           "mean")
DEV_COLUMNS = ("ccp", "kind", "start", "end", "duration_s", "peak", "limit", "side",
               "state", "shift", "end_reason", "seq")


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


def rows(rec: HaccpRecord) -> list[dict[str, Any]]:
    out = []
    for c in rec.ccps:
        f = c.fields
        out.append({"ccp": c.ccp, "kind": c.kind, "machine": c.machine, "limits": c.limits,
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


def to_table(rec: HaccpRecord) -> str:
    def table(cols: tuple[str, ...], data: list[dict[str, Any]]) -> list[str]:
        cells = [[c for c in cols]] + [[_num(r.get(c)) for c in cols] for r in data]
        w = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        return ["  ".join(v.ljust(w[i]) for i, v in enumerate(row)).rstrip() for row in cells]
    lines = [f"HACCP monitoring record: {rec.title}",
             f"{_local(int(rec.scope.start.timestamp() * 1e9), rec.tz)} .. "
             f"{_local(int(rec.scope.end.timestamp() * 1e9), rec.tz)} ({rec.tz}); "
             f"source {rec.source}", ""]
    lines += table(COLUMNS, rows(rec))
    lines += ["", f"Deviations ({len(rec.deviations)})"]
    lines += table(DEV_COLUMNS, dev_rows(rec)) if rec.deviations else ["none"]
    return "\n".join(lines) + "\n"


def to_csv(rec: HaccpRecord) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", *COLUMNS])
    for r in rows(rec):
        w.writerow(["ccp", *(_num(r.get(c), 6) for c in COLUMNS)])
    w.writerow(["section", *DEV_COLUMNS])
    for r in dev_rows(rec):
        w.writerow(["deviation", *(_num(r.get(c), 6) for c in DEV_COLUMNS)])
    return buf.getvalue()


def to_json(rec: HaccpRecord) -> str:
    return json.dumps({
        "title": rec.title, "start": rec.scope.start.isoformat(),
        "end": rec.scope.end.isoformat(), "tz": rec.tz, "source": rec.source,
        "ccps": [{**r, "name": c.name, "hazard": c.hazard, "unit": c.unit}
                 for r, c in zip(rows(rec), rec.ccps, strict=True)],
        "deviations": [{**r, "start_ns": d.start_ns, "end_ns": d.end_ns}
                       for r, d in zip(dev_rows(rec), rec.deviations, strict=True)],
    }, ensure_ascii=False, indent=2) + "\n"


# the bureau report's font stack: Latin faces, then Simplified Chinese ones per platform
_CSS = """
body{font:13px/1.4 FONT_STACK;margin:16px;color:#111}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
.meta{color:#444;font-size:12px}
table{border-collapse:collapse;width:100%;margin-bottom:8px}
th,td{border:1px solid #999;padding:3px 5px;text-align:right;white-space:nowrap}
th{background:#eee}th:first-child,td:first-child{text-align:left}
td.l{text-align:left}.dev{background:#fde2e1}.lost{background:#fff3cd}
.sign{margin-top:28px;display:flex;gap:48px}.sign div{border-top:1px solid #000;
width:220px;padding-top:4px;font-size:12px}
@media print{body{margin:8mm}h2{break-after:avoid}tr{break-inside:avoid}}
""".replace("FONT_STACK", FONT_STACK)


def to_html(rec: HaccpRecord) -> str:
    """Self-contained, printable (A4 landscape fits the tables); no script."""
    h = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
         f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
         f"<title>HACCP record {escape(rec.title)}</title><style>{_CSS}</style></head><body>",
         f"<h1>HACCP monitoring record 关键控制点监控记录 — {escape(rec.title)}</h1>",
         f"<p class='meta'>{escape(_local(int(rec.scope.start.timestamp() * 1e9), rec.tz))}"
         f" – {escape(_local(int(rec.scope.end.timestamp() * 1e9), rec.tz))} ({escape(rec.tz)})"
         f" · source {escape(rec.source)} · generated "
         f"{escape(rec.generated.strftime('%Y-%m-%d %H:%M UTC'))}</p>",
         "<h2>Critical control points 关键控制点</h2><table><tr>"]
    heads = ("CCP", "hazard", "limits", "monitored", "within", "warning", "excursion",
             "deviation", "lost", "deviations", "losses", "min", "max", "mean")
    h.append("".join(f"<th>{x}</th>" for x in heads) + "</tr>")
    for c, r in zip(rec.ccps, rows(rec), strict=True):
        name = escape(c.name or c.ccp) + f"<br><small>{escape(c.ccp)} · {escape(c.kind)}</small>"
        cls = " class='dev'" if (r.get("deviations") or 0) > 0 else (
            " class='lost'" if (r.get("losses") or 0) > 0 else "")

        def dur(k: str, r: dict[str, Any] = r) -> str:
            v = r.get(k)
            return "" if v is None else f"{v / 60:.1f} min"
        h.append(f"<tr{cls}><td class='l'>{name}</td><td class='l'>{escape(c.hazard)}</td>"
                 f"<td class='l'>{escape(c.limits)}</td>"
                 + "".join(f"<td>{dur(k)}</td>" for k in ("monitored_s", "within_s",
                                                          "warning_s", "excursion_s",
                                                          "deviation_s", "lost_s"))
                 + "".join(f"<td>{_num(r.get(k))}</td>" for k in ("deviations", "losses"))
                 + "".join(f"<td>{_num(r.get(k), 2)}</td>" for k in ("min", "max", "mean"))
                 + "</tr>")
    h.append("</table>")
    h.append(f"<h2>Deviations 偏差 ({len(rec.deviations)})</h2>")
    if rec.deviations:
        h.append("<table><tr>" + "".join(f"<th>{x}</th>" for x in DEV_COLUMNS) + "</tr>")
        for r in dev_rows(rec):
            cls = "lost" if r["kind"] == "monitoring" else "dev"
            h.append(f"<tr class='{cls}'>" + "".join(
                f"<td class='l'>{escape(_num(r.get(c), 2))}</td>" for c in DEV_COLUMNS)
                + "</tr>")
        h.append("</table>")
    else:
        h.append("<p>No deviation. 无偏差。</p>")
    h.append("<p class='meta'>Records are hash-chained (seq, prev, hash); "
             "<code>lineside haccp verify</code> proves none was altered, removed or "
             "inserted.</p>")
    h.append("<div class='sign'><div>Monitored by 监控人</div><div>Verified by 审核人</div>"
             "<div>Date 日期</div></div></body></html>\n")
    return "\n".join(h)
