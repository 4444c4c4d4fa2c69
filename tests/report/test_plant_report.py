"""`lineside report --config`: the plant's OEE, automation rate and downtime Pareto by
reason per line, read from InfluxDB 1.6 (the configuration's own sink) where the real
engine's points of tests/report/plant were written; every figure against the hand
arithmetic of the samples' comments, a reclassified stop cut at the shift change
included; table, CSV, JSON, HTML in zh-CN and en; the page on A4 landscape."""

from __future__ import annotations

import argparse
import csv
import io
import json
import urllib.request
from pathlib import Path

import jsonschema
import pytest

from lineside.cli import report as cli
from lineside.config.loader import load_config
from lineside.engine.replay import replay
from lineside.report import plant
from lineside.samplelog import read_samples
from lineside.sinks.lineproto import to_lines
from tests.bureau import paper
from tests.fixtures.influxdb import InfluxDB1

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]

PLANT = Path(__file__).resolve().parent / "plant"
DAY = ["--period", "day", "--date", "2026-11-30"]
SHIFT_A = ["--from", "2026-11-30T06:00", "--to", "2026-11-30T07:00"]
SHIFT_B = ["--from", "2026-11-30T07:00", "--to", "2026-11-30T08:00"]


@pytest.fixture(scope="module")
def plant_db(influxdb1: InfluxDB1) -> str:
    """The replayed sample log's points, written as the agent's sink writes them."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LINESIDE_TEST_PLANT_URL", influxdb1.url)
    cfg = load_config(PLANT / "config.yaml")
    points = list(replay(cfg, read_samples(PLANT / "samples.jsonl")))
    assert sum(p.measurement == "downtime_reason" for p in points) == 8
    influxdb1.create_db("plant")
    req = urllib.request.Request(f"{influxdb1.url}/write?db=plant&precision=ns",
                                 data="\n".join(to_lines(points)).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204
    yield influxdb1.url
    mp.undo()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    assert cli.run(p.parse_args(["--config", str(PLANT / "config.yaml"), *argv])) == 0
    return capsys.readouterr().out


def _pareto(line: dict) -> list[tuple[str, float, int, float, float]]:
    return [(x["reason"], x["seconds"], x["stops"], round(x["share"], 6),
             round(x["cumulative_share"], 6)) for x in line["pareto"]]


def test_the_day_per_line(plant_db: str, capsys) -> None:
    rep = json.loads(_run(capsys, *DAY, "--format", "json"))
    schema = json.loads((Path(plant.__file__).parent / "plant-schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(rep, schema)
    assert rep["schema"] == "lineside.plant-report/1" and rep["site_name"] == "成都一厂"
    assert rep["period"]["start"] == "2026-11-30T00:00:00+00:00"  # the site's zone: UTC
    l1, l2 = rep["lines"]
    assert (l1["line"], l1["name"], l2["line"]) == ("L1", "卤制线", "L2")
    # run 7200 - 600 - 2700 - 300 = 3600 s of 7200 planned; 3540 good of 3600 made at the
    # ideal 1/s; the fryer automatic, peeling by hand: (1 + 0) / 2
    assert l1["availability"] == 0.5 and l1["performance"] == 1.0
    assert l1["quality"] == round(3540 / 3600, 6) and l1["oee"] == round(3540 / 7200, 6)
    assert l1["automation_rate"] == 0.5
    # stops: motor 06:10-06:20 (600 s, the PLC's code), the belt 06:40-07:25 (2700 s,
    # unclassified until li reclassified it), unclassified 07:55-08:00 (300 s)
    assert _pareto(l1) == [("belt", 2700.0, 1, 0.75, 0.75),
                           ("motor", 600.0, 1, round(600 / 3600, 6), round(3300 / 3600, 6)),
                           ("unclassified", 300.0, 1, round(300 / 3600, 6), 1.0)]
    assert (l1["stop_s"], l1["stops"], l1["unclassified_s"]) == (3600.0, 3, 300.0)
    assert l1["unclassified_share"] == round(300 / 3600, 6)
    belt = l1["pareto"][0]
    assert (belt["name"], belt["category_name"], belt["loss"]) == ("输送带卡料", "设备故障",
                                                                   "breakdown")
    # the packing line never stopped and has no counters: no OEE, not 0
    assert l2["pareto"] == [] and l2["oee"] is None and l2["availability"] == 1.0
    assert l2["unclassified_share"] is None and l2["automation_rate"] == 1.0
    # all lines: run 3600 + 7200 of 14400 planned; OEE over the lines with counters only
    # (3540 / 7200); automation (0.5 * 7200 + 1.0 * 7200) / 14400; the fryer's reasons
    every = rep["all_lines"]
    assert (every["line"], every["availability"], every["oee"]) == ("*", 0.75,
                                                                   round(3540 / 7200, 6))
    assert every["automation_rate"] == 0.75 and _pareto(every) == _pareto(l1)


def test_each_shift_has_its_own_part_of_the_cut_stop(plant_db: str, capsys) -> None:
    a = json.loads(_run(capsys, *SHIFT_A, "--format", "json"))["lines"][0]
    # shift A: motor 600 s, the belt's 06:40-07:00 = 1200 s and the stop itself
    assert _pareto(a) == [("belt", 1200.0, 1, round(1200 / 1800, 6), round(1200 / 1800, 6)),
                          ("motor", 600.0, 1, round(600 / 1800, 6), 1.0)]
    assert a["unclassified_share"] == 0 and a["oee"] == round(1740 / 3600, 6)
    b = json.loads(_run(capsys, *SHIFT_B, "--format", "json"))["lines"][0]
    # shift B: the belt's 07:00-07:25 = 1500 s (no new stop), 07:55-08:00 unclassified
    assert _pareto(b) == [("belt", 1500.0, 0, round(1500 / 1800, 6), round(1500 / 1800, 6)),
                          ("unclassified", 300.0, 1, round(300 / 1800, 6), 1.0)]
    assert b["unclassified_share"] == round(300 / 1800, 6) and b["oee"] == 0.5


def test_csv_and_table_in_both_languages(plant_db: str, capsys) -> None:
    text = _run(capsys, *DAY, "--format", "csv", "--locale", "en")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    l1 = [r for r in rows if r["Line ID"] == "L1"]
    assert [(r["Reason"], r["Downtime (min)"], r["Stops"], r["Share (%)"],
             r["Cumulative share (%)"]) for r in l1] == [
        ("输送带卡料", "45.0000", "1", "75.0000", "75.0000"),
        ("电机过载", "10.0000", "1", "16.6667", "91.6667"),
        ("unclassified", "5.0000", "1", "8.3333", "100.0000")]
    assert l1[0]["OEE (%)"] == "49.1667" and l1[0]["Big loss"] == "breakdown"
    assert [r["Reason ID"] for r in rows if r["Line ID"] == "L2"] == [""]
    every = [r for r in rows if r["Line ID"] == "*"]
    assert [r["Reason ID"] for r in every] == ["belt", "motor", "unclassified"]
    assert every[0]["Line"] == "All lines" and every[0]["Availability (%)"] == "75.0000"
    zh = _run(capsys, *DAY, "--format", "csv")  # the site's locale: zh-CN
    head = next(csv.reader(io.StringIO(zh.lstrip("\ufeff"))))
    assert "原因" in head and "累计占比（%）" in head
    assert "未分类" in zh and "设备故障" in zh
    table = _run(capsys, *DAY)
    for word in ("全部产线", "卤制线", "输送带卡料", "45.0", "75.0%", "91.7%", "未分类", "8.3%",
                 "本期无需要原因的停机。"):
        assert word in table, word
    assert "Unclassified share 8.3%" in _run(capsys, *DAY, "--locale", "en")


@pytest.fixture(scope="module")
def driver():
    with paper.browser() as d:
        yield d


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_page_prints_on_a4(plant_db: str, capsys, driver, tmp_path: Path,
                               locale: str) -> None:
    page = tmp_path / f"plant-{locale}.html"
    _run(capsys, *DAY, "--locale", locale, "--format", "json", "--html", str(page))
    assert paper.a4_problems(driver, page) == []
    shown = paper.figures(driver)
    assert {"45.0", "75.0%", "91.7%", "8.3%", "49.2%", "50.0%"} <= set(shown), shown
    pdf = tmp_path / f"plant-{locale}.pdf"
    paper.print_pdf(page, pdf)
    assert paper.pdf_pages(pdf) and all(s == paper.A4_LANDSCAPE_PT
                                        for s in paper.pdf_pages(pdf))
    assert paper.missing_from_pdf(shown, pdf) == []
    words = ["卤制线", "包装线", "输送带卡料", "电机过载", "设备故障"]
    words += ["未分类", "故障停机"] if locale == "zh-CN" else ["unclassified", "breakdown"]
    assert paper.missing_from_pdf(words, pdf) == []


@pytest.mark.parametrize(("argv", "code"), [
    (["--config", "missing.yaml"], 66),  # no verdict on a file it cannot read
    (["--config", str(PLANT / "config.yaml"), "--registry", "r.yaml"], 2),  # which one?
    ([], 2),  # neither
])
def test_exit_codes(argv: list[str], code: int, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINESIDE_TEST_PLANT_URL", "http://127.0.0.1:9")
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    assert cli.run(p.parse_args(argv)) == code


def test_a_configuration_without_a_plant_sink_needs_url_and_db(tmp_path: Path,
                                                                capsys) -> None:
    text = (PLANT / "config.yaml").read_text(encoding="utf-8")
    cfg = tmp_path / "no-sink.yaml"
    cfg.write_text(text.replace("  - {type: influxdb-v1, id: plant, url: "
                                "\"${LINESIDE_TEST_PLANT_URL}\", database: plant}\n", "")
                   .replace("sinks:\n", "sinks: []\n"), encoding="utf-8")
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    assert cli.run(p.parse_args(["--config", str(cfg), *DAY])) == 2
    assert "give --url and --db" in capsys.readouterr().err
