"""The counting rule: PLC counter values in, units made out, never invented.

One `Counter` follows one counter signal (`good`, `reject` or `total`) of one machine.
Values are taken modulo 2^bits, the counter's own width (from its declared type, see
`lineside.config.plant.Machine.counter_bits`), so a signed register that wraps
from 32767 to -32768 moves by one. The rule, with worked examples in docs/engine.md
("Counters"):

- allowance: the units the machine could have made since the counter last changed,
  `ideal rate x elapsed x margin`, plus up to one unit left over from earlier changes
  (a counter steps in whole units, so a read can see one more than the rate gives);
- a rise adds its difference, at most the allowance: the rest is *excess*, flagged
  and not added;
- a drop is a *rollover* when the wrapped distance fits the allowance, else a *reset*
  when the new value fits it (the counter restarted near zero: the new value is
  added), else a *dip* (a correction, a glitch, a PLC-computed counter going back):
  nothing is added;
- re-baseline: a refused change leaves an alternative baseline (`alt`: the old value
  after an excess, the dipped value after a dip). A read counts its plausible step
  from the baseline first (so a dip of one unit and its return add nothing), else from
  the alternative, which then becomes the baseline: after a torn read or a correction
  the counter counts on at its next read instead of waiting to pass the glitch.

Pure and allocation-free on the hot path: `step` updates slots and the caller's
stats object in place.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from lineside.engine.plausible import TEXT_MAX_CHARS, counter_range


class CounterStats(Protocol):
    counter_rollovers: int
    counter_resets: int
    counter_dips: int
    counter_excess: int
    counter_excess_units: int


class Counter:
    """One cumulative (or per-cycle) counter signal; see the module docstring."""

    __slots__ = ("alt", "base", "credit", "hi", "incr", "limits", "lo", "mask", "max_chars", "mod",
                 "per_s", "raw", "t")

    def __init__(self, bits: int, per_s: float, incr: bool = False,
                 limits: tuple[float, float] | None = None,
                 max_chars: int = TEXT_MAX_CHARS) -> None:
        self.per_s = per_s  # most units per second: max ideal rate x margin / 60
        self.incr = incr
        self.limits = limits  # the signal's own `range`, within the width's
        self.max_chars = max_chars
        self._width(bits)
        self.base: int | None = None  # value counted up to (the high mark after a dip)
        self.alt: int | None = None  # after a refused change: the other baseline
        self.raw: int | None = None  # last value read
        self.t: float | None = None  # when the value last changed (None: never read)
        self.credit = 1.0  # allowance left over, at most one unit

    def _width(self, bits: int) -> None:
        self.mod = 1 << bits
        self.mask = self.mod - 1
        # Plausible reads (engine/plausible.py): what a register of this width holds.
        lo, hi = counter_range(bits)
        if self.limits is not None:
            lo, hi = max(lo, math.ceil(self.limits[0])), min(hi, math.floor(self.limits[1]))
        self.lo, self.hi = lo, hi

    def set_bits(self, bits: int) -> None:
        """A width learned late (OPC UA DataType at connect): re-read the baseline."""
        if 1 << bits != self.mod:
            self._width(bits)
            if self.base is not None:
                self.base &= self.mask
            if self.raw is not None:
                self.raw &= self.mask
            if self.alt is not None:
                self.alt &= self.mask

    def step(self, value: int, ts: float, st: CounterStats) -> int:
        """Units to add for a new good value at `ts` (0 when nothing is made)."""
        if self.incr:
            # Per-cycle counts: each value is the units since the previous read. The
            # first read has no elapsed time: at most the one left-over unit.
            if value <= 0:
                if value < 0:
                    st.counter_dips += 1
                return 0
            t0 = self.t
            allow = self.credit if t0 is None else self.credit + self.per_s * (ts - t0)
            self.t = ts
            return self._cap(value, allow, st)
        v = value & self.mask
        prev_raw = self.raw
        if v == prev_raw:
            return 0
        self.raw = v
        base = self.base
        if base is None:  # first value: the baseline
            self.base = v
            self.t = ts
            return 0
        allow = self.credit + self.per_s * (ts - self.t)  # type: ignore[operator]  # t is set with the base
        d = self._step_from(base, v, allow, st)
        alt = self.alt
        if d is None and alt is not None:
            # Refused from the baseline: the counter may have gone on from the value
            # refused last (a glitch it came back from, a correction it counts on from).
            d = self._step_from(alt, v, allow, st)
        if d is not None:
            self.base = v
            self.alt = None
            self.t = ts
            if d == 0:  # back at a baseline: nothing made, the left-over unit stays
                return 0
            left = allow - d
            self.credit = left if left < 1.0 else 1.0
            return d
        self.t = ts
        if v > base:  # excess: the allowance counts, the rest is refused
            self.alt = base  # the old course, should the counter come back to it
            self.base = v
            return self._cap(v - base, allow, st)
        # A dip: nothing added; the dipped value is the alternative baseline.
        if prev_raw is None or v < prev_raw:  # (not while climbing back from one)
            st.counter_dips += 1
        self.alt = v
        self.credit = allow if allow < 1.0 else 1.0
        return 0

    def _step_from(self, b: int, v: int, allow: float, st: CounterStats) -> int | None:
        """Units from baseline `b` to `v` when the step is plausible: a rise within the
        allowance, a rollover or a reset (counted in `st`); else None."""
        if v >= b:
            return v - b if v - b <= allow else None
        w = v + self.mod - b
        if w <= allow:
            st.counter_rollovers += 1
            return w
        if v <= allow:
            st.counter_resets += 1
            return v
        return None

    def _cap(self, d: int, allow: float, st: CounterStats) -> int:
        if d > allow:
            n = int(allow)
            st.counter_excess += 1
            st.counter_excess_units += d - n
            d = n
        left = allow - d
        self.credit = left if left < 1.0 else 1.0
        return d

    # -- snapshot ------------------------------------------------------------------------
    def dump(self) -> list[Any]:
        return [self.base, self.raw, self.t, self.credit, self.alt]

    def load(self, d: Any, now: float) -> None:
        if isinstance(d, list) and len(d) in (4, 5):  # (4: a snapshot from before `alt`)
            self.base, self.raw, self.t, self.credit = d[:4]
            self.alt = d[4] if len(d) == 5 else None
        elif isinstance(d, int):  # an older snapshot kept the last value only
            self.base = self.raw = d & self.mask
            self.t, self.credit = now, 1.0
