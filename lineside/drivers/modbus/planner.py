"""The read plan: a pure function from a device's values to the fewest read requests.

Rules (Telegraf's `max_insert` optimisation, plus what fussy PLCs need):

1. values of one table and one unit id may share a request; others never do;
2. a value is read whole by one request (no torn 32/64-bit values); values that
   overlap (bits of a status word and the word itself) are read by the same request;
3. neighbours merge across a gap of at most `max_gap` registers (`max_gap_bits` bits);
4. a request reads at most `max_registers` registers / `max_bits` bits;
5. a request never touches a forbidden address; a value inside a forbidden range is
   not read at all (reported as unreadable).

Under these rules the plan has the fewest requests: after rule 2 the values form
disjoint blocks, and a set of consecutive blocks that is a valid request stays valid
when blocks are dropped from either end, so filling each request greedily from the
left is optimal (the exchange argument of interval scheduling; tests compare it with
a brute-force optimum).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lineside.drivers.modbus.addressing import BIT_TABLES, READ_FUNCTION

_TABLE_ORDER = {"holding": 0, "input": 1, "coil": 2, "discrete": 3}


@dataclass(frozen=True, slots=True)
class Item:
    """One value to read: `key` is the caller's handle (an index, a signal key)."""

    key: object
    table: str
    unit: int
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class Limits:
    max_registers: int = 125
    max_bits: int = 2000
    max_gap: int = 10
    max_gap_bits: int = 160
    # table -> inclusive (start, end) ranges never to be read
    forbidden: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def span_limit(self, table: str) -> int:
        return self.max_bits if table in BIT_TABLES else self.max_registers

    def gap_limit(self, table: str) -> int:
        return self.max_gap_bits if table in BIT_TABLES else self.max_gap


@dataclass(frozen=True, slots=True)
class ReadRequest:
    table: str
    unit: int
    start: int
    count: int
    items: tuple[Item, ...]

    @property
    def function_code(self) -> int:
        return READ_FUNCTION[self.table]

    @property
    def end(self) -> int:
        return self.start + self.count

    def describe(self) -> str:
        unit = "bits" if self.table in BIT_TABLES else "registers"
        return (f"unit {self.unit} FC{self.function_code} {self.table} "
                f"{self.start}..{self.end - 1} ({self.count} {unit}, {len(self.items)} values)")


@dataclass(frozen=True, slots=True)
class Plan:
    requests: tuple[ReadRequest, ...]
    unreadable: tuple[tuple[Item, str], ...]  # value, why it is never read


def _hits_forbidden(start: int, end: int, ranges: Iterable[tuple[int, int]]) -> bool:
    """Whether [start, end) touches any inclusive forbidden range."""
    return any(lo < end and start <= hi for lo, hi in ranges)


@dataclass(slots=True)
class _Block:
    start: int
    end: int
    items: list[Item]


def blocks_of(items: Sequence[Item]) -> list[_Block]:
    """Disjoint runs of overlapping values, in address order (rule 2)."""
    blocks: list[_Block] = []
    for it in sorted(items, key=lambda i: (i.address, i.end)):
        if blocks and it.address < blocks[-1].end:
            blocks[-1].end = max(blocks[-1].end, it.end)
            blocks[-1].items.append(it)
        else:
            blocks.append(_Block(it.address, it.end, [it]))
    return blocks


def _split_long(block: _Block, limit: int) -> list[_Block]:
    """A chain of overlapping values longer than a request (a config mistake that
    `check` reports): read it in as few whole-value pieces as greedy finds."""
    out: list[_Block] = []
    for it in block.items:
        if out and max(out[-1].end, it.end) - out[-1].start <= limit:
            out[-1].end = max(out[-1].end, it.end)
            out[-1].items.append(it)
        else:
            out.append(_Block(it.address, it.end, [it]))
    return out


def plan_group(table: str, unit: int, items: Sequence[Item], limits: Limits) -> Plan:
    span, gap = limits.span_limit(table), limits.gap_limit(table)
    forbidden = limits.forbidden.get(table, ())
    unreadable: list[tuple[Item, str]] = []
    ok: list[Item] = []
    for it in items:
        if _hits_forbidden(it.address, it.end, forbidden):
            unreadable.append((it, "inside a forbidden range"))
        elif it.count > span:
            unreadable.append((it, f"longer ({it.count}) than the device's request limit {span}"))
        else:
            ok.append(it)
    blocks: list[_Block] = []
    for b in blocks_of(ok):
        blocks.extend(_split_long(b, span) if b.end - b.start > span else [b])
    requests: list[ReadRequest] = []
    cur: _Block | None = None
    for b in blocks:
        if (cur is not None and b.start - cur.end <= gap and b.end - cur.start <= span
                and b.start >= cur.end and not _hits_forbidden(cur.end, b.start, forbidden)):
            cur.end = max(cur.end, b.end)
            cur.items.extend(b.items)
            continue
        if cur is not None:
            requests.append(ReadRequest(table, unit, cur.start, cur.end - cur.start,
                                        tuple(cur.items)))
        cur = _Block(b.start, b.end, list(b.items))
    if cur is not None:
        requests.append(ReadRequest(table, unit, cur.start, cur.end - cur.start,
                                    tuple(cur.items)))
    return Plan(tuple(requests), tuple(unreadable))


def plan(items: Iterable[Item], limits: Limits) -> Plan:
    """The read plan of one device: requests ordered by unit, table and address."""
    groups: dict[tuple[int, str], list[Item]] = defaultdict(list)
    for it in items:
        groups[(it.unit, it.table)].append(it)
    requests: list[ReadRequest] = []
    unreadable: list[tuple[Item, str]] = []
    for (unit, table) in sorted(groups, key=lambda k: (k[0], _TABLE_ORDER[k[1]])):
        p = plan_group(table, unit, groups[(unit, table)], limits)
        requests.extend(p.requests)
        unreadable.extend(p.unreadable)
    return Plan(tuple(requests), tuple(unreadable))
