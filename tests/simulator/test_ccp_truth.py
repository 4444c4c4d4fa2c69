"""The simulator's CCP script against the engine: every deviation of the ground truth,
also of CCPs that apply only while their machine produces, found once by the engine."""

from __future__ import annotations

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.samples import Sample
from lineside.simulator.ccp import CcpTruth
from lineside.simulator.factory import Factory

T0 = 1_796_018_400  # Monday 2026-11-30 00:00 UTC


def plant() -> LinesideConfig:
    def m(mid: str, temp: str) -> dict:
        return {"id": mid, "automation": "automatic", "ideal_rate": 60, "source": "plc",
                "signals": {"running": {"table": "coil", "address": 0, "type": "bool"},
                            "fault": {"table": "coil", "address": 1, "type": "bool"},
                            temp: {"table": "input", "address": 0, "type": "float32"}}}
    return LinesideConfig(**{
        "site": {"enterprise_id": "e", "enterprise_name": "E", "site_id": "s",
                 "region": "510114"},
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1"}],
        # a day shift: the simulated machines work inside shifts only
        "calendar": {"shifts": [{"name": "day", "start": "00:00", "end": "23:00"}]},
        "lines": [{"id": "L", "stages": [
            {"id": "fry", "kind": "frying", "machines": [m("fryer", "oil_temp")]},
            {"id": "heat", "kind": "heating", "machines": [m("past", "hold_temp")]}]}],
        "ccps": [
            {"id": "oil", "kind": "frying", "hazard": "h", "machine": "fryer",
             "signal": "oil_temp", "critical": {"min": 165, "max": 185},
             "min_duration_s": 20, "applies": "producing", "monitoring_interval_s": 4},
            {"id": "hold", "kind": "pasteurization", "hazard": "h", "machine": "past",
             "signal": "hold_temp", "critical": {"min": 72}, "min_duration_s": 0,
             "applies": "producing", "monitoring_interval_s": 3}],
    })


def test_engine_finds_every_true_deviation_of_producing_only_ccps() -> None:
    cfg = plant()
    factory = Factory.from_config(cfg, seed=5, start_ts=T0)
    assert factory.ccp is not None
    truth = CcpTruth(factory.ccp)
    factory.recorders.append(truth)
    engine = Engine(cfg, T0)
    points = []
    for t in range(T0 + 1, T0 + 4 * 3600):
        factory.advance(t)
        points += engine.feed([Sample(s.signal, s.value, s.quality, float(t))
                               for s in factory.samples()])
    points += engine.tick(T0 + 4 * 3600)
    got = {}
    for p in points:
        if p.measurement == "ccp_deviation" and p.tags["event"] == "end":
            got.setdefault((p.tags["ccp"], p.tags["kind"]), []).append(
                (p.fields["start_ns"] / 1e9, p.ts_ns / 1e9))
    expected = [d for d in truth.deviations() if d.end < T0 + 4 * 3600 - 1]
    # the script runs, and the machines' states cut some of its windows
    assert len(expected) >= 20
    assert {d.kind for d in expected} == {"limit", "monitoring"}
    for d in expected:
        found = [(a, b) for a, b in got.get((d.ccp, d.kind), [])
                 if abs(a - d.start) <= 1 and abs(b - d.end) <= 1]
        assert len(found) == 1, (d, got.get((d.ccp, d.kind)))
    assert sum(len(v) for v in got.values()) == len(expected)
