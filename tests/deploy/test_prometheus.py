"""Real Prometheus scrapes the agent's endpoint; the alert rules load and fire.

The runtime is played by the test: it drives `AgentMetrics` directly the way the runtime
does after each poll cycle and sink flush (the full-agent version lives with the runtime).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from lineside.drivers.base import DriverStats
from lineside.engine.core import EngineStats
from lineside.runtime.http import MetricsServer
from lineside.runtime.metrics import AgentMetrics
from lineside.sinks.sink import SinkStats
from tests.fixtures.common import require_binary

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "lineside-rules.yml"
BOARD = ROOT / "deploy" / "grafana" / "dashboards" / "agent-health.json"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "lineside-rules.test.yml"


@contextmanager
def serving(metrics: AgentMetrics) -> Iterator[MetricsServer]:
    """The endpoint in its own event loop thread, as the agent's loop would run it."""
    loop = asyncio.new_event_loop()
    srv = MetricsServer(metrics.registry, "127.0.0.1:0", lambda: metrics.readiness(30))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(srv.start(), loop).result(10)
    try:
        yield srv
    finally:
        asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class FakeRuntime:
    """Cumulative component counters, reported the way the runtime reports them."""

    def __init__(self, m: AgentMetrics) -> None:
        self.m = m
        self.dev = {d: DriverStats(up=True) for d in ("plc-cutting", "plc-frying")}
        self.sink = SinkStats()
        self.engine = EngineStats()

    def cycle(self, *, failing: set[str] = frozenset(), sink_down: bool = False,
              drop: int = 0) -> None:
        import time

        for dev, st in self.dev.items():
            st.cycles += 1
            st.requests += 2
            if dev in failing:
                st.up = False
                st.errors["timeout"] += 1
            else:
                st.up = True
                st.last_good_ts = time.time()
            self.m.observe_poll(dev, 0.5 if dev in failing else 0.01, st)
        self.engine.samples_in += 20
        self.engine.buckets_closed += 1
        self.m.update_engine(self.engine)
        s = self.sink
        s.up = not sink_down
        if sink_down:
            s.queue_points += 100
            s.queue_bytes += 8000
            s.retried += 1
        else:
            s.written += s.queue_points + 100
            s.queue_points = s.queue_bytes = 0
        if drop:
            s.dropped["signal"] = s.dropped.get("signal", 0) + drop
        self.m.update_sinks({"influx": s})


def test_promtool_check_rules():
    promtool = require_binary("promtool")
    out = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_promtool_rule_unit_tests():
    """deploy/prometheus/lineside-rules.test.yml: each alert fires on its scenario."""
    promtool = require_binary("promtool")
    out = subprocess.run([promtool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def check_agent_health_board(prom) -> None:
    """Every PromQL expression of the agent-health dashboard returns data."""
    board = json.loads(BOARD.read_text())
    subst = {"$instance": ".*", "$device": ".*", "$sink": ".*", "$__rate_interval": "10s"}

    def fill(expr: str) -> str:
        for k, v in subst.items():
            expr = expr.replace(k, v)
        assert "$" not in expr, expr
        return expr

    for v in board["templating"]["list"]:
        if v["type"] == "datasource":  # picks the Prometheus; not a query
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.+), (\w+)\)", q)
        assert m, q
        res = prom.query(fill(m.group(1)))
        assert res and all(m.group(2) in r["metric"] for r in res), q
    exprs = [(p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    empty = [f"{title}: {fill(e)}" for title, e in exprs if not prom.query(fill(e))]
    assert not empty, "agent-health queries without data:\n" + "\n".join(empty)


def test_prometheus_scrapes_and_metrics_move(prometheus_server):
    m = AgentMetrics()
    m.register(SimpleNamespace(
        devices=[SimpleNamespace(id="plc-cutting"), SimpleNamespace(id="plc-frying")],
        sinks=[SimpleNamespace(id="influx", queue=SimpleNamespace(max_bytes=1 << 20))]))
    rt = FakeRuntime(m)
    stop = threading.Event()
    mode: dict = {"failing": set(), "sink_down": False, "drop": 0}

    def runtime_loop() -> None:  # one "poll cycle" every 200 ms, like the scheduler
        while not stop.wait(0.2):
            rt.cycle(failing=mode["failing"], sink_down=mode["sink_down"], drop=mode["drop"])

    worker = threading.Thread(target=runtime_loop, daemon=True)
    with serving(m) as srv:
        worker.start()
        try:
            # scraped and evaluated every 0.2 s, as often as the runtime below changes
            prom = prometheus_server([f"127.0.0.1:{srv.port}"], rule_files=[RULES],
                                     interval_s=0.2)
            dev = 'device="plc-frying"'
            prom.wait_value(f"lineside_device_up{{{dev}}}", lambda v: v == 1)
            for name in ("lineside_build_info", "lineside_device_poll_duration_seconds_count",
                         "lineside_device_last_good_sample_age_seconds",
                         "lineside_sink_queue_points", "lineside_sink_queue_bytes",
                         "lineside_sink_queue_max_bytes", "lineside_sink_points_written_total",
                         "lineside_sink_write_retries_total",
                         "lineside_sink_points_dead_lettered_total",
                         "lineside_engine_buckets_closed_total", "lineside_engine_samples_total",
                         "lineside_engine_late_samples_total", "lineside_config_loaded"):
                assert prom.query(name), f"{name} not scraped"
            prom.wait_value("increase(lineside_engine_samples_total[5s])", lambda v: v > 0)

            # the frying PLC dies: up goes 0, its timeouts climb, its good data ages
            mode["failing"] = {"plc-frying"}
            prom.wait_value(f"lineside_device_up{{{dev}}}", lambda v: v == 0)
            prom.wait_value(f'lineside_device_errors_total{{{dev},kind="timeout"}}',
                            lambda v: v >= 3)
            prom.wait_value(f"lineside_device_last_good_sample_age_seconds{{{dev}}}",
                            lambda v: v > 1.5)
            assert prom.value('lineside_device_up{device="plc-cutting"}') == 1
            # it comes back
            mode["failing"] = set()
            prom.wait_value(f"lineside_device_up{{{dev}}}", lambda v: v == 1)

            # InfluxDB goes away: the queue fills, then drains when it returns
            mode["sink_down"] = True
            prom.wait_value('lineside_sink_up{sink="influx"}', lambda v: v == 0)
            q1 = prom.wait_value('lineside_sink_queue_points{sink="influx"}', lambda v: v > 0)
            prom.wait_value('lineside_sink_queue_points{sink="influx"}', lambda v: v > q1)
            prom.wait_value('deriv(lineside_sink_queue_points{sink="influx"}[5s])',
                            lambda v: v > 0, what="queue growing")
            written = prom.value('lineside_sink_points_written_total{sink="influx"}')
            mode["sink_down"] = False
            prom.wait_value('lineside_sink_queue_points{sink="influx"}', lambda v: v == 0)
            prom.wait_value('lineside_sink_points_written_total{sink="influx"}',
                            lambda v: v > (written or 0))

            # the queue overflowed: points dropped, and the alert with no `for:` fires
            mode["drop"] = 5
            prom.wait_value('lineside_sink_points_dropped_total{measurement="signal"}',
                            lambda v: v > 0)
            prom.wait_value('count(ALERTS{alertname="LinesideDataDropped",alertstate="firing"})',
                            lambda v: v == 1, timeout=30)
            check_agent_health_board(prom)
            rules = prom.api("/api/v1/rules")["groups"]
            assert {g["name"] for g in rules} >= {"lineside-devices", "lineside-delivery"}
            assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules
        finally:
            stop.set()
            worker.join(5)
