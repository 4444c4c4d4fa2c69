"""The hash chain: what `verify` finds, and that the chain store never forks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineside.haccp.chain import GENESIS, Record, link_all, verify
from lineside.points import Point
from lineside.sinks.chainstore import ChainStore

T0 = 1_796_018_400_000_000_000


def bucket(i: int, ccp: str = "cold", **fields: float) -> Point:
    return Point("ccp", {"site": "s1", "ccp": ccp, "level": "ccp"},
                 {"span_s": 60.0, "within_s": 60.0, "deviations": 0, **fields},
                 T0 + i * 60_000_000_000)


def as_read(points: list[Point]) -> list[Record]:
    """What InfluxDB gives back: integral floats come back as ints."""
    def back(v):
        return int(v) if isinstance(v, float) and v.is_integer() else v
    return [Record(p.measurement, dict(p.tags), {k: back(v) for k, v in p.fields.items()},
                   p.ts_ns) for p in points]


def chain(n: int) -> list[Record]:
    pts, _, _ = link_all([bucket(i) for i in range(n)])
    return as_read(pts)


def with_fields(r: Record, **f: object) -> Record:
    return Record(r.measurement, r.tags, {**r.fields, **f}, r.ts_ns)


def test_an_untouched_chain_verifies_from_genesis() -> None:
    v = verify(chain(5), from_genesis=True)
    assert (v.ok, v.checked, v.first_seq, v.last_seq) == (True, 5, 1, 5)


# (case, change to the 5 records read back, seq named, words)
CASES = [
    ("a value altered", lambda rs: [*rs[:2], with_fields(rs[2], within_s=59), *rs[3:]],
     3, "does not match its hash"),
    ("a record removed", lambda rs: rs[:2] + rs[3:], 4, "seq 3..3 missing"),
    ("a record inserted with a copied seq",
     lambda rs: [*rs[:3], with_fields(rs[2], within_s=1), *rs[3:]], 3, "appears twice"),
    ("altered and re-hashed", lambda rs: rs[:1] + as_read(link_all(
        [Point(rs[1].measurement, rs[1].tags, {**rs[1].fields, "within_s": 1.0},
               rs[1].ts_ns)], 1, str(rs[0].fields["hash"]))[0]) + rs[2:], 2,
     "does not carry its hash"),
]


@pytest.mark.parametrize(("case", "change", "seq", "words"), CASES, ids=[c[0] for c in CASES])
def test_verify_names_the_first_broken_record(case, change, seq, words) -> None:
    v = verify(change(chain(5)), from_genesis=True)
    assert not v.ok and v.record is not None
    assert v.record.seq == seq, v
    assert words in v.problem


def test_the_agents_head_finds_removed_last_records() -> None:
    rs = chain(5)
    head = (5, str(rs[4].fields["hash"]))
    assert verify(rs, head=head).ok
    v = verify(rs[:3], head=head)
    assert not v.ok and "the last records were removed" in v.problem


def test_store_links_durably_and_a_kill_before_queueing_neither_forks_nor_loses(
        tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "chain.db")
    first = store.link([bucket(0), Point("signal", {"signal": "x"}, {"value": 1.0}, T0)])
    assert [p.fields.get("seq") for p in first] == [1, None]  # only records are chained
    store.mark_enqueued()
    store.link([bucket(1), bucket(2)])  # ... and SIGKILL before they were queued
    store._db.close()
    again = ChainStore(tmp_path / "chain.db")
    assert [p.fields["seq"] for p in again.unqueued()] == [2, 3]
    # the engine, resumed from an older snapshot, computes bucket 2 again (other values)
    # and then bucket 3: the chained bucket 2 stands, bucket 3 continues the chain
    out = again.link([bucket(2, within_s=10.0), bucket(3)])
    assert [p.fields["seq"] for p in out] == [4] and again.duplicates == 1
    assert again.head() == (4, out[0].fields["hash"])
    stored = as_read(first[:1]) + as_read(again.unqueued())
    assert [r.seq for r in stored] == [1, 2, 3, 4]
    assert verify(stored, from_genesis=True).ok
    assert again.unqueued()[0].fields["prev"] == first[0].fields["hash"]
    assert first[0].fields["prev"] == GENESIS
