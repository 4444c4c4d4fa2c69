"""Records a kill left linked but not queued reach the queues even when the chain file
opens but reading them fails at start: the delivery loop tries again, and nothing is
marked queued meanwhile (issue 23; sinks/pipeline.py)."""

from __future__ import annotations

import contextlib
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
    with contextlib.closing(sqlite3.connect(state / CHAIN_FILE)) as db:
        row = db.execute("SELECT v FROM meta WHERE k='enqueued'").fetchone()
    return int(row[0]) if row else 0


def set_point(state: Path, seq: int, text: str) -> None:
    """Another process's write to a row (closed again: no -wal or -shm kept open)."""
    with contextlib.closing(sqlite3.connect(state / CHAIN_FILE)) as db, db:
        db.execute("UPDATE records SET point=? WHERE seq=?", (text, seq))


def get_point(state: Path, seq: int) -> str:
    with contextlib.closing(sqlite3.connect(state / CHAIN_FILE)) as db:
        return str(db.execute("SELECT point FROM records WHERE seq=?", (seq,)).fetchone()[0])


def test_unqueued_records_that_cannot_be_read_at_start_are_queued_later(
        tmp_path: Path) -> None:
    store = ChainStore(tmp_path / CHAIN_FILE)  # a kill after linking, before queuing
    linked = [p for p in store.link([record(i) for i in range(3)]) if is_record(p)]
    assert [p.fields["seq"] for p in linked] == [1, 2, 3]
    store.close()
    good = get_point(tmp_path, 2)
    set_point(tmp_path, 2, '["ccp", {')  # one row unreadable for a while

    sinks = SinkSet([LocalSink(type="local", id="keep")], tmp_path)
    delivery = Delivery(sinks, tmp_path, snapshot=lambda: b"state")
    try:
        delivery.start_chain()  # opens; reading the unqueued fails: not a failed start
        assert "chain unqueued" in delivery.health.failing
        delivery.deliver([record(3)])  # linking goes on (seq 4), queued
        delivery.housekeeping()  # still unreadable: tried again, nothing marked
        assert delivery.health.readiness()["failing"]["chain unqueued"]["failures"] == 3
        assert enqueued_mark(tmp_path) == 0

        set_point(tmp_path, 2, good)
        delivery.housekeeping()
        assert "chain unqueued" not in delivery.health.failing
    finally:
        delivery.close()
        for s in sinks.sinks.values():
            s.queue.close()
    seqs = queued_seqs(tmp_path)
    assert sorted(set(seqs)) == [1, 2, 3, 4]  # seq 4 twice: InfluxDB keeps it once
    assert enqueued_mark(tmp_path) == 4


def test_a_chain_opened_late_links_on_while_its_unqueued_records_cannot_be_read(
        tmp_path: Path) -> None:
    """The disk refused the chain file at start (opened by the first link once it takes
    writes) and a row of the unqueued records is unreadable then: the new records are
    still linked and queued, not set aside as a failed chain; the unqueued ones follow
    once they can be read, and only then is anything marked queued."""
    from tests.fixtures.disk import fill, tmpfs

    state = tmp_path / "state"
    with tmpfs(state):
        store = ChainStore(state / CHAIN_FILE)
        store.link([record(i) for i in range(3)])  # seq 1-3, a kill before queuing
        store.close()
        good = get_point(state, 2)
        set_point(state, 2, '["ccp", {')
        sinks = SinkSet([LocalSink(type="local", id="keep")], state)
        delivery = Delivery(sinks, state, snapshot=lambda: b"state")
        try:
            filler = fill(state)
            delivery.start_chain()  # the disk refuses the chain file: opened late
            assert delivery.chain is not None and delivery.chain.disk_error
            filler.unlink()
            delivery.deliver([record(3)])  # linked as seq 4 and queued
            assert not delivery.health.failing, delivery.health.readiness()
            assert not (state / "haccp-refused.jsonl").exists()
            assert enqueued_mark(state) == 0
            set_point(state, 2, good)
            delivery.deliver([record(4)])  # seq 5, with 1-4 read again
            delivery.housekeeping()
        finally:
            delivery.close()
            for s in sinks.sinks.values():
                s.queue.close()
        assert sorted(set(queued_seqs(state))) == [1, 2, 3, 4, 5]
        assert enqueued_mark(state) == 5
