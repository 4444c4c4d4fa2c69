"""Monitoring-only equipment (issue 27): a cold room beside a line changes none of the
line's points, and its CCP deviations reach the HACCP record under its own name.

The case folder tests/cases/cold-room-beside-the-line holds the plant; here it is
replayed with `lineside replay` as written and without the cold room (its machine
entry, its CCP and its samples taken out), and the two outputs compared byte for byte
once the cold room's own points are set aside.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from lineside.cli.liveview import Health, render_page
from lineside.cli.main import main
from lineside.config.loader import load_config
from lineside.engine.core import Engine
from lineside.engine.replay import replay
from lineside.haccp.chain import Record
from lineside.haccp.record import Scope, build
from lineside.haccp.render import to_table
from lineside.i18n import translator
from lineside.samplelog import read_samples
from lineside.samples import Quality, Sample

CASE = Path(__file__).resolve().parents[1] / "cases" / "cold-room-beside-the-line"
UNIT, UNIT_CCP, UNIT_CCP_KIND = "CR1", "cold-store", "cold_storage"


def _without_the_cold_room(tmp: Path) -> tuple[Path, Path]:
    """The case's configuration and samples with the cold room taken out."""
    doc = yaml.safe_load((CASE / "config.yaml").read_text(encoding="utf-8"))
    for line in doc["lines"]:
        for stage in line["stages"]:
            stage["machines"] = [m for m in stage["machines"] if m["id"] != UNIT]
    doc["ccps"] = [c for c in doc["ccps"] if c["machine"] != UNIT]
    cfg = tmp / "config.yaml"
    cfg.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    kept = [ln for ln in (CASE / "samples.jsonl").read_text(encoding="utf-8").splitlines()
            if ln.startswith("#") or not json.loads(ln)["s"].startswith(f"{UNIT}.")]
    samples = tmp / "samples.jsonl"
    samples.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return cfg, samples


def _own(line: str) -> bool:
    """A point of the cold room: its tags, or its CCP kind's aggregates (it is the only
    CCP of that kind)."""
    return f",machine={UNIT}," in line or f",ccp_kind={UNIT_CCP_KIND}," in line


def test_a_cold_room_changes_no_other_point(tmp_path: Path) -> None:
    with_it, without_it = tmp_path / "with.lp", tmp_path / "without.lp"
    assert main(["replay", str(CASE / "samples.jsonl"), str(CASE / "config.yaml"),
                 "-o", str(with_it)]) == 0
    cfg, samples = _without_the_cold_room(tmp_path)
    assert main(["replay", str(samples), str(cfg), "-o", str(without_it)]) == 0
    lines = with_it.read_text(encoding="utf-8").splitlines(keepends=True)
    own = [ln for ln in lines if _own(ln)]
    others = tmp_path / "with-minus-own.lp"
    others.write_text("".join(ln for ln in lines if not _own(ln)), encoding="utf-8")
    # what `cmp` says: every other point identical, in the same order
    assert others.read_bytes() == without_it.read_bytes()
    assert len(without_it.read_bytes()) > 0
    # the cold room's own points: its signal, its CCP's summaries and deviation, and no
    # state or figure of any kind
    kinds = {ln.split(",", 1)[0] for ln in own}
    assert {"signal", "ccp", "ccp_shift", "ccp_deviation", "ccp_bureau"} <= kinds
    assert not kinds & {"machine_state", "oee", "oee_shift", "automation"}


def test_the_record_names_the_cold_room() -> None:
    cfg = load_config(CASE / "config.yaml")
    points = list(replay(cfg, read_samples(CASE / "samples.jsonl")))
    summaries = [Record(p.measurement, p.tags, p.fields, p.ts_ns) for p in points
                 if p.measurement == "ccp"]
    deviations = [Record(p.measurement, p.tags, p.fields, p.ts_ns) for p in points
                  if p.measurement == "ccp_deviation"]
    day = Scope("day 2026-11-30", *_day())
    rec = build(day, "UTC", "replay", summaries, deviations, cfg)
    (room,) = [c for c in rec.ccps if c.ccp == UNIT_CCP]
    assert (room.machine, room.machine_name) == (UNIT, "成品冷库")
    (dev,) = rec.deviations
    assert (dev.ccp, dev.kind, dev.duration_s) == (UNIT_CCP, "limit", 240.0)
    assert "state" not in dev.fields  # a cold room has no machine state to record
    text = to_table(rec, translator("en"))
    row = next(ln for ln in text.splitlines() if ln.startswith("成品冷库温度"))
    assert "成品冷库 " in row.replace("成品冷库温度", "", 1)


def _day() -> tuple:
    import datetime as dt

    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


@pytest.mark.parametrize(("locale", "kind"), [("zh-CN", "冷库"), ("en", "cold room")])
def test_the_live_view_shows_the_cold_room_as_itself(locale: str, kind: str) -> None:
    cfg = load_config(CASE / "config.yaml")
    samples = list(read_samples(CASE / "samples.jsonl"))
    engine = Engine(cfg, samples[0].ts)
    engine.feed(samples[:12])  # up to 06:05: the cold room at 6.0 °C, in deviation
    view = engine.view(engine.now)
    (packing,) = [st for ln in view.lines for st in ln.stages if st.id == "S2"]
    assert [m.id for m in packing.machines] == ["P1"]  # the unit is no machine
    assert [(u.id, u.name, u.kind) for u in packing.monitors] == [
        (UNIT, "成品冷库", "cold_room")]
    t = translator(locale)
    page, _ = render_page(view, engine.ccp_view(), Health(), t, 100, 30, 0)
    console = Console(width=100, height=30, record=True, color_system=None)
    console.print(page)
    rows = console.export_text().splitlines()
    (room,) = [r for r in rows if r.startswith("  成品冷库")]
    assert kind in room and "%" not in room  # its kind, no figure
    assert any(r.startswith("成品冷库温度") for r in rows)  # its CCP below


def test_a_line_lot_runs_through_the_cold_room() -> None:
    """A lot of the line is on the cold room too (its span, no counts), so the room's
    deviation lists it among the affected lots."""
    cfg = load_config(CASE / "config.yaml")
    samples = list(read_samples(CASE / "samples.jsonl"))
    t0 = samples[0].ts
    start = {"action": "start", "by": "zhang", "line": "L1", "lot": "B-1"}
    lot = Sample("@lot", json.dumps(start), Quality.GOOD, t0)
    points = list(replay(cfg, [*samples[:6], lot, *samples[6:]]))
    on_room = [p for p in points if p.measurement == "lot" and p.tags["machine"] == UNIT]
    assert [(p.tags["lot"], p.tags["event"]) for p in on_room] == [("B-1", "start")]
    (affected,) = [p for p in points if p.measurement == "ccp_lot"]
    assert (affected.tags["ccp"], affected.tags["lot"]) == (UNIT_CCP, "B-1")


def test_a_restart_in_the_cold_rooms_deviation_writes_the_same_points() -> None:
    """Resumed from a snapshot taken while the deviation is open, the engine writes the
    points of an engine that never stopped (the unit's CCP keeps having no state)."""
    cfg = load_config(CASE / "config.yaml")
    samples = list(read_samples(CASE / "samples.jsonl"))
    end = samples[-1].ts

    def run(split: int | None) -> list[str]:
        engine = Engine(cfg, samples[0].ts)
        out = engine.feed(samples[:split] if split else samples)
        if split:
            snap = json.loads(json.dumps(engine.snapshot()))
            engine = Engine(cfg, engine.now, snapshot=snap)
            out += engine.feed(samples[split:])
        out += engine.tick(end)
        return sorted(f"{p.measurement} {sorted(p.tags.items())} {sorted(p.fields.items())} "
                      f"{p.ts_ns}" for p in out if p.tags.get("machine") == UNIT)

    whole = run(None)
    assert any(line.startswith("ccp_deviation") for line in whole)
    assert run(12) == whole  # inside the 06:05 poll: the excursion qualifying, still open
