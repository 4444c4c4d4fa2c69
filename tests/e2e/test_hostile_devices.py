"""End to end with `lineside run`: two PLCs on a bad day beside a healthy one.

A Modbus PLC (pymodbus) and an OPC UA PLC (asyncua), both the test's own, send what real
PLCs send on a bad day (issue 23): an OPC UA Double of 1e308 on a CCP's signal, then NaN;
a state code of 2^64-1 (OPC UA UInt64, Modbus uint64); a Modbus float64 of 1e308 on a
CCP's signal; a 10 MB string where a number is expected; a counter jumping by 2^31, then
back on its course. Beside them a healthy Modbus PLC produces steadily under its own CCP.

A fourth PLC answers every request with garbage or with another transaction's answer,
in turns.

What must hold (docs/design.md, docs/delivery.md "Hostile values"):
- the healthy machine's points and every CCP's records keep reaching InfluxDB 1.6
  after the hostile values start, and InfluxDB refuses nothing (no dead letter);
- the metrics count the refusals (`lineside_points_refused_total`);
- `/readyz` stays ready through hostile values alone, and through InfluxDB stopped (the
  queue holds what it could not write, delivered once it is back); it goes unready when
  delivery stops (the state dir's disk refusing writes, after the bad day), ready again
  when it takes them;
- SIGTERM still exits 0, with no traceback in the log;
- the fourth PLC's errors are counted as `garbage` and `transaction_id` (not `timeout`),
  and logged as one WARNING at each change of kind, every driver line naming its device.

The agent and the PLCs' counters run on simulated time (`LINESIDE_CLOCK`, CONTRIBUTING.md
"Simulated time"), SPEED times faster: polls, buckets, CCP monitoring and the readiness
staleness are in simulated seconds. What stays real: the drivers' request timeouts, the
sink's retry delays, InfluxDB's restart and the disk fill; the test waits on what they
produce (a refusal logged, a retry counted, a row stored), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineside.config.loader import load_config
from lineside.runtime.clock import ScaledClock
from lineside.sinks.health import UNREADY_FAILURES
from tests.e2e.agent_proc import SimTime, http_get, metric, start_agent
from tests.e2e.hostile_peers import JunkModbus, ModbusPlc, OpcuaPlc, OpcuaPlcProcess
from tests.fixtures.common import free_port
from tests.fixtures.disk import fill, tmpfs

pytestmark = [pytest.mark.server]

# 4: a 10 MB OPC UA read (about 1 s real, more under load) stays well inside the
# readiness staleness of 13 simulated s (3 x interval + 10) = 3.2 s real
SPEED = 4.0
BUCKET_S = 2
POLL_S = 0.5
BIG = 2**31  # the counter's jump
TEN_MB = 10 * 1024 * 1024


def plant(tmp: Path, influx_url: str, db: str, ports: dict[str, int]) -> dict[str, Any]:
    def modbus(dev: str, port: int) -> dict[str, Any]:
        return {"id": dev, "type": "modbus-tcp", "host": "127.0.0.1", "port": port,
                "interval_s": POLL_S, "timeout_s": 0.5}

    def ua(name: str) -> dict[str, str]:
        return {"node": OpcuaPlc.node(name)}

    return {
        "site": {"enterprise_id": "sc-beef-01", "enterprise_name": "Beef", "site_id": "cd-1",
                 "region": "510114"},
        "state_dir": str(tmp / "state"),
        "devices": [
            modbus("healthy", ports["healthy"]),
            modbus("hostile-mb", ports["hostile_mb"]),
            {**modbus("junk", ports["junk"]), "timeout_s": 0.3, "reconnect_min_s": 0.1,
             "reconnect_max_s": 0.2},
            # poll: a CCP is never read by subscription (a steady value sends nothing)
            {"id": "hostile-ua", "type": "opcua", "mode": "poll",
             "endpoint": f"opc.tcp://127.0.0.1:{ports['hostile_ua']}/", "interval_s": 1.0,
             "timeout_s": 3.0},
        ],
        "lines": [
            {"id": "ok", "stages": [{"id": "cook", "kind": "heating", "machines": [
                {"id": "good-1", "automation": "automatic", "ideal_rate": 120,
                 "source": "healthy",
                 "signals": {"running": {"table": "coil", "address": 0, "type": "bool"},
                             "good": {"table": "holding", "address": 0, "type": "uint32"},
                             "temp": {"table": "input", "address": 0, "type": "float32"}}},
            ]}]},
            {"id": "bad", "stages": [{"id": "fry", "kind": "frying", "machines": [
                {"id": "mb-1", "automation": "automatic", "ideal_rate": 120,
                 "source": "hostile-mb", "state": {"map": "packml"},
                 "signals": {"state": {"table": "holding", "address": 0, "type": "uint64"},
                             "good": {"table": "holding", "address": 4, "type": "uint32"},
                             "temp": {"table": "input", "address": 0, "type": "float64"}}},
                {"id": "ua-1", "automation": "automatic", "ideal_rate": 120,
                 "source": "hostile-ua", "state": {"map": "packml"},
                 "signals": {"state": ua("State"), "good": ua("Good"), "temp": ua("Temp"),
                             "weight": ua("Weight")}},
                {"id": "junk-1", "automation": "automatic", "ideal_rate": 60,
                 "source": "junk",
                 "signals": {"running": {"table": "coil", "address": 0, "type": "bool"}}},
            ]}]},
        ],
        "ccps": [
            {"id": "healthy-ccp", "kind": "pasteurization", "hazard": "Surviving pathogens",
             "machine": "good-1", "signal": "temp", "unit": "°C", "critical": {"min": 70},
             "min_duration_s": 0, "monitoring_interval_s": 3},
            {"id": "mb-ccp", "kind": "frying", "hazard": "Undercooked beef",
             "machine": "mb-1", "signal": "temp", "unit": "°C",
             "critical": {"min": 165, "max": 185}, "min_duration_s": 0,
             "monitoring_interval_s": 3},
            {"id": "ua-ccp", "kind": "frying", "hazard": "Undercooked beef",
             "machine": "ua-1", "signal": "temp", "unit": "°C",
             "critical": {"min": 165, "max": 185}, "min_duration_s": 0,
             "monitoring_interval_s": 3},
        ],
        "sinks": [{"id": "plant", "type": "influxdb-v1", "url": influx_url, "database": db,
                   "flush_interval_s": 0.5}],
        "http": {"listen": f"127.0.0.1:{ports['http']}"},
        "metrics": {"bucket_s": BUCKET_S},
    }


class Counter:
    """A PLC's good counter: +1 every 0.5 s of the agent's (simulated) clock, the ideal
    rate, plus an offset the test sets (the jump)."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.t0 = clock.monotonic()
        self.offset = 0

    def course(self) -> int:
        return int((self.clock.monotonic() - self.t0) * 2)

    def value(self) -> int:
        return (self.course() + self.offset) % 2**32


async def run_plcs(healthy: ModbusPlc, mb: ModbusPlc, ua: OpcuaPlcProcess, mb_good: Counter,
                   ua_good: Counter, stop: asyncio.Event) -> None:
    """Keep the counters moving (the rest is set by the test's timeline)."""
    while not stop.is_set():
        healthy.set("holding", 0, mb_good.course(), "uint32")
        mb.set("holding", 4, mb_good.value(), "uint32")
        await asyncio.to_thread(ua.set, "Good", ua_good.value())
        await mb_good.clock.sleep(0.2)  # 0.2 simulated s: the fastest poll is 0.5


def refused(log: str, key: str, reason: str) -> bool:
    return f" of {key} refused ({reason})" in log


def ready(url: str) -> tuple[int, dict[str, Any]]:
    try:
        code, body = http_get(f"{url}/readyz")
    except OSError:  # not listening yet
        return 0, {}
    return code, json.loads(body) if body.startswith("{") else {}


def rows(influx: Any, db: str, q: str) -> list[dict[str, Any]]:
    return influx.rows(q, db=db)


@pytest.mark.timeout(90)
async def test_hostile_plcs_do_not_stop_the_healthy_one(tmp_path: Path,
                                                       influxdb1_factory) -> None:
    influxdb1 = await asyncio.to_thread(influxdb1_factory)  # its own: it is stopped below
    db = "e2e_hostile"
    influxdb1.create_db(db)
    ports = {k: free_port() for k in ("healthy", "hostile_mb", "hostile_ua", "junk", "http")}
    url = f"http://127.0.0.1:{ports['http']}"
    healthy, mb = ModbusPlc(ports["healthy"]), ModbusPlc(ports["hostile_mb"])
    healthy.set("coil", 0, True)
    healthy.set("input", 0, 75.0, "float32")
    mb.set("holding", 0, 6, "uint64")  # PackML Execute
    mb.set("input", 0, 175.0, "float64")
    ua = OpcuaPlcProcess(ports["hostile_ua"], {
        "State": (6, "UInt64"), "Good": (0, "UInt32"), "Temp": (175.0, "Double"),
        "Weight": (12.5, "Double")})
    sim = SimTime(SPEED)
    mb_good, ua_good = Counter(sim.clock), Counter(sim.clock)
    stop = asyncio.Event()
    state = tmp_path / "state"
    with tmpfs(state, size="256m"):  # room for 10 MB texts until it is filled
        data = plant(tmp_path, influxdb1.url, db, ports)
        cfg_path = tmp_path / "plant.yaml"
        cfg_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        load_config(cfg_path)
        await healthy.start()
        await mb.start()
        junk = await JunkModbus(ports["junk"]).start()
        await asyncio.to_thread(ua.start)
        mover = asyncio.create_task(run_plcs(healthy, mb, ua, mb_good, ua_good, stop))
        agent = start_agent(tmp_path, cfg_path, env=sim.env)
        try:
            # a good day first: every device polled (ready), healthy points stored
            deadline = time.monotonic() + 30
            while ready(url)[0] != 200 or not rows(
                    influxdb1, db, "SELECT count(value) FROM signal WHERE machine = 'good-1'"):
                assert time.monotonic() < deadline, agent.output()[-3000:]
                await asyncio.sleep(0.5)

            # the bad day
            hostile_at = sim.wall()
            await asyncio.to_thread(ua.set, "Temp", 1e308)
            await asyncio.to_thread(ua.set, "State", 2**64 - 1)
            mb.set("input", 0, 1e308, "float64")
            mb.set("holding", 0, 2**64 - 1, "uint64")
            mb_good.offset = ua_good.offset = BIG
            # 10 MB of text where a number was
            await asyncio.to_thread(ua.set_repeated, "Weight", "7", TEN_MB, "String")
            # ready every 0.5 s through at least 3 s, until the agent has refused each
            # value and counted the jump (the metrics: every 5 simulated s)
            readiness: list[tuple[int, dict]] = []
            deadline = time.monotonic() + 30
            while len(readiness) < 6 or not (
                    all(refused(agent.output(), k, r) for k, r in (
                        ("mb-1.state", "out_of_range"), ("mb-1.temp", "out_of_range"),
                        ("ua-1.temp", "out_of_range"), ("ua-1.weight", "text_too_long")))
                    and (metric(http_get(f"{url}/metrics")[1],
                                "lineside_engine_counter_excess_units_total") or 0) >= BIG):
                assert time.monotonic() < deadline, agent.output()[-3000:]
                readiness.append(ready(url))
                await sim.clock.sleep(0.5)
            await asyncio.to_thread(ua.set, "Temp", "NaN")
            await asyncio.to_thread(ua.set, "Weight", 12.5, "Double")
            mb_good.offset = ua_good.offset = 0  # back on their course
            back_at = sim.wall()
            n = len(readiness)
            deadline = time.monotonic() + 30
            # 3 s: more than a bucket after the return, and NaN refused
            while len(readiness) < n + 6 or not refused(agent.output(), "ua-1.temp",
                                                        "non_finite"):
                assert time.monotonic() < deadline, agent.output()[-3000:]
                readiness.append(ready(url))
                await sim.clock.sleep(0.5)
            assert readiness and {c for c, _ in readiness} == {200}, \
                [r for r in readiness if r[0] != 200]

            # the bad day ends; the buckets that held its values are closed and written
            mb.set("input", 0, 175.0, "float64")
            mb.set("holding", 0, 6, "uint64")
            await asyncio.to_thread(ua.set, "Temp", 175.0)
            await asyncio.to_thread(ua.set, "State", 6)
            await sim.clock.sleep(BUCKET_S + 2)

            # delivery stops: the state dir's disk refuses writes
            filler = await asyncio.to_thread(fill, state)
            deadline = time.monotonic() + 15
            while (got := ready(url))[0] != 503:
                assert time.monotonic() < deadline, got
                await asyncio.sleep(0.5)
            assert got[1]["checks"]["disk"]["ok"] is False, got
            filler.unlink()
            deadline = time.monotonic() + 15
            while ready(url)[0] != 200:
                assert time.monotonic() < deadline, ready(url)
                await asyncio.sleep(0.5)

            # InfluxDB down is no stop of delivery: the queue holds, still ready, through
            # more failed writes than make a failing stage unready (the sink's retries
            # are on the real clock: wait for them, not for a time)
            def retries() -> float:
                return metric(http_get(f"{url}/metrics")[1],
                              "lineside_sink_write_retries_total", sink="plant") or 0

            retried = retries()
            outage = [sim.wall()]
            await asyncio.to_thread(influxdb1.stop)
            n = len(readiness)
            deadline = time.monotonic() + 30
            while True:
                readiness.append(ready(url))
                if len(readiness) >= n + 6 and retries() >= retried + UNREADY_FAILURES:
                    readiness.append(ready(url))  # after them
                    break
                assert time.monotonic() < deadline, (retried, agent.output()[-3000:])
                await asyncio.sleep(0.25)
            outage.append(sim.wall())
            await asyncio.to_thread(influxdb1.start)
            assert {c for c, _ in readiness} == {200}, [r for r in readiness if r[0] != 200]

            held_q = (f"SELECT good_count FROM oee WHERE machine = 'good-1' AND "
                      f"level = 'machine' AND time >= {int(outage[0] * 1e9)} AND "
                      f"time < {int(outage[1] * 1e9)}")
            deadline = time.monotonic() + 30  # what was held is written
            while not rows(influxdb1, db, held_q) and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
            while True:  # (the engine counters reach the metrics every 5 s)
                _, body = http_get(f"{url}/metrics")
                if (metric(body, "lineside_engine_samples_refused_total",
                           reason="non_finite") or 0) > 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
            agent.signal(signal.SIGTERM)
            code = await asyncio.to_thread(agent.wait, 30)
        finally:
            stop.set()
            await mover
            agent.stop()
            ua.stop()
            await mb.stop()
            await junk.stop()
            await healthy.stop()
        kept = state / "haccp-refused.jsonl"  # records the chain refused, kept
        kept_lines = kept.read_text().splitlines() if kept.exists() else []
    dead, unreadable = [], []
    for ln in kept_lines:
        try:
            dead.append(json.loads(ln))
        except ValueError:
            unreadable.append(ln[:300])
    assert not unreadable, unreadable  # every refused record kept whole
    # 1e308 and NaN are refused as samples (a loss of monitoring, in finite records), so
    # the chain has no record to refuse
    assert not dead, dead
    log = agent.output()
    assert code == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]

    # each refused signal logged once, naming its device and reason
    for device, key, reason in (("hostile-mb", "mb-1.state", "out_of_range"),
                                ("hostile-mb", "mb-1.temp", "out_of_range"),
                                ("hostile-ua", "ua-1.temp", "out_of_range"),
                                ("hostile-ua", "ua-1.temp", "non_finite"),
                                ("hostile-ua", "ua-1.weight", "text_too_long")):
        said = [ln for ln in log.splitlines() if f" of {key} refused ({reason})" in ln]
        assert len(said) == 1 and f"[device={device}]" in said[0], (key, reason, log)

    # a PLC that answers with garbage and with other transactions' answers: its errors by
    # kind, and one WARNING at each change of kind, every line naming the device
    for kind in ("garbage", "transaction_id"):
        assert (metric(body, "lineside_device_errors_total", device="junk", kind=kind)
                or 0) > 0, (kind, body)
    assert not metric(body, "lineside_device_errors_total", device="junk", kind="timeout")
    junk_warnings = [ln.rsplit("kind=", 1)[1].rstrip("]") for ln in log.splitlines()
                     if " WARNING " in ln and "[device=junk " in ln]
    assert len(junk_warnings) >= 3, log[-3000:]
    assert all(a != b for a, b in itertools.pairwise(junk_warnings)), \
        junk_warnings  # each a change
    assert set(junk_warnings) == {"garbage", "transaction_id"}, junk_warnings
    assert "[device=junk kind=recovered]" not in log  # it never answered
    for ln in log.splitlines():
        if ln[:4].isdigit() and (" lineside.drivers." in ln or " pymodbus" in ln):
            assert "[device=" in ln, ln

    # the healthy machine's points and every CCP's records kept arriving
    since = f"time >= {int(hostile_at * 1e9)}"
    oee = rows(influxdb1, db, f"SELECT good_count FROM oee WHERE machine = 'good-1' "
                              f"AND level = 'machine' AND {since}")
    assert len(oee) >= 4 and sum(r["good_count"] or 0 for r in oee) > 0, oee
    for ccp in ("healthy-ccp", "mb-ccp", "ua-ccp"):
        stored = {r["time"] for r in rows(influxdb1, db, f"SELECT span_s FROM ccp WHERE "
                                                         f"ccp = '{ccp}' AND {since}")}
        assert len(stored) >= 4, (ccp, stored)
        # 1e308 and NaN are no readings: the hostile CCPs lost monitoring, never the healthy
        lost = rows(influxdb1, db, f"SELECT * FROM ccp_deviation WHERE ccp = '{ccp}' "
                                   f"AND kind = 'monitoring' AND event = 'start' AND {since}")
        assert bool(lost) == (ccp != "healthy-ccp"), (ccp, lost)
    # what the outage held was delivered once InfluxDB was back
    assert rows(influxdb1, db, held_q), outage

    # counting resumed once the counters were back on their course (re-baseline)
    after = f"time >= {int((back_at // BUCKET_S + 1) * BUCKET_S * 1e9)}"
    for m in ("mb-1", "ua-1"):
        counted = rows(influxdb1, db, f"SELECT good_count FROM oee WHERE machine = '{m}' "
                                      f"AND level = 'machine' AND {after}")
        assert sum(r["good_count"] or 0 for r in counted) > 0, (m, back_at, counted)
    # nothing implausible stored: no text beyond the default bound (256 characters)
    texts = rows(influxdb1, db, "SELECT text FROM signal WHERE machine = 'ua-1'")
    assert max((len(r["text"] or "") for r in texts), default=0) <= 256
    # InfluxDB refused nothing; the agent counted what it refused itself
    assert metric(body, "lineside_sink_points_dead_lettered_total", sink="plant") == 0
    for reason in ("out_of_range", "non_finite", "text_too_long"):  # 2^64-1, NaN, 10 MB
        assert (metric(body, "lineside_engine_samples_refused_total", reason=reason)
                or 0) > 0, (reason, body)
    assert (metric(body, "lineside_engine_counter_excess_units_total") or 0) >= BIG
