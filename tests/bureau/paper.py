"""Printed pages, checked the way a reader sees them: Chromium lays the page out for A4
(print media, the page's own `@page` size and margins) and says what does not fit; the
PDF Chromium prints must carry every figure of every column.

Used by tests/bureau/test_paper.py (the bureau report) and tests/haccp/test_paper.py
(the HACCP record). Needs chromium, chromium-driver and poppler-utils (scripts/test).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.bureau.test_render import CHROMIUM_FLAGS
from tests.fixtures.common import require_binary

PX_PER_MM = 96 / 25.4
A4_LANDSCAPE_PT = (842, 595)  # PDF points, rounded

# What a sheet of paper cannot show: anything wider than the page, a table edge past the
# margin, a cell whose content is wider than the cell (cut), a box that would scroll on
# screen (paper does not scroll), a chart label drawn left of its chart (a cut name).
_LAYOUT_JS = """
const W = document.documentElement.clientWidth, out = [];
const name = el => (el.className && el.className.baseVal !== undefined ? el.className.baseVal
                    : el.className) || el.tagName.toLowerCase();
if (document.documentElement.scrollWidth > W + 1)
  out.push(`the page is ${document.documentElement.scrollWidth}px wide, the paper ${W}px`);
for (const t of document.querySelectorAll('table')) {
  const r = t.getBoundingClientRect();
  if (r.right > W + 0.5 || r.left < -0.5)
    out.push(`table.${name(t)} spans ${r.left.toFixed(1)}..${r.right.toFixed(1)}px of ${W}px`);
}
for (const c of document.querySelectorAll('th, td'))
  if (c.scrollWidth > c.clientWidth + 1)
    out.push(`cell "${c.textContent.trim().slice(0, 40)}" is cut: ` +
             `${c.scrollWidth}px of content in ${c.clientWidth}px`);
for (const b of document.querySelectorAll('body *')) {
  const s = getComputedStyle(b);
  if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && b.scrollWidth > b.clientWidth + 1)
    out.push(`${name(b)} clips ${b.scrollWidth - b.clientWidth}px of its content`);
}
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  if (box.right > W + 0.5) out.push(`chart ${name(svg)} ends at ${box.right}px of ${W}px`);
  for (const t of svg.querySelectorAll('text')) {
    const r = t.getBoundingClientRect();
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5)
      out.push(`chart text "${t.textContent.slice(0, 40)}" is cut by its chart`);
  }
}
return out;
"""

# The figures of the page: text of every table cell that never wraps (numbers, dates).
_FIGURES_JS = """
return [...document.querySelectorAll('td')]
  .filter(c => getComputedStyle(c).whiteSpace === 'nowrap' && c.textContent.trim())
  .map(c => c.textContent.trim());
"""


def page_margin_mm(html: str) -> float:
    """The page's own A4-landscape rule: `@page{size:A4 landscape;margin:Nmm}`."""
    m = re.search(r"@page\s*\{\s*size:\s*A4 landscape;\s*margin:\s*(\d+(?:\.\d+)?)mm", html)
    assert m, "the page declares no @page {size: A4 landscape; margin: ...mm}"
    return float(m.group(1))


@contextmanager
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = require_binary("chromium", "/usr/bin/chromium", "chromium-browser")
    driver_bin = require_binary("chromedriver", "/usr/bin/chromedriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    with tempfile.TemporaryDirectory() as profile:
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
        try:
            yield driver
        finally:
            driver.quit()


def layout_problems(driver: Any, page: Path, width_px: float, media: str = "print"
                    ) -> list[str]:
    """What does not fit when `page` is laid out `width_px` wide in `media`."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": round(width_px), "height": 800, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    driver.get(page.as_uri())
    return list(driver.execute_script(_LAYOUT_JS))


def a4_problems(driver: Any, page: Path) -> list[str]:
    """Laid out on A4 landscape within the page's own margins, as Chromium prints it."""
    margin = page_margin_mm(page.read_text(encoding="utf-8"))
    return layout_problems(driver, page, (297 - 2 * margin) * PX_PER_MM)


def figures(driver: Any) -> list[str]:
    """The unwrapped cell texts of the page last laid out."""
    return list(driver.execute_script(_FIGURES_JS))


def print_pdf(page: Path, pdf: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium", "chromium-browser")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
                       capture_output=True, timeout=90, check=True)


def pdf_pages(pdf: Path) -> list[tuple[int, int]]:
    """Each page's size in points (pdfinfo)."""
    require_binary("pdfinfo", "/usr/bin/pdfinfo")
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return [(round(float(w)), round(float(h))) for w, h in
            re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def pdf_text(pdf: Path) -> str:
    require_binary("pdftotext", "/usr/bin/pdftotext")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=30).stdout


_BLANKS_AND_DINGBATS = re.compile(r"[\s\u2700-\u27bf]")  # ✔ ✘ have no text in the PDF


def squeeze(text: str) -> str:
    """Text without blanks and dingbats, to find a cell's text in the PDF's."""
    return _BLANKS_AND_DINGBATS.sub("", text)


def missing_from_pdf(cells: list[str], pdf: Path) -> list[str]:
    """The cells whose text the PDF does not carry."""
    flat = squeeze(pdf_text(pdf))
    return [c for c in cells if squeeze(c) not in flat]
