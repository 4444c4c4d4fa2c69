"""Stops cut at the shift change (docs/station.md): each shift's sum of `downtime_reason`
seconds is the stop time inside it, through a restart from a snapshot taken after the
cut and through a clock step that leaves the shift."""

from __future__ import annotations

import json
from pathlib import Path

from lineside.config.loader import load_config
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.samplelog import read_samples
from lineside.samples import Quality, Sample
from lineside.sinks.lineproto import to_line

CASES = Path(__file__).resolve().parents[1] / "cases"
CASE = CASES / "stop-reclassified-after-the-cut"
T0 = 1796018400.0  # 2026-11-30 06:00 UTC: shift A 06:00-07:00, B 07:00-08:00


def _reasons(points: list[Point]) -> list[Point]:
    return [p for p in points if p.measurement == "downtime_reason"]


def _sum(points: list[Point], a: float, b: float, reason: str | None = None) -> float:
    return sum(float(p.fields["seconds"]) for p in _reasons(points)  # type: ignore[arg-type]
               if a * 1e9 <= p.ts_ns < b * 1e9 and reason in (None, p.tags["reason"]))


def test_a_restart_after_the_cut_changes_nothing() -> None:
    cfg = load_config(CASE / "config.yaml")
    samples = list(read_samples(CASE / "samples.jsonl"))
    whole = Engine(cfg, samples[0].ts)
    straight = whole.feed(samples) + whole.tick(samples[-1].ts)
    # stop at 07:10, inside the stop and after its cut at 07:00: snapshot, restore, go on
    split = next(i for i, s in enumerate(samples) if s.ts > T0 + 4200)
    first = Engine(cfg, samples[0].ts)
    out = first.feed(samples[:split]) + first.tick(T0 + 4200)
    snap = json.loads(json.dumps(first.snapshot()))  # as the queue's state table keeps it
    second = Engine(cfg, T0 + 4200, snapshot=snap)
    out += second.feed(samples[split:]) + second.tick(samples[-1].ts)
    assert [to_line(p) for p in _reasons(out)] == [to_line(p) for p in _reasons(straight)]
    assert len(_reasons(out)) == 10
    assert _sum(out, T0, T0 + 3600) == 1200.0  # shift A: 06:40-07:00
    assert _sum(out, T0 + 3600, T0 + 7200) == 1500.0  # shift B: 07:00-07:25
    assert _sum(out, T0, T0 + 7200, "motor") == 2700.0


def test_a_clock_step_out_of_the_shift_cuts_at_the_step() -> None:
    """The clock jumps from 06:50 (shift A) to 07:20 (shift B) during a fault: 06:40-06:50
    is shift A's (600 s), the 10 observed minutes after the step (07:20-07:30) shift B's;
    the skipped half hour is no time."""
    cfg = load_config(CASES / "stop-across-a-shift-change" / "config.yaml")
    eng = Engine(cfg, T0)
    def reads(t: float, running: bool, code: int) -> list[Sample]:
        g = Quality.GOOD
        return [Sample("M1.running", running, g, t), Sample("M1.fault", not running, g, t),
                Sample("M1.fault_code", code, g, t)]

    out = eng.feed(reads(T0, True, 0)) + eng.feed(reads(T0 + 2400, False, 0))
    out += eng.feed(reads(T0 + 3000, False, 0))
    out += eng.clock_step(T0 + 4800)
    out += eng.feed(reads(T0 + 5400, True, 0)) + eng.tick(T0 + 7200)
    parts = _reasons(out)
    assert [(p.ts_ns, p.fields["seconds"], p.fields["stops"]) for p in parts] == [
        (int((T0 + 2400) * 1e9) + 1, 600.0, 1), (int((T0 + 4800) * 1e9) + 2, 600.0, 0)]
    ends = [p for p in out if p.measurement == "machine_state"
            and p.fields.get("prev_state") == "fault"]
    assert len(ends) == 1 and ends[0].fields["prev_duration_s"] == 1200.0
