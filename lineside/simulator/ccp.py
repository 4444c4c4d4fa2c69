"""Scripted CCP values for the simulated factory, and the ground truth of their deviations.

A CCP's signal normally holds steady inside its operating limits (the middle of the
band, with a little noise). From a script origin (whole epoch seconds) every CCP plays
the same script, staggered by 5 s per CCP so that events never coincide:

- at 8 s: beyond the critical limit for `min_duration_s` + 8 s (a deviation);
- 6 s later: beyond it for `min_duration_s` − 4 s, when that is at least 2 s (an
  excursion too short to count);
- 6 s later: a sensor drop-out (NaN) for `monitoring_interval_s` + 6 s (a loss of
  monitoring);

and repeats every `period_s` (300 s, or the next whole minute above what the script
needs: a cold room with a 15 min minimum plays every 31 min). NaN is what a PLC shows
for a broken sensor wire; the engine takes it as no sample. An integer register cannot
hold NaN, so a CCP read from one has no drop-out. `truth_deviations` gives what the
engine must find for CCPs that apply always (those of the machine's state need the
per-second machine truth: `CcpTruth`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineside.config.ccp import Ccp
from lineside.config.plant import iter_machines

STAGGER_S = 5
FIRST_S = 8
GAP_S = 6
MARGIN = 3.0  # how far beyond the limit a scripted excursion goes


@dataclass(frozen=True)
class Window:
    ccp: str
    what: str  # out | short | dropout
    start: int
    end: int


def _steady(c: Ccp) -> float:
    band = c.operating or c.critical
    lo, hi = band.min, band.max
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    if hi is not None:
        return hi - 1.0
    assert lo is not None
    return lo + 1.0


def _beyond(c: Ccp) -> float:
    cr = c.critical
    return cr.max + MARGIN if cr.max is not None else float(cr.min or 0.0) - MARGIN


def integer_ccps(cfg: Any) -> frozenset[str]:
    """CCPs whose signal is an integer register (no NaN: no drop-out in the script)."""
    specs = {f"{m.id}.{n}": s for _, _, m, _ in iter_machines(cfg.lines)
             for n, s in m.signals.items()}
    out = set()
    for c in cfg.ccps:
        t = str(getattr(specs.get(f"{c.machine}.{c.signal}"), "type", "") or "")
        if t and not t.startswith("float"):
            out.add(c.id)
    return frozenset(out)


def period_for(ccps: Sequence[Ccp], no_dropout: frozenset[str] = frozenset()) -> int:
    """300 s, or the next whole minute above the longest CCP script."""
    need = max((w.end for w in script(ccps, 0, None, no_dropout)), default=0)
    return max(300, (need // 60 + 1) * 60)


def script(ccps: Sequence[Ccp], origin: int, period_s: int | None = 300,
           no_dropout: frozenset[str] = frozenset()) -> list[Window]:
    """One period of the script (windows relative to `origin`)."""
    out: list[Window] = []
    for i, c in enumerate(ccps):
        t = origin + FIRST_S + STAGGER_S * i
        long_s = math.ceil(c.min_duration_s) + 8
        out.append(Window(c.id, "out", t, t + long_s))
        t += long_s + GAP_S
        short_s = math.floor(c.min_duration_s) - 4
        if short_s >= 2:
            out.append(Window(c.id, "short", t, t + short_s))
            t += short_s + GAP_S
        drop_s = 0 if c.id in no_dropout else math.ceil(c.monitoring_interval_s) + 6
        if drop_s:
            out.append(Window(c.id, "dropout", t, t + drop_s))
        if period_s is not None and t + drop_s - origin > period_s:
            raise ValueError(f"CCP {c.id}: the script needs more than {period_s} s")
    return out


class CcpScript:
    """Values of the CCP signals at any instant (pure)."""

    def __init__(self, ccps: Sequence[Ccp], origin: float,
                 no_dropout: frozenset[str] = frozenset()) -> None:
        self.ccps = list(ccps)
        self.origin = int(origin)
        self.period_s = period_for(self.ccps, no_dropout)
        self.windows = script(self.ccps, 0, self.period_s, no_dropout)
        self.keys = {f"{c.machine}.{c.signal}": c for c in self.ccps}

    def at(self, c: Ccp, t: float) -> tuple[str | None, float]:
        """(window kind or None, value) of CCP c at t."""
        off = (math.floor(t) - self.origin) % self.period_s if t >= self.origin else -1
        for w in self.windows:
            if w.ccp == c.id and w.start <= off < w.end:
                if w.what == "dropout":
                    return w.what, math.nan
                return w.what, _beyond(c)
        return None, _steady(c) + 0.2 * math.sin(t / 7.0)

    def apply(self, values: dict[str, Any], t: float) -> None:
        for key, c in self.keys.items():
            if key in values:
                values[key] = self.at(c, t)[1]


@dataclass(frozen=True)
class TruthDeviation:
    ccp: str
    kind: str  # limit | monitoring
    start: float
    end: float


def truth_deviations(ccps: Sequence[Ccp], origin: int, t0: float, t1: float,
                     no_dropout: frozenset[str] = frozenset()) -> list[TruthDeviation]:
    """Deviations of always-applying CCPs whose whole span lies in [t0, t1)."""
    out: list[TruthDeviation] = []
    period_s = period_for(ccps, no_dropout)
    k = math.floor((t0 - origin) / period_s) - 1
    while origin + k * period_s < t1:
        base = origin + k * period_s
        for w in script(ccps, base, period_s, no_dropout):
            c = next(c for c in ccps if c.id == w.ccp)
            if c.applies != "always":
                continue
            if w.what in ("out", "short") and w.end - w.start >= c.min_duration_s:
                d = TruthDeviation(c.id, "limit", w.start, w.end)
            elif w.what == "dropout" and w.end - w.start > c.monitoring_interval_s:
                # the last good reading is just before the drop-out
                d = TruthDeviation(c.id, "monitoring", w.start + c.monitoring_interval_s,
                                   w.end)
            else:
                continue
            if d.start >= t0 and d.end < t1:
                out.append(d)
        k += 1
    return sorted(out, key=lambda d: (d.start, d.ccp))


class CcpTruth:
    """Ground truth of every CCP's deviations, also for those that apply only while
    their machine produces: a recorder (one of Factory's `recorders`) that notes, second by
    second, whether each CCP applies (its machine's true state) and what its script
    shows, and derives the deviations by the rules of docs/haccp.md on those seconds."""

    def __init__(self, script: CcpScript) -> None:
        self.script = script
        self.seconds: dict[str, list[tuple[int, bool, str | None]]] = {
            c.id: [] for c in script.ccps}

    def on_second(self, ts: int, rows: Sequence[Any]) -> None:
        state = {r.machine: r.state for r in rows}
        for c in self.script.ccps:
            applies = c.applies == "always" or state.get(c.machine) == "producing"
            self.seconds[c.id].append((ts, applies, self.script.at(c, ts)[0]))

    def deviations(self) -> list[TruthDeviation]:
        out: list[TruthDeviation] = []
        for c in self.script.ccps:
            secs = self.seconds[c.id]
            i = 0
            while i < len(secs):
                ts, applies, what = secs[i]
                if not applies or what is None:
                    i += 1
                    continue
                j = i
                while j < len(secs) and secs[j][1] and secs[j][2] == what:
                    j += 1
                a, b = ts, secs[j - 1][0] + 1  # [a, b): applies and the same window
                if what == "dropout":
                    # silent since the drop-out began (even if the CCP applied later)
                    k = i
                    while k > 0 and secs[k - 1][2] == "dropout":
                        k -= 1
                    start = max(secs[k][0] + c.monitoring_interval_s, a)
                    if start < b:
                        out.append(TruthDeviation(c.id, "monitoring", start, b))
                elif b - a >= c.min_duration_s:
                    out.append(TruthDeviation(c.id, "limit", a, b))
                i = j
        return sorted(out, key=lambda d: (d.start, d.ccp))
