"""`lineside haccp` shows, beside each deviation, what was done about it (issue 27): the
corrective action (configured name and free text), each affected lot with its
disposition, who entered each and when, and the verification — or plainly "no action
yet" / "not verified" with the deviation's age. Points from the real engine (the
deviation-spanning-a-lot-change case and its entries) in a real InfluxDB 1.6."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from typing import Any

import pytest

from lineside.engine.core import Engine
from lineside.haccp.chain import link_all
from lineside.samplelog import read_samples
from tests.haccp.test_influx import write
from tests.lots.test_actions import CASE, DEV, LATER, _cfg, _run

pytestmark = pytest.mark.server
DAY = ["--day", "2026-11-30", "--tz", "UTC"]


def haccp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def answered(influxdb1: Any, tmp_path_factory: Any) -> list[str]:
    """The case with its entries (an action, two dispositions, a verification)."""
    _, out = _run(_cfg())
    points, _, _ = link_all(out)
    write(influxdb1, "lots_haccp_answered", points)
    cfg = tmp_path_factory.mktemp("cfg") / "plant.yaml"  # the case with the actions' names
    cfg.write_text((CASE / "config.yaml").read_text(encoding="utf-8") + (
        "corrective_actions:\n  - {id: reprocess, name: 重新巴氏杀菌}\n"
        "  - {id: adjust-steam}\n"), encoding="utf-8")
    return ["--url", influxdb1.url, "--db", "lots_haccp_answered", "--config", str(cfg)]


def test_json_carries_the_deviations_id_actions_lots_and_verification(
        answered: list[str]) -> None:
    got = haccp(*answered, *DAY, "--format", "json")
    assert got.returncode == 0, got.stderr
    (dev,) = json.loads(got.stdout)["deviations"]
    assert dev["id"] == DEV  # what `haccp action --deviation` takes
    assert [(a["action"], a["text"], a["by"], a["at_ns"]) for a in dev["actions"]] == \
        [("reprocess", "held the tank, re-pasteurized at 75 °C", "wang",
          int((LATER + 2) * 1e9))]
    assert [(x["lot"], x["disposition"]["disposition"], x["disposition"]["justification"])
            for x in dev["lots"]] == \
        [("1201", "rework", ""), ("1202", "release", "re-pasteurized, lab test negative")]
    assert (dev["verification"]["by"], dev["verification"]["text"]) == \
        ("chen", "records and lab report checked")


def test_the_csv_and_the_table_show_them_in_words(answered: list[str]) -> None:
    got = haccp(*answered, *DAY, "--format", "csv", "--locale", "en")
    assert got.returncode == 0, got.stderr
    rows = list(csv.reader(io.StringIO(got.stdout.lstrip("\ufeff"), newline="")))
    blank = rows.index([])
    (dev,) = [dict(zip(rows[blank + 1], r, strict=True)) for r in rows[blank + 2:]]
    assert dev["Deviation ID"] == DEV
    assert dev["Corrective action"] == \
        "重新巴氏杀菌: held the tank, re-pasteurized at 75 °C (wang, 2026-11-30 07:00)"
    assert dev["Affected lots and their disposition"] == (
        "1201: Rework (wang, 2026-11-30 07:00); 1202: Release — re-pasteurized, lab test "
        "negative (wang, 2026-11-30 07:00)")
    assert dev["Verification"] == "chen, 2026-11-30 07:00: records and lab report checked"

    zh = haccp(*answered, *DAY)  # the case's site has no locale: zh-CN
    assert zh.returncode == 0, zh.stderr
    assert "纠偏措施: 重新巴氏杀菌: held the tank" in zh.stdout
    assert "1201：返工" not in zh.stdout and "1201: 返工 (wang，2026-11-30 07:00)" in zh.stdout
    assert "验证: chen，2026-11-30 07:00" in zh.stdout


def test_what_is_missing_is_said_with_the_deviations_age(influxdb1: Any) -> None:
    samples = list(read_samples(CASE / "samples.jsonl"))
    eng = Engine(_cfg(), samples[0].ts)
    points, _, _ = link_all(eng.feed(samples) + eng.tick(LATER))
    write(influxdb1, "lots_haccp_open", points)
    src = ["--url", influxdb1.url, "--db", "lots_haccp_open"]
    got = haccp(*src, *DAY, "--format", "csv", "--locale", "en")
    assert got.returncode == 0, got.stderr
    rows = list(csv.reader(io.StringIO(got.stdout.lstrip("\ufeff"), newline="")))
    blank = rows.index([])
    (dev,) = [dict(zip(rows[blank + 1], r, strict=True)) for r in rows[blank + 2:]]
    # the deviation started 2026-11-30 06:15 UTC: days ago when this test runs
    assert dev["Corrective action"].startswith("no action yet (")
    assert " d " in dev["Corrective action"] and "since its start" in dev["Corrective action"]
    assert dev["Verification"].startswith("not verified (")
    assert dev["Affected lots and their disposition"] == \
        "1201: no disposition yet; 1202: no disposition yet"
    zh = haccp(*src, *DAY, "--locale", "zh-CN")
    assert "尚无纠偏措施（自偏差开始已" in zh.stdout and "尚未验证" in zh.stdout
    assert "1201：尚未处置" in zh.stdout
