"""Lots (issue 27, docs/lots.md): lot starts and ends in, `lot` and `ccp_lot` points out.
Pure: no I/O, no clock.

A *lot* (a batch, a production order) runs on a machine from its start to its end; one
lot at a time per machine, so a new lot ends the one before. It starts and ends from
two sources, both of them samples, so the sample log records them and `replay`
reproduces every point:

- the machine's `lot_signal` (a batch-number register or text node): a new value
  starts a lot of that id, an empty text or 0 ends the open one;
- an input event of key `EVENT_SIGNAL` (`lineside lot start|end`, handed to the agent
  through its state folder): a JSON object naming a machine or a line (a line's lot
  runs on every machine of it).

While a lot is open, the units its machine's counters add (the engine's plausible
differences, scheduled time or not: a lot made on overtime is still that lot) are its
counts. At its end one `lot` point per machine (event `end`) carries its span and its
counts — a machine without counters has the span and no count fields, never 0.

A CCP deviation's *affected lots* are the lots that ran on the CCP's machine during it,
widened by the CCP's `lot_margin_before_s` and `lot_margin_after_s`: once the deviation
has ended and the after-margin has passed, one `ccp_lot` record per lot (a HACCP record,
hash-chained like the deviation itself).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from lineside.config.ccp import Ccp
from lineside.engine.emit import ns
from lineside.points import Point

EVENT_SIGNAL = "@lot"  # machine ids match IdPattern: no "@" in them
MEASUREMENT = "lot"
AFFECTED = "ccp_lot"
COUNT_FIELDS = ("good_count", "reject_count", "total_count")  # counter k: good, reject, total
MAX_LOT_CHARS = 64
KEEP_S = 7 * 86400.0  # ended lots kept for deviations still to be matched
ACTIONS = ("start", "end")


def lot_event(action: str, lot: str, *, machine: str = "", line: str = "",
              by: str = "") -> str:
    """The value of a lot command sample: canonical JSON, so the log is stable."""
    d = {"action": action, "lot": lot, "by": by}
    if machine:
        d["machine"] = machine
    if line:
        d["line"] = line
    return json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def lot_id(value: Any) -> str | None:
    """A lot signal's value as a lot id: '' for no lot (empty text, 0), None when it is
    no lot number at all (a bool, a fraction)."""
    if value is None or value.__class__ is bool:
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    if isinstance(value, int):
        return "" if value == 0 else str(value)
    s = str(value).strip().strip("\x00")  # PLC strings are often NUL-padded
    if s == "0":  # a number register read as text
        return ""
    return s if len(s) <= MAX_LOT_CHARS else None


@dataclass(slots=True)
class Lot:
    machine: str
    lot: str
    start: float
    source: str  # "plc" or "command"
    by: str
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    end: float | None = None

    def dump(self) -> list[Any]:
        return [self.machine, self.lot, self.start, self.source, self.by, self.counts,
                self.end]

    @classmethod
    def load(cls, d: list[Any]) -> Lot:
        return cls(str(d[0]), str(d[1]), float(d[2]), str(d[3]), str(d[4]),
                   [int(c) for c in d[5]], None if d[6] is None else float(d[6]))


@dataclass(slots=True)
class Pending:
    """A deviation that has ended, waiting for its after-margin to pass."""

    ccp: str
    kind: str
    start: float
    end: float
    tags: dict[str, str]

    def dump(self) -> list[Any]:
        return [self.ccp, self.kind, self.start, self.end, self.tags]

    @classmethod
    def load(cls, d: list[Any]) -> Pending:
        return cls(str(d[0]), str(d[1]), float(d[2]), float(d[3]),
                   {str(k): str(v) for k, v in d[4].items()})


class LotBook:
    """Open and recent lots per machine; see the module docstring."""

    def __init__(self, machine_tags: dict[str, dict[str, str]],
                 line_machines: dict[str, list[str]], counted: dict[str, tuple[int, ...]],
                 ccps: list[Ccp]) -> None:
        self.tags = machine_tags
        self.line_machines = line_machines
        self.counted = counted  # machine -> the counters it has (0 good, 1 reject, 2 total)
        self.ccps = {c.id: c for c in ccps}
        self.open: dict[str, Lot] = {}
        self.ended: list[Lot] = []  # by end, pruned after KEEP_S
        self.pending: list[Pending] = []
        self.events_applied = 0
        self.events_refused = 0

    # -- lots ------------------------------------------------------------------------
    def _start(self, machine: str, lot: str, t: float, source: str, by: str,
               out: list[Point]) -> None:
        self._end(machine, t, out)
        self.open[machine] = Lot(machine, lot, t, source, by)
        out.append(Point(MEASUREMENT, {**self.tags[machine], "lot": lot, "event": "start"},
                         {"source": source, "by": by}, ns(t)))

    def _end(self, machine: str, t: float, out: list[Point]) -> None:
        lot = self.open.pop(machine, None)
        if lot is None:
            return
        lot.end = t
        fields: dict[str, Any] = {"start_ns": ns(lot.start), "span_s": round(t - lot.start, 6),
                                  "source": lot.source, "by": lot.by}
        for k in self.counted.get(machine, ()):
            fields[COUNT_FIELDS[k]] = lot.counts[k]
        out.append(Point(MEASUREMENT, {**self.tags[machine], "lot": lot.lot, "event": "end"},
                         fields, ns(t)))
        self.ended.append(lot)

    def plc(self, machine: str, value: Any, t: float, out: list[Point]) -> None:
        """A reading of `machine`'s lot signal at `t`."""
        lot = lot_id(value)
        if lot is None:
            return
        o = self.open.get(machine)
        if o is not None and o.lot == lot:
            return
        if lot:
            self._start(machine, lot, t, "plc", "plc", out)
        else:
            self._end(machine, t, out)

    def count(self, machine: str, k: int, d: int) -> None:
        """Counter k of `machine` added d units (the engine's plausible difference)."""
        lot = self.open.get(machine)
        if lot is not None:
            lot.counts[k] += int(d)

    # -- commands --------------------------------------------------------------------
    def refusal(self, value: Any) -> str | None:
        """Why a command would change nothing (None: it applies). `lineside lot` asks
        first with the configuration; the engine asks again with its open lots."""
        try:
            ev: Any = json.loads(value) if isinstance(value, str) else None
            action, lot, by = str(ev["action"]), str(ev["lot"]), str(ev.get("by", ""))
            machine, line = str(ev.get("machine", "")), str(ev.get("line", ""))
        except (TypeError, ValueError, KeyError):
            return "not a lot command"
        if action not in ACTIONS:
            return f"unknown action {action!r}"
        if lot_id(lot) != lot or not lot:
            return f"not a lot id: {lot!r} (1 to {MAX_LOT_CHARS} characters, not 0)"
        if not by:
            return "no user"
        if bool(machine) == bool(line):
            return "name a machine or a line"
        if machine and machine not in self.tags:
            return f"no machine {machine!r}"
        if line and line not in self.line_machines:
            return f"no line {line!r}"
        if action == "end" and not any(
                (o := self.open.get(m)) is not None and o.lot == lot
                for m in self._targets(machine, line)):
            return f"lot {lot!r} is not running there"
        return None

    def _targets(self, machine: str, line: str) -> list[str]:
        return [machine] if machine else self.line_machines.get(line, [])

    def apply(self, value: Any, t: float, out: list[Point]) -> bool:
        """A lot command at `t`; refused ones change nothing (counted)."""
        if self.refusal(value) is not None:
            self.events_refused += 1
            return False
        ev = json.loads(value)
        lot, by = str(ev["lot"]), str(ev["by"])
        for m in self._targets(str(ev.get("machine", "")), str(ev.get("line", ""))):
            if ev["action"] == "start":
                self._start(m, lot, t, "command", by, out)
            elif (o := self.open.get(m)) is not None and o.lot == lot:
                self._end(m, t, out)
        self.events_applied += 1
        return True

    # -- affected lots -------------------------------------------------------------------
    def deviations_ended(self, points: list[Point]) -> None:
        """Take note of the deviations that ended among `points` (engine hook)."""
        for p in points:
            if p.measurement != "ccp_deviation" or p.tags.get("event") != "end":
                continue
            ccp = p.tags.get("ccp", "")
            if ccp not in self.ccps:
                continue
            tags = {k: v for k, v in p.tags.items() if k not in ("event", "kind")}
            self.pending.append(Pending(ccp, p.tags.get("kind", ""),
                                        int(p.fields["start_ns"]) / 1e9, p.ts_ns / 1e9, tags))

    def due(self, now: float, out: list[Point]) -> None:
        """`ccp_lot` records of the deviations whose after-margin has passed by `now`."""
        if not self.pending:
            self._prune(now)
            return
        keep: list[Pending] = []
        for d in self.pending:
            c = self.ccps[d.ccp]
            if now < d.end + c.lot_margin_after_s:
                keep.append(d)
                continue
            lo, hi = d.start - c.lot_margin_before_s, d.end + c.lot_margin_after_s
            seen: set[str] = set()
            for lot in self.lots_on(c.machine, lo, hi):
                if lot.lot in seen:  # one record per lot id: a lot resumed is one lot
                    continue
                seen.add(lot.lot)
                fields: dict[str, Any] = {
                    "deviation_start_ns": ns(d.start), "deviation_end_ns": ns(d.end),
                    "lot_start_ns": ns(lot.start),
                    "margin_before_s": float(c.lot_margin_before_s),
                    "margin_after_s": float(c.lot_margin_after_s)}
                # Its end only when inside the window: the engine may look at the lots
                # later than `hi` (one feed of many samples), and what it then knows of
                # the lots after `hi` must not change the record (replay = live).
                if lot.end is not None and lot.end <= hi:
                    fields["lot_end_ns"] = ns(lot.end)
                out.append(Point(AFFECTED, {**d.tags, "kind": d.kind, "lot": lot.lot},
                                 fields, ns(d.start)))
        self.pending = keep
        self._prune(now)

    def lots_on(self, machine: str, lo: float, hi: float) -> list[Lot]:
        """Lots of `machine` that ran at some instant of [lo, hi], by start. A lot that
        ended exactly at `lo` ran before it, one that starts at `hi` in it."""
        lots = [x for x in self.ended if x.machine == machine]
        o = self.open.get(machine)
        if o is not None:
            lots.append(o)
        return sorted((x for x in lots if x.start <= hi and (x.end is None or x.end > lo)),
                      key=lambda x: (x.start, x.lot))

    def _prune(self, now: float) -> None:
        if self.ended and self.ended[0].end is not None and self.ended[0].end < now - KEEP_S:
            self.ended = [x for x in self.ended if x.end is not None and x.end >= now - KEEP_S]

    # -- snapshot ------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"open": [x.dump() for x in self.open.values()],
                "ended": [x.dump() for x in self.ended],
                "pending": [d.dump() for d in self.pending],
                "applied": self.events_applied, "refused": self.events_refused}

    def load(self, d: dict[str, Any]) -> None:
        for raw in d.get("open", []):
            x = Lot.load(raw)
            if x.machine in self.tags:
                self.open[x.machine] = x
        self.ended = [x for x in map(Lot.load, d.get("ended", [])) if x.machine in self.tags]
        self.pending = [p for p in map(Pending.load, d.get("pending", []))
                        if p.ccp in self.ccps]
        self.events_applied = int(d.get("applied", 0))
        self.events_refused = int(d.get("refused", 0))
