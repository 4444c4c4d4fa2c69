"""The station's Pareto is the `downtime_reason` points' sums over the same range, also
for a stop cut at a shift change and reclassified after the cut (docs/station.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineside.config.loader import load_config
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.samplelog import read_samples
from lineside.station import views

CASE = Path(__file__).resolve().parents[1] / "cases" / "stop-reclassified-after-the-cut"
T0 = 1796018400.0  # 2026-11-30 06:00 UTC: shift A 06:00-07:00, B 07:00-08:00


def _sums(points: list[Point], a: float, b: float) -> tuple[dict[str, float], dict[str, int]]:
    secs: dict[str, float] = {}
    stops: dict[str, int] = {}
    for p in points:
        if p.measurement == "downtime_reason" and a * 1e9 <= p.ts_ns < b * 1e9:
            r = p.tags["reason"]
            secs[r] = secs.get(r, 0.0) + float(p.fields["seconds"])  # type: ignore[arg-type]
            stops[r] = stops.get(r, 0) + int(p.fields["stops"])  # type: ignore[call-overload]
    return ({r: v for r, v in secs.items() if v}, {r: n for r, n in stops.items() if n})


@pytest.mark.parametrize(("a", "b"), [(T0, T0 + 3600), (T0 + 3600, T0 + 7200),
                                      (T0, T0 + 7200)], ids=["shift A", "shift B", "day"])
def test_the_pareto_of_a_range_is_the_sum_of_its_points(a: float, b: float) -> None:
    cfg = load_config(CASE / "config.yaml")
    samples = list(read_samples(CASE / "samples.jsonl"))
    eng = Engine(cfg, samples[0].ts)
    out = eng.feed(samples) + eng.tick(samples[-1].ts)
    assert eng.reasons is not None
    p = views.pareto(eng.reasons, a, b, "unclassified")
    secs, stops = _sums(out, a, b)
    assert secs, "the case has stop time in every range"
    assert {r.reason: r.seconds for r in p.rows} == pytest.approx(secs)
    assert {r.reason: r.stops for r in p.rows if r.stops} == stops
    assert p.total_s == pytest.approx(sum(secs.values()))
