"""Properties that hold for any sample sequence (hypothesis).

- the durations of every bucket add up to its scheduled time;
- OEE = A x P x Q wherever all three exist (one ideal rate per machine here);
- summing the bucket points of a shift gives the shift's totals;
- replaying a log twice gives identical points;
- splitting a log anywhere and resuming from a JSON snapshot gives identical points.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineside.engine.fields import INT_FIELDS, PARTITION, VEC_FIELDS
from lineside.samples import Quality, Sample
from tests.engine.plant import at, cfg, machine, run_split, shift

CFG = cfg(
    [{"id": "L1", "stages": [
        {"id": "fry", "kind": "frying", "machines": [
            machine("A", "running", "fault", "starved", "auto_mode", "good", "reject",
                    counters={"bits": 16}),
            machine("B", "running", "fault", "mode", "good", "total"),
        ]},
        {"id": "pack", "kind": "packaging", "machines": [
            machine("C", "state", "good", "reject", "temp", smap="packml",
                    automation="mechanized"),
        ]},
        {"id": "peel", "kind": "peeling", "manual": True},
    ]}],
    [shift("A", "06:00-06:30", ("06:10-06:12",)), shift("B", "06:30-07:00")],
    calendar={"planned_downtime": [{"start": "06:40", "end": "06:45"}]},
    metrics={"small_stop_threshold_s": 30, "stale_after_s": 15},
)
T0 = at("05:57")
T_END = at("07:05")

_values = {
    "running": st.sampled_from([True, True, True, False]),
    "fault": st.sampled_from([False] * 4 + [True]),
    "starved": st.sampled_from([False] * 4 + [True]),
    "auto_mode": st.booleans(), "mode": st.sampled_from([1, 1, 1, 2, 4, 5]),
    "state": st.sampled_from([6, 6, 6, 6, 4, 5, 11, 2, 0]),
    "temp": st.floats(150, 190, allow_nan=False),
}
_keys = [("A", "running"), ("A", "fault"), ("A", "starved"), ("A", "auto_mode"),
         ("A", "good"), ("A", "reject"), ("B", "running"), ("B", "fault"), ("B", "mode"),
         ("B", "good"), ("B", "total"), ("C", "state"), ("C", "good"), ("C", "reject"),
         ("C", "temp")]

_QUALITY = [Quality.GOOD] * 12 + [Quality.UNCERTAIN, Quality.BAD]
_QC = st.integers(0, 14 * 4 - 1)
_COUNT = st.integers(0, 41 * 61 - 1)


@st.composite
def logs(draw: Any) -> list[Sample]:
    """Polls: every signal read at one instant, some of them changed."""
    n = draw(st.integers(1, 60))
    t = T0
    last: dict[str, Any] = {}
    out: list[Sample] = []
    for _ in range(n):
        t += draw(st.sampled_from([1, 1, 2, 3, 5, 8, 13, 30, 120, 600]))
        if t >= T_END:
            break
        for mid, name in _keys:
            key = f"{mid}.{name}"
            # one draw for the quality (1 in 14 uncertain, 1 in 14 bad) and whether the
            # value changes (1 in 4): hypothesis's draws were most of this test's time
            x = draw(_QC)
            q = _QUALITY[x % 14]
            change = key not in last or x // 14 == 0
            if name in ("good", "reject", "total"):
                c = last.get(key, 65400 if mid == "A" else 0)
                if change:  # 1 in 41 a reset, else up by 0..60
                    d = draw(_COUNT)
                    c = 0 if d % 41 == 0 else c + d // 41
                last[key] = c
                v: Any = c % 65536 if mid == "A" else c
            else:
                v = draw(_values[name]) if change else last[key]
                last[key] = v
            out.append(Sample(key, None if q is Quality.BAD else v, q, float(t)))
    return out


def _run(samples: list[Sample], split: int | None = None, tick_mid: bool = False) -> list[Any]:
    return run_split(CFG, T0, samples, T_END + 600, split, tick_mid)


def _key(p: Any) -> tuple[Any, ...]:
    return (p.measurement, tuple(sorted(p.tags.items())), tuple(sorted(p.fields.items())),
            p.ts_ns)


SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(logs())
def test_durations_add_up_and_oee_is_a_p_q(samples: list[Sample]) -> None:
    for p in _run(samples):
        if p.measurement not in ("oee", "oee_shift"):
            continue
        f = p.fields
        parts = sum(f[k] for k in PARTITION)
        assert abs(parts - f["scheduled_s"]) < 1e-4, (p.tags, f)
        assert f["planned_busy_s"] >= -1e-9
        if all(k in f for k in ("availability", "performance", "quality")):
            apq = f["availability"] * f["performance"] * f["quality"]
            assert abs(apq - f["oee"]) < 1e-9 * max(1.0, abs(apq)), (p.tags, f)
        if p.tags["level"] == "machine" and p.measurement == "oee":
            assert f["scheduled_s"] <= 60 + 1e-9


@SETTINGS
@given(logs())
def test_bucket_sums_equal_shift_totals(samples: list[Sample]) -> None:
    pts = _run(samples)
    shifts = [p for p in pts if p.measurement == "oee_shift"]
    assert {p.tags["shift"] for p in shifts} == {"A", "B"}
    for sp in shifts:
        start = sp.ts_ns
        end = int(at("06:30" if sp.tags["shift"] == "A" else "07:00")) * 10**9
        ent = {k: v for k, v in sp.tags.items() if k not in ("shift", "shift_date")}
        buckets = [p for p in pts if p.measurement == "oee" and dict(p.tags) == ent
                   and start <= p.ts_ns < end]
        assert len(buckets) == 30
        for name in VEC_FIELDS:
            total = sum(b.fields[name] for b in buckets)
            if name in INT_FIELDS:
                assert total == sp.fields[name], (ent, name)
            else:
                assert abs(total - sp.fields[name]) < 1e-4, (ent, name)


@settings(SETTINGS, max_examples=15)
@given(logs())
def test_replay_twice_is_identical(samples: list[Sample]) -> None:
    a, b = _run(samples), _run(samples)
    assert [_key(p) for p in a] == [_key(p) for p in b]


@SETTINGS
@given(logs(), st.floats(0, 1), st.booleans())
def test_split_and_resume_from_snapshot(samples: list[Sample], where: float,
                                        tick_mid: bool) -> None:
    split = int(where * len(samples))
    whole = _run(samples)
    resumed = _run(samples, split, tick_mid)
    if tick_mid:  # a tick may emit the same points earlier: compare as multisets
        assert sorted(map(_key, whole)) == sorted(map(_key, resumed))
    else:
        assert [_key(p) for p in whole] == [_key(p) for p in resumed]
