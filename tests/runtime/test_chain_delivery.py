"""Agent delivery while the HACCP chain file refuses writes (docs/haccp.md).

A real engine, real queue file and real chain file; the refusal is SQLite's own
('attempt to write a readonly database', a read-only connection to the chain file, as a
state_dir remounted read-only gives).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.runtime.hub import Agent, AgentOptions
from lineside.sinks.queue import DiskQueue
from lineside.sinks.sinkset import SinkSet
from tests.e2e.agent_proc import demo_data

T0 = 1_796_018_400_000_000_000


def record(i: int) -> Point:
    return Point("ccp", {"site": "s1", "ccp": "cold", "level": "ccp"},
                 {"span_s": 60.0, "within_s": 60.0}, T0 + i * 60_000_000_000)


def oee(i: int) -> Point:
    return Point("oee", {"site": "s1", "machine": "m1", "level": "machine"}, {"oee": 0.5},
                 T0 + i * 60_000_000_000)


def queued(state: Path) -> list[tuple[str, float | None]]:
    q = DiskQueue(state / "queue-keep.db", name="keep")
    try:
        lines = [ln for c in q.iter_chunks() for ln in c.decode().split("\n")]
    finally:
        q.close()
    out: list[tuple[str, float | None]] = []
    for ln in lines:
        seq = [f for f in ln.split(" ")[1].split(",") if f.startswith("seq=")]
        out.append((ln.split(",")[0], float(seq[0][4:].rstrip("i")) if seq else None))
    return out


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    data = demo_data(tmp_path, 1, 2, [{"id": "keep", "type": "local"}])
    cfg = LinesideConfig.model_validate(data)
    a = Agent(cfg, options=AgentOptions(http=False))
    a.wire(SinkSet(cfg.sinks, Path(cfg.state_dir)), Engine(cfg, time.time()))
    return a


async def test_the_buckets_points_are_queued_and_its_records_follow_in_order(
        agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[Point] = []
    agent.add_listener(seen.extend)
    agent.delivery.deliver([oee(0), record(0)])
    store = agent.delivery.chain
    rw = store._db
    store._db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True,
                                isolation_level=None, check_same_thread=False)
    agent.delivery.deliver([oee(1), record(1)])  # refused: the oee point goes on, no exception
    agent.delivery.deliver([record(2), oee(2)])
    assert store.held == 2
    agent.delivery.deliver([], force_chain=True)  # housekeeping's try: still refused
    assert store.held == 2
    store._db.close()
    store._db = rw
    agent.delivery.deliver([], force_chain=True)  # the disk takes writes again
    assert store.held == 0
    state = Path(agent.cfg.state_dir)
    assert queued(state) == [("oee", None), ("ccp", 1), ("oee", None), ("oee", None),
                             ("ccp", 2), ("ccp", 3)]
    assert [p.fields.get("seq") for p in seen if p.measurement == "ccp"] == [1, 2, 3]
    # the engine state went with the linked records (a kill now re-queues nothing)
    assert store.unqueued() == []
    assert json.loads(agent.sinks.load_state() or b"null") is not None

    # a clean stop while the disk refuses: an ERROR with the count of records lost
    store._db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True,
                                isolation_level=None, check_same_thread=False)
    agent.delivery.deliver([record(3), record(4), oee(3)])
    with caplog.at_level(logging.ERROR):
        await agent.stop()
    rw.close()
    lost = [r for r in caplog.records if "they are lost" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR
    assert "2 records held in memory" in lost[0].getMessage()
    assert queued(state)[6] == ("oee", None)  # the bucket's point was not lost


async def test_records_a_queue_holds_in_memory_are_not_marked_queued(agent: Agent) -> None:
    """The chain file takes writes, a queue file does not: the linked records wait in
    the queue's memory, so the chain file must not mark them queued (a kill now would
    lose them from the queue; the next start queues them again from the chain file)."""
    agent.delivery.deliver([record(0)])
    store = agent.delivery.chain
    q = agent.sinks.sinks["keep"].queue
    rw = q._db
    q._db = sqlite3.connect(f"file:{q.path}?mode=ro", uri=True, isolation_level=None,
                            check_same_thread=False)
    try:
        agent.delivery.deliver([record(1), oee(1)])
        assert q.holding and store.held == 0
        assert [p.fields["seq"] for p in store.unqueued()] == [2]
        agent.delivery.mark_chain()  # housekeeping while the queue still holds them
        assert [p.fields["seq"] for p in store.unqueued()] == [2]
    finally:
        q._db.close()
        q._db = rw
    q.retry_held(force=True)  # the queue's disk takes writes again
    assert not q.holding
    agent.delivery.mark_chain()  # the next housekeeping
    assert store.unqueued() == []
    await agent.stop()
