"""The HACCP hash chain's durable half: its head and recent records in state_dir.

`ChainStore(state_dir / "haccp-chain.db")` (SQLite, WAL, synchronous FULL):

    records(seq INTEGER PRIMARY KEY, key TEXT UNIQUE, hash TEXT, point TEXT)
    meta(k TEXT PRIMARY KEY, v INTEGER)      -- 'enqueued': last seq handed to the sinks

The agent links records here *before* it queues them, in one transaction, and marks them
enqueued once every queue has them in its file (not while a queue holds them in memory):
after a SIGKILL anywhere in between, the next start re-queues what was
linked but not marked (InfluxDB overwrites an identical point, so twice is harmless),
and the head is whatever the file says, so the chain never forks. A record whose
InfluxDB key (measurement, tags, timestamp) is already chained is not chained again:
an engine restarted from a snapshot a few seconds old may compute a bucket a second
time, and a chained record is never overwritten (the first one stands).

A disk that refuses the chain's writes (full, read-only, I/O error; the queue's
`is_refusal`) rolls the transaction back, so the file never holds half a batch. The
records of that batch are then *held* in memory, in order, behind any held before, and
`link` returns the batch's other points only (they are queued as usual). Held records
are linked, in their original order, by the first `link` (a delivery, or housekeeping's
`link([])`) that finds the file writable again, at most once a `RETRY_S` unless forced;
nothing newer is ever linked before them, so the chain neither forks nor skips. Above
`MEMORY_MAX_RECORDS` the oldest held records are dropped (never linked: no seq gap),
counted and logged; `close()` says how many are lost when the disk still refuses.

A record the chain cannot hold (`chain.refusal`: a non-finite number, an integer outside
int64, ...) is never linked (no seq is spent on it): it is appended to the dead-letter
file `haccp-refused.jsonl` beside the chain file (one JSON object a line: `refused_at`,
`field`, `reason`, `record` = [measurement, tags, fields, ts_ns]; non-finite numbers as
JSON's `NaN`/`Infinity` tokens), fsynced before the transaction that links the rest of
its batch commits, reported to the caller (`Refusal`) and never queued. `lineside haccp
verify --state-dir` names every record of that file. A disk that refuses that append
holds the batch like a refused commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from lineside.haccp.chain import GENESIS, Record, is_record, link, record_key, refusal
from lineside.points import Point, Refusal, describe_value
from lineside.sinks.queue import is_refusal

log = logging.getLogger(__name__)

KEEP_ROWS = 200_000  # recent records kept for the duplicate check (weeks of a plant)
# Records held while the disk refuses the chain's writes: ~1.7 KB of memory each, so
# ~34 MB; a day of 10 CCPs at 60-s buckets (docs/haccp.md).
MEMORY_MAX_RECORDS = 20_000
RETRY_S = 1.0  # how often held records are tried again while the disk refuses
REFUSED_FILE = "haccp-refused.jsonl"  # records the chain cannot hold, beside the chain


def read_refused(path: Path) -> list[dict[str, object]]:
    """The dead-letter file's entries, oldest first (none when it does not exist)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def _dump(p: Point) -> str:
    return json.dumps([p.measurement, dict(p.tags), dict(p.fields), p.ts_ns],
                      ensure_ascii=False, separators=(",", ":"))


def set_aside(path: Path, bad: Sequence[Refusal], error: str | None = None) -> None:
    """Append records to the dead-letter file (fsynced) and log each: refused for a value
    (`field`, `reason`), or, with `error`, because the chain itself failed."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(path, "a", encoding="utf-8") as f:
        for p, fld, why in bad:
            entry = {"refused_at": stamp, "field": fld, "reason": why,
                     "record": [p.measurement, dict(p.tags), dict(p.fields), p.ts_ns]}
            if error is not None:
                entry["error"] = error
            f.write(json.dumps(entry, ensure_ascii=False, default=repr) + "\n")
        f.flush()
        os.fsync(f.fileno())
    for p, fld, why in bad:
        what = (f"the chain failed ({error})" if error is not None else
                f"{f'field {fld}' if fld else 'timestamp'} {why} ({_kind(p, fld)})")
        # each record's own line (an auditor's record), past the log rate limit
        log.error("HACCP %s refused by the chain: %s; kept in %s, never linked",
                  Record(p.measurement, p.tags, {}, p.ts_ns).describe(), what, path,
                  extra={"every": True})


def _kind(p: Point, fld: str | None) -> str:
    return describe_value(p.fields.get(fld)) if fld is not None else f"time {p.ts_ns} ns"


def _load(s: str) -> Point:
    m, tags, fields, ts = json.loads(s)
    return Point(m, tags, fields, int(ts))


class ChainStore:
    def __init__(self, path: Path | str, memory_max_records: int = MEMORY_MAX_RECORDS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.refused_path = self.path.with_name(REFUSED_FILE)
        self.refused = 0  # records kept in the dead-letter file, never linked
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.duplicates = 0
        self.memory_max_records = memory_max_records
        self._held: deque[Point] = deque()  # records the disk refused, in engine order
        self.dropped = 0  # held records dropped above the bound (never linked)
        self._dropped_now = 0  # ... since the disk last took writes
        self.disk_error: str | None = None  # why the disk refuses writes, None when it takes them
        self._retry_at = 0.0
        # opened only once the disk took writes: its unqueued records go out with the
        # first records linked (the agent asks `unqueued()` of an open store at start)
        self._opened_late = False
        try:
            self._open()
        except sqlite3.OperationalError as e:
            if not is_refusal(e):
                raise
            self._opened_late = True
            self._refused(e)

    def _open(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY, "
                       "key TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, point TEXT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    @property
    def pending(self) -> bool:
        """Held records, or a file not opened yet (the disk refused it at start) whose
        unqueued records are not queued yet: `link([])` tries again."""
        return bool(self._held) or self._opened_late

    @property
    def held(self) -> int:
        """Records held in memory while the disk refuses the chain's writes."""
        return len(self._held)

    def head(self) -> tuple[int, str]:
        row = self._open().execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1"
                                   ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def link(self, points: Sequence[Point], force: bool = False,
             refused: list[Refusal] | None = None) -> list[Point]:
        """`points` with every record chained (committed before this returns), preceded
        by held records the disk takes now; records the disk refuses are held instead
        (see the module docstring), the other points are always returned. Records the
        chain cannot hold go to the dead-letter file and into `refused`."""
        if (not self._held and not self._opened_late
                and not any(is_record(p) for p in points)):
            return list(points)
        with self._lock:
            backlog = bool(self._held)
            for p in points:
                if is_record(p):
                    self._hold(p)
            # nothing to link: only the file the disk refused at start is tried (once a
            # RETRY_S, as held records); opened, it hands over what a kill left unqueued
            backlog = backlog or not self._held
            done = None
            if not backlog or force or time.monotonic() >= self._retry_at:
                done = self._commit_held(refused)
            if done is None:  # refused: the records stay held, the rest goes on
                return [p for p in points if not is_record(p)]
            late, linked = done
            mine = {id(p) for p in points}
            out = late + [q for k, q in linked.items() if k not in mine and q is not None]
            for p in points:
                if not is_record(p):
                    out.append(p)
                elif (q := linked.get(id(p))) is not None:
                    out.append(q)
            return out

    def _hold(self, p: Point) -> None:
        self._held.append(p)
        if len(self._held) > self.memory_max_records:
            old = self._held.popleft()
            self.dropped += 1
            self._dropped_now += 1
            if self._dropped_now == 1:  # once per refusal; the recovery says how many
                log.warning("HACCP chain: %d records held in memory while the disk refuses "
                            "writes: dropping the oldest from now on (first: %s at %d ns); "
                            "they are never linked", self.memory_max_records,
                            old.measurement, old.ts_ns)

    def _commit_held(self, refused: list[Refusal] | None
                     ) -> tuple[list[Point], dict[int, Point | None]] | None:
        """Chain every held record in one transaction: (records a late open found
        unqueued, {id(original): linked, or None for a duplicate or a refused one}), or
        None when the disk refuses (nothing changed)."""
        bad: list[Refusal] = []
        try:
            db = self._open()
            late, late_read = self._late_unqueued(db)
            db.execute("BEGIN IMMEDIATE")
            out: dict[int, Point | None] = {}
            try:
                seq, prev = self.head()
                for p in self._held:
                    why = refusal(p)
                    if why is not None:
                        bad.append(Refusal(p, *why))
                        out[id(p)] = None
                        continue
                    key = record_key(p)
                    if db.execute("SELECT 1 FROM records WHERE key=?", (key,)).fetchone():
                        self.duplicates += 1
                        log.warning("HACCP record %s was chained before; the first one "
                                    "stands (engine resumed from an older snapshot)", key)
                        out[id(p)] = None
                        continue
                    seq += 1
                    q = link(p, seq, prev)
                    prev = str(q.fields["hash"])
                    db.execute("INSERT INTO records VALUES(?,?,?,?)", (seq, key, prev, _dump(q)))
                    out[id(p)] = q
                db.execute("DELETE FROM records WHERE seq <= ?", (seq - KEEP_ROWS,))
                if bad:  # on disk before the rest commits: a crash between repeats them
                    self._dead_letter(bad)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have ended it
                    db.execute("ROLLBACK")
                raise
        except (sqlite3.OperationalError, OSError) as e:
            if isinstance(e, sqlite3.OperationalError) and not is_refusal(e):
                raise
            self._refused(e)
            return None
        self.refused += len(bad)
        if refused is not None:
            refused += bad
        self._opened_late = not late_read
        if self.disk_error is not None:
            log.warning("HACCP chain: the disk takes writes again; %d records held in "
                        "memory linked, in order (%d dropped above the bound meanwhile)",
                        len(out), self._dropped_now)
            self.disk_error = None
            self._dropped_now = 0
        self._held.clear()
        return late, out

    def _late_unqueued(self, db: sqlite3.Connection) -> tuple[list[Point], bool]:
        """For a store opened late, the records a kill left unqueued, and whether they
        could be read: if not (a damaged row), linking goes on, nothing is marked queued
        (`_opened_late` stays), and the next link reads them again."""
        if not self._opened_late:
            return [], True
        try:
            return self._unqueued(db), True
        except (sqlite3.DatabaseError, ValueError) as e:
            if isinstance(e, sqlite3.OperationalError) and is_refusal(e):
                raise
            log.error("HACCP chain %s: cannot read the records linked but not queued (%s: "
                      "%s); linking goes on, they are read again with the next records",
                      self.path, type(e).__name__, e)
            return [], False

    def _dead_letter(self, bad: list[Refusal]) -> None:
        set_aside(self.refused_path, bad)

    def take_held(self) -> list[Point]:
        """Every record held, in order, and none held any more (the caller sets them
        aside: the chain failed otherwise than by a refusing disk)."""
        with self._lock:
            out = list(self._held)
            self._held.clear()
            return out

    def _refused(self, e: Exception) -> None:
        self._retry_at = time.monotonic() + RETRY_S
        if self.disk_error is None:
            log.error("HACCP chain %s: the disk refuses writes (%s): holding records in "
                      "memory (up to %d) and retrying every %gs", self.path, e,
                      self.memory_max_records, RETRY_S)
        self.disk_error = str(e)

    def mark_enqueued(self) -> bool:
        """Remember that everything linked so far is queued; False when that could not be
        written (the disk refuses): the next mark covers it, and a kill before then
        only queues records twice."""
        with self._lock:
            if self._opened_late:  # its unqueued records are not queued yet
                return False
            try:
                self._open().execute("INSERT OR REPLACE INTO meta VALUES('enqueued', ?)",
                                     (self.head()[0],))
            except sqlite3.OperationalError as e:
                if not is_refusal(e):
                    raise
                return False
            return True

    def unqueued(self) -> list[Point]:
        """Records linked but not known to be queued (a kill in between): queue them."""
        if self._db is None:  # not open yet (a disk that refused): found when it opens
            return []
        return self._unqueued(self._db)

    def _unqueued(self, db: sqlite3.Connection) -> list[Point]:
        row = db.execute("SELECT v FROM meta WHERE k='enqueued'").fetchone()
        done = int(row[0]) if row else 0
        rows = db.execute("SELECT point FROM records WHERE seq > ? ORDER BY seq",
                          (done,)).fetchall()  # all read first: a row that fails to load
        return [_load(s) for (s,) in rows]  # must not leave the read (its snapshot) open

    def close(self) -> None:
        with self._lock:
            if self._held:
                log.error("HACCP chain %s: stopping with %d records held in memory that "
                          "the disk refused (%s): they are lost (never linked, so the "
                          "chain has no gap)", self.path, len(self._held), self.disk_error)
            if self._db is not None:
                self._db.close()
