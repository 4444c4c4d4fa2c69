"""The read planner: rules as table-driven cases, minimality against brute force."""

from __future__ import annotations

from itertools import combinations, pairwise

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lineside.drivers.modbus.planner import Item, Limits, blocks_of, plan


def H(key, address, count=1, unit=1, table="holding"):
    return Item(key, table, unit, address, count)


def spans(p):
    return [(r.table, r.unit, r.start, r.count) for r in p.requests]


def test_merges_across_small_gaps_only():
    items = [H("a", 0, 2), H("b", 5), H("c", 20)]  # gap 3, then gap 14
    assert spans(plan(items, Limits(max_gap=10))) == [("holding", 1, 0, 6), ("holding", 1, 20, 1)]
    assert spans(plan(items, Limits(max_gap=14))) == [("holding", 1, 0, 21)]
    assert spans(plan(items, Limits(max_gap=0))) == [("holding", 1, 0, 2), ("holding", 1, 5, 1),
                                                     ("holding", 1, 20, 1)]


def test_groups_by_table_and_unit():
    items = [H("a", 0), H("b", 1, unit=2), H("c", 2, table="input"), H("d", 3, table="coil"),
             H("e", 1)]
    assert spans(plan(items, Limits())) == [
        ("holding", 1, 0, 2), ("input", 1, 2, 1), ("coil", 1, 3, 1), ("holding", 2, 1, 1)]


def test_request_limit_and_no_split_values():
    # 62 float32 fill 124 registers; the 63rd would straddle 125: it moves whole.
    items = [H(i, 2 * i, 2) for i in range(64)]
    p = plan(items, Limits())
    assert spans(p) == [("holding", 1, 0, 124), ("holding", 1, 124, 4)]
    p = plan(items, Limits(max_registers=10))
    assert all(r.count <= 10 and r.count % 2 == 0 for r in p.requests)
    assert len(p.requests) == 13  # 128 registers, 5 floats per request


def test_bits_limits():
    items = [H(i, i * 3, table="coil") for i in range(1000)]  # 0..2997
    p = plan(items, Limits())
    assert [(r.start, r.count) for r in p.requests] == [(0, 1999), (2001, 997)]
    p = plan(items, Limits(max_gap_bits=1))
    assert len(p.requests) == 1000


def test_forbidden_ranges_never_read():
    items = [H("a", 0), H("b", 10), H("c", 20, 2)]
    lim = Limits(forbidden={"holding": ((5, 6), (21, 21))})
    p = plan(items, lim)
    assert spans(p) == [("holding", 1, 0, 1), ("holding", 1, 10, 1)]
    assert [(i.key, why) for i, why in p.unreadable] == [("c", "inside a forbidden range")]


def test_overlapping_values_read_together():
    items = [H("word", 10), H("bit3", 10), H("bit4", 10), H("f", 11, 2)]
    p = plan(items, Limits(max_gap=0))
    assert spans(p) == [("holding", 1, 10, 3)]
    assert sorted(i.key for i in p.requests[0].items) == ["bit3", "bit4", "f", "word"]


def test_too_long_value_is_unreadable():
    p = plan([H("s", 0, 20)], Limits(max_registers=16))
    assert p.requests == () and "longer" in p.unreadable[0][1]


# --- minimality: greedy vs brute force on small cases -----------------------------

def brute_force_min(items, lim: Limits) -> int:
    """Fewest feasible ranges covering every block, by exhaustive search."""
    blocks = [(b.start, b.end) for b in blocks_of(items)]
    forb = lim.forbidden.get("holding", ())

    def feasible(i, j):
        s, e = blocks[i][0], blocks[j][1]
        if e - s > lim.max_registers:
            return False
        if any(lo < e and s <= hi for lo, hi in forb):
            return False
        return all(blocks[k + 1][0] - blocks[k][1] <= lim.max_gap for k in range(i, j))

    cands = [set(range(i, j + 1)) for i in range(len(blocks)) for j in range(i, len(blocks))
             if feasible(i, j)]
    everything = set(range(len(blocks)))
    for k in range(1, len(blocks) + 1):
        for combo in combinations(cands, k):
            if set().union(*combo) == everything:
                return k
    raise AssertionError("no cover")


item_st = st.tuples(st.integers(0, 40), st.sampled_from([1, 1, 2, 4]))


@settings(max_examples=300, deadline=None)
@given(st.lists(item_st, min_size=1, max_size=7), st.integers(0, 6), st.integers(4, 16),
       st.lists(st.tuples(st.integers(0, 44), st.integers(0, 3)), max_size=2))
def test_plan_is_minimal_and_valid(raw, gap, limit, forb):
    forbidden = tuple((s, s + n) for s, n in forb)
    lim = Limits(max_registers=limit, max_gap=gap, forbidden={"holding": forbidden})
    items = [H(i, a, n) for i, (a, n) in enumerate(raw)]
    p = plan(items, lim)
    readable = [i for i in items if all(not (lo < i.end and i.address <= hi)
                                        for lo, hi in forbidden)]
    assume(all(b.end - b.start <= limit for b in blocks_of(readable)))
    served = [it for r in p.requests for it in r.items]
    assert sorted(i.key for i in served) == sorted(i.key for i in readable)
    for r in p.requests:
        assert r.count <= limit
        assert not any(lo < r.end and r.start <= hi for lo, hi in forbidden)
        for it in r.items:
            assert r.start <= it.address and it.end <= r.end
        covered = sorted({a for it in r.items for a in range(it.address, it.end)})
        assert covered[0] == r.start and covered[-1] == r.end - 1
        assert all(b - a - 1 <= gap for a, b in pairwise(covered))
    if readable:
        assert len(p.requests) == brute_force_min(readable, lim)
