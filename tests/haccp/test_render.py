"""The monitoring record's renderings; the HTML page in headless Chromium."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lineside.haccp import render
from lineside.haccp.chain import Record
from lineside.haccp.record import Scope, build
from lineside.i18n import translator
from tests.bureau.pngcheck import colour_counts
from tests.bureau.test_render import CHROMIUM_FLAGS
from tests.fixtures.common import require_binary

DAY = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
NS = int(DAY.timestamp() * 1e9)
S = 1_000_000_000
TAGS = {"enterprise": "E1", "site": "s1", "line": "L1", "level": "ccp"}


class _Limits:
    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.min, self.max = lo, hi


class _Ccp:
    """What `build` reads of a configured CCP."""

    def __init__(self, cid: str, name: str, kind: str, machine: str, hazard: str,
                 lo: float | None, hi: float | None, min_duration_s: float) -> None:
        self.id, self.name, self.kind, self.machine, self.hazard = cid, name, kind, machine, hazard
        self.unit, self.critical, self.min_duration_s = "°C", _Limits(lo, hi), min_duration_s


def _config(fryer_name: str = "炸锅油温", fryer_hazard: str = "Undercooked beef") -> object:
    from types import SimpleNamespace

    fryer = SimpleNamespace(id="F1", name="一号炸锅")
    lines = [SimpleNamespace(stages=[SimpleNamespace(machines=[fryer])])]
    return SimpleNamespace(lines=lines, corrective_actions=[
        SimpleNamespace(id="stop-infeed", name="停止投料并隔离产品")], ccps=[
        _Ccp("fryer-oil", fryer_name, "frying", "F1", fryer_hazard, 165, 185, 5),
        _Ccp("cold-room", "冷库一号", "cold_storage", "C1", "Listeria growth above 4 °C",
             None, 4.0, 900)])


def record(config: object = None, entries: list[Record] | None = None) -> Any:
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
    return build(scope, "UTC", "test", summaries, devs, config, entries,
                 now=DAY + dt.timedelta(days=2, hours=3))


LONG = ("油温低于165 °C：停止投料，隔离自 06:00 起生产的全部半成品，通知品控部门复核温度探头并"
        "重新校准，待油温稳定在 170 °C 以上 10 分钟后恢复生产 — stopped the infeed, isolated "
        "every part-cooked product since 06:00, probe recalibrated by maintenance")


def entries() -> list[Record]:
    """The fryer's deviation answered (a long free text, Chinese names, two lots, one
    of them without a disposition, a verification); the cold room's left open."""
    tags = {**TAGS, "ccp": "fryer-oil", "ccp_kind": "frying", "kind": "limit"}
    start = NS + 20 * S
    at = NS + 3600 * S
    base = {"deviation_start_ns": start, "at_ns": at}
    return [
        Record("ccp_lot", {**tags, "lot": "卤牛肉-20261130-早班-001"},
               {"deviation_start_ns": start, "deviation_end_ns": NS + 30 * S}, start),
        Record("ccp_lot", {**tags, "lot": "B-1127"},
               {"deviation_start_ns": start, "deviation_end_ns": NS + 30 * S}, start),
        Record("ccp_action", {**tags, "entry": "action"},
               {**base, "by": "王建国", "role": "supervisor", "action": "stop-infeed",
                "text": LONG}, start + 1),
        Record("ccp_action", {**tags, "entry": "disposition",
                              "lot": "卤牛肉-20261130-早班-001"},
               {**base, "by": "王建国", "role": "supervisor", "disposition": "release",
                "justification": "复检合格：中心温度 ≥ 75 °C，"
                                 "微生物检验阴性（报告 QC-2026-1130-07）"},
               start + 2),
        Record("ccp_action", {**tags, "entry": "verification"},
               {**base, "by": "陈晓梅", "role": "qa", "text": "记录与检验报告已核对"},
               start + 3),
    ]


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
    js = json.loads(render.to_json(rec))  # machine-read: field names and ids, in English
    assert js["deviations"][1]["end"] == "open"
    assert js["deviations"][0]["end_reason"] == "back within limits"
    table = render.to_table(rec, translator("en"))
    assert "Deviations (2)" in table and "back within limits" in table
    assert "below the minimum" in table and "ongoing" in table


def test_csv_two_tables_in_words_seconds_and_spreadsheet_safe() -> None:
    text = render.to_csv(record(_config()), translator("en"))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    blank = rows.index([])
    ccps = [dict(zip(rows[0], r, strict=True)) for r in rows[1:blank]]
    devs = [dict(zip(rows[blank + 1], r, strict=True)) for r in rows[blank + 2:]]
    fry = next(c for c in ccps if c["CCP ID"] == "fryer-oil")
    assert fry["Critical control point"] == "炸锅油温" and fry["Kind"] == "frying"
    assert fry["Machine"] == "一号炸锅"  # the machine's name; C1 has none: its id
    assert next(c for c in ccps if c["CCP ID"] == "cold-room")["Machine"] == "C1"
    assert (fry["Monitored (s)"], fry["In deviation (s)"], fry["Mean"]) == ("120", "10",
                                                                           "175.50")
    assert fry["Critical limits"] == "≥ 165 and ≤ 185 °C; a deviation after 5 s"
    assert devs[0]["Duration (s)"] == "10" and devs[0]["Critical control point"] == "炸锅油温"
    assert devs[0]["Unit"] == "°C" and devs[1]["End"] == "ongoing"
    # free text (a hazard) that would start a formula is shown as text
    hostile = record(_config("=HYPERLINK(1)", "-1+1"))
    rows = list(csv.reader(io.StringIO(render.to_csv(hostile).lstrip("\ufeff"))))
    fry = next(r for r in rows if "fryer-oil" in r)
    assert (fry[0], fry[4]) == ("'=HYPERLINK(1)", "'-1+1")  # name, hazard


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_headers_are_words_with_one_unit_per_column(locale: str) -> None:
    t = translator(locale)
    rec = record(_config())
    minute, second = t.pgettext("unit", "min"), t.pgettext("unit", "s")
    for cols, unit in ((render.ccp_cols(t), minute), (render.ccp_cols(t, csv=True), second),
                       (render.dev_cols(t, rec), minute),
                       (render.dev_cols(t, rec, csv=True), second)):
        for c in cols:  # no raw field name (duration_s, end_reason, ...) as a header
            assert not re.fullmatch(r"[a-z_]+", c.head), c.head
        durations = [c for c in cols if c.key.endswith("_s")]
        assert durations and all(c.head.endswith((f"({unit})", f"（{unit}）"))
                                 for c in durations)
    page = render.to_html(rec, t)
    assert f"lang='{locale}'" in page
    for raw in ("duration_s", "end_reason", "monitored_s", "back within limits"
                if locale == "zh-CN" else "恢复至限值内"):
        assert raw not in page
    zh = render.to_table(rec, translator("zh-CN"))
    assert "炸锅油温" in zh and "低于下限" in zh and "恢复至限值内" in zh and "生产" in zh


def test_html_record_renders_in_chromium(tmp_path: Path) -> None:
    chromium = require_binary("chromium", "/usr/bin/chromium", "chromium-browser")
    page = tmp_path / "record.html"
    page.write_text(render.to_html(record(), translator("en")), encoding="utf-8")
    assert "<script" not in page.read_text()

    def run(*args: str) -> bytes:
        return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                               *args, page.as_uri()], capture_output=True, timeout=60,
                              check=True).stdout

    dom = run("--dump-dom").decode()
    # marked twice each: the CCP's summary row and the deviation's row
    assert dom.count("<tr class=\"dev\">") == 2 and dom.count("<tr class=\"lost\">") == 2
    assert "HACCP monitoring record" in dom and "Verified by" in dom
    shot = tmp_path / "a4.png"
    run("--window-size=1123,794", f"--screenshot={shot}")  # A4 landscape at 96 dpi
    colours = colour_counts(shot.read_bytes())
    total = sum(colours.values())
    assert colours.most_common(1)[0][1] < 0.97 * total, "screenshot is (nearly) blank"
    # the deviation row (pink) and the loss-of-monitoring row (amber) are visible
    assert colours[(0xFD, 0xE2, 0xE1)] > 2000, "no deviation row visible"
    assert colours[(0xFF, 0xF3, 0xCD)] > 2000, "no loss-of-monitoring row visible"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_each_deviation_carries_what_was_done_or_says_what_is_missing(locale: str) -> None:
    t = translator(locale)
    rec = record(_config(), entries())
    fry, cold = rec.deviations
    assert fry.id == f"s1:fryer-oil:limit:{NS + 20 * S}"
    assert list(fry.lots) == ["B-1127", "卤牛肉-20261130-早班-001"]
    table = render.to_table(rec, t)
    csv_rows = list(csv.reader(io.StringIO(render.to_csv(rec, t).lstrip("\ufeff"))))
    page = render.to_html(rec, t)
    missing_lot = t._("{lot}: no disposition yet").format(lot="B-1127")
    # the cold room's deviation (still open, two days and three hours old): nothing yet
    no_action = t._("no action yet ({age} since its start)").format(
        age=t._("{days} d {hours} h").format(days=2, hours=2))
    not_verified = t._("not verified ({age} since its start)").format(
        age=t._("{days} d {hours} h").format(days=2, hours=2))
    unknown_lots = t._("known once the deviation has ended")
    for text in (table, page, "\n".join(",".join(r) for r in csv_rows)):
        assert "停止投料并隔离产品: " + LONG[:30] in text  # the configured name, the text
        assert "王建国" in text and "陈晓梅" in text and "记录与检验报告已核对" in text
        assert "QC-2026-1130-07" in text and missing_lot in text
        assert no_action in text and not_verified in text and unknown_lots in text
    assert t._("Release") in page and "2026-11-30 01:00" in page
    js = json.loads(render.to_json(rec))
    assert [d["id"] for d in js["deviations"]] == [fry.id, cold.id]
    assert js["deviations"][1]["actions"] == [] and js["deviations"][1]["verification"] is None
    assert js["deviations"][0]["lots"][0] == {"lot": "B-1127", "disposition": None}
