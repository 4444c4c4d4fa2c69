"""SinkSet-level behaviour: full queue stats, flush deadline, export of the local store."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from lineside.cli.export import add_arguments, run
from lineside.points import Point, Refusal
from lineside.sinks.lineproto import to_lines
from lineside.sinks.settings import QueueConfig
from lineside.sinks.sinkset import SinkSet
from tests.fixtures.common import free_port
from tests.fixtures.influxdb import Standin
from tests.sinks.helpers import assert_once, local, plant_points, v1

pytestmark = pytest.mark.timeout(60)


async def test_full_queue_drops_oldest_and_reports_per_measurement(tmp_path: Path) -> None:
    down = v1(f"http://127.0.0.1:{free_port()}", tmp_path,
              queue=QueueConfig(max_bytes=1 << 18))
    sinks = SinkSet([down], tmp_path)
    pts = plant_points(6000)
    for k in range(0, 6000, 500):
        sinks.enqueue(pts[k:k + 500])
    st = sinks.stats()["plant"]
    assert st.queue_bytes <= 1 << 18
    assert set(st.dropped) == {"oee", "machine_state", "signal"}
    assert sum(st.dropped.values()) + st.queue_points == 6000
    kept = sinks.sinks["plant"].queue.peek(10_000).lines
    assert kept == to_lines(pts)[-len(kept):], "the newest survive, in order"
    await sinks.close()


async def test_flush_respects_its_deadline_while_the_server_is_down(tmp_path: Path) -> None:
    # a first retry delay of 5 s (jitter: 2.5-5 s): after the first failed attempt the
    # run loop holds the sink through a multi-second backoff at once, no need to wait
    # for the doubling to get there
    sinks = SinkSet([v1(f"http://127.0.0.1:{free_port()}", tmp_path, min_retry_delay_s=5,
                        max_retry_delay_s=30)], tmp_path)
    task = asyncio.create_task(sinks.run())
    sinks.enqueue(plant_points(10))
    deadline = time.monotonic() + 10
    while not sinks.stats()["plant"].retried and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert sinks.stats()["plant"].retried == 1, "one failed attempt, then the backoff"
    t = time.monotonic()
    assert not await sinks.flush(0.5)
    assert time.monotonic() - t < 1.5
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sinks.close()


async def test_run_and_flush_never_send_a_point_twice(http_standin: Standin,
                                                      tmp_path: Path) -> None:
    sinks = SinkSet([v1(http_standin.url, tmp_path, batch_size=100)], tmp_path)
    task = asyncio.create_task(sinks.run())
    pts = plant_points(3000)
    for k in range(0, 3000, 300):
        sinks.enqueue(pts[k:k + 300])
        await asyncio.sleep(0)
    assert await sinks.flush(10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sinks.close()
    assert_once(http_standin.lines(), to_lines(pts))


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


async def test_export_local_store_with_and_without_keep(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    sinks = SinkSet([local()], tmp_path)
    pts = plant_points(2500)
    sinks.enqueue(pts)
    await sinks.close()
    out = tmp_path / "points.lp"
    assert run(_args("--state-dir", str(tmp_path), "-o", str(out), "--keep")) == 0
    assert out.read_text().splitlines() == to_lines(pts)
    assert SinkSet([local()], tmp_path).stats()["local"].queue_points == 2500
    capfd.readouterr()
    assert run(_args("--queue", str(tmp_path / "queue-local.db"))) == 0
    cap = capfd.readouterr()
    assert cap.out.splitlines() == to_lines(pts)
    assert "2500 points" in cap.err and "removed" in cap.err
    assert SinkSet([local()], tmp_path).stats()["local"].queue_points == 0


def test_export_missing_queue_is_an_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args("--queue", str(tmp_path / "nope.db"))) == 1
    assert "no queue file" in capsys.readouterr().err


async def test_hostile_values_leave_the_queue_whole_and_are_reported_once(
        tmp_path: Path) -> None:
    """A text with a newline used to make the queue read its own chunk as damaged and move
    the file aside; an out-of-range integer went in as a line InfluxDB refuses."""
    sinks = SinkSet([local(id="keep")], tmp_path)
    pts = [Point("signal", {"signal": "recipe"}, {"text": "beef\nstew"}, 1),
           Point("machine_state", {"machine": "m1"}, {"state": "idle", "code": 2**64 - 1}, 2),
           Point("signal", {"signal": "t"}, {"value": float("nan")}, 3),
           Point("signal", {"signal": "t"}, {"value": 4.5}, 4)]
    refused: list[Refusal] = []
    sinks.enqueue(pts, refused=refused)
    sinks.enqueue(pts[3:])
    q = sinks.sinks["keep"].queue
    assert q.peek(10).lines == ['signal,signal=recipe text="beef\\nstew" 1',
                                'machine_state,machine=m1 state="idle" 2',
                                "signal,signal=t value=4.5 4", "signal,signal=t value=4.5 4"]
    assert not q.quarantined
    assert [(r.point.ts_ns, r.field, r.reason) for r in refused] == [
        (2, "code", "int_range"), (3, "value", "non_finite")]
    await sinks.close()
