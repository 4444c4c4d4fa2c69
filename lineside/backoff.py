"""The one retry delay of the agent: drivers reconnecting and sinks rewriting use it.

Exponential (first, 2·first, 4·first … capped) with "equal jitter": each delay is scaled
by a random factor in [0.5, 1), so it is never zero and never above the curve, and many
gateways retrying after the same server restart do not hit it in the same millisecond.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(self, first: float, cap: float, rng: Callable[[], float] = random.random):
        self.first, self.cap, self._rng = first, cap, rng
        self.attempt = 0

    def next_delay(self) -> float:
        base = min(self.cap, self.first * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return base * (0.5 + 0.5 * self._rng())

    def reset(self) -> None:
        self.attempt = 0
