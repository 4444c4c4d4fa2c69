"""AgentMetrics and the /metrics /healthz /readyz endpoint, over real HTTP sockets."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lineside.drivers.base import DriverStats
from lineside.engine.core import EngineStats
from lineside.runtime.http import MetricsServer, parse_listen
from lineside.runtime.metrics import AgentMetrics
from lineside.sinks.sink import SinkStats


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def config(devices=("plc1", "plc2"), sinks=(("influx", 1 << 20),)):
    return SimpleNamespace(
        devices=[SimpleNamespace(id=d) for d in devices],
        sinks=[SimpleNamespace(id=s, queue=SimpleNamespace(max_bytes=b)) for s, b in sinks],
    )


def samples(m: AgentMetrics) -> dict[tuple[str, tuple], float]:
    from prometheus_client import generate_latest

    out = {}
    for fam in text_string_to_metric_families(generate_latest(m.registry).decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def http_get(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


def test_registered_devices_start_down_and_counters_survive_driver_restart():
    clock = Clock()
    m = AgentMetrics(clock=clock)
    m.register(config())
    s = samples(m)
    assert s[("lineside_device_up", (("device", "plc1"),))] == 0
    assert s[("lineside_sink_queue_max_bytes", (("sink", "influx"),))] == 1 << 20
    assert s[("lineside_config_loaded", ())] == 1
    assert s[("lineside_config_last_reload_successful", ())] == 1
    m.record_reload(applied=False)
    s = samples(m)
    assert s[("lineside_config_last_reload_successful", ())] == 0
    assert s[("lineside_config_reloads_total", (("result", "rejected"),))] == 1
    m.record_reload(applied=True)
    assert samples(m)[("lineside_config_last_reload_successful", ())] == 1

    st = DriverStats(up=True, cycles=10, requests=20, errors=Counter(timeout=3),
                     last_good_ts=clock.t - 2)
    m.observe_poll("plc1", 0.03, st)
    # a reload re-creates the driver: its counters restart at 0
    m.observe_poll("plc1", 0.02, DriverStats(up=False, cycles=2, requests=4,
                                             errors=Counter(timeout=1, connect=1)))
    s = samples(m)
    assert s[("lineside_device_polls_total", (("device", "plc1"),))] == 12
    assert s[("lineside_device_requests_total", (("device", "plc1"),))] == 24
    assert s[("lineside_device_errors_total", (("device", "plc1"), ("kind", "timeout")))] == 4
    assert s[("lineside_device_errors_total", (("device", "plc1"), ("kind", "connect")))] == 1
    assert s[("lineside_device_up", (("device", "plc1"),))] == 0
    assert s[("lineside_device_poll_duration_seconds_count", (("device", "plc1"),))] == 2
    clock.t += 10
    assert samples(m)[("lineside_device_last_good_sample_age_seconds",
                       (("device", "plc1"),))] == pytest.approx(12)
    # plc2 never had good data: age counts from the agent's start
    assert samples(m)[("lineside_device_last_good_sample_age_seconds",
                       (("device", "plc2"),))] == pytest.approx(10)


def test_reload_forgets_devices_and_sinks_no_longer_configured():
    m = AgentMetrics(clock=Clock())
    m.register(config(devices=("plc1", "plc2")))
    m.observe_poll("plc2", 0.1, DriverStats(up=True, errors=Counter(crc=1)))
    m.register(config(devices=("plc1",), sinks=()))
    names = {(n, lab) for n, lab in samples(m)}
    assert not any(("device", "plc2") in lab for _, lab in names)
    assert not any(("sink", "influx") in lab for _, lab in names)
    assert any(("device", "plc1") in lab for _, lab in names)  # what stays is there
    # no sink configured: the implicit local sink of SinkSet, with its default bound
    assert ("lineside_sink_queue_max_bytes", (("sink", "local"),)) in names
    assert ("lineside_device_up", (("device", "plc1"),)) in names


def test_sink_and_engine_counters():
    m = AgentMetrics(clock=Clock())
    m.update_sinks({"influx": SinkStats(queue_points=7, queue_bytes=700, written=100,
                                            retried=5, dropped={"signal": 3}, dead_lettered=2)})
    m.update_sinks({"influx": SinkStats(queue_points=0, queue_bytes=0, written=150,
                                            retried=5, dropped={"signal": 4, "oee": 1},
                                            dead_lettered=2, up=False)})
    m.update_sinks({"bureau": SinkStats(dropped={"ccp_bureau": 9})})
    m.update_engine(EngineStats(buckets_closed=3, late_samples=1, samples_in=50))
    m.update_engine(EngineStats(buckets_closed=5, late_samples=1, samples_in=80))
    s = samples(m)
    sink = (("sink", "influx"),)
    assert s[("lineside_sink_points_written_total", sink)] == 150
    assert s[("lineside_sink_write_retries_total", sink)] == 5
    assert s[("lineside_sink_points_dead_lettered_total", sink)] == 2
    assert s[("lineside_sink_queue_points", sink)] == 0
    assert s[("lineside_sink_up", sink)] == 0
    assert s[("lineside_sink_points_dropped_total",
              (("measurement", "signal"), ("sink", "influx")))] == 4
    assert s[("lineside_sink_points_dropped_total",
              (("measurement", "oee"), ("sink", "influx")))] == 1
    assert s[("lineside_sink_points_dropped_total",
              (("measurement", "ccp_bureau"), ("sink", "bureau")))] == 9
    assert s[("lineside_engine_buckets_closed_total", ())] == 5
    assert s[("lineside_engine_late_samples_total", ())] == 1
    assert s[("lineside_engine_samples_total", ())] == 80
    info = [dict(lab) for n, lab in s if n == "lineside_build_info"]
    assert len(info) == 1 and info[0]["version"] == "0.1.0"


@pytest.mark.parametrize(
    ("case", "expect_ready", "failing"),
    [
        ("all fine", True, None),
        ("config not loaded", False, "config"),
        ("device not polled", False, "devices"),
        ("queue near bound", False, "queues"),
    ],
)
def test_readiness(case, expect_ready, failing):
    clock = Clock()
    m = AgentMetrics(clock=clock)
    m.register(config(sinks=(("influx", 1000),)))
    for dev in ("plc1", "plc2"):
        m.observe_poll(dev, 0.01, DriverStats(up=(dev == "plc1")))  # down is still polled
    m.update_sinks({"influx": SinkStats(queue_bytes=100)})
    if case == "config not loaded":
        m.set_config_loaded(False)
    elif case == "device not polled":
        clock.t += 30
        m.observe_poll("plc1", 0.01, DriverStats(up=True))
        clock.t += 45
    elif case == "queue near bound":
        m.update_sinks({"influx": SinkStats(queue_bytes=950)})
    body = m.readiness(poll_stale_s=60)
    assert body["ready"] is expect_ready
    assert [k for k, c in body["checks"].items() if not c["ok"]] == ([failing] if failing else [])
    if failing == "devices":
        assert body["checks"]["devices"]["not_polled_recently"] == {"plc2": 75.0}


@pytest.mark.parametrize(
    ("listen", "expect"),
    [("127.0.0.1:9108", ("127.0.0.1", 9108)), (":9108", ("0.0.0.0", 9108)),
     ("[::1]:80", ("::1", 80)), ("[::]:9108", ("::", 9108)),
     ("[fe80::1%eth0]:9108", ("fe80::1%eth0", 9108)), ("localhost:0", ("localhost", 0))],
)
def test_parse_listen(listen, expect):
    assert parse_listen(listen) == expect


@pytest.mark.parametrize("bad", ["9108", "host:", "host:99999", "host:x",
                                 "::1:9108", "[::1:9108", "[gateway]:9108"])
def test_parse_listen_rejects(bad):
    with pytest.raises(ValueError):
        parse_listen(bad)


async def test_http_endpoint_routes():
    m = AgentMetrics()
    m.register(config(devices=("plc1",)))
    ready = {"ok": True}

    def check():
        if not ready["ok"]:
            raise RuntimeError("boom")
        return m.readiness()

    async with MetricsServer(m.registry, "127.0.0.1:0", check) as srv:
        port = srv.port
        status, headers, body = await http_get(port, get("/metrics"))
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b'lineside_device_up{device="plc1"} 0.0' in body

        status, headers, body = await http_get(
            port, get("/metrics", "Accept: application/openmetrics-text; version=1.0.0\r\n"))
        assert status == 200 and "openmetrics" in headers["Content-Type"]
        assert body.rstrip().endswith(b"# EOF")

        status, _, body = await http_get(port, get("/healthz"))
        assert (status, json.loads(body)) == (200, {"status": "ok"})

        # never polled yet: not ready, 503 with the reasons
        status, _, body = await http_get(port, get("/readyz"))
        assert status == 503 and json.loads(body)["checks"]["devices"]["ok"] is False
        m.observe_poll("plc1", 0.01, DriverStats(up=True))
        status, _, body = await http_get(port, get("/readyz"))
        assert status == 200 and json.loads(body)["ready"] is True
        ready["ok"] = False
        status, _, body = await http_get(port, get("/readyz"))
        assert status == 503 and "boom" in json.loads(body)["error"]

        status, headers, body = await http_get(port, b"HEAD /healthz HTTP/1.1\r\n\r\n")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
        assert (await http_get(port, get("/nope")))[0] == 404
        assert (await http_get(port, b"POST /metrics HTTP/1.1\r\n\r\n"))[0] == 405
        assert (await http_get(port, b"garbage\r\n\r\n"))[0] == 400

        # a client that connects and says nothing does not block other scrapes
        _r, idle = await asyncio.open_connection("127.0.0.1", port)
        assert (await http_get(port, get("/healthz")))[0] == 200
        idle.close()


async def test_http_binds_loopback_by_default():
    srv = MetricsServer(AgentMetrics().registry, "127.0.0.1:0")
    await srv.start()
    try:
        assert srv.host == "127.0.0.1"
        assert srv._server is not None
        assert {s.getsockname()[0] for s in srv._server.sockets} == {"127.0.0.1"}
    finally:
        await srv.stop()


def test_ipv6_listen_address_is_valid_config():
    from lineside.config.models import Http

    assert Http(listen="[::1]:9108").listen == "[::1]:9108"


async def test_http_serves_on_ipv6_loopback():
    m = AgentMetrics()
    async with MetricsServer(m.registry, "[::1]:0") as srv:
        assert {s.family for s in srv._server.sockets} == {socket.AF_INET6}
        reader, writer = await asyncio.open_connection("::1", srv.port)
        writer.write(get("/healthz"))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"status": "ok"}\n')


def all_samples(m: AgentMetrics, accept: str) -> list[str]:
    from prometheus_client.exposition import choose_encoder

    encoder, _ = choose_encoder(accept)
    return [line.split("{")[0].split(" ")[0] for line in encoder(m.registry).decode().splitlines()
            if line and not line.startswith("#")]


@pytest.mark.parametrize("accept", ["", "application/openmetrics-text; version=1.0.0"])
def test_no_created_series_in_either_format(accept):
    m = AgentMetrics()
    m.register(config())
    m.observe_poll("plc1", 0.01, DriverStats(up=True, cycles=1, errors={"timeout": 2}))
    names = all_samples(m, accept)
    # the counters and the histogram are there, their `_created` twins are not
    assert "lineside_device_errors_total" in names
    assert "lineside_device_poll_duration_seconds_count" in names
    assert [n for n in names if n.endswith("_created")] == []


def test_process_metrics_follow_the_process():
    import os

    m = AgentMetrics()
    before = samples(m)
    rss = before[("process_resident_memory_bytes", ())]
    with open("/proc/self/statm") as f:  # resident pages, the kernel's own figure
        statm_rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    assert abs(rss - statm_rss) / statm_rss < 0.2
    assert before[("process_cpu_seconds_total", ())] > 0
    files = [open(os.devnull) for _ in range(20)]  # noqa: SIM115 - held open on purpose
    try:
        after = samples(m)
    finally:
        for f in files:
            f.close()
    assert after[("process_open_fds", ())] - before[("process_open_fds", ())] >= 20
    assert after[("process_max_fds", ())] >= after[("process_open_fds", ())]
def test_flagged_counter_dips_and_excess_reach_prometheus():
    # The engine's flagged counter events (docs/engine.md, Counters) as counters: a dip
    # of a PLC-computed good counter and a jump capped at the ideal rate.
    from lineside.engine.core import EngineStats
    from lineside.engine.counters import Counter

    st = EngineStats()
    c = Counter(32, per_s=1.0)  # 60 units/min x margin 1
    for t, v in ((0, 100), (1, 99), (2, 101), (12, 1101)):
        c.step(v, t, st)
    # 99 is a dip; 101 is 1 above the mark; 1101 after 10 s: 10 + 1 allowed, 989 excess.
    m = AgentMetrics(clock=Clock())
    m.update_engine(st)
    s = samples(m)
    assert s[("lineside_engine_counter_dips_total", ())] == 1
    assert s[("lineside_engine_counter_excess_units_total", ())] == 989
