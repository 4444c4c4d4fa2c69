"""Exponential reconnect backoff with jitter (so that many gateways do not retry in step)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays first, 2·first, 4·first … capped at `cap`, each scaled by a random factor
    in [0.5, 1) ("equal jitter": never zero, never above the exponential curve)."""

    def __init__(self, first: float, cap: float, rng: Callable[[], float] = random.random):
        self.first, self.cap, self._rng = first, max(cap, first), rng
        self.attempt = 0

    def next_delay(self) -> float:
        base = min(self.cap, self.first * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return base * (0.5 + 0.5 * self._rng())

    def reset(self) -> None:
        self.attempt = 0
