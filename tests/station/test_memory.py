"""What the station keeps across restarts (memory.py): written aside and renamed, read
back by the next start, an unreadable file taken as none."""

from __future__ import annotations

from pathlib import Path

from lineside.engine.actions import deviation_id
from lineside.points import Point
from lineside.station.memory import FILE_NAME, Memory

START = 1796019300_000_000_000
TAGS = {"site": "s1", "ccp": "hold", "ccp_name": "巴氏杀菌", "kind": "limit"}


def _points() -> list[Point]:
    return [
        Point("signal", {"machine": "past"}, {"value": 71.0}, START),
        Point("ccp_deviation", {**TAGS, "event": "end"}, {"start_ns": START},
              START + 600_000_000_000),
        Point("ccp_action", {**TAGS, "entry": "action"},
              {"by": "wang", "action": "reprocess", "text": "75 °C",
               "deviation_start_ns": START, "at_ns": START + 900_000_000_000}, START + 1),
        Point("oee_shift", {"level": "line", "line": "L1", "shift": "A",
                            "shift_date": "2026-11-30"},
              {"oee": 0.5, "availability": 0.8, "performance": 0.7, "quality": 0.9},
              1796018400_000_000_000),
    ]


def test_kept_across_a_restart(tmp_path: Path) -> None:
    m = Memory(tmp_path, "s1")
    closed = m.observe(_points(), 1796022000.0)
    assert closed is not None and closed.lines["L1"] == (0.5, 0.8, 0.7, 0.9)
    m.closed(closed)
    m.observe(_points()[2:3], 1796022001.0)  # the same record delivered again
    again = Memory(tmp_path, "s1")
    dev = deviation_id("s1", "hold", "limit", START)
    assert again.last_shift == closed
    assert again.ends == {dev: START / 1e9 + 600}
    assert [(r["entry"], r["by"], r["text"], r["seq"]) for r in again.records[dev]] == [
        ("action", "wang", "75 °C", 1)]
    assert not list(tmp_path.glob(".station-memory-*"))  # nothing left aside


def test_an_unreadable_file_is_none(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text('{"last_shift": {"name"', encoding="utf-8")
    m = Memory(tmp_path, "s1")
    assert m.last_shift is None and m.records == {} and m.ends == {}
