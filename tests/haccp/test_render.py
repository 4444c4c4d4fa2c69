"""The monitoring record's renderings; the HTML page in headless Chromium."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
from pathlib import Path

import pytest

from lineside.haccp import render
from lineside.haccp.chain import Record
from lineside.haccp.record import Scope, build
from tests.bureau.pngcheck import colour_counts
from tests.bureau.test_render import CHROMIUM_FLAGS
from tests.fixtures.common import require_binary

DAY = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
NS = int(DAY.timestamp() * 1e9)
S = 1_000_000_000
TAGS = {"enterprise": "E1", "site": "s1", "line": "L1", "level": "ccp"}


def record() -> object:
    summaries = [
        Record("ccp", {**TAGS, "ccp": "fryer-oil", "ccp_kind": "frying", "machine": "F1"},
               {"span_s": 60.0, "applicable_s": 60.0, "monitored_s": 60.0,
                "within_s": 50.0, "warning_s": 5.0, "excursion_s": 0.0, "deviation_s": 10.0,
                "lost_s": 0.0, "value_s": 10_500.0, "deviations": 1, "losses": 0,
                "min": 160.0, "max": 180.0, "seq": 1}, NS),
        Record("ccp", {**TAGS, "ccp": "fryer-oil", "ccp_kind": "frying", "machine": "F1"},
               {"span_s": 60.0, "applicable_s": 60.0, "monitored_s": 60.0,
                "within_s": 60.0, "warning_s": 0.0, "excursion_s": 0.0, "deviation_s": 0.0,
                "lost_s": 0.0, "value_s": 10_560.0, "deviations": 0, "losses": 0,
                "min": 175.0, "max": 177.0, "seq": 3}, NS + 60 * S),
        Record("ccp", {**TAGS, "ccp": "cold-room", "ccp_kind": "cold_storage",
                       "machine": "C1"},
               {"span_s": 120.0, "applicable_s": 120.0, "monitored_s": 100.0,
                "within_s": 100.0, "warning_s": 0.0, "excursion_s": 0.0,
                "deviation_s": 0.0, "lost_s": 20.0, "value_s": 300.0, "deviations": 0,
                "losses": 1, "min": 2.5, "max": 3.5, "seq": 2}, NS),
    ]
    devs = [
        Record("ccp_deviation", {**TAGS, "ccp": "fryer-oil", "kind": "limit", "event": "start"},
               {"value": 160.0, "limit": 165.0, "side": "min", "state": "producing",
                "seq": 4}, NS + 20 * S),
        Record("ccp_deviation", {**TAGS, "ccp": "fryer-oil", "kind": "limit", "event": "end"},
               {"start_ns": NS + 20 * S, "duration_s": 10.0, "peak": 158.5, "limit": 165.0,
                "side": "min", "state": "producing", "end_reason": "back within limits",
                "seq": 5}, NS + 30 * S),
        Record("ccp_deviation", {**TAGS, "ccp": "cold-room", "kind": "monitoring",
                                 "event": "start"},
               {"last_good_ns": NS + 75 * S, "interval_s": 5.0, "state": "idle", "seq": 6},
               NS + 80 * S),
    ]
    scope = Scope("day 2026-11-30", DAY, DAY + dt.timedelta(days=1))
    return build(scope, "UTC", "test", summaries, devs)


def test_day_record_sums_buckets_and_pairs_deviation_events() -> None:
    rec = record()
    fry = next(c for c in rec.ccps if c.ccp == "fryer-oil")
    # two buckets: 110 s within, 10 s deviation, min of mins, max of maxes,
    # mean = (10500 + 10560) / 120
    assert (fry.fields["within_s"], fry.fields["deviation_s"], fry.fields["min"],
            fry.fields["max"]) == (110.0, 10.0, 160.0, 180.0)
    assert fry.mean == pytest.approx(21060 / 120)
    (d1, d2) = rec.deviations
    assert (d1.ccp, d1.kind, d1.duration_s, d1.fields["peak"], sorted(d1.seqs)) == (
        "fryer-oil", "limit", 10.0, 158.5, [4, 5])
    assert (d2.ccp, d2.kind, d2.end_ns) == ("cold-room", "monitoring", None)  # still open
    rows = list(csv.reader(io.StringIO(render.to_csv(rec))))
    assert rows[0][:3] == ["section", "ccp", "kind"]
    assert any(r[0] == "deviation" and r[1] == "fryer-oil" for r in rows)
    js = json.loads(render.to_json(rec))
    assert js["deviations"][1]["end"] == "open"
    table = render.to_table(rec)
    assert "Deviations (2)" in table and "back within limits" in table


def test_html_record_renders_in_chromium(tmp_path: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium", "chromium-browser")
    page = tmp_path / "record.html"
    page.write_text(render.to_html(record()), encoding="utf-8")
    assert "<script" not in page.read_text()

    def run(*args: str) -> bytes:
        return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                               *args, page.as_uri()], capture_output=True, timeout=60,
                              check=True).stdout

    dom = run("--dump-dom").decode()
    # marked twice each: the CCP's summary row and the deviation's row
    assert dom.count("<tr class=\"dev\">") == 2 and dom.count("<tr class=\"lost\">") == 2
    assert "关键控制点监控记录" in dom and "Verified by" in dom
    shot = tmp_path / "a4.png"
    run("--window-size=1123,794", f"--screenshot={shot}")  # A4 landscape at 96 dpi
    colours = colour_counts(shot.read_bytes())
    total = sum(colours.values())
    assert colours.most_common(1)[0][1] < 0.97 * total, "screenshot is (nearly) blank"
    # the deviation row (pink) and the loss-of-monitoring row (amber) are visible
    assert colours[(0xFD, 0xE2, 0xE1)] > 2000, "no deviation row visible"
    assert colours[(0xFF, 0xF3, 0xCD)] > 2000, "no loss-of-monitoring row visible"
