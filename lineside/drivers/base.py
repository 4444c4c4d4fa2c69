"""What every driver offers the runtime.

A driver speaks one protocol to one device (or one serial bus) and turns configured
signals into `Sample`s. It never raises on device trouble: a failed cycle yields
samples of BAD quality for the signals it could not read, and counts the error in
`stats`. The runtime schedules `poll()` (one run at a time, runtime/timers.py) or, for
subscription drivers, calls `start(emit)` once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lineside.samples import Sample


@dataclass(frozen=True, slots=True)
class SignalRef:
    """A configured signal as a driver sees it: its key and its protocol address."""

    key: str  # "<machine_id>.<signal_name>"
    spec: object  # ModbusSignal | OpcuaSignal


@dataclass
class DriverStats:
    """Counters the runtime exports as Prometheus metrics."""

    up: bool = False
    cycles: int = 0
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # kind -> count
    last_good_ts: float | None = None
    last_cycle_s: float | None = None
    last_error: str | None = None


Emit = Callable[[Sequence[Sample]], None]


class Driver(Protocol):
    device_id: str
    stats: DriverStats

    async def poll(self) -> list[Sample]:
        """One cycle: read every signal once; never raises for device trouble."""
        ...

    async def start(self, emit: Emit) -> None:
        """Subscription drivers: start delivering samples through `emit`."""
        ...

    async def close(self) -> None: ...
