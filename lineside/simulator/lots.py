"""Lots in the simulated factory, and the ground truth of the lots each deviation affected.

Every line has a batch number (a production order): a new one at each product change of
one of its machines (a setup's end, `MachineSim._transition`) and after every planned
order length, drawn from the line's own seeded stream within `lot_s` (15 to 45 min by
default, so that a few simulated hours hold lot changes inside and near the CCP script's
deviations). Line n's numbers are n·100000 + 1, + 2, … counted from the simulation's
start (warm-up included). A machine's signal named `batch` or `lot` shows its line's
number — a number register holds it as an integer, a text register or node as its
digits — so the agent learns lots through the same `lot_signal` path as from a real PLC.

`affected_lots` is the ground truth of docs/lots.md's rule on the true deviations
(`CcpTruth`, simulator/ccp.py) and the true lot spans, with the configured margins; it
shares no code with the engine (engine/lots.py) on purpose.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineside.config.plant import iter_machines

LOT_NAMES = ("batch", "lot")
LOT_S = (900.0, 2700.0)


class LineLots:
    """One line's batch numbers over time (pure: the same at an instant however the
    factory was stepped, since planned changes are drawn in time order)."""

    def __init__(self, number: int, rng: random.Random, origin: float,
                 lot_s: tuple[float, float] = LOT_S) -> None:
        self.base = number * 100_000
        self.rng, self.lot_s = rng, lot_s
        self.changes: list[int] = []  # instants a new lot started, sorted
        self.product_changes: list[int] = []  # those of them at a product change
        self.next_planned = int(origin) + self._draw()

    def _draw(self) -> int:
        return max(1, round(self.rng.uniform(*self.lot_s)))

    def _plan_to(self, t: float) -> None:
        while self.next_planned <= t:
            bisect.insort(self.changes, self.next_planned)
            self.next_planned += self._draw()

    def product_changed(self, t: int) -> None:
        """A machine of the line changed product at `t`: a new lot (one per instant)."""
        self._plan_to(t)
        self.product_changes.append(t)
        i = bisect.bisect_left(self.changes, t)
        if i == len(self.changes) or self.changes[i] != t:
            self.changes.insert(i, t)

    def at(self, t: float) -> int:
        self._plan_to(t)
        return self.base + 1 + bisect.bisect_right(self.changes, t)

    def spans(self, t0: float, t1: float) -> list[tuple[str, float, float | None]]:
        """(lot, start, end or None while it runs at t1) of the lots seen in [t0, t1],
        their starts clipped to t0 (where an observer began)."""
        self._plan_to(t1)
        out: list[tuple[str, float, float | None]] = []
        start = t0
        for c in self.changes:
            if c <= t0:
                continue
            if c > t1:
                break
            out.append((str(self.at(start)), start, float(c)))
            start = float(c)
        out.append((str(self.at(start)), start, None))
        return out


@dataclass(frozen=True)
class AffectedLot:
    ccp: str
    kind: str  # limit | monitoring
    start: float  # the deviation's
    end: float
    lot: str
    lot_start: float
    lot_end: float | None  # when the lot ended inside the window (as on a ccp_lot record)


def affected_lots(cfg: Any, deviations: Sequence[Any], lots: dict[str, LineLots],
                  observed_from: float, until: float) -> list[AffectedLot]:
    """The lots each true deviation affected (docs/lots.md): on the CCP's machine — if
    it has a `lot_signal` — at some instant of [start − margin before, end + margin
    after]; a lot that ended exactly at the window's start ran before it. Lot spans as
    an observer from `observed_from` sees them, up to `until`."""
    line_of = {m.id: ln.id for ln, _, m, _ in iter_machines(cfg.lines)}
    has_lots = {m.id for _, _, m, _ in iter_machines(cfg.lines) if m.lot_signal}
    ccps = {c.id: c for c in cfg.ccps}
    out: list[AffectedLot] = []
    for d in deviations:
        c = ccps[d.ccp]
        if c.machine not in has_lots:
            continue
        lo, hi = d.start - c.lot_margin_before_s, d.end + c.lot_margin_after_s
        for lot, a, b in lots[line_of[c.machine]].spans(observed_from, until):
            if a <= hi and (b is None or b > lo):
                out.append(AffectedLot(d.ccp, d.kind, d.start, d.end, lot, a,
                                       b if b is not None and b <= hi else None))
    return sorted(out, key=lambda x: (x.start, x.ccp, x.lot_start))
