"""Critical control points (HACCP): excursions, deviations, loss of monitoring, summaries.

Sans-I/O like the rest of the engine: the engine hands over the readings of the watched
signals (`Reading`: plausible numbers, at the instant the engine took them) and the state
changes of the CCP machines (`StateChange`, from the engine's own state), with a
*horizon* up to which every machine state is known; time is only what those say. Events
of one instant are applied together, state changes first, before any CCP is judged.
docs/haccp.md states every rule; in short:

- a good sample's value holds until the next one, for at most `monitoring_interval_s`;
  with no good sample for longer than that the CCP is in *loss of monitoring* from
  `last good + interval` until the next good sample: a deviation of kind `monitoring`;
- a value beyond a critical limit starts an *excursion* at that sample; once it has
  lasted `min_duration_s` (at once when 0) it is a deviation of kind `limit`, dated from
  the excursion's start; it ends at the first sample back within the limits, when
  monitoring is lost, or when the CCP stops applying;
- `applies: producing`: the CCP applies while its machine is `producing` or `unknown`
  (a machine nobody can see may be producing);
- every instant is accounted in a bucket summary (`ccp`) and, inside a shift, a shift
  summary (`ccp_shift`). Whether an excursion's time is deviation time is only known
  when it qualifies or ends, so a summary waits until no undecided time is left in it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from lineside.config.ccp import Ccp
from lineside.engine.calendar import ShiftInstance, Timeline
from lineside.engine.periods import written
from lineside.points import Point
from lineside.samples import Quality

# Summary slots (seconds unless said): what each instant of a CCP's time counted as.
SPAN, APPL, MON, WITHIN, WARN, OUT, DEV, PEND, LOST, VSUM, DEVS, LOSSES = range(12)
SLOT_N = 12
SUMMARY_FIELDS = ("span_s", "applicable_s", "monitored_s", "within_s", "warning_s",
                  "excursion_s", "deviation_s", None, "lost_s", "value_s", "deviations",
                  "losses")
COUNT_SLOTS = (DEVS, LOSSES)
# What the bureau may receive per enterprise and CCP kind: counts and durations.
BUREAU_FIELDS = ("deviations", "deviation_s", "losses", "lost_s", "monitored_s")
APPLIES_WHILE = frozenset(("producing", "unknown"))

# Status a CCP can be in (metrics, demo view, `lineside haccp`).
OK, WARNING, EXCURSION, DEVIATION, LOST_S, NOT_APPLICABLE, NO_DATA = (
    "ok", "warning", "excursion", "deviation", "lost", "not applicable", "no data")


class Reading(NamedTuple):
    """A plausible number read on a watched signal, at the engine's instant for it."""

    t: float
    key: str  # "<machine>.<signal>"
    value: float


class StateChange(NamedTuple):
    """A CCP machine's new state, at its exact instant (the engine's, not a point's ns)."""

    t: float
    machine: str
    state: str


Event = Reading | StateChange


def _order(e: Event) -> tuple[float, bool]:
    """Time order; at one instant the state changes first, then the readings."""
    return e.t, e.__class__ is Reading


class When(NamedTuple):
    """The machine's state and the shift at an event's start (on its points); a
    monitoring-only unit has no state ("": no `state` field)."""

    state: str
    shift: str | None = None
    shift_date: str | None = None

    def fields(self) -> dict[str, Any]:
        f: dict[str, Any] = {"state": self.state} if self.state else {}
        if self.shift is not None:
            f["shift"], f["shift_date"] = self.shift, self.shift_date
        return f

    @classmethod
    def of(cls, d: dict[str, Any]) -> When:
        # (every snapshot of a machine's CCP holds its state: none is a unit without one)
        return cls(str(d.get("state", "")), d.get("shift"), d.get("shift_date"))


@dataclass(frozen=True, slots=True)
class Excursion:
    """An open excursion beyond a critical limit; `qualified` once it is a deviation."""

    start: float
    side: str  # "max" or "min": the limit first crossed
    limit: float
    value: float  # the first value beyond it
    peak: float  # the most extreme value beyond it
    qualified: bool
    when: When
    skipped: float = 0.0  # clock steps since `start` (engine/timejump.py): no time

    def dump(self) -> dict[str, Any]:  # the snapshot's shape (snapshots on disk have it)
        d = {"start": self.start, "side": self.side, "limit": self.limit,
             "value": self.value, "peak": self.peak, "qualified": self.qualified,
             **self.when.fields()}
        return {**d, "skipped_s": self.skipped} if self.skipped else d

    @classmethod
    def load(cls, d: dict[str, Any]) -> Excursion:
        return cls(float(d["start"]), str(d["side"]), float(d["limit"]), float(d["value"]),
                   float(d["peak"]), bool(d["qualified"]), When.of(d),
                   float(d.get("skipped_s", 0.0)))


@dataclass(frozen=True, slots=True)
class Loss:
    """An open loss of monitoring."""

    start: float
    when: When
    skipped: float = 0.0  # clock steps since `start`: no time

    def dump(self) -> dict[str, Any]:
        d = {"start": self.start, **self.when.fields()}
        return {**d, "skipped_s": self.skipped} if self.skipped else d

    @classmethod
    def load(cls, d: dict[str, Any]) -> Loss:
        return cls(float(d["start"]), When.of(d), float(d.get("skipped_s", 0.0)))


def _ns(t: float) -> int:
    return round(t * 1e6) * 1000


@dataclass(frozen=True, slots=True)
class CcpView:
    """A CCP as it stands (metrics, demo view)."""

    id: str
    name: str
    kind: str
    machine: str
    unit: str
    status: str  # ok, warning, excursion, deviation, lost, not applicable, no data
    value: float | None
    since: float | None  # start of the open excursion, deviation or loss
    deviations: int  # limit deviations since the engine's first start
    losses: int  # losses of monitoring since then


class _Acc:
    """One summary being filled: a bucket or a shift instance of one CCP."""

    __slots__ = ("cut", "end", "extra", "hi", "lo", "start", "v")

    def __init__(self, start: float, end: float, extra: dict[str, str]) -> None:
        self.start, self.end, self.extra = start, end, extra
        self.v = [0.0] * SLOT_N
        self.lo: float | None = None
        self.hi: float | None = None
        self.cut = False  # closed by a clock step with what it saw: final

    def fields(self) -> dict[str, Any]:
        v = self.v
        f: dict[str, Any] = {}
        for i, name in enumerate(SUMMARY_FIELDS):
            if name is not None:
                f[name] = int(v[i]) if i in COUNT_SLOTS else round(v[i], 6)
        # Within limits is everything monitored that was not beyond a critical limit.
        if self.lo is not None and self.hi is not None:
            f["min"], f["max"] = self.lo, self.hi
        if v[MON] > 0:
            f["mean"] = round(v[VSUM] / v[MON], 6)
        return f

    def dump(self) -> list[Any]:
        d = [self.start, self.end, self.extra, self.v, self.lo, self.hi]
        return [*d, True] if self.cut else d

    @classmethod
    def load(cls, d: list[Any]) -> _Acc:
        a = cls(float(d[0]), float(d[1]), dict(d[2]))
        a.v = (list(d[3]) + [0.0] * SLOT_N)[:SLOT_N]
        a.lo, a.hi = d[4], d[5]
        a.cut = len(d) > 6 and bool(d[6])
        return a


class Monitor:
    """One CCP: its value, its open excursion or loss of monitoring, its summaries."""

    def __init__(self, cfg: Ccp, tags: dict[str, str], timeline: Timeline, bucket_s: int,
                 start: float, written: list[list[float]] | None = None) -> None:
        self.cfg = cfg
        self.tags = {**tags, "ccp": cfg.id, "ccp_name": cfg.name or cfg.id,
                     "ccp_kind": cfg.kind, "level": "ccp"}
        self.key = f"{cfg.machine}.{cfg.signal}"
        self.timeline = timeline
        self.bucket_s = bucket_s
        self.always = cfg.applies == "always"
        self.interval = float(cfg.monitoring_interval_s)
        self.min_dur = float(cfg.min_duration_s)
        self.t = start
        self.mstate = "unknown"
        self.value: float | None = None
        self.last_good = start  # the loss-of-monitoring clock starts with the engine
        self.lost: Loss | None = None  # open loss of monitoring
        self.exc: Excursion | None = None  # open excursion (qualified or not)
        self.buckets: dict[float, _Acc] = {}
        self.shifts: dict[str, _Acc] = {}
        self.deviations_total = 0
        self.losses_total = 0
        self.fresh = True  # not restored from a snapshot
        # bucket starts written before the last clock step (periods.py spans): a bucket
        # of the new timeline among them is accounted in its shift, never written again
        self.written: list[list[float]] = [] if written is None else written

    # -- status -------------------------------------------------------------------------
    @property
    def applicable(self) -> bool:
        return self.always or self.mstate in APPLIES_WHILE

    def status(self) -> str:
        if not self.applicable:
            return NOT_APPLICABLE
        if self.lost is not None:
            return LOST_S
        if self.exc is not None:
            return DEVIATION if self.exc.qualified else EXCURSION
        if self.value is None:
            return NO_DATA
        op = self.cfg.operating
        if op is not None and op.outside(self.value):
            return WARNING
        return OK

    # -- time ---------------------------------------------------------------------------
    def advance(self, t: float, out: list[Point]) -> None:
        """Account time up to t, applying every deadline that falls before it."""
        while True:
            # Qualification of an excursion at start + min duration (inclusive: an
            # excursion that lasts exactly min_duration_s is a deviation).
            q = math.inf
            exc = self.exc
            if exc is not None and not exc.qualified:
                q = exc.start + exc.skipped + self.min_dur
            # Loss of monitoring: no good sample for *longer than* the interval.
            d = math.inf
            if self.lost is None and self.applicable:
                d = self.last_good + self.interval
            if q <= t and q <= d:
                self._account(q)
                self._qualify(out)
            elif d < t:
                self._account(max(d, self.t))
                self._lose(out)
            else:
                break
        self._account(t)

    def _account(self, t: float) -> None:
        a = self.t
        if t <= a:
            return
        tl, B = self.timeline, self.bucket_s
        appl = self.applicable
        slot = -1
        v = self.value
        if appl and self.lost is None and v is not None:
            if self.exc is not None:
                slot = DEV if self.exc.qualified else PEND
            else:
                op = self.cfg.operating
                slot = WARN if (op is not None and op.outside(v)) else WITHIN
        while a < t:
            bs = math.floor(a / B) * B
            sh = tl.status(a).shift
            e = min(t, bs + B, tl.next_change(a))
            d = e - a
            accs = [self._bucket(bs)]
            if sh is not None:
                accs.append(self._shift(sh))
            for acc in accs:
                x = acc.v
                x[SPAN] += d
                if not appl:
                    continue
                x[APPL] += d
                if self.lost is not None:
                    x[LOST] += d
                elif v is not None:
                    x[MON] += d
                    x[VSUM] += v * d
                    acc.lo = v if acc.lo is None else min(acc.lo, v)
                    acc.hi = v if acc.hi is None else max(acc.hi, v)
                    x[slot] += d
                    if slot == WARN:
                        x[WITHIN] += d
            a = e
        self.t = t

    def _bucket(self, bs: float) -> _Acc:
        acc = self.buckets.get(bs)
        if acc is None or acc.cut:
            if acc is not None or written(self.written, bs):  # closed before a step
                return _Acc(bs, bs + self.bucket_s, {})  # accounted, not written
            acc = self.buckets[bs] = _Acc(bs, bs + self.bucket_s, {})
        return acc

    def _shift(self, sh: ShiftInstance) -> _Acc:
        acc = self.shifts.get(sh.key)
        if acc is not None and acc.cut:  # closed by a step: a second instance is not written
            return _Acc(sh.start, sh.end, dict(acc.extra))
        if acc is None:
            acc = self.shifts[sh.key] = _Acc(sh.start, sh.end,
                                             {"shift": sh.name, "shift_date": sh.date})
        return acc

    def cut(self, now: float, to: float) -> None:
        """A clock step from `now` (accounted up to it) to `to` (engine/timejump.py): the
        open bucket is final with what it saw, so is the open shift unless `to` is inside
        it; the time between did not happen, so the CCP's own instants move with the
        clock (the loss-of-monitoring deadline and the open excursion's or loss's
        duration count observed time; their start records keep their instants)."""
        for acc in self.buckets.values():  # (ended ones may still wait for a decision)
            acc.cut = True
        new = self.timeline.status(to).shift
        for key, acc in self.shifts.items():
            if acc.end <= now or new is None or new.key != key:
                acc.cut = True
        delta = to - now
        self.last_good += delta
        if self.exc is not None:
            self.exc = replace(self.exc, skipped=self.exc.skipped + delta)
        if self.lost is not None:
            self.lost = replace(self.lost, skipped=self.lost.skipped + delta)
        self.t = to

    def _accs_at(self, t: float) -> list[_Acc]:
        accs = [self._bucket(math.floor(t / self.bucket_s) * self.bucket_s)]
        sh = self.timeline.status(t).shift
        if sh is not None:
            accs.append(self._shift(sh))
        return accs

    def emit_closed(self, out: list[Point]) -> None:
        """Summaries whose time is over and holds no undecided excursion time."""
        # buckets keyed by start time, shifts by name: one loop over both
        stores: tuple[tuple[dict[Any, _Acc], str], ...] = (
            (self.buckets, "ccp"), (self.shifts, "ccp_shift"))
        for store, meas in stores:
            for k in [k for k, a in store.items()
                      if (a.cut or a.end <= self.t) and a.v[PEND] == 0]:
                acc = store.pop(k)
                out.append(Point(meas, {**self.tags, **acc.extra}, acc.fields(),
                                 _ns(acc.start)))

    # -- events -------------------------------------------------------------------------
    def _when(self, t: float) -> When:
        sh = self.timeline.status(t).shift
        return When(self.mstate) if sh is None else When(self.mstate, sh.name, sh.date)

    # Events of one instant are applied together (state changes, then samples), and the
    # value is judged once after them: a machine that starts producing at the instant
    # its temperature is read is judged on that reading, not on the one before.
    def on_sample(self, t: float, v: float, out: list[Point]) -> None:
        self.advance(t, out)
        self.last_good = t
        if self.lost is not None:
            self._end_loss(t, "monitoring restored", out)
        self.value = v

    def on_state(self, t: float, state: str, out: list[Point]) -> None:
        self.advance(t, out)
        was = self.applicable
        self.mstate = state
        if was and not self.applicable:
            if self.exc is not None:
                self._end_excursion(t, "not applicable", out)
            if self.lost is not None:
                self._end_loss(t, "not applicable", out)

    def settle(self, t: float, out: list[Point]) -> None:
        """After the events of instant t: start or end an excursion or a loss."""
        if (self.applicable and self.lost is None
                and self.last_good + self.interval < t):  # silent already: lost from now
            self._lose(out)
        self._classify(t, out)

    def _classify(self, t: float, out: list[Point]) -> None:
        v = self.value
        if not self.applicable or self.lost is not None or v is None:
            return
        side = self.cfg.critical.outside(v)
        exc = self.exc
        if side is None:
            if exc is not None:
                self._end_excursion(t, "back within limits", out)
            return
        if exc is None:
            cr = self.cfg.critical
            limit = cr.max if side == "max" else cr.min
            assert limit is not None  # (outside() names a side that has a limit)
            self.exc = Excursion(t, side, limit, v, v, False, self._when(t))
            if self.min_dur == 0:
                self._qualify(out)
        else:
            peak = max(exc.peak, v) if exc.side == "max" else min(exc.peak, v)
            if peak != exc.peak:
                self.exc = replace(exc, peak=peak)

    def _qualify(self, out: list[Point]) -> None:
        exc = self.exc
        assert exc is not None
        self.exc = replace(exc, qualified=True)
        self.deviations_total += 1
        for store in (self.buckets, self.shifts):
            for acc in store.values():
                acc.v[DEV] += acc.v[PEND]
                acc.v[PEND] = 0.0
        for acc in self._accs_at(exc.start):
            acc.v[DEVS] += 1
        f: dict[str, Any] = {"value": exc.value, "limit": exc.limit, "side": exc.side,
                             **exc.when.fields()}
        f["min_duration_s"] = self.min_dur
        out.append(Point("ccp_deviation", {**self.tags, "kind": "limit", "event": "start"},
                         f, _ns(exc.start)))

    def _end_excursion(self, t: float, why: str, out: list[Point]) -> None:
        exc = self.exc
        assert exc is not None
        self.exc = None
        if not exc.qualified:  # too short to be a deviation: its time was an excursion
            for store in (self.buckets, self.shifts):
                for acc in store.values():
                    acc.v[OUT] += acc.v[PEND]
                    acc.v[PEND] = 0.0
            return
        f: dict[str, Any] = {"peak": exc.peak, "limit": exc.limit, "side": exc.side,
                             **exc.when.fields()}
        f.update(start_ns=_ns(exc.start), duration_s=round(t - exc.start - exc.skipped, 6),
                 end_reason=why)
        out.append(Point("ccp_deviation", {**self.tags, "kind": "limit", "event": "end"},
                         f, _ns(t)))

    def _lose(self, out: list[Point]) -> None:
        t = self.t  # advance() accounted up to the deadline (or the instant it applies)
        if self.exc is not None:
            self._end_excursion(t, "monitoring lost", out)
        self.lost = Loss(t, self._when(t))
        self.losses_total += 1
        for acc in self._accs_at(t):
            acc.v[LOSSES] += 1
        f: dict[str, Any] = self.lost.when.fields()
        f.update(last_good_ns=_ns(self.last_good), interval_s=self.interval)
        out.append(Point("ccp_deviation", {**self.tags, "kind": "monitoring",
                                           "event": "start"}, f, _ns(t)))

    def _end_loss(self, t: float, why: str, out: list[Point]) -> None:
        lost = self.lost
        assert lost is not None
        self.lost = None
        f: dict[str, Any] = lost.when.fields()
        f.update(start_ns=_ns(lost.start), duration_s=round(t - lost.start - lost.skipped, 6),
                 end_reason=why)
        out.append(Point("ccp_deviation", {**self.tags, "kind": "monitoring",
                                           "event": "end"}, f, _ns(t)))

    # -- snapshot -----------------------------------------------------------------------
    def view(self) -> CcpView:
        open_ = self.lost if self.lost is not None else self.exc
        open_since = open_.start if open_ is not None else None
        return CcpView(self.cfg.id, self.cfg.name or self.cfg.id, self.cfg.kind,
                       self.cfg.machine, self.cfg.unit, self.status(), self.value,
                       open_since, self.deviations_total, self.losses_total)

    def dump(self) -> dict[str, Any]:
        return {"t": self.t, "mstate": self.mstate, "value": self.value,
                "last_good": self.last_good,
                "lost": self.lost.dump() if self.lost is not None else None,
                "exc": self.exc.dump() if self.exc is not None else None,
                "buckets": [a.dump() for a in self.buckets.values()],
                "shifts": {k: a.dump() for k, a in self.shifts.items()},
                "deviations_total": self.deviations_total,
                "losses_total": self.losses_total}

    def load(self, d: dict[str, Any]) -> None:
        self.fresh = False
        self.t = float(d["t"])
        self.mstate = str(d.get("mstate", "unknown"))
        self.value = d.get("value")
        self.last_good = float(d.get("last_good", self.t))
        lost, exc = d.get("lost"), d.get("exc")
        self.lost = Loss.load(lost) if lost else None
        self.exc = Excursion.load(exc) if exc else None
        self.buckets = {float(a[0]): _Acc.load(a) for a in d.get("buckets", [])}
        self.shifts = {k: _Acc.load(a) for k, a in d.get("shifts", {}).items()}
        self.deviations_total = int(d.get("deviations_total", 0))
        self.losses_total = int(d.get("losses_total", 0))


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


class CcpSet:
    """Every configured CCP; the engine calls `step` after its own work on each input."""

    def __init__(self, ccps: Iterable[Ccp], machine_tags: dict[str, dict[str, str]],
                 timeline: Timeline, bucket_s: int, start: float,
                 bureau_tags: dict[str, str] | None = None) -> None:
        # `gateway`: the agent (one hash chain each) when several share a site
        gw = {"gateway": bureau_tags["gateway"]} if bureau_tags else {}
        self.written: list[list[float]] = []  # the engine's written spans at the last step
        self.monitors = [Monitor(c, {**machine_tags[c.machine], **gw}, timeline, bucket_s,
                                 start, self.written) for c in ccps]
        # The bureau's aggregate per CCP kind and bucket (`ccp_bureau`): written once
        # every CCP of the kind has written that bucket. No value, no machine: counts
        # and durations only (docs/bureau.md).
        self.bureau_tags = bureau_tags or {}
        self.kind_n: dict[str, int] = {}
        for m in self.monitors:
            self.kind_n[m.cfg.kind] = self.kind_n.get(m.cfg.kind, 0) + 1
        self.partial: dict[str, list[float]] = {}  # "<bucket ts_ns>/<kind>" -> sums
        self.by_key: dict[str, list[Monitor]] = {}
        self.by_machine: dict[str, list[Monitor]] = {}
        for m in self.monitors:
            self.by_key.setdefault(m.key, []).append(m)
            self.by_machine.setdefault(m.cfg.machine, []).append(m)
        self.machines = frozenset(self.by_machine)
        # Events at the horizon wait until the machine states of that instant are known.
        self.held: list[Event] = []

    def step(self, readings: Iterable[Reading], states: Iterable[StateChange],
             horizon: float, inclusive: bool, out: list[Point]) -> None:
        """Process readings and state changes up to the horizon, in time order.

        With `inclusive` (a tick), events at the horizon are processed too.
        """
        events: list[Event] = [*self.held, *states, *readings]
        self.held = []
        events.sort(key=_order)
        touched: dict[int, Monitor] = {}
        last_t = None
        for e in events:
            t = e.t
            # Events at the horizon wait: the machine's state at that instant is still
            # to be evaluated by the engine (it is, once time moves past it).
            if t > horizon or (t == horizon and not inclusive):
                self.held.append(e)
                continue
            if t != last_t:
                self._settle(touched, out)
                last_t = t
            if e.__class__ is StateChange:
                for m in self.by_machine.get(e[1], ()):
                    m.on_state(max(t, m.t), e[2], out)
                    touched[id(m)] = m
            else:
                for m in self.by_key[e[1]]:
                    # late: taken as now; e is a Reading (class test above, not isinstance)
                    m.on_sample(max(t, m.t), e[2], out)  # type: ignore[arg-type]  # a Reading
                    touched[id(m)] = m
        self._settle(touched, out)
        for m in self.monitors:
            m.advance(max(horizon, m.t), out)
            self._emit(m, out)

    def _emit(self, m: Monitor, out: list[Point]) -> None:
        k0 = len(out)
        m.emit_closed(out)
        for p in out[k0:]:
            if p.measurement == "ccp":
                self._bureau(p, out)

    def cut(self, now: float, to: float, written: list[list[float]],
            out: list[Point]) -> None:
        """A clock step (engine/timejump.py), after `step` up to `now` inclusive: every
        CCP's open summaries close with what they saw and it resumes at `to`; buckets
        the engine has written (`written`, periods.py) are never written again."""
        self.written[:] = [list(s) for s in written]
        for m in self.monitors:
            m.advance(max(now, m.t), out)
            m.cut(max(now, m.t), to)
            self._emit(m, out)

    def _bureau(self, p: Point, out: list[Point]) -> None:
        kind = p.tags["ccp_kind"]
        key = f"{p.ts_ns}/{kind}"
        acc = self.partial.setdefault(key, [0.0] * (len(BUREAU_FIELDS) + 1))
        acc[0] += 1
        for i, f in enumerate(BUREAU_FIELDS):
            acc[i + 1] += float(p.fields[f])  # the summaries' numeric fields
        if acc[0] >= self.kind_n[kind]:
            del self.partial[key]
            fields: dict[str, Any] = {"ccps": int(acc[0])}
            for i, f in enumerate(BUREAU_FIELDS):
                fields[f] = int(acc[i + 1]) if f in ("deviations", "losses") else round(
                    acc[i + 1], 6)
            out.append(Point("ccp_bureau", {**self.bureau_tags, "ccp_kind": kind,
                                            "level": "ccp_kind"}, fields, p.ts_ns))

    @staticmethod
    def _settle(touched: dict[int, Monitor], out: list[Point]) -> None:
        for m in touched.values():
            m.settle(m.t, out)
        touched.clear()

    def dump(self) -> dict[str, Any]:
        # held events keep the snapshot's old shape: [t, key, value, quality] for a
        # reading, [t, "", machine, state] for a state change
        held = [[e.t, e.key, e.value, 0] if isinstance(e, Reading)
                else [e.t, "", e.machine, e.state] for e in self.held]
        d = {"monitors": {m.cfg.id: m.dump() for m in self.monitors},
             "held": held, "partial": self.partial}
        return {**d, "written": self.written} if self.written else d

    def load(self, d: dict[str, Any]) -> None:
        known = d.get("monitors", {})
        for m in self.monitors:
            if m.cfg.id in known:
                m.load(known[m.cfg.id])
        self.partial = {k: list(v) for k, v in d.get("partial", {}).items()
                        if k.split("/", 1)[1] in self.kind_n}
        self.written[:] = [[float(a), float(b)] for a, b in d.get("written", [])]
        self.held = []
        for t, key, v, q in d.get("held", []):
            if key == "" and v in self.machines:
                self.held.append(StateChange(float(t), str(v), str(q)))
            elif key in self.by_key and q != Quality.BAD:
                num = _number(v)  # (a snapshot from before plausibility held any sample)
                if num is not None:
                    self.held.append(Reading(float(t), str(key), num))
