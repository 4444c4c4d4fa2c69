"""DiskQueue on a real full file system (a small tmpfs filled to the last byte): what it
held while the disk refused is written once space returns, and damage found while the
disk is full never leaves the queue without a connection (issue 23)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import lineside.sinks.queue as qmod
from lineside.sinks.queue import DiskQueue
from tests.fixtures.disk import fill, tmpfs
from tests.sinks.queuefiles import lines, queued

pytestmark = pytest.mark.server  # needs mount (root), as tests/e2e/test_full_disk.py


def free(filler: Path, nbytes: int) -> None:
    os.truncate(filler, max(0, filler.stat().st_size - nbytes))


def test_points_held_on_a_full_disk_fit_in_the_space_that_returns(tmp_path: Path) -> None:
    """Many small refused puts are written in one transaction: one each would spend a
    WAL frame per page per put and fill the freed space again, so they stayed held and
    were lost at stop."""
    mnt = tmp_path / "state"
    with tmpfs(mnt):
        q = DiskQueue(mnt / "q.db", name="q")
        try:
            q.put(lines(0, 100))
            filler = fill(mnt)
            for k in range(400):  # a point every cycle of a few devices
                q.put(lines(100 + 5 * k, 5), (k + 1, b"state %d" % k))
            assert q.disk_error and "full" in q.disk_error
            assert q.memory_points == 2000 and q.queue_points == 100
            free(filler, 256 << 10)  # far less than 400 transactions' WAL frames
            q.retry_held(force=True)
            assert q.disk_error is None and q.memory_points == 0
            assert q.queue_points == 2100 and q.read_state() == (400, b"state 399")
        finally:
            q.close()
        filler.unlink()  # (reopening writes too)
        assert queued(mnt / "q.db") == lines(0, 2100)


def test_damage_found_while_the_disk_is_full_holds_and_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A bad page found by a read while the disk is full: the file is moved aside, the
    fresh one cannot be created yet; puts are held (no 'closed database'), reads go
    on, and the next write once space returns creates the file with them."""
    monkeypatch.setattr(qmod, "QUICK_CHECK_ALWAYS_BYTES", 0)  # skip quick_check on open
    mnt = tmp_path / "state"
    path = mnt / "q.db"
    with tmpfs(mnt):
        q = DiskQueue(path, name="q")
        q.put(lines(0, 20_000))
        q.close()
        size = path.stat().st_size
        with open(path, "r+b") as f:  # one page of blob data in the middle
            f.seek(size // 2 // 4096 * 4096)
            f.write(b"\xff" * 4096)
        q = DiskQueue(path, name="q")
        try:
            filler = fill(mnt)
            caplog.set_level(logging.ERROR)
            after = None
            for _ in range(40):  # read on (acks need the disk) until the bad page is met
                b = q.peek(1000, after)
                if not b or q.quarantined:
                    break
                after = b.position_after(len(b))
            assert len(q.quarantined) == 1 and "fresh file" in caplog.text
            assert q.queue_points == 0 and not q.peek(1000)
            q.put(lines(50_000, 30), (7, b"after damage"))  # held, not raised
            assert q.memory_points == 30 and q.disk_error
            free(filler, 512 << 10)
            q.put(lines(50_030, 3))  # behind the held ones
            q.retry_held(force=True)
            assert q.disk_error is None and q.memory_points == 0 and q.queue_points == 33
            assert q.read_state() == (7, b"after damage")
        finally:
            q.close()
        filler.unlink()
        assert queued(path) == lines(50_000, 33)
