"""The agent as an integrator runs it: `lineside run` against the simulated factory.

- SIGTERM: polling stops, the open bucket is closed, the queue is flushed, exit 0, and
  every point the agent made is in InfluxDB (none left queued);
- SIGHUP: an invalid file is rejected and the agent keeps running on the old one; a valid
  change is applied without a restart;
- a real Prometheus scrapes the agent: devices up, then down when the PLCs die; the queue
  grows while InfluxDB is away and drains when it returns.

Simulator and agent run on simulated time, SPEED times the wall clock (LINESIDE_CLOCK):
polls, buckets and the stored timestamps are simulated; signals and scrapes are real.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import yaml

from tests.e2e.agent_proc import (
    SimTime,
    agent_config,
    http_get,
    metric,
    start_agent,
    start_simulator,
)
from tests.fixtures.common import wait_for

pytestmark = [pytest.mark.server]
SPEED = 4.0


def _metrics_url(data: dict) -> str:
    return f"http://{data['http']['listen']}/metrics"


def test_sigterm_closes_the_bucket_and_flushes_everything(tmp_path: Path, influxdb1) -> None:
    influxdb1.create_db("e2e_term")
    clock = SimTime(SPEED)
    sim, mb, ua = start_simulator(tmp_path, env=clock.env)
    try:
        cfg, data = agent_config(tmp_path, mb, ua, [
            {"id": "plant", "type": "influxdb-v1", "url": influxdb1.url, "database": "e2e_term",
             "flush_interval_s": 0.5}])
        agent = start_agent(tmp_path, cfg, env=clock.env)
        wait_for(lambda: (metric(http_get(_metrics_url(data))[1], "lineside_engine_samples_total")
                          or 0) > 500, timeout=30, what="agent polling")
        t_stop = clock.wall()
        agent.signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, agent.output()[-2000:]
    finally:
        sim.stop()
    # production machines: a monitoring-only unit (the demo's cold room) has no state or OEE
    machines = {m["id"] for ln in data["lines"] for st in ln["stages"] for m in st["machines"]
                if m.get("kind", "production") == "production"}
    assert machines
    # the bucket open at SIGTERM was closed and delivered, for every machine
    bucket = int(t_stop) // 60 * 60
    rows = influxdb1.rows(f"SELECT run_s, planned_busy_s FROM oee WHERE level='machine' "
                          f"AND time = {bucket}s GROUP BY machine", db="e2e_term")
    assert {r["machine"] for r in rows} == machines
    states = influxdb1.rows("SELECT count(state) FROM machine_state GROUP BY machine",
                            db="e2e_term")
    assert {r["machine"] for r in states} == machines  # the first state of each machine
    # nothing left behind in the durable queue
    state_dir = Path(data["state_dir"])
    from lineside.sinks.queue import DiskQueue

    q = DiskQueue(state_dir / "queue-plant.db", 1 << 30, "batch", name="plant")
    try:
        assert q.queue_points == 0
    finally:
        q.close()


def test_sighup_rejects_a_bad_file_and_applies_a_good_one(tmp_path: Path) -> None:
    clock = SimTime(SPEED)
    sim, mb, ua = start_simulator(tmp_path, env=clock.env)
    agent = None
    try:
        cfg, data = agent_config(tmp_path, mb, ua, [])
        agent = start_agent(tmp_path, cfg, env=clock.env)
        url = _metrics_url(data)
        wait_for(lambda: metric(http_get(url)[1], "lineside_device_up", device="plc-l1") == 1,
                 timeout=30, what="plc-l1 up")
        good = cfg.read_text()
        cfg.write_text(good.replace("kind: cutting", "kind: slicing", 1))
        agent.signal(signal.SIGHUP)
        wait_for(lambda: metric(http_get(url)[1], "lineside_config_reloads_total",
                                result="rejected") == 1, timeout=15, what="reload rejected")
        assert "reload rejected" in agent.output() and "slicing" in agent.output()
        samples = metric(http_get(url)[1], "lineside_engine_samples_total") or 0
        wait_for(lambda: (metric(http_get(url)[1], "lineside_engine_samples_total") or 0)
                 > samples + 100, timeout=15, what="still polling on the old config")
        # a valid change: plc-l4 disabled -> its series goes, the rest keep polling
        new = yaml.safe_load(good)
        for d in new["devices"]:
            if d["id"] == "plc-l4":
                d["enabled"] = False
        cfg.write_text(yaml.safe_dump(new, sort_keys=False, allow_unicode=True))
        agent.signal(signal.SIGHUP)
        wait_for(lambda: metric(http_get(url)[1], "lineside_config_reloads_total",
                                result="applied") == 1, timeout=15, what="reload applied")
        body = http_get(url)[1]
        assert metric(body, "lineside_config_last_reload_successful") == 1
        polls = metric(body, "lineside_device_polls_total", device="plc-l1") or 0
        wait_for(lambda: (metric(http_get(url)[1], "lineside_device_polls_total",
                                 device="plc-l1") or 0) > polls + 2, timeout=15,
                 what="plc-l1 still polled after reload")
        assert agent.proc is not None and agent.proc.poll() is None
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()
    assert agent.proc is not None and agent.proc.returncode == 0


def test_prometheus_scrapes_the_running_agent(tmp_path: Path, influxdb1_factory,
                                              prometheus_server) -> None:
    influx = influxdb1_factory()
    influx.create_db("e2e_prom")
    clock = SimTime(SPEED)
    sim, mb, ua = start_simulator(tmp_path, env=clock.env)
    agent = None
    try:
        # flushes every 0.1 s: "drained" below is a queue back under a tenth of its peak
        # (> 100 points), which the points of one 0.5 s flush of the 4x plant often are not
        cfg, data = agent_config(tmp_path, mb, ua, [
            {"id": "plant", "type": "influxdb-v1", "url": influx.url, "database": "e2e_prom",
             "flush_interval_s": 0.1, "max_retry_delay_s": 1}])
        agent = start_agent(tmp_path, cfg, env=clock.env)
        prom = prometheus_server([data["http"]["listen"]], interval_s=0.25)
        prom.wait_value("min(lineside_device_up)", lambda v: v == 1, timeout=40,
                        what="every device up")
        prom.wait_value('lineside_sink_points_written_total{sink="plant"}', lambda v: v > 0,
                        timeout=30)
        assert prom.value("lineside_engine_samples_total") > 0
        # the sink goes away: points wait in the queue
        influx.stop()
        prom.wait_value('lineside_sink_queue_points{sink="plant"}', lambda v: v > 0,
                        timeout=90, what="queue grows while InfluxDB is down")
        prom.wait_value('lineside_sink_up{sink="plant"}', lambda v: v == 0, timeout=30)
        peak = prom.wait_value('lineside_sink_queue_points{sink="plant"}', lambda v: v > 100,
                               timeout=60, what="a backlog builds up")
        influx.start()
        prom.wait_value('lineside_sink_up{sink="plant"}', lambda v: v == 1, timeout=60)
        # the factory keeps producing: "drained" is back to the few points of one flush
        prom.wait_value('lineside_sink_queue_points{sink="plant"}', lambda v: v < peak / 10,
                        timeout=60, what="queue drains when InfluxDB is back")
        # the PLCs die: every device goes down
        sim.stop()
        prom.wait_value("max(lineside_device_up)", lambda v: v == 0, timeout=40,
                        what="devices down after the simulator stopped")
        status, body = http_get(f"http://{data['http']['listen']}/healthz")
        assert status == 200 and "ok" in body
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()
