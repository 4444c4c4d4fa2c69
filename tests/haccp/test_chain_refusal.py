"""A disk that refuses the chain file's writes: records held in order, nothing lost.

Real SQLite refusals: a tmpfs filled to the last byte ('database or disk is full') and
a read-only connection to the file ('attempt to write a readonly database', what a
state_dir remounted read-only gives). The rule is in docs/haccp.md.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.haccp.chain import verify
from lineside.points import Point
from lineside.sinks.chainstore import ChainStore
from tests.fixtures.disk import fill, tmpfs
from tests.haccp.test_chain import T0, as_read, bucket


def oee(i: int) -> Point:
    return Point("oee", {"site": "s1", "machine": "m1"}, {"oee": 0.5}, T0 + i * 60_000_000_000)


def read_only(store: ChainStore) -> sqlite3.Connection:
    """Swap the store's connection for a read-only one; returns the writable one."""
    rw = store._db
    assert rw is not None
    store._db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True,
                                isolation_level=None, check_same_thread=False)
    return rw


def writable_again(store: ChainStore, rw: sqlite3.Connection) -> None:
    assert store._db is not None
    store._db.close()
    store._db = rw


def test_a_full_disk_holds_the_records_and_links_them_in_order_once_freed(
        tmp_path: Path) -> None:
    with tmpfs(tmp_path / "state", size="256k") as state:
        store = ChainStore(state / "haccp-chain.db")
        try:
            first = store.link([bucket(0)])
            store.mark_enqueued()
            filler = fill(state)
            # the bucket's other points go on; the record is held
            out = store.link([oee(1), bucket(1), bucket(1, ccp="fryer")])
            assert out == [oee(1)]
            assert store.held == 2 and "full" in (store.disk_error or "")
            assert store.link([bucket(2)], force=True) == []  # still full: held behind
            assert store.held == 3 and store.head()[0] == 1  # nothing half-written
            filler.unlink()
            # the first delivery after the disk takes writes: held records first
            out = store.link([oee(3), bucket(3)], force=True)
            assert [(p.measurement, p.fields.get("seq")) for p in out] == [
                ("ccp", 2), ("ccp", 3), ("ccp", 4), ("oee", None), ("ccp", 5)]
            assert [p.ts_ns for p in out if p.measurement == "ccp"] == [
                bucket(i).ts_ns for i in (1, 1, 2, 3)]
            assert store.held == 0 and store.disk_error is None
            store.mark_enqueued()
            chained = as_read(first + [p for p in out if p.measurement == "ccp"])
            assert verify(chained, from_genesis=True, head=store.head()).ok
            assert store.unqueued() == []
        finally:
            store.close()


def test_records_held_while_read_only_are_linked_by_the_next_try(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "haccp-chain.db")
    try:
        first = store.link([bucket(0)])
        rw = read_only(store)
        assert store.link([bucket(1), oee(1)]) == [oee(1)]
        assert "readonly" in (store.disk_error or "") and store.held == 1
        # within RETRY_S of the refusal a delivery does not try again (but keeps order)
        assert store.link([bucket(2)]) == [] and store.held == 2
        writable_again(store, rw)
        out = store.link([], force=True)  # housekeeping's try
        assert [p.fields["seq"] for p in out] == [2, 3]
        assert out[0].fields["prev"] == first[0].fields["hash"]
        assert [p.ts_ns for p in out] == [bucket(1).ts_ns, bucket(2).ts_ns]
    finally:
        store.close()


def test_above_the_bound_the_oldest_held_records_are_dropped_never_a_gap(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = ChainStore(tmp_path / "haccp-chain.db", memory_max_records=3)
    try:
        first = store.link([bucket(0)])
        rw = read_only(store)
        for i in range(1, 6):
            store.link([bucket(i)], force=True)
        assert store.held == 3 and store.dropped == 2  # buckets 1 and 2
        warned = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
        assert len(warned) == 1  # once per refusal, not once per record
        writable_again(store, rw)
        out = store.link([], force=True)
        assert [(p.fields["seq"], p.ts_ns) for p in out] == [
            (2, bucket(3).ts_ns), (3, bucket(4).ts_ns), (4, bucket(5).ts_ns)]
        assert verify(as_read(first + out), from_genesis=True).ok
        assert "(2 dropped above the bound meanwhile)" in caplog.records[-1].getMessage()
    finally:
        store.close()


def test_a_stop_while_the_disk_refuses_says_how_many_records_are_lost(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = ChainStore(tmp_path / "haccp-chain.db")
    store.link([bucket(0)])
    rw = read_only(store)
    store.link([bucket(1), bucket(2)])
    with caplog.at_level(logging.ERROR):
        store.close()
    rw.close()
    lost = [r.getMessage() for r in caplog.records if "stopping" in r.getMessage()]
    assert len(lost) == 1 and "2 records held in memory" in lost[0], lost
    assert caplog.records[-1].levelno == logging.ERROR
    again = ChainStore(tmp_path / "haccp-chain.db")
    try:
        assert again.head()[0] == 1  # none of them chained: the next record is seq 2
    finally:
        again.close()


def test_a_chain_file_that_cannot_be_opened_holds_until_it_can(tmp_path: Path) -> None:
    """A state_dir already full at start (SQLite cannot even make the file's shared
    memory: 'disk I/O error'): the store opens on the first try that works and queues
    what a kill left linked but unqueued before the records held meanwhile."""
    with tmpfs(tmp_path / "state", size="256k") as state:
        path = state / "haccp-chain.db"
        store = ChainStore(path)
        store.link([bucket(0)])
        store.mark_enqueued()
        store.link([bucket(1)])  # ... and killed before it was queued
        store.close()
        filler = fill(state)
        late = ChainStore(path)
        try:
            assert late.disk_error is not None and late.unqueued() == []
            assert late.link([oee(2), bucket(2)]) == [oee(2)] and late.held == 1
            late.mark_enqueued()  # (a delivery of other points: must not mark seq 2 queued)
            filler.unlink()
            out = late.link([], force=True)
            assert [p.fields["seq"] for p in out] == [2, 3]  # the unqueued one, then the held
            assert [p.ts_ns for p in out] == [bucket(1).ts_ns, bucket(2).ts_ns]
        finally:
            late.close()


# one step: (the chain file takes writes, the batch: "r" a record, "o" another point)
STEPS = st.lists(st.tuples(st.booleans(), st.lists(st.sampled_from("ro"), max_size=4)),
                 max_size=12)


@settings(max_examples=40, deadline=None)
@given(steps=STEPS)
def test_any_run_of_refusals_links_every_record_once_in_order(steps) -> None:
    """Whatever the disk does between batches: every other point comes back at once and
    in order, every record eventually, in the engine's order, in one unbroken chain."""
    with tempfile.TemporaryDirectory() as d:
        store = ChainStore(Path(d) / "haccp-chain.db")
        rw = store._db
        assert rw is not None
        ro = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True,
                             isolation_level=None, check_same_thread=False)
        try:
            made: list[Point] = []
            out: list[Point] = []
            for i, (writable, kinds) in enumerate(steps):
                store._db = rw if writable else ro
                batch = [bucket(len(made) + j) if k == "r" else oee(100 * i + j)
                         for j, k in enumerate(kinds)]
                made += batch
                got = store.link(batch, force=True)
                others = [p for p in batch if p.measurement != "ccp"]
                assert [p for p in got if p.measurement != "ccp"] == others
                out += got
            store._db = rw
            out += store.link([], force=True)
            records = [p for p in out if p.measurement == "ccp"]
            assert [p.ts_ns for p in records] == [p.ts_ns for p in made
                                                  if p.measurement == "ccp"]
            assert [p.fields["seq"] for p in records] == list(range(1, len(records) + 1))
            assert verify(as_read(records), from_genesis=True, head=store.head()).ok \
                or not records
            assert store.held == 0 and store.dropped == 0
        finally:
            store._db = rw
            ro.close()
            store.close()
