"""Renderings: JSON schema, CSV, terminal table, and the HTML page in headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from lineside.i18n import translator
from lineside.report import html, render
from tests.bureau.pngcheck import colour_counts, read_png
from tests.bureau.sample import csv_rows, english_csv, sample_report
from tests.fixtures.common import require_binary

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars"]


def test_json_schema():
    d = json.loads(render.to_json(sample_report()))
    assert d["schema"] == "lineside.bureau-report/2"
    assert set(d) == {"schema", "period", "previous_period", "target", "generated_at",
                      "source", "district", "enterprises", "flags"}
    assert d["period"]["kind"] == "week" and d["period"]["label"] == "2026-W48"
    assert d["period"]["start"] == "2026-11-22T16:00:00+00:00"  # Monday 00:00 Shanghai
    e = {x["id"]: x for x in d["enterprises"]}
    assert e["E1"]["automation_rate"] == pytest.approx(0.8375)
    assert e["E1"]["meets_target"] is True and e["E2"]["meets_target"] is False
    assert e["E3"]["status"] == "missing" and e["E3"]["automation_rate"] is None
    assert e["E1"]["stage_kinds"]["cutting"] == {
        "rate": 0.9, "previous_rate": 0.8, "trend": pytest.approx(0.1), "auto_run": 90.0,
        "run": 100.0}
    dist = d["district"]
    assert dist["meeting"] == 1 and dist["reporting"] == 2 and dist["missing"] == 1
    assert dist["hold_backs"][0]["kind"] == "cleaning"  # E2's weakest (10%)
    assert dist["hold_backs"][0]["kind_zh"] == "清洗"


def test_csv():
    rows = english_csv(sample_report())
    assert [r["Enterprise ID"] for r in rows] == ["E1", "E2", "E3", "*"]
    # rates in percent, the unit in the header; absent figures empty, never 0
    assert float(rows[0]["Automation rate (%)"]) == pytest.approx(83.75)
    assert rows[2]["Automation rate (%)"] == "" and rows[2]["Status"] == "missing"
    assert rows[1]["Automation rate of cleaning (%)"] == "10.0000"
    assert rows[0]["Automation rate of mixing (%)"] == ""
    assert float(rows[0]["Change (percentage points)"]) == pytest.approx(3.75)
    assert rows[0]["Planned busy time (h)"] == f"{100 / 3600:.4f}"
    assert rows[3]["Enterprise"] == "District"


def test_csv_headers_are_words_of_the_locale_not_field_names():
    rep = sample_report()
    for locale in ("zh-CN", "en"):
        [head, *_] = csv.reader(io.StringIO(render.to_csv(rep, translator(locale))
                                            .lstrip("\ufeff")))
        # + one column of deviations per CCP kind sent, + unanswered 24 h and lots on hold
        ccp_kinds = {k for e in rep.enterprises for k in e.ccp}
        assert len(head) == len(set(head)) == (12 + len(rep.kinds_present()) + 3
                                               + len(ccp_kinds) + 2)
        for h in head:  # no raw field name (automation_rate, planned_busy_s, rate_x, ...)
            assert not re.fullmatch(r"[a-z_]+", h), h
    zh = csv_rows(render.to_csv(rep, translator("zh-CN")))
    assert zh[0]["企业"] == "川味卤牛肉" and zh[0]["自动化率（%）"] == "83.7500"
    assert zh[0]["清洗环节自动化率（%）"] == "80.0000" and zh[2]["状态"] == "未上报"


@pytest.mark.parametrize("locale, needles, absent", [
    ("zh-CN", ("川味卤牛肉", "83.8%", "未上报", "全区汇总", "按产量加权", "清洗",
               "Asia/Shanghai (UTC+08:00)", "2026年第48周", "上一周期 2026年第47周"),
     ("Output-weighted", "cleaning")),
    ("en", ("川味卤牛肉", "83.8%", "missing", "District", "Output-weighted", "cleaning",
            "week 48 of 2026"),
     ("全区汇总", "清洗")),
])
def test_terminal_table(locale: str, needles: tuple[str, ...], absent: tuple[str, ...]):
    from rich.console import Console

    con = Console(record=True, width=200, color_system=None)
    render.print_table(sample_report(), con, translator(locale))
    out = con.export_text()
    for needle in needles:
        assert needle in out
    for word in absent:
        assert word not in out


def test_html_is_self_contained():
    page = html.to_html(sample_report())
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert 'name="viewport"' in page
    assert '<html lang="zh-CN">' in page and "自动化率" in page
    assert "Automation rate" not in page  # one language, the locale's
    en = html.to_html(sample_report(), translator("en"))
    assert '<html lang="en">' in en and "Automation rate" in en and "自动化率" not in en


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_binary("chromium", "/usr/bin/chromium", "chromium-browser")


def _chromium(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True, timeout=60, check=True)


def test_html_renders_in_chromium_with_charts(chromium: str, tmp_path: Path):
    rep = sample_report()
    page = tmp_path / "report.html"
    page.write_text(html.to_html(rep), encoding="utf-8")
    url = page.as_uri()

    dom = _chromium(chromium, tmp_path, "--dump-dom", url).stdout.decode()
    assert dom.count("<svg") == 2
    assert 'class="chart rates"' in dom and 'class="chart heatmap"' in dom
    assert len(re.findall(r'class="bar"', dom)) == 2  # E1, E2 have rates
    assert len(re.findall(r'class="bar missing"', dom)) == 1  # E3 greyed, not 0%
    assert 'class="target"' in dom
    assert len(re.findall(r'class="cell"', dom)) == 8  # 4 kinds each for E1, E2

    shot = tmp_path / "phone.png"
    _chromium(chromium, tmp_path, "--window-size=412,1600", f"--screenshot={shot}", url)
    colours = colour_counts(shot.read_bytes())
    total = sum(colours.values())
    _background, n_bg = colours.most_common(1)[0]
    assert n_bg < 0.95 * total, "screenshot is (nearly) blank"
    # the bars are drawn in flat colours: green above the target, red below
    assert colours[(0x2E, 0x9E, 0x4F)] > 200, "no green (above-target) bar visible"
    assert colours[(0xD6, 0x45, 0x41)] > 100, "no red (below-target) bar visible"
    assert len(colours) > 50


def test_html_declares_a_font_stack_covering_simplified_chinese():
    page = html.to_html(sample_report())
    declared = re.search(r"body\{[^}]*font:[^;]*?1\.45 ([^;]+);", page)
    assert declared, "no font declared on body"
    stack = [f.strip().strip('"') for f in declared.group(1).split(",")]
    # one Simplified Chinese face per platform, a generic family last
    for face in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC"):
        assert face in stack, face
    assert stack[-1] == "sans-serif"
    # system-ui may be a Japanese face on a Japanese desktop: only after the SC faces
    assert stack.index("system-ui") > stack.index("Noto Sans CJK SC")


def test_every_html_writer_uses_the_font_stack():
    """The rule is for every HTML page the project writes, not only this report."""
    root = Path(html.__file__).resolve().parents[1]  # the lineside package
    writers = [p for p in root.rglob("*.py") if "<html" in p.read_text(encoding="utf-8")]
    assert writers, "no HTML writer found"
    assert [p for p in writers if "FONT_STACK" not in p.read_text(encoding="utf-8")] == []


CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _reverse_heading_chinese(page: str) -> str:
    """The page with every run of Chinese characters in <h1>/<h2> written backwards.

    CJK characters are all one em wide, so the layout does not move. Real glyphs differ
    from each other, so the picture changes; missing-glyph boxes are all alike, so a
    page of boxes looks exactly the same either way.
    """
    def heading(m: re.Match[str]) -> str:
        return CJK_RUN.sub(lambda r: r.group(0)[::-1], m.group(0))

    return re.sub(r"<h([12])>.*?</h\1>", heading, page, flags=re.S)


def _fontconfig_without_cjk(tmp: Path) -> dict[str, str]:
    """Environment for a Chromium that sees one installed font with no Chinese in it."""
    def files(pattern: str) -> set[str]:
        out = subprocess.run(["fc-list", "-f", "%{file}\n", pattern], capture_output=True,
                             text=True, check=True).stdout
        return set(out.split())

    # the system's sans-serif choices, best first, less any that holds Chinese
    ranked = subprocess.run(["fc-match", "-s", "-f", "%{file}\n", "sans-serif:lang=en"],
                            capture_output=True, text=True, check=True).stdout.split()
    cjk = files(":lang=zh-cn")
    latin = [f for f in ranked if f not in cjk]
    assert latin, "no Latin-only font installed to render the control page with"
    fonts = tmp / "latin-fonts"
    fonts.mkdir()
    (fonts / Path(latin[0]).name).symlink_to(latin[0])
    conf = tmp / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><dir>{fonts}</dir>'
                    f'<cachedir>{tmp / "fc-cache"}</cachedir></fontconfig>')
    return {"FONTCONFIG_FILE": str(conf)}


def _pixels_changed(a: bytes, b: bytes, tolerance: int = 64) -> int:
    """Pixels whose colour moved by more than `tolerance` in some channel: a glyph stroke
    against the background, not the off-by-one shading a loaded rasteriser may give."""
    (wa, ha, ra), (wb, hb, rb) = read_png(a), read_png(b)
    assert (wa, ha) == (wb, hb)
    changed = 0
    for row_a, row_b in zip(ra, rb, strict=True):
        if row_a == row_b:
            continue
        for i in range(0, len(row_a), 3):
            if any(abs(row_a[i + c] - row_b[i + c]) > tolerance for c in range(3)):
                changed += 1
    return changed


def test_chinese_headings_render_as_glyphs_not_boxes(chromium: str, tmp_path: Path):
    import os

    page = html.to_html(sample_report())
    reversed_page = _reverse_heading_chinese(page)
    assert reversed_page.split("<h1>")[1] != page.split("<h1>")[1]  # the title changed
    shots: dict[tuple[str, str], bytes] = {}
    for fonts, env in (("installed", {}), ("no CJK", _fontconfig_without_cjk(tmp_path))):
        for name, text in (("as written", page), ("reversed", reversed_page)):
            src = tmp_path / f"{fonts}-{name}.html".replace(" ", "_")
            src.write_text(text, encoding="utf-8")
            shot = src.with_suffix(".png")
            subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                 "--window-size=412,700", f"--screenshot={shot}", src.as_uri()],
                capture_output=True, timeout=60, check=True, env={**os.environ, **env})
            shots[fonts, name] = shot.read_bytes()
    # control: with no CJK font every Chinese character is the same empty box, so the
    # reversed headings cannot be told apart (this is what the check would see on a
    # server without fonts-noto-cjk)
    assert _pixels_changed(shots["no CJK", "as written"], shots["no CJK", "reversed"]) == 0
    # with the test set-up's fonts the headings are glyphs: reversing them redraws them
    changed = _pixels_changed(shots["installed", "as written"], shots["installed", "reversed"])
    assert changed > 500, f"only {changed} pixels changed: the headings look like boxes"


def test_dashboard_json_sums_before_it_divides():
    # generated by deploy/grafana/build_dashboards.py (tests/deploy checks it is current)
    board = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "grafana" /
                        "dashboards" / "bureau.json").read_text(encoding="utf-8"))
    assert board["uid"] == "lineside-bureau"
    queries = [t["query"] for p in board["panels"] for t in p["targets"]]
    assert len(queries) == len(board["panels"]) >= 10
    # ratios are quotients of sums; nothing averages a stored ratio
    assert not any(re.search(r"mean\(\"(automation_rate|oee|availability)\"\)", q)
                   for q in queries)


def test_json_validates_against_the_published_schema():
    jsonschema = pytest.importorskip("jsonschema")  # not a runtime dependency
    schema = json.loads((Path(render.__file__).parent / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(render.to_json(sample_report())), schema)
    bad = json.loads(render.to_json(sample_report()))
    bad["enterprises"][2]["status"] = "zero"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# Tag values any uplink credential can write, and one hostile registered name.
HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
           "\tx", "\r=1"]


def test_csv_neutralises_formulas_in_every_text_cell_and_keeps_them_flagged():
    from tests.bureau.sample import REGISTRY, _k, build_report, period_containing, \
        previous_period  # noqa: I001
    import datetime as dt

    from lineside.report.data import Registered

    p = period_containing("week", dt.date(2026, 11, 25), "Asia/Shanghai")
    registry = [*REGISTRY, Registered("E4", "=1+1", "510114")]
    rows = [_k("E4", "cutting", 50, 100), *(_k(h, "cutting", 80, 100) for h in HOSTILE)]
    rep = build_report(registry, rows, [], p, previous_period(p),
                       generated_at=dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC))
    out = english_csv(rep)
    by_id = {r["Enterprise ID"]: r for r in out}
    for h in HOSTILE:  # shown as text ('...), still flagged as outside the registry
        assert by_id["'" + h]["Status"] == "unregistered"
    assert by_id["E4"]["Enterprise"] == "'=1+1"
    for r in out:
        for v in r.values():
            assert not v.startswith(("=", "+", "@", "\t", "\r")), r
            if v.startswith("-"):  # a negative number stays a number
                float(v)


def test_findings_are_worded_in_the_locale_and_json_keeps_english():
    import datetime as dt

    from tests.bureau.sample import (
        REGISTRY,
        _k,
        build_report,
        period_containing,
        previous_period,
    )

    p = period_containing("week", dt.date(2026, 11, 25), "Asia/Shanghai")
    rows = [_k("X9", "cutting", 80, 100), _k("E1", "cutting", 80, 100)]
    rep = build_report(REGISTRY, rows, [], p, previous_period(p),
                       generated_at=dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC))
    (flag,) = json.loads(render.to_json(rep))["flags"]
    assert flag.startswith("enterprise id 'X9'") and "not in the registry" in flag
    zh = html.to_html(rep, translator("zh-CN"))
    assert "企业编号“X9”" in zh and "未在登记名录中" in zh and "not in the registry" not in zh
    assert "not in the registry" in html.to_html(rep, translator("en"))


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_terminal_table_keeps_every_figure_at_80_and_120_columns(width: int, locale: str):
    """Rich crops a table wider than the terminal: the OEE and CCP columns fell off at
    80 and 100 columns. Every figure of a wide report must be on screen, whole."""
    from rich.cells import cell_len
    from rich.console import Console

    from tests.bureau.sample import paper_report

    con = Console(record=True, width=width, color_system=None, file=io.StringIO())
    render.print_table(paper_report(), con, translator(locale))
    out = con.export_text()
    assert max(cell_len(line) for line in out.splitlines()) <= width
    words = set(out.split())
    for figure in ("84.0%", "41.0%", "66.0%", "60.0%", "65.0%", "70.0%", "+4.0", "+1.0",
                   "510116", "511802", "14.5", "15.5", "16.5", "98%", "27%", "59%"):
        assert figure in words, figure
