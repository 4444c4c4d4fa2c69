"""A queue and a HACCP chain opened on a real full file system (a small tmpfs filled to
the last byte): the agent restarted on a full disk starts, holds what it is given in
memory, and once space returns opens its files and writes it behind what they already
had, none lost or twice (issue 23)."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import lineside.sinks.chainstore as chainstore
import lineside.sinks.queue as qmod
from lineside.haccp.chain import is_record
from lineside.points import Point
from lineside.sinks.chainstore import ChainStore
from lineside.sinks.pipeline import CHAIN_FILE, Delivery
from lineside.sinks.queue import DiskQueue
from lineside.sinks.settings import LocalSink
from lineside.sinks.sinkset import SinkSet
from tests.fixtures.disk import fill, tmpfs
from tests.sinks.queuefiles import lines, queued

pytestmark = pytest.mark.server  # needs mount (root), as tests/e2e/test_full_disk.py

T0 = 1_796_018_400_000_000_000


def killed_after_put(path: Path, n: int) -> None:
    """Another process puts n points with an engine state and dies without closing:
    the -wal and -shm files stay, the file is marked unclean."""
    code = ("import os, sys\n"
            "from lineside.sinks.queue import DiskQueue\n"
            "q = DiskQueue(sys.argv[1])\n"
            f"q.put([f'signal,machine=m{{i % 7}} value={{i}} {{1_700_000_000_000_000_000 + i}}'"
            f" for i in range({n})], (3, b'before the kill'))\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)


@pytest.mark.parametrize("stop", ["clean", "kill"])
def test_a_queue_opened_on_a_full_disk_holds_and_writes_behind_its_points(
        tmp_path: Path, stop: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    connect = DiskQueue._connect

    def traced(self: DiskQueue) -> sqlite3.Connection:
        db = connect(self)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(DiskQueue, "_connect", traced)
    mnt = tmp_path / "state"
    path = mnt / "q.db"
    with tmpfs(mnt):
        if stop == "clean":
            q = DiskQueue(path, name="q")
            q.put(lines(0, 100), (3, b"before the kill"))
            q.close()
        else:
            killed_after_put(path, 100)
            assert Path(f"{path}-wal").exists()
        filler = fill(mnt)
        caplog.set_level(logging.INFO)
        statements.clear()
        q = DiskQueue(path, name="q")  # raised QueueError: the agent did not start
        try:
            assert q.disk_error and "at start" in caplog.text
            assert q.read_state() == (3, b"before the kill")  # the engine resumes
            assert q.queue_points == 0 and not q.peek(1000)  # nothing read before it opens
            for k in range(50):
                q.put(lines(100 + 4 * k, 4), (4 + k, b"held %d" % k))
            for _ in range(3):
                q.retry_held(force=True)  # still full: stays held
            assert q.memory_points == 200 and q.disk_error
            # a kill leaves -wal and -shm: the open gets as far as the `clean` mark, past
            # quick_check, which is not run again at each retry (seconds per GiB)
            checks = statements.count("PRAGMA quick_check")
            assert checks == (1 if stop == "kill" else 0), statements
            filler.unlink()
            q.put(lines(300, 4))  # behind the held ones, not before (rate-limited retry)
            q.retry_held(force=True)
            assert q.disk_error is None and q.memory_points == 0 and not q.holding
            assert q.queue_points == 304 and q.read_state() == (53, b"held 49")
            assert "the disk takes writes again; 204 points" in caplog.text
            b = q.peek(1000)
            assert b.lines == lines(0, 304)
            q.ack(b.position_after(len(b)), b.gen)
        finally:
            q.close()
        assert queued(path) == []  # every point acked once, none left twice
        assert not [p for p in os.listdir(mnt) if ".corrupt-" in p]


def test_a_new_queue_on_a_full_disk_is_created_by_housekeeping(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No file yet and nothing put: the sink's loop (`retry_held`) opens it once space
    returns, so `/readyz` recovers without waiting for a point; within the memory bound
    the oldest held points are dropped and counted as while running."""
    mnt = tmp_path / "state"
    path = mnt / "q.db"
    with tmpfs(mnt):
        filler = fill(mnt)
        q = DiskQueue(path, name="q", memory_max_bytes=8 << 10)
        try:
            assert q.disk_error and q.read_state() is None and q.queue_points == 0
            assert "cannot read" not in caplog.text  # (an empty file has no state)
            q.retry_held(force=True)
            assert q.disk_error
            filler.unlink()
            q.retry_held()  # within RETRY_HELD_S of the last try: not yet
            assert q.disk_error
            q.retry_held(force=True)
            assert q.disk_error is None and path.stat().st_size > 0
            filler = fill(mnt)
            for k in range(100):  # ~5 KB a put: the bound keeps the newest only
                q.put(lines(100 * k, 100))
            kept = q.memory_points
            assert 100 <= kept < 10_000 and q.memory_bytes <= 8 << 10
            assert q.dropped == {"signal": 10_000 - kept}
            filler.unlink()
            q.retry_held(force=True)
        finally:
            q.close()
        assert queued(path) == lines(10_000 - kept, kept)


def record(i: int) -> Point:
    return Point("ccp", {"site": "s1", "ccp": "cold", "level": "ccp"},
                 {"span_s": 60.0, "within_s": 60.0}, T0 + i * 60_000_000_000)


def test_a_chain_opened_on_a_full_disk_queues_its_unqueued_records_by_housekeeping(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill left records linked but not queued; the agent restarts on a full disk:
    queue and chain start unopened; once space returns, housekeeping alone (no new
    record) opens the chain, queues those records and marks them, without a gap."""
    monkeypatch.setattr(chainstore, "RETRY_S", 0.0)  # no waiting between tries
    monkeypatch.setattr(qmod, "RETRY_HELD_S", 0.0)
    state = tmp_path / "state"
    with tmpfs(state):
        store = ChainStore(state / CHAIN_FILE)
        assert [p.fields["seq"] for p in store.link([record(i) for i in range(3)])
                if is_record(p)] == [1, 2, 3]
        store.close()
        filler = fill(state)
        sinks = SinkSet([LocalSink(type="local", id="keep")], state)
        delivery = Delivery(sinks, state, snapshot=lambda: b"state")
        try:
            delivery.start_chain()
            chain = delivery.chain
            assert chain is not None and chain.disk_error and chain.pending
            assert sinks.stats()["keep"].disk_error
            delivery.housekeeping()  # still full: nothing changes, nothing fails
            assert chain.disk_error and not delivery.health.failing
            filler.unlink()
            delivery.housekeeping()
            sinks.sinks["keep"].queue.retry_held()  # (the sink's loop, every second)
            delivery.housekeeping()  # marks them queued once the queue wrote them
            assert chain.disk_error is None and not chain.pending
            assert sinks.stats()["keep"].disk_error is None
            delivery.deliver([record(3)])  # seq 4, after them
            assert not delivery.health.failing
        finally:
            delivery.close()
            for s in sinks.sinks.values():
                s.queue.close()
        got = [ln for ln in queued(state / "queue-keep.db") if ln.startswith("ccp,")]
        seqs = [int(f[4:].rstrip("i")) for ln in got for f in ln.split(" ")[1].split(",")
                if f.startswith("seq=")]
        assert seqs == [1, 2, 3, 4]
        store = ChainStore(state / CHAIN_FILE)
        try:
            assert store.head()[0] == 4 and store.unqueued() == []
        finally:
            store.close()


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, timeout=10)


def test_a_queue_opened_on_a_read_only_disk_holds_until_it_is_writable(
        tmp_path: Path) -> None:
    """The same for a state disk mounted read-only at start (a mount error, a worn eMMC
    the kernel remounted): held, then written behind the file's points."""
    mnt = tmp_path / "state"
    path = mnt / "q.db"
    with tmpfs(mnt):
        q = DiskQueue(path, name="q")
        q.put(lines(0, 10), (1, b"first"))
        q.close()
        remount(mnt, "ro")
        try:
            q = DiskQueue(path, name="q")
            assert q.disk_error and q.read_state() == (1, b"first")
            q.put(lines(10, 5), (2, b"held"))
            assert q.memory_points == 5
        finally:
            remount(mnt, "rw")
        try:
            q.retry_held(force=True)
            assert q.disk_error is None and q.queue_points == 15
            assert q.read_state() == (2, b"held")
        finally:
            q.close()
        assert queued(path) == lines(0, 15)
