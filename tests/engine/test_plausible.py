"""Plausible values by rule (engine/plausible.py, docs/engine.md "Plausible values").

A value the engine cannot use is taken as a BAD read: no state code, count, CCP value
or `signal` point comes of it; it is counted by reason, and the first refusal of each
signal and reason is kept for the runtime's log line.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from lineside.engine import plausible as P
from lineside.engine.core import Engine
from lineside.samples import Quality, Sample
from tests.engine.plant import at, cfg, machine, pick, shift

PV = P.Bounds(-P.VALUE_LIMIT, P.VALUE_LIMIT, P.TEXT_MAX_CHARS)
CODE = P.Bounds(*P.CODE_RANGE, P.TEXT_MAX_CHARS)
OWN = P.Bounds(0.0, 100.0, 8)  # a signal with `range: [0, 100]`, `max_chars: 8`
INF = math.inf


@pytest.mark.parametrize(("value", "bounds", "why"), [
    (72.5, PV, None),
    (-40, PV, None),
    (True, PV, None),  # a boolean process value is 0 or 1
    (1e12, PV, None),  # the bound itself is inside
    (-1e12, PV, None),
    (1.0000001e12, PV, P.OUT_OF_RANGE),
    (3.4028235e38, PV, P.OUT_OF_RANGE),  # float32 max, a PLC's "no value"
    (1e308, PV, P.OUT_OF_RANGE),
    (10**400, PV, P.OUT_OF_RANGE),  # an int no float can hold
    (math.nan, PV, P.NON_FINITE),
    (INF, PV, P.NON_FINITE),
    (-INF, PV, P.NON_FINITE),
    (None, PV, P.NON_FINITE),  # the sample log's NaN
    ("x" * 256, PV, None),
    ("x" * 257, PV, P.TEXT_TOO_LONG),
    ("x" * 10_000_000, PV, P.TEXT_TOO_LONG),
    (100.5, OWN, P.OUT_OF_RANGE),
    (-0.1, OWN, P.OUT_OF_RANGE),
    (100, OWN, None),
    ("12345678", OWN, None),
    ("123456789", OWN, P.TEXT_TOO_LONG),
], ids=repr)
def test_process_values(value: Any, bounds: P.Bounds, why: str | None) -> None:
    assert P.process_value(value, bounds) == why


@pytest.mark.parametrize(("value", "bounds", "why"), [
    (6, CODE, None),
    (True, CODE, None),
    (6.0, CODE, None),
    (2**32 - 1, CODE, None),  # a uint32 bit field
    (-(2**31), CODE, None),
    (2**32, CODE, P.OUT_OF_RANGE),
    (2**64 - 1, CODE, P.OUT_OF_RANGE),  # would be written as code=18446744073709551615i
    (-(2**31) - 1, CODE, P.OUT_OF_RANGE),
    (1e308, CODE, P.OUT_OF_RANGE),
    (math.nan, CODE, P.NON_FINITE),
    (INF, CODE, P.NON_FINITE),
    (None, CODE, P.NON_FINITE),
    ("Production", CODE, None),  # a mode as text
    (" 6 ", CODE, None),  # a numeric text is judged as its number
    ("18446744073709551615", CODE, P.OUT_OF_RANGE),
    ("P" * 300, CODE, P.TEXT_TOO_LONG),
    (150, OWN, P.OUT_OF_RANGE),
], ids=repr)
def test_codes_and_flags(value: Any, bounds: P.Bounds, why: str | None) -> None:
    assert P.code(value, bounds) == why


U32 = P.counter_range(32)


@pytest.mark.parametrize(("value", "limits", "expect"), [
    (5, U32, (5, None)),
    (-(2**31), U32, (-(2**31), None)),  # an int32 counter's value
    (2**32 - 1, U32, (2**32 - 1, None)),
    (2**32, U32, (None, P.OUT_OF_RANGE)),
    (2**64 - 1, U32, (None, P.OUT_OF_RANGE)),
    (2**64 - 1, P.counter_range(64), (2**64 - 1, None)),
    (2**15, P.counter_range(16), (2**15, None)),
    (2**16, P.counter_range(16), (None, P.OUT_OF_RANGE)),
    (7.9, U32, (7, None)),  # a float is truncated, as before
    (" 12", U32, (12, None)),
    (True, U32, (1, None)),
    (math.nan, U32, (None, P.NON_FINITE)),
    (INF, U32, (None, P.NON_FINITE)),
    (None, U32, (None, P.NON_FINITE)),
    (1e308, U32, (None, P.OUT_OF_RANGE)),
    ("twelve", U32, (None, P.NOT_NUMERIC)),
    ("1" * 300, U32, (None, P.TEXT_TOO_LONG)),
], ids=repr)
def test_counters(value: Any, limits: tuple[int, int], expect: tuple[Any, Any]) -> None:
    assert P.counter_value(value, *limits, P.TEXT_MAX_CHARS) == expect


def test_counter_width_and_own_range_meet() -> None:
    # A uint16 counter with `range: [0, 9999.5]`: the tighter of both, in whole units.
    from lineside.engine.counters import Counter

    c = Counter(16, 1.0, limits=(0.0, 9999.5))
    assert (c.lo, c.hi) == (0, 9999)
    c.set_bits(8)  # a learned width narrows it further
    assert (c.lo, c.hi) == (0, 255)


def _plant(**signals: dict[str, Any]) -> Any:
    m = machine("M1", "state", "good", "mode", "temp", "label", smap="packml")
    for name, extra in signals.items():
        m["signals"][name].update(extra)
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": [m]}]}
    return cfg([line], [shift("A", "06:00-07:00")], metrics={"stale_after_s": 600})


def _feed(config: Any, *polls: dict[str, Any]) -> tuple[Engine, list[Any]]:
    eng = Engine(config, at("06:00"))
    pts: list[Any] = []
    for i, values in enumerate(polls):
        pts += eng.feed([Sample(f"M1.{k}", v, Quality.GOOD, at("06:00") + i)
                         for k, v in values.items()])
    return eng, pts + eng.tick(at("07:00"))


def test_hostile_values_never_reach_a_point() -> None:
    good = {"state": 6, "good": 100, "mode": 1, "temp": 72.0, "label": "batch 7"}
    eng, pts = _feed(
        _plant(temp={"range": [-20, 300]}),
        good,
        {**good, "temp": 1e308, "label": "x" * 10_000_000, "state": 2**64 - 1,
         "good": 2**64 - 1, "mode": math.nan},
        {**good, "temp": 301.0, "label": None, "state": math.inf, "good": "lots",
         "mode": 3.4e38},
        {**good, "temp": math.nan, "good": 105},
    )
    assert [p.fields["value"] for p in pick(pts, "signal", signal="temp")] == [72.0]
    assert [p.fields["text"] for p in pick(pts, "signal", signal="label")] == ["batch 7"]
    # one state change (unknown -> producing, code 6) until silence makes it unknown at
    # 06:10:03, 600 s after the last good state read
    assert [(p.fields["state"], p.fields.get("code"), p.ts_ns / 1e9 - at("06:00"))
            for p in pick(pts, "machine_state")] == [("producing", 6, 0), ("unknown", None, 603)]
    (shift_pt,) = pick(pts, "oee_shift", level="machine")
    assert shift_pt.fields["good_count"] == 5  # 100 -> 105: the refused reads add nothing
    st = eng.stats
    # non-finite: mode NaN, state inf, temp NaN, label null; out of range: temp 1e308 and
    # 301, state and good 2^64-1, mode 3.4e38; text: label 10 MB; not numeric: "lots".
    assert (st.refused_non_finite, st.refused_out_of_range, st.refused_text_too_long,
            st.refused_not_numeric) == (4, 5, 1, 1)


def test_each_signal_and_reason_is_reported_once_with_its_device() -> None:
    eng, _ = _feed(_plant(), {"temp": 1e308}, {"temp": 2e308}, {"temp": 3e38},
                   {"temp": math.nan}, {"temp": 72.0})
    got = [(r.signal, r.device, r.reason, r.kind, r.value) for r in eng.take_refusals()]
    assert got == [("M1.temp", "plc1", P.OUT_OF_RANGE, "float", "1e+308"),
                   ("M1.temp", "plc1", P.NON_FINITE, "float", "inf"),
                   ]
    assert eng.stats.refused_out_of_range == 2 and eng.stats.refused_non_finite == 2
    assert eng.take_refusals() == []  # taken: not reported a second time


def test_a_refused_state_read_is_a_bad_read() -> None:
    # A state code of 2^64-1 every poll from 06:00:01: no good state read, so the
    # machine goes unknown at its stale deadline (10 s), reason `bad quality`.
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying",
                                    "machines": [machine("M1", "state", smap="packml")]}]}
    config = cfg([line], [shift("A", "06:00-07:00")])
    eng = Engine(config, at("06:00"))
    pts = eng.feed([Sample("M1.state", 6, Quality.GOOD, at("06:00"))])
    for i in range(1, 30):
        pts += eng.feed([Sample("M1.state", 2**64 - 1, Quality.GOOD, at("06:00") + i)])
    pts += eng.tick(at("06:00:30"))
    assert [(p.fields["state"], p.fields.get("reason"), p.ts_ns / 1e9 - at("06:00"))
            for p in pick(pts, "machine_state")] == [
        ("producing", None, 0.0), ("unknown", "bad quality", 10.0)]


def test_refusals_reach_prometheus_by_reason() -> None:
    from prometheus_client import generate_latest

    from lineside.engine.core import EngineStats
    from lineside.runtime.metrics import AgentMetrics

    m = AgentMetrics()
    m.update_engine(EngineStats(refused_out_of_range=3, refused_text_too_long=1))
    m.update_engine(EngineStats(refused_out_of_range=5, refused_text_too_long=1))
    text = generate_latest(m.registry).decode()
    assert 'lineside_engine_samples_refused_total{reason="out_of_range"} 5.0' in text
    assert 'lineside_engine_samples_refused_total{reason="text_too_long"} 1.0' in text
    assert 'lineside_engine_samples_refused_total{reason="non_finite"} 0.0' in text


def test_a_good_read_without_a_value_is_refused_on_a_role_never_read() -> None:
    # M1's state is known from `running`; a GOOD `fault` read of null (never read
    # before, so its stored value is None too) is refused like any null.
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying",
                                    "machines": [machine("M1", "running", "fault")]}]}
    eng = Engine(cfg([line], [shift("A", "06:00-07:00")]), at("06:00"))
    eng.feed([Sample("M1.running", True, Quality.GOOD, at("06:00"))])
    eng.feed([Sample("M1.fault", None, Quality.GOOD, at("06:00:01"))])
    assert eng.stats.refused_non_finite == 1
