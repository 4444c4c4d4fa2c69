"""Lots in the simulated factory (simulator/lots.py) against the engine: over three
simulated hours, fed second by second as a PLC poll would, every `ccp_lot` record the
engine writes is exactly one of the simulator's ground truth of affected lots (the
true deviations, the true batch numbers of the line, the configured margins), and every
true one is written. Deterministic: seeded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.samples import Sample
from lineside.simulator.ccp import CcpTruth
from lineside.simulator.factory import Factory
from lineside.simulator.lots import affected_lots

T0 = 1_796_018_400  # Monday 2026-11-30 00:00 UTC
HOURS = 3


def plant() -> LinesideConfig:
    def m(mid: str, temp: str, **extra: Any) -> dict[str, Any]:
        sig = {"running": {"table": "coil", "address": 0, "type": "bool"},
               "fault": {"table": "coil", "address": 1, "type": "bool"},
               temp: {"table": "input", "address": 0, "type": "float32"}}
        sig.update(extra.pop("signals", {}))
        return {"id": mid, "automation": "automatic", "ideal_rate": 60, "source": "plc",
                "signals": sig, **extra}

    batch = {"batch": {"address": 10, "type": "uint32"}}
    text = {"batch": {"address": 10, "type": "string", "length": 4}}
    return LinesideConfig(**{
        "site": {"enterprise_id": "e", "enterprise_name": "E", "site_id": "s",
                 "region": "510114"},
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1"}],
        "calendar": {"shifts": [{"name": "day", "start": "00:00", "end": "23:00"}]},
        "lines": [
            {"id": "A", "stages": [
                {"id": "fry", "kind": "frying", "machines": [
                    m("fryer", "oil_temp", lot_signal="batch", signals=batch)]},
                # product changes of the packer start the line's next lot too
                {"id": "pack", "kind": "packaging", "machines": [
                    {"id": "packer", "automation": "automatic", "ideal_rate": 60,
                     "source": "plc", "state": {"map": "packml"}, "products": {1: 60, 2: 50},
                     "signals": {"state": {"address": 20, "type": "uint16"},
                                 "mode": {"address": 22, "type": "uint16"},
                                 "product": {"address": 21, "type": "uint16"}}}]}]},
            {"id": "B", "stages": [
                {"id": "store", "kind": "thawing", "machines": [
                    m("room", "room_temp", lot_signal="batch", signals=text)]},
                {"id": "heat", "kind": "heating", "machines": [m("past", "hold_temp")]}]}],
        "ccps": [
            {"id": "oil", "kind": "frying", "hazard": "h", "machine": "fryer",
             "signal": "oil_temp", "critical": {"min": 165, "max": 185},
             "min_duration_s": 20, "applies": "producing", "monitoring_interval_s": 4,
             "lot_margin_before_s": 120, "lot_margin_after_s": 60},
            {"id": "cold", "kind": "cold_storage", "hazard": "h", "machine": "room",
             "signal": "room_temp", "critical": {"max": 4}, "min_duration_s": 30,
             "monitoring_interval_s": 5},
            # a machine without a lot signal: its deviations affect no lot
            {"id": "hold", "kind": "pasteurization", "hazard": "h", "machine": "past",
             "signal": "hold_temp", "critical": {"min": 72}, "min_duration_s": 0,
             "applies": "producing", "monitoring_interval_s": 3}],
    })


def test_every_affected_lot_the_engine_records_is_the_simulators_truth() -> None:
    cfg = plant()
    end = T0 + HOURS * 3600
    factory = Factory.from_config(cfg, seed=3, start_ts=T0, profiles={
        "packer": {"setup_every_s": 2400, "setup_s": [120, 300]}})
    assert factory.ccp is not None
    truth = CcpTruth(factory.ccp)
    factory.recorders.append(truth)
    engine = Engine(cfg, T0)
    points = []
    for t in range(T0 + 1, end):
        factory.advance(t)
        points += engine.feed([Sample(s.signal, s.value, s.quality, float(t))
                               for s in factory.samples()])
    points += engine.tick(end)
    margins = {c.id: c.lot_margin_after_s for c in cfg.ccps}
    # deviations over, and their after-margin passed, before the run's end
    # (a loss of monitoring starts `interval` after the last good reading: polled each
    # second, the one a second before the drop-out began)
    devs = [replace(d, start=d.start - 1) if d.kind == "monitoring" else d
            for d in truth.deviations() if d.end + margins[d.ccp] < end - 1]
    want = {(a.ccp, a.kind, a.start, a.end, a.lot, a.lot_start, a.lot_end)
            for a in affected_lots(cfg, devs, factory.lots, T0 + 1, end)}
    got = {(p.tags["ccp"], p.tags["kind"], p.fields["deviation_start_ns"] / 1e9,
            p.fields["deviation_end_ns"] / 1e9, p.tags["lot"], p.fields["lot_start_ns"] / 1e9,
            p.fields["lot_end_ns"] / 1e9 if "lot_end_ns" in p.fields else None)
           for p in points if p.measurement == "ccp_lot"}
    assert got == want
    # the run shows what it is for: lots on both lines, a product change among the lot
    # changes, deviations spanning a lot change, margins pulling in another lot
    assert {x[0] for x in want} == {"oil", "cold"} and len(want) >= 30
    per_dev: dict[tuple[str, float], int] = {}
    for x in want:
        per_dev[(x[0], x[2])] = per_dev.get((x[0], x[2]), 0) + 1
    assert max(per_dev.values()) == 2
    assert any(x[0] == "oil" and x[6] is not None and x[6] <= x[2] for x in want)  # margin
    assert any(x[0] == "cold" and x[2] < x[5] <= x[3] for x in want)  # a lot change inside
    assert [t for t in factory.lots["A"].product_changes if T0 < t < end]


def test_a_lot_number_is_the_same_however_the_factory_is_stepped() -> None:
    cfg = plant()
    a = Factory.from_config(cfg, seed=3, start_ts=T0)
    b = Factory.from_config(cfg, seed=3, start_ts=T0)
    seen_a, seen_b = [], []
    for t in range(T0, T0 + 3 * 3600, 7):
        a.advance(t)
        seen_a.append((a.values()["fryer.batch"], a.values()["room.batch"]))
    for t in range(T0, T0 + 3 * 3600, 7):
        b.advance(t)  # one big step then the reads
        seen_b.append((b.lots["A"].at(t), str(b.lots["B"].at(t))))
    assert seen_a == seen_b
    assert len(set(seen_a)) >= 6
    assert all(isinstance(x, int) and isinstance(y, str) for x, y in seen_a)
