"""The simulated food factory: a pure, seeded, steppable model (no I/O, no wall clock).

    f = Factory.from_config(cfg, seed=7, start_ts=1764374400.0)
    f.advance(1764374460.0)          # one simulated minute later
    f.values()["L1-fry1.state"]      # -> 6 (PackML Execute)

Every machine is an event-driven state machine: state changes happen on whole epoch
seconds, production is integrated exactly between events, and every random draw comes
from per-machine streams, so the values at an instant do not depend on how `advance`
was stepped. `recorders` receive the ground truth once per whole second.

A monitoring-only unit (a cold room, chiller or freezer: `kind` other than production)
is a `MonitorSim`: no state, no counters, only process values (a steady temperature at
its kind's setpoint; its CCP's script adds the excursions); it has no truth row, so it
stays out of the OEE ground truth as the engine keeps it out of the figures.
"""

from __future__ import annotations

import collections
import heapq
import math
import random
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from lineside.config.models import LinesideConfig
from lineside.config.plant import Line, Machine, Stage
from lineside.samples import Quality, Sample
from lineside.simulator.ccp import CcpScript, integer_ccps
from lineside.simulator.codes import (
    MACHINERY_MODE,
    MACHINERY_STATE,
    PACKML,
    STATES,
    UNIT_MODE,
    WS_PROG,
    WS_STATE,
    expressible_states,
)
from lineside.simulator.lots import LOT_NAMES, LOT_S, LineLots
from lineside.simulator.profiles import SimProfile, profile_for
from lineside.simulator.schedule import CalendarIndex

Value = bool | int | float | str


class TruthRow(NamedTuple):
    """One machine during one second [ts, ts+1): state, mode, cumulative true counts."""

    machine: str
    state: str
    auto: bool
    good: int  # units since the simulation started (never rolls over)
    reject: int
    product: int
    fault_code: int


class Recorder(Protocol):
    def on_second(self, ts: int, rows: Sequence[TruthRow]) -> None: ...


def _stream(seed: int, *parts: str) -> random.Random:
    # Stable across processes (str hash() is salted), one stream per purpose.
    return random.Random(zlib.crc32("/".join((str(seed), *parts)).encode()) ^ (seed << 32))


def _noise(a: int, b: int, s: int) -> float:
    """Deterministic noise in [-0.5, 0.5) from small integers (no RNG state)."""
    h = (a * 73856093) ^ (b * 19349663) ^ (s * 83492791)
    h = (h ^ (h >> 13)) * 0x5BD1E995 & 0xFFFFFFFF
    return ((h ^ (h >> 15)) & 0xFFFF) / 65536.0 - 0.5


class MachineSim:
    """One machine. Public fields are read by the factory; times are epoch seconds."""

    def __init__(self, idx: int, line: Line, stage: Stage, m: Machine, prof: SimProfile,
                 cal: CalendarIndex, seed: int, start_ts: float) -> None:
        self.idx, self.cfg, self.line_id, self.stage_kind = idx, m, line.id, stage.kind
        self.prof, self.cal = prof, cal
        self.rng = _stream(seed, m.id, "state")
        self.rng_units = _stream(seed, m.id, "units")
        self.rng_auto = _stream(seed, m.id, "auto")
        self.can = expressible_states(m)
        # Rejects only where the PLC counts them (a reject counter, or good and total):
        # a reject nobody can see would make the truth unrecoverable from the signals.
        sig = set(m.signals)
        self.reject_p = prof.reject_p if ("reject" in sig or {"good", "total"} <= sig) else 0.0
        # Manual spells exist where a signal can show them: an auto_mode bit, or a PackML
        # UnitMode (3 Manual; OPC 40001 MachineryOperationMode has no manual value).
        self.unit_mode = "mode" in sig and m.state.map in ("packml", "signals")
        self.has_auto_signal = m.automation == "automatic" and (
            "auto_mode" in sig or self.unit_mode)
        # good and total without reject: the PLC computes good = total - reject and counts
        # a reject at once, the unit into total a second later, so good dips meanwhile.
        self.computed_good = {"good", "total"} <= sig and "reject" not in sig
        self.rej_times: collections.deque[float] = collections.deque()
        self.auto = m.automation == "automatic"
        self.products = sorted(m.products)
        self.product_i = 0
        self.product = self.products[0] if self.products else 1
        self.good = self.reject = 0
        self.fault_code = 0
        self.off_shift = False  # idle because the calendar says so
        self.major = False
        rc = _stream(seed, m.id, "counters")
        lo, hi = prof.counter_headroom
        # Each counter wraps at its own width (Machine.counter_bits), as in a real PLC.
        self.counter_span = {r: 1 << m.counter_bits(r) for r in ("good", "reject", "total")}
        self.counter_base = {r: (span - rc.randint(int(lo), int(hi))) % span
                             for r, span in self.counter_span.items()}
        # Production segment: units made = floor((t - seg_t0) * rate + frac), see _produce.
        self.seg_t0 = start_ts
        self.seg_rate = 0.0
        self.seg_frac = 0.0
        self.seg_done = 0
        # Process values: value at the last state change and where it is heading.
        self.temp0 = prof.temp_setpoint  # the plant was warm when we started watching
        self.temp_target = prof.temp_setpoint
        self.speed = 1.0
        self.t_change = start_ts
        self.now = start_ts
        # Planned events: first occurrences spread over the interval.
        first = math.ceil(start_ts)
        self.next_setup = self._first(first, prof.setup_every_s, "setup")
        self.next_clean = self._first(first, prof.clean_every_s, "cleaning")
        self.next_maint = self._first(first, prof.maint_every_s, "maintenance")
        self.auto_until = (first + self._exp_int(self.rng_auto, prof.manual_every_s)
                           if self.has_auto_signal and prof.manual_every_s > 0 else math.inf)
        # Stops imposed by neighbours (a breakdown upstream starves this machine once
        # the buffer between them runs empty): heap of (start, end, state).
        self.forced: list[tuple[int, int, str]] = []
        self.force_at = math.inf
        self.neighbours: list[tuple[MachineSim, str]] = []  # (machine, state it imposes)
        self.lots: LineLots | None = None  # its line's batch numbers (simulator/lots.py)
        self.state = "idle"
        self.since = start_ts
        self.until = float(first)  # decide the first real state on the first whole second
        self.temp_target = self._target_temp()

    # -- draws --------------------------------------------------------------------------
    def _first(self, t: int, every: float, kind: str) -> float:
        if every <= 0 or kind not in self.can:
            return math.inf
        return t + int(self.rng.uniform(0.15, 1.0) * every)

    @staticmethod
    def _exp_int(rng: random.Random, mean: float) -> int:
        return max(1, round(rng.expovariate(1.0 / mean)))

    def _uni(self, r: tuple[float, float]) -> int:
        return max(1, round(self.rng.uniform(r[0], r[1])))

    # -- production -----------------------------------------------------------------------
    def ideal_rate(self) -> float:
        """Units per minute for the current product."""
        if self.product in self.cfg.products:
            return float(self.cfg.products[self.product])
        return 60.0 / self.cfg.ideal_cycle

    def _start_segment(self, t: float) -> None:
        self.seg_t0, self.seg_done = t, 0
        if self.state != "producing":
            self.seg_rate = 0.0
            return
        factor = self.speed * (1.0 if self.auto or not self.has_auto_signal
                               else self.prof.manual_speed)
        self.seg_rate = self.ideal_rate() / 60.0 * factor

    def _produce(self, t: float) -> None:
        if self.seg_rate <= 0.0 or t <= self.seg_t0:
            return
        n = math.floor((t - self.seg_t0) * self.seg_rate + self.seg_frac) - self.seg_done
        if n <= 0:
            return
        self.seg_done += n
        p, rnd = self.reject_p, self.rng_units.random
        if self.computed_good:  # when each reject was made: unit j at t0 + (j - frac) / rate
            first = self.seg_done - n + 1
            rej = 0
            for j in range(first, first + n):
                if rnd() < p:
                    rej += 1
                    self.rej_times.append(self.seg_t0 + (j - self.seg_frac) / self.seg_rate)
        else:
            rej = sum(1 for _ in range(n) if rnd() < p)
        self.reject += rej
        self.good += n - rej

    def _close_segment(self, t: float) -> None:
        self._produce(t)
        if self.seg_rate > 0.0:
            self.seg_frac = (t - self.seg_t0) * self.seg_rate + self.seg_frac - self.seg_done
            self.seg_frac = min(max(self.seg_frac, 0.0), 0.999999)

    # -- time -------------------------------------------------------------------------------
    def next_event(self) -> float:
        return min(self.until, self.auto_until, self.force_at)

    def advance(self, to: float) -> None:
        if to < self.until and to < self.auto_until and to < self.force_at:
            # the common case: no event due
            if self.seg_rate > 0.0:
                self._produce(to)
            if to > self.now:
                self.now = to
            return
        while True:
            t = min(self.until, self.auto_until, self.force_at)
            if t > to:
                break
            self._close_segment(t)
            if self.auto_until == t:
                self._toggle_auto(int(t))
            if self.until == t:
                self._transition(int(t))
            if self.force_at == t:
                self._forced(int(t))
            self._start_segment(t)
        self._produce(to)
        self.now = max(self.now, to)

    def impose(self, start: int, end: int, state: str) -> None:
        """A neighbour's stop reaches this machine at `start` (always in the future)."""
        if state in self.can and end > start:
            heapq.heappush(self.forced, (start, end, state))
            self.force_at = self.forced[0][0]

    def _forced(self, t: int) -> None:
        while self.forced and self.forced[0][0] == t:
            _, end, state = heapq.heappop(self.forced)
            # Only a machine that would be working notices an empty infeed / full outfeed;
            # one in a fault, setup, cleaning or off shift has stopped anyway.
            if self.state in ("producing", "idle") and not self.off_shift:
                self._set(t, state, end - t)
            elif self.state == state:
                self.until = max(self.until, end)
        self.force_at = self.forced[0][0] if self.forced else math.inf

    def _toggle_auto(self, t: int) -> None:
        self.auto = not self.auto
        if self.auto:
            self.auto_until = t + self._exp_int(self.rng_auto, self.prof.manual_every_s)
        else:
            lo, hi = self.prof.manual_s
            self.auto_until = t + max(1, round(self.rng_auto.uniform(lo, hi)))

    def _set(self, t: int, state: str, dur: float, fault_code: int = 0) -> None:
        self.temp0 = self.temp_at(t)
        self.t_change = t
        prev = self.state
        self.state, self.since, self.fault_code = state, t, fault_code
        if state == "producing" and prev != "producing":
            lo, hi = self.prof.speed
            self.speed = self.rng.uniform(lo, hi)
        self.until = t + max(1, math.ceil(dur))
        self.temp_target = self._target_temp()

    def _transition(self, t: int) -> None:
        prev = self.state
        if prev == "setup" and self.products:
            self.product_i = (self.product_i + 1) % len(self.products)
            self.product = self.products[self.product_i]
            if self.lots is not None:  # a product change starts the line's next lot
                self.lots.product_changed(t)
        cal, p = self.cal, self.prof
        self.off_shift = False
        if not cal.busy(t):
            # Outside planned production the line stands; a machine waits for the next
            # shift (a running fault or cleaning has already ended at this point).
            self.off_shift = True
            self._set(t, "idle", cal.next_change(t) - t)
            return
        horizon = cal.next_change(t)
        for kind, due, every, dur in (
            ("maintenance", self.next_maint, p.maint_every_s, p.maint_s),
            ("cleaning", self.next_clean, p.clean_every_s, p.clean_s),
            ("setup", self.next_setup, p.setup_every_s, p.setup_s),
        ):
            if due <= t:
                d = self._uni(dur)
                nxt = t + d + int(every * self.rng.uniform(0.8, 1.2))
                if kind == "maintenance":
                    self.next_maint = nxt
                elif kind == "cleaning":
                    self.next_clean = nxt
                else:
                    self.next_setup = nxt
                self._set(t, kind, d)
                return
        if prev == "producing":
            self._stop(t)
            return
        # Any stop ends in production, until the next interruption, planned event or
        # calendar change, whichever comes first.
        run = self._exp_int(self.rng, p.run_mean_s)
        end = min(t + run, horizon, self.next_maint, self.next_clean, self.next_setup)
        self._set(t, "producing", max(1, end - t))

    def _stop(self, t: int) -> None:
        p = self.prof
        kinds = [(k, w) for k, w in p.stop_weights.items()
                 if w > 0 and ("fault" if k == "short" else k) in self.can]
        if not kinds:
            self._set(t, "idle", self._uni(p.stop_s.get("idle", (30, 300))))
            return
        total = sum(w for _, w in kinds)
        x, kind = self.rng.uniform(0, total), kinds[-1][0]
        for k, w in kinds:
            if x < w:
                kind = k
                break
            x -= w
        dur = self._uni(p.stop_s[kind])
        if kind in ("short", "fault"):
            reasons = sorted(self.cfg.reasons)
            if kind == "short":
                codes = reasons[:1] or list(p.short_codes)
            else:
                codes = reasons[1:] or reasons or list(p.fault_codes)
            self.major = kind == "fault"
            self._set(t, "fault", dur, fault_code=self.rng.choice(codes))
            if self.major and dur > p.buffer_s:
                for n, state in self.neighbours:
                    n.impose(t + int(p.buffer_s), t + dur + int(p.refill_s), state)
        else:
            self._set(t, kind, dur)

    # -- process values -------------------------------------------------------------------
    def _target_temp(self) -> float:
        p = self.prof
        if self.state == "cleaning":
            return p.temp_clean
        if self.state in ("fault", "maintenance") or self.off_shift:
            return p.temp_ambient
        return p.temp_setpoint

    def temp_at(self, t: float) -> float:
        k = math.exp(-max(0.0, t - self.t_change) / self.prof.temp_tau_s)
        return self.temp_target + (self.temp0 - self.temp_target) * k

    # -- observation ------------------------------------------------------------------------
    def truth(self) -> TruthRow:
        return TruthRow(self.cfg.id, self.state, self.auto, self.good, self.reject,
                        self.product, self.fault_code)

    def counter(self, role: str, t: float | None = None) -> int:
        n = {"good": self.good, "reject": self.reject,
             "total": self.good + self.reject}[role]
        if self.computed_good and t is not None and role != "reject":
            # rejects of the last second are not in total yet: good = total - reject dips
            rt = self.rej_times
            while rt and rt[0] <= t - 1.0:
                rt.popleft()
            n -= sum(1 for x in rt if x <= t)
        return (self.counter_base[role] + n) % self.counter_span[role]

    def signal_value(self, name: str, spec: Any, t: float) -> Value:
        st, m = self.state, self.cfg
        if name == "state":
            return self._state_code()
        if name == "running":
            return st == "producing"
        if name == "fault":
            return st == "fault"
        if name == "starved":
            return st == "starved"
        if name == "blocked":
            return st == "blocked"
        if name == "auto_mode":
            return self.auto
        if name == "fault_code":
            return self.fault_code
        if name == "mode":
            if m.state.map == "machinery":
                return MACHINERY_MODE.get(st, MACHINERY_MODE["production"])
            return UNIT_MODE.get(st, UNIT_MODE["production" if self.auto else "manual"])
        if name == "program":
            return WS_PROG.get(st, WS_PROG["production"])
        if name in ("good", "reject", "total"):
            v = self.counter(name, t)
            if str(getattr(spec, "type", "")).startswith("int"):  # signed register:
                span = self.counter_span[name]  # the two's complement, as a PLC shows it
                if v >= span >> 1:
                    v -= span
            return v
        if name == "product":
            return self.product
        return self._process_value(name, spec, t)

    def _state_code(self) -> int:
        st, kind = self.state, self.cfg.state.map
        if kind == "packml":
            if st == "idle" and self.off_shift:
                return PACKML["off_shift"]
            if st == "fault" and self.major:
                return PACKML["fault_major"]
            return PACKML[st]
        if kind == "weihenstephan":
            if st == "idle" and self.off_shift:
                return WS_STATE["off_shift"]
            return WS_STATE[st]
        if kind == "machinery":
            return MACHINERY_STATE.get(st, 2)
        if kind == "custom":
            for code, name in sorted(self.cfg.state.custom.items()):
                if name == st:
                    return code
            return 0
        return 1 if st == "producing" else 0

    def _process_value(self, name: str, spec: Any, t: float) -> Value:
        sec = int(t)
        n = _noise(self.idx, zlib.crc32(name.encode()) & 0xFFFF, sec)
        lname = name.lower()
        if lname in LOT_NAMES and self.lots is not None:  # the line's batch number
            n = self.lots.at(t)  # text in a string register or an OPC UA node
            return str(n) if getattr(spec, "type", "string") in ("string", None) else n
        if getattr(spec, "type", None) == "string" or lname == "recipe":
            return f"B{self.product:02d}-{self.product_i + 1:03d}"
        if "temp" in lname:
            return round(self.temp_at(t) + 0.6 * n, 3)
        if "speed" in lname or "rate" in lname:
            return round(self.seg_rate * 60.0, 3)
        if "pressure" in lname:
            return round((2.5 if self.state in ("producing", "cleaning") else 0.2) + 0.1 * n, 3)
        if "level" in lname:
            return round(55.0 + 20.0 * math.sin(t / 900.0 + self.idx) + n, 3)
        return round(50.0 + 10.0 * math.sin(t / 600.0 + self.idx) + n, 3)


# A monitoring-only unit's temperature when all is well, by kind (°C).
MONITOR_SETPOINT = {"cold_room": 2.0, "chiller": 1.0, "freezer": -20.0,
                    "freezer_tunnel": -35.0, "monitor": 20.0}


class MonitorSim:
    """One monitoring-only unit: signal values only (module docstring)."""

    def __init__(self, idx: int, m: Machine) -> None:
        self.idx, self.cfg = idx, m
        self.setpoint = MONITOR_SETPOINT.get(m.kind, 20.0)
        self.lots: LineLots | None = None

    def signal_value(self, name: str, spec: Any, t: float) -> Value:
        lname = name.lower()
        if lname in LOT_NAMES and self.lots is not None:  # its line's batch number
            n = self.lots.at(t)
            return str(n) if getattr(spec, "type", "string") in ("string", None) else n
        noise = _noise(self.idx, zlib.crc32(name.encode()) & 0xFFFF, int(t))
        if "temp" in lname:
            return round(self.setpoint + 0.4 * noise, 3)
        if "humid" in lname:
            return round(85.0 + 4.0 * noise, 3)
        if getattr(spec, "type", None) == "bool":
            return False  # a door or an alarm contact: closed, quiet
        return round(50.0 + 10.0 * math.sin(t / 600.0 + self.idx) + noise, 3)


class Factory:
    """Every machine of a config, advanced together, observable as signal values."""

    def __init__(self, cfg: LinesideConfig, seed: int, start_ts: float,
                 profiles: dict[str, Any] | None = None,
                 recorders: Sequence[Recorder] = (), warmup_s: float = 1800.0,
                 ccp_origin: float | None = None,
                 lot_s: tuple[float, float] = LOT_S) -> None:
        self.cfg, self.seed, self.start_ts = cfg, seed, float(start_ts)
        # CCP signals play a script (simulator/ccp.py) from this origin
        self.ccp = (CcpScript(cfg.ccps, math.floor(start_ts if ccp_origin is None
                                                   else ccp_origin), integer_ccps(cfg))
                    if cfg.ccps else None)
        # Machines start `warmup_s` earlier, unobserved, so that at `start_ts` they are
        # spread over their states (not all producing in lockstep) and processes are warm.
        t_init = self.start_ts - warmup_s
        tz = ZoneInfo(cfg.site.timezone)
        self.machines: list[MachineSim] = []
        self.monitors: list[MonitorSim] = []  # monitoring-only units: no truth rows
        self.line_of: dict[str, str] = {}
        # each line's batch numbers (simulator/lots.py), from the warm-up on
        self.lots = {line.id: LineLots(i + 1, _stream(seed, line.id, "lots"), t_init, lot_s)
                     for i, line in enumerate(cfg.lines)}
        for line in cfg.lines:
            cal = CalendarIndex(cfg.calendar, tz, line.id)
            for stage in line.stages:
                for m in stage.machines:
                    self.line_of[m.id] = line.id
                    if m.monitoring_only:  # numbered apart: machines' noise unchanged
                        self.monitors.append(MonitorSim(1000 + len(self.monitors), m))
                        self.monitors[-1].lots = self.lots[line.id]
                        continue
                    prof = profile_for(stage.kind, m.id, profiles)
                    self.machines.append(MachineSim(len(self.machines), line, stage, m, prof,
                                                    cal, seed, t_init))
                    self.machines[-1].lots = self.lots[line.id]
        self.by_id = {m.cfg.id: m for m in self.machines}
        self._couple(cfg)
        self._run_to(self.start_ts)
        self.now = self.start_ts
        self.recorders = list(recorders)
        self._next_truth = math.ceil(self.start_ts)

    @classmethod
    def from_config(cls, cfg: LinesideConfig, seed: int, start_ts: float,
                    profiles: dict[str, Any] | None = None,
                    recorders: Sequence[Recorder] = (), warmup_s: float = 1800.0,
                    ccp_origin: float | None = None,
                    lot_s: tuple[float, float] = LOT_S) -> Factory:
        return cls(cfg, seed, start_ts, profiles, recorders, warmup_s, ccp_origin, lot_s)

    def _couple(self, cfg: LinesideConfig) -> None:
        """Adjacent automated stages share a buffer: a breakdown of a stage's only machine
        starves the next stage and blocks the previous one once the buffer is exhausted
        (`buffer_s`). A manual stage between them, or a second machine in the broken
        stage, decouples them."""
        for line in cfg.lines:
            stages = line.stages
            for i, st in enumerate(stages):
                # production machines only: a cold room beside them buffers nothing
                if st.manual or len(st.production) != 1:
                    continue
                src = self.by_id[st.production[0].id]
                for j, state in ((i + 1, "starved"), (i - 1, "blocked")):
                    if 0 <= j < len(stages) and not stages[j].manual:
                        src.neighbours += [(self.by_id[m.id], state)
                                           for m in stages[j].production]

    def _run_to(self, to: float) -> None:
        """Advance every machine to `to`, events in global time order (a machine's
        breakdown can impose a stop on its neighbours later on)."""
        ms = self.machines
        while True:
            t = min(m.next_event() for m in ms)
            if t > to:
                break
            for m in ms:
                if m.next_event() <= t:
                    m.advance(t)
        for m in ms:
            m.advance(to)

    def advance(self, to_ts: float) -> None:
        """Run the model up to `to_ts` (never backwards); truth is emitted per second."""
        if to_ts < self.now:
            return
        if self.recorders:
            s = self._next_truth
            while s <= to_ts:
                # Events happen on whole seconds and imposed stops start at least a
                # second later, so advancing every machine to s in turn keeps time order.
                for m in self.machines:
                    m.advance(s)
                rows = [m.truth() for m in self.machines]
                for r in self.recorders:
                    r.on_second(s, rows)
                s += 1
            self._next_truth = s
        else:
            self._next_truth = max(self._next_truth, math.floor(to_ts) + 1)
        self._run_to(to_ts)
        self.now = to_ts

    def samples(self) -> list[Sample]:
        """`values()` as GOOD samples stamped `now`: feed the engine without any server."""
        t = self.now
        return [Sample(k, v, Quality.GOOD, t) for k, v in self.values().items()]

    def states(self) -> dict[str, str]:
        return {m.cfg.id: m.state for m in self.machines}

    def values(self) -> dict[str, Value]:
        """Signal key -> engineering value, as each configured signal declares it."""
        out: dict[str, Value] = {}
        t = self.now
        units: list[MachineSim | MonitorSim] = [*self.machines, *self.monitors]
        for m in units:
            for name, spec in m.cfg.signals.items():
                out[f"{m.cfg.id}.{name}"] = m.signal_value(name, spec, t)
        if self.ccp is not None:
            self.ccp.apply(out, t)
        return out


__all__ = ["STATES", "Factory", "MachineSim", "MonitorSim", "Recorder", "TruthRow"]
