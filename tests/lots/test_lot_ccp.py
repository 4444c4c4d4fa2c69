"""`lineside lot LOT` shows what the machine made during the lot (its product and ideal
rate, from the configuration) and each CCP's monitoring over the lot's span — lowest,
highest, mean, time out of limits, deviations — in JSON, table and HTML (issue 27).
Points from the real engine in a real InfluxDB 1.6; the figures by hand below."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineside.engine.core import Engine
from lineside.haccp.chain import link_all
from tests.engine.plant import at, cfg, machine, poll, shift
from tests.haccp.test_influx import write

pytestmark = pytest.mark.server


def plant() -> Any:
    """A fryer making product 2 (30 units a minute; the machine's own rate is 60), its
    batch number in a register, a CCP on its oil; a chiller beside it on the line with
    a CCP of its own (not on the lot's machine: not in the lot's record)."""
    fryer = machine("M1", "running", "good", "product", "oil", "batch", lot_signal="batch",
                    products={2: 30.0, 3: 45.0}, name="一号炸锅")
    chiller = machine("M2", "running", "temp")
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": [fryer]},
                                   {"id": "S2", "kind": "other", "machines": [chiller]}]}
    ccps = [{"id": "oil", "name": "炸锅油温", "kind": "frying", "hazard": "undercooking",
             "machine": "M1", "signal": "oil", "unit": "°C", "critical": {"min": 165.0},
             "monitoring_interval_s": 60},
            {"id": "chill", "kind": "chilling", "hazard": "growth", "machine": "M2",
             "signal": "temp", "unit": "°C", "critical": {"max": 4.0},
             "monitoring_interval_s": 60}]
    return cfg([line], [shift("A", "06:00-07:00")], ccps=ccps)


def story() -> list[Any]:
    """06:10 batch 1207 starts, 06:20-06:23 the oil at 160 °C (below 165: a deviation),
    06:40 the batch register goes to 0 (the lot ends); 30 units a minute throughout."""
    rows: list[tuple[str, Any]] = [("06:00", {"running": True, "good": 0, "product": 2,
                                              "oil": 170.0, "batch": 0,
                                              "M2.running": True, "M2.temp": 2.0})]
    rows += [(f"06:{i:02d}", {"good": 30 * i}) for i in range(1, 60)]
    rows += [("06:10", {"batch": 1207}), ("06:20", {"oil": 160.0}), ("06:23", {"oil": 170.0}),
             ("06:40", {"batch": 0})]
    rows.sort(key=lambda r: r[0])  # poll() takes the rows in time order
    return poll(rows, "07:00", poll_s=5)


@pytest.fixture(scope="module")
def src(influxdb1: Any, tmp_path_factory: Any) -> list[str]:
    c = plant()
    samples = story()
    eng = Engine(c, samples[0].ts)
    points, _, _ = link_all(eng.feed(samples) + eng.tick(at("07:00")))
    write(influxdb1, "lots_ccp", points)
    path = tmp_path_factory.mktemp("cfg") / "plant.yaml"
    path.write_text(yaml.safe_dump(c.model_dump(mode="json", exclude_none=True),
                                   allow_unicode=True), encoding="utf-8")
    return ["--url", influxdb1.url, "--db", "lots_ccp", "--config", str(path), "--tz", "UTC"]


def lot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineside.cli", "lot", *args],
                          capture_output=True, text=True, timeout=60)


def test_the_product_and_the_ccp_summary_during_the_lot(src: list[str]) -> None:
    got = lot("1207", *src, "--format", "json")
    assert got.returncode == 0, got.stderr
    rec = json.loads(got.stdout)
    (run,) = rec["runs"]
    assert (run["machine"], run["span_s"], run["counts"]["good_count"]) == ("M1", 1800.0, 900)
    assert (run["products"], run["ideal_rates"]) == ([2], [30.0])
    (oil,) = rec["ccps"]  # the chiller's CCP is on another machine
    # 06:10-06:40, thirty 60-s buckets: 27 min at 170 °C, 3 min at 160 °C
    assert (oil["ccp"], oil["ccp_name"], oil["machine"], oil["unit"]) == \
        ("oil", "炸锅油温", "M1", "°C")
    assert (oil["from_ns"], oil["to_ns"]) == (int(at("06:10") * 1e9), int(at("06:40") * 1e9))
    assert (oil["min"], oil["max"]) == (160.0, 170.0)
    assert oil["mean"] == pytest.approx((27 * 170.0 + 3 * 160.0) / 30)
    assert (oil["monitored_s"], oil["out_of_limits_s"], oil["deviation_s"]) == \
        (1800.0, 180.0, 180.0)
    assert (oil["deviations"], oil["losses"], oil["lost_s"]) == (1, 0, 0.0)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_table_and_html_show_them_in_words(src: list[str], tmp_path: Path,
                                           locale: str) -> None:
    from lineside.i18n import translator

    t = translator(locale)
    table = lot("1207", *src, "--locale", locale)
    assert table.returncode == 0, table.stderr
    for text in (table.stdout, lot("1207", *src, "--locale", locale, "--format", "html").stdout):
        assert t._("Product") in text and t._("Ideal rate (units/min)") in text
        assert t._("Critical control points during the lot") in text or "<h2>" not in text
        assert "炸锅油温" in text and "160.00" in text and "170.00" in text
        assert "169.00" in text and "3.0" in text  # the mean; 3 min out of limits
    row = next(ln for ln in table.stdout.splitlines() if ln.startswith("L1 "))
    assert row.split()[-2:] == ["2", "30"]  # product 2 at 30 units a minute


def test_the_lot_page_prints_on_a4(src: list[str], tmp_path: Path) -> None:
    from tests.bureau import paper

    page = tmp_path / "lot.html"
    got = lot("1207", *src, "--format", "html", "-o", str(page))
    assert got.returncode == 0, got.stderr
    with paper.browser() as driver:
        assert paper.a4_problems(driver, page) == []
    pdf = tmp_path / "lot.pdf"
    paper.print_pdf(page, pdf)
    sizes = paper.pdf_pages(pdf)
    assert sizes and all(s == paper.A4_LANDSCAPE_PT for s in sizes), sizes
    assert paper.missing_from_pdf(["炸锅油温", "一号炸锅", "160.00", "170.00", "169.00",
                                   "理想速率（件/分钟）", "本批次期间的关键控制点"], pdf) == []
