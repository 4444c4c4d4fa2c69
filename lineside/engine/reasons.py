"""Downtime reasons as a ledger (issue 26, docs/station.md): stops and their
classifications in, `downtime_reason` points out. Pure: no I/O, no clock.

A *stop* is one span of a machine in `fault` or `idle` (the states whose stops need a
reason, as `needs_reason` says) lasting at least `min_stop_s`; it is known by its machine
and its start (integer ns). When it ends, the ledger writes its seconds on one reason:
the one an operator gave while it lasted, else the PLC fault code's (the
`station.fault_codes` table), else `unclassified`. A classification is an input event
(a sample of key `EVENT_SIGNAL` whose value is a JSON object, so the sample log records
it and `replay` reproduces it); a change of reason never rewrites a point: it appends
two, −seconds and −1 stop on the old reason, +seconds and +1 stop on the new one. So the
sum of `seconds` grouped by `reason` over the stops that start in any range is that
range's Pareto, exactly, whatever was reclassified, and the reasons' sum is the stops'.

A stop that lasts across a change of shift is cut there (`cut`, called by the engine
when the open shift instance changes: a shift's end, the next one's start): each part
is written at its own start with its own seconds, so a shift's Pareto (the sum over
the shift's span) is exactly the stop time inside that shift. The stop counts once:
`stops` is ±1 on its first part and 0 on the parts after a cut. A reclassification
moves every part. Whether a stop needs a reason (`min_stop_s`) is judged on its whole
duration, at its end.

Every point of one stop is stamped at its part's start plus a sequence number in
nanoseconds (stop starts and shift changes are whole microseconds), so no two entries
of a series share a timestamp and InfluxDB keeps every one instead of overwriting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lineside.config.station import UNCLASSIFIED, Station
from lineside.engine.emit import ns
from lineside.engine.states import FAULT, IDLE
from lineside.points import Point

EVENT_SIGNAL = "@station.classify"  # machine ids match IdPattern: no "@" in them
MEASUREMENT = "downtime_reason"
REASON_STATES = frozenset((FAULT, IDLE))
_STATE_NAMES = {FAULT: "fault", IDLE: "idle"}
MAX_ENTRIES = 999  # sequence numbers stay below one microsecond of the stop's start


@dataclass(slots=True)
class Stop:
    machine: str
    start: float
    state: str
    fault_code: int | None
    text: str  # the PLC's fault text (or the engine's reason) when it started
    end: float | None = None  # None while it lasts
    seconds: float = 0.0  # its duration once ended (the engine's prev_duration_s)
    reason: str = UNCLASSIFIED  # the reason its seconds are on (or will be, while open)
    by: str = ""  # who gave `reason`: a user, "plc" for the fault-code table, "" nobody
    at: float | None = None  # when `reason` was given
    seq: int = 0  # entries written for it
    # cuts at shift changes: (where the next part starts, observed seconds before it)
    cuts: list[tuple[float, float]] = field(default_factory=list)

    @property
    def start_ns(self) -> int:
        return ns(self.start)

    def parts(self) -> list[tuple[int, float]]:
        """(start ns, seconds) of each part: the observed time between its cuts (a clock
        step is no time), the last part the rest of the stop's seconds."""
        starts, done, out = [self.start], 0.0, []
        for at, before in self.cuts:
            out.append(round(max(before - done, 0.0), 6))
            starts.append(at)
            done = max(before, done)
        out.append(round(max(self.seconds - done, 0.0), 6))
        return [(ns(a), s) for a, s in zip(starts, out, strict=True)]

    def dump(self) -> list[Any]:
        return [self.machine, self.start, self.state, self.fault_code, self.text, self.end,
                self.reason, self.by, self.at, self.seq, self.seconds,
                [list(c) for c in self.cuts]]

    @classmethod
    def load(cls, d: list[Any]) -> Stop:
        cuts = [(float(a), float(b)) for a, b in d[11]] if len(d) > 11 else []
        return cls(str(d[0]), float(d[1]), str(d[2]), d[3], str(d[4]), d[5], float(d[10]),
                   str(d[6]), str(d[7]), d[8], int(d[9]), cuts)


def classify_event(machine: str, stop_ns: int, reason: str, by: str) -> str:
    """The value of a classification sample: canonical JSON, so the log is stable."""
    return json.dumps({"machine": machine, "stop": int(stop_ns), "reason": reason,
                       "by": by}, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class ReasonLedger:
    """Open and recent stops per machine; see the module docstring."""

    def __init__(self, station: Station, machine_tags: dict[str, dict[str, str]],
                 default_min_stop_s: float) -> None:
        self.cfg = station
        self.min_stop_s = float(station.min_stop_s or default_min_stop_s)
        self.keep_s = station.reclassify_days * 86400.0
        self.tags = machine_tags
        self.by_code: dict[tuple[str | None, int], str] = {}
        for f in station.fault_codes:
            machines: list[str | None] = [*f.machines] if f.machines else [None]  # None: all
            for mid in machines:
                self.by_code[(mid, f.code)] = f.reason
        self.reason_tags: dict[str, dict[str, str]] = {
            UNCLASSIFIED: {"reason": UNCLASSIFIED, "reason_name": UNCLASSIFIED,
                           "category": UNCLASSIFIED}}
        for c in station.categories:
            for r in c.reasons:
                self.reason_tags[r.id] = {"reason": r.id, "reason_name": r.name,
                                          "category": c.id, "loss": r.loss}
        self.open: dict[str, Stop] = {}  # machine -> the stop it is in
        self.stops: dict[tuple[str, int], Stop] = {}  # (machine, start ns) -> ended stop
        self.events_applied = 0
        self.events_refused = 0

    # -- what the engine tells it ------------------------------------------------------
    def transition(self, machine: str, prev: int, new: int, t: float, dur: float,
                   text: str, fault_code: int | None, out: list[Point]) -> None:
        """A state change of `machine` at `t` after `dur` seconds in `prev` (the hook in
        Engine._set_state; `dur` is observed time, a clock step excluded)."""
        if prev in REASON_STATES:
            stop = self.open.pop(machine, None)
            if stop is not None:
                self._end(stop, t, dur, out)
        if new in REASON_STATES and machine in self.tags:
            self.open[machine] = Stop(machine, t, _STATE_NAMES[new],
                                      fault_code if new == FAULT else None, text)

    def cut(self, at: float, observed: dict[str, float]) -> None:
        """The open shift instance changed at `at` (a shift ended, another began): every
        open stop that started before it is cut there; `observed[machine]` is the time the
        machine has been in its state (the engine's, a clock step excluded)."""
        for mid, stop in self.open.items():
            if stop.start < at and mid in observed:
                stop.cuts.append((at, observed[mid]))

    def _end(self, stop: Stop, t: float, dur: float, out: list[Point]) -> None:
        stop.end, stop.seconds = t, round(dur, 6)
        if dur < self.min_stop_s:
            return  # not a stop that needs a reason (a small one is in OEE's small stops)
        rid = self.table_reason(stop)
        if rid is not None:
            stop.reason, stop.by, stop.at = rid, "plc", t
        self._entry(stop, stop.reason, +1, stop.by or "engine", "stop", out)
        self.stops[(stop.machine, stop.start_ns)] = stop
        self._prune(t)

    def table_reason(self, stop: Stop) -> str | None:
        """The fault-code table's reason for a stop nobody has classified (the machine's
        own entry first); it applies when the stop ends."""
        if stop.by or stop.fault_code is None:
            return None
        return self.by_code.get((stop.machine, stop.fault_code)) \
            or self.by_code.get((None, stop.fault_code))

    def _prune(self, now: float) -> None:
        old = [k for k, s in self.stops.items() if s.start < now - self.keep_s]
        for k in old:
            del self.stops[k]

    def _entry(self, stop: Stop, reason: str, sign: int, by: str, entry: str,
               out: list[Point]) -> None:
        """One entry per part (one part unless the stop was cut at a shift change); a
        zero-second part after a cut (the stop ended on it) is not written."""
        tags = {**self.tags[stop.machine], **self.reason_tags[reason]}
        for i, (start_ns, seconds) in enumerate(stop.parts()):
            if i and not seconds:
                continue
            stop.seq += 1
            fields: dict[str, Any] = {"seconds": sign * seconds, "stops": sign if i == 0 else 0,
                                      "state": stop.state, "by": by, "entry": entry}
            if stop.fault_code is not None:
                fields["fault_code"] = stop.fault_code
            out.append(Point(MEASUREMENT, tags, fields, start_ns + stop.seq))

    # -- classifications -------------------------------------------------------------
    def find(self, machine: str, stop_ns: int) -> Stop | None:
        stop = self.stops.get((machine, stop_ns))
        if stop is None:
            o = self.open.get(machine)
            if o is not None and o.start_ns == stop_ns:
                stop = o
        return stop

    def refusal(self, value: Any, now: float) -> str | None:
        """Why an event would change nothing (None: it applies). The station asks first."""
        try:
            ev: Any = json.loads(value) if isinstance(value, str) else None  # None: TypeError
            machine, stop_ns = str(ev["machine"]), int(ev["stop"])
            reason, by = str(ev["reason"]), str(ev["by"])
        except (TypeError, ValueError, KeyError):
            return "not a classification"
        if reason not in self.reason_tags or reason == UNCLASSIFIED:
            return f"unknown reason {reason!r}"
        if not by:
            return "no user"
        stop = self.find(machine, stop_ns)
        if stop is None:
            return "no such stop (or older than reclassify_days)"
        if stop.start < now - self.keep_s:
            return "older than reclassify_days"
        if stop.reason == reason:
            return "already that reason"
        if stop.seq + 2 * len(stop.parts()) > MAX_ENTRIES:
            return "too many changes"
        return None

    def apply(self, value: Any, now: float, out: list[Point]) -> bool:
        """A classification sample at `now`; refused ones change nothing (counted)."""
        if self.refusal(value, now) is not None:
            self.events_refused += 1
            return False
        ev = json.loads(value)
        stop = self.find(str(ev["machine"]), int(ev["stop"]))
        assert stop is not None
        old, new, by = stop.reason, str(ev["reason"]), str(ev["by"])
        if stop.end is not None:  # written: a correction, as in a ledger
            self._entry(stop, old, -1, by, "retract", out)
            self._entry(stop, new, +1, by, "assign", out)
        stop.reason, stop.by, stop.at = new, by, now
        self.events_applied += 1
        return True

    # -- what the station reads --------------------------------------------------------
    def recent(self, now: float) -> list[Stop]:
        """Ended stops still classifiable and the open ones at least min_stop_s long,
        by start."""
        out = [s for s in self.stops.values() if s.start >= now - self.keep_s]
        out += [s for s in self.open.values() if now - s.start >= self.min_stop_s]
        return sorted(out, key=lambda s: (s.start, s.machine))

    # -- snapshot ------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"open": [s.dump() for s in self.open.values()],
                "stops": [s.dump() for s in self.stops.values()],
                "applied": self.events_applied, "refused": self.events_refused}

    def load(self, d: dict[str, Any]) -> None:
        for raw in d.get("open", []):
            s = Stop.load(raw)
            if s.machine in self.tags:
                self.open[s.machine] = s
        for raw in d.get("stops", []):
            s = Stop.load(raw)
            if s.machine in self.tags and s.reason in self.reason_tags:
                self.stops[(s.machine, s.start_ns)] = s
        self.events_applied = int(d.get("applied", 0))
        self.events_refused = int(d.get("refused", 0))
