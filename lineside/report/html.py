"""A self-contained HTML page of the report: no script, no external file, inline SVG.

Readable on a phone: one column, a viewport meta, charts that scale with the screen
(SVG viewBox, width 100%), wide tables scroll sideways inside their box. Chinese and
English labels side by side.
"""

from __future__ import annotations

from html import escape

from lineside.report.data import EnterpriseFigures, Report
from lineside.report.labels import KIND_ZH, en, zh
from lineside.report.render import ccp_cell, pct, pp

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
th:first-child,td:first-child{text-align:left}
.ok{color:#1a7f37}.bad{color:#c62828}.miss{color:#8a6d00}
ul{padding-left:1.2rem}
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


def _trunc(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def rates_chart(r: Report) -> str:
    """Horizontal bars of enterprise rates with the target line; missing ones greyed."""
    ents = list(r.enterprises)
    label_w, bar_w, row_h, top = 104, 210, 26, 26
    width = label_w + bar_w + 50
    height = top + row_h * max(1, len(ents)) + 24
    x0 = label_w
    tx = x0 + bar_w * r.target
    parts = [
        f'<svg class="chart rates" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(en("rates_chart"))}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(zh("rates_chart"))} / {escape(en("rates_chart"))}</title>',
    ]
    for i in range(0, 101, 20):
        gx = x0 + bar_w * i / 100
        parts.append(f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{height - 20}" '
                     f'stroke="#e3e7ee"/>')
        parts.append(f'<text x="{gx:.1f}" y="{height - 6}" font-size="10" fill="#5b6474" '
                     f'text-anchor="middle">{i}%</text>')
    for i, e in enumerate(ents):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" font-size="12" text-anchor="end">'
                     f'{escape(_trunc(_ename(e), 8))}</text>')
        if e.automation_rate is None:
            parts.append(f'<rect class="bar missing" x="{x0}" y="{y + 4}" width="{bar_w}" '
                         f'height="{row_h - 8}" fill="none" stroke="{GREY}" '
                         f'stroke-dasharray="4 3"/>')
            known = e.status in ("missing", "no_production", "unregistered")
            label = f"{zh(e.status)} / {en(e.status)}" if known else "—"
            parts.append(f'<text x="{x0 + 8}" y="{y + 16}" font-size="11" fill="#6b7280">'
                         f'{escape(label)}</text>')
            continue
        w = bar_w * max(0.0, min(1.0, e.automation_rate))
        fill = GREEN if e.meets_target else RED
        parts.append(f'<rect class="bar" x="{x0}" y="{y + 4}" width="{w:.1f}" '
                     f'height="{row_h - 8}" rx="3" fill="{fill}"><title>'
                     f'{escape(_ename(e))}: {pct(e.automation_rate)}</title></rect>')
        parts.append(f'<text x="{x0 + w + 4:.1f}" y="{y + 16}" font-size="11">'
                     f'{pct(e.automation_rate)}</text>')
    parts.append(f'<line class="target" x1="{tx:.1f}" y1="{top - 10}" x2="{tx:.1f}" '
                 f'y2="{height - 20}" stroke="#1d2330" stroke-width="2" '
                 f'stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{tx:.1f}" y="{top - 12}" font-size="11" text-anchor="middle">'
                 f'{escape(zh("target"))} {pct(r.target, 0)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap(r: Report) -> str:
    """Enterprises × stage kinds, cells coloured by rate (red below, green above)."""
    kinds = list(r.kinds_present())
    ents = [e for e in r.enterprises if e.kinds]
    label_w, cell_w, cell_h, top = 96, 46, 28, 44
    width = label_w + cell_w * max(1, len(kinds)) + 4
    height = top + cell_h * max(1, len(ents)) + 4
    parts = [
        # never shrunk below 3/4 scale on a phone: the box scrolls sideways instead
        f'<svg class="chart heatmap" viewBox="0 0 {width} {height}" role="img" '
        f'style="min-width:{round(width * 0.75)}px" '
        f'aria-label="{escape(en("heatmap"))}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(zh("heatmap"))} / {escape(en("heatmap"))}</title>',
    ]
    for j, k in enumerate(kinds):
        cx = label_w + j * cell_w + cell_w / 2
        parts.append(f'<text x="{cx:.1f}" y="16" font-size="12" text-anchor="middle">'
                     f'{escape(KIND_ZH.get(k, k))}</text>')
        parts.append(f'<text x="{cx:.1f}" y="32" font-size="9" fill="#5b6474" '
                     f'text-anchor="middle">{escape(k)}</text>')
    if not ents:
        parts.append(f'<text x="{label_w}" y="{top + 18}" font-size="12">'
                     f'{escape(zh("none"))} / {escape(en("none"))}</text>')
    for i, e in enumerate(ents):
        y = top + i * cell_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 18}" font-size="12" '
                     f'text-anchor="end">{escape(_trunc(_ename(e), 7))}</text>')
        for j, k in enumerate(kinds):
            x = label_w + j * cell_w
            kf = e.kinds.get(k)
            if kf is None or kf.rate is None:
                parts.append(f'<rect class="cell empty" x="{x + 1}" y="{y + 1}" '
                             f'width="{cell_w - 2}" height="{cell_h - 2}" fill="#eef0f4"/>')
                continue
            parts.append(f'<rect class="cell" x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" '
                         f'height="{cell_h - 2}" rx="2" fill="{_color(kf.rate, r.target)}">'
                         f'<title>{escape(_ename(e))} · {escape(k)}: {pct(kf.rate)}</title>'
                         f'</rect>')
            parts.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + 18}" font-size="11" '
                         f'text-anchor="middle">{pct(kf.rate, 0)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _h(key: str, level: int = 2) -> str:
    return f'<h{level}>{escape(zh(key))} <span class="en">{escape(en(key))}</span></h{level}>'


def _th(key: str) -> str:
    return f'<th>{escape(zh(key))}<br><span class="en">{escape(en(key))}</span></th>'


def to_html(r: Report) -> str:
    d = r.district
    cards = [
        ("mean", pct(d.mean_rate), f"{escape(en('trend'))} {pp(d.trend)}"),
        ("weighted", pct(d.weighted_rate), ""),
        ("meeting", f"{d.meeting} / {d.reporting}", pct(d.share_meeting)),
        ("missing", str(d.missing), f"{escape(en('registered'))} {d.registered}"),
        ("oee", pct(d.mean_oee), ""),
    ]
    card_html = "".join(
        f'<div class="card"><span>{escape(zh(k))} · {escape(en(k))}</span><b>{v}</b>'
        f'<span>{extra}</span></div>' for k, v, extra in cards)
    rows = []
    for e in r.enterprises:
        if e.automation_rate is None:
            cls, meets = "miss", f"{zh(e.status)} / {en(e.status)}" \
                if e.status in ("missing", "no_production", "unregistered") else "—"
        elif e.meets_target:
            cls, meets = "ok", "✔ 达标 yes"
        else:
            cls, meets = "bad", "✘ 未达标 no"
        flag = " ⚠" if e.flags else ""
        rows.append(
            f"<tr><td>{escape(_ename(e))}{flag}<br><span class='en'>{escape(e.id)}</span>"
            f"</td><td>{escape(e.region)}</td><td>{pct(e.automation_rate)}</td>"
            f"<td>{pp(e.trend)}</td><td class='{cls}'>{escape(meets)}</td>"
            f"<td>{pct(e.digitized, 0)}</td><td>{pct(e.oee)}</td>"
            f"<td>{escape(ccp_cell(e))}</td></tr>")
    hb_items = "".join(
        f"<li><b>{escape(KIND_ZH.get(h.kind, h.kind))} {escape(h.kind)}</b>: "
        f"{len(h.below_target)} {escape(zh('below'))} / {escape(en('below'))}"
        f" ({escape(', '.join(h.below_target))}); {escape(en('weakest'))}: "
        f"{escape(', '.join(h.weakest_of) or '—')}; {escape(en('mean'))} {pct(h.mean_rate)}"
        f"</li>" for h in d.hold_backs) or f"<li>{escape(zh('none'))} / none</li>"
    flags = "".join(f"<li>{escape(f)}</li>" for f in r.flags) or \
        f"<li>{escape(zh('none'))} / none</li>"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(zh('title'))} · {escape(r.period.label)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{escape(zh('title'))}<br><span class="en">{escape(en('title'))}</span></h1>
<p class="meta">{escape(zh('period'))} {escape(en('period'))}: <b>{escape(r.period.label)}</b>
({escape(r.period.tz)}) · {escape(zh('previous'))}: {escape(r.previous.label)} ·
{escape(zh('target'))} {escape(en('target'))}: {pct(r.target, 0)} ·
{escape(zh('generated'))}: {escape(r.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</p>
{_h('district')}
<div class="cards">{card_html}</div>
{_h('rates_chart')}
<div class="box">{rates_chart(r)}</div>
{_h('heatmap')}
<div class="box">{heatmap(r)}</div>
{_h('enterprise')}
<div class="box"><table><thead><tr>{_th('enterprise')}{_th('region')}
{_th('automation_rate')}{_th('trend')}{_th('meets')}{_th('digitized')}{_th('oee')}
{_th('ccp')}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>
{_h('holdbacks')}
<ul>{hb_items}</ul>
{_h('flags')}
<ul>{flags}</ul>
</main></body></html>
"""
