"""Against a real VictoriaMetrics through influxdb-client's v2 write API (/api/v2/write).

VictoriaMetrics keeps numbers only (`<measurement>_<field>` series, bool as 0/1, a
string as 0) at millisecond precision; the comparison below maps the expected points the
same way and compares every value of every series.

The outage lasts LINESIDE_TEST_OUTAGE_S seconds (default 4, as in test_influxdb1.py: with
retries capped at 0.5 s that is the steady state of capped retries and a queue of two
batches and more; a longer outage adds more of the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lineside.points import Point
from lineside.sinks.sinkset import SinkSet
from tests.fixtures.influxdb import VictoriaMetrics
from tests.sinks.helpers import plant_points, v2

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

OUTAGE_S = float(os.environ.get("LINESIDE_TEST_OUTAGE_S", "4"))


def vm_expected(points: list[Point]) -> dict[tuple, dict[int, float]]:
    out: dict[tuple, dict[int, float]] = {}
    for p in points:
        for f, v in p.fields.items():
            key = (f"{p.measurement}_{f}", tuple(sorted(p.tags.items())))
            num = 0.0 if isinstance(v, str) else float(v)
            out.setdefault(key, {})[p.ts_ns // 1_000_000] = num
    return out


def vm_stored(vm: VictoriaMetrics) -> tuple[dict[tuple, dict[int, float]], int]:
    out: dict[tuple, dict[int, float]] = {}
    n = 0
    for s in vm.export('{__name__=~"(oee|machine_state|signal)_.*"}'):
        labels = dict(s["metric"])
        name = labels.pop("__name__")
        n += len(s["values"])
        out[(name, tuple(sorted(labels.items())))] = dict(
            zip(s["timestamps"], map(float, s["values"]), strict=True))
    return out, n


async def test_outage_then_every_value_exactly_once(
        victoria_metrics_factory: Callable[[], VictoriaMetrics], tmp_path: Path) -> None:
    vm = victoria_metrics_factory()
    now_ms = time.time_ns() // 1_000_000 - 3_600_000
    sinks = SinkSet([v2(vm.url, tmp_path, batch_size=2000, max_retry_delay_s=0.5)], tmp_path)
    runner = asyncio.create_task(sinks.run())
    produced: list[Point] = []

    async def produce(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pts = plant_points(50, start=len(produced), base_ns=now_ms * 1_000_000)
            sinks.enqueue(pts)
            produced.extend(pts)
            await asyncio.sleep(0.05)

    seen_down = 0
    try:
        # half a second of normal delivery before the outage and after it: a few
        # batches each way at ~1000 points/s (the outage is what the test is about)
        await produce(0.5)
        vm.stop()  # SIGTERM: VM flushes what it acknowledged (SIGKILL may lose ~1 s of it)
        t_down = time.monotonic()
        while time.monotonic() - t_down < OUTAGE_S:
            await produce(0.5)
            seen_down += not sinks.stats()["v2"].up
        vm.start()
        await produce(0.5)
        assert await sinks.flush(30)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await sinks.close()
    st = sinks.stats()["v2"]
    assert seen_down > 0 and st.retried > 0 and st.queue_points == 0 and st.dead_lettered == 0
    exp = vm_expected(produced)
    got, n = vm_stored(vm)
    assert n == sum(len(v) for v in exp.values()), "no value missing, none twice"
    assert got.keys() == exp.keys()
    # VictoriaMetrics stores floats as decimals with ~12-15 significant digits.
    diffs = [(k, t) for k in exp for t in exp[k]
             if t not in got[k] or not math.isclose(exp[k][t], got[k][t], rel_tol=1e-11)]
    assert not diffs, [(k, t, exp[k][t], got[k].get(t)) for k, t in diffs[:3]]
