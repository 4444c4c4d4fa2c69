"""Hostile sample streams through the engine (issue 23): whatever the PLCs send, every
point is storable and every count is what the rules give.

The streams mix plausible values with NaN, +-inf, 1e308, float32 max, huge and
negative integers, 2^64-1 codes, long and numeric texts, counters jumping by 2^31,
polls sharing a timestamp (below the microsecond) and signals of one poll in any order.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineside.engine.core import Engine
from lineside.engine.counters import Counter
from lineside.samples import Quality, Sample
from tests.engine.plant import at, cfg, machine, pick

INT64 = (-(2**63), 2**63 - 1)
INF, NAN = math.inf, math.nan

CFG = cfg(
    [{"id": "L1", "stages": [{"id": "S1", "kind": "heating", "machines": [
        machine("M1", "state", "good", "temp", "label", smap="packml",
                counters={"bits": 32}),
        machine("M2", "running", "fault", "mode", "reject", counters={"bits": 16}),
    ]}]}],
    ccps=[{"id": "past", "kind": "pasteurization", "hazard": "pathogens", "machine": "M1",
           "signal": "temp", "unit": "°C", "critical": {"min": 72.0}, "applies": "producing",
           "min_duration_s": 0, "monitoring_interval_s": 30}],
    metrics={"stale_after_s": 60},
)
T0 = at("06:00") + 0.8474337369372327  # below the microsecond, as time.time() gives

CODES_BAD: list[Any] = [NAN, INF, -INF, 1e308, 2**64 - 1, -(2**63), "9" * 30, "S" * 300, None]
# (plausible values, hostile values) per signal; hostile ones are refused every time
POOLS: dict[str, tuple[list[Any], list[Any]]] = {
    "M1.state": ([6, 6, 6, 4, 5, 11, 2, 0, 6.0, "6"], CODES_BAD),
    "M1.temp": ([60.0, 71.9, 72.0, 73.5, 80.0, 75], [NAN, INF, -INF, 1e308, 3.4028235e38,
                                                      -1e13, 10**30, None]),
    "M1.label": (["batch 7", "", "lot-12"], ["x" * 300, "y" * 5000, None]),
    "M2.running": ([True, False, 1, 0], [NAN, 1e308, None]),
    "M2.fault": ([False, False, True], [INF, "F" * 257]),
    "M2.mode": ([1, 1, 3, "Production", "manual"], CODES_BAD),
    "M1.good": ([], [NAN, INF, 1e308, 2**64 - 1, -(2**40), "lots", "1" * 300, None]),
    "M2.reject": ([], [NAN, -INF, 2**16, -(2**15) - 1, "many", None]),
}
COUNTERS = {"M1.good": (32, 60 / 60 * 2), "M2.reject": (16, 60 / 60 * 2)}  # bits, per_s


@st.composite
def streams(draw: Any) -> list[Sample]:
    out: list[Sample] = []
    t = T0
    course = {"M1.good": 4_000_000_000, "M2.reject": 65_000}  # near their wrap
    for _ in range(draw(st.integers(1, 40))):
        t += draw(st.sampled_from([0, 0, 1, 1, 2, 5, 40]))  # 0: a second poll, same ts
        poll: list[Sample] = []
        for key in draw(st.lists(st.sampled_from(sorted(POOLS)), min_size=1, unique=True)):
            good, bad = POOLS[key]
            q = draw(st.sampled_from([Quality.GOOD] * 6 + [Quality.UNCERTAIN, Quality.BAD]))
            if key in COUNTERS:
                bits = COUNTERS[key][0]
                step = draw(st.sampled_from([0, 1, 2, 3, 2**31, -5]))  # 2^31: a torn read
                course[key] = (course[key] + step) % (1 << bits)
                v: Any = course[key]
                if draw(st.integers(0, 4)) == 0:
                    v = draw(st.sampled_from(bad))
            elif draw(st.integers(0, 3)) == 0:
                v = draw(st.sampled_from(bad))
            else:
                v = draw(st.sampled_from(good))
            poll.append(Sample(key, None if q is Quality.BAD else v, q, t))
        out += draw(st.permutations(poll))
    return out


def _hostile(s: Sample) -> bool:
    if s.quality is Quality.BAD:
        return False
    bad = POOLS[s.signal][1]
    v = s.value
    return any(v is b or (isinstance(v, type(b)) and v == b) for b in bad) or (
        isinstance(v, float) and v != v)


def _expected_units(samples: list[Sample], key: str) -> int:
    """The counting rule alone, on the reads the plausibility rule lets through."""
    bits, per_s = COUNTERS[key]
    c = Counter(bits, per_s)
    stats = Engine(CFG, T0).stats
    return sum(c.step(int(s.value), s.ts, stats) for s in samples  # type: ignore[arg-type]
               if s.signal == key and s.quality is not Quality.BAD and not _hostile(s))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.integers(1, 8))
def test_hostile_streams_give_storable_points_and_counts_by_the_rules(
        samples: list[Sample], chunk: int) -> None:
    eng = Engine(CFG, at("06:00"))
    pts: list[Any] = []
    for i in range(0, len(samples), chunk):  # polls arrive in feeds of any size
        pts += eng.feed(samples[i:i + chunk])
    pts += eng.tick(samples[-1].ts + 3600)
    for p in pts:
        for name, v in p.fields.items():
            if isinstance(v, bool):
                continue
            if isinstance(v, int):
                assert INT64[0] <= v <= INT64[1], (p.measurement, name, v)
            elif isinstance(v, float):
                assert math.isfinite(v), (p.measurement, name, v)
            else:
                assert len(v) <= 256, (p.measurement, name, len(v))
    st_ = eng.stats
    refused = (st_.refused_non_finite + st_.refused_out_of_range + st_.refused_text_too_long
               + st_.refused_not_numeric)
    assert refused == sum(map(_hostile, samples))
    # No shifts: every second is scheduled, so every unit the rule gives is counted.
    for key, field in (("M1.good", "good_count"), ("M2.reject", "reject_count")):
        mid = key.split(".")[0]
        got = sum(p.fields[field] for p in pick(pts, "oee", level="machine", machine=mid))
        assert got == _expected_units(samples, key), key
