"""The HACCP hash chain's durable half: its head and recent records in state_dir.

`ChainStore(state_dir / "haccp-chain.db")` (SQLite, WAL, synchronous FULL):

    records(seq INTEGER PRIMARY KEY, key TEXT UNIQUE, hash TEXT, point TEXT)
    meta(k TEXT PRIMARY KEY, v INTEGER)      -- 'enqueued': last seq handed to the sinks

The agent links records here *before* it queues them, in one transaction, and marks them
enqueued after: after a SIGKILL anywhere in between, the next start re-queues what was
linked but not marked (InfluxDB overwrites an identical point, so twice is harmless),
and the head is whatever the file says, so the chain never forks. A record whose
InfluxDB key (measurement, tags, timestamp) is already chained is not chained again:
an engine restarted from a snapshot a few seconds old may compute a bucket a second
time, and a chained record is never overwritten (the first one stands).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from lineside.agent.haccp.chain import GENESIS, is_record, link, record_key
from lineside.points import Point

log = logging.getLogger(__name__)

KEEP_ROWS = 200_000  # recent records kept for the duplicate check (weeks of a plant)


def _dump(p: Point) -> str:
    return json.dumps([p.measurement, dict(p.tags), dict(p.fields), p.ts_ns],
                      ensure_ascii=False, separators=(",", ":"))


def _load(s: str) -> Point:
    m, tags, fields, ts = json.loads(s)
    return Point(m, tags, fields, int(ts))


class ChainStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY, "
                   "key TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, point TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        self._db = db
        self.duplicates = 0

    def head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1"
                               ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def link(self, points: Sequence[Point]) -> list[Point]:
        """Points with every record chained (committed before this returns)."""
        if not any(is_record(p) for p in points):
            return list(points)
        out: list[Point] = []
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = self.head()
                for p in points:
                    if not is_record(p):
                        out.append(p)
                        continue
                    key = record_key(p)
                    if db.execute("SELECT 1 FROM records WHERE key=?", (key,)).fetchone():
                        self.duplicates += 1
                        log.warning("HACCP record %s was chained before; the first one "
                                    "stands (engine resumed from an older snapshot)", key)
                        continue
                    seq += 1
                    p = link(p, seq, prev)
                    prev = str(p.fields["hash"])
                    db.execute("INSERT INTO records VALUES(?,?,?,?)", (seq, key, prev, _dump(p)))
                    out.append(p)
                db.execute("DELETE FROM records WHERE seq <= ?", (seq - KEEP_ROWS,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return out

    def mark_enqueued(self) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES('enqueued', ?)",
                             (self.head()[0],))

    def unqueued(self) -> list[Point]:
        """Records linked but not known to be queued (a kill in between): queue them."""
        row = self._db.execute("SELECT v FROM meta WHERE k='enqueued'").fetchone()
        done = int(row[0]) if row else 0
        return [_load(s) for (s,) in self._db.execute(
            "SELECT point FROM records WHERE seq > ? ORDER BY seq", (done,))]

    def close(self) -> None:
        with self._lock:
            self._db.close()
