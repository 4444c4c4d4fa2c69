"""The HACCP record on A4 landscape and at 1280 px, in zh-CN and en: every column on
the paper (min, max and mean included), every figure printed (issue 25), and under
each deviation its actions, lots and verification, long free text included (issue 27)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineside.haccp import render
from lineside.i18n import translator
from tests.bureau import paper
from tests.haccp.test_render import LONG, _config, entries, record


@pytest.fixture(scope="module")
def driver():
    with paper.browser() as d:
        yield d


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_record_prints_on_a4_with_every_column(driver, tmp_path: Path, locale: str) -> None:
    t = translator(locale)
    page = tmp_path / f"record-{locale}.html"
    # a deviation answered with long free text and Chinese names, one left open
    page.write_text(render.to_html(record(_config(), entries()), t), encoding="utf-8")
    assert paper.a4_problems(driver, page) == []
    shown = paper.figures(driver)
    assert paper.layout_problems(driver, page, 1280, "screen") == []

    pdf = tmp_path / f"record-{locale}.pdf"
    paper.print_pdf(page, pdf)
    sizes = paper.pdf_pages(pdf)
    assert sizes and all(s == paper.A4_LANDSCAPE_PT for s in sizes), sizes
    # the last columns (lowest, highest, mean) and every other figure reached the paper
    assert {"160.00", "180.00", "175.50", "2.50", "3.50", "3.00"} <= set(shown)
    assert paper.missing_from_pdf(shown, pdf) == []
    assert paper.missing_from_pdf(["炸锅油温", "冷库一号", t._("Verified by")], pdf) == []
    # what was done about each deviation, and what is missing, reached the paper whole
    assert paper.missing_from_pdf([
        LONG, "停止投料并隔离产品", "卤牛肉-20261130-早班-001", "QC-2026-1130-07", "陈晓梅",
        t._("Affected lots and their disposition"),
        t._("{lot}: no disposition yet").format(lot="B-1127"),
        t._("known once the deviation has ended")], pdf) == []
