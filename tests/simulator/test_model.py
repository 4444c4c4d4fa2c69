"""The model: seeded determinism, counters, states, and its signals vs the engine's maps."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineside.config.models import LinesideConfig
from lineside.simulator.codes import STATES, expressible_states
from lineside.simulator.factory import Factory
from lineside.simulator.truth import Truth
from tests.simulator.conftest import DAY0


def _run(cfg: LinesideConfig, seed: int, steps: list[float]) -> dict[str, object]:
    f = Factory.from_config(cfg, seed=seed, start_ts=DAY0)
    for t in steps:
        f.advance(t)
    return f.values()


def test_same_seed_same_plant_whatever_the_stepping(demo_cfg: LinesideConfig) -> None:
    end = DAY0 + 2 * 3600 + 0.35
    one_jump = _run(demo_cfg, 5, [end])
    fine = _run(demo_cfg, 5, [DAY0 + i * 0.7 for i in range(1, int(7200 / 0.7))] + [end])
    seconds = _run(demo_cfg, 5, [DAY0 + i for i in range(1, 7201)] + [end])
    assert one_jump == fine == seconds
    assert _run(demo_cfg, 6, [end]) != one_jump


def test_truth_is_deterministic(demo_cfg: LinesideConfig) -> None:
    a, b = Truth(), Truth()
    for tr in (a, b):
        Factory.from_config(demo_cfg, seed=3, start_ts=DAY0 + 0.4, recorders=[tr]).advance(
            DAY0 + 1800)
    assert a.t0 == b.t0 == DAY0 + 1 and a.n == b.n == 1800
    for mid in a.machines:
        assert a.machines[mid].state == b.machines[mid].state
        assert a.machines[mid].good == b.machines[mid].good


def test_every_state_is_reached_in_a_day(demo_day) -> None:
    _, truth = demo_day
    seen: dict[str, set[str]] = {m: {STATES[s] for s in set(mt.state)}
                                 for m, mt in truth.machines.items()}
    assert set().union(*seen.values()) == set(STATES)
    for m, states in seen.items():
        assert {"producing", "idle"} <= states, m
        if len(states) > 2:
            assert "fault" in states or m in ("L2-mix1",), (m, states)


def test_machines_only_enter_states_their_signals_can_show(demo_cfg, demo_day) -> None:
    _, truth = demo_day
    for line in demo_cfg.lines:
        for stage in line.stages:
            for m in stage.production:  # a monitoring-only unit has no state
                seen = {STATES[s] for s in set(truth.machines[m.id].state)}
                assert seen <= expressible_states(m), (m.id, seen - expressible_states(m))


def test_counters_roll_over_at_their_width(demo_cfg: LinesideConfig, demo_day) -> None:
    f, _ = demo_day
    rolled: Counter[int] = Counter()
    for mach in f.machines:
        for role in ("good", "reject", "total"):
            if role not in mach.cfg.signals:
                continue
            bits = mach.cfg.counter_bits(role)
            true_n = {"good": mach.good, "reject": mach.reject,
                      "total": mach.good + mach.reject}[role]
            shown = f.values()[f"{mach.cfg.id}.{role}"]
            signed = str(getattr(mach.cfg.signals[role], "type", "")).startswith("int")
            lo = -(1 << (bits - 1)) if signed else 0
            assert isinstance(shown, int) and lo <= shown < lo + (1 << bits)
            assert shown % (1 << bits) == (mach.counter_base[role] + true_n) % (1 << bits)
            if mach.counter_base[role] + true_n >= (1 << bits):
                rolled[bits] += 1
    assert rolled[16] >= 3 and rolled[32] >= 3, rolled


def test_counters_only_grow_while_producing(demo_day) -> None:
    _, truth = demo_day
    for mid, mt in truth.machines.items():
        for i in range(truth.n - 1):
            made = (mt.good[i + 1] - mt.good[i]) + (mt.reject[i + 1] - mt.reject[i])
            assert made >= 0
            if made:
                assert STATES[mt.state[i]] == "producing", (mid, i)


def test_rates_respect_the_ideal_rate(demo_cfg, demo_day) -> None:
    """Speed loss only: no machine makes more per producing second than its ideal."""
    f, truth = demo_day
    for mach in f.machines:
        mt = truth.machines[mach.cfg.id]
        run = sum(1 for s in mt.state if STATES[s] == "producing")
        made = mt.good[-1] + mt.reject[-1]
        best = max([60.0 / mach.cfg.ideal_cycle, *mach.cfg.products.values()]) / 60.0
        assert 0 < made <= run * best + 1, mach.cfg.id
        assert made >= run * best * 0.5, mach.cfg.id


def test_auto_mode_switches_and_slows_production(demo_day) -> None:
    f, truth = demo_day
    switched = [m.cfg.id for m in f.machines if m.has_auto_signal
                and 0 < sum(truth.machines[m.cfg.id].auto) < truth.n]
    assert len(switched) >= 5
    fixed = [m for m in f.machines if not m.has_auto_signal]
    for m in fixed:
        assert set(truth.machines[m.cfg.id].auto) == {1 if m.cfg.automation == "automatic"
                                                       else 0}


def test_values_have_the_declared_shape(demo_cfg: LinesideConfig) -> None:
    f = Factory.from_config(demo_cfg, seed=2, start_ts=DAY0 + 8 * 3600)
    f.advance(DAY0 + 9 * 3600)
    vals = f.values()
    for line in demo_cfg.lines:
        for stage in line.stages:
            for m in stage.machines:
                for name, spec in m.signals.items():
                    v = vals[f"{m.id}.{name}"]
                    typ = getattr(spec, "type", None)
                    if name in ("running", "fault", "starved", "blocked", "auto_mode") \
                            or typ == "bool":  # a cold room's door contact
                        assert isinstance(v, bool)
                    elif typ in ("string", None) and name == "batch":  # OPC UA: text
                        assert isinstance(v, str) and v.isdigit()
                    elif typ == "string":
                        assert isinstance(v, str)
                    elif name == "batch":  # the line's batch number in a register
                        assert isinstance(v, int) and v > 100_000
                    elif name in ("state", "mode", "program", "fault_code", "product", "good",
                                  "reject", "total"):
                        assert isinstance(v, int) and not isinstance(v, bool)
                    else:
                        assert isinstance(v, float) and math.isfinite(v)
    fryers = [v for k, v in vals.items() if k.endswith("oil_temp")]
    assert fryers and all(15 < float(v) < 190 for v in fryers)  # type: ignore[arg-type]


def test_signals_carry_the_true_state_through_the_engine_maps(demo_cfg, demo_day) -> None:
    """Cross-check with the engine: its state maps recover the truth from our signals."""
    states = pytest.importorskip("lineside.engine.states")
    maps = {}
    for line in demo_cfg.lines:
        for stage in line.stages:
            for m in stage.production:
                maps[m.id] = (m, states.StateMap(m))
    f = Factory.from_config(demo_cfg, seed=11, start_ts=DAY0)
    roles = ("state", "running", "fault", "starved", "blocked", "mode", "program",
             "fault_code")
    checked = Counter()
    for t in range(int(DAY0) + 1, int(DAY0) + 6 * 3600, 7):
        f.advance(t)
        vals = f.values()
        for mid, (_, smap) in maps.items():
            raw = [vals.get(f"{mid}.{r}") for r in roles]
            got = states.STATES[smap.derive(raw)]
            assert got == f.by_id[mid].state, (mid, t, raw)
            checked[got] += 1
    assert set(checked) == set(STATES), checked


def test_profiles_override_behaviour(demo_cfg: LinesideConfig) -> None:
    quiet = {"kind:cutting": {"stop_weights": {"fault": 0, "short": 0}},
             "L4-pack1": {"buffer_s": 1e9},  # its breakdowns never block the fryers
             "L4-fry1": {"run_mean_s": 1e9, "clean_every_s": 0, "setup_every_s": 0,
                         "maint_every_s": 0, "manual_every_s": 0, "speed": [1.0, 1.0],
                         "reject_p": 0.0}}
    truth = Truth()
    f = Factory.from_config(demo_cfg, seed=1, start_ts=DAY0 + 8 * 3600, profiles=quiet,
                            recorders=[truth], warmup_s=0)
    f.advance(DAY0 + 14 * 3600)
    for mid in ("L1-cut1", "L1-cut2", "L3-chop1", "L4-slice1"):
        assert "fault" not in {STATES[s] for s in truth.machines[mid].state}
    fry = truth.machines["L4-fry1"]
    assert {STATES[s] for s in fry.state} == {"producing"}
    assert fry.reject[-1] == 0 and fry.good[-1] == 45 * 6 * 60  # 45/min for 6 h, exactly
    with pytest.raises(ValueError, match="unknown key"):
        Factory.from_config(demo_cfg, seed=1, start_ts=DAY0, profiles={"L4-fry1": {"mtbf": 1}})


def test_samples_feed_an_engine_directly(demo_cfg: LinesideConfig) -> None:
    f = Factory.from_config(demo_cfg, seed=1, start_ts=DAY0)
    f.advance(DAY0 + 10)
    samples = f.samples()
    assert len(samples) == len(f.values()) and all(s.good and s.ts == DAY0 + 10
                                                   for s in samples)


def test_breakdowns_starve_downstream_and_block_upstream(demo_cfg, demo_day) -> None:
    """A long fault of a stage's only machine stops its neighbours once the buffer
    (buffer_s) is exhausted: never producing then, and starved/blocked when they were
    working."""
    f, truth = demo_day
    imposed = violations = 0
    for src in f.machines:
        st = truth.machines[src.cfg.id].state
        fault = STATES.index("fault")
        i, n = 0, truth.n
        while i < n:
            if st[i] != fault:
                i += 1
                continue
            j = i
            while j < n and st[j] == fault:
                j += 1
            b = int(src.prof.buffer_s)
            if j - i > 180 and i > 0 and i + b < n:  # a breakdown (short stops <= 90 s)
                for nb, state in src.neighbours:
                    if state not in nb.can:  # its PLC could not show it: not imposed
                        continue
                    got = STATES[truth.machines[nb.cfg.id].state[i + b]]
                    violations += got in ("producing", "idle")
                    imposed += got == state
            i = j
    assert violations == 0
    assert imposed >= 10
    coupled = {(s.cfg.id, n.cfg.id, k) for s in f.machines for n, k in s.neighbours}
    assert ("L2-past1", "L2-dice1", "starved") in coupled  # single pasteurizer -> dicer
    assert ("L1-braise1", "L1-cut1", "blocked") in coupled
    assert not any(s == "L1-braise1" and k == "starved" for s, _, k in coupled)  # manual next


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(0.01, 120.0), min_size=1, max_size=60))
def test_any_stepping_gives_the_same_plant(demo_cfg: LinesideConfig, steps) -> None:
    """Property: values at an instant do not depend on the steps taken to reach it."""
    ts, t = [], DAY0
    for d in steps:
        t += d
        ts.append(t)
    assert _run(demo_cfg, 8, ts) == _run(demo_cfg, 8, [t])
