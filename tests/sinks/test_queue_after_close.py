"""Points that reach a queue after it closed — a poll that finished while the agent
stopped — are kept in the file for the next start instead of failing with 'Cannot
operate on a closed database' and going to the dead-letter file (issue 23)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lineside.points import Point
from lineside.sinks.queue import DiskQueue
from lineside.sinks.settings import LocalSink
from lineside.sinks.sinkset import SinkSet

T0 = 1_796_018_400_000_000_000


def state_point(machine: str, i: int) -> Point:
    return Point("machine_state", {"machine": machine}, {"state": "unknown", "code": 0},
                 T0 + i * 10**9)


def test_a_delivery_after_the_queues_closed_is_kept(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    sinks = SinkSet([LocalSink(type="local", id="keep")], tmp_path)
    sinks.enqueue([state_point("m1", 0)], state=b"before the stop")
    for s in sinks.sinks.values():
        s.queue.close()
    caplog.set_level(logging.WARNING)
    late = [state_point(f"m{i}", 1) for i in range(7)]
    sinks.enqueue(late, state=b"after the last poll")  # the stop's straggler
    assert not sinks.health.failing and sinks.stats()["keep"].set_aside == 0
    assert not (tmp_path / "dead-keep.lp").exists()
    assert "arrived after the queue closed" in caplog.text
    sinks.enqueue([state_point("m9", 2)])  # and again: each opens and closes the file

    q = DiskQueue(tmp_path / "queue-keep.db", name="keep")
    try:
        assert not q.quarantined
        lines = [ln for c in q.iter_chunks() for ln in c.decode().split("\n")]
        assert [ln.split(" ")[0] for ln in lines] == [
            "machine_state,machine=m1", *(f"machine_state,machine=m{i}" for i in range(7)),
            "machine_state,machine=m9"]
        assert q.read_state() == (2, b"after the last poll")
    finally:
        q.close()
