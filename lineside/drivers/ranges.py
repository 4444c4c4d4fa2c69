"""The plausibility options every signal model shares (`range`, `max_chars`); the engine
applies them (lineside/engine/plausible.py, docs/engine.md "Plausible values")."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# The widest range a signal may set: every code the engine writes stays inside int64
# and every sum it keeps (a CCP's value x seconds) finite.
RANGE_BOUND = 1e15
ValueRange = tuple[Annotated[float, Field(ge=-RANGE_BOUND, le=RANGE_BOUND)],
                   Annotated[float, Field(ge=-RANGE_BOUND, le=RANGE_BOUND)]]
RANGE_DOC = ("[min, max] of a plausible value (after scale and offset); outside it a read "
             "is BAD quality. Default by role: counters their width, codes int32..uint32, "
             "process values +-1e12 (docs/engine.md, Plausible values)")
MAX_CHARS_DOC = "longest text value accepted; a longer one is refused (default 256)"


def check_range(rng: tuple[float, float] | None) -> None:
    if rng is not None and not rng[0] < rng[1]:
        raise ValueError(f"range [{rng[0]:g}, {rng[1]:g}]: min must be below max")
