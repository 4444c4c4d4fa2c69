"""The bureau's safety supervision beside the automation rate (issue 27): `lineside
report` reads the `haccp_bureau` levels and the `ccp_bureau` deviations per CCP kind that
a real engine wrote and the uplink let out, from InfluxDB 1.6, in every format."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from lineside.cli import report as cli
from lineside.sinks.settings import LocalSink, QueueConfig
from lineside.sinks.sinkset import SinkSet
from tests.fixtures.influxdb import InfluxDB1
from tests.lots.test_bureau import DAY, DEV_START, _story

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

DUE = DEV_START + DAY  # the pasteurization deviation of 06:15 is 24 h old here


def _uplink_lines(out: list[Any], tmp: Path) -> list[str]:
    """What the bureau sink of a real SinkSet queues of the engine's points."""
    q = QueueConfig(fsync="off")
    sinks = SinkSet([LocalSink(type="local", id="bureau", role="bureau", queue=q)],
                    tmp, identity=("ent1", "510114"))
    try:
        sinks.enqueue(out)
        return [ln for chunk in sinks.sinks["bureau"].queue.iter_chunks()
                for ln in chunk.decode().split("\n") if ln]
    finally:
        asyncio.run(sinks.close())


@pytest.fixture(scope="module")
def bureau(influxdb1: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two enterprises' uplinks in one bureau database: ent1 leaves its deviation without
    a corrective action, ent2 (the same story) enters one; both hold lot 1201."""
    base = tmp_path_factory.mktemp("safety")
    influxdb1.create_db("safety")
    for eid, with_action in (("ent1", False), ("ent2", True)):
        lines = _uplink_lines(_story(with_action), base / eid)
        assert any(ln.startswith("haccp_bureau,") for ln in lines)
        body = "\n".join(ln.replace("enterprise=ent1", f"enterprise={eid}")
                         for ln in lines).encode()
        req = urllib.request.Request(f"{influxdb1.url}/write?db=safety&precision=ns",
                                     data=body, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 204
    registry = base / "registry.yaml"
    registry.write_text("timezone: UTC\nenterprises:\n"
                        "  - {id: ent1, name: 川味卤肉, region: '510114'}\n"
                        "  - {id: ent2, name: 蜀香食品, region: '510114'}\n", encoding="utf-8")
    return {"url": influxdb1.url, "registry": str(registry)}


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def _run(bureau: dict[str, str], capsys: pytest.CaptureFixture[str], a: float, b: float,
         *extra: str) -> str:
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    args = p.parse_args(["--registry", bureau["registry"], "--url", bureau["url"],
                         "--db", "safety", "--from", _iso(a), "--to", _iso(b), *extra])
    assert cli.run(args) == 0
    return capsys.readouterr().out


def test_levels_are_the_latest_of_the_period_per_enterprise(bureau, capsys) -> None:
    # a period ending just before the deviation is 24 h old: not yet unanswered
    rep = json.loads(_run(bureau, capsys, DUE - 3600, DUE - 60, "--format", "json"))
    got = {e["id"]: (e["ccp_unanswered_24h"], e["ccp_lots_on_hold"])
           for e in rep["enterprises"]}
    assert got == {"ent1": (0, 1), "ent2": (0, 1)}  # lot 1201 held by both
    # a period through the 24-h mark: ent1 has one deviation without an action
    rep = json.loads(_run(bureau, capsys, DUE - 3600, DUE + 60, "--format", "json"))
    by_id = {e["id"]: e for e in rep["enterprises"]}
    assert (by_id["ent1"]["ccp_unanswered_24h"], by_id["ent1"]["ccp_lots_on_hold"]) == (1, 1)
    assert (by_id["ent2"]["ccp_unanswered_24h"], by_id["ent2"]["ccp_lots_on_hold"]) == (0, 1)
    kinds = by_id["ent1"]["ccp_kinds"]
    assert set(kinds) == {"pasteurization"}
    assert kinds["pasteurization"]["unanswered_24h"] == 1
    assert kinds["pasteurization"]["lots_on_hold"] == 1


def test_deviations_per_ccp_kind_beside_the_rate_in_every_format(bureau, capsys,
                                                                  tmp_path: Path) -> None:
    """The day of the deviation and the next: one pasteurization deviation (06:15) each,
    ent1 still unanswered at the end, ent2 answered; in JSON, CSV, HTML and the table."""
    a, b = DEV_START - 6 * 3600, DUE + 120
    html_en, html_zh = tmp_path / "en.html", tmp_path / "zh.html"
    rep = json.loads(_run(bureau, capsys, a, b, "--format", "json", "--locale", "en",
                          "--html", str(html_en)))
    by_id = {e["id"]: e for e in rep["enterprises"]}
    for eid, late in (("ent1", 1), ("ent2", 0)):
        e = by_id[eid]
        assert e["ccp_deviations"] == 1 and e["ccp_kinds"]["pasteurization"]["deviations"] == 1
        assert e["automation_rate"] is not None and (e["ccp_unanswered_24h"], e[
            "ccp_lots_on_hold"]) == (late, 1)
    rows = list(csv.DictReader(io.StringIO(
        _run(bureau, capsys, a, b, "--format", "csv", "--locale", "en").lstrip("\ufeff"))))
    ent1 = next(r for r in rows if r["Enterprise ID"] == "ent1")
    assert ent1["CCP deviations: pasteurization"] == "1"
    assert ent1["Without corrective action after 24 h"] == "1"
    assert ent1["Lots on hold"] == "1"
    page = html_en.read_text(encoding="utf-8")
    assert "Safety supervision" in page and "pasteurization 1" in page
    _run(bureau, capsys, a, b, "--format", "json", "--html", str(html_zh))  # zh-CN default
    page = html_zh.read_text(encoding="utf-8")
    assert "安全监管" in page and "超过24小时未采取纠偏措施" in page and "巴氏杀菌 1" in page
    table = _run(bureau, capsys, a, b, "--locale", "en")
    assert "Safety supervision" in table and "pasteurization 1" in table
