"""Records a kill left linked but not queued reach the queues even when the chain file
opens but reading them fails at start: the delivery loop tries again, and nothing is
marked queued meanwhile (issue 23; sinks/pipeline.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lineside.haccp.chain import is_record
from lineside.points import Point
from lineside.sinks.chainstore import ChainStore
from lineside.sinks.pipeline import CHAIN_FILE, Delivery
from lineside.sinks.queue import DiskQueue
from lineside.sinks.settings import LocalSink
from lineside.sinks.sinkset import SinkSet

T0 = 1_796_018_400_000_000_000


def record(i: int) -> Point:
    return Point("ccp", {"site": "s1", "ccp": "cold", "level": "ccp"},
                 {"span_s": 60.0, "within_s": 60.0}, T0 + i * 60_000_000_000)


def queued_seqs(state: Path) -> list[int]:
    q = DiskQueue(state / "queue-keep.db", name="keep")
    try:
        lines = [ln for c in q.iter_chunks() for ln in c.decode().split("\n")]
    finally:
        q.close()
    return [int(f[4:].rstrip("i")) for ln in lines for f in ln.split(" ")[1].split(",")
            if f.startswith("seq=")]


def enqueued_mark(state: Path) -> int:
    with sqlite3.connect(state / CHAIN_FILE) as db:
        row = db.execute("SELECT v FROM meta WHERE k='enqueued'").fetchone()
    return int(row[0]) if row else 0


def test_unqueued_records_that_cannot_be_read_at_start_are_queued_later(
        tmp_path: Path) -> None:
    store = ChainStore(tmp_path / CHAIN_FILE)  # a kill after linking, before queuing
    linked = [p for p in store.link([record(i) for i in range(3)]) if is_record(p)]
    assert [p.fields["seq"] for p in linked] == [1, 2, 3]
    store.close()
    with sqlite3.connect(tmp_path / CHAIN_FILE) as db:  # one row unreadable for a while
        (good,) = db.execute("SELECT point FROM records WHERE seq=2").fetchone()
        db.execute("UPDATE records SET point='[\"ccp\", {' WHERE seq=2")

    sinks = SinkSet([LocalSink(type="local", id="keep")], tmp_path)
    delivery = Delivery(sinks, tmp_path, snapshot=lambda: b"state")
    try:
        delivery.start_chain()  # opens; reading the unqueued fails: not a failed start
        assert "chain unqueued" in delivery.health.failing
        delivery.deliver([record(3)])  # linking goes on (seq 4), queued
        delivery.housekeeping()  # still unreadable: tried again, nothing marked
        assert delivery.health.readiness()["failing"]["chain unqueued"]["failures"] == 3
        assert enqueued_mark(tmp_path) == 0

        with sqlite3.connect(tmp_path / CHAIN_FILE) as db:
            db.execute("UPDATE records SET point=? WHERE seq=2", (good,))
        delivery.housekeeping()
        assert "chain unqueued" not in delivery.health.failing
    finally:
        delivery.close()
        for s in sinks.sinks.values():
            s.queue.close()
    seqs = queued_seqs(tmp_path)
    assert sorted(set(seqs)) == [1, 2, 3, 4]  # seq 4 twice: InfluxDB keeps it once
    assert enqueued_mark(tmp_path) == 4
