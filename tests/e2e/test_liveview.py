"""The live view of `lineside demo` at the sizes people have (issue 25).

The real demo runs in tmux at 80x24 and 120x40 (zh-CN, the demo's default locale, and
en); the test reads the pane as a person would, pages through it with `n` and asserts
that every machine of the plant shows up once with every figure of its row whole:
state and mode in the locale, five ratios and two counts in their own widths, never
cut to `9…`. Faster checks render pages directly at more sizes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from rich.cells import cell_len
from rich.console import Console

from lineside.cli.liveview import (
    Health,
    OpenActions,
    Pager,
    columns,
    count,
    mode_names,
    paginate,
    plant_blocks,
    render_page,
)
from lineside.config.loader import load_config
from lineside.config.plant import iter_machines
from lineside.engine.view import Figures, LineView, MachineView, SiteView, StageView
from lineside.i18n import translator
from tests.fixtures.common import require_binary

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.yaml"
RATIO = re.compile(r"^(—|\d{1,3}(\.\d)?%|\d+(\.\d)?x)!?$")
COUNT = re.compile(r"^\d+(\.\d{1,2})?[kMGT]?$")


def machine_figures(row: str) -> list[str]:
    """The seven figures at the end of a machine row (five ratios, good, reject)."""
    return row.split()[-7:]


def readable(figs: list[str]) -> bool:
    return (len(figs) == 7 and all(RATIO.match(f) for f in figs[:5])
            and all(COUNT.match(f) for f in figs[5:]))


# ------------------------------------------------------------------ rendered pages
def _fig(a: float | None, p: float | None, good: int = 12, reject: int = 1) -> Figures:
    q = None if a is None else 0.98
    oee = None if a is None or p is None else a * p * 0.98
    return Figures(a, p, q, oee, 0.7, good, reject, 60.0, 60.0, (), True)


def synthetic(lines: int = 4, machines: int = 3) -> SiteView:
    """A plant with CJK names, a long name, a performance of 114%, a huge count."""
    lv = []
    for li in range(lines):
        stages = []
        for si in range(2):
            ms = tuple(MachineView(
                f"L{li}-m{si}{k}", f"和面机{k + 1} mixer with a rather long name" if k else
                f"M{k}", ("producing", "fault", "maintenance")[k % 3], 5.0,
                "motor overload" if k % 3 == 1 else "", (True, False, None)[k % 3],
                _fig(0.93, 1.14 if k == 0 else 0.8, good=1_234_567 if k == 2 else 12))
                for k in range(machines))
            stages.append(StageView(f"s{si}", f"卤制{si}", "frying", False, ms,
                                    _fig(0.9, 0.95)))
        stages.append(StageView("plate", "Trimming (by hand)", "packaging", True, (),
                                _fig(None, None, 0, 0)))
        lv.append(LineView(f"L{li}", f"卤牛肉 line {li}", "s1", tuple(stages), _fig(0.9, 1.04)))
    return SiteView(1_764_540_000.0, "shift morning 2026-12-01", 1_764_540_000.0, True,
                    tuple(lv), _fig(0.9, 0.9))


def screens(view: SiteView, t, width: int, height: int,
            actions: OpenActions | None = None) -> list[list[str]]:
    """Every page as the terminal shows it."""
    health = Health((("plc-1", True), ("plc-2", False)), (("local", 10, 5, ""),))
    _, pages = render_page(view, [], health, t, width, height, 0, actions=actions)
    out = []
    for page in range(pages):
        r, _ = render_page(view, [], health, t, width, height, page, actions=actions)
        console = Console(width=width, height=height, record=True, color_system=None)
        console.print(r)
        out.append(console.export_text().rstrip("\n").split("\n"))
    return out


def machine_rows(screen: list[str]) -> list[str]:
    return [x for x in screen if x.startswith("  ") and x[2:3] != " "]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40), (200, 50)])
def test_every_page_fits_and_every_machine_figure_is_whole(locale, width, height):
    t = translator(locale)
    states = {t.state(s) for s in ("producing", "fault", "maintenance")}
    modes = set(mode_names(t).values())
    seen: list[str] = []
    for screen in screens(synthetic(), t, width, height):
        assert len(screen) <= height and all(cell_len(x) <= width for x in screen), screen
        for row in machine_rows(screen):
            assert readable(machine_figures(row)), row
            cells = row.split()
            assert states & set(cells) and modes & set(cells), row
            seen.append(row)
    assert len(seen) == 4 * 2 * 3  # every machine once over the pages
    assert any("114" in x and "!" in x for x in seen)  # flagged, not hidden
    assert any("1.23M" in x or "1234567" in x for x in seen)
    legend = t._("! over 100%: ideal rate too low?")
    assert any(legend in x for screen in screens(synthetic(), t, width, height) for x in screen)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40)])
def test_open_corrective_actions_show_on_every_page(locale, width, height):
    """The count and the oldest (its CCP, its age) whole on every page, the plant still
    complete over the pages; none said as such."""
    t = translator(locale)
    open3 = OpenActions(3, "油温 fryer oil", 2 * 86400 + 4 * 3600 + 600)
    want = t._("open corrective actions: {n} · oldest: {ccp}, {age} ago").format(
        n=3, ccp="油温 fryer oil", age=t._("{days} d {hours} h").format(days=2, hours=4))
    pages = screens(synthetic(), t, width, height, open3)
    assert len(pages) >= 1
    seen = []
    for screen in pages:
        assert len(screen) <= height and all(cell_len(x) <= width for x in screen), screen
        assert [x.strip() for x in screen if want in x] == [want], screen
        seen += [r for r in machine_rows(screen) if readable(machine_figures(r))]
    assert len(seen) == 4 * 2 * 3
    assert ("2 天 4 小时前" if locale == "zh-CN" else "oldest: 油温 fryer oil, 2 d 4 h ago") in want
    none = t._("open corrective actions: none")
    for screen in screens(synthetic(), t, width, height, OpenActions()):
        assert any(x.strip() == none for x in screen), screen
    # without CCPs (actions None) the row is not there and the page is one row longer
    plain = screens(synthetic(), t, width, height)
    assert not any(none in x or want in x for screen in plain for x in screen)
    assert len(plain) <= len(pages)


def test_a_narrower_terminal_loses_whole_columns_not_digits():
    t = translator("en")
    for screen in screens(synthetic(), t, 60, 20):
        assert all(cell_len(x) <= 60 for x in screen)
        assert machine_rows(screen), screen
        for row in machine_rows(screen):
            figs = row.split()[-6:]  # five ratios and the good count
            assert all(RATIO.match(f) for f in figs[:5]) and COUNT.match(figs[5]), row
    assert columns(60, t, synthetic()).shown == (0, 1, 3, 4, 5, 6, 7, 8)


def test_numbers_keep_their_width_and_names_shrink_first():
    t = translator("en")
    view = synthetic()
    narrow, wide = columns(80, t, view), columns(120, t, view)
    assert narrow.widths[1:] == columns(72, t, view).widths[1:]  # only the name shrank
    assert narrow.name > columns(72, t, view).name
    assert wide.pct > narrow.pct and wide.name > narrow.name
    assert sum(narrow.widths) + len(narrow.widths) - 1 <= 80
    assert count(1_234_567, 6) == "1.23M" and count(999_999, 6) == "999999"
    assert count(12_345_678_901, 5) == "12.3G"
    assert not readable(["9…", "95%", "98%", "90%", "70%", "12", "1"])  # what it catches


def test_pages_keep_a_line_whole_where_it_fits():
    t = translator("en")
    view = synthetic(lines=3, machines=2)
    blocks, flagged = plant_blocks(view, t, columns(80, t, view))
    assert flagged
    size = len(blocks[0].rows)  # 1 line + 2 stages x (1 + 2) + 1 by hand = 8
    pages = paginate(blocks, [], size + 3)
    assert [len(p.plant) for p in pages] == [size] * 3
    assert all(p.plant[0].kind == "line" for p in pages)
    split = paginate(blocks, [], 5)  # a line longer than a page goes on by rows
    assert sum(len(p.plant) for p in split) == 3 * size
    assert all(len(p.plant) <= 5 for p in split)


def test_pager_turns_by_itself_and_by_keys():
    pg = Pager(0.0)
    assert pg.tick(1.0, 3) == 0
    assert pg.tick(7.0, 3) == 1  # AUTO_PAGE_S later
    pg.key("n", 7.5)
    assert (pg.page, pg.auto) == (2, False)
    assert pg.tick(100.0, 3) == 2  # held by hand
    pg.key("n", 100.0)
    assert pg.tick(100.0, 3) == 0  # wraps
    pg.key("p", 101.0)
    assert pg.tick(101.0, 3) == 0
    pg.key("a", 102.0)
    assert pg.auto and pg.tick(108.5, 3) == 1


# ----------------------------------------------------------------------- in tmux
class Tmux:
    def __init__(self, socket: Path, width: int, height: int, cmd: str) -> None:
        self.base = ["tmux", "-S", str(socket)]
        subprocess.run([*self.base, "new-session", "-d", "-s", "v", "-x", str(width),
                        "-y", str(height), cmd], check=True, timeout=10)
        subprocess.run([*self.base, "set-option", "-t", "v", "remain-on-exit", "on"],
                       check=True, timeout=10)

    def capture(self) -> list[str]:
        r = subprocess.run([*self.base, "capture-pane", "-p", "-t", "v"], check=True,
                           capture_output=True, text=True, timeout=10)
        return r.stdout.split("\n")

    def keys(self, *k: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "v", *k], check=True, timeout=10)

    def wait(self, pred, timeout: float = 60.0) -> list[str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.capture()
            if pred(screen):
                return screen
            time.sleep(0.05)  # a capture is a few ms: see the pane change soon after
        raise AssertionError("the pane never showed it:\n" + "\n".join(self.capture()))

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], timeout=10, check=False)


PAGE = re.compile(r"(?:page|第) (\d+)/(\d+)")
SPEED = 5  # the demo's simulated clock, times the wall clock


def _page(screen: list[str]) -> tuple[int, int] | None:
    for ln in screen:
        m = PAGE.search(ln)
        if m:
            return int(m[1]), int(m[2])
    return None


@pytest.mark.parametrize(("width", "height", "locale"),
                         [(80, 24, "zh-CN"), (120, 40, "zh-CN"), (80, 24, "en")])
@pytest.mark.slow  # the real demo in a terminal (a start per size), long among the files
def test_demo_view_in_tmux(tmp_path, width, height, locale):
    require_binary("tmux")
    cfg_data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    cfg_data["site"]["locale"] = locale
    cfg_file = tmp_path / "demo.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg_data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(cfg_file)
    t = translator(locale)
    names = {pm.machine.name or pm.machine.id for pm in iter_machines(cfg.lines)
             if not pm.machine.monitoring_only}
    units = [pm.machine for pm in iter_machines(cfg.lines) if pm.machine.monitoring_only]
    assert units  # the demo's cold room: its name and kind, no figures
    states = {t.state(s) for s in ("producing", "idle", "starved", "blocked", "fault",
                                   "setup", "cleaning", "maintenance", "unknown")}
    exe = Path(sys.executable).with_name("lineside")
    # At 5x the demo's first view comes 2-3 scans after the agent's start, and its
    # summary 1-2 scans after `q`, in a fifth of the wall time; what is read here is the
    # layout and the figures' form, not their values. Left alone it stops after two
    # minutes of wall clock.
    cmd = (f"{exe} demo --config {cfg_file} --speed {SPEED} --duration {120 * SPEED} "
           f"--modbus-port 0 --opcua-port 0 --state-dir {tmp_path / 'state'}")
    tm = Tmux(tmp_path / "tmux.sock", width, height, cmd)
    try:
        screen = tm.wait(lambda s: _page(s) is not None)
        start = _page(screen)
        assert start is not None
        pages = start[1]
        tm.keys("n")  # by hand from here: auto paging stops
        tm.wait(lambda s: _page(s) not in (None, start), timeout=10)
        rows: list[tuple[set[str], str]] = []
        screens = []
        for _ in range(pages):
            screen = tm.capture()
            screens.append(screen)
            assert all(cell_len(x) <= width for x in screen)
            assert sum(1 for x in screen if x.strip()) <= height
            for row in screen:
                cells = row.split()
                if not row.startswith("  ") or not (states & set(cells[:8])):
                    continue
                # a machine row: its name (maybe shortened with …), state, mode, figures
                shown = row[2:row.index("…")] if "…" in row else None
                found = {n for n in names if row[2:].startswith(n + " ")
                         or (shown is not None and n.startswith(shown))}
                assert found, row
                assert readable(machine_figures(row)), row
                rows.append((found, row))
            before = _page(screen)
            tm.keys("n")
            tm.wait(lambda s, b=before: _page(s) not in (None, b), timeout=10)
        # every machine once over the pages (a shortened name may fit two machines)
        assert len(rows) == len(names), (names - set().union(*(f for f, _ in rows)), screens)
        assert set().union(*(f for f, _ in rows)) == names
        assert any(t.pgettext("live view", "state") in x for x in screen)  # the header
        kind = t.pgettext("equipment", "cold room")
        unit_rows = [x for sc in screens for x in sc if x.startswith("  ") and kind in x]
        assert len(unit_rows) == len(units), screens
        assert not any(readable(machine_figures(x)) for x in unit_rows)
        # the demo plant has CCPs: the open corrective actions on every page
        opened = t._("open corrective actions: none").split(":")[0].split("：")[0]
        assert all(any(x.startswith(opened) for x in sc) for sc in screens), screens
        if locale == "zh-CN":
            assert any("生产" in r for _, r in rows)
        if (width, height) == (80, 24):
            assert pages > 1
        tm.keys("q")  # stops the demo, which prints its summary
        end = tm.wait(lambda s: any("points written" in x for x in s), timeout=60)
        # the summary after it fits the pane too: every machine's figures whole
        rows = [x for x in end if re.search(r"\d%/(\d|—)", x)]
        assert rows and all(cell_len(x) <= width for x in end)
        for row in rows:
            figs = row.split()[-6:]
            one = r"(—|\d+(\.\d)?%!?|\d+(\.\d)?x!?)"
            assert all(re.fullmatch(f"{one}/{one}", f) for f in figs[:4]), row
            assert all(COUNT.match(f) for f in figs[4:]), row
    finally:
        tm.close()
