"""The engine: samples and clock ticks in, points out. No I/O, no wall clock.

Time is what samples and ticks say. The engine keeps one "segment" open: the span
between two consecutive cut points, which are the bucket boundaries (epoch multiples
of `metrics.bucket_s`) and every change point of the calendar (shift start/end, break
start/end, planned downtime start/end). Inside a segment the calendar is constant, so
a machine's time is accounted by adding `t - since` to one slot of its accumulator.
At the end of a segment every machine's accumulator is added to its bucket and shift
accumulators; at a bucket end the `oee` and `automation` points are computed, at a
shift end the `oee_shift` points (periods.py). Here: the feed loop, ticks and state
transitions. docs/engine.md documents every rule and which module holds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.config.plant import STATES
from lineside.engine import fields as F
from lineside.engine import plausible, timejump
from lineside.engine.actions import EVENT_SIGNAL as ENTRY_SIGNAL
from lineside.engine.actions import ActionBook
from lineside.engine.calendar import ShiftInstance, Timeline
from lineside.engine.ccp import CcpSet, Reading, StateChange
from lineside.engine.emit import ns
from lineside.engine.layout import PlantLayout
from lineside.engine.lots import EVENT_SIGNAL as LOT_SIGNAL
from lineside.engine.lots import LotBook
from lineside.engine.machine import ON, MachineState, ProcessValue
from lineside.engine.periods import Periods
from lineside.engine.reasons import EVENT_SIGNAL, ReasonLedger
from lineside.engine.roles import (
    R_AUTO,
    R_FAULT_CODE,
    R_GOOD,
    R_MODE,
    R_PRODUCT,
    R_PV,
    R_TOTAL,
)
from lineside.engine.snapshot import check_version, engine_snapshot
from lineside.engine.states import (
    BLOCKED,
    FAULT,
    IDLE,
    PRODUCING,
    SIDX,
    STARVED,
    UNKNOWN,
    as_int,
)
from lineside.engine.view import SiteView, site_view
from lineside.points import Point
from lineside.samples import Quality

BAD = Quality.BAD
STOP_STATES = frozenset((IDLE, STARVED, BLOCKED, FAULT))
REASON_STATES = frozenset((FAULT, IDLE))  # stops nobody explained: they need a reason


_NUMBER = frozenset((float, int, bool))  # exact types: the fast check before isinstance


@dataclass
class EngineStats:
    samples_in: int = 0
    late_samples: int = 0
    buckets_closed: int = 0
    shifts_closed: int = 0
    unknown_signals: int = 0
    counter_resets: int = 0
    counter_rollovers: int = 0
    counter_dips: int = 0  # decreases that are neither rollover nor reset: nothing added
    counter_excess: int = 0  # rises beyond what the ideal rate allows
    counter_excess_units: int = 0  # units of those rises not added
    unmapped_modes: int = 0  # mode / auto_mode values the mode table does not list
    state_changes: int = 0
    clock_steps: int = 0  # wall-clock steps handled by the time-jump rule
    buckets_not_rewritten: int = 0  # buckets already written before a step back
    # Samples taken as BAD because their value is not plausible (engine/plausible.py),
    # by reason: NaN / +-inf / null, outside the signal's range, text too long, a text
    # where a counter needs a number.
    refused_non_finite: int = 0
    refused_out_of_range: int = 0
    refused_text_too_long: int = 0
    refused_not_numeric: int = 0


COUNTER_WIDTHS = frozenset((8, 16, 32, 64))
REFUSED_STAT = {reason: f"refused_{reason}" for reason in plausible.REASONS}


class Engine:
    """See the module docstring and docs/engine.md."""

    def __init__(self, cfg: LinesideConfig, start_ts: float,
                 snapshot: dict[str, Any] | None = None,
                 stats: EngineStats | None = None) -> None:
        self.cfg = cfg
        met = cfg.metrics
        self.bucket_s = int(met.bucket_s)
        self.small_stop_s = float(met.small_stop_threshold_s)
        self.reason_after_s = float(met.reason_after_s)
        self.target = float(met.automation_target)
        self.timeline = Timeline(cfg.calendar, cfg.site.timezone)
        self.stats = EngineStats() if stats is None else stats  # (the replay's own)
        planned = frozenset(SIDX[s] for s in met.planned_states)
        self.plant = PlantLayout(cfg, float(start_ts), planned)
        self.machines = self.plant.machines  # shortcuts of the hot paths
        self.by_id = self.plant.by_id
        self._route = self.plant.route
        # The engine's time: read-only for everyone else (engine/snapshot.py reads it).
        start_ts = float(start_ts)
        self.start = start_ts
        self.now = start_ts  # the latest tick or sample
        self.dirty_machines: list[MachineState] = []  # state inputs changed at `now`
        # Refused samples: the first of each signal and reason, for the runtime to log.
        self.refusals: list[plausible.Refusal] = []
        self._refused_seen: set[tuple[str, str]] = set()
        self._last_ts, self._last_ts_ns = float("nan"), 0  # _ts_ns cache
        # The open segment, bucket and shift (engine/periods.py).
        self.periods = Periods(self.plant, self.timeline, self.bucket_s, self.target,
                               self.stats, start_ts)
        # Critical control points (docs/haccp.md): fed after the machines, see _ccp_step.
        self.ccps = CcpSet(cfg.ccps, self.plant.unit_tags, self.timeline,
                           self.bucket_s, start_ts,
                           {**self.plant.bureau_tags, "gateway": self.plant.gateway}
                           ) if cfg.ccps else None
        # Downtime reasons (docs/station.md): only with a `station:` section.
        self.reasons = ReasonLedger(cfg.station, {m.id: m.tags for m in self.machines},
                                    self.reason_after_s) if cfg.station else None
        # Lots (docs/lots.md): only when a machine has a lot signal or a command may start
        # one; always built, since `lineside lot` needs no configuration to be used.
        # (a monitoring-only unit holds lots too: its span, never a count)
        self.lots = LotBook(self.plant.unit_tags,
                            {ln.id: [mc.id for st in ln.stages for mc in st.machines]
                             for ln in cfg.lines},
                            {**{m.id: tuple(k for k, n in enumerate(("good", "reject", "total"))
                                            if n in m.cfg.signals) for m in self.machines},
                             **{mid: () for mid in self.plant.monitors}},
                            list(cfg.ccps))
        # Corrective actions, dispositions, verifications (actions.py): with CCPs only.
        self.actions = ActionBook(cfg.site.site_id, {a.id: a.name or a.id
                                                     for a in cfg.corrective_actions},
                                  self.bucket_s, {c.id: c.lot_margin_after_s for c in cfg.ccps},
                                  cfg.deviation_open_days) if cfg.ccps else None
        self._entries: list[tuple[Any, int]] = []  # entries of this feed (_lots_due)
        # What the CCPs learn during one feed / tick, handed over at its end (_ccp_step):
        # readings at the instant the engine takes them, states from the engine's own.
        self._ccp_readings: list[Reading] = []
        self._ccp_states: list[StateChange] = []
        if self.ccps is not None:
            for key in self.ccps.by_key:
                r = self._route.get(key)
                if r is not None and r[1] == R_PV:
                    r[0].ccp = True
            # CCP machines with a state (a monitoring-only unit has none: no state
            # changes, no staleness; its CCPs apply always, config/checks.py)
            self._ccp_machines = [self.by_id[mid] for mid in sorted(self.ccps.machines)
                                  if mid in self.by_id]
            for m in self._ccp_machines:
                m.ccp = True
        if snapshot is not None:
            self._restore(snapshot)
        if self.ccps is not None:
            for mon in self.ccps.monitors:
                machine = self.by_id.get(mon.cfg.machine)
                if machine is None:
                    mon.mstate = ""  # no machine state on its records
                    if mon.fresh:
                        mon.t = mon.last_good = self.now
                elif mon.fresh:  # not in the snapshot: the machine's state as it is now
                    mon.t = mon.last_good = self.now
                    mon.mstate = STATES[machine.state]
        self.periods.open_segment(self.periods.seg_start)

    # =================================================================== feeding samples
    def feed(self, samples: Iterable[Any]) -> list[Point]:
        """Samples in (see _feed); CCPs see them once the machine states are known."""
        out = self._feed(samples)
        if self.ccps is not None:
            self._ccp_step(out, inclusive=False)
            self._lots_due(out)
        return out

    def _lots_due(self, out: list[Point]) -> None:
        """Deviations that ended in `out` and affected-lot records now due (lots.py)."""
        self.lots.deviations_ended(out)
        self.lots.due(self.now, out)
        if self.actions is not None:  # deviations and their lots, for the entries
            self.actions.observe(out)
            entries, self._entries = self._entries, []
            for value, at_ns in entries:
                self.actions.apply(value, at_ns, out)

    def _ccp_step(self, out: list[Point], inclusive: bool) -> None:
        """CCPs up to the engine's time: machine states are known before `now` (after a
        tick, up to it), so readings at `now` wait in the CCPs until the states of that
        instant are (docs/haccp.md, same instant). A silent CCP machine's `unknown` is
        dated now rather than at the next segment end: same point, emitted earlier."""
        ccp = self.ccps
        assert ccp is not None
        for m in self._ccp_machines:
            self.expire(m, self.now, out)
        readings, states = self._ccp_readings, self._ccp_states
        self._ccp_readings, self._ccp_states = [], []
        ccp.step(readings, states, self.now, inclusive, out)

    def _feed(self, samples: Iterable[Any]) -> list[Point]:
        """Samples in (any order of signals; time should not go backwards): points out.

        Returns `machine_state` points on state changes and `signal` points for process
        values; also the `oee`/`oee_shift`/`automation` points of any bucket or shift a
        sample's timestamp has moved past (when samples run ahead of `tick`).
        """
        out: list[Point] = []
        route = self._route
        now = self.now
        periods = self.periods
        seg_end = periods.seg_end
        dirty = self.dirty_machines
        st = self.stats
        n = 0
        unknown_sig = 0
        for s in samples:
            n += 1
            ts = s.ts
            if ts != now:
                if ts > now:
                    if dirty:
                        self.derive_states(now, out)
                    if ts >= seg_end:
                        self.advance(ts, out)
                        seg_end = periods.seg_end
                    now = self.now = ts
                else:
                    if ts < periods.closed_until:
                        st.late_samples += 1
                    ts = now  # late: taken as arriving now (never rewrites closed buckets)
            r = route.get(s.signal)
            if r is None:
                if s.signal == EVENT_SIGNAL and self.reasons is not None:
                    self.reasons.apply(s.value, ts, out)  # a stop classified (reasons.py)
                elif s.signal == LOT_SIGNAL:
                    self.lots.apply(s.value, ts, out)  # `lineside lot start|end` (lots.py)
                elif s.signal == ENTRY_SIGNAL and self.actions is not None:
                    # `lineside haccp action` ...: applied once the CCPs have written
                    # this feed's deviations and lots (feed), as the agent sees them
                    self._entries.append((s.value, ns(ts)))
                else:
                    unknown_sig += 1
                continue
            m, role = r
            q = s.quality
            if role == R_PV:  # ---- process values: most of a plant's signals
                if q is not BAD:
                    self._pv(m, s, ts, out)
                continue
            if role >= R_GOOD and role <= R_TOTAL:  # ---- counters
                if q is BAD:
                    continue
                k = role - R_GOOD
                c = m.counters[k]
                iv = s.value
                if iv.__class__ is not int or not c.lo <= iv <= c.hi:  # (the common case)
                    iv, why = plausible.counter_value(iv, c.lo, c.hi, c.max_chars)
                    if iv is None:
                        assert why is not None  # counter_value says why when it refuses
                        self._refuse(s, why)
                        continue
                if iv & c.mask == c.raw and not c.incr:  # unchanged: the common case
                    continue
                d = c.step(iv, ts, st)  # docs/engine.md, Counters: never invents units
                if d and m.id in self.lots.open:
                    self.lots.count(m.id, k, d)
                if d and m.calendar_mode == ON:
                    acc = m.seg_acc
                    acc[F.CG + k] += d
                    acc[F.IG + k] += d * m.cycle_s
            elif role < R_AUTO:  # ---- state signals
                # A deadline passed in silence: `stale` from it, whatever quality this
                # later sample has (a read at the deadline itself is in time).
                self.expire(m, ts, out)
                v = s.value
                if q is not BAD and v.__class__ is not bool and (
                        v != m.state_inputs[role] or v is None or m.state == UNKNOWN):
                    # a new value (an unchanged one was judged when it came; None is
                    # also the mark of a role never read)
                    why = plausible.code(v, m.bounds[role])
                    if why is not None:
                        self._refuse(s, why)
                        q = BAD
                if q is BAD:
                    m.read_bad = True
                    if m.subscribed and m.state != UNKNOWN:  # the driver reports the loss once
                        self.go_unknown(m, ts, out)
                    continue
                m.last_good = ts
                m.stale_at = ts + m.stale_after_s
                m.read_bad = False
                raw = m.state_inputs
                if v != raw[role] or m.state == UNKNOWN:
                    raw[role] = v
                    if not m.dirty:
                        m.dirty = True
                        dirty.append(m)
                    if role == R_MODE:
                        self._mode_changed(m, v, ts, out)
            elif role == R_AUTO:
                if q is BAD:
                    continue
                v = s.value
                if v.__class__ is not bool:
                    why = plausible.code(v, m.bounds[R_AUTO])
                    if why is not None:
                        self._refuse(s, why)
                        continue
                a = v if v.__class__ is bool else m.mode_table.auto_mode(v)
                if a is None:  # a code the mode table does not list: not automatic
                    st.unmapped_modes += 1
                    a = False
                if a != m.signal_auto:
                    m.signal_auto = a
                    self._set_auto(m, ts, out)
            else:  # R_PRODUCT
                if q is BAD:
                    continue
                if s.value != m.product:
                    why = plausible.code(s.value, m.bounds[R_PRODUCT])
                    if why is not None:
                        self._refuse(s, why)
                        continue
                    self._product_changed(m, s.value, ts, out)
        st.samples_in += n
        st.unknown_signals += unknown_sig
        return out

    def _mode_changed(self, m: MachineState, v: Any, ts: float, out: list[Point]) -> None:
        """A new `mode` value: the mode table also says automatic / manual."""
        ma = m.mode_table.mode_auto(v)
        if ma is None:
            ma = True
        elif not ma and m.mode_table.outcome(v) is None:
            self.stats.unmapped_modes += 1
        if ma != m.mode_auto:
            m.mode_auto = ma
            self._set_auto(m, ts, out)

    def _product_changed(self, m: MachineState, v: Any, ts: float, out: list[Point]) -> None:
        """A new product: its ideal cycle applies from `ts`."""
        self._accum_to(m, ts, out)
        m.product = v
        c = as_int(v)
        m.cycle_s = m.product_cycles_s.get(c, m.default_cycle_s) if c is not None \
            else m.default_cycle_s
        m.ideal_rate = 60.0 / m.cycle_s

    def _pv(self, pv: ProcessValue, s: Any, t: float, out: list[Point]) -> None:
        """A process value read at `t` (the engine's instant for it: a late sample's is
        `now`); its `signal` point keeps the sample's own timestamp."""
        v = s.value
        if v.__class__ in _NUMBER or isinstance(v, (bool, int, float)):
            try:
                fv = float(v)  # type: ignore[arg-type]  # tested above; cast() is a call
            except OverflowError:  # an int beyond every float
                self._refuse(s, plausible.OUT_OF_RANGE)
                return
            if not pv.lo <= fv <= pv.hi:  # (NaN fails it too)
                self._refuse(s, plausible.number(fv, pv.lo, pv.hi) or plausible.OUT_OF_RANGE)
                return
            if pv.ccp and v.__class__ is not bool:  # every reading, whatever the deadband
                self._ccp_readings.append(Reading(t, pv.key, fv))
            if pv.lot is not None:
                self.lots.plc(pv.lot, v, t, out)
            last = pv.last
            if last is not None and last.__class__ is not str:
                dv = abs(fv - last)
                if dv == 0 or dv <= pv.deadband:
                    return
            pv.last = fv
            ts = s.ts  # one poll's samples share their ts: its ns is computed once
            ts_ns = self._last_ts_ns if ts == self._last_ts else self._ts_ns(ts)
            out.append(Point("signal", pv.tags, {"value": fv}, ts_ns))
        elif v is not None:
            sv = v if v.__class__ is str else str(v)
            if len(sv) > pv.max_chars:
                self._refuse(s, plausible.TEXT_TOO_LONG)
                return
            if pv.lot is not None:
                self.lots.plc(pv.lot, sv, t, out)
            if sv == pv.last:
                return
            pv.last = sv
            out.append(Point("signal", pv.tags, {"text": sv}, self._ts_ns(s.ts)))
        else:  # a good read without a value (the sample log's NaN)
            self._refuse(s, plausible.NON_FINITE)

    def _refuse(self, s: Any, why: str) -> None:
        """A sample whose value is not plausible: taken as BAD, counted by reason; the
        first of each signal and reason is kept for the runtime to log."""
        name = REFUSED_STAT[why]
        st = self.stats
        setattr(st, name, getattr(st, name) + 1)
        key = (s.signal, why)
        if key in self._refused_seen:
            return
        self._refused_seen.add(key)
        source = self.plant.source_of.get(s.signal.split(".", 1)[0], "")
        kind, shown = plausible.describe(s.value)
        self.refusals.append(plausible.Refusal(s.signal, source, why, kind, shown, s.ts))

    def take_refusals(self) -> list[plausible.Refusal]:
        """The refusals not yet taken (each signal and reason once per engine)."""
        out, self.refusals = self.refusals, []
        return out

    def _ts_ns(self, ts: float) -> int:
        """ns(ts), computed once for the many samples of one poll cycle."""
        if ts != self._last_ts:
            self._last_ts, self._last_ts_ns = ts, ns(ts)
        return self._last_ts_ns

    def learn_counter_bits(self, widths: dict[str, int]) -> None:
        """Counter widths a driver learned (OPC UA DataType at connect), by signal key.

        They apply where the configuration says nothing: no `counters.bits` override
        and no declared type (docs/engine.md, Counters). Keys that are not counters of
        this configuration are ignored.
        """
        for key, bits in widths.items():
            r = self._route.get(key)
            if r is None or not (R_GOOD <= r[1] <= R_TOTAL) or bits not in COUNTER_WIDTHS:
                continue  # (a width no integer DataType has: a damaged sample log)
            m, role = r
            name = key.rsplit(".", 1)[1]
            if m.cfg.counters.bits is None and m.cfg.declared_counter_bits(name) is None:
                m.counters[role - R_GOOD].set_bits(int(bits))

    # ====================================================================== clock ticks
    def clock_step(self, to_ts: float) -> list[Point]:
        """The wall clock stepped to `to_ts`: the rule of engine/timejump.py."""
        to = float(to_ts)
        out: list[Point] = []
        before, p = self.now, self.periods
        if timejump.absorbed(before, to, p.bucket_start):
            return out
        if self.dirty_machines:
            self.derive_states(before, out)
        self.advance(before, out)  # the segments that ended before the step
        for m in self.machines:  # silence that ran out before the step
            self.expire(m, before, out)
        shift = p.status.shift
        p.cut(before, to, out)  # the open bucket (and shift) close with what they saw
        self._cut_stops(shift, to, before)
        for m in self.machines:
            m.shift_clock(to - before, to)
        self.now = to
        self.stats.clock_steps += 1
        if self.ccps is not None:
            # states the step derived, all at or before its instant: the CCPs take them
            # there, with the readings they held for that instant, then cut as the
            # machines did (the buckets written so far are never written again)
            states, self._ccp_states = self._ccp_states, []
            self.ccps.step((), states, before, True, out)
            self.ccps.cut(before, to, p.written_spans, out)
            self._lots_due(out)
        return out

    def tick(self, now_ts: float) -> list[Point]:
        """Advance to now_ts: close every bucket and shift ending at or before it."""
        out: list[Point] = []
        now_ts = float(now_ts)
        if now_ts <= self.now:
            return out
        self._tick(now_ts, out)
        if self.ccps is not None:
            self._ccp_step(out, inclusive=True)
            self._lots_due(out)
        return out

    def advance(self, t: float, out: list[Point]) -> None:
        """Close every segment ending at or before `t` (and the buckets and shifts they
        end); machines whose stale deadline passed go unknown first."""
        p = self.periods
        while p.seg_end <= t:
            end = p.seg_end
            for m in self.machines:
                self.expire(m, end, out)
            shift = p.status.shift
            p.close_segment(end, out)
            p.open_segment(end)
            self._cut_stops(shift, end, end)

    def _cut_stops(self, shift: ShiftInstance | None, at: float, observed_at: float) -> None:
        """Open stops are cut where the shift instance changes (reasons.py, `cut`)."""
        now = self.periods.status.shift
        if self.reasons is not None and (shift and shift.key) != (now and now.key):
            self.reasons.cut(at, {m.id: observed_at - m.state_since for m in self.machines})

    def _tick(self, now_ts: float, out: list[Point]) -> None:
        if self.dirty_machines:
            self.derive_states(self.now, out)
        self.advance(now_ts, out)
        for m in self.machines:  # machines that went silent: unknown from their deadline
            self.expire(m, now_ts, out)
        self.now = now_ts

    def close_open(self, now_ts: float) -> list[Point]:
        """At shutdown: tick, then provisional points for the open bucket and shift
        (engine/periods.py, provisional_points)."""
        out = self.tick(now_ts)
        out += self.periods.provisional_points(max(self.now, float(now_ts)), self.now)
        return out

    # ================================================================ state transitions
    def derive_states(self, t: float, out: list[Point]) -> None:
        for m in self.dirty_machines:
            m.dirty = False
            raw = m.state_inputs
            new = m.state_map.derive(raw)
            reason = ""
            if new == FAULT:
                fc = as_int(raw[R_FAULT_CODE])
                if fc:
                    reason = m.fault_reasons.get(fc, f"code {fc}")
            elif new == UNKNOWN:
                c = m.state_map.code_of(raw)
                reason = "no state code" if c is None else f"state code {c}"
            self._set_state(m, new, t, reason, out, m.state_map.code_of(raw))
        self.dirty_machines.clear()

    def expire(self, m: MachineState, t: float, out: list[Point]) -> None:
        """The stale rule, the one place it is written (docs/engine.md, "Staleness"): a
        machine with no good state read for longer than its `stale_after_s` is `unknown`
        from its deadline, `last good read + stale_after_s`. Applied when time moves
        past the deadline (deadline < t): a good read exactly at the deadline is in time,
        and a tick exactly at it changes nothing yet. Dated at the deadline, whichever
        later sample, tick, segment end or clock step applies it."""
        if m.stale_at < t and m.state != UNKNOWN:
            self.go_unknown(m, m.stale_at, out)

    def go_unknown(self, m: MachineState, t: float, out: list[Point]) -> None:
        reason = "bad quality" if m.read_bad else ("no data" if m.last_good is None else "stale")
        self._set_state(m, UNKNOWN, max(t, m.accounted_to), reason, out, None)

    def _set_state(self, m: MachineState, new: int, t: float, reason: str, out: list[Point],
                   code: int | None) -> None:
        prev = m.state
        if new == prev and reason == m.reason:
            m.state_code = code
            return
        m.account(t)
        if m.calendar_mode == ON:  # small stops: a stop that started and ended in scheduled time
            if new == PRODUCING:
                ss = m.stop_start
                if ss is not None:
                    d = t - ss
                    if d < self.small_stop_s:
                        m.seg_acc[F.SMALL_N] += 1
                        m.seg_acc[F.SMALL_S] += d
                m.stop_start = None
            elif new in STOP_STATES:
                if prev == PRODUCING:
                    m.stop_start = t
            else:
                m.stop_start = None
        dur = t - m.state_since
        fields: dict[str, Any] = {"state": STATES[new], "prev_state": STATES[prev],
                                  "prev_duration_s": round(dur, 6)}
        if code is not None:
            fields["code"] = code
        if reason:
            fields["reason"] = reason
        if new == FAULT:
            fc = as_int(m.state_inputs[R_FAULT_CODE])
            if fc:
                fields["fault_code"] = fc
        if prev in REASON_STATES and self.reason_after_s > 0 and dur >= self.reason_after_s:
            fields["needs_reason"] = True
        if self.reasons is not None:
            self.reasons.transition(m.id, prev, new, t, dur, reason, fields.get("fault_code"),
                                    out)
        out.append(Point("machine_state", m.tags, fields, ns(t)))
        if m.ccp:  # at its exact instant (a point's ns is rounded to the microsecond)
            self._ccp_states.append(StateChange(t, m.id, STATES[new]))
        self.stats.state_changes += 1
        m.state = new
        m.state_since = t
        m.reason = reason
        m.state_code = code
        if new != UNKNOWN:
            m.live_in_bucket = True
        elif t <= self.periods.bucket_start:  # unknown from the bucket's first instant on
            m.live_in_bucket = False

    def _set_auto(self, m: MachineState, t: float, out: list[Point]) -> None:
        a = m.declared_auto and m.signal_auto and m.mode_auto
        if a != m.auto:
            self._accum_to(m, t, out)
            m.auto = a

    def _accum_to(self, m: MachineState, t: float, out: list[Point]) -> None:
        self.expire(m, t, out)
        m.account(t)

    # ========================================================================= view
    def view(self, now_ts: float) -> SiteView:
        """Current shift (or since start without shifts) figures, for the terminal."""
        t = max(float(now_ts), self.now)
        shift = self.periods.status.shift
        vecs = [F.vector(m.partial(t, [a + b for a, b in zip(m.shift_acc, m.bucket_acc,
                                                             strict=True)], self.now,
                                   m.state_map.derive(m.state_inputs) if m.dirty else None),
                         m.counter_kinds) for m in self.machines]
        if shift is not None:
            period, pstart = f"shift {shift.name} {shift.date}", max(shift.start, self.start)
        elif self.timeline.always:
            period = "since " + dt.datetime.fromtimestamp(self.start, dt.UTC).isoformat()
            pstart = self.start
        else:
            period, pstart = "no shift", t
        return site_view(self.plant, vecs, t, self.now, period, pstart,
                         self.periods.status.scheduled)

    def ccp_view(self) -> list[Any]:
        """Each CCP's status (engine/ccp.py CcpView), for metrics and the demo view."""
        return [m.view() for m in self.ccps.monitors] if self.ccps is not None else []

    # ===================================================================== snapshot
    def _restore(self, snap: dict[str, Any]) -> None:
        """Load a snapshot into this freshly built engine (its configuration may have
        changed: machines removed are dropped, new ones start `unknown` at the resume
        instant)."""
        check_version(snap)
        self.start = float(snap["start"])
        self.now = now = float(snap["now"])
        self.periods.load(snap)
        for k, v in snap.get("stats", {}).items():
            if hasattr(self.stats, k):
                setattr(self.stats, k, int(v))
        known = snap.get("machines", {})
        for mid, d in known.items():
            m = self.by_id.get(mid)
            if m is not None:  # machines removed from the config are dropped
                m.load(d, now)
        for mid in snap.get("dirty", []):
            m = self.by_id.get(mid)
            if m is not None and not m.dirty:
                m.dirty = True
                self.dirty_machines.append(m)
        pvs = {pv.key: pv for pv in self.plant.process_values}
        for k, v in snap.get("signals", {}).items():
            if k in pvs:
                pvs[k].last = v
        if self.ccps is not None:
            self.ccps.load(snap.get("ccps") or {})
        if self.reasons is not None:
            self.reasons.load(snap.get("reasons") or {})
        self.lots.load(snap.get("lots") or {})
        if self.actions is not None:
            self.actions.load(snap.get("actions") or {})
        for m in self.machines:  # new machines start `unknown` at the resume instant
            if m.id not in known:
                m.state_since = m.accounted_to = now

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume identically (strict JSON types only)."""
        return engine_snapshot(self)
