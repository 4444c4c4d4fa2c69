"""DiskQueue: FIFO with an ack cursor, byte bound with drop-oldest, restart, corruption."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineside.sinks.queue import CHUNK_LINES, DiskQueue


def lines(meas: str, n: int, start: int = 0) -> list[str]:
    return [f"{meas},machine=m{i % 7} value={i} {1_700_000_000_000_000_000 + i}"
            for i in range(start, start + n)]


def drain(q: DiskQueue, batch: int = 777) -> list[str]:
    out: list[str] = []
    while True:
        b = q.peek(batch)
        if not b:
            return out
        out.extend(b.lines)
        q.ack(b.position_after(len(b)))
        q.release()


@pytest.mark.parametrize("fsync", ["always", "batch", "off"])
def test_fifo_ack_and_restart(tmp_path: Path, fsync: str) -> None:
    path = tmp_path / "q.db"
    q = DiskQueue(path, fsync=fsync)  # type: ignore[arg-type]
    data = lines("signal", 2500) + lines("oee", 10)
    q.put(data[:1200])
    q.put(data[1200:])
    assert q.queue_points == len(data)
    b = q.peek(1500)
    assert b.lines == data[:1500]
    q.ack(b.position_after(1234))  # a partial ack, e.g. after a 413 split
    q.release()
    q.close()

    q2 = DiskQueue(path, fsync=fsync)  # type: ignore[arg-type]
    assert q2.queue_points == len(data) - 1234
    assert drain(q2) == data[1234:]
    assert q2.queue_points == 0 and q2.queue_bytes == 0
    q2.close()
    assert DiskQueue(path).queue_points == 0


def test_full_queue_drops_oldest_counted_per_measurement(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path / "q.db", max_bytes=1 << 16)
    old = lines("signal", 600) + lines("machine_state", 400)
    q.put(old)
    q.put(lines("oee", 500))
    assert q.queue_bytes <= 1 << 16
    kept = drain(q)
    assert kept[-500:] == lines("oee", 500), "the newest points are kept"
    dropped = sum(q.dropped.values())
    assert dropped + len(kept) == 1500
    assert dropped > 0 and set(q.dropped) <= {"signal", "machine_state"}
    assert kept == (old + lines("oee", 500))[dropped:], "exactly the oldest went"


def test_points_in_flight_are_not_dropped(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path / "q.db", max_bytes=1 << 16)
    first = lines("signal", CHUNK_LINES)
    q.put(first)
    b = q.peek(10)  # first chunk is being sent
    q.put(lines("oee", 800))
    q.put(lines("oee", 800, start=800))
    assert q.dropped["oee"] > 0 and q.dropped["signal"] == 0
    q.ack(b.position_after(len(b)))
    q.release()
    rest = drain(q)
    assert rest[: CHUNK_LINES - 10] == first[10:]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["put", "peek_ack", "reopen"]),
                          st.integers(1, 2600)), max_size=12))
def test_matches_a_list_model(tmp_path: Path, ops: list[tuple[str, int]]) -> None:
    path = tmp_path / f"m{abs(hash(tuple(ops)))}.db"
    q = DiskQueue(path, fsync="off")
    model: list[str] = []
    n = 0
    for op, k in ops:
        if op == "put":
            new = lines("m", k, start=n)
            n += k
            q.put(new)
            model.extend(new)
        elif op == "peek_ack":
            b = q.peek(k)
            assert b.lines == model[: len(b)]
            ack = k // 2
            if len(b):
                q.ack(b.position_after(min(ack, len(b))))
                del model[: min(ack, len(b))]
            q.release()
        else:
            q.close()
            q = DiskQueue(path, fsync="off")
        assert q.queue_points == len(model)
    assert drain(q) == model
    q.close()


def _corrupt_garbage(p: Path) -> None:
    p.write_bytes(os.urandom(64 * 1024))


def _corrupt_truncate(p: Path) -> None:
    size = p.stat().st_size
    with open(p, "r+b") as f:
        f.truncate(size // 3)


def _corrupt_pages(p: Path) -> None:
    with open(p, "r+b") as f:
        f.seek(8192)
        f.write(b"\xff" * 20000)


@pytest.mark.parametrize("damage", [_corrupt_garbage, _corrupt_truncate, _corrupt_pages])
def test_corrupt_file_is_moved_aside_and_a_fresh_queue_starts(
        tmp_path: Path, damage, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "queue-plant.db"
    q = DiskQueue(path)
    q.put(lines("signal", 20_000))
    q.close()  # checkpoints the WAL into the main file
    damage(path)
    caplog.set_level(logging.ERROR)
    q2 = DiskQueue(path)
    assert q2.queue_points == 0
    assert len(q2.quarantined) == 1 and q2.quarantined[0].exists()
    assert "unreadable" in caplog.text and str(q2.quarantined[0]) in caplog.text
    q2.put(lines("oee", 3))
    assert drain(q2) == lines("oee", 3)
    q2.close()
    # a third start does not loop on the quarantined file
    assert DiskQueue(path).quarantined == []


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        DiskQueue(blocker / "q.db")
    assert blocker.read_text() == "x"


def test_a_locked_file_is_not_mistaken_for_a_corrupt_one(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    q = DiskQueue(path, busy_timeout_s=0.2)
    q.put(lines("signal", 10))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. `lineside export` holding the file
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            q.put(lines("signal", 5, start=10))
    finally:
        other.execute("ROLLBACK")
    assert q.quarantined == []
    q.put(lines("signal", 5, start=10))
    assert drain(q) == lines("signal", 15)


def test_wal_contents_survive_without_close(tmp_path: Path) -> None:
    """Like a kill -9: the connection is never closed, the WAL is not checkpointed."""
    path = tmp_path / "q.db"
    q = DiskQueue(path, fsync="batch")
    q.put(lines("signal", 5000))
    assert Path(str(path) + "-wal").stat().st_size > 0
    # open a second handle while the first is still open and never closed
    q2 = DiskQueue(path)
    assert q2.queue_points == 5000
    del q
    assert sqlite3.connect(path).execute("SELECT SUM(n) FROM chunks").fetchone()[0] == 5000


def test_damage_found_while_running_restarts_the_queue_and_voids_old_positions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import lineside.sinks.queue as qmod

    monkeypatch.setattr(qmod, "QUICK_CHECK_ALWAYS_BYTES", 0)  # a "large" file
    path = tmp_path / "q.db"
    q = DiskQueue(path)
    q.put(lines("signal", 30_000))
    q.close()  # clean: the next open skips quick_check
    size = path.stat().st_size
    with open(path, "r+b") as f:  # one page in the middle: blob data, not head or tail
        f.seek(size // 2 // 4096 * 4096)
        f.write(b"\xff" * 4096)
    caplog.set_level(logging.ERROR)
    q = DiskQueue(path)
    assert q.quarantined == [] and q.queue_points == 30_000
    old = q.peek(1000)
    seen = 0
    for _ in range(40):
        b = q.peek(1000)
        if not b or q.quarantined:
            break
        seen += len(b)
        q.ack(b.position_after(len(b)), b.gen)
    assert len(q.quarantined) == 1 and "while running" in caplog.text
    q.put(lines("oee", 5))
    q.ack(old.position_after(len(old)), old.gen)  # stale: must not delete the new points
    assert drain(q) == lines("oee", 5)


def test_unclean_stop_runs_quick_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineside.sinks.queue as qmod

    monkeypatch.setattr(qmod, "QUICK_CHECK_ALWAYS_BYTES", 0)
    path = tmp_path / "q.db"
    q = DiskQueue(path)
    q.put(lines("signal", 30_000))
    q.checkpoint()  # data in the main file, but never closed (like kill -9)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff" * 40_000)
    q2 = DiskQueue(path)
    assert len(q2.quarantined) == 1 and q2.queue_points == 0


def test_engine_state_is_committed_with_its_points(tmp_path: Path) -> None:
    """The snapshot rides in the points' transaction: read back after a reopen (or a kill,
    tests/e2e/test_restarts.py), it has seen every queued point."""
    q = DiskQueue(tmp_path / "q.db", name="q")
    assert q.read_state() is None
    q.put(["oee,level=site run_s=1 1"], (1, b'{"now": 1}'))
    q.put([], (2, b'{"now": 2}'))  # the state alone (housekeeping)
    q.close()
    q = DiskQueue(tmp_path / "q.db", name="q")
    try:
        assert q.read_state() == (2, b'{"now": 2}') and q.queue_points == 1
    finally:
        q.close()


def test_newest_state_of_several_sinks_wins(tmp_path: Path) -> None:
    from lineside.points import Point
    from lineside.sinks.settings import LocalSink
    from lineside.sinks.sinkset import SinkSet

    cfgs = [LocalSink(type="local", id="a"), LocalSink(type="local", id="b")]
    s = SinkSet(cfgs, tmp_path)
    s.enqueue([Point("oee", {"level": "site"}, {"run_s": 1.0}, 10**9)], state=b"one")
    s.sinks["b"].queue.put([], (99, b"newest"))  # a kill between two queues' commits
    s.sinks["a"].queue.close()
    s.sinks["b"].queue.close()
    s2 = SinkSet(cfgs, tmp_path)
    try:
        assert s2.load_state() == b"newest"
        s2.enqueue([], state=b"next")  # numbering goes on above every queue's
        assert s2.sinks["a"].queue.read_state() == (100, b"next")
    finally:
        for sk in s2.sinks.values():
            sk.queue.close()


def test_refused_writes_are_held_in_order_within_the_memory_bound(tmp_path: Path,
                                                                  monkeypatch) -> None:
    """The policy around a refusing disk (the real one is a full tmpfs in
    tests/e2e/test_full_disk.py): held in order, oldest dropped above the bound and
    counted, written in order once the disk takes them, the state with them."""
    import sqlite3

    from lineside.sinks import queue as queue_mod

    q = DiskQueue(tmp_path / "q.db", name="q", memory_max_bytes=62)
    real = q._put_rows
    refuse = [True]

    def put_rows(rows, state=None):  # type: ignore[no-untyped-def]
        if refuse[0]:
            raise sqlite3.OperationalError("database or disk is full")
        return real(rows, state)

    monkeypatch.setattr(q, "_put_rows", put_rows)
    monkeypatch.setattr(queue_mod, "RETRY_HELD_S", 0.0)
    try:
        for i in range(5):  # lines of 30 bytes (+1 newline): 62 bytes hold two of them
            q.put([f"m{i},a=b v=1 {10**18 + i}"], (i + 1, b"state %d" % i))
        assert q.disk_error and q.queue_points == 0
        assert q.memory_points == 2 and q.dropped == {"m0": 1, "m1": 1, "m2": 1}
        refuse[0] = False
        q.retry_held()
        assert q.memory_points == 0 and q.disk_error is None
        assert [c.decode() for c in q.iter_chunks()] == [
            f"m{i},a=b v=1 {10**18 + i}" for i in (3, 4)]
        assert q.read_state() == (5, b"state 4")
    finally:
        q.close()


def test_a_read_only_database_is_a_refusal_too(tmp_path: Path) -> None:
    """A state_dir the kernel remounted read-only (ext4 errors=remount-ro): SQLite's own
    'attempt to write a readonly database', from a read-only connection to the same
    file, is held like a full disk and written once the file takes writes again.
    (A tmpfs cannot be remounted read-only while the queue has it open: EBUSY.)"""
    import sqlite3

    q = DiskQueue(tmp_path / "q.db", name="q")
    rw = q._db
    try:
        q.put(["m,a=b v=1 1"])
        q._db = sqlite3.connect(f"file:{tmp_path / 'q.db'}?mode=ro", uri=True,
                                isolation_level=None, check_same_thread=False)
        q.put(["m,a=b v=2 2"], (1, b"s"))
        assert "readonly" in (q.disk_error or "") and q.memory_points == 1
        q._db.close()
        q._db = rw
        q.retry_held(force=True)
        assert q.disk_error is None and q.memory_points == 0 and q.queue_points == 2
        assert q.read_state() == (1, b"s")
    finally:
        q._db = rw
        q.close()
