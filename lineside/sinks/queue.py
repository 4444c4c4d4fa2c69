"""Durable, bounded FIFO of line-protocol points in one SQLite file (WAL mode).

Layout (format version 1, see docs/delivery.md):

    chunks(id INTEGER PRIMARY KEY AUTOINCREMENT, n, nbytes, data BLOB)
    meta(k TEXT PRIMARY KEY, v INTEGER)  -- 'format' = 1, 'head_offset', 'clean'
    state(k TEXT PRIMARY KEY, seq, data BLOB)  -- 'engine': the engine snapshot

The engine snapshot is written in the same transaction as the points it goes with
(`put(lines, state=(seq, data))`): after a kill, the state read back has seen every
point in the queue, so a restarted engine never closes a queued bucket a second time.

One enqueue call = one transaction that appends one or more chunks (≤ CHUNK_LINES lines,
UTF-8, '\n'-joined). Rows are cheap to insert and already joined for the HTTP body, which
is what makes ≥200k points/s possible from Python. The read cursor is an absolute
position (chunk id, line offset): everything in chunks with a smaller id is gone, and
`head_offset` lines of the oldest chunk were already accepted by the server. A position
only moves forward after the server said 2xx, so a crash re-sends at most the batch in
flight (at-least-once on the wire; InfluxDB overwrites an identical point, so the
database holds it once).

The byte bound counts the payload bytes (line protocol + newline). Above it the oldest
chunks not currently being sent are deleted, counted per measurement. SQLite reuses the
freed pages, so the file stays near its high-water mark (≈ max_bytes plus ~3% page
overhead) and does not shrink by itself.

A disk that refuses writes (full, read-only, I/O errors) is not damage: the points
(and engine state) of each refused `put` are held in memory in order, up to
`memory_max_bytes` (oldest dropped above it, counted per measurement), written again at
most once a second (each put, and `retry_held()` from the sink's loop) and in order
once the disk takes them, all of them in one transaction (one small write per held put
would fill the WAL again with page overhead); `disk_error` says why meanwhile. The file
is never touched by a refused write (SQLite rolls the transaction back), so it stays
intact. A disk that refuses the file when the queue opens (an agent restarted on a full
disk) is the same case, not a failed start: the queue starts unopened and holds, the
engine state is read without writing (`read_state`), and the first write the disk takes
opens the file (checked and loaded as at start) before the held points go in behind
the ones it already had.

A file SQLite cannot read (truncated, overwritten, not a database) is renamed to
`<name>.corrupt-<UTC timestamp>` with an ERROR log line and a fresh queue is started:
the agent keeps running instead of crash-looping on a bad file. Damage found while
running on a disk that then refuses to create the fresh file leaves the queue without a
connection: puts are held as above and the next write opens the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from lineside.sinks.lineproto import measurement_of

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHUNK_LINES = 1000
CHUNK_BYTES = 256 * 1024
QUICK_CHECK_ALWAYS_BYTES = 64 << 20
AUTOCHECKPOINT_PAGES = 16384  # 64 MiB of 4 KiB pages
# Page cache per connection (SQLite's default: 2 MiB, two connections per queue). A chunk
# is written once and read once, oldest first: a larger cache only holds pages the OS
# page cache holds too (bench/README.md: 1.9 of 3.8 MiB of SQLite's peak at plant load).
CACHE_KIB = 256
FsyncPolicy = Literal["always", "batch", "off"]
_SYNCHRONOUS = {"always": "FULL", "batch": "NORMAL", "off": "OFF"}


RETRY_HELD_S = 1.0  # how often writing held points is tried again while the disk refuses
_REFUSALS = ("full", "readonly", "read-only", "disk i/o error", "unable to open")


def is_refusal(e: BaseException) -> bool:
    """The disk refuses writes (full, remounted read-only, I/O error): hold, retry."""
    return (isinstance(e, sqlite3.OperationalError)
            and any(w in str(e).lower() for w in _REFUSALS))


class QueueError(RuntimeError):
    """The queue file can neither be opened nor recreated (permissions, disk)."""


def is_corruption(e: BaseException) -> bool:
    """Damage to the file (move it aside) as opposed to locks, permissions, full disk."""
    if not isinstance(e, sqlite3.DatabaseError):
        return False
    msg = str(e).lower()
    if any(w in msg for w in ("malformed", "not a database", "corrupt", "queue format",
                              "quick_check", "mismatch")):
        return True
    return type(e) is sqlite3.DatabaseError


Position = tuple[int, int]  # (chunk id, lines of that chunk already consumed)


class Chunk(NamedTuple):
    """One row of `chunks` before it is written: `n` lines, `nbytes` = payload + 1."""

    n: int
    nbytes: int
    data: bytes


class EngineState(NamedTuple):
    """The engine snapshot committed with a put, numbered across the sinks."""

    seq: int
    data: bytes


class Held(NamedTuple):
    """A put the disk refused, held in memory until it takes writes (in order)."""

    chunks: list[Chunk]
    state: EngineState | None
    points: int


class Batch:
    """Lines read from the head; `segments` maps them back to queue positions.

    The happy path never splits the stored chunks: `body()` joins their bytes as they are.
    `lines` (decoded, split) is built on first use, for error handling and tests.
    """

    __slots__ = ("_lines", "gen", "n", "raw", "segments")

    def __init__(self, raw: list[bytes], segments: list[tuple[int, int, int]],
                 gen: int = 0) -> None:
        self.gen = gen  # queue generation it was read from (see DiskQueue.ack)
        self.raw = raw  # '\n'-joined line groups, in order
        self.segments = segments  # (chunk id, start offset, count)
        self.n = sum(c for _, _, c in segments)
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = [ln for r in self.raw for ln in r.decode().split("\n")] if self.n else []
        return self._lines

    def body(self) -> bytes:
        return b"\n".join(self.raw)

    def __len__(self) -> int:
        return self.n

    def position_after(self, k: int) -> Position:
        """Queue position just after the first k lines of this batch."""
        for cid, start, count in self.segments:
            if k < count:
                return (cid, start + k)
            k -= count
            last = (cid, start + count)
        return last


class DiskQueue:
    """Append-only durable queue with an ack cursor; thread-safe (one lock)."""

    def __init__(self, path: Path, max_bytes: int = 1 << 30, fsync: FsyncPolicy = "batch",
                 name: str = "", busy_timeout_s: float = 30.0,
                 memory_max_bytes: int = 32 << 20) -> None:
        self.path = Path(path)
        self.memory_max_bytes = memory_max_bytes
        self._held: deque[Held] = deque()  # refused puts, in order (module docstring)
        self.memory_points = 0
        self.memory_bytes = 0
        self.disk_error: str | None = None
        self._retry_at = 0.0
        self.busy_timeout_s = busy_timeout_s
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.name = name or self.path.stem
        self._lock = threading.RLock()
        self._index: OrderedDict[int, tuple[int, int]] = OrderedDict()  # id -> (n, nbytes)
        self._bytes = 0
        self._points = 0
        self._head_offset = 0
        self._inflight_upto = 0  # chunks with id <= this are being sent: never dropped
        self.dropped: Counter[str] = Counter()
        self._pending_drop_counts: Counter[str] = Counter()  # _drop_for -> _forget
        self.quarantined: list[Path] = []
        self.generation = 0
        self._ckpt_db: sqlite3.Connection | None = None
        self._ckpt_gen = -1
        # The checkpointer runs in a worker thread that a stop does not wait for: this
        # lock and flag keep it from reopening its connection after close(), which
        # left the -wal file behind (SQLite removes it when the last connection closes).
        self._ckpt_lock = threading.Lock()
        self._closed = False
        self._db: sqlite3.Connection | None = None  # None: to open at the next write
        self._unopened = False  # the disk refused the file at start: open it fully later
        self._checked = False  # its quick_check passed (not repeated at each retry)
        self._start_state: EngineState | None = None  # its engine state, read meanwhile
        self._open_or_recover()

    # -- opening and recovery -------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                             timeout=self.busy_timeout_s)
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={_SYNCHRONOUS[self.fsync]}")
        db.execute("PRAGMA journal_size_limit=67108864")
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        # The delivery loop checkpoints every second from its own connection (no lock,
        # not in the enqueue path); SQLite's own checkpoint is only a safety net.
        db.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        db.execute(
            "CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " n INTEGER NOT NULL, nbytes INTEGER NOT NULL, data BLOB NOT NULL)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS state(k TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
                   " data BLOB NOT NULL)")
        row = db.execute("SELECT v FROM meta WHERE k='format'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES('format', ?)", (FORMAT_VERSION,))
        elif row[0] != FORMAT_VERSION:
            raise sqlite3.DatabaseError(f"unknown queue format {row[0]}")

    def _load(self, db: sqlite3.Connection) -> None:
        index: OrderedDict[int, tuple[int, int]] = OrderedDict()
        total_b = total_n = 0
        for cid, n, nb in db.execute("SELECT id, n, nbytes FROM chunks ORDER BY id"):
            index[cid] = (n, nb)
            total_b += nb
            total_n += n
        row = db.execute("SELECT v FROM meta WHERE k='head_offset'").fetchone()
        head = int(row[0]) if row else 0
        if index:
            # Reading the head and tail chunks proves their data pages are readable too
            # (a truncated file fails on the tail).
            first, last = next(iter(index)), next(reversed(index))
            for cid in {first, last}:
                data = db.execute("SELECT data FROM chunks WHERE id=?", (cid,)).fetchone()[0]
                if data.count(b"\n") + 1 != index[cid][0]:
                    raise sqlite3.DatabaseError(f"chunk {cid} line count mismatch")
            head = min(head, index[first][0])
        else:
            head = 0
        self._index, self._bytes, self._points, self._head_offset = index, total_b, total_n, head

    def _open_or_recover(self) -> None:
        """At start: a disk that refuses the file (full, read-only) leaves the queue
        unopened instead of failing the agent: puts are held as when it refuses while
        running, and the next write (or `retry_held`) opens the file."""
        try:
            self._open_file()
        except sqlite3.OperationalError as e:
            if not is_refusal(e):
                raise QueueError(f"cannot open queue file {self.path}: {e}") from e
            self._unopened = True  # (and nothing loaded: reads wait for the open)
            self._index, self._bytes, self._points, self._head_offset = OrderedDict(), 0, 0, 0
            self._start_state = self._peek_state()
            self._refused(e, at_start=True)
        except sqlite3.Error as e:
            raise QueueError(f"cannot open queue file {self.path}: {e}") from e

    def _open_file(self) -> None:
        """Open, check and load the file (sets `_db`); a damaged one is moved aside and a
        fresh one created. A disk's refusal propagates, nothing kept open."""
        db: sqlite3.Connection | None = None
        try:
            db = self._connect()
            # quick_check reads every page (a few seconds per GiB on eMMC): done for small
            # files and after an unclean stop (kill -9, power cut), when damage is likely.
            # Damage found later while reading is handled the same way (_recover_runtime).
            # Checked once: a disk that refuses the open after the check (the `clean`
            # mark) is retried every second, and the file cannot change meanwhile.
            row = db.execute("SELECT v FROM meta WHERE k='clean'").fetchone()
            clean = bool(row and row[0])
            if not self._checked and (not clean or self.path.stat().st_size
                                      <= QUICK_CHECK_ALWAYS_BYTES):
                res = db.execute("PRAGMA quick_check").fetchone()
                if res is None or res[0] != "ok":
                    raise sqlite3.DatabaseError(f"quick_check: {res and res[0]}")
            self._checked = True
            self._load(db)
            db.execute("INSERT OR REPLACE INTO meta VALUES('clean', 0)")
        except sqlite3.DatabaseError as e:
            if db is not None:
                with contextlib.suppress(Exception):
                    db.close()
            if not is_corruption(e):
                raise
            self._quarantine(str(e))
            db = self._connect_loaded()
        self._db = db
        self._unopened = False
        self._start_state = None
        if self._points:
            log.info("queue %s: resuming with %d points (%d bytes) not yet delivered",
                     self.path, self.queue_points, self._bytes)

    def _peek_state(self) -> EngineState | None:
        """The engine snapshot of a file the disk refused to open for writing, read
        without writing (so the engine resumes where it stopped); None if unreadable.
        `immutable` skips the -wal/-shm files SQLite would create: only when no -wal
        file exists (a clean stop), else the file alone may be behind."""
        if not self.path.exists() or not self.path.stat().st_size:
            return None  # (SQLite left an empty file: no state yet)
        wal = Path(f"{self.path}-wal")
        mode = "ro" if wal.exists() and wal.stat().st_size else "ro&immutable=1"
        try:
            with contextlib.closing(sqlite3.connect(f"{self.path.as_uri()}?mode={mode}",
                                                    uri=True)) as db:
                row = db.execute("SELECT seq, data FROM state WHERE k='engine'").fetchone()
        except sqlite3.Error as e:
            log.warning("queue %s: cannot read the engine state either (%s); the engine "
                        "starts afresh", self.name, e, extra={"sink": self.name})
            return None
        return EngineState(int(row[0]), bytes(row[1])) if row else None

    def _quarantine(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        moved = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        k = 1
        while moved.exists():  # twice in a second: never overwrite an earlier one
            moved = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{k}")
            k += 1
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                dst = Path(str(moved) + suffix)
                os.replace(src, dst)
        self.quarantined.append(moved)
        log.error(
            "queue %s is unreadable (%s); moved it aside to %s and started an empty queue. "
            "Points in the old file are not delivered; keep the file for inspection.",
            self.path, reason, moved,
        )

    def _recover_runtime(self, e: sqlite3.DatabaseError) -> None:
        """Corruption found after opening (e.g. a page went bad): same treatment. The
        old file's points are gone with it whatever happens next; a disk that refuses
        to create the fresh file leaves `_db` None (`_conn` opens it at the next write)
        and raises its refusal, so the caller holds what it was writing."""
        if self._db is not None:
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None
        self._quarantine(f"{e} (while running)")
        self._index, self._bytes, self._points, self._head_offset = OrderedDict(), 0, 0, 0
        self._inflight_upto = 0
        self.generation += 1  # positions of batches read from the old file are void
        self._conn()

    def _recover_quietly(self, e: sqlite3.DatabaseError) -> None:
        """`_recover_runtime` where nothing is being written (a read, an ack): a disk that
        refuses the fresh file is the next write's business."""
        try:
            self._recover_runtime(e)
        except sqlite3.OperationalError as e2:
            if not is_refusal(e2):
                raise
            log.error("queue %s: the disk refuses the fresh file (%s); the next write "
                      "tries again", self.name, e2, extra={"sink": self.name})

    def _conn(self) -> sqlite3.Connection:
        """The open connection, or the file opened now (after damage while running, or
        a disk that refused it at start)."""
        if self._db is None and self._unopened:
            self._open_file()
        if self._db is None:
            self._db = self._connect_loaded()
        return self._db

    def _connect_loaded(self) -> sqlite3.Connection:
        """A new connection with the queue's state read from it; closed if that fails."""
        db = self._connect()
        try:
            self._load(db)
        except BaseException:
            db.close()
            raise
        return db

    # -- writing ------------------------------------------------------------------
    def put(self, lines: Sequence[str], state: tuple[int, bytes] | None = None) -> int:
        """Append lines durably (per fsync policy) in one transaction; returns count.

        `state` = (sequence number, engine snapshot) is committed in that same
        transaction (also with no lines: the state alone).
        """
        if not lines and state is None:
            return 0
        rows: list[Chunk] = []
        st = EngineState(*state) if state is not None else None
        i, n = 0, len(lines)
        while i < n:
            j = min(n, i + CHUNK_LINES)
            data = "\n".join(lines[i:j]).encode()
            while len(data) > CHUNK_BYTES and j - i > 1:  # few, very long lines
                j = i + max(1, (j - i) // 2)
                data = "\n".join(lines[i:j]).encode()
            rows.append(Chunk(j - i, len(data) + 1, data))
            i = j
        with self._lock:
            if self._closed:
                return self._put_after_close(rows, st, n)
            if self._held:  # keep the order: behind what is already held
                self._hold(Held(rows, st, n))
                self.retry_held()
                return n
            try:
                self._write(rows, st)
            except sqlite3.OperationalError as e:
                if not is_refusal(e):
                    raise
                self._refused(e)
                self._hold(Held(rows, st, n))
            else:
                if self.disk_error is not None:  # refused at start, nothing held since
                    self._takes_writes(0)
        return n

    def _write(self, rows: list[Chunk], state: EngineState | None) -> None:
        try:
            self._put_rows(rows, state)
        except sqlite3.DatabaseError as e:
            if not is_corruption(e):
                raise
            self._recover_runtime(e)
            self._put_rows(rows, state)

    # -- a disk that refuses writes ---------------------------------------------------
    def _refused(self, e: sqlite3.OperationalError, at_start: bool = False) -> None:
        self._retry_at = time.monotonic() + RETRY_HELD_S
        if self.disk_error is None:
            what = "the queue file at start" if at_start else "writes"
            log.error("queue %s: the disk refuses %s (%s): holding points in memory "
                      "(up to %d bytes) and retrying every %gs", self.name, what, e,
                      self.memory_max_bytes, RETRY_HELD_S, extra={"sink": self.name})
        self.disk_error = str(e)

    def _takes_writes(self, written: int) -> None:
        log.warning("queue %s: the disk takes writes again; %d points held in memory "
                    "written", self.name, written, extra={"sink": self.name})
        self.disk_error = None

    def _hold(self, put: Held) -> None:
        if not put.chunks and self._held and not self._held[-1].chunks:
            self._held[-1] = put  # a newer state alone replaces one alone
            return
        self._held.append(put)
        self.memory_points += put.points
        self.memory_bytes += sum(c.nbytes for c in put.chunks)
        counts: Counter[str] = Counter()
        while self.memory_bytes > self.memory_max_bytes and len(self._held) > 1:
            old = self._held.popleft()
            self.memory_points -= old.points
            self.memory_bytes -= sum(c.nbytes for c in old.chunks)
            for c in old.chunks:
                for ln in c.data.decode().split("\n"):
                    counts[measurement_of(ln)] += 1
            if old.state is not None and not self._held[0].state:
                self._held[0] = self._held[0]._replace(state=old.state)
        if counts:
            self.dropped.update(counts)
            log.warning("queue %s: %d bytes held in memory while the disk refuses writes: "
                        "dropped %d oldest points (%s)", self.name, self.memory_max_bytes,
                        sum(counts.values()), ", ".join(f"{m}={c}" for m, c in
                                                        counts.most_common(5)),
                        extra={"sink": self.name})

    def retry_held(self, force: bool = False) -> None:
        """Write the held points, in order, if the disk takes them again (at most once a
        `RETRY_HELD_S` unless forced)."""
        with self._lock:
            if not self._held and self._unopened and not self._closed:
                self._retry_open(force)  # refused at start, nothing to write yet
            if not self._held or (not force and time.monotonic() < self._retry_at):
                return
            rows = [c for put in self._held for c in put.chunks]
            states = [put.state for put in self._held if put.state is not None]
            try:
                self._write(rows, states[-1] if states else None)
            except sqlite3.OperationalError as e:
                if not is_refusal(e):
                    raise
                self._refused(e)
                return
            written = self.memory_points
            self._held.clear()
            self.memory_points = self.memory_bytes = 0
            self._takes_writes(written)

    def _retry_open(self, force: bool) -> None:
        """Open the file the disk refused at start (at most once a `RETRY_HELD_S`)."""
        if not force and time.monotonic() < self._retry_at:
            return
        try:
            self._conn()
        except sqlite3.OperationalError as e:
            if not is_refusal(e):
                raise
            self._refused(e)
            return
        self._takes_writes(0)

    def _put_rows(self, rows: list[Chunk], state: EngineState | None = None) -> None:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.cursor()
            ids: list[int] = []
            for r in rows:
                cur.execute("INSERT INTO chunks(n, nbytes, data) VALUES(?,?,?)", r)
                assert cur.lastrowid is not None  # set by every INSERT
                ids.append(cur.lastrowid)
            if state is not None:
                cur.execute("INSERT OR REPLACE INTO state VALUES('engine', ?, ?)", state)
            added_b = sum(r.nbytes for r in rows)
            dropped = self._drop_for(added_b) if self._bytes + added_b > self.max_bytes else None
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have ended it
                db.execute("ROLLBACK")
            raise
        for cid, r in zip(ids, rows, strict=True):
            self._index[cid] = (r.n, r.nbytes)
            self._bytes += r.nbytes
            self._points += r.n
        if dropped:
            self._forget(dropped)

    def _drop_for(self, incoming: int) -> list[int]:
        """Delete the oldest chunks (not in flight) so that `incoming` bytes fit."""
        excess = self._bytes + incoming - self.max_bytes
        victims: list[int] = []
        freed = 0
        for cid, (_n, nb) in self._index.items():
            if freed >= excess:
                break
            if cid <= self._inflight_upto:
                continue
            victims.append(cid)
            freed += nb
        counts: Counter[str] = Counter()
        db = self._conn()
        for cid in victims:
            (data,) = db.execute("SELECT data FROM chunks WHERE id=?", (cid,)).fetchone()
            lines = data.decode().split("\n")
            if cid == next(iter(self._index)):
                lines = lines[self._head_offset:]
            for ln in lines:
                counts[measurement_of(ln)] += 1
        db.executemany("DELETE FROM chunks WHERE id=?", [(c,) for c in victims])
        self._pending_drop_counts = counts
        return victims

    def _forget(self, victims: list[int]) -> None:
        first = next(iter(self._index), None)
        for cid in victims:
            n, nb = self._index.pop(cid)
            self._bytes -= nb
            self._points -= n
            if cid == first:
                self._head_offset = 0
                db = self._conn()
                if db.execute("SELECT 1 FROM meta WHERE k='head_offset'").fetchone():
                    db.execute("UPDATE meta SET v=0 WHERE k='head_offset'")
        counts = self._pending_drop_counts
        self.dropped.update(counts)
        log.warning("queue %s full (max %d bytes): dropped %d oldest points (%s)",
                    self.name, self.max_bytes, sum(counts.values()),
                    ", ".join(f"{m}={c}" for m, c in counts.most_common(5)))

    def read_state(self) -> tuple[int, bytes] | None:
        """The engine snapshot last committed with this queue's points: (seq, data)."""
        with self._lock:
            if self._db is None:  # not open yet: what the unopened file said, if anything
                st = self._start_state
                return (st.seq, st.data) if st is not None else None
            row = self._db.execute("SELECT seq, data FROM state WHERE k='engine'").fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    # -- reading and acknowledging ---------------------------------------------------
    def peek(self, max_points: int, after: Position | None = None) -> Batch:
        """Oldest lines (up to max_points) without removing them; marks them in flight.

        `after` reads on from the end of a batch already peeked (several in flight).
        """
        with self._lock:
            try:
                return self._peek(max_points, after)
            except sqlite3.DatabaseError as e:
                if not is_corruption(e):
                    raise
                self._recover_quietly(e)
                return self._peek(max_points, None)

    def _peek(self, max_points: int, after: Position | None) -> Batch:
        segments: list[tuple[int, int, int]] = []
        want = max_points
        ids: list[int] = []
        starts: list[int] = []
        first = True
        for cid, (n, _nb) in self._index.items():
            if want <= 0:
                break
            if after is not None and cid < after[0]:
                continue  # ids ascend; `after` is near the head, so this skips little
            start = 0
            if first:
                if after is None:
                    start = self._head_offset
                elif cid == after[0]:
                    start = after[1]
            first = False
            if start >= n:
                continue
            ids.append(cid)
            starts.append(start)
            want -= n - start
        if not ids:
            return Batch([], [])
        q = ",".join("?" * len(ids))
        rows = dict(self._conn().execute(f"SELECT id, data FROM chunks WHERE id IN ({q})",
                                         ids))
        raw: list[bytes] = []
        want = max_points
        for cid, start in zip(ids, starts, strict=True):
            data = rows.get(cid)
            if data is None:  # removed behind our back (export without --keep)
                continue
            n = self._index[cid][0]
            if data.count(b"\n") + 1 != n:  # cheap (C) check that catches most damage
                raise sqlite3.DatabaseError(f"chunk {cid} line count mismatch")
            take = min(want, n - start)
            if take <= 0:
                continue
            if start == 0 and take == n:
                raw.append(data)
            else:
                raw.append(b"\n".join(data.split(b"\n")[start:start + take]))
            segments.append((cid, start, take))
            want -= take
        self._inflight_upto = max(self._inflight_upto, ids[-1])
        return Batch(raw, segments, self.generation)

    def ack(self, pos: Position, gen: int | None = None) -> None:
        """Everything before `pos` was accepted by the server: remove it.

        `gen`: the batch's generation; a position read before the file was replaced
        (corruption while running) is ignored instead of deleting new points.
        """
        cid, off = pos
        with self._lock:
            if gen is not None and gen != self.generation:
                return
            try:
                self._ack(cid, off)
            except sqlite3.DatabaseError as e:
                if not is_corruption(e):
                    raise
                self._recover_quietly(e)

    def _ack(self, cid: int, off: int) -> None:
        if cid in self._index and off >= self._index[cid][0]:
            cid, off = cid + 1, 0  # whole chunk consumed
        gone = []
        for c in self._index:  # ids ascend: stop at the first one still needed
            if c >= cid:
                break
            gone.append(c)
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            if gone:
                db.execute("DELETE FROM chunks WHERE id < ?", (cid,))
            new_head = off if cid in self._index else 0
            db.execute("INSERT OR REPLACE INTO meta VALUES('head_offset', ?)", (new_head,))
            db.execute("COMMIT")
        except BaseException:
            # A COMMIT refused by a full disk has already rolled back: a second ROLLBACK
            # would raise "no transaction is active" and hide the disk's own error.
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
        for c in gone:
            n, nb = self._index.pop(c)
            self._bytes -= nb
            self._points -= n
        self._head_offset = new_head

    def release(self) -> None:
        """Nothing is in flight any more (batch given up or finished)."""
        with self._lock:
            self._inflight_upto = 0

    def iter_chunks(self) -> Iterator[bytes]:
        """Queued data chunk by chunk (bytes, '\\n'-joined), cursor untouched."""
        with self._lock:
            ids = list(self._index)
            head = self._head_offset
        for k, cid in enumerate(ids):
            with self._lock:
                row = self._conn().execute("SELECT data FROM chunks WHERE id=?",
                                           (cid,)).fetchone()
            if row is None:
                continue
            data = row[0]
            if k == 0 and head:
                data = b"\n".join(data.split(b"\n")[head:])
                if not data:
                    continue
            yield data

    # -- maintenance and stats ------------------------------------------------------
    def checkpoint(self) -> None:
        """Copy the WAL into the main file; with fsync=batch this is the periodic fsync.

        Runs on a second connection without the queue lock: a PASSIVE checkpoint never
        blocks the enqueue path (WAL writers append while it copies and syncs).
        """
        with self._ckpt_lock:
            if not self._closed:
                self._checkpoint()

    def _checkpoint(self) -> None:
        if self._db is None:  # not open (yet): nothing to copy; never create the file here
            return
        try:
            if self._ckpt_db is None or self._ckpt_gen != self.generation:
                if self._ckpt_db is not None:
                    self._ckpt_db.close()
                self._ckpt_db = sqlite3.connect(self.path, isolation_level=None,
                                                check_same_thread=False, timeout=5.0)
                self._ckpt_db.execute(f"PRAGMA synchronous={_SYNCHRONOUS[self.fsync]}")
                self._ckpt_db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
                self._ckpt_gen = self.generation
            self._ckpt_db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as e:
            log.warning("queue %s: checkpoint failed: %s", self.name, e)

    @property
    def holding(self) -> bool:
        """Refused puts are held in memory (not in the file yet)."""
        return bool(self._held)

    @property
    def queue_points(self) -> int:
        return self._points - self._head_offset

    @property
    def queue_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        if self._held:
            self.retry_held(force=True)
        if self._held:
            log.error("queue %s: stopping with %d points (and the latest engine state) held "
                      "in memory that the disk refused (%s): they are lost", self.name,
                      self.memory_points, self.disk_error, extra={"sink": self.name})
        with self._ckpt_lock:
            self._closed = True
            if self._ckpt_db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._ckpt_db.close()
                self._ckpt_db = None
        with self._lock:
            self._close_db()

    def _close_db(self) -> None:
        if self._db is None:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("INSERT OR REPLACE INTO meta VALUES('clean', 1)")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self._db = None

    def _put_after_close(self, rows: list[Chunk], state: EngineState | None, n: int) -> int:
        """A put after close() — points of a poll that finished while the agent stopped
        — is written through a connection opened for it and closed again: kept in the
        file for the next start, not set aside. A disk that refuses it raises (nobody is
        left to retry what would be held)."""
        log.warning("queue %s: %d points arrived after the queue closed; written to the "
                    "file for the next start", self.name, n, extra={"sink": self.name})
        try:
            self._write(rows, state)
        finally:
            self._close_db()
        return n
