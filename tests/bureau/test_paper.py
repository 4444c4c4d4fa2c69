"""The bureau report on A4 landscape, in zh-CN and en: every column on the paper,
company names whole in both charts, every figure printed (issue 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineside.i18n import translator
from lineside.report import html
from tests.bureau import paper
from tests.bureau.sample import LONG_REGISTRY, paper_report


@pytest.fixture(scope="module")
def driver():
    with paper.browser() as d:
        yield d


def test_the_checker_sees_a_clipped_column(driver, tmp_path: Path) -> None:
    """Control: the checks fail on what they are meant to catch."""
    cells = "".join("<td style='white-space:nowrap'>123456.78</td>" for _ in range(30))
    wide = tmp_path / "wide.html"
    wide.write_text("<style>@page{size:A4 landscape;margin:12mm}</style>"
                    f"<table><tr>{cells}</tr></table>", encoding="utf-8")
    assert any("table" in p for p in paper.a4_problems(driver, wide))
    boxed = tmp_path / "boxed.html"  # a scrolling box, as the report had on paper
    boxed.write_text("<style>@page{size:A4 landscape;margin:12mm}</style>"
                     "<div style='overflow-x:auto'><table style='width:1400px'><tr>"
                     "<td>a</td></tr></table></div>", encoding="utf-8")
    assert any("clips" in p for p in paper.a4_problems(driver, boxed))


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_report_prints_on_a4_with_every_column(driver, tmp_path: Path, locale: str) -> None:
    t = translator(locale)
    rep = paper_report()
    page = tmp_path / f"report-{locale}.html"
    page.write_text(html.to_html(rep, t), encoding="utf-8")
    assert paper.a4_problems(driver, page) == []
    shown = paper.figures(driver)
    # on a desktop screen nothing is cut either (boxes may scroll there); on a phone the
    # table scrolls sideways and the names keep a readable column, not a letter per line
    assert [p for p in paper.layout_problems(driver, page, 1280, "screen")
            if "clips" not in p] == []
    paper.layout_problems(driver, page, 412, "screen")
    name_px = driver.execute_script(
        "return document.querySelector('table.enterprises td').clientWidth")
    assert name_px >= 100, f"the enterprise column is {name_px}px wide on a phone"

    pdf = tmp_path / f"report-{locale}.pdf"
    paper.print_pdf(page, pdf)
    sizes = paper.pdf_pages(pdf)
    assert sizes and all(s == paper.A4_LANDSCAPE_PT for s in sizes), sizes
    # every figure of every column reached the paper, the CCP columns included
    assert {"14.5", "1.5", "4", "+4.0", "84.0%"} <= set(shown)
    # the safety supervision beside the rate: unanswered after 24 h (0, 1, 2 + 0), lots
    # on hold (7 + 11, 8 + 11, 9 + 11), deviations per CCP kind in the locale's words
    assert {"18", "19", "20"} <= set(shown), shown
    per_kind = f"{t.ccp_kind('cold_storage')} 0 · {t.ccp_kind('frying')} 3"
    assert per_kind in page.read_text(encoding="utf-8")  # (a cell that wraps)
    assert paper.missing_from_pdf(shown, pdf) == []
    # company names whole (chart labels wrap, never cut), the title in the locale
    assert paper.missing_from_pdf([e.name for e in LONG_REGISTRY], pdf) == []
    assert paper.missing_from_pdf([t._("Safety supervision"), t.ccp_kind("cold_storage"),
                                   t.ccp_kind("frying")], pdf) == []
    title = t._("District food enterprises: automation report")
    assert paper.missing_from_pdf([title], pdf) == []
