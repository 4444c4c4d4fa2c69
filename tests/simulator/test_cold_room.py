"""The demo's cold room (simulator/factory.py `MonitorSim`): a monitoring-only unit with a
temperature and its CCP's excursions, no state or counters, and out of the OEE ground
truth — the plant's truth and every other machine's values are what they are without
it; through the engine its CCP's deviations are the script's and it has no figures."""

from __future__ import annotations

import math

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.simulator.ccp import integer_ccps, truth_deviations
from lineside.simulator.factory import Factory
from lineside.simulator.truth import Truth, truth_oee
from tests.simulator.conftest import DAY0

ROOM, CCP = "L1-cold1", "L1-cold1-air"


def _without_room(cfg: LinesideConfig) -> LinesideConfig:
    lines = []
    for ln in cfg.lines:
        stages = [st.model_copy(update={"machines": [m for m in st.machines if m.id != ROOM]})
                  for st in ln.stages]
        lines.append(ln.model_copy(update={"stages": stages}))
    return cfg.model_copy(update={"lines": lines,
                                  "ccps": [c for c in cfg.ccps if c.id != CCP]})


def test_the_demo_has_a_cold_room_with_a_ccp(demo_cfg: LinesideConfig) -> None:
    room = next(m for ln in demo_cfg.lines for st in ln.stages for m in st.machines
                if m.id == ROOM)
    assert room.kind == "cold_room" and room.monitoring_only
    assert [c.kind for c in demo_cfg.ccps if c.machine == ROOM] == ["cold_storage"]


def test_the_room_has_no_truth_and_changes_nothing_else(demo_cfg: LinesideConfig) -> None:
    hours = 3 * 3600
    with_room, without = Truth(), Truth()
    f = Factory.from_config(demo_cfg, seed=11, start_ts=DAY0, recorders=[with_room])
    g = Factory.from_config(_without_room(demo_cfg), seed=11, start_ts=DAY0,
                            recorders=[without])
    temps, doors = [], set()
    for t in range(int(DAY0) + 60, int(DAY0) + hours, 60):
        f.advance(t)
        g.advance(t)
        a, b = f.values(), g.values()
        room = {k: v for k, v in a.items() if k.startswith(ROOM + ".")}
        assert {k: v for k, v in a.items() if k not in room and not k.startswith(CCP)} \
            == {k: v for k, v in b.items()}
        temps.append(room[f"{ROOM}.air_temp"])
        doors.add(room[f"{ROOM}.door_open"])
    assert ROOM not in with_room.machines and len(with_room.machines) == 26
    assert set(with_room.machines) == set(without.machines)
    assert truth_oee(with_room, demo_cfg, DAY0, DAY0 + hours) == truth_oee(
        without, _without_room(demo_cfg), DAY0, DAY0 + hours)
    # steady near 2 °C, beyond 4 °C while its script plays an excursion, NaN in a drop-out
    finite = [float(v) for v in temps if not math.isnan(float(v))]
    assert doors == {False}
    assert finite and all(-1.0 < v < 8.0 for v in finite)
    assert sum(1 for v in finite if v > 4.0) >= 1
    assert sum(1 for v in finite if v < 3.0) > len(finite) // 2


def test_the_engine_finds_the_rooms_deviations_and_gives_it_no_figures(
        demo_cfg: LinesideConfig) -> None:
    start = int(DAY0)
    span = 3600
    f = Factory.from_config(demo_cfg, seed=11, start_ts=start, ccp_origin=start)
    eng = Engine(demo_cfg, float(start))
    out = []
    for t in range(start + 1, start + span + 1):
        f.advance(t)
        out += eng.feed(f.samples())
    out += eng.tick(float(start + span + 120))
    # fed every second: a loss of monitoring starts its interval after the last good
    # reading, one second before the drop-out (as tests/simulator/test_lots_truth.py)
    want = [(d.kind, d.start - (d.kind == "monitoring"), d.end) for d in truth_deviations(
        demo_cfg.ccps, start, start, start + span, integer_ccps(demo_cfg)) if d.ccp == CCP]
    got = [(p.tags["kind"], p.fields["start_ns"] / 1e9, p.ts_ns / 1e9) for p in out
           if p.measurement == "ccp_deviation" and p.tags.get("ccp") == CCP
           and p.tags.get("event") != "start"]
    assert len(want) >= 2 and {k for k, _, _ in want} == {"limit", "monitoring"}
    assert [(k, round(a), round(b)) for k, a, b in got] == want
    figures = {"machine_state", "oee", "oee_shift", "automation"}
    assert not [p for p in out if p.measurement in figures and p.tags.get("machine") == ROOM]
    assert any(p.measurement == "oee" and p.tags.get("machine") == "L1-pack1" for p in out)
