"""The counting rule (engine/counters.py, docs/engine.md "Counters"), case by case.

Every case is one counter read at the times given (seconds), on a machine whose ideal
rate is `rate` units per minute, with the default margin 2: the allowance of a change is
`rate / 60 x 2 x seconds since the last change` plus at most one unit left over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from lineside.engine.core import EngineStats
from lineside.engine.counters import Counter


@dataclass
class CCase:
    name: str
    bits: int
    rate: float  # units per minute
    reads: list[tuple[float, int]]
    units: int
    stats: dict[str, int] = field(default_factory=dict)
    incr: bool = False


CASES = [
    CCase("a rise counts as it is", 32, 60, [(0, 100), (10, 110)], 10),
    CCase("uint16 wrap: 65530 -> 4 is 65536 - 65530 + 4 = 10 units", 16, 60,
          [(0, 65530), (5, 4)], 10,
          {"counter_rollovers": 1}),
    # int16 read as signed: -32768 & 0xFFFF = 32768, one above 32767: a plain rise.
    CCase("int16 32767 -> -32768 is one unit", 16, 60, [(0, 32767), (1, -32768)], 1,
          {"counter_rollovers": 0}),
    # -1 & 0xFFFF = 65535 -> 0 wraps: 0 + 65536 - 65535 = 1 unit; then 0 -> 2.
    CCase("int16 -1 -> 0 -> 2 is three units", 16, 60, [(0, -1), (1, 0), (2, 2)], 3,
          {"counter_rollovers": 1}),
    CCase("int32 2147483647 -> -2147483648 is one unit", 32, 60,
          [(0, 2**31 - 1), (1, -2**31)], 1),
    CCase("uint64 wrap", 64, 60, [(0, 2**64 - 2), (2, 1)], 3, {"counter_rollovers": 1}),
    # The PLC computes good = total - reject and updates reject first: 1,000,000 ->
    # 999,999 (dip: nothing) -> 1,000,001 (2 above the reading, 1 above the mark).
    CCase("PLC-computed good dips by one", 32, 60,
          [(0, 1_000_000), (1, 999_999), (2, 1_000_001)], 1, {"counter_dips": 1}),
    CCase("dip, climbing back, passing the mark", 32, 60,
          [(0, 500), (1, 490), (2, 495), (3, 500), (5, 503)], 3, {"counter_dips": 1}),
    # 16-bit reset from 50,000 to 0 then 5 units in 4 s (allowance 1 + 4 x 2 = 9):
    # a reset adds the new value; the old rule read it as a rollover (+15,541).
    CCase("16-bit reset from above 49,152", 16, 60, [(0, 50_000), (4, 5)], 5,
          {"counter_resets": 1, "counter_rollovers": 0}),
    CCase("reset to zero then counting on", 32, 60, [(0, 5500), (30, 0), (600, 480)], 480,
          {"counter_resets": 1}),
    # 10 s at 60/min x 2 = 20 units + 1 left over = 21 allowed; 1000 read: 979 excess.
    CCase("a jump beyond the ideal rate is capped and flagged", 32, 60,
          [(0, 0), (10, 1000)], 21, {"counter_excess": 1, "counter_excess_units": 979}),
    # Correction 10,000 -> 9,000 after 5 s (allowance 11): neither wrap nor restart, a
    # dip: nothing. 9,005 is a dip from the mark 10,000 but 5 above the dipped value
    # (allowance 1 + 2 x 5 = 11): counted from there; then 10 more from 9,005.
    CCase("a correction, then counting on from it", 32, 60,
          [(0, 10_000), (5, 9_000), (10, 9_005), (15, 9_015)], 15,
          {"counter_dips": 1, "counter_resets": 0}),
    # Two corrections: 9,000 then 8,000 (a dip from both baselines: the second dip is the
    # new alternative); 8,006 four seconds later is 6 above it (allowance 1 + 8).
    CCase("two corrections, counting on from the last", 32, 60,
          [(0, 10_000), (5, 9_000), (6, 8_000), (10, 8_006)], 6, {"counter_dips": 2}),
    # A glitch of 2^31 (issue 23): at 1 s the allowance 1 + 2 = 3 counts, 2^31 - 3 are
    # excess. 1001 at 2 s is a dip from the glitch but 1 above the old course 1000
    # (allowance 0 + 2): counted; then +1 from 1001. The old rule stayed at 0 for ever.
    CCase("a glitch of 2^31 and back to the true course", 32, 60,
          [(0, 1000), (1, 1000 + 2**31), (2, 1001), (3, 1002)], 3 + 1 + 1,
          {"counter_excess": 1, "counter_excess_units": 2**31 - 3, "counter_dips": 0}),
    # A garbage read below (17: neither a wrap nor a restart within 3 units): a dip; the
    # next read is 2 above the baseline 5000 (allowance 1 + 2), counted from it.
    CCase("a garbage read below, then the true course", 32, 60,
          [(0, 5000), (1, 17), (2, 5002)], 2, {"counter_dips": 1}),
    # The price (docs/engine.md): good = total - reject dipping by 2 and climbing back
    # in two reads counts its way back up: 998 -> 999 -> 1000 add 2 the old rule did not.
    CCase("a dip of two climbing back in two reads", 32, 60,
          [(0, 1000), (1, 998), (2, 999), (3, 1000), (4, 1001)], 3, {"counter_dips": 1}),
    # Slow machine, 2 units/min: the one left-over unit lets a reset seen at 1 count.
    CCase("slow machine reset seen at one", 32, 2, [(0, 300), (40, 301), (41, 1)], 2,
          {"counter_resets": 1}),
    # Link down for an hour: the units made meanwhile arrive at once, within allowance.
    CCase("an hour without reads", 32, 60, [(0, 100), (3600, 3700)], 3600),
    # Increment mode: the first read has no elapsed time (1 unit allowed, none left);
    # at 2 s: 4 allowed, 2 added, 1 left over; at 4 s (0 at 3 s is no change): 1 + 4.
    CCase("increment mode adds each value", 32, 60, [(0, 1), (2, 2), (3, 0), (4, 2)], 5,
          incr=True),
    CCase("increment mode caps too", 32, 60, [(0, 1), (1, 50)], 3,
          {"counter_excess_units": 48}, incr=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_counting_rule(case: CCase) -> None:
    st = EngineStats()
    c = Counter(case.bits, case.rate / 60.0 * 2.0, case.incr)
    units = sum(c.step(v, t, st) for t, v in case.reads)
    assert units == case.units
    for k, v in case.stats.items():
        assert getattr(st, k) == v, k


WIDTHS = [(8, False), (16, False), (16, True), (32, False), (32, True), (64, False),
          (64, True)]


@settings(max_examples=200, deadline=None)
@given(wb=hs.sampled_from(WIDTHS), start_below=hs.integers(1, 50), after=hs.integers(0, 50))
def test_a_wrap_at_every_width_and_signedness_is_exact(wb: tuple[int, bool], start_below: int,
                                                       after: int) -> None:
    bits, signed = wb
    mod = 1 << bits

    def as_plc(u: int) -> int:  # the value a driver hands over for that register
        u %= mod
        return u - mod if signed and u >= mod >> 1 else u

    # Counter `start_below` units short of the wrap, then `start_below + after` units.
    st = EngineStats()
    c = Counter(bits, per_s=1000.0)
    first = mod - start_below
    assert c.step(as_plc(first), 0.0, st) == 0
    assert c.step(as_plc(first + start_below + after), 1.0, st) == start_below + after
    assert st.counter_dips == st.counter_resets == st.counter_excess == 0


@settings(max_examples=300, deadline=None)
@given(bits=hs.sampled_from([16, 32]), rate=hs.floats(0.5, 600),
       reads=hs.lists(hs.tuples(hs.floats(0.0, 120.0), hs.integers(-2**40, 2**40)),
                      min_size=1, max_size=40))
def test_counted_units_never_exceed_what_the_ideal_rate_allows(
        bits: int, rate: float, reads: list[tuple[float, int]]) -> None:
    # Whatever the PLC shows (wraps, resets, garbage), over any run the units added are
    # at most one left-over unit plus ideal rate x margin x the time the run spans.
    per_s = rate / 60.0 * 2.0
    st = EngineStats()
    c = Counter(bits, per_s)
    t = 0.0
    first_t: float | None = None
    total = 0
    for dt_, v in reads:
        t += dt_
        total += c.step(v, t, st)
        first_t = t if first_t is None else first_t
        assert total <= 1 + per_s * (t - first_t) + 1e-9


@settings(max_examples=300, deadline=None)
@given(rate=hs.integers(6, 600), bits=hs.sampled_from([16, 32, 64]),
       steps=hs.lists(hs.tuples(hs.integers(1, 10), hs.floats(0, 1), hs.booleans(),
                                hs.integers(0, 2**64)), min_size=3, max_size=60))
def test_counting_resumes_after_any_glitch(rate: int, bits: int,
                                           steps: list[tuple[int, float, bool, int]]) -> None:
    """A counter on its true course (never faster than the allowance) with single reads
    of garbage in it: every true read whose two reads before were true adds exactly the
    units made since the one before. The re-baseline rule of docs/engine.md."""
    per_s = rate / 60.0 * 2.0
    st = EngineStats()
    c = Counter(bits, per_s)
    mod = 1 << bits
    t, true = 0, 1000
    kinds: list[bool] = []  # True where a read is garbage
    c.step(true, 0.0, st)
    for dt_, share, glitch, junk in steps:
        t += dt_
        inc = int(share * per_s * dt_)  # at most what the allowance gives
        true += inc
        glitch = glitch and len(kinds) >= 2 and not any(kinds[-2:])
        g = (true + 10**6 + junk) % mod  # far from the course (or a restart near 0)
        added = c.step(g if glitch else true % mod, float(t), st)
        if not glitch and len(kinds) >= 2 and not any(kinds[-2:]):
            assert added == inc, (t, true, added, inc)
        kinds.append(glitch)


def test_widths_learned_from_opcua_datatypes_reach_the_engine_as_data() -> None:
    # An OPC UA counter has no declared type: the width the driver read at connect
    # (UInt16) is handed to the engine; a Modbus counter keeps its declared uint32.
    from lineside.engine.core import Engine
    from lineside.samples import Quality, Sample
    from tests.engine.plant import at, cfg, pick, shift

    def line(mid: str, source: str, good: dict) -> dict:
        return {"id": f"L{mid}", "stages": [{"id": f"S{mid}", "kind": "frying", "machines": [
            {"id": mid, "automation": "automatic", "ideal_rate": 60, "source": source,
             "signals": {"running": {**good, **({"node": f"ns=2;s={mid}.Run"}
                                                if "node" in good else {"address": 9,
                                                                        "type": "bool"})},
                         "good": good}}]}]}

    c = cfg([line("UA", "opc1", {"node": "ns=2;s=UA.Good"}),
             line("MB", "plc1", {"address": 0, "type": "uint32"})],
            [shift("A", "06:00-06:10")],
            devices=[{"id": "plc1", "type": "modbus-tcp", "host": "127.0.0.1"},
                     {"id": "opc1", "type": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840",
                      "mode": "poll"}])
    eng = Engine(c, at("06:00"))
    eng.learn_counter_bits({"UA.good": 16, "MB.good": 16, "UA.running": 8})
    pts = []
    for i, (ua_v, mb_v) in enumerate([(65_530, 4_294_967_290), (4, 4), (14, 14)]):
        t = at("06:00") + 5 * i
        pts += eng.feed([Sample(k, v, Quality.GOOD, t) for k, v in (
            ("UA.running", True), ("UA.good", ua_v), ("MB.running", True), ("MB.good", mb_v))])
    pts += eng.tick(at("06:10"))
    ua_f = pick(pts, "oee_shift", machine="UA")[0].fields
    mb_f = pick(pts, "oee_shift", machine="MB")[0].fields
    # UInt16: 65530 -> 4 wraps, 10 units, then +10; uint32: 4294967290 -> 4 wraps at
    # 2^32 (the learned 16 does not override a declared type). 5 s apart: 11 allowed.
    assert ua_f["good_count"] == 10 + 10
    assert mb_f["good_count"] == 10 + 10
    assert eng.stats.counter_rollovers == 2
