"""`lineside lot LOT` against a real InfluxDB 1.6 (issue 27): the lot's runs, the
deviations that affected it, their corrective actions, this lot's disposition and the
verification, as JSON, table and printable HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from lineside.haccp.chain import link_all
from tests.haccp.test_influx import write
from tests.lots.test_actions import _cfg, _run

pytestmark = pytest.mark.server


def lot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineside.cli", "lot", *args],
                          capture_output=True, text=True, timeout=60)


def test_the_lot_record_shows_where_it_ran_and_what_was_done_about_it(
        influxdb1: Any) -> None:
    _, out = _run(_cfg())
    points, _, _ = link_all(out)
    db = "lots_record"
    write(influxdb1, db, points)
    src = ["--url", influxdb1.url, "--db", db]

    got = lot("1202", *src, "--format", "json")
    assert got.returncode == 0, got.stderr
    rec = json.loads(got.stdout)
    assert rec["lot"] == "1202"
    (run,) = rec["runs"]  # 06:20 .. 06:50 on the pasteurizer, which has no counter
    assert (run["machine"], run["start_ns"], run["end_ns"], run["span_s"], run["counts"]) == \
        ("past", 1796019600_000_000_000, 1796021400_000_000_000, 1800.0, {})
    (dev,) = rec["deviations"]
    assert (dev["id"], dev["start_ns"], dev["end_ns"]) == \
        ("s1:hold:limit:1796019300000000000", 1796019300_000_000_000, 1796019900_000_000_000)
    assert [(a["action"], a["by"]) for a in dev["actions"]] == [("reprocess", "wang")]
    assert (dev["disposition"]["disposition"], dev["disposition"]["justification"]) == \
        ("release", "re-pasteurized, lab test negative")
    assert dev["verification"]["by"] == "chen"

    table = lot("1201", *src, "--locale", "en", "--tz", "UTC")
    assert table.returncode == 0, table.stderr
    assert "Rework" in table.stdout and "2026-11-30 06:15:00" in table.stdout
    page = lot("1201", *src, "--format", "html")  # zh-CN without a configuration
    assert page.returncode == 0 and "返工" in page.stdout and "纠偏措施" in page.stdout
    assert "<script" not in page.stdout

    missing = lot("9999", *src)
    assert missing.returncode == 1 and "no lot '9999'" in missing.stderr
