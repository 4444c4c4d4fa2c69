"""Health tells the truth about delivery (issue 23; runtime/probes.py, sinks/health.py).

`/readyz` is unready when, and only when, delivery stops: a queue that fails repeatedly
(its batches are set aside in the sink's dead-letter file, not lost) makes it 503, and
`/healthz` follows once the failure has lasted `STOPPED_S` (so the watchdog stops
pinging and systemd restarts the agent); a server that is down, or refuses a batch,
does not (the queue holds the points and delivery resumes by itself).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from lineside.cli.haccp import refused_records
from lineside.config.models import LinesideConfig
from lineside.drivers.base import DriverStats
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.runtime.hub import Agent, AgentOptions
from lineside.runtime.metrics import AgentMetrics
from lineside.sinks.health import STOPPED_S, UNREADY_FAILURES
from lineside.sinks.sinkset import SinkSet
from tests.e2e.agent_proc import demo_data
from tests.fixtures.common import free_port

T0 = 1_796_018_400_000_000_000


def signal(i: int) -> Point:
    return Point("signal", {"machine": "m1", "signal": "temp"}, {"value": 20.0 + i},
                 T0 + i * 1_000_000_000)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def agent_with(tmp_path: Path, sinks: list[dict[str, Any]]) -> tuple[Agent, Clock]:
    cfg = LinesideConfig.model_validate(demo_data(tmp_path, 1, 2, sinks))
    # stop() drains for at most 0.2 s: the servers here are down (the default 10 s is
    # a shutdown's deadline, not what these tests look at; a local queue drains at once)
    a = Agent(cfg, options=AgentOptions(http=False, flush_timeout_s=0.2))
    sinkset = SinkSet(cfg.sinks, Path(cfg.state_dir))
    clock = Clock()
    sinkset.health.clock = clock
    a.wire(sinkset, Engine(cfg, time.time()))
    a.metrics = AgentMetrics()
    a.metrics.register(cfg)
    for d in cfg.devices:  # every device polled just now: only delivery can be unready
        a.metrics.observe_poll(d.id, 0.01, DriverStats())
    return a, clock


def probes(a: Agent) -> tuple[bool, dict[str, Any], str]:
    ready = a._readiness()
    return ready["ready"], ready["checks"]["delivery"], a._liveness()["status"]


async def test_a_queue_that_keeps_failing_makes_it_unready_then_not_alive_and_back(
        tmp_path: Path) -> None:
    a, clock = agent_with(tmp_path, [{"id": "keep", "type": "local"}])
    assert a.delivery is not None and a.sinks is not None
    a.delivery.deliver([signal(0)])
    assert probes(a) == (True, {"ok": True, "failing": {}}, "ok")

    q = a.sinks.sinks["keep"].queue
    good = q._db
    broken = sqlite3.connect(":memory:", check_same_thread=False)
    broken.close()  # a queue whose connection is gone: not a disk refusal, not held
    q._db = broken
    for i in range(1, UNREADY_FAILURES + 1):
        ready, delivery, live = probes(a)
        assert (ready, delivery["ok"], live) == (True, True, "ok")  # a failure or two
        a.delivery.deliver([signal(i)])
        clock.t += 1
    ready, delivery, live = probes(a)
    assert not ready and not delivery["ok"] and live == "ok"
    assert delivery["failing"]["queue keep"]["failures"] == UNREADY_FAILURES
    assert "closed database" in delivery["failing"]["queue keep"]["last_error"]

    clock.t += STOPPED_S
    a.delivery.deliver([signal(9)])
    live_body = a._liveness()
    assert live_body["status"] == "delivery stopped"
    assert "queue keep" in live_body["delivery_stopped"]

    # every point the queue refused is in the sink's dead-letter file, as line protocol
    dead = (Path(a.cfg.state_dir) / "dead-keep.lp").read_text().splitlines()
    assert [ln for ln in dead if not ln.startswith("#")] == [
        f"signal,machine=m1,signal=temp value={20 + i} {signal(i).ts_ns}"
        for i in (1, 2, 3, 9)]
    notes = [ln for ln in dead if ln.startswith("#")]
    assert notes and all("status=queue" in ln for ln in notes), dead  # said why, each time
    assert a.metrics is not None
    a.metrics.update_sinks(a.sinks.stats())
    assert a.metrics.registry.get_sample_value("lineside_sink_points_set_aside_total",
                                               {"sink": "keep"}) == 4

    q._db = good  # the queue works again: ready and alive with the next delivery
    a.delivery.deliver([signal(10)])
    assert probes(a) == (True, {"ok": True, "failing": {}}, "ok")
    await a.stop()


@pytest.mark.timeout(60)
async def test_a_server_that_is_down_or_refuses_keeps_it_ready(tmp_path: Path) -> None:
    """Only when delivery stops: an InfluxDB outage is the queue's job (it holds the
    points; lineside_sink_up says so), never a reason for a restart."""
    down = f"http://127.0.0.1:{free_port()}"
    a, clock = agent_with(tmp_path, [{"id": "plant", "type": "influxdb-v1", "url": down,
                                      "database": "x", "flush_interval_s": 0.1,
                                      "max_retry_delay_s": 0.2}])
    assert a.sinks is not None and a.delivery is not None
    task = asyncio.create_task(a.sinks.run())
    a._sink_task = task
    try:
        for i in range(20):  # 200 s of the health clock, past STOPPED_S, while it is down
            a.delivery.deliver([signal(i)])
            await asyncio.sleep(0.05)
            clock.t += 10
        deadline = time.monotonic() + 10  # retries every 0.1-0.2 s: about 1 s for three
        while a.sinks.stats()["plant"].retried < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stats = a.sinks.stats()["plant"]
        assert not stats.up and stats.retried >= 3  # the server was tried, and is down
        assert probes(a) == (True, {"ok": True, "failing": {}}, "ok")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # ... but a delivery task that ended is delivery stopped
    assert a._liveness()["status"] == "delivery stopped"
    a._sink_task = None
    await a.stop()


def record(i: int) -> Point:
    return Point("ccp", {"site": "s1", "ccp": "cold", "level": "ccp"},
                 {"span_s": 60.0, "within_s": 60.0}, T0 + i * 60_000_000_000)


async def test_a_chain_file_sqlite_cannot_use_sets_records_aside_and_the_rest_goes_on(
        tmp_path: Path) -> None:
    """A damaged chain file (not a database) used to make the start fail; now the
    agent starts, its records go to the dead-letter file (named by verify), every other
    point is queued, and the failing stage makes /readyz 503."""
    a, clock = agent_with(tmp_path, [{"id": "keep", "type": "local"}])
    assert a.delivery is not None
    state = Path(a.cfg.state_dir)
    (state / "haccp-chain.db").write_bytes(b"not a database, " * 512)
    a.delivery.start_chain()  # no exception: a failing stage
    for i in range(UNREADY_FAILURES):
        a.delivery.deliver([record(i), signal(i)])
        clock.t += 1
    ready, delivery, live = probes(a)
    assert not ready and live == "ok"
    assert "not a database" in delivery["failing"]["chain"]["last_error"]
    assert delivery["failing"]["chain"]["failures"] == UNREADY_FAILURES + 1  # (+ start)
    named = refused_records(state)
    assert [r.ts_ns for r, _ in named] == [record(i).ts_ns for i in range(UNREADY_FAILURES)]
    assert all("the chain failed: DatabaseError: file is not a database" in why
               for _, why in named)
    q = a.sinks.sinks["keep"].queue  # type: ignore[union-attr]
    assert [ln.split(" ")[0] for ln in q.peek(100).lines] == [
        "signal,machine=m1,signal=temp"] * UNREADY_FAILURES
    assert a.delivery.refusals.counts[("chain", "error")] == UNREADY_FAILURES
    await a.stop()
