"""Hostile sample streams through engine -> chain -> line protocol -> a real InfluxDB 1.6.

The values real PLCs send on a bad day (NaN, ±inf, 1e308, huge and negative integers,
2^64−1 state codes, long texts with newlines, counters jumping by 2^31, state changes
and values at one timestamp in any order) must never stop delivery or invent a figure
(issue 23, docs/delivery.md "Hostile values"):

- every line is accepted (no 400) and nothing stored is non-finite or beyond int64;
- no HACCP record is lost: each one the engine produced is stored, chained and
  verified, or kept in the chain's dead-letter file and named by `haccp verify`;
- what is stored is what the engine computed (every writable field, every point with a
  line), so counts are the engine's rules' and no more: no bucket counts more good units
  than the machine's ideal rate allows (× the counters' rate margin).
"""

from __future__ import annotations

import itertools
import math
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lineside.cli.haccp import check, local_chain, refused_records
from lineside.engine.core import Engine
from lineside.haccp.chain import RECORD_MEASUREMENTS, Record, record_key
from lineside.points import Point, Refusal
from lineside.samples import Quality, Sample
from lineside.sinks.chainstore import ChainStore
from lineside.sinks.lineproto import to_line
from tests.engine.plant import at, cfg, machine, shift
from tests.fixtures.influxdb import InfluxDB1

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

RATE = 60.0  # ideal units per minute
CONFIG = cfg([{"id": "L1", "stages": [{"id": "S1", "kind": "heating", "machines": [
    machine("M1", "state", "good", "temp", "recipe", rate=RATE, smap="packml")]}]}],
    [shift("A", "06:00-06:05")], metrics={"bucket_s": 10},
    ccps=[{"id": "pasteur", "kind": "pasteurization", "hazard": "pathogens survive below 72 °C",
           "machine": "M1", "signal": "temp", "unit": "°C", "critical": {"min": 72.0},
           "min_duration_s": 2, "monitoring_interval_s": 5}])
T0 = at("06:00")
# the shift outlasts the longest stream (40 polls 7 s apart: 280 s); the tick goes 100 s
# past its end, so it closes and the machine goes stale after every stream (an hour-long
# shift made each example 10x the buckets and CCP records, the same ones over and over)
SHIFT_END = at("06:05")

hostile_numbers = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 3.4e38, 2**64 - 1,
                     -(2**63), 2**63, -1, 0]),
    st.floats(min_value=60.0, max_value=90.0),
    st.integers(min_value=-(2**70), max_value=2**70))
values = {
    "state": st.one_of(st.sampled_from([6, 6, 4, 2, 11, 2**64 - 1, -1, math.nan]),
                       hostile_numbers),
    "good": st.one_of(st.integers(min_value=0, max_value=2**32 - 1),
                      st.sampled_from([2**31, 2**64 - 1, -5, math.inf])),
    "temp": st.one_of(st.floats(min_value=60.0, max_value=90.0), hostile_numbers),
    "recipe": st.one_of(st.text(max_size=30),
                        st.builds(lambda n, s: s * n, st.integers(1, 70_000),
                                  st.sampled_from(["x", "a\nb", '"\\']))),
}
# one poll: (seconds since the previous one, 0 = the same timestamp; the values read,
# in the order delivered)
poll = st.tuples(st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.0, 3.0, 7.0]),
                 st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=4).flatmap(
                     lambda names: st.tuples(*(st.tuples(st.just(n), values[n])
                                               for n in names))))


@st.composite
def streams(draw: Callable[..., Any]) -> list[Sample]:
    out: list[Sample] = []
    t = T0
    good = 0
    for dt, reads in draw(st.lists(poll, min_size=5, max_size=40)):
        t += dt
        for name, v in reads:
            if name == "good" and draw(st.booleans()):  # mostly a counter on its course
                good += draw(st.sampled_from([0, 1, 2, 2**31]))
                v = good
            q = draw(st.sampled_from([Quality.GOOD] * 5 + [Quality.BAD]))
            out.append(Sample(f"M1.{name}", v, q, t))
    return out


@pytest.fixture(scope="module")
def influx(influxdb1_factory: Callable[[], InfluxDB1]) -> InfluxDB1:
    return influxdb1_factory()  # one private server for this module's examples


_dbs = itertools.count()


def write(influx: InfluxDB1, db: str, lines: list[str]) -> None:
    body = ("\n".join(lines) + "\n").encode()
    req = urllib.request.Request(f"{influx.url}/write?db={db}&precision=ns", body,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 204
    except urllib.error.HTTPError as e:
        pytest.fail(f"InfluxDB refused the batch: {e.code} {e.read()[:500]!r}")


def stored(influx: InfluxDB1, db: str) -> list[tuple[str, dict[str, str], int, dict[str, Any]]]:
    """(measurement, tags, time ns, fields) of every point stored."""
    out = []
    for ms in influx.query("SHOW MEASUREMENTS", db):
        for (m,) in ms["values"]:
            for s in influx.query(f'SELECT * FROM "{m}" GROUP BY *', db):
                tags = {k: v for k, v in (s.get("tags") or {}).items() if v}
                for vals in s["values"]:
                    row = dict(zip(s["columns"], vals, strict=True))
                    t = row.pop("time")
                    out.append((m, tags, t, {k: v for k, v in row.items() if v is not None}))
    return out


@settings(max_examples=25, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(samples=streams())
def test_hostile_streams_are_delivered_whole_and_true(influx: InfluxDB1, tmp_path: Path,
                                                      samples: list[Sample]) -> None:
    state = tmp_path / f"state{next(_dbs)}"
    db = state.name
    influx.create_db(db)
    engine = Engine(CONFIG, T0)
    points = engine.feed(samples) + engine.tick(SHIFT_END + 100)  # the shift closes

    store = ChainStore(state / "haccp-chain.db")
    chain_refused: list[Refusal] = []
    try:
        linked = store.link(points, refused=chain_refused)
        store.mark_enqueued()
    finally:
        store.close()
    line_refused: list[Refusal] = []
    lines = [ln for ln in (to_line(p, line_refused) for p in linked) if ln]
    write(influx, db, lines)

    rows = stored(influx, db)
    # nothing non-finite is stored (nor could it be answered: JSON has no inf or NaN)
    for *_, fields in rows:
        assert all(math.isfinite(v) for v in fields.values() if isinstance(v, float))

    # every record: stored and chained, or in the dead-letter file and named by verify
    made = {record_key(p) for p in points if p.measurement in RECORD_MEASUREMENTS}
    refused = {record_key(r.point) for r in chain_refused}
    named = {record_key(Point(r.measurement, r.tags, {}, r.ts_ns))
             for r, _ in refused_records(state)}
    assert named == refused
    records = [Record(m, tags, fields, t) for m, tags, t, fields in rows
               if m in RECORD_MEASUREMENTS]
    kept = {record_key(Point(r.measurement, r.tags, {}, r.ts_ns)) for r in records}
    assert kept | refused == made, "a record was lost"
    assert not kept & refused
    if records:
        verdict = check(records, local_chain(state))
        assert verdict.ok, verdict

    # what is stored is what the engine computed (minus what a stage left out); points
    # of one series and timestamp are one point, its fields merged in order (InfluxDB)
    left_out = {(id(r.point), r.field) for r in line_refused}
    expected: dict[tuple[Any, ...], dict[str, Any]] = {}
    for p in linked:
        if (id(p), None) in left_out:
            continue
        key = (p.measurement, p.ts_ns, tuple(sorted((k, v) for k, v in p.tags.items() if v)))
        for k, v in p.fields.items():
            if v is not None and (id(p), k) not in left_out:
                expected.setdefault(key, {})[k] = (v.replace("\n", "\\n")  # the one rewrite
                                                   if isinstance(v, str) else v)
    got = {(m, t, tuple(sorted(tags.items()))): fields for m, tags, t, fields in rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        back = {k: float(v) if isinstance(want.get(k), float) and isinstance(v, int) else v
                for k, v in got[key].items()}  # InfluxDB answers 4.0 as 4
        assert back == want, key

    # no figure invented: no more good units than the ideal rate allows over the stream
    margin = CONFIG.lines[0].stages[0].machines[0].counters.rate_margin
    good = sum(p.fields.get("good_count", 0) for p in points
               if p.measurement == "oee" and p.tags.get("level") == "machine")
    assert good <= RATE / 60 * (samples[-1].ts - T0) * margin + 1
