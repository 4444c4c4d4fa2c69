"""Plausible values by rule (docs/engine.md, "Plausible values").

A sample the engine cannot use as it stands (NaN, an infinity, no value, a number
outside its signal's range, a text longer than its bound) is taken as BAD quality, as if
the read had failed: it never becomes a state code, a count, a CCP value or a `signal`
point. The feed loop (core.py) asks these functions where samples enter the engine and
counts each refusal by reason; the first refusal of each signal and reason becomes a
`Refusal` that the runtime logs. Pure: no state, no I/O.

Ranges by role, when a signal sets no `range: [min, max]` of its own:

- counters: the integers a register of the counter's width can hold, signed or not,
  -2^(bits-1) .. 2^bits - 1 (so a uint64 counter takes up to 2^64 - 1);
- state codes, modes, programs, fault and product codes, boolean flags: int32 .. uint32
  (-2^31 .. 2^32 - 1): every PackML, Weihenstephan, OPC 40001 or custom code fits, and
  a code written as the `code` / `fault_code` field stays far inside int64;
- process values (CCP values too): finite and within +-1e12. Plant physics never comes
  near (1e12 Pa, g, Wh or L/h is absurd for one machine), while PLC sentinels sit far
  above it (float32 max 3.4e38, +-1e308); and the CCP sums stay finite: a year of
  seconds x 1e12 is 3e19.

A configured range is bounded to +-1e15 (the config models), so the same holds for it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from lineside.engine.states import as_int

NON_FINITE = "non_finite"  # NaN, +-inf, or no value at all (the sample log writes NaN as null)
OUT_OF_RANGE = "out_of_range"  # a number outside the signal's range
TEXT_TOO_LONG = "text_too_long"  # a text longer than the signal's max_chars
NOT_NUMERIC = "not_numeric"  # a text where a counter needs a number
REASONS = (NON_FINITE, OUT_OF_RANGE, TEXT_TOO_LONG, NOT_NUMERIC)

TEXT_MAX_CHARS = 256  # default bound of a text value (a signal's `max_chars`)
VALUE_LIMIT = 1e12  # default range of a process value: [-VALUE_LIMIT, VALUE_LIMIT]
CODE_RANGE = (-(1 << 31), (1 << 32) - 1)  # default range of a code or flag
RANGE_LIMIT = 1e15  # the widest range a signal may configure (config models)


class Bounds(NamedTuple):
    """What one signal accepts."""

    lo: float
    hi: float
    max_chars: int


class Refusal(NamedTuple):
    """The first refused sample of a signal (for each reason): what the runtime logs."""

    signal: str  # "<machine>.<signal>"
    device: str  # the machine's source
    reason: str  # one of REASONS
    kind: str  # the value's type: float, int, str, bool, null, ...
    value: str  # the value, shortened for a log line
    ts: float


def counter_range(bits: int) -> tuple[int, int]:
    """Every value a counter register of `bits` holds, read signed or unsigned."""
    return -(1 << (bits - 1)), (1 << bits) - 1


def bounds(spec: Any, default: tuple[float, float]) -> Bounds:
    """A signal's bounds: its own `range` and `max_chars`, else the role's default."""
    rng = getattr(spec, "range", None)
    lo, hi = (float(rng[0]), float(rng[1])) if rng is not None else default
    chars = getattr(spec, "max_chars", None)
    return Bounds(lo, hi, TEXT_MAX_CHARS if chars is None else int(chars))


def number(v: float, lo: float, hi: float) -> str | None:
    """None when the number is plausible, else why not."""
    if lo <= v <= hi:
        return None
    return NON_FINITE if v != v or v in (math.inf, -math.inf) else OUT_OF_RANGE


def text(v: str, b: Bounds) -> str | None:
    return TEXT_TOO_LONG if len(v) > b.max_chars else None


def code(v: Any, b: Bounds) -> str | None:
    """A state-deciding or mode value (code, flag, text): None when plausible. A
    numeric text is judged as its number (it becomes a code the same way)."""
    if v is None:
        return NON_FINITE
    if v.__class__ is bool:
        return None
    if isinstance(v, int | float):
        try:
            return number(v, b.lo, b.hi)
        except OverflowError:  # an int beyond any float: out of every range
            return OUT_OF_RANGE
    s = v if isinstance(v, str) else str(v)
    if len(s) > b.max_chars:
        return TEXT_TOO_LONG
    c = as_int(s)
    return None if c is None else number(c, b.lo, b.hi)


def process_value(v: Any, b: Bounds) -> str | None:
    """A process value: a finite number within range, or a bounded text."""
    if v is None:
        return NON_FINITE
    if isinstance(v, int | float):
        try:
            return number(float(v), b.lo, b.hi)
        except OverflowError:
            return OUT_OF_RANGE
    return text(v if isinstance(v, str) else str(v), b)


def counter_value(v: Any, lo: int, hi: int, max_chars: int) -> tuple[int | None, str | None]:
    """A counter read as an int within [lo, hi]: (value, None), or (None, why not)."""
    if v is None:
        return None, NON_FINITE
    if isinstance(v, str) and len(v) > max_chars:
        return None, TEXT_TOO_LONG
    try:
        iv = int(v)  # a float is truncated, a numeric text parsed (as before)
    except OverflowError:  # +-inf
        return None, NON_FINITE
    except (TypeError, ValueError):
        return None, NON_FINITE if isinstance(v, float) else NOT_NUMERIC
    if lo <= iv <= hi:
        return iv, None
    return None, OUT_OF_RANGE


def describe(v: Any) -> tuple[str, str]:
    """(kind, short text) of a refused value, for the log line."""
    kind = "null" if v is None else type(v).__name__
    if isinstance(v, str):
        shown = f"{len(v)} characters starting {v[:24]!r}" if len(v) > 40 else repr(v)
    else:
        shown = repr(v)
        if len(shown) > 40:
            shown = shown[:37] + "..."
    return kind, shown
