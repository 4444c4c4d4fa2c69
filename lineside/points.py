"""The one type the engine emits and the sinks deliver (serialized by sinks/lineproto.py).

A `Point` maps 1:1 onto an InfluxDB point (measurement, tags, fields, timestamp).
Timestamps are integer nanoseconds so that a replay yields byte-identical line protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

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
