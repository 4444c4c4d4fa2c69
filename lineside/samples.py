"""The one type drivers produce and the engine consumes.

A driver turns configured signals into `Sample`s; it knows nothing about OEE.
`signal` is the fully qualified signal key `"<machine_id>.<signal_name>"` (signals
that belong to no machine use `"<device_id>.<signal_name>"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

Value = bool | int | float | str | None


class Quality(IntEnum):
    """OPC UA-style quality, collapsed to three levels."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


# Not frozen (but hashable): frozen dataclasses assign fields through object.__setattr__,
# 3x the cost of building a sample, and drivers build one per signal per cycle.
@dataclass(slots=True, unsafe_hash=True)
class Sample:
    signal: str
    value: Value
    quality: Quality
    ts: float  # seconds since the Unix epoch, UTC, taken from the poll cycle / source

    @property
    def good(self) -> bool:
        return self.quality is Quality.GOOD
