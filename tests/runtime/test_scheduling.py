"""A PLC that never answers delays nobody: the other devices keep their cycle and the
buckets close on their wall-clock boundaries (Timers jobs: a run still going skips its boundary)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from lineside.config.models import LinesideConfig
from lineside.runtime.hub import Agent, AgentOptions
from lineside.samples import Quality
from lineside.simulator.server import SimulatedFactory
from tests.e2e.agent_proc import demo_data
from tests.fixtures.common import free_port

# real time: what is measured is the wall-clock cadence of polls and bucket closes
pytestmark = pytest.mark.slow


class BlackHole:
    """Accepts TCP connections and never answers: the worst kind of dead PLC."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


def _config(tmp: Path, modbus: int, opcua: int, dead_port: int) -> LinesideConfig:
    data = demo_data(tmp, modbus, opcua, [])
    for d in data["devices"]:
        if d["id"] == "plc-l4":
            d["port"] = dead_port
            d["timeout_s"] = 3.0  # longer than the interval: its cycles must be skipped
    data["metrics"]["bucket_s"] = 2
    return LinesideConfig.model_validate(data)


@pytest.mark.timeout(60)
async def test_dead_plc_delays_neither_other_devices_nor_buckets(tmp_path: Path) -> None:
    hole = BlackHole()
    mb, ua = free_port(), free_port()
    cfg = _config(tmp_path, mb, ua, hole.port)
    machine_device = {m.id: m.source for ln in cfg.lines for st in ln.stages
                      for m in st.machines}
    cycles: dict[str, list[float]] = defaultdict(list)
    quality: dict[str, set[Quality]] = defaultdict(set)
    closes: list[tuple[float, int]] = []  # (wall time delivered, bucket start ns)
    try:
        async with SimulatedFactory(cfg, seed=5, modbus_port=mb, opcua_port=ua):
            agent = Agent(cfg, options=AgentOptions(http=False, bucket_grace_s=0.5))
            orig = agent.on_samples

            def record(samples, drv=None):  # type: ignore[no-untyped-def]
                if samples:
                    dev = machine_device[samples[0].signal.split(".")[0]]
                    cycles[dev].append(time.monotonic())
                    quality[dev] |= {s.quality for s in samples}
                orig(samples, drv)

            agent.on_samples = record  # type: ignore[method-assign]
            stopping = False
            agent.add_listener(lambda pts: None if stopping else closes.extend(
                (time.time(), p.ts_ns) for p in pts
                if p.measurement == "oee" and p.tags.get("level") == "site"))
            await agent.start()
            await asyncio.sleep(9)
            stopping = True  # what stop() closes (after the dead PLC's poll ends) is not timed
            await agent.stop()
    finally:
        hole.close()
    live = cycles["plc-l1"][1:]
    gaps = [b - a for a, b in itertools.pairwise(live)]
    assert len(gaps) >= 6, cycles.keys()
    assert statistics.median(gaps) == pytest.approx(1.0, abs=0.1)
    assert max(gaps) <= 1.1 + 0.25  # within 10% (plus scheduling noise on a shared box)
    # the dead PLC's cycles end in BAD samples (never stale values), after its timeout
    assert quality["plc-l4"] == {Quality.BAD}
    # every 2 s bucket closed within the grace (+ noise) after its end
    delays = [wall - (ns / 1e9 + 2) for wall, ns in closes]
    assert len(delays) >= 3 and max(delays) < 0.5 + 0.5, delays


@pytest.mark.timeout(60)
async def test_healthz_fails_when_polling_stalls_and_recovers_when_it_resumes(
        tmp_path: Path) -> None:
    """/healthz is the watchdog's view: it turns 503 when a polled device completes no
    cycle for its stall limit (here shortened to 1.5 s), and 200 again once it does."""
    from tests.e2e.agent_proc import http_get

    mb, ua = free_port(), free_port()
    data = demo_data(tmp_path, mb, ua, [], http={"listen": f"127.0.0.1:{free_port()}"})
    cfg = LinesideConfig.model_validate(data)
    url = f"http://{data['http']['listen']}/healthz"

    async def healthz_within(seconds: float, status: int) -> tuple[int, str]:
        """/healthz once it answers `status`, or what it answers after `seconds` (the
        fixed waits this test had, now their bounds)."""
        deadline = time.monotonic() + seconds
        while True:
            got = await asyncio.to_thread(http_get, url)
            if got[0] == status or time.monotonic() >= deadline:
                return got
            await asyncio.sleep(0.05)

    async with SimulatedFactory(cfg, seed=5, modbus_port=mb, opcua_port=ua):
        agent = Agent(cfg, options=AgentOptions(bucket_grace_s=0.5))
        agent.stall_s = lambda dev: 1.5  # type: ignore[method-assign]
        await agent.start()
        try:
            # polled for longer than the stall limit (every 1 s): no stall seen
            await asyncio.sleep(2.5)
            ok = await asyncio.to_thread(http_get, url)
            assert agent.scheduler is not None
            job = agent.scheduler.jobs["poll-plc-l2"]
            agent.scheduler.remove("poll-plc-l2")  # what the old scheduler did after a step
            stalled = await healthz_within(2.5, 503)
            agent.scheduler.every("poll-plc-l2", 1.0, job.fn, *job.args)
            again = await healthz_within(1.8, 200)
        finally:
            await agent.stop()
    assert ok[0] == 200, ok
    assert stalled[0] == 503 and '"plc-l2"' in stalled[1], stalled
    assert again[0] == 200, again
