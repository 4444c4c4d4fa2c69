"""state_dir on a 4 MB tmpfs, filled to the last byte while the agent runs, then freed.

The simulated factory keeps producing; the disk refuses the queue's and the HACCP
chain's writes; the agent keeps polling, holds the points and the records in memory
(bounded, docs/delivery.md and docs/haccp.md), says so in its metrics and `/readyz`,
and writes them in order once space returns. Every point the engine produced is in the
queue file afterwards, every record linked in one unbroken chain, and the file intact.

The factory and the agent run on simulated time, SPEED times the wall clock
(runtime/clock.py): the 2 s buckets, the 8 s the disk stays full and the 2 s stall bound
are simulated seconds; the sink's retries and the drain after the disk is freed are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from lineside.config.models import LinesideConfig
from lineside.haccp.chain import CHAIN_FIELDS, Record, is_record, verify
from lineside.points import Point
from lineside.runtime.clock import ScaledClock
from lineside.runtime.hub import Agent, AgentOptions
from lineside.simulator.server import SimulatedFactory
from lineside.sinks.chainstore import ChainStore
from lineside.sinks.lineproto import to_lines
from lineside.sinks.pipeline import CHAIN_FILE
from lineside.sinks.queue import DiskQueue
from tests.e2e.agent_proc import demo_data
from tests.e2e.lineproto import parse_line
from tests.fixtures.common import free_port
from tests.fixtures.disk import fill, tmpfs

pytestmark = [pytest.mark.server]
# A stall is a device without a completed cycle for 2 simulated seconds (2 polls): 0.67 s
# real at 3x, well above a loaded poll's lateness; the 8 s full spell is 2.7 s real.
SPEED = 3.0


@pytest.mark.timeout(120)
async def test_a_full_state_dir_loses_no_point_and_never_stops_polling(tmp_path: Path) -> None:
    mb, ua = free_port(), free_port()
    data = demo_data(tmp_path, mb, ua, [{"id": "keep", "type": "local"}])
    data["metrics"]["bucket_s"] = 2
    for ccp in data["ccps"]:  # every CCP writes a record every bucket (none undecided)
        ccp["min_duration_s"] = 0
    cfg = LinesideConfig.model_validate(data)
    state = Path(data["state_dir"])
    produced: list[Point] = []  # everything the engine gave the agent to deliver
    clock = ScaledClock(SPEED)
    with tmpfs(state):
        async with SimulatedFactory(cfg, seed=5, modbus_port=mb, opcua_port=ua, speed=SPEED,
                                    epoch=clock.epoch, update_s=0.1 / SPEED):
            agent = Agent(cfg, options=AgentOptions(http=False, bucket_grace_s=0.5),
                          clock=clock)
            deliver = agent._deliver

            def spy(points: Sequence[Point]) -> None:
                produced.extend(points)
                deliver(points)

            agent._deliver = spy  # type: ignore[method-assign]
            await agent.start()
            try:
                await clock.sleep(3)
                filler = await asyncio.to_thread(fill, state)
                held_max = chain_held_max = 0
                ready_during = []
                t0 = clock.monotonic()
                while clock.monotonic() - t0 < 8:
                    await clock.sleep(0.5)
                    st = agent.sinks.stats()["keep"]
                    held_max = max(held_max, st.memory_points)
                    chain = agent.delivery.chain
                    chain_held_max = max(chain_held_max, chain.held)
                    agent.metrics.update_sinks(agent.sinks.stats())
                    agent.metrics.update_chain(chain.held, chain.disk_error, chain.dropped)
                    disk = agent._readiness()["checks"]["disk"]
                    ready_during.append((disk["ok"], bool(disk["haccp_chain"])))
                # polling went on: every polled device completed a cycle in the last 2 s
                now = clock.monotonic()  # the clock of the agent's _cycle_mono
                stalls = {d: round(now - t, 1) for d, t in agent._cycle_mono.items()
                          if now - t > 2.0}
                filler.unlink()
                for _ in range(100):  # real time: the sink's own retries
                    await asyncio.sleep(0.1)
                    if agent.sinks.stats()["keep"].memory_points == 0 and not chain.held:
                        break
                after = agent.sinks.stats()["keep"]
                chain_after = (chain.held, chain.disk_error, chain.dropped)
                agent.metrics.update_sinks(agent.sinks.stats())
                agent.metrics.update_chain(chain.held, chain.disk_error, chain.dropped)
                ready_after = agent._readiness()["checks"]["disk"]["ok"]
            finally:
                await agent.stop()
        q = DiskQueue(state / "queue-keep.db", name="keep")
        try:
            queued = [ln for chunk in q.iter_chunks() for ln in chunk.decode().split("\n")]
            quarantined = list(q.quarantined)
        finally:
            q.close()
        store = ChainStore(state / CHAIN_FILE)
        try:
            head = store.head()
        finally:
            store.close()
    assert held_max > 0, "the disk never refused a write: the test proved nothing"
    assert chain_held_max > 0, "no HACCP record was held: the chain's refusal is untested"
    assert (False, True) in ready_during and ready_after  # /readyz said so, then recovered
    assert after.memory_points == 0 and after.disk_error is None and not after.dropped
    assert chain_after == (0, None, 0)
    assert not stalls, stalls
    assert not quarantined  # the file stayed intact (quick_check on reopen)
    # every point that is not a record, as the engine made it
    queued_set = set(queued)
    missing = [ln for ln in to_lines([p for p in produced if not is_record(p)])
               if ln not in queued_set]
    assert not missing, (len(missing), missing[:3])
    # every record, linked: its own fields plus seq/prev/hash, once, in one chain
    records = {}
    for ln in queued:
        (m, tags, ts), fields = parse_line(ln)
        if m in ("ccp", "ccp_shift", "ccp_deviation"):
            assert (m, tags, ts) not in records, ("queued twice", ln)
            records[(m, tags, ts)] = fields
    made = [p for p in produced if is_record(p)]
    assert len(made) >= 8  # four CCPs, 2-s buckets, during the 8 s the disk was full
    for p in made:
        key = (p.measurement, frozenset((k, v) for k, v in p.tags.items() if v), p.ts_ns)
        got = records.get(key)
        assert got is not None, ("record lost", p)
        assert {k: v for k, v in got.items() if k not in CHAIN_FIELDS} == p.fields, p
    assert len(records) == len(made)
    verdict = verify([Record(m, dict(tags), f, ts) for (m, tags, ts), f in records.items()],
                     from_genesis=True, head=head)
    assert verdict.ok, verdict
    assert len(produced) > 100
