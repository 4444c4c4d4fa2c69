"""The agent's time: the real clocks, or simulated time running `speed` times faster.

Everything that stamps or waits on time in the agent (Timers and the step detector,
the hub, the drivers' sample timestamps) takes a `Clock`, the real one by default.

`ScaledClock(speed, epoch)` is simulated time for fast-forwarding the simulated
factory (`lineside demo --speed`) and for the end-to-end tests: its wall time is
`epoch + (time.time() - epoch) * speed`, so two processes given the same speed and
epoch agree on it (the agent and `lineside simulate`, see `from_env`); its monotonic
time runs `speed` times faster than the real one, and `sleep(s)` sleeps s / speed real
seconds. Wall and monotonic time of one clock move together, so Timers' step detector,
which compares the two, sees no step in a scaled clock (a step of the real wall clock
shows, multiplied by `speed`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

ENV = "LINESIDE_CLOCK"  # "SPEED@EPOCH": simulated time for `lineside run` and `simulate`

T = TypeVar("T")


class Clock(Protocol):
    speed: float  # simulated seconds per real second

    def wall(self) -> float:
        """Seconds since the epoch (UTC)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never steps (for intervals only)."""

    async def sleep(self, s: float) -> None:
        """Wait `s` seconds of this clock."""


class RealClock:
    """time.time, time.monotonic and asyncio.sleep."""

    speed = 1.0

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, s: float) -> None:
        await asyncio.sleep(s)


class ScaledClock:
    """Simulated time, `speed` times faster than real time (see the module's text)."""

    def __init__(self, speed: float, epoch: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = float(speed)
        self.epoch = time.time() if epoch is None else float(epoch)
        self._m0 = time.monotonic()

    def wall(self) -> float:
        return self.epoch + (time.time() - self.epoch) * self.speed

    def monotonic(self) -> float:
        return self._m0 + (time.monotonic() - self._m0) * self.speed

    async def sleep(self, s: float) -> None:
        await asyncio.sleep(s / self.speed)

    def real_at(self, wall: float) -> float:
        """The real time.time() at which this clock shows `wall`."""
        return self.epoch + (wall - self.epoch) / self.speed

    def env(self) -> str:
        """The value of `LINESIDE_CLOCK` that puts another process on this clock."""
        return f"{self.speed!r}@{self.epoch!r}"


class WallClock(RealClock):
    """A given wall-clock function (a test's fixed or stepping time), real waits."""

    def __init__(self, wall: Callable[[], float]) -> None:
        self.wall = wall  # type: ignore[method-assign]  # the instance's own wall clock


REAL = RealClock()


async def wait_for(aw: Awaitable[T], timeout_s: float, clock: Clock) -> T:
    """asyncio.wait_for with the timeout in seconds of `clock`."""
    return await asyncio.wait_for(aw, timeout_s / clock.speed)


def from_env(environ: dict[str, str] | None = None) -> Clock:
    """The clock `LINESIDE_CLOCK` names ("SPEED@EPOCH", e.g. "5@1765000000"), or the real
    one. A test and replay facility (CONTRIBUTING.md, "Simulated time"): the agent and
    the simulator given the same value run on the same simulated time."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not value:
        return REAL
    speed, _, epoch = value.partition("@")
    try:
        return ScaledClock(float(speed), float(epoch) if epoch else None)
    except ValueError as e:
        raise ValueError(f"{ENV}={value!r}: expected SPEED@EPOCH, e.g. 5@1765000000 "
                         f"({e})") from None
