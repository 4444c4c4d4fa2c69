"""The live terminal view of `lineside demo`: every line, stage and machine, paged to fit
any terminal (docs/engine.md, "The live view").

Numbers keep fixed widths and are never cut: the name column takes what is left and
shrinks first. A page holds whole lines where it can; `n`/space/PgDn and `p`/PgUp page
by hand, `a` goes back to turning pages by itself. A figure over 100% carries a `!`
(the legend says why: the configured ideal rate is likely too low). Headings, states,
modes and stage kinds are in the site's locale (lineside.i18n); rich measures the
double-width CJK cells. With CCPs, a row above the legend counts the deviations still
without a corrective action and names the oldest with its age: what someone has to
answer (engine/actions.py `ActionBook.unanswered`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Group, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text

from lineside.engine.view import Figures, SiteView
from lineside.haccp.entrytext import age
from lineside.i18n import Translator

STATE_STYLE = {"producing": "green", "idle": "white", "starved": "yellow", "blocked": "yellow",
               "fault": "bold red", "setup": "cyan", "cleaning": "blue",
               "maintenance": "magenta", "unknown": "dim"}
CCP_STYLE = {"ok": "green", "warning": "yellow", "excursion": "bold yellow",
             "deviation": "bold white on red", "lost": "bold red", "not applicable": "dim",
             "no data": "dim"}
WIDE = 110  # from this width on: one decimal, wider counts, fault reasons
MIN_NAME = 8  # the name column never shrinks below this (then numbers would)
FLAG = "!"
AUTO_PAGE_S = 6.0  # seconds a page stays when paging by itself
CHROME_ROWS = 4  # title, table header, legend, status line


@dataclass(frozen=True, slots=True)
class Health:
    """Devices and sinks as the status line shows them."""

    devices: tuple[tuple[str, bool], ...] = ()  # (device id, up)
    sinks: tuple[tuple[str, int, int, str], ...] = ()  # (sink id, written, queued, error)


@dataclass(frozen=True, slots=True)
class OpenActions:
    """The deviations without a corrective action, as the live view's row shows them."""

    count: int = 0
    oldest_ccp: str = ""  # the oldest one's CCP, by its name
    oldest_age_s: float = 0.0  # since that deviation started


# ----------------------------------------------------------------------- figures
def pct(v: float | None, wide: bool) -> str:
    """A ratio in a fixed width (6 or 4 cells): '99.5%' / '100%', '12.0x' beyond 999%."""
    if v is None:
        return "—"
    if v * 100 >= (999.95 if wide else 999.5):
        return f"{v:.1f}x" if wide else f"{v:.0f}x"
    return f"{100 * v:.1f}%" if wide else f"{100 * v:.0f}%"


def count(n: int, width: int) -> str:
    """A count in at most `width` cells: 1234567 -> '1.23M' where it does not fit."""
    s = str(n)
    if len(s) <= width:
        return s
    for unit, div in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        if n / div >= 1000 and unit != "T":
            continue  # 1.23M, not 1235k
        for d in (2, 1, 0):
            c = f"{n / div:.{d}f}{unit}"
            if len(c) <= width:
                return c
    return s  # beyond any column: shown whole, the row wraps rather than lies


def over(v: float | None) -> bool:
    return v is not None and v > 1.0 + 1e-9


# ------------------------------------------------------------------------ layout
@dataclass(frozen=True, slots=True)
class Columns:
    """Cell widths of the machine table for one terminal width."""

    wide: bool
    name: int
    state: int
    mode: int
    pct: int  # a ratio and its flag
    good: int
    reject: int
    headers: tuple[str, ...]
    shown: tuple[int, ...] = tuple(range(10))  # the columns that fit, by index

    @property
    def widths(self) -> tuple[int, ...]:
        all_w = (self.name, self.state, self.mode, *(self.pct,) * 5, self.good, self.reject)
        return tuple(all_w[i] for i in self.shown)


def headers(t: Translator) -> tuple[str, ...]:
    return (t._("line / stage / machine"), t.pgettext("live view", "state"),
            t.pgettext("live view", "mode"), t.pgettext("live view", "A"),
            t.pgettext("live view", "P"), t.pgettext("live view", "Q"),
            t.pgettext("live view", "OEE"), t.pgettext("live view", "Auto"),
            t.pgettext("live view", "good"), t.pgettext("live view", "reject"))


def columns(width: int, t: Translator, view: SiteView) -> Columns:
    """Fixed widths for every number, the rest to the names (shrinking first)."""
    wide = width >= WIDE
    hd = headers(t)
    states = [t.state(s) for s in STATE_STYLE]
    state = max(cell_len(s) for s in [*states, hd[1]])
    if wide:  # room for a fault reason beside the state
        state = max(state, 22)
    mode = max(cell_len(s) for s in (hd[2], t.pgettext("live view", "by hand"),
                                      *mode_names(t).values()))
    p = max(len(pct(1.0, wide)) + len(FLAG), *(cell_len(h) for h in hd[3:8]))
    most = max([0, *(m.figures.good for ln in view.lines for st in ln.stages
                     for m in st.machines), *(ln.figures.good for ln in view.lines)])
    good = max(cell_len(hd[8]), 8 if wide else 6, min(len(str(most)), 8 if wide else 6))
    reject = max(cell_len(hd[9]), 6 if wide else 5)
    cols = Columns(wide, 0, state, mode, p, good, reject, hd)
    # Below ~70 cells whole columns go (mode, then the counts) before a number is cut.
    for drop in ((), (2,), (2, 9), (2, 8, 9)):
        shown = tuple(i for i in range(10) if i not in drop)
        cols = Columns(wide, 0, state, mode, p, good, reject, hd, shown)
        fixed = sum(cols.widths) + len(shown) - 1  # one-cell gaps
        if width - fixed >= MIN_NAME:
            break
    return Columns(wide, max(MIN_NAME, width - fixed), state, mode, p, good, reject, hd,
                   cols.shown)


def mode_names(t: Translator) -> dict[bool | None, str]:
    return {True: t.pgettext("live view", "auto"), False: t.pgettext("live view", "manual"),
            None: "—"}


# ------------------------------------------------------------------------- rows
@dataclass(slots=True)
class Row:
    kind: str  # line | stage | machine | unit (monitoring-only) | ccp
    cells: list[Text]
    style: str = ""


@dataclass(slots=True)
class Block:
    """One plant line and its rows (a page keeps a block whole where it fits)."""

    rows: list[Row] = field(default_factory=list)


def figure_cells(f: Figures, cols: Columns) -> tuple[list[Text], bool]:
    out: list[Text] = []
    flagged = False
    for v in (f.availability, f.performance, f.quality, f.oee, f.automation_rate):
        txt = Text(pct(v, cols.wide))
        if over(v):
            txt.append(FLAG, style="bold yellow")
            flagged = True
        else:
            txt.append(" ")
        out.append(txt)
    out.append(Text(count(f.good, cols.good)))
    out.append(Text(count(f.reject, cols.reject)))
    return out, flagged


def plant_blocks(view: SiteView, t: Translator, cols: Columns) -> tuple[list[Block], bool]:
    modes = mode_names(t)
    blocks: list[Block] = []
    flagged = False
    for line in view.lines:
        b = Block()
        figs, fl = figure_cells(line.figures, cols)
        flagged |= fl
        b.rows.append(Row("line", [Text(line.name or line.id), Text(""), Text(""), *figs],
                          "bold"))
        for st in line.stages:
            figs, fl = figure_cells(st.figures, cols)
            flagged |= fl
            hand = t.pgettext("live view", "by hand") if st.manual else ""
            b.rows.append(Row("stage", [Text(f" {st.name or st.id} [{t.stage_kind(st.kind)}]"),
                                        Text(""), Text(hand), *figs], "bold"))
            for m in st.machines:
                figs, fl = figure_cells(m.figures, cols)
                flagged |= fl
                state = Text(t.state(m.state), style=STATE_STYLE.get(m.state, ""))
                if cols.wide and m.reason:
                    state.append(f" ({m.reason})")
                b.rows.append(Row("machine", [Text(f"  {m.name or m.id}"), state,
                                              Text(modes[m.auto]), *figs]))
            for u in st.monitors:  # itself, without figures: its CCPs are listed below
                b.rows.append(Row("unit", [Text(f"  {u.name or u.id}"),
                                           Text(unit_kind(t, u.kind), style="cyan"),
                                           Text("—"), *(Text("") for _ in range(7))]))
        blocks.append(b)
    return blocks, flagged


def unit_kind(t: Translator, kind: str) -> str:
    """A monitoring-only unit's kind (config/plant.py MONITOR_KINDS) as people say it."""
    return {"cold_room": t.pgettext("equipment", "cold room"),
            "chiller": t.pgettext("equipment", "chiller"),
            "freezer": t.pgettext("equipment", "freezer"),
            "freezer_tunnel": t.pgettext("equipment", "freezer tunnel"),
            "monitor": t.pgettext("equipment", "monitored")}.get(kind, kind)


def ccp_rows(ccps: Sequence[Any], now: float, t: Translator) -> list[Row]:
    rows = []
    for c in ccps:
        value = "—" if c.value is None else f"{c.value:.1f}{(' ' + c.unit) if c.unit else ''}"
        status = ccp_status(t, c.status)
        if c.since is not None:
            status = t._("{status} for {seconds} s").format(
                status=status, seconds=f"{max(0.0, now - c.since):.0f}")
        rows.append(Row("ccp", [Text(f"{c.name or c.id} [{t.ccp_kind(c.kind)}]"),
                                Text(value), Text(status, style=CCP_STYLE.get(c.status, "")),
                                Text(str(c.deviations)),
                                Text(str(c.losses))]))
    return rows


def ccp_status(t: Translator, status: str) -> str:
    return {"ok": t.pgettext("CCP status", "ok"),
            "warning": t.pgettext("CCP status", "warning"),
            "excursion": t.pgettext("CCP status", "excursion"),
            "deviation": t.pgettext("CCP status", "deviation"),
            "lost": t.pgettext("CCP status", "lost"),
            "not applicable": t.pgettext("CCP status", "not applicable"),
            "no data": t.pgettext("CCP status", "no data")}.get(status, status)


# ------------------------------------------------------------------------ pages
@dataclass(slots=True)
class Page:
    plant: list[Row] = field(default_factory=list)
    ccps: list[Row] = field(default_factory=list)

    def rows(self) -> int:
        return len(self.plant) + (len(self.ccps) + 1 if self.ccps else 0)


def paginate(blocks: list[Block], ccps: list[Row], body: int) -> list[Page]:
    """Whole lines on a page where they fit, a longer one split by rows; the CCPs (with
    their header row) after the plant, on the last page where there is room."""
    body = max(body, 2)
    pages: list[Page] = [Page()]
    for b in blocks:
        cur = pages[-1]
        if cur.plant and len(cur.plant) + len(b.rows) > body:
            cur = Page()
            pages.append(cur)
        for r in b.rows:
            if len(cur.plant) >= body:
                cur = Page()
                pages.append(cur)
            cur.plant.append(r)
    rest = list(ccps)
    while rest:
        cur = pages[-1]
        room = body - cur.rows() - (0 if cur.ccps else 1)
        if room <= 0 or (not cur.ccps and room < min(len(rest), 2)):
            cur = Page()
            pages.append(cur)
            continue
        cur.ccps += rest[:room]
        rest = rest[room:]
    return pages


def period_text(view: SiteView, t: Translator) -> str:
    parts = view.period.split()
    if len(parts) == 3 and parts[0] == "shift":
        return t._("shift {name} {date}").format(name=parts[1], date=parts[2])
    if len(parts) == 2 and parts[0] == "since":
        return t._("since {start}").format(start=parts[1])
    return view.period


def _table(cols: Columns, width: int) -> Table:
    tb = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False,
               collapse_padding=True, header_style="bold", width=width)
    for i, w in zip(cols.shown, cols.widths, strict=True):
        tb.add_column(cols.headers[i], justify="left" if i < 3 else "right", no_wrap=True,
                      width=w, min_width=w, max_width=w, overflow="ellipsis")
    return tb


def ccp_table(ccps: Sequence[Any], now: float, t: Translator, width: int) -> Table:
    """The critical control points as the live view shows them (all of them)."""
    tb = _ccp_table(t, width >= WIDE, width)
    for r in ccp_rows(ccps, now, t):
        tb.add_row(*r.cells)
    return tb


def _ccp_table(t: Translator, wide: bool, width: int) -> Table:
    tb = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False,
               header_style="bold", width=width)
    value_w, dev_w = 12, max(cell_len(t.pgettext("live view", "deviations")), 4)
    loss_w = max(cell_len(t.pgettext("live view", "losses")), 4)
    status_w = 20 if wide else 12
    name_w = max(MIN_NAME, width - value_w - status_w - dev_w - loss_w - 4)
    heads: tuple[tuple[str, int, JustifyMethod], ...] = (
        (t._("critical control point"), name_w, "left"),
        (t.pgettext("live view", "value"), value_w, "right"),
        (t.pgettext("live view", "status"), status_w, "left"),
        (t.pgettext("live view", "deviations"), dev_w, "right"),
        (t.pgettext("live view", "losses"), loss_w, "right"))
    for h, w, just in heads:
        tb.add_column(h, justify=just, no_wrap=True, width=w, min_width=w, max_width=w,
                      overflow="ellipsis")
    return tb


def actions_line(a: OpenActions, t: Translator, width: int) -> Text:
    """'open corrective actions: 2 · oldest: <CCP>, 3 h 20 min ago' (or none)."""
    if not a.count:
        s = Text(t._("open corrective actions: none"), style="green")
    else:
        s = Text(t._("open corrective actions: {n} · oldest: {ccp}, {age} ago").format(
            n=a.count, ccp=a.oldest_ccp, age=age(a.oldest_age_s, t)), style="bold red")
    s.truncate(width, overflow="ellipsis")
    return s


def render_page(view: SiteView, ccps: Sequence[Any], health: Health, t: Translator,
                width: int, height: int, page: int, auto: bool = True,
                actions: OpenActions | None = None) -> tuple[RenderableType, int]:
    """The view for a `width` x `height` terminal, page `page` (modulo the page count);
    returns it with the number of pages. `actions` (with CCPs): one more row."""
    cols = columns(width, t, view)
    blocks, flagged = plant_blocks(view, t, cols)
    chrome = CHROME_ROWS + (actions is not None)
    pages = paginate(blocks, ccp_rows(ccps, view.ts, t), height - chrome)
    n = len(pages)
    pg = pages[page % n]
    f = view.figures
    title = Text(t._("site OEE {oee} · automation {auto}").format(
        oee=pct(f.oee, True), auto=pct(f.automation_rate, True)), style="bold")
    title.append(f" · {period_text(view, t)} · "
                 f"{time.strftime('%H:%M:%S', time.localtime(view.ts))}")
    title.truncate(width, overflow="ellipsis")
    parts: list[RenderableType] = [title]
    tb = _table(cols, width)
    for r in pg.plant:
        tb.add_row(*(r.cells[i] for i in cols.shown), style=r.style)
    parts.append(tb)
    if pg.ccps:
        ct = _ccp_table(t, cols.wide, width)
        for r in pg.ccps:
            ct.add_row(*r.cells)
        parts.append(ct)
    if actions is not None:
        parts.append(actions_line(actions, t, width))
    legend = Text(t._("! over 100%: ideal rate too low?"),
                  style="bold yellow" if flagged else "")
    legend.append(" · ")
    legend.append(t._("A availability · P performance · Q quality · Auto automation rate"))
    legend.truncate(width, overflow="ellipsis")
    parts.append(legend)
    parts.append(status_line(health, t, page % n, n, auto, width))
    return Group(*parts), n


def status_line(health: Health, t: Translator, page: int, pages: int, auto: bool,
                width: int) -> Text:
    s = Text(t._("page {page}/{pages}").format(page=page + 1, pages=pages), style="bold")
    if pages > 1:
        s.append(" " + (t._("turning · n/p to page") if auto
                        else t._("n/p to page · a to turn")), style="dim")
    up = sum(1 for _, u in health.devices if u)
    s.append(" │ ")
    s.append(t._("devices {up}/{all} up").format(up=up, all=len(health.devices)),
             style="green" if up == len(health.devices) else "bold red")
    down = [d for d, u in health.devices if not u]
    if down:
        s.append(f" ({', '.join(down)})", style="red")
    for sid, written, queued, err in health.sinks:
        s.append(" │ ")
        s.append(t._("{sink}: {written} sent, {queued} queued").format(
            sink=sid, written=written, queued=queued))
        if err:
            s.append(f" ({err})", style="red")
    s.truncate(width, overflow="ellipsis")
    return s


# ------------------------------------------------------------------- the pager
class Pager:
    """Which page shows: turned every AUTO_PAGE_S by itself, or by keys."""

    def __init__(self, now: float) -> None:
        self.page = 0
        self.auto = True
        self.turned = now

    def key(self, k: str, now: float) -> None:
        if k in ("n", " ", "j", "\x1b[6~", "\x1b[B"):
            self.page, self.auto = self.page + 1, False
        elif k in ("p", "b", "k", "\x1b[5~", "\x1b[A"):
            self.page, self.auto = max(0, self.page - 1), False
        elif k == "a":
            self.auto = True
        self.turned = now

    def tick(self, now: float, pages: int) -> int:
        if self.auto and pages > 1 and now - self.turned >= AUTO_PAGE_S:
            self.page, self.turned = self.page + 1, now
        self.page %= max(pages, 1)
        return self.page


@contextlib.contextmanager
def keys() -> Iterator[Any]:
    """stdin in cbreak mode while the view runs (restored after), or None when stdin
    is no terminal. Yields a function returning the keys typed since the last call."""
    if not sys.stdin.isatty():
        yield None
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        os.set_blocking(fd, False)

        def read() -> list[str]:
            try:
                data = os.read(fd, 64).decode(errors="replace")
            except (BlockingIOError, InterruptedError):
                return []
            out, i = [], 0
            while i < len(data):  # escape sequences (arrows, PgUp/PgDn) as one key
                if data[i] == "\x1b" and data[i + 1:i + 2] == "[":
                    j = i + 2
                    while j < len(data) and not data[j].isalpha() and data[j] != "~":
                        j += 1
                    out.append(data[i:j + 1])
                    i = j + 1
                else:
                    out.append(data[i])
                    i += 1
            return out

        yield read
    finally:
        os.set_blocking(fd, True)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

