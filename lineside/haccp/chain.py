"""The hash chain over HACCP records (pure: no I/O).

Every point of a record measurement (`ccp`, `ccp_shift`, `ccp_deviation`, `ccp_lot`,
`ccp_action`) gets three fields before it is queued: `seq` (1, 2, 3, … per agent),
`prev` (the previous record's hash, 64 zeros for the first) and `hash` = SHA-256 of the
record's canonical form, which includes `seq` and `prev`. Changing, removing or inserting
a record therefore breaks the chain at that record: its own hash no longer matches, or
the next one's `prev` does not, or `seq` jumps or repeats.

The canonical form is what InfluxDB gives back, so a record read from the database
hashes like the one written: measurement, non-empty tags sorted, fields sorted (numbers
as floats, since InfluxDB answers 4.0 as 4; booleans and strings as they are),
timestamp in integer nanoseconds, as compact JSON.

A record that cannot be written to InfluxDB whole and read back as hashed (`refusal`: a
non-finite number, an integer outside int64, text that is not Unicode or holds a
newline, a time outside InfluxDB's range) is never chained: the chain store keeps it in
its dead-letter file and `lineside haccp verify` names it (docs/haccp.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineside.points import TS_NS_MAX, Point, value_problem

RECORD_MEASUREMENTS: frozenset[str] = frozenset({"ccp", "ccp_shift", "ccp_deviation",
                                                   "ccp_lot", "ccp_action"})
CHAIN_FIELDS = ("seq", "prev", "hash")
GENESIS = "0" * 64


def _value(v: Any) -> Any:
    if isinstance(v, bool | str):
        return v
    return float(v)


def canonical(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any],
              ts_ns: int) -> bytes:
    """The bytes hashed for a record (`hash` itself excluded)."""
    t = sorted((k, v) for k, v in tags.items() if v not in ("", None))
    f = sorted((k, _value(v)) for k, v in fields.items() if k != "hash" and v is not None)
    return json.dumps([measurement, t, f, int(ts_ns)], ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False).encode()


def record_hash(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any],
                ts_ns: int) -> str:
    return hashlib.sha256(canonical(measurement, tags, fields, ts_ns)).hexdigest()


def is_record(p: Point) -> bool:
    return p.measurement in RECORD_MEASUREMENTS


def refusal(p: Point) -> tuple[str | None, str] | None:
    """Why a record cannot be chained: (its field, or None for the timestamp; a reason of
    `points.value_problem`, or `newline`, `timestamp`), None when it can. Such a record
    would break the chain where it is stored: canonical JSON has no inf or NaN, and
    InfluxDB would refuse the line, or store it without the field (the hash then names
    it altered)."""
    if not -TS_NS_MAX <= p.ts_ns <= TS_NS_MAX:
        return None, "timestamp"
    for k, v in p.fields.items():
        if k in CHAIN_FIELDS or v is None:
            continue
        why = value_problem(v)
        if why is None and type(v) not in (bool, str, int, float):
            why = "type"  # numpy, Decimal: canonical() hashes the four JSON kinds only
        if why is None and isinstance(v, str) and "\n" in v:
            why = "newline"  # written as `\n`, read back as two characters
        if why is not None:
            return k, why
    return None


def record_key(p: Point) -> str:
    """What InfluxDB identifies a point by: a second point with this key overwrites."""
    return json.dumps([p.measurement, sorted((k, v) for k, v in p.tags.items() if v),
                       p.ts_ns], separators=(",", ":"))


def link(p: Point, seq: int, prev: str) -> Point:
    fields = {k: v for k, v in p.fields.items() if k not in CHAIN_FIELDS}
    fields["seq"] = seq
    fields["prev"] = prev
    fields["hash"] = record_hash(p.measurement, p.tags, fields, p.ts_ns)
    return Point(p.measurement, p.tags, fields, p.ts_ns)


def link_all(points: Iterable[Point], seq: int = 0, prev: str = GENESIS
             ) -> tuple[list[Point], int, str]:
    """Chain every record of `points` after (seq, prev); other points pass unchanged."""
    out: list[Point] = []
    for p in points:
        if is_record(p):
            seq += 1
            p = link(p, seq, prev)
            prev = str(p.fields["hash"])
        out.append(p)
    return out, seq, prev


@dataclass(frozen=True)
class Record:
    """A record as read back: enough to name it to an auditor."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, Any]
    ts_ns: int

    @property
    def seq(self) -> int | None:
        v = self.fields.get("seq")
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    def describe(self) -> str:
        import datetime as dt

        when = dt.datetime.fromtimestamp(self.ts_ns / 1e9, dt.UTC).isoformat()
        # enough tags to find it: an affected lot and an entry (action, disposition of a
        # lot, verification) are named too, since they share their deviation's instant
        what = ", ".join(f"{k}={self.tags[k]}" for k in ("ccp", "kind", "event", "entry", "lot",
                                                         "shift", "shift_date")
                         if self.tags.get(k))
        seq = f" seq {self.seq}" if self.seq is not None else ""
        return f"record{seq} ({self.measurement} {what} at {when})"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    problem: str = ""
    record: Record | None = None  # the first record found altered, removed-before or inserted


def verify(records: Iterable[Record], head: tuple[int, str] | None = None,
           from_genesis: bool = False) -> Verdict:
    """Check a run of records (any order) as one unbroken chain.

    `head` (seq, hash) is the agent's own chain head (state_dir): the last record must
    be that one, so records removed from the end are found too. With `from_genesis` the
    first record must be seq 1 with the genesis `prev`.
    """
    recs = list(records)
    for r in recs:
        if r.seq is None:
            return Verdict(False, 0, None, None, "a record without a `seq` field (not "
                           "written by a chained agent, or inserted)", r)
    recs.sort(key=lambda r: (r.seq or 0, r.ts_ns))
    if not recs:
        return Verdict(head is None or head[0] == 0, 0, None, None,
                       "" if head is None or head[0] == 0 else
                       f"no records, but the agent's chain head is seq {head[0]}")
    prev_hash: str | None = GENESIS if from_genesis else None
    expect_seq = 1 if from_genesis else recs[0].seq
    for i, r in enumerate(recs):
        f = r.fields
        if r.seq != expect_seq:
            if r.seq == (expect_seq or 0) - 1:
                return Verdict(False, i, recs[0].seq, r.seq,
                               f"seq {r.seq} appears twice: a record was inserted", r)
            return Verdict(False, i, recs[0].seq, r.seq,
                           f"seq {expect_seq}..{(r.seq or 0) - 1} missing: removed before "
                           "this record", r)
        if prev_hash is not None and f.get("prev") != prev_hash:
            if i == 0:  # from genesis: the first record is not the first one written
                return Verdict(False, 0, r.seq, r.seq, "its `prev` is not the genesis "
                               "hash: not the first record written", r)
            return Verdict(False, i - 1, recs[0].seq, recs[i - 1].seq,
                           f"the next record (seq {r.seq}) does not carry its hash: it was "
                           "altered and re-hashed, or the next one was replaced", recs[i - 1])
        h = record_hash(r.measurement, r.tags, f, r.ts_ns)
        if f.get("hash") != h:
            return Verdict(False, i, recs[0].seq, r.seq,
                           "its content does not match its hash: altered", r)
        prev_hash = h
        expect_seq = (r.seq or 0) + 1
    last = recs[-1]
    if head is not None and head[0] > 0:
        if (last.seq or 0) < head[0]:
            return Verdict(False, len(recs), recs[0].seq, last.seq,
                           f"the chain ends at seq {last.seq} but the agent's head is seq "
                           f"{head[0]}: the last records were removed", last)
        if last.seq == head[0] and last.fields.get("hash") != head[1]:
            return Verdict(False, len(recs), recs[0].seq, last.seq,
                           "the last record's hash is not the agent's chain head", last)
    return Verdict(True, len(recs), recs[0].seq, last.seq)
