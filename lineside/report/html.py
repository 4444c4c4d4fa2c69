"""A self-contained HTML page of the report: no script, no external file, inline SVG.

Readable on a phone: one column, a viewport meta, charts that scale with the screen
(SVG viewBox, width 100%), wide tables scroll sideways inside their box. Printable on A4
landscape (`@page`): in print the boxes do not scroll, headers and names wrap, so no
column is lost (tests/bureau/test_paper.py). In the locale's words (`lineside.i18n`).
"""

from __future__ import annotations

import re
from html import escape

from lineside.i18n import Translator, translator
from lineside.report import findings
from lineside.report.data import EnterpriseFigures, Report
from lineside.report.render import (
    ccp_cells,
    heads,
    meets_cell,
    names,
    pct,
    period_label,
    period_line,
    safety_cells,
    signed,
    status_name,
)

# Latin faces first (they hold no CJK, so Chinese falls through to the next entry), then
# Simplified Chinese faces for each platform: macOS/iOS, Windows, Linux (Debian's
# fonts-noto-cjk; Source Han is the same design), older Linux; system-ui only after them,
# since on a Japanese or Korean desktop it would draw Chinese with that locale's glyph
# forms. A machine with none of them (a bare server printing to PDF) shows empty boxes:
# install fonts-noto-cjk there (docs/bureau.md).
FONT_STACK = ('-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,'
              '"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",'
              '"Source Han Sans SC","WenQuanYi Micro Hei",system-ui,sans-serif')

_CSS = """
*{box-sizing:border-box}
body{margin:0;padding:12px;font:15px/1.45 FONT_STACK;color:#1d2330;background:#f4f6f9}
main{max-width:960px;margin:0 auto}
h1{font-size:1.25rem;margin:.2rem 0}
h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.en{color:#5b6474;font-weight:normal}
.meta{color:#5b6474;font-size:.85rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px}
.card{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:1.35rem}
.card span{font-size:.8rem;color:#5b6474}
.box{background:#fff;border-radius:8px;padding:8px;box-shadow:0 1px 2px #0001;
overflow-x:auto}
svg{width:100%;height:auto;display:block}
svg.rates{max-width:640px}
svg.heatmap{max-width:820px}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{padding:4px 6px;border-bottom:1px solid #e3e7ee;text-align:right;white-space:nowrap}
th{white-space:normal;vertical-align:bottom;font-weight:600;word-break:keep-all}
th:first-child,td:first-child{text-align:left;white-space:normal;overflow-wrap:anywhere;
min-width:9em}
td.id{color:#5b6474;font-size:.8rem}
table.safety td:nth-child(3){white-space:normal;text-align:left}
.ok{color:#1a7f37}.bad{color:#c62828}.miss{color:#8a6d00}
ul{padding-left:1.2rem}
/* A4 landscape: nothing scrolls on paper, so wide things wrap instead of being clipped */
@page{size:A4 landscape;margin:12mm}
@media print{
body{background:#fff;padding:0;font-size:12px}
main{max-width:none}
.box,.card{box-shadow:none;border:1px solid #d5dae3;overflow:visible}
.cards{grid-template-columns:repeat(5,1fr)}
svg.chart{min-width:0 !important;max-height:150mm}
table{font-size:11px}
h2{break-after:avoid}tr,.card,.box{break-inside:avoid}
}
""".replace("FONT_STACK", FONT_STACK)  # inline SVG text inherits it

GREEN, RED, AMBER, GREY = "#2e9e4f", "#d64541", "#e0a800", "#9aa3b2"


def _color(rate: float, target: float) -> str:
    """Heat-map colour: red at 0, amber at the target, green at 100%."""
    def mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
        t = max(0.0, min(1.0, t))
        return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))
    red, amber, green = (214, 69, 65), (250, 204, 21), (46, 158, 79)
    if rate < target:
        return mix(red, amber, rate / target if target > 0 else 1.0)
    return mix(amber, green, (rate - target) / (1 - target) if target < 1 else 1.0)


def _ename(e: EnterpriseFigures) -> str:
    return e.name or e.id


def _text_px(s: str, size: float) -> float:
    """Width of `s` drawn at `size` px: CJK one em, Latin about 0.6 em (no font metrics
    in a page without script; generous, so a name is never cut)."""
    return sum(size if ord(c) > 0x2E80 else 0.6 * size for c in s)


# a CJK character, or a Latin word with the blanks after it: where a line may break
_TOKEN = re.compile(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+\s*|\s+")


def _wrap(s: str, size: float, width: float) -> list[str]:
    """`s` in lines of at most `width` px (by `_text_px`), broken between words and
    between CJK characters (inside a word only when it alone is wider); never cut."""
    lines, cur = [], ""
    for tok in _TOKEN.findall(s):
        if cur and _text_px((cur + tok).rstrip(), size) > width:
            lines.append(cur.rstrip())
            cur = ""
        while _text_px(tok.rstrip(), size) > width:  # one word wider than the column
            n = max(1, int(width / (0.6 * size)))
            lines.append(tok[:n])
            tok = tok[n:]
        cur += tok.lstrip() if not cur else tok
    return [*lines, cur.rstrip()] if cur.strip() else lines or [""]


_LABEL_MAX = 190.0  # px of the label column before names wrap onto a second line


def _labels(ents: list[EnterpriseFigures], size: float) -> tuple[float, list[list[str]]]:
    """The label column's width and each name's lines: as wide as the longest name up
    to `_LABEL_MAX`, longer names wrapped."""
    want = max((_text_px(_ename(e), size) for e in ents), default=40.0)
    width = min(max(want, 40.0), _LABEL_MAX)
    return width + 10, [_wrap(_ename(e), size, width) for e in ents]


def _label(x: float, y_mid: float, lines: list[str], size: float) -> str:
    """Right-aligned label, its lines centred on y_mid."""
    y0 = y_mid - (len(lines) - 1) * size * 0.6 + size * 0.35
    spans = "".join(f'<tspan x="{x:.1f}" y="{y0 + i * size * 1.2:.1f}">{escape(ln)}</tspan>'
                    for i, ln in enumerate(lines))
    return f'<text class="name" font-size="{size:g}" text-anchor="end">{spans}</text>'


def _row_h(lines: list[str], base: float, size: float) -> float:
    return max(base, len(lines) * size * 1.2 + 6)


def rates_chart(r: Report, t: Translator | None = None) -> str:
    """Horizontal bars of enterprise rates with the target line; missing ones greyed."""
    t = t or translator()
    ents = list(r.enterprises)
    size = 12.0
    label_w, lines = _labels(ents, size)
    bar_w, top = 210, 26
    heights = [_row_h(ln, 26, size) for ln in lines]
    width = label_w + bar_w + 50
    height = top + sum(heights or [26]) + 24
    x0 = label_w
    tx = x0 + bar_w * r.target
    title = t._("Automation rate per enterprise against the target")
    parts = [
        f'<svg class="chart rates" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title>',
    ]
    for i in range(0, 101, 20):
        gx = x0 + bar_w * i / 100
        parts.append(f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" '
                     f'y2="{height - 20:.1f}" stroke="#e3e7ee"/>')
        parts.append(f'<text x="{gx:.1f}" y="{height - 6:.1f}" font-size="10" '
                     f'fill="#5b6474" text-anchor="middle">{i}%</text>')
    y = float(top)
    for e, ln, rh in zip(ents, lines, heights, strict=True):
        mid = y + rh / 2
        parts.append(_label(label_w - 6, mid, ln, size))
        bar_y, bar_h = mid - 9, 18
        if e.automation_rate is None:
            parts.append(f'<rect class="bar missing" x="{x0:.1f}" y="{bar_y:.1f}" '
                         f'width="{bar_w}" height="{bar_h}" fill="none" stroke="{GREY}" '
                         f'stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{x0 + 8:.1f}" y="{mid + 4:.1f}" font-size="11" '
                         f'fill="#6b7280">{escape(status_name(t, e.status))}</text>')
        else:
            w = bar_w * max(0.0, min(1.0, e.automation_rate))
            fill = GREEN if e.meets_target else RED
            parts.append(f'<rect class="bar" x="{x0:.1f}" y="{bar_y:.1f}" width="{w:.1f}" '
                         f'height="{bar_h}" rx="3" fill="{fill}"><title>'
                         f'{escape(_ename(e))}: {pct(e.automation_rate)}</title></rect>')
            parts.append(f'<text x="{x0 + w + 4:.1f}" y="{mid + 4:.1f}" font-size="11">'
                         f'{pct(e.automation_rate)}</text>')
        y += rh
    parts.append(f'<line class="target" x1="{tx:.1f}" y1="{top - 10}" x2="{tx:.1f}" '
                 f'y2="{height - 20:.1f}" stroke="#1d2330" stroke-width="2" '
                 f'stroke-dasharray="6 4"/>')
    target = t._("Target")
    parts.append(f'<text x="{tx:.1f}" y="{top - 12}" font-size="11" text-anchor="middle">'
                 f'{escape(target)} {pct(r.target, 0)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap(r: Report, t: Translator | None = None) -> str:
    """Enterprises × stage kinds, cells coloured by rate (red below, green above)."""
    t = t or translator()
    kinds = list(r.kinds_present())
    ents = [e for e in r.enterprises if e.kinds]
    size = 12.0
    label_w, lines = _labels(ents, size)
    kind_names = [t.stage_kind(k) for k in kinds]
    # a column as wide as its kind's name (English names are longer than one cell)
    cell_w = max([46.0, *(_text_px(n, 11) + 8 for n in kind_names)])
    top = 30
    heights = [_row_h(ln, 28, size) for ln in lines]
    width = label_w + cell_w * max(1, len(kinds)) + 4
    height = top + sum(heights or [28]) + 4
    title = t._("Automation rate per stage kind")
    parts = [
        # never shrunk below 3/4 scale on a phone: the box scrolls sideways instead
        f'<svg class="chart heatmap" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'style="min-width:{round(width * 0.75)}px" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title>',
    ]
    for j, name in enumerate(kind_names):
        cx = label_w + j * cell_w + cell_w / 2
        parts.append(f'<text x="{cx:.1f}" y="18" font-size="11" text-anchor="middle">'
                     f'{escape(name)}</text>')
    if not ents:
        none = t._("none")
        parts.append(f'<text x="{label_w:.1f}" y="{top + 18}" font-size="12">'
                     f'{escape(none)}</text>')
    y = float(top)
    for e, ln, rh in zip(ents, lines, heights, strict=True):
        parts.append(_label(label_w - 6, y + rh / 2, ln, size))
        for j, k in enumerate(kinds):
            x = label_w + j * cell_w
            kf = e.kinds.get(k)
            if kf is None or kf.rate is None:
                parts.append(f'<rect class="cell empty" x="{x + 1:.1f}" y="{y + 1:.1f}" '
                             f'width="{cell_w - 2:.1f}" height="{rh - 2:.1f}" fill="#eef0f4"/>')
                continue
            parts.append(f'<rect class="cell" x="{x + 1:.1f}" y="{y + 1:.1f}" '
                         f'width="{cell_w - 2:.1f}" height="{rh - 2:.1f}" rx="2" '
                         f'fill="{_color(kf.rate, r.target)}"><title>{escape(_ename(e))} · '
                         f'{escape(t.stage_kind(k))}: {pct(kf.rate)}</title></rect>')
            parts.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + rh / 2 + 4:.1f}" '
                         f'font-size="11" text-anchor="middle">{pct(kf.rate, 0)}</text>')
        y += rh
    parts.append("</svg>")
    return "".join(parts)


def _table(r: Report, t: Translator) -> str:
    h = heads(t, r.target)
    order = ("enterprise", "region", "automation_rate", "trend", "meets", "digitized", "oee",
             "ccp_deviations", "ccp_deviation_min", "ccp_lost_min")
    rows = []
    for e in r.enterprises:
        cls, meets = meets_cell(t, e)
        flag = " ⚠" if e.flags else ""
        cells = [f"{escape(_ename(e))}{flag}<br><span class='en'>{escape(e.id)}</span>",
                 escape(e.region), pct(e.automation_rate), signed(e.trend),
                 f"<span class='{cls}'>{escape(meets)}</span>", pct(e.digitized, 0),
                 pct(e.oee), *(escape(c) for c in ccp_cells(e))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f'<th class="{k}">{escape(h[k])}</th>' for k in order)
    return (f'<table class="enterprises"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _safety_table(r: Report, t: Translator) -> str:
    """The bureau's safety supervision beside each enterprise's automation rate (issue
    27): deviations per CCP kind, deviations still without a corrective action after
    24 h and lots on hold at the period's end; "—" where an enterprise sent none."""
    h = heads(t, r.target)
    order = ("enterprise", "automation_rate", "ccp_per_kind", "ccp_unanswered",
             "ccp_on_hold")
    rows = []
    for e in r.enterprises:
        per_kind, late, held = safety_cells(t, e)
        cells = [escape(_ename(e)), pct(e.automation_rate), escape(per_kind),
                 f"<span class='{'bad' if late not in ('—', '0') else ''}'>{late}</span>",
                 escape(held)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f'<th class="{k}">{escape(h[k])}</th>' for k in order)
    return (f'<table class="safety"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def to_html(r: Report, t: Translator | None = None) -> str:
    t = t or translator()
    d = r.district
    change, registered, none = (t._("Change (percentage points)"),
                                t._("Registered enterprises"), t._("none"))
    cards = [
        (t._("Mean automation rate"), pct(d.mean_rate), f"{change} {signed(d.trend)}"),
        (t._("Output-weighted rate"), pct(d.weighted_rate), ""),
        (t._("Enterprises meeting the target"), f"{d.meeting} / {d.reporting}",
         pct(d.share_meeting)),
        (t._("Not reporting"), str(d.missing), f"{registered} {d.registered}"),
        (t._("Mean OEE"), pct(d.mean_oee), ""),
    ]
    card_html = "".join(
        f'<div class="card"><span>{escape(k)}</span><b>{v}</b>'
        f'<span>{escape(extra)}</span></div>' for k, v, extra in cards)
    hb_items = "".join(
        f"<li><b>{escape(t.stage_kind(h.kind))}</b>: "
        + escape(t._("below the target: {below}; the weakest stage kind of: {weakest}; "
                     "mean rate {mean}").format(
            below=", ".join(names(r, h.below_target)) or "—",
            weakest=", ".join(names(r, h.weakest_of)) or "—", mean=pct(h.mean_rate)))
        + "</li>" for h in d.hold_backs) or f"<li>{escape(none)}</li>"
    flags = "".join(f"<li>{escape(findings.text(t, f))}</li>" for f in r.flags) or \
        f"<li>{escape(none)}</li>"
    h2 = {k: escape(v) for k, v in (
        ("district", t._("District")),
        ("rates", t._("Automation rate per enterprise against the target")),
        ("kinds", t._("Automation rate per stage kind")),
        ("enterprises", t._("Enterprises")),
        ("holdbacks", t._("Stage kinds holding enterprises back")),
        ("safety", t._("Safety supervision")),
        ("findings", t._("Findings")))}
    title = t._("District food enterprises: automation report")
    return f"""<!doctype html>
<html lang="{t.html_lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · {escape(period_label(t, r.period))}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<p class="meta">{escape(period_line(t, r))}</p>
<h2>{h2["district"]}</h2>
<div class="cards">{card_html}</div>
<h2>{h2["rates"]}</h2>
<div class="box">{rates_chart(r, t)}</div>
<h2>{h2["kinds"]}</h2>
<div class="box">{heatmap(r, t)}</div>
<h2>{h2["enterprises"]}</h2>
<div class="box">{_table(r, t)}</div>
<h2>{h2["safety"]}</h2>
<div class="box">{_safety_table(r, t)}</div>
<h2>{h2["holdbacks"]}</h2>
<ul>{hb_items}</ul>
<h2>{h2["findings"]}</h2>
<ul>{flags}</ul>
</main></body></html>
"""
