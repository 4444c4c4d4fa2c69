"""The one type the engine emits and the sinks deliver (serialized by sinks/lineproto.py).

A `Point` maps 1:1 onto an InfluxDB point (measurement, tags, fields, timestamp).
Timestamps are integer nanoseconds so that a replay yields byte-identical line protocol.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, NoReturn

FieldValue = bool | int | float | str


class Series(dict[str, str]):
    """The tags of a series that gets many points (a signal): built once and never
    changed, so a serializer may keep on it what it derived from them (`cache`: the
    line-protocol series key) instead of deriving it again for every point."""

    __slots__ = ("cache",)

    def __init__(self, *args: Any, **kw: str) -> None:
        super().__init__(*args, **kw)
        self.cache: Any = None

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:  # copy, pickle
        return (Series, (dict(self),))

    def _immutable(self, *args: Any, **kw: Any) -> NoReturn:
        raise TypeError("Series tags are immutable: build a new Series")

    __setitem__ = __delitem__ = __ior__ = _immutable
    clear = pop = popitem = setdefault = update = _immutable


# Not frozen: a frozen dataclass assigns its fields through object.__setattr__, which
# made building the engine's ~10,000 points/s cost 3x more. Points are never mutated.
@dataclass(slots=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    ts_ns: int


class Refusal(NamedTuple):
    """A value (or, with `field` None, a whole point) a stage after the drivers refused."""

    point: Point
    field: str | None
    reason: str  # value_problem's reason, or the stage's own (`timestamp`, `newline`)


# What InfluxDB takes (docs/design.md, "InfluxDB schema"): integers within int64, finite
# floats, valid Unicode text, timestamps within ±(2^63 − 2) ns (its own bounds: a value
# or time outside them fails the whole request with 400).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TS_NS_MAX = 2**63 - 2


def value_problem(v: object) -> str | None:
    """Why a field value cannot be written as it is, None when it can (or is None:
    absent). Reasons, the `reason` label of `lineside_points_refused_total`:
    `non_finite`, `int_range`, `encoding`, `type`."""
    t = type(v)
    if t is float:
        return None if math.isfinite(v) else "non_finite"  # type: ignore[arg-type]  # a float by the exact type() test
    if t is int:
        return None if INT64_MIN <= v <= INT64_MAX else "int_range"  # type: ignore[operator]  # an int by the exact type() test
    if t is bool or v is None:
        return None
    if isinstance(v, str):
        return None if v.isascii() or _encodable(v) else "encoding"
    if isinstance(v, bool):
        return None
    if isinstance(v, numbers.Integral):
        return None if INT64_MIN <= int(v) <= INT64_MAX else "int_range"
    if isinstance(v, numbers.Real | Decimal):
        try:
            return None if math.isfinite(v) else "non_finite"
        except (OverflowError, ValueError):
            return "non_finite"
    return "type"


def _encodable(s: str) -> bool:
    try:
        s.encode()
    except UnicodeEncodeError:  # lone surrogates: not UTF-8, the queue could not hold it
        return False
    return True


def describe_value(v: object) -> str:
    """A value's kind for a log line, never the whole of a long one."""
    if isinstance(v, str):
        return f"text of {len(v)} characters"
    if isinstance(v, bool):
        return f"bool {v}"
    if isinstance(v, int):
        s = str(v) if abs(v) < 10**30 else f"of {len(str(abs(v)))} digits"
        return f"integer {s}"
    if isinstance(v, float):
        return f"float {v!r}"
    return type(v).__name__
