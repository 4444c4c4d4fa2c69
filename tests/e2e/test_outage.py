"""Delivery through outages, with the simulated factory running (issue: never lose data).

- InfluxDB away while the factory runs: afterwards every point the engine produced is in
  the database exactly once, every field equal. The issue's minute is
  LINESIDE_TEST_OUTAGE_S=60; the default 20 s closes two 10 s buckets inside the outage,
  and with the retry delay capped at 2 s the sink is in its steady retry loop after a few
  seconds, so a longer outage only adds queue (as in tests/sinks, docs/delivery.md);
- the agent SIGKILLed during an outage and restarted: every point that was queued when
  it died reaches the database.

The factory and the agent run on simulated time, SPEED times the wall clock
(runtime/clock.py): the waits for buckets and the outage are in simulated seconds; the
sink's retries and the drain are real (they are InfluxDB's).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from lineside.config.models import LinesideConfig
from lineside.points import Point
from lineside.runtime.clock import ScaledClock
from lineside.runtime.hub import Agent, AgentOptions
from lineside.simulator.server import SimulatedFactory
from lineside.sinks.queue import DiskQueue
from tests.e2e.agent_proc import (
    SimTime,
    agent_config,
    demo_data,
    http_get,
    metric,
    start_agent,
    start_simulator,
)
from tests.e2e.lineproto import database_points, parse_line, same_fields
from tests.fixtures.common import free_port, wait_for

pytestmark = [pytest.mark.server]
SPEED = 4.0
OUTAGE_S = float(os.environ.get("LINESIDE_TEST_OUTAGE_S", "20"))


def _key(p: Point) -> tuple:
    tags = frozenset((k, v) for k, v in p.tags.items() if v != "")
    return (p.measurement, tags, p.ts_ns)


@pytest.mark.timeout(300)
async def test_influxdb_away_while_the_factory_runs_loses_nothing(tmp_path: Path,
                                                       influxdb1_factory) -> None:
    influx = influxdb1_factory()
    influx.create_db("outage")
    mb, ua = free_port(), free_port()
    data = demo_data(tmp_path, mb, ua, [{
        "id": "plant", "type": "influxdb-v1", "url": influx.url, "database": "outage",
        "flush_interval_s": 0.5, "max_retry_delay_s": 2}])
    data["metrics"]["bucket_s"] = 10
    cfg = LinesideConfig.model_validate(data)
    produced: dict[tuple, dict] = {}
    clock = ScaledClock(SPEED)
    async with SimulatedFactory(cfg, seed=11, modbus_port=mb, opcua_port=ua, speed=SPEED,
                                epoch=clock.epoch, update_s=0.1 / SPEED):
        agent = Agent(cfg, options=AgentOptions(http=False, flush_timeout_s=60), clock=clock)
        agent.add_listener(lambda pts: produced.update({_key(p): dict(p.fields) for p in pts}))
        await agent.start()
        await clock.sleep(12)
        influx.stop()
        t_down = clock.monotonic()
        await clock.sleep(OUTAGE_S)
        queued = agent.sinks.stats()["plant"].queue_points
        influx.start()
        t_up = clock.monotonic()
        for _ in range(240):  # the backlog drains (new points keep coming: not to 0)
            if agent.sinks.stats()["plant"].queue_points < 100:
                break
            await asyncio.sleep(0.25)
        drained_s = (clock.monotonic() - t_up) / SPEED  # real seconds
        await agent.stop()  # flushes the rest within its deadline
        left = agent.sinks.stats()["plant"].queue_points
    assert left == 0
    assert t_up - t_down >= OUTAGE_S
    assert queued > 100, "points must have waited in the queue during the outage"
    assert drained_s < 60
    measurements = {k[0] for k in produced}
    assert {"oee", "machine_state", "automation"} <= measurements
    stored = database_points(influx, "outage", measurements)
    missing = [k for k in produced if k not in stored]
    assert not missing, f"{len(missing)} of {len(produced)} points lost, e.g. {missing[:3]}"
    assert len(stored) == len(produced)  # exactly once: nothing extra
    differ = [k for k, f in produced.items() if not same_fields(f, stored[k])]
    assert not differ, (differ[:2], [produced[k] for k in differ[:1]],
                        [stored[k] for k in differ[:1]])


@pytest.mark.timeout(300)
def test_sigkill_during_an_outage_loses_nothing_queued(tmp_path: Path,
                                                       influxdb1_factory) -> None:
    influx = influxdb1_factory()
    influx.create_db("killed")
    clock = SimTime(SPEED)
    sim, mb, ua = start_simulator(tmp_path, seed=12, env=clock.env)
    agent = None
    try:
        cfg, data = agent_config(tmp_path, mb, ua, [
            {"id": "plant", "type": "influxdb-v1", "url": influx.url, "database": "killed",
             "flush_interval_s": 0.5, "max_retry_delay_s": 1}])
        url = f"http://{data['http']['listen']}/metrics"
        agent = start_agent(tmp_path, cfg, env=clock.env)
        wait_for(lambda: (metric(http_get(url)[1], "lineside_sink_points_written_total",
                                 sink="plant") or 0) > 0, timeout=40, what="first writes")
        influx.stop()
        wait_for(lambda: (metric(http_get(url)[1], "lineside_sink_queue_points",
                                 sink="plant") or 0) > 200, timeout=60,
                 what="points queued during the outage")
        agent.signal(signal.SIGKILL)
        agent.wait(timeout=10)
        q = DiskQueue(Path(data["state_dir"]) / "queue-plant.db", 1 << 30, "batch",
                      name="plant")
        try:
            lines = [ln for chunk in q.iter_chunks()
                     for ln in chunk.decode().splitlines() if ln]
        finally:
            q.close()
        assert len(lines) > 200
        agent = start_agent(tmp_path, cfg, env=clock.env)  # the queue is picked up
        # up (its queue opened before its HTTP server) while InfluxDB is still away
        wait_for(lambda: http_get(url.replace("/metrics", "/healthz"))[0] == 200,
                 timeout=30, what="the agent restarted")
        influx.start()
        expected = dict(parse_line(ln) for ln in lines)
        measurements = {k[0] for k in expected}
        # the factory keeps producing, so wait for what was queued, not an empty queue
        # (every 2 s: each look reads the measurements back while InfluxDB takes the
        # backlog; every 0.5 s made the test slower, 16.6 s against 13.0)
        wait_for(lambda: set(expected) <= set(database_points(influx, "killed",
                                                              measurements)),
                 timeout=90, interval=2, what="the queued points in the database")
        agent.signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()
    stored = database_points(influx, "killed", measurements)
    assert expected, "no point was queued during the outage"
    missing = [k for k in expected if k not in stored]
    assert not missing, f"{len(missing)} of {len(expected)} queued points lost: {missing[:3]}"
    assert all(same_fields(f, stored[k]) for k, f in expected.items())
