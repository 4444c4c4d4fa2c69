"""state_dir on a 4 MB tmpfs, filled to the last byte while the agent runs, then freed.

The simulated factory keeps producing; the disk refuses the queue's writes; the agent
keeps polling, holds the points in memory (bounded, docs/delivery.md), says so in its
metrics and `/readyz`, and writes them in order once space returns. Every point the
engine produced is in the queue file afterwards, and the file is intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path

import pytest

from lineside.agent.config import LinesideConfig
from lineside.agent.runtime.agent import Agent, AgentOptions
from lineside.agent.simulator.server import SimulatedFactory
from lineside.agent.sinks.lineproto import to_lines
from lineside.agent.sinks.queue import DiskQueue
from lineside.points import Point
from tests.e2e.agent_proc import demo_data
from tests.fixtures.common import IN_CI, free_port

pytestmark = pytest.mark.server


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m"):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        msg = f"cannot mount a tmpfs at {path}: {r.stderr.strip()} (the test runs as root)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


def fill(path: Path) -> Path:
    """Write a file until the file system says no space is left."""
    filler = path / "filler"
    with filler.open("wb", buffering=0) as f:
        block = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                f.write(block)
        with contextlib.suppress(OSError):
            while True:  # the last few bytes
                f.write(b"\0" * 512)
    return filler


@pytest.mark.timeout(120)
async def test_a_full_state_dir_loses_no_point_and_never_stops_polling(tmp_path: Path) -> None:
    mb, ua = free_port(), free_port()
    data = demo_data(tmp_path, mb, ua, [{"id": "keep", "type": "local"}])
    data["ccps"] = []  # the HACCP chain store is another file in state_dir (not under test)
    data["metrics"]["bucket_s"] = 2
    cfg = LinesideConfig.model_validate(data)
    state = Path(data["state_dir"])
    accepted: list[Point] = []
    with tmpfs(state):
        async with SimulatedFactory(cfg, seed=5, modbus_port=mb, opcua_port=ua):
            agent = Agent(cfg, options=AgentOptions(http=False, bucket_grace_s=0.5))
            agent.add_listener(accepted.extend)
            await agent.start()
            try:
                await asyncio.sleep(3)
                filler = await asyncio.to_thread(fill, state)
                held_max = 0
                ready_during = []
                t0 = time.monotonic()
                while time.monotonic() - t0 < 8:
                    await asyncio.sleep(0.5)
                    st = agent.sinks.stats()["keep"]
                    held_max = max(held_max, st.memory_points)
                    agent.metrics.update_sinks(agent.sinks.stats())
                    ready_during.append(agent._readiness()["checks"]["disk"]["ok"])
                # polling went on: every polled device completed a cycle in the last 2 s
                now = time.monotonic()
                stalls = {d: round(now - t, 1) for d, t in agent._cycle_mono.items()
                          if now - t > 2.0}
                filler.unlink()
                for _ in range(20):
                    await asyncio.sleep(0.5)
                    if agent.sinks.stats()["keep"].memory_points == 0:
                        break
                after = agent.sinks.stats()["keep"]
                agent.metrics.update_sinks(agent.sinks.stats())
                ready_after = agent._readiness()["checks"]["disk"]["ok"]
            finally:
                await agent.stop()
        q = DiskQueue(state / "queue-keep.db", name="keep")
        try:
            queued = {ln for chunk in q.iter_chunks() for ln in chunk.decode().split("\n")}
            quarantined = list(q.quarantined)
        finally:
            q.close()
    assert held_max > 0, "the disk never refused a write: the test proved nothing"
    assert False in ready_during and ready_after  # /readyz said so, then recovered
    assert after.memory_points == 0 and after.disk_error is None and not after.dropped
    assert not stalls, stalls
    assert not quarantined  # the file stayed intact (quick_check on reopen)
    missing = [ln for ln in to_lines(accepted) if ln not in queued]
    assert not missing, (len(missing), missing[:3])
    assert len(accepted) > 100
